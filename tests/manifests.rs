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
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "PriorityLevelConfiguration",
            "FlowSchema",
            "Deployment",
            "CronJob",
            "NetworkPolicy",
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
    let columns: Vec<(&str, i64)> = v["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["priority"].as_i64().unwrap_or(0)))
        .collect();
    // DESIGN's columns, then the wide ones `kubectl kudo list` reads from a Table.
    let design = ["Policy", "Requestor", "State", "Namespace", "Expires", "Age"].map(|c| (c, 0));
    assert_eq!(columns[..6], design);
    assert_eq!(columns[6..], [("Granted-In", 1), ("Expires-At", 1), ("Created", 1)]);

    let schema = &v["schema"]["openAPIV3Schema"];
    assert_eq!(
        props(schema, &["spec"]),
        [
            "breakGlass",
            "duration",
            "extends",
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
            "afterReviewBy",
            "auditedState",
            "challenges",
            "expiresAt",
            "extensionCount",
            "finishedAt",
            "grantPreview",
            "grantRefs",
            "notified",
            "policyGeneration",
            "policyUID",
            "state",
            "stateDetails",
            "supersededBy"
        ]
    );
    let state = &schema["properties"]["status"]["properties"]["state"]["enum"];
    assert_eq!(state, &serde_json::json!(["PENDING", "DENIED", "ACCEPTED", "EXPIRED"]));

    let schema = &pol["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    assert_eq!(
        props(schema, &["spec"]),
        ["challenges", "maxOpenPerRequestor", "notify", "pendingTimeout", "subjects", "target"]
    );
    // Every list and string of `notify` is bounded (the API server's CEL
    // cost budget), and a target names a Secret in kudo's namespace only.
    assert_eq!(props(schema, &["spec", "notify"]), ["remindBefore", "requestor", "reviewers"]);
    let notify = &schema["properties"]["spec"]["properties"]["notify"]["properties"];
    assert_eq!(notify["reviewers"]["maxItems"], 8);
    let secret_ref = &notify["requestor"]["properties"]["secretRef"];
    assert_eq!(props(secret_ref, &[]), ["key", "name"]);
    assert_eq!(
        (&secret_ref["properties"]["name"]["maxLength"], &secret_ref["properties"]["key"]["maxLength"]),
        (&serde_json::json!(253), &serde_json::json!(253))
    );
    assert_eq!(notify["requestor"]["properties"]["format"]["enum"], serde_json::json!(["slack", "json"]));
    assert_eq!(props(schema, &["spec", "target"]), ["defaultDuration", "grants", "maxDuration", "maxExtensions"]);
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

/// `kubectl kudo manifests` with `args`, parsed.
fn rendered_with(args: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-kudo")).arg("manifests").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_saphyr::from_multiple::<Value>(&String::from_utf8(out.stdout).unwrap()).unwrap()
}

/// Issue 17, item 9: the webhook URL is a secret, so the Deployment takes it
/// from a Secret (optional: no Secret, no webhook) and never as a value or
/// an argument, which `kubectl get deployment` and `ps` would show.
#[test]
fn the_webhook_url_comes_from_a_secret() {
    let env_of = |docs: &[Value]| {
        let c = &find(docs, "Deployment", "kudo-controller")["spec"]["template"]["spec"]["containers"][0];
        assert!(!c["args"].to_string().contains("webhook"), "{}", c["args"]);
        let env = c["env"].as_array().unwrap().clone();
        env.into_iter().find(|e| e["name"] == "KUDO_AUDIT_WEBHOOK").expect("KUDO_AUDIT_WEBHOOK is set")
    };
    let env = env_of(&docs());
    assert!(env.get("value").is_none(), "{env}");
    assert_eq!(
        env["valueFrom"],
        serde_json::json!({"secretKeyRef": {"name": "kudo-audit-webhook", "key": "url", "optional": true}})
    );
    let env = env_of(&rendered_with(&["--audit-webhook-secret", "chat-hook"]));
    assert_eq!(env["valueFrom"]["secretKeyRef"]["name"], "chat-hook");
}

/// Issue 17, item 10: only the node (kubelet probes: NetworkPolicy always
/// admits the pod's own node) and the namespaces named with
/// `--metrics-from-namespace` reach the controller's port.
#[test]
fn a_network_policy_admits_only_the_node_and_named_scrapers() {
    let docs = docs();
    let deployment = find(&docs, "Deployment", "kudo-controller");
    let policy = find(&docs, "NetworkPolicy", "kudo-controller");
    assert_eq!(policy["metadata"]["namespace"], "kudo-system");
    assert_eq!(policy["spec"]["podSelector"]["matchLabels"], deployment["spec"]["selector"]["matchLabels"]);
    assert_eq!(policy["spec"]["policyTypes"], serde_json::json!(["Ingress"]));
    assert_eq!(policy["spec"]["ingress"], serde_json::json!([]), "no pod is admitted by default");
    let docs = rendered_with(&["--metrics-from-namespace", "monitoring", "--metrics-from-namespace", "obs"]);
    let policy = find(&docs, "NetworkPolicy", "kudo-controller");
    let from =
        |ns: &str| serde_json::json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}});
    assert_eq!(
        policy["spec"]["ingress"],
        serde_json::json!([{"from": [from("monitoring"), from("obs")], "ports": [{"port": "http", "protocol": "TCP"}]}])
    );
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
    // The reaper: list/delete bindings and patch their finalizers away (the
    // admission policy kudo-reaper-scope holds it to that), list escalations, nothing else.
    assert_eq!(verbs("kudo-reaper", "rolebindings"), ["list", "delete", "patch"]);
    assert_eq!(verbs("kudo-reaper", "clusterrolebindings"), ["list", "delete", "patch"]);
    assert_eq!(verbs("kudo-reaper", "escalations"), ["list"]);
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
        .find(|l| l.starts_with("tests/testenv/build.sh && tests/tools/build.sh && cargo fmt"))
        .and_then(|l| l.split("   #").next())
        .expect("the README's first lines give the test command")
        .trim();
    let ci = std::fs::read_to_string(".ci/run").unwrap();
    assert!(ci.lines().any(|l| l.trim() == test_command), ".ci/run must run the README's test command verbatim");
}

