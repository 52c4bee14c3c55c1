//! The Helm chart deploy/helm/kudo: generated from the same types as
//! `kubectl kudo manifests` and committed current; `helm lint --strict`
//! clean; `helm template` with the defaults gives exactly the objects of
//! `kubectl kudo manifests` (compared parsed); its values change what they
//! name and nothing else, and refuse what could rewrite a policy; and
//! `helm install` onto the real control plane gives a working kudo (an
//! escalation granted, then reclaimed at expiry). Helm is tests/tools/bin/helm
//! (tests/tools/build.sh), or $KUDO_HELM.

mod support;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use kube::ResourceExt;
use kudo::manifests::{self, Options};
use serde_json::{Value, json};
use support::{BackendKind, Cluster, pod_reader_policy};

const REGENERATE: &str = "regenerate with: cargo run -- manifests --helm-chart deploy/helm/kudo";

fn chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/helm/kudo")
}

fn helm(args: &[&str]) -> Output {
    // Helm's own state out of the user's home: no repositories or plugins of theirs.
    let home = std::env::temp_dir().join("kudo-tests-helm");
    Command::new(support::tool("helm"))
        .args(args)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "helm failed: {stdout}\n{stderr}");
    stdout.into_owned()
}

/// Objects by (kind, namespace, name).
fn objects(yaml: &str) -> BTreeMap<(String, String, String), Value> {
    let mut out = BTreeMap::new();
    for doc in serde_saphyr::from_multiple::<Value>(yaml).unwrap().into_iter().filter(|d| !d.is_null()) {
        let key = (
            doc["kind"].as_str().unwrap().to_string(),
            doc["metadata"]["namespace"].as_str().unwrap_or_default().to_string(),
            doc["metadata"]["name"].as_str().unwrap().to_string(),
        );
        assert!(out.insert(key.clone(), doc).is_none(), "{key:?} twice");
    }
    out
}

