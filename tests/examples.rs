//! Every example object of DESIGN.md and of the seed documents loads into
//! kudo's types unchanged: nothing dropped, nothing renamed, and the
//! engine can use it.

use std::path::Path;

use k8s_openapi::api::rbac::v1::ClusterRole;
use kudo::{api::*, engine::checks};
use serde_json::Value;

fn docs(dir: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_saphyr::from_multiple::<Value>(&text).unwrap() {
            out.push((path.file_name().unwrap().to_string_lossy().into_owned(), doc));
        }
    }
    out
}

/// Every field of `original` is in `round_tripped` with the same value.
/// (The reverse may add defaults such as `revoked: false`.)
fn assert_kept(original: &Value, round_tripped: &Value, path: &str) {
    match (original, round_tripped) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let there = b.get(k).unwrap_or_else(|| panic!("{path}.{k} was dropped"));
                assert_kept(v, there, &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_kept(x, y, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(original, round_tripped, "{path}"),
    }
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug>(
    file: &str,
    doc: &Value,
) -> T {
    let typed: T = serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_kept(doc, &back, file);
    let again: T = serde_json::from_value(back).unwrap();
    assert_eq!(typed, again, "{file}");
    typed
}

fn check_policy(file: &str, p: &EscalationPolicy) {
    assert!(checks::policy_problems(&p.spec).is_empty(), "{file}: {:?}", checks::policy_problems(&p.spec));
    let d = p.spec.target.default_duration.parse().unwrap();
    assert!(d <= p.spec.target.max_duration.parse().unwrap(), "{file}");
}

#[test]
fn seed_and_design_examples_load_unchanged() {
    let mut seen = Vec::new();
    for dir in ["tests/fixtures/examples", "tests/fixtures/design"] {
        for (file, doc) in docs(dir) {
            let kind = doc["kind"].as_str().unwrap().to_string();
            match kind.as_str() {
                "EscalationPolicy" => check_policy(&file, &round_trip::<EscalationPolicy>(&file, &doc)),
                "Escalation" => {
                    let e: Escalation = round_trip(&file, &doc);
                    assert!(!e.spec.reason.is_empty());
                    if let Some(d) = &e.spec.duration {
                        d.parse().unwrap();
                    }
                }
                "EscalationReview" => {
                    round_trip::<EscalationReview>(&file, &doc);
                }
                "ClusterRole" => {
                    round_trip::<ClusterRole>(&file, &doc);
                }
                other => panic!("{file}: unexpected kind {other}"),
            }
            seen.push(format!("{file}:{kind}"));
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
}

/// The committed copies are the shared examples, verbatim, when shared/ is
/// beside the checkout (as on developer machines and CI).
#[test]
fn fixtures_match_the_shared_examples() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/examples");
    let Ok(entries) = std::fs::read_dir(&shared) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let ours =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/examples").join(path.file_name().unwrap());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            std::fs::read_to_string(&ours).unwrap(),
            "{}",
            path.display()
        );
    }
}
