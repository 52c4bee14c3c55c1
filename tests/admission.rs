//! The identity rules of DESIGN §3, evaluated offline with kube's CEL
//! evaluator: the shipped ValidatingAdmissionPolicies (all but the
//! `authorizer` checks, which only an API server can run) and the CRDs'
//! x-kubernetes-validations.

use kube::{
    CustomResourceExt,
    core::cel::{AdmissionRequest, Validator, VapEvaluator, VapExpression},
};
use kudo::{api::*, manifests};
use serde_json::{Value, json};

const CONTROLLER: &str = "system:serviceaccount:kudo-system:kudo-controller";

fn policies() -> Vec<Value> {
    manifests::admission::policies(&manifests::Options::default()).into_iter().map(|(p, _)| p).collect()
}

fn uses_authorizer(p: &Value) -> bool {
    p.to_string().contains("authorizer.")
}

/// Runs every offline-evaluable policy matching (resource, operation) the
/// way the API server selects them, and returns the messages of failures.
fn admit(resource: &str, op: &str, object: &Value, old: Option<&Value>, user: &str, groups: &[&str]) -> Vec<String> {
    let mut builder = VapEvaluator::builder().object(object.clone()).request(AdmissionRequest {
        operation: op.into(),
        username: user.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    });
    if let Some(old) = old {
        builder = builder.old_object(old.clone());
    }
    let evaluator = builder.build();
    let mut failures = Vec::new();
    for p in policies().iter().filter(|p| !uses_authorizer(p)) {
        let rule = &p["spec"]["matchConstraints"]["resourceRules"][0];
        let matches = |field: &str, want: &str| rule[field].as_array().unwrap().iter().any(|v| v == want);
        if !matches("resources", resource) || !matches("operations", op) {
            continue;
        }
        let exprs: Vec<VapExpression> = p["spec"]["validations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| VapExpression {
                expression: v["expression"].as_str().unwrap().into(),
                message: v["message"].as_str().map(Into::into),
                message_expression: v["messageExpression"].as_str().map(Into::into),
            })
            .collect();
        for r in evaluator.evaluate(&exprs) {
            if !r.passed {
                failures.push(r.message.unwrap_or_else(|| format!("failed: {}", r.expression)));
            }
        }
    }
    failures
}

fn escalation() -> Value {
    json!({
        "apiVersion": API_VERSION, "kind": "Escalation",
        "metadata": {"name": "gain-port-forward-x7k2p"},
        "spec": {
            "policyName": "gain-port-forward", "requestor": "alice",
            "requestorGroups": ["squad-a", "system:authenticated"],
            "reason": "ticket OPS-1", "revoked": false, "revokedBy": "",
        },
    })
}

fn review() -> Value {
    json!({
        "apiVersion": API_VERSION, "kind": "EscalationReview",
        "metadata": {"name": "r1"},
        "spec": {
            "escalationName": "gain-port-forward-x7k2p", "escalationUID": "uid-1",
            "reviewer": "bob", "reviewerGroups": ["admins", "system:authenticated"], "decision": "APPROVED",
        },
    })
}

const ALICE: &[&str] = &["squad-a", "system:authenticated"];
const BOB: &[&str] = &["admins", "system:authenticated"];

#[test]
fn authorizer_checks_live_in_policies_of_their_own() {
    let (with, without): (Vec<_>, Vec<_>) = policies().into_iter().partition(uses_authorizer);
    assert_eq!(with.len(), 3, "revoke, policy-bind and metadata-guard");
    assert_eq!(without.len(), 5, "escalation and review identity, status writer, leader lease, reaper scope");
}