fn template(set: &[&str]) -> Output {
    let chart = chart();
    let mut args = vec!["template", "kudo", chart.to_str().unwrap()];
    for s in set {
        args.extend(["--set", s]);
    }
    helm(&args)
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path.to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn the_committed_chart_is_the_generated_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
        .args(["manifests", "--helm-chart"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let relative = |root: &Path| -> Vec<String> {
        let mut files: Vec<String> = files_under(root)
            .into_iter()
            .map(|f| Path::new(&f).strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        files.sort();
        files
    };
    let generated = relative(dir.path());
    assert_eq!(relative(&chart()), generated, "deploy/helm/kudo has other files; {REGENERATE}");
    for file in &generated {
        let committed =
            std::fs::read_to_string(chart().join(file)).unwrap_or_else(|e| panic!("{file}: {e}; {REGENERATE}"));
        assert!(committed == std::fs::read_to_string(dir.path().join(file)).unwrap(), "{file} is stale; {REGENERATE}");
    }
    let chart_yaml: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(chart().join("Chart.yaml")).unwrap()).unwrap();
    assert_eq!(chart_yaml["version"], env!("CARGO_PKG_VERSION"), "the chart's version follows Cargo.toml");
}

#[test]
fn helm_lint_is_clean() {
    let out = ok(&helm(&["lint", "--strict", chart().to_str().unwrap()]));
    assert!(out.contains("0 chart(s) failed") && !out.contains("[WARNING]") && !out.contains("[ERROR]"), "{out}");
}

#[test]
fn helm_template_with_the_defaults_is_kubectl_kudo_manifests() {
    let helm = objects(&ok(&template(&[])));
    let kudo = objects(&manifests::render(&Options::default()).unwrap());
    assert_eq!(helm.keys().collect::<Vec<_>>(), kudo.keys().collect::<Vec<_>>());
    for (key, object) in &kudo {
        assert!(helm[key] == *object, "{key:?} differs:\nhelm: {:#}\nkudo: {object:#}", helm[key]);
    }
}

#[test]
fn each_value_changes_what_it_names() {
    let set = [
        "image.repository=registry.example.com:5000/kudo",
        "image.tag=v9.9.9",
        "image.pullPolicy=Always",
        "replicas=3",
        "controller.serviceAccount.name=kudo-ctl",
        "auditWebhook.secretName=slack-hook",
        "reaper.schedule=*/5 * * * *",
        "reaper.resources.limits.memory=1Gi",
    ];
    let helm = objects(&ok(&template(&set)));
    let mut expected = Options {
        image: "registry.example.com:5000/kudo:v9.9.9".into(),
        image_pull_policy: "Always".into(),
        replicas: 3,
        service_account: "kudo-ctl".into(),
        audit_webhook_secret: "slack-hook".into(),
        reaper_schedule: "*/5 * * * *".into(),
        ..Options::default()
    };
    expected.reaper_resources["limits"]["memory"] = json!("1Gi");
    let kudo = objects(&manifests::render(&expected).unwrap());
    assert_eq!(helm.keys().collect::<Vec<_>>(), kudo.keys().collect::<Vec<_>>());
    for (key, object) in &kudo {
        assert!(helm[key] == *object, "{key:?} differs:\nhelm: {:#}\nkudo: {object:#}", helm[key]);
    }
    // The admission policies name the new controller.
    let guards = ok(&template(&set));
    assert!(guards.contains("system:serviceaccount:kudo-system:kudo-ctl'"), "the CEL names kudo-ctl");
}

#[test]
fn values_that_could_rewrite_a_policy_are_refused() {
    for bad in [
        // Closes the CEL string the name is written into.
        "controller.serviceAccount.name=x' || true || 'x",
        "controller.serviceAccount.name=",
        "auditWebhook.secretName=a\"b",
        "image.tag=v1\nkind: Secret",
        "image.pullPolicy=Sometimes",
        "replicas=0",
        "reaper.schedule=* * *",
    ] {
        let out = template(&[bad]);
        assert!(!out.status.success(), "{bad:?} was accepted:\n{}", String::from_utf8_lossy(&out.stdout));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("don't meet the specifications of the schema"), "{bad:?}: {stderr}");
    }
    // Past the schema (helm --skip-schema-validation), the template's own check.
    let chart = chart();
    let out = helm(&[
        "template",
        "kudo",
        chart.to_str().unwrap(),
        "--skip-schema-validation",
        "--set",
        "controller.serviceAccount.name=x' || true || 'x",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be a Kubernetes object name"), "{out:?}");
}

/// `helm install` onto the real control plane, then kudo works: alice's
/// escalation is ACCEPTED (its binding exists, `kubectl auth can-i` says
/// yes) and is reclaimed at expiry. The Helm release provides the objects;
/// the controller runs in-process as its ServiceAccount (the control plane
/// has no nodes to run the Deployment's pods on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_on_the_real_control_plane_then_an_escalation_is_granted_and_reclaimed() {
    let cluster = Cluster::bare(BackendKind::Real).await;
    let kubeconfig = cluster.kubeconfig_path();
    let chart = chart();
    ok(&helm(&[
        "install",
        "kudo",
        chart.to_str().unwrap(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--kube-context",
        "admin",
        "--namespace",
        "default",
    ]));
    let admin = cluster.client("admin").await;
    let docs = serde_saphyr::from_multiple::<Value>(&manifests::render(&Options::default()).unwrap()).unwrap();
    let crds: Vec<Value> = docs.into_iter().filter(|d| d["kind"] == "CustomResourceDefinition").collect();
    manifests::apply::wait_established(&admin, &crds).await.unwrap();
    manifests::apply::wait_admission_enforced(&admin).await.unwrap();
    let status = ok(&helm(&[
        "status",
        "kudo",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--kube-context",
        "admin",
        "-n",
        "default",
    ]));
    assert!(status.contains("STATUS: deployed"), "{status}");
    cluster.prepare().await;
    let ctl = cluster.start_controller("helm").await;

    cluster.policy(pod_reader_policy("read-pods", "4s", json!([]))).await;
    let can_i = || {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["--context", "alice", "auth", "can-i", "list", "pods", "-n", "app"])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(!can_i(), "alice may not before escalating");
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let name = esc.name_any();
    cluster.wait(&name, "granted", support::granted).await;
    assert_eq!(cluster.kudo_bindings().await, [format!("kudo-{name}-0")]);
    assert!(can_i(), "kubectl auth can-i says yes while ACCEPTED");
    cluster.wait(&name, "reclaimed", |e| e.is_some_and(support::all_reclaimed)).await;
    assert_eq!(cluster.get(&name).await.unwrap().status.unwrap().state.as_str(), "EXPIRED");
    assert!(cluster.kudo_bindings().await.is_empty(), "the binding is gone");
    assert!(!can_i(), "and alice may not again");
    ctl.stop().await;
}
