//! `kubectl kudo doctor` (the built binary) on a healthy install (a sandbox,
//! on the backend KUDO_TEST_APISERVER names, real by default) and on four
//! installs each broken in one way: each shows its own ✗, with its fix,
//! and doctor exits non-zero.

use std::{path::Path, process::Command, time::Duration};

use kube::{
    Api,
    api::{DeleteParams, Patch, PatchParams},
};
use kudo::{
    manifests,
    sandbox::{ApiServer, Options, Sandbox},
};
use serde_json::{Value, json};

fn apiserver() -> ApiServer {
    match std::env::var("KUDO_TEST_APISERVER").as_deref() {
        Ok("fake") => ApiServer::Memory,
        Ok("real") | Err(_) => ApiServer::Real { binary: testenv::Testenv::binary().unwrap_or_else(|e| panic!("{e}")) },
        Ok(other) => panic!("KUDO_TEST_APISERVER={other}: use real or fake"),
    }
}

async fn healthy(dir: &Path, lease_duration: Duration) -> Sandbox {
    let options = Options { apiserver: apiserver(), kubeconfig: dir.join("kubeconfig.yaml"), lease_duration };
    Sandbox::start(options).await.unwrap_or_else(|e| panic!("{e}"))
}

struct Report {
    code: Option<i32>,
    json: Value,
}

impl Report {
    fn failed(&self) -> Vec<&str> {
        self.checks().filter(|c| c["status"] == "fail").map(|c| c["id"].as_str().unwrap()).collect()
    }

    fn checks(&self) -> impl Iterator<Item = &Value> {
        self.json["checks"].as_array().unwrap().iter()
    }

    fn check(&self, id: &str) -> &Value {
        self.checks().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no check {id}: {:#}", self.json))
    }
}

fn doctor(sandbox: &Sandbox, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
        .arg("--kubeconfig")
        .arg(sandbox.kubeconfig_path())
        .args(["--context", "admin", "doctor"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn report(sandbox: &Sandbox) -> Report {
    let (code, stdout, stderr) = doctor(sandbox, &["-o", "json"]);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    Report { code, json }
}

/// Runs doctor until `check` fails (what was broken takes effect a moment
/// later: the controller marks a policy, a Lease runs out), then holds
/// that it alone fails, with its fix, in both outputs.
async fn only_failure(sandbox: &Sandbox, check: &str) -> Report {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let report = loop {
        let report = report(sandbox);
        if report.failed().contains(&check) {
            break report;
        }
        assert!(tokio::time::Instant::now() < deadline, "{check} never failed: {:#}", report.json);
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(report.failed(), [check], "{:#}", report.json);
    assert_eq!(report.code, Some(1), "doctor exits non-zero on a ✗");
    assert_eq!(report.json["healthy"], false);
    assert!(report.check(check)["fix"].as_str().is_some_and(|f| !f.is_empty()), "{:#}", report.json);
    let (code, text, stderr) = doctor(sandbox, &[]);
    assert_eq!(code, Some(1), "{text}{stderr}");
    let title = report.check(check)["title"].as_str().unwrap();
    let line = text.lines().position(|l| l.starts_with(&format!("✗ {title}:"))).unwrap_or_else(|| panic!("{text}"));
    assert!(text.lines().nth(line + 1).unwrap().trim_start().starts_with("fix: "), "the fix follows the ✗:\n{text}");
    assert!(stderr.contains("1 check(s) failed"), "{stderr}");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_install_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = healthy(dir.path(), Duration::from_secs(15)).await;
    let report = report(&sandbox);
    assert_eq!(report.code, Some(0), "{:#}", report.json);
    assert_eq!(report.json["healthy"], true);
    let ids: Vec<&str> = report.checks().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "crds",
            "guards",
            "leader",
            "reconciling",
            "reaper",
            "kudo-user",
            "kudo-reviewer",
            "dangerous-policies",
            "version"
        ]
    );
    for c in report.checks() {
        assert_eq!(c["status"], "pass", "{c:#}");
    }
    let (code, text, _) = doctor(&sandbox, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("✓ ")).count(), 9, "{text}");
    assert!(!text.contains('✗') && !text.contains("fix:"), "{text}");
    assert!(text.contains("✓ controller leader: kudo-sandbox leads"), "{text}");
    sandbox.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_guard_binding_fails_the_guard_check() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = healthy(dir.path(), Duration::from_secs(15)).await;
    let bindings: Api<k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding> =
        Api::all(sandbox.client("admin").await.unwrap());
    bindings.delete(manifests::admission::ESCALATION_IDENTITY, &DeleteParams::default()).await.unwrap();
    let report = only_failure(&sandbox, "guards").await;
    let detail = report.check("guards")["detail"].as_str().unwrap();
    assert!(detail.contains("no ValidatingAdmissionPolicyBinding enforces kudo-escalation-identity"), "{detail}");
    sandbox.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_controller_leaves_a_stale_lease() {
    let dir = tempfile::tempdir().unwrap();
    let mut sandbox = healthy(dir.path(), Duration::from_secs(2)).await;
    sandbox.kill_controller();
    let report = only_failure(&sandbox, "leader").await;
    let detail = report.check("leader")["detail"].as_str().unwrap();
    assert!(detail.contains("kudo-sandbox last renewed Lease kudo-system/kudo-controller"), "{detail}");
    assert!(detail.contains("the leader is gone"), "{detail}");
    sandbox.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kudo_user_bound_to_nobody_fails_its_check() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = healthy(dir.path(), Duration::from_secs(15)).await;
    let crbs: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(sandbox.client("admin").await.unwrap());
    crbs.patch("kudo-users", &PatchParams::default(), &Patch::Merge(json!({"subjects": []}))).await.unwrap();
    let report = only_failure(&sandbox, "kudo-user").await;
    let check = report.check("kudo-user");
    assert!(check["detail"].as_str().unwrap().contains("nobody may escalate"), "{check:#}");
    assert!(check["fix"].as_str().unwrap().contains("--clusterrole kudo-user"), "{check:#}");
    sandbox.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dangerous_policy_fails_its_check() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = healthy(dir.path(), Duration::from_secs(15)).await;
    let admin = sandbox.client("admin").await.unwrap();
    // A role that can create bindings can make an escalation permanent.
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "binder"},
        "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]}],
    });
    manifests::apply::create(&admin, role).await.unwrap();
    let policy = json!({
        "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "EscalationPolicy",
        "metadata": {"name": "risky"},
        "spec": {
            "subjects": [{"kind": "Group", "name": "squad-a"}],
            "target": {"defaultDuration": "10m", "maxDuration": "1h", "grants": [{
                "kind": "KubernetesRoleBinding", "defaultNamespace": "some-app",
                "roleRef": {"kind": "ClusterRole", "name": "binder"},
            }]},
        },
    });
    manifests::apply::create(&admin, policy).await.unwrap();
    let report = only_failure(&sandbox, "dangerous-policies").await;
    let detail = report.check("dangerous-policies")["detail"].as_str().unwrap();
    assert!(detail.starts_with("risky: ") && detail.contains("binder"), "{detail}");
    sandbox.stop().await.unwrap();
}