#[test]
fn escalation_create_captures_identity() {
    let e = escalation();
    assert_eq!(admit("escalations", "CREATE", &e, None, "alice", ALICE), Vec::<String>::new());
    // Groups in another order are the same set.
    assert!(admit("escalations", "CREATE", &e, None, "alice", &["system:authenticated", "squad-a"]).is_empty());

    let spoofed = admit("escalations", "CREATE", &e, None, "mallory", ALICE);
    assert_eq!(spoofed.len(), 1, "{spoofed:?}");
    assert!(spoofed[0].contains("spec.requestor is alice but you are mallory"), "{spoofed:?}");

    let fewer = admit("escalations", "CREATE", &e, None, "alice", &["system:authenticated"]);
    assert!(fewer[0].contains("spec.requestorGroups must list exactly your groups"), "{fewer:?}");
    let more = admit("escalations", "CREATE", &e, None, "alice", &["squad-a", "system:authenticated", "admins"]);
    assert_eq!(more.len(), 1, "{more:?}");

    let mut revoked = escalation();
    revoked["spec"]["revoked"] = json!(true);
    revoked["spec"]["revokedBy"] = json!("alice");
    assert!(admit("escalations", "CREATE", &revoked, None, "alice", ALICE)[0].contains("cannot already be revoked"));
}

#[test]
fn revoking_records_the_real_revoker() {
    let old = escalation();
    let mut new = escalation();
    new["spec"]["revoked"] = json!(true);
    new["spec"]["revokedBy"] = json!("alice");
    assert!(admit("escalations", "UPDATE", &new, Some(&old), "alice", ALICE).is_empty());
    let forged = admit("escalations", "UPDATE", &new, Some(&old), "root", &["system:masters"]);
    assert!(forged[0].contains("spec.revokedBy must be your own username"), "{forged:?}");
    // A metadata-only update (the controller's finalizer) is not a revoke.
    let mut meta = escalation();
    meta["metadata"]["finalizers"] = json!([FINALIZER]);
    assert!(admit("escalations", "UPDATE", &meta, Some(&old), CONTROLLER, &[]).is_empty());
}

#[test]
fn review_create_captures_identity_and_reviews_are_immutable() {
    let r = review();
    assert!(admit("escalationreviews", "CREATE", &r, None, "bob", BOB).is_empty());
    assert!(admit("escalationreviews", "CREATE", &r, None, "bob", &["system:authenticated", "admins"]).is_empty());
    let spoofed = admit("escalationreviews", "CREATE", &r, None, "alice", ALICE);
    assert!(spoofed.iter().any(|m| m.contains("spec.reviewer is bob but you are alice")), "{spoofed:?}");

    let mut edited = review();
    edited["spec"]["decision"] = json!("REJECTED");
    let msgs = admit("escalationreviews", "UPDATE", &edited, Some(&r), "bob", BOB);
    assert!(msgs[0].contains("reviews are immutable"), "{msgs:?}");
    let mut owned = review();
    owned["metadata"]["ownerReferences"] =
        json!([{"apiVersion": API_VERSION, "kind": "Escalation", "name": "x", "uid": "uid-1"}]);
    assert!(admit("escalationreviews", "UPDATE", &owned, Some(&r), CONTROLLER, &[]).is_empty());
}

#[test]
fn only_the_controller_writes_status() {
    let old = escalation();
    let mut forged = escalation();
    forged["status"] = json!({"state": "ACCEPTED", "expiresAt": "2099-01-01T00:00:00Z"});
    let msgs = admit("escalations/status", "UPDATE", &forged, Some(&old), "alice", ALICE);
    assert!(msgs[0].contains("only the kudo controller"), "{msgs:?}");
    let msgs = admit("escalations/status", "UPDATE", &forged, Some(&old), "admin", &["system:masters"]);
    assert_eq!(msgs.len(), 1, "cluster admins too");
    assert!(
        admit("escalations/status", "UPDATE", &forged, Some(&old), CONTROLLER, &["system:serviceaccounts"]).is_empty()
    );

    let other =
        manifests::Options { namespace: "security".into(), service_account: "kudo".into(), ..Default::default() };
    let rendered = manifests::render(&other).unwrap();
    assert!(rendered.contains("request.userInfo.username == 'system:serviceaccount:security:kudo'"));
}