/// The install as users run it, on a real kube-apiserver v1.36: every
/// object is accepted (its CEL cost estimator and reserved words refused
/// the CRDs once, which the fake did not notice), without a warning, and
/// the documents' example objects load unchanged against it.
#[tokio::test(flavor = "multi_thread")]
async fn the_install_applies_on_a_real_api_server_and_the_examples_load() {
    let env = testenv::Testenv::start(&[]).await.unwrap_or_else(|e| panic!("{e}"));
    let kubectl = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write;
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(env.kubeconfig_path())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), stderr)
    };
    let install =
        String::from_utf8(Command::new(env!("CARGO_BIN_EXE_kubectl-kudo")).arg("manifests").output().unwrap().stdout)
            .unwrap();
    // What a server-side dry run says of the CRDs (the rest needs kudo's
    // namespace to exist, which a dry run does not create).
    let crds: Vec<&str> = install.split("\n---\n").filter(|d| d.contains("kind: CustomResourceDefinition")).collect();
    assert_eq!(crds.len(), 3);
    let (ok, out, err) =
        kubectl(&["apply", "--server-side", "--dry-run=server", "-f", "-"], Some(&crds.join("\n---\n")));
    assert!(ok && err.is_empty(), "server-side dry run: {out}{err}");
    let (ok, out, err) = kubectl(&["apply", "--server-side", "-f", "-"], Some(&install));
    assert!(ok && err.is_empty(), "{out}{err}");
    assert_eq!(out.lines().count(), docs().len(), "{out}");
    let crd_names = ["escalations", "escalationpolicies", "escalationreviews"].map(|p| format!("crd/{p}.k8s.kudo.dev"));
    let wait: Vec<&str> =
        ["wait", "--for=condition=Established"].into_iter().chain(crd_names.iter().map(String::as_str)).collect();
    let (ok, out, err) = kubectl(&wait, None);
    assert!(ok, "{out}{err}");

    // The committed copies (tests/examples.rs checks they are the shared
    // examples verbatim, where shared/ is beside the checkout).
    let examples = root().join("tests/fixtures/examples");
    for file in ["gain-port-forward.yaml", "rbac-escalation-example.yaml"] {
        let path = examples.join(file);
        let (ok, out, err) = kubectl(&["create", "--dry-run=server", "-f", path.to_str().unwrap()], None);
        assert!(ok && err.is_empty(), "{file}: {out}{err}");
    }
    // The example escalation names someone else as its requestor: only the
    // identity guard refuses it, once the API server enforces the guards.
    let path = examples.join("escalation.yaml");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (ok, out, err) = kubectl(&["create", "--dry-run=server", "-f", path.to_str().unwrap()], None);
        if !ok && err.contains("kudo-escalation-identity") {
            assert!(err.contains("spec.requestor is user-1@kubecluster.com but you are admin"), "{err}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the identity guard is not enforced: {out}{err}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
