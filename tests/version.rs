//! `kubectl kudo version` (the built binary): on a sandbox (the backend
//! KUDO_TEST_APISERVER names, real by default) it names the running
//! controller's version and the CRDs' and warns on skew; with no cluster it
//! prints the plugin's version, says so, and still exits 0.

use std::{path::Path, process::Command, time::Duration};

use kudo::{
    manifests,
    sandbox::{ApiServer, Options, Sandbox},
};
use serde_json::{Value, json};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn apiserver() -> ApiServer {
    match std::env::var("KUDO_TEST_APISERVER").as_deref() {
        Ok("fake") => ApiServer::Memory,
        Ok("real") | Err(_) => ApiServer::Real { binary: testenv::Testenv::binary().unwrap_or_else(|e| panic!("{e}")) },
        Ok(other) => panic!("KUDO_TEST_APISERVER={other}: use real or fake"),
    }
}

fn version(kubeconfig: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--context", "admin", "version"])
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_sandbox_it_names_the_controller_and_crd_versions_and_warns_on_skew() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        apiserver: apiserver(),
        kubeconfig: dir.path().join("kubeconfig.yaml"),
        lease_duration: Duration::from_secs(15),
    };
    let sandbox = Sandbox::start(options).await.unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig = sandbox.kubeconfig_path().to_path_buf();

    // The leader writes its version into its Lease once it leads.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let report = loop {
        let (code, stdout, stderr) = version(&kubeconfig, &["-o", "json"]);
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        if report["cluster"]["controller"]["source"].as_str().is_some_and(|s| s.starts_with("Lease")) {
            break report;
        }
        assert!(tokio::time::Instant::now() < deadline, "the Lease never named a version: {report:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(report["plugin"], VERSION);
    assert!(report["kubernetes"].as_str().is_some_and(|v| v.starts_with('v')), "{report:#}");
    assert_eq!(report["cluster"]["controller"]["version"], VERSION, "{report:#}");
    assert_eq!(report["cluster"]["warnings"], json!([]), "{report:#}");
    let crds = report["cluster"]["crds"].as_array().unwrap();
    assert_eq!(crds.len(), 3, "{report:#}");
    for crd in crds {
        assert_eq!(crd["served"], json!(["v1alpha1"]), "{crd:#}");
        assert_eq!(crd["storage"], "v1alpha1", "{crd:#}");
    }
    let (code, text, stderr) = version(&kubeconfig, &[]);
    assert_eq!(code, Some(0), "{text}{stderr}");
    assert!(text.starts_with(&format!("kudo plugin: v{VERSION}\n")), "{text}");
    assert!(
        text.contains(&format!(
            "kudo controller: v{VERSION} (Lease kudo-system/kudo-controller, held by kudo-sandbox)"
        )),
        "{text}"
    );
    assert!(text.contains("CRD escalations.k8s.kudo.dev: serves v1alpha1, stores v1alpha1"), "{text}");
    assert!(!stderr.contains("warning"), "{stderr}");

    // Another install, elsewhere, whose leader runs another version: a
    // warning on stderr, and still exit 0.
    let admin = sandbox.client("admin").await.unwrap();
    manifests::apply::create(&admin, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "older"}}))
        .await
        .unwrap();
    manifests::apply::create(
        &admin,
        json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "kudo-controller", "namespace": "older",
                         "annotations": {"k8s.kudo.dev/controller-version": "0.0.9"}},
            "spec": {"holderIdentity": "old-pod"},
        }),
    )
    .await
    .unwrap();
    let (code, text, stderr) = version(&kubeconfig, &["--controller-namespace", "older"]);
    assert_eq!(code, Some(0), "skew is a warning: {text}{stderr}");
    assert!(text.contains("kudo controller: v0.0.9 (Lease older/kudo-controller, held by old-pod)"), "{text}");
    assert!(stderr.contains(&format!("warning: plugin v{VERSION}, controller v0.0.9")), "{stderr}");
    let (_, stdout, _) = version(&kubeconfig, &["--controller-namespace", "older", "-o", "json"]);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["cluster"]["warnings"], json!([format!("plugin v{VERSION}, controller v0.0.9")]));
    sandbox.stop().await.unwrap();
}

#[test]
fn without_a_cluster_it_prints_the_plugin_version_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1.
    let kubeconfig = dir.path().join("kubeconfig.yaml");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: admin, user: {token: not-a-secret}}]\n\
         contexts: [{name: admin, context: {cluster: c, user: admin}}]\ncurrent-context: admin\n",
    )
    .unwrap();
    let (code, text, stderr) = version(&kubeconfig, &[]);
    assert_eq!(code, Some(0), "{text}{stderr}");
    assert!(text.starts_with(&format!("kudo plugin: v{VERSION}\ncluster: not reached (")), "{text}");
    assert!(!text.contains("not-a-secret"), "{text}");
    let (code, json, _) = version(&kubeconfig, &["-o", "json"]);
    assert_eq!(code, Some(0));
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!((report["plugin"].as_str(), report["cluster"].is_null()), (Some(VERSION), true));
    assert!(report["unreachable"].as_str().is_some_and(|r| !r.is_empty()), "{report:#}");
    // --client never asks.
    let (code, text, _) = version(&kubeconfig, &["--client"]);
    assert_eq!((code, text), (Some(0), format!("kudo plugin: v{VERSION}\n")));
}