/// The reaper holds `patch` on every binding (RBAC cannot scope a rule by
/// label); kudo-reaper-scope keeps its patches to finalizers. Only that
/// rule is evaluated here: this evaluator escapes map keys such as
/// `app.kubernetes.io/managed-by` (as for schema fields), which the API
/// server does not, so the label rule, the DELETE rule and the
/// matchCondition naming the reaper are proved on the API servers by
/// `tests/hardening2.rs`.
#[test]
fn the_reaper_may_only_strip_finalizers() {
    let policy = policies().into_iter().find(|p| p["metadata"]["name"] == manifests::admission::REAPER_SCOPE).unwrap();
    let rule = policy["spec"]["validations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["message"].as_str().unwrap().contains("only remove the finalizers"))
        .unwrap();
    let check = |new: &Value, old: &Value| {
        let evaluator = VapEvaluator::builder()
            .object(new.clone())
            .old_object(old.clone())
            .request(AdmissionRequest { operation: "UPDATE".into(), ..Default::default() })
            .build();
        let expr = VapExpression {
            expression: rule["expression"].as_str().unwrap().into(),
            message: None,
            message_expression: None,
        };
        evaluator.evaluate(&[expr])[0].passed
    };
    let held = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {
            "name": "kudo-e-0", "namespace": "app", "finalizers": ["example.com/hold"],
            "labels": {"app.kubernetes.io/managed-by": "kudo", "k8s.kudo.dev/escalation": "e"},
            "annotations": {"k8s.kudo.dev/expires-at": "2026-11-23T11:00:00Z"},
        },
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "User", "name": "alice"}],
    });
    let mut stripped = held.clone();
    stripped["metadata"].as_object_mut().unwrap().remove("finalizers");
    assert!(check(&stripped, &held));
    let mut regranted = stripped.clone();
    regranted["subjects"][0]["name"] = json!("mallory");
    assert!(!check(&regranted, &held));
    let mut pushed = stripped.clone();
    pushed["metadata"]["annotations"]["k8s.kudo.dev/expires-at"] = json!("2099-01-01T00:00:00Z");
    assert!(!check(&pushed, &held));
    let mut relabelled = stripped.clone();
    relabelled["metadata"]["labels"]["k8s.kudo.dev/escalation"] = json!("other");
    assert!(!check(&relabelled, &held));
    let mut disowned = stripped;
    disowned["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u"}]);
    assert!(!check(&disowned, &held));
}

fn crd_schema<K: CustomResourceExt>() -> Value {
    let crd = K::crd();
    serde_json::to_value(crd.spec.versions[0].schema.as_ref().unwrap().open_api_v3_schema.as_ref().unwrap()).unwrap()
}

fn crd_errors<K: CustomResourceExt>(object: &Value, old: Option<&Value>) -> Vec<String> {
    match Validator::new().validate(&crd_schema::<K>(), object, old) {
        Ok(()) => vec![],
        Err(errors) => errors.into_iter().map(|e| e.message).collect(),
    }
}

/// Issue 21: `spec.extends` is set at creation only, and never to itself
/// (what it names is the controller's to check: CEL reads no other object).
#[test]
fn extends_is_immutable_and_not_self() {
    let old = escalation();
    let mut moved = escalation();
    moved["spec"]["extends"] = json!("someone-elses");
    let errs = crd_errors::<Escalation>(&moved, Some(&old));
    assert!(errs.iter().any(|e| e.contains("extends is immutable")), "{errs:?}");
    let mut extension = escalation();
    extension["spec"]["extends"] = json!("running-one");
    assert!(crd_errors::<Escalation>(&extension, None).is_empty());
    let mut cleared = escalation();
    cleared["spec"]["extends"] = json!("");
    assert!(crd_errors::<Escalation>(&cleared, Some(&extension)).iter().any(|e| e.contains("extends is immutable")));
    let mut itself = escalation();
    itself["spec"]["extends"] = itself["metadata"]["name"].clone();
    let errs = crd_errors::<Escalation>(&itself, None);
    assert!(errs.iter().any(|e| e.contains("cannot extend itself")), "{errs:?}");
}

