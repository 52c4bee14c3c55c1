//! `kubectl kudo manifests`: deterministic, committed, and shaped as DESIGN §1/§9 say.

use std::{path::Path, process::Command};

use kudo::manifests::{self, Options};
use serde_json::Value;

const REGENERATE: &str = "regenerate with: cargo run -- manifests > deploy/kudo.yaml";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rendered() -> String {
    manifests::render(&Options::default()).unwrap()
}

fn docs() -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(&rendered()).unwrap()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn committed_install_is_current_and_the_binary_prints_it() {
    let committed = std::fs::read_to_string(root().join("deploy/kudo.yaml")).expect(REGENERATE);
    assert!(committed == rendered(), "deploy/kudo.yaml is stale; {REGENERATE}");
    assert_eq!(rendered(), rendered(), "deterministic");
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-kudo")).arg("manifests").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), committed);
}

#[test]
fn every_document_is_a_named_kubernetes_object() {
    let docs = docs();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "ClusterRole",
            "ClusterRole",
            "ClusterRole",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "Deployment",
            "CronJob",
        ]
    );
    for d in &docs {
        assert!(d["apiVersion"].is_string() && d["metadata"]["name"].is_string(), "{d}");
    }
    for name in manifests::GUARDS {
        find(&docs, "ValidatingAdmissionPolicyBinding", name);
    }
}

fn props<'a>(schema: &'a Value, path: &[&str]) -> Vec<&'a str> {
    let mut s = schema;
    for p in path {
        s = &s["properties"][p];
    }
    let mut keys: Vec<&str> = s["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    keys
}

#[test]
fn crds_use_the_design_names() {
    let docs = docs();
    let crd = |name| find(&docs, "CustomResourceDefinition", name);
    let esc = crd("escalations.k8s.kudo.dev");
    let pol = crd("escalationpolicies.k8s.kudo.dev");
    let rev = crd("escalationreviews.k8s.kudo.dev");
    for (c, kind, short) in [
        (esc, "Escalation", vec!["esc"]),
        (pol, "EscalationPolicy", vec!["escp", "ep"]),
        (rev, "EscalationReview", vec!["escr"]),
    ] {
        assert_eq!(c["spec"]["scope"], "Cluster");
        assert_eq!(c["spec"]["group"], "k8s.kudo.dev");
        assert_eq!(c["spec"]["names"]["kind"], kind);
        assert_eq!(c["spec"]["names"]["shortNames"], serde_json::json!(short));
        assert_eq!(c["spec"]["names"]["categories"], serde_json::json!(["kudo"]));
        assert_eq!(c["spec"]["versions"][0]["name"], "v1alpha1");
    }
    let v = &esc["spec"]["versions"][0];
    assert!(v["subresources"]["status"].is_object());
    assert!(pol["spec"]["versions"][0]["subresources"]["status"].is_object());
    let columns: Vec<&str> =
        v["additionalPrinterColumns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(columns, ["Policy", "Requestor", "State", "Namespace", "Expires", "Age"]);

    let schema = &v["schema"]["openAPIV3Schema"];
    assert_eq!(
        props(schema, &["spec"]),
        [
            "breakGlass",
            "duration",
            "namespace",
            "policyName",
            "reason",
            "requestor",
            "requestorGroups",
            "revoked",
            "revokedBy",
            "startAt"
        ]
    );
    assert_eq!(
        props(schema, &["status"]),
        [
            "acceptedAt",
            "afterReview",
            "auditedState",
            "challenges",
            "expiresAt",
            "finishedAt",
            "grantRefs",
            "policyGeneration",
            "policyUID",
            "state",
            "stateDetails"
        ]
    );
    let state = &schema["properties"]["status"]["properties"]["state"]["enum"];
    assert_eq!(state, &serde_json::json!(["PENDING", "DENIED", "ACCEPTED", "EXPIRED"]));

    let schema = &pol["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    assert_eq!(props(schema, &["spec"]), ["challenges", "maxOpenPerRequestor", "pendingTimeout", "subjects", "target"]);
    assert_eq!(props(schema, &["spec", "target"]), ["defaultDuration", "grants", "maxDuration"]);
    assert_eq!(schema["properties"]["spec"]["properties"]["subjects"]["minItems"], 1);

    let schema = &rev["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    assert_eq!(
        props(schema, &["spec"]),
        ["decision", "escalationName", "escalationUID", "message", "reviewer", "reviewerGroups"]
    );
}

#[test]
fn controller_runs_locked_down_with_two_replicas() {
    let docs = docs();
    let d = find(&docs, "Deployment", "kudo-controller");
    assert_eq!(d["metadata"]["namespace"], "kudo-system");
    assert_eq!(d["spec"]["replicas"], 2);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "kudo-controller");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let c = &pod["containers"][0];
    assert_eq!(c["args"][0], "controller");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
}

#[test]
fn users_cannot_write_status_and_only_admins_revoke_others() {
    let docs = docs();
    let verbs = |role: &str, resource: &str| -> Vec<String> {
        find(&docs, "ClusterRole", role)["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["resources"].as_array().unwrap().iter().any(|x| x == resource))
            .flat_map(|r| r["verbs"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()))
            .collect()
    };
    for role in ["kudo-user", "kudo-reviewer", "kudo-admin"] {
        assert!(verbs(role, "escalations/status").is_empty(), "{role}");
    }
    assert!(verbs("kudo-admin", "escalations").contains(&"revoke".to_string()));
    assert!(!verbs("kudo-user", "escalations").contains(&"revoke".to_string()));
    assert!(verbs("kudo-reviewer", "escalationreviews").contains(&"create".to_string()));
    assert!(verbs("kudo-controller", "escalations/status").contains(&"patch".to_string()));
    assert!(verbs("kudo-controller", "clusterroles").contains(&"bind".to_string()));
    // Retention (--retain-finished) deletes finished escalations.
    assert!(verbs("kudo-controller", "escalations").contains(&"delete".to_string()));
    assert!(verbs("kudo-admin", "escalations").contains(&"edit-metadata".to_string()));
    assert!(!verbs("kudo-user", "escalations").contains(&"edit-metadata".to_string()));
    // The reaper: list/delete bindings, read escalations, nothing else.
    assert_eq!(verbs("kudo-reaper", "rolebindings"), ["list", "delete"]);
    assert_eq!(verbs("kudo-reaper", "escalations"), ["get", "list"]);
    assert!(verbs("kudo-reaper", "escalations/status").is_empty());
}

#[test]
fn completions_are_current() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_kubectl-kudo")).args(["completion", shell]).output().unwrap();
        assert!(out.status.success());
        let path = root().join(format!("completions/kubectl-kudo.{shell}"));
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "{} is stale; regenerate with: cargo run -- completion {shell} > completions/kubectl-kudo.{shell}",
            path.display()
        );
    }
}

#[test]
fn ci_runs_the_readme_test_command_verbatim() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let test_command = readme
        .lines()
        .find(|l| l.starts_with("cargo fmt"))
        .and_then(|l| l.split("   #").next())
        .expect("the README's first lines give the test command")
        .trim();
    let ci = std::fs::read_to_string(".ci/run").unwrap();
    assert_eq!(ci.lines().rfind(|l| !l.trim().is_empty()).map(str::trim), Some(test_command));
}