#[test]
fn escalation_spec_is_immutable_but_revocable() {
    let old = escalation();
    assert!(crd_errors::<Escalation>(&old, None).is_empty());
    let mut edited = escalation();
    edited["spec"]["reason"] = json!("something else");
    let errs = crd_errors::<Escalation>(&edited, Some(&old));
    assert!(errs[0].contains("spec is immutable except revoked"), "{errs:?}");

    let mut widened = escalation();
    widened["spec"]["duration"] = json!("4h");
    assert!(crd_errors::<Escalation>(&widened, Some(&old))[0].contains("namespace and duration are immutable"));

    let mut revoked = escalation();
    revoked["spec"]["revoked"] = json!(true);
    revoked["spec"]["revokedBy"] = json!("alice");
    assert!(crd_errors::<Escalation>(&revoked, Some(&old)).is_empty());
    let errs = crd_errors::<Escalation>(&old, Some(&revoked));
    assert!(errs.iter().any(|e| e.contains("cannot be un-revoked")), "{errs:?}");

    let mut anonymous = escalation();
    anonymous["spec"]["revoked"] = json!(true);
    assert!(crd_errors::<Escalation>(&anonymous, Some(&old)).iter().any(|e| e.contains("revokedBy")));

    // A schedule or a break-glass flag cannot be added or changed later.
    for (field, value) in [("startAt", json!("2026-11-24T08:00:00Z")), ("breakGlass", json!(true))] {
        let mut changed = escalation();
        changed["spec"][field] = value;
        let errs = crd_errors::<Escalation>(&changed, Some(&old));
        assert!(errs.iter().any(|e| e.contains("startAt and breakGlass are immutable")), "{field}: {errs:?}");
    }

    // Defaults apply as on the API server: an object without revoked/revokedBy is fine.
    let mut bare = escalation();
    bare["spec"].as_object_mut().unwrap().retain(|k, _| k != "revoked" && k != "revokedBy");
    assert!(crd_errors::<Escalation>(&bare, None).is_empty());
    assert!(crd_errors::<Escalation>(&bare, Some(&bare)).is_empty());
}

#[test]
fn reviews_are_immutable_in_the_crd_too() {
    let r = review();
    let mut edited = review();
    edited["spec"]["message"] = json!("changed my mind");
    assert!(crd_errors::<EscalationReview>(&edited, Some(&r))[0].contains("reviews are immutable"));
}

fn policy() -> Value {
    json!({
        "apiVersion": API_VERSION, "kind": "EscalationPolicy",
        "metadata": {"name": "p"},
        "spec": {
            "subjects": [{"kind": "Group", "name": "squad-a"}],
            "target": {
                "defaultDuration": "60m", "maxDuration": "4h",
                "grants": [{"kind": "KubernetesRoleBinding", "defaultNamespace": "a", "allowedNamespaces": ["a", "b"],
                            "roleRef": {"kind": "ClusterRole", "name": "edit", "apiGroup": "rbac.authorization.k8s.io"}}],
            },
        },
    })
}

#[test]
fn policy_shape_rules() {
    assert_eq!(crd_errors::<EscalationPolicy>(&policy(), None), Vec::<String>::new());
    let cases: [(&str, Value, &str); 7] = [
        ("/spec/target/defaultDuration", json!("5h"), "must not exceed target.maxDuration"),
        ("/spec/target/defaultDuration", json!("0s"), "longer than 0s"),
        ("/spec/target/grants/0/defaultNamespace", json!("c"), "defaultNamespace must be one of allowedNamespaces"),
        ("/spec/target/grants/0/kind", json!("KubernetesClusterRoleBinding"), "is cluster-wide"),
        ("/spec/challenges", json!([{"kind": "PeerReview"}]), "needs at least one reviewer"),
        (
            "/spec/challenges",
            json!([{"kind": "Justification", "pattern": "x", "breakGlass": true}]),
            "breakGlass applies to PeerReview challenges only",
        ),
        (
            "/spec/challenges",
            json!([{"kind": "TimeWindow", "timeZone": "UTC"}]),
            "needs timeZone and at least one window",
        ),
    ];
    for (path, value, message) in cases {
        let mut p = policy();
        let (parent, key) = path.rsplit_once('/').unwrap();
        p.pointer_mut(parent).unwrap()[key] = value;
        let errs = crd_errors::<EscalationPolicy>(&p, None);
        assert!(errs.iter().any(|e| e.contains(message)), "{path}: {errs:?}");
    }
    let mut p = policy();
    p["spec"]["target"]["grants"] = json!([{"kind": "KubernetesClusterRoleBinding",
        "roleRef": {"kind": "Role", "name": "x", "apiGroup": "rbac.authorization.k8s.io"}}]);
    assert!(crd_errors::<EscalationPolicy>(&p, None).iter().any(|e| e.contains("must reference a ClusterRole")));
}

/// Every CRD rule compiles, uses only the variables CRD rules have, and stays
/// within the API server's cost budget (a CRD over budget is refused at apply).
#[test]
fn crd_rules_compile_and_fit_the_cost_budget() {
    use kube::core::cel::{ScopeContext, analyze_rule, compile_schema};
    fn walk(node: &Value, path: &str, found: &mut usize) {
        if let Some(rules) = node["x-kubernetes-validations"].as_array() {
            let compiled = compile_schema(node);
            for v in &compiled.validations {
                assert!(v.is_ok(), "{path}: {:?}", v.as_ref().err());
            }
            for r in rules {
                let rule = r["rule"].as_str().unwrap();
                let warnings = analyze_rule(rule, &compiled, ScopeContext::CrdValidation);
                assert!(warnings.is_empty(), "{path}: {rule}: {warnings:?}");
                *found += 1;
            }
        }
        if let Some(props) = node["properties"].as_object() {
            for (k, child) in props {
                walk(child, &format!("{path}.{k}"), found);
            }
        }
        if node["items"].is_object() {
            walk(&node["items"], &format!("{path}[]"), found);
        }
    }
    let mut found = 0;
    walk(&crd_schema::<Escalation>(), "Escalation", &mut found);
    walk(&crd_schema::<EscalationPolicy>(), "EscalationPolicy", &mut found);
    walk(&crd_schema::<EscalationReview>(), "EscalationReview", &mut found);
    assert_eq!(found, 27, "every rule was analysed");
}

/// Issue 10 items 1 and 9: the schema bounds every duration at 8760h, and
/// admits printable reasons and review messages only.
#[test]
fn durations_are_bounded_and_text_is_printable() {
    let errors_for = |field: &str, value: &str| {
        let mut e = escalation();
        e["spec"][field] = json!(value);
        crd_errors::<Escalation>(&e, None)
    };
    assert!(errors_for("duration", "8760h").is_empty());
    for huge in ["8761h", "99999999999999999999h", "2562048h", "9223372036854775808ns"] {
        let errs = errors_for("duration", huge);
        assert!(!errs.is_empty(), "{huge} must be refused");
    }
    assert!(errors_for("duration", "8761h").iter().any(|e| e.contains("at most 8760h")));
    assert!(errors_for("reason", "ticket OPS-1: é ✓ 🚀").is_empty());
    for hostile in ["a\u{1b}[2Jb", "bell\u{7}", "two\nlines", "\u{202e}evil", "\u{9b}31m"] {
        let errs = errors_for("reason", hostile);
        assert!(errs.iter().any(|e| e.contains("printable characters only")), "{hostile:?}: {errs:?}");
    }
    let mut r = review();
    r["spec"]["message"] = json!("ok\u{1b}]0;pwned\u{7}");
    let errs = crd_errors::<EscalationReview>(&r, None);
    assert!(errs.iter().any(|e| e.contains("printable characters only")), "{errs:?}");

    let mut p = policy();
    p["spec"]["target"]["maxDuration"] = json!("8761h");
    assert!(crd_errors::<EscalationPolicy>(&p, None).iter().any(|e| e.contains("maxDuration is at most 8760h")));
    let mut p = policy();
    p["spec"]["pendingTimeout"] = json!("9000h");
    assert!(crd_errors::<EscalationPolicy>(&p, None).iter().any(|e| e.contains("pendingTimeout is at most 8760h")));
    // Plain schema bounds (not CEL): the API server's structural validation enforces them.
    let limit = &crd_schema::<EscalationPolicy>()["properties"]["spec"]["properties"]["maxOpenPerRequestor"];
    assert_eq!((limit["minimum"].as_f64(), limit["maximum"].as_f64()), (Some(1.0), Some(10000.0)), "{limit}");
}
