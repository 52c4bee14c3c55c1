//! `kubectl kudo …` as users run it: the built binary (and kubectl invoking
//! it as a plugin) against the fake cluster with the controller running.

mod support;

use std::{path::Path, process::Output, time::Duration};

use assert_cmd::Command;
use kube::{Api, ResourceExt, api::ListParams};
use kudo::api::Escalation;
use serde_json::json;
use support::{Cluster, pod_reader_policy};

fn kudo(cluster: &Cluster, user: &str, args: &[&str]) -> Output {
    Command::cargo_bin("kubectl-kudo")
        .unwrap()
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(["--context", user])
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn escalation_count(cluster: &Cluster) -> usize {
    let api: Api<Escalation> = Api::all(cluster.client("admin").await);
    api.list(&ListParams::default()).await.unwrap().items.len()
}

fn can_i(cluster: &Cluster, user: &str, verb: &str, ns: &str) -> bool {
    std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(["--context", user, "auth", "can-i", verb, "pods", "-n", ns])
        .output()
        .unwrap()
        .status
        .success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalate_approve_revoke_through_the_cli() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]);
    cluster.policy(pod_reader_policy("read-pods", "30m", review)).await;
    assert!(!can_i(&cluster, "alice", "list", "app"));

    // alice waits for the decision while bob reviews.
    let kubeconfig = cluster.kubeconfig_path();
    let waiting = tokio::task::spawn_blocking(move || {
        Command::cargo_bin("kubectl-kudo")
            .unwrap()
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args([
                "--context",
                "alice",
                "escalate",
                "read-pods",
                "--reason",
                "debug app, ticket #7",
                "--timeout",
                "30s",
            ])
            .output()
            .unwrap()
    });
    let name = loop {
        let out = kudo(&cluster, "bob", &["list", "--pending-review", "-o", "name"]);
        let (stdout, _) = text(&out);
        if let Some(line) = stdout.lines().next() {
            break line.trim_start_matches("escalation/").to_string();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let out = kudo(&cluster, "bob", &["approve", &name, "-m", "ok", "--yes"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("alice asks for policy read-pods") && stdout.contains("debug app, ticket #7"), "{stdout}");
    assert!(stdout.contains(&format!("escalation/{name} approved")), "{stdout}");

    let out = waiting.await.unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains(&format!("escalation/{name} ACCEPTED until")), "{stdout}");
    assert!(stdout.contains("granted ClusterRole pod-reader in namespace app"), "{stdout}");
    assert!(can_i(&cluster, "alice", "list", "app"), "alice has her permission");

    let out = kudo(&cluster, "alice", &["status", &name]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("State:      ACCEPTED") && stdout.contains("approved by bob"), "{stdout}");
    // Bindings and Events are for those who may read them.
    let out = kudo(&cluster, "admin", &["status", &name]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("live: present") && stdout.contains("GrantCreated"), "{stdout}");

    let out = kudo(&cluster, "alice", &["revoke", &name]);
    assert!(out.status.success(), "{:?}", text(&out));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while can_i(&cluster, "alice", "list", "app") {
        assert!(tokio::time::Instant::now() < deadline, "permission still there after revoke");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = kudo(&cluster, "alice", &["list"]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("EXPIRED"), "{stdout}");
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_fail_before_anything_is_created() {
    let cluster = Cluster::new().await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]},
                        {"kind": "Justification", "pattern": "#[0-9]+"}]);
    cluster.policy(pod_reader_policy("read-pods", "30m", review)).await;
    let cases: &[(&[&str], u8, &str)] = &[
        (&["escalate", "nope", "--reason", "x"], 1, "policy nope does not exist"),
        (&["escalate", "read-pods", "--reason", "x #1", "--duration", "3h"], 1, "longer than policy read-pods allows"),
        (&["escalate", "read-pods", "--reason", "x #1", "-n", "kube-system"], 1, "kube-system"),
        (&["escalate", "read-pods", "--reason", "no ticket"], 1, "#[0-9]+"),
        (&["escalate", "read-pods"], 2, "a reason is required"),
        (&["escalate", "--reason", "x"], 2, "which policy?"),
        (&["approve", "ghost", "--yes"], 1, "escalation ghost not found"),
    ];
    for (args, code, message) in cases {
        let out = kudo(&cluster, "alice", args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(i32::from(*code)), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert_eq!(escalation_count(&cluster).await, 0, "nothing was created");

    // Self-approval and ineligible reviewers are refused before a review exists.
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({"reason": "x #1"})).await.unwrap();
    cluster.allow_reviewing("alice").await;
    cluster.allow_reviewing("dave").await;
    let out = kudo(&cluster, "alice", &["approve", &esc.name_any(), "--yes"]);
    assert!(text(&out).1.contains("requested the escalation and cannot review it"), "{:?}", text(&out));
    let out = kudo(&cluster, "dave", &["approve", &esc.name_any(), "--yes"]);
    assert!(text(&out).1.contains("dave is not an eligible reviewer (eligible: group admins)"), "{:?}", text(&out));
    let reviews: Api<kudo::api::EscalationReview> = Api::all(cluster.client("admin").await);
    assert!(reviews.list(&ListParams::default()).await.unwrap().items.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_people_hit_say_what_to_do() {
    // A cluster without kudo.
    let bare = support::Backend::start(support::BackendKind::from_env(), &[("alice", &[])]).await;
    let out = Command::cargo_bin("kubectl-kudo")
        .unwrap()
        .arg("--kubeconfig")
        .arg(bare.kubeconfig_path())
        .args(["--context", "alice", "list"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("kubectl kudo manifests | kubectl apply -f -"), "{stderr}");

    // No kubeconfig at all.
    let out = Command::cargo_bin("kubectl-kudo")
        .unwrap()
        .args(["--kubeconfig", "/nonexistent/kubeconfig", "list"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(stderr.contains("no cluster to talk to") && stderr.contains("KUBECONFIG"), "{stderr}");

    // Unreachable cluster.
    let config = bare.dir().join("unreachable");
    std::fs::write(
        &config,
        std::fs::read_to_string(bare.kubeconfig_path()).unwrap().replace(&bare.url(), "https://127.0.0.1:1"),
    )
    .unwrap();
    let out =
        Command::cargo_bin("kubectl-kudo").unwrap().arg("--kubeconfig").arg(&config).arg("list").output().unwrap();
    let (_, stderr) = text(&out);
    assert!(stderr.contains("cannot reach the cluster"), "{stderr}");

    // Forbidden: kudo installed, but dave has no kudo role.
    let cluster = Cluster::new().await;
    let admin = cluster.client("admin").await;
    let crbs: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(admin);
    crbs.delete("everyone-kudo", &Default::default()).await.unwrap();
    let out = kudo(&cluster, "dave", &["list", "--all"]);
    let (_, stderr) = text(&out);
    assert!(stderr.contains("forbidden") && stderr.contains("kudo-user"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_policies_tables() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "30m", json!([]))).await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}], "minApprovals": 2}]);
    cluster.policy(pod_reader_policy("reviewed", "10m", review)).await;
    let a = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let b = cluster.escalate("alice", &["squad-a"], "reviewed", json!({"namespace": "other"})).await.unwrap();
    cluster.wait_state(&a.name_any(), "ACCEPTED").await;
    cluster.wait_state(&b.name_any(), "PENDING").await;

    let out = kudo(&cluster, "alice", &["list"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let normalised = stdout.replace(&a.name_any(), "read-pods-xxxxx").replace(&b.name_any(), "reviewed-xxxxx");
    let normalised = regex::Regex::new(r"\b(in )?\d+(m|s|h)( \d+s)?\b").unwrap().replace_all(&normalised, "<t>");
    insta::assert_snapshot!("list_mine", normalised);

    // A reader gone before the first line (`| head`): the command ends
    // quietly, as kubectl does, without a panic.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("kubectl-kudo"))
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(["--context", "alice", "list", "-o", "name"])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(nix::libc::SIGPIPE), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = kudo(&cluster, "bob", &["list"]);
    assert!(text(&out).1.contains("No escalations of yours"), "{:?}", text(&out));
    let out = kudo(&cluster, "bob", &["list", "--all", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    let out = kudo(&cluster, "alice", &["policies"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!("policies", stdout);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_runs_the_plugin_from_path() {
    let cluster = Cluster::new().await;
    let bin = Path::new(env!("CARGO_BIN_EXE_kubectl-kudo")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = std::process::Command::new("kubectl")
        .env("PATH", path)
        .env("KUBECONFIG", cluster.kubeconfig_path())
        .args(["kudo", "list", "--all"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("No escalations."), "{stdout}{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_completes_subcommands_and_live_names() {
    let cluster = Cluster::new().await;
    cluster.policy(pod_reader_policy("read-pods", "30m", json!([]))).await;
    cluster.policy(pod_reader_policy("read-more", "30m", json!([]))).await;
    // A PATH holding the plugin and its completion hook, as krew installs them.
    let bin = cluster.dir().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kubectl-kudo"), bin.join("kubectl-kudo")).unwrap();
    let hook = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/kubectl_complete-kudo");
    std::os::unix::fs::symlink(hook, bin.join("kubectl_complete-kudo")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let complete = |words: &[&str]| {
        let out = std::process::Command::new("kubectl")
            .env("PATH", &path)
            .env("KUBECONFIG", cluster.kubeconfig_path())
            .args(["__complete", "kudo"])
            .args(words)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let subcommands = complete(&["es"]);
    assert!(subcommands.lines().next() == Some("escalate") && subcommands.contains(":4"), "{subcommands}");
    let policies = complete(&["escalate", "read-"]);
    let names: Vec<&str> = policies.lines().filter(|l| !l.starts_with(':')).collect();
    assert_eq!(names, ["read-more", "read-pods"], "{policies}");
    let flags = complete(&["escalate", "read-pods", "--re"]);
    assert!(flags.lines().any(|l| l == "--reason"), "{flags}");
}

/// The controller as it ships: the binary, logging JSON to stderr, audit
/// lines on stdout, stopping cleanly on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_binary_grants_writes_audit_lines_and_stops_on_sigterm() {
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
        }
    }
    let cluster = Cluster::new().await;
    cluster.policy(pod_reader_policy("read-pods", "30m", json!([]))).await;
    let mut controller = Killed(
        std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
            .arg("--kubeconfig")
            .arg(cluster.kubeconfig_path())
            .args(["--context", support::SA, "controller", "--log-format", "json", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    cluster.wait_state(&esc.name_any(), "ACCEPTED").await;
    let name = esc.name_any();
    cluster
        .wait(&name, "granted", |e| {
            e.and_then(|e| e.status.as_ref())
                .is_some_and(|s| s.grant_refs.iter().all(|g| g.status == kudo::api::GrantStatus::Created))
        })
        .await;
    assert!(cluster.can_list_pods("alice", "app").await);

    let pid = controller.0.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = controller.0.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the controller ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    use std::io::Read;
    controller.0.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    controller.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{status}\n{stderr}");

    let records: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let mine = |action: &str| records.iter().any(|r| r["escalation"] == name.as_str() && r["action"] == action);
    assert!(mine("transition") && mine("grantCreated"), "{stdout}");
    for line in stderr.lines() {
        let log: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(log["level"].is_string(), "{line}");
    }
    assert!(stderr.contains("shutting down"), "{stderr}");
}

/// A policy admits by RBAC `use` as well as by its subjects, and the CLI
/// (`policies`, the checks before creating) says so exactly as the
/// controller decides it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_use_admits_everywhere_the_subjects_do() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "30m", json!([]))).await;
    cluster.policy(pod_reader_policy("other-policy", "30m", json!([]))).await;
    // dave is no subject of either; an admin grants him `use` on one, with kubectl.
    let kubectl = |args: &[&str], stdin: &str| {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(cluster.kubeconfig_path())
            .args(args)
            .write_stdin(stdin)
            .output()
            .unwrap();
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let out = kudo(&cluster, "dave", &["escalate", "read-pods", "--reason", "ticket #1", "--no-wait"]);
    assert!(!out.status.success() && text(&out).1.contains("may not use policy read-pods"), "{:?}", text(&out));
    // `kubectl create clusterrole --verb=use` refuses a verb discovery does not list, on real clusters too.
    let role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: use-read-pods}\nrules:\n- {apiGroups: [k8s.kudo.dev], resources: [escalationpolicies], resourceNames: [read-pods], verbs: [use]}\n";
    kubectl(&["apply", "-f", "-"], role);
    kubectl(&["create", "clusterrolebinding", "dave-uses-read-pods", "--clusterrole=use-read-pods", "--user=dave"], "");

    let out = kudo(&cluster, "dave", &["policies"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success() && stdout.contains("read-pods"), "{stdout}{stderr}");
    assert!(!stdout.contains("other-policy"), "{stdout}");
    let out = kudo(&cluster, "dave", &["escalate", "read-pods", "--reason", "ticket #1", "--timeout", "30s"]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(can_i(&cluster, "dave", "list", "app"));
    let out = kudo(&cluster, "dave", &["escalate", "other-policy", "--reason", "ticket #1", "--no-wait"]);
    assert!(!out.status.success() && text(&out).1.contains("may not use policy other-policy"), "{:?}", text(&out));
    ctl.stop().await;
}

fn kubectl_apply(cluster: &Cluster, yaml: &str) {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(["apply", "-f", "-"])
        .write_stdin(yaml)
        .output()
        .unwrap();
    assert!(out.status.success(), "kubectl apply: {}", String::from_utf8_lossy(&out.stderr));
}

/// `which` evaluates the granted roles as RBAC does (aggregation,
/// subresources, resourceNames, the namespace allow-list) and says what to run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn which_finds_the_policies_that_grant_a_permission() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "30m", json!([]))).await;
    // An aggregated role, as admins build them: the rules come from labelled roles.
    kubectl_apply(
        &cluster,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: debugger}\naggregationRule:\n  clusterRoleSelectors: [{matchLabels: {kudo.test/debug: \"true\"}}]\nrules: []\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: port-forwarding, labels: {kudo.test/debug: \"true\"}}\nrules:\n- {apiGroups: [\"\"], resources: [pods/portforward], verbs: [create]}\n- {apiGroups: [\"\"], resources: [secrets], resourceNames: [db], verbs: [get]}\n",
    );
    let mut debug =
        pod_reader_policy("debug-app", "30m", json!([{"kind": "Justification", "pattern": "[A-Z]+-[0-9]+"}]));
    debug["spec"]["target"]["grants"][0]["roleRef"]["name"] = json!("debugger");
    debug["spec"]["target"]["grants"][0]["allowedNamespaces"] = json!(["app"]);
    cluster.policy(debug).await;

    let out = kudo(&cluster, "alice", &["which", "create", "pods/portforward", "-n", "app"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("debug-app") && !stdout.contains("read-pods"), "{stdout}");
    assert!(stdout.contains("reason matching [A-Z]+-[0-9]+"), "{stdout}");
    assert!(stdout.contains("kubectl kudo run debug-app -n app"), "{stdout}");

    let out = kudo(&cluster, "alice", &["which", "get", "po", "-n", "app", "-o", "json"]);
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = found.as_array().unwrap().iter().filter_map(|f| f["policy"].as_str()).collect();
    assert_eq!(names, ["read-pods"]);

    // NAME, or RESOURCE/NAME as kubectl auth can-i reads it when no such subresource exists.
    for args in [&["which", "get", "secrets", "db", "-n", "app"][..], &["which", "get", "secrets/db", "-n", "app"]] {
        let out = kudo(&cluster, "alice", args);
        assert!(out.status.success() && text(&out).0.contains("debug-app"), "{args:?}: {:?}", text(&out));
    }
    // resourceNames limit the rule to one secret; other namespaces are not allowed.
    for args in [
        &["which", "get", "secrets", "other", "-n", "app"][..],
        &["which", "list", "secrets", "-n", "app"],
        &["which", "create", "pods/portforward", "-n", "other"],
    ] {
        let out = kudo(&cluster, "alice", args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {:?}", text(&out));
        assert!(text(&out).1.contains("no policy you may use grants"), "{:?}", text(&out));
    }
    let out = kudo(&cluster, "bob", &["which", "get", "pods", "-n", "app"]);
    assert_eq!(out.status.code(), Some(1), "bob is no subject: {:?}", text(&out));

    // --for picks the one policy that grants it, and its namespace.
    let out = kudo(
        &cluster,
        "alice",
        &[
            "run",
            "--for",
            "create pods/portforward -n app",
            "--reason",
            "OPS-2",
            "--",
            "kubectl",
            "auth",
            "can-i",
            "create",
            "pods",
            "--subresource=portforward",
            "-n",
            "app",
        ],
    );
    assert!(out.status.success() && text(&out).0.starts_with("yes"), "{:?}", text(&out));
    cluster.policy(pod_reader_policy("read-pods-too", "30m", json!([]))).await;
    let out = kudo(&cluster, "alice", &["escalate", "--for", "get pods -n app", "--reason", "x", "--no-wait"]);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    assert!(
        text(&out).1.contains("several policies grant get pods in namespace app: read-pods, read-pods-too"),
        "{:?}",
        text(&out)
    );

    // What which promised is what RBAC then allows (aggregation included).
    let out = kudo(&cluster, "alice", &["escalate", "debug-app", "--reason", "OPS-1", "--timeout", "30s"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let allowed = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(["--context", "alice", "auth", "can-i", "create", "pods", "--subresource=portforward", "-n", "app"])
        .output()
        .unwrap();
    assert!(allowed.status.success(), "{}", String::from_utf8_lossy(&allowed.stdout));
    ctl.stop().await;
}

/// `run` escalates, runs the command with the grants (and KUDO_ESCALATION),
/// revokes when it exits, and exits with its status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_holds_the_grants_for_one_command() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "30m", json!([]))).await;
    let script = "kubectl auth can-i list pods -n app; echo \"name=$KUDO_ESCALATION\"; exit 7";
    let out = kudo(&cluster, "alice", &["run", "read-pods", "--reason", "ticket #1", "--", "sh", "-c", script]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(7), "{stdout}{stderr}");
    assert!(stdout.starts_with("yes\n"), "the command ran with the grants: {stdout}{stderr}");
    let name = stdout.lines().find_map(|l| l.strip_prefix("name=")).unwrap().to_string();
    assert!(name.starts_with("read-pods-"), "{stdout}");
    let esc = cluster.get(&name).await.unwrap();
    assert!(esc.spec.revoked && support::all_reclaimed(&esc), "{:?}", esc.status);
    assert!(!can_i(&cluster, "alice", "list", "app"));
    assert!(cluster.kudo_bindings().await.is_empty());

    let out = kudo(&cluster, "alice", &["run", "read-pods", "--reason", "ticket #1"]);
    assert_eq!(out.status.code(), Some(2), "no command is a usage error: {:?}", text(&out));
    ctl.stop().await;
}

/// SIGTERM to `kudo run` reaches the command first; then the escalation is
/// revoked and its bindings are gone; kudo exits with the command's status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_forwards_signals_and_revokes() {
    use std::io::{BufRead, BufReader};
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "30m", json!([]))).await;
    let script = "trap 'echo got-term; exit 5' TERM; echo \"ready $KUDO_ESCALATION\"; while true; do sleep 0.1; done";
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kubectl-kudo"))
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(["--context", "alice", "run", "read-pods", "--reason", "ticket #2", "--", "sh", "-c", script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::task::spawn_blocking(move || {
        let first = lines.next().unwrap().unwrap();
        (first, lines)
    })
    .await
    .unwrap();
    let name = ready.0.strip_prefix("ready ").unwrap().to_string();
    assert!(can_i(&cluster, "alice", "list", "app"), "granted while the command runs");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    let rest: Vec<String> = ready.1.map_while(Result::ok).collect();
    assert_eq!(rest, ["got-term"], "the command got SIGTERM");
    assert_eq!(status.code(), Some(5));
    let esc = cluster.get(&name).await.unwrap();
    assert!(esc.spec.revoked && support::all_reclaimed(&esc), "{:?}", esc.status);
    assert!(!can_i(&cluster, "alice", "list", "app"));
    ctl.stop().await;
}

/// Break-glass from the CLI: granted at once, listed as owing an
/// after-review, and a reviewer's deny ends it and reclaims its grants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_is_granted_at_once_and_reviewed_after() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let review =
        json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}], "breakGlass": true}]);
    cluster.policy(pod_reader_policy("emergency", "30m", review)).await;
    cluster.policy(pod_reader_policy("ordinary", "30m", json!([]))).await;

    let out = kudo(&cluster, "alice", &["escalate", "ordinary", "--break-glass", "--reason", "outage #9"]);
    assert!(!out.status.success() && text(&out).1.contains("has no break-glass review"), "{:?}", text(&out));
    assert_eq!(escalation_count(&cluster).await, 0, "refused before anything was created");

    let out = kudo(
        &cluster,
        "alice",
        &["escalate", "emergency", "--break-glass", "--reason", "outage #9", "--timeout", "30s"],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(can_i(&cluster, "alice", "list", "app"), "granted without a review");
    let out = kudo(&cluster, "bob", &["list", "--after-review", "-o", "name"]);
    let name = text(&out).0.trim().trim_start_matches("escalation/").to_string();
    assert!(name.starts_with("emergency-"), "{:?}", text(&out));
    let esc = cluster.get(&name).await.unwrap();
    let status = esc.status.unwrap();
    assert_eq!(status.after_review, Some(kudo::api::AfterReview::Pending));
    assert_eq!(status.challenges[0].state, kudo::api::ChallengeState::Bypassed);

    let out = kudo(&cluster, "bob", &["deny", &name, "-m", "not an outage", "--yes"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let esc = cluster
        .wait(&name, "after-review rejected", |e| {
            e.is_some_and(|e| e.state().is_some_and(|s| s.is_final()) && support::all_reclaimed(e))
        })
        .await
        .unwrap();
    let status = esc.status.unwrap();
    assert_eq!(
        (status.state, status.after_review),
        (kudo::api::EscalationState::Denied, Some(kudo::api::AfterReview::Rejected))
    );
    assert!(!can_i(&cluster, "alice", "list", "app"));
    let out = kudo(&cluster, "bob", &["list", "--after-review", "-o", "name"]);
    assert!(text(&out).0.trim().is_empty(), "{:?}", text(&out));

    // Ended before anyone reviewed it: still owed, and the review is recorded.
    let out = kudo(
        &cluster,
        "alice",
        &["escalate", "emergency", "--break-glass", "--reason", "outage #10", "--timeout", "30s"],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let out = kudo(&cluster, "alice", &["revoke", "--all-mine"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let out = kudo(&cluster, "bob", &["list", "--after-review", "-o", "name"]);
    let name = text(&out).0.trim().trim_start_matches("escalation/").to_string();
    cluster.wait_state(&name, "EXPIRED").await;
    let out = kudo(&cluster, "bob", &["approve", &name, "--yes"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let esc = cluster
        .wait(&name, "after-review approved", |e| {
            e.and_then(|e| e.status.as_ref()).is_some_and(|s| s.after_review == Some(kudo::api::AfterReview::Approved))
        })
        .await
        .unwrap();
    assert_eq!(esc.state(), Some(kudo::api::EscalationState::Expired));
    ctl.stop().await;
}

/// `--start-in`: created now, PENDING until its start, then accepted with
/// the full duration from then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_escalation_starts_on_time() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "30m", json!([]))).await;
    let out = kudo(&cluster, "alice", &["escalate", "read-pods", "--reason", "ticket #5", "--start-in", "2h"]);
    assert!(!out.status.success() && text(&out).1.contains("pendingTimeout"), "{:?}", text(&out));
    let out = kudo(&cluster, "alice", &["escalate", "read-pods", "--reason", "ticket #5", "--start-in", "3s"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success() && stdout.contains("scheduled"), "{stdout}{stderr}");
    let name =
        stdout.split_whitespace().next().unwrap().trim_start_matches("escalation/").trim_end_matches(',').to_string();
    let esc = cluster.wait_state(&name, "PENDING").await;
    assert!(esc.status.unwrap().state_details.contains("scheduled to start at"));
    assert!(!can_i(&cluster, "alice", "list", "app"));
    let esc = cluster.wait_state(&name, "ACCEPTED").await;
    let start = esc.spec.start_at.unwrap().0;
    let status = esc.status.unwrap();
    let accepted = status.accepted_at.unwrap().0;
    assert!(accepted >= start, "accepted {accepted} before its start {start}");
    assert_eq!(status.expires_at.unwrap().0.duration_since(accepted), jiff::SignedDuration::from_mins(30));
    ctl.stop().await;
}

/// The escalation ending under a running command is said on stderr; the
/// command keeps running and its status is still kudo's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_says_when_the_escalation_ends_under_the_command() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "30m", json!([]))).await;
    let kubeconfig = cluster.kubeconfig_path();
    let script = "echo \"$KUDO_ESCALATION\" > \"$0\"; sleep 4; echo still-running";
    let marker = cluster.dir().join("escalation-name");
    let marker_arg = marker.to_string_lossy().into_owned();
    let running = tokio::task::spawn_blocking(move || {
        Command::cargo_bin("kubectl-kudo")
            .unwrap()
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args([
                "--context",
                "alice",
                "run",
                "read-pods",
                "--reason",
                "ticket #3",
                "--",
                "sh",
                "-c",
                script,
                &marker_arg,
            ])
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    });
    let name = loop {
        if let Ok(name) = std::fs::read_to_string(&marker)
            && !name.trim().is_empty()
        {
            break name.trim().to_string();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let out = kudo(&cluster, "alice", &["revoke", &name]);
    assert!(out.status.success(), "{:?}", text(&out));
    let out = running.await.unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("still-running"), "{stdout}");
    assert!(stderr.contains(&format!("escalation {name} is EXPIRED")), "{stderr}");
    assert!(stderr.contains("keeps running without its grants"), "{stderr}");
    ctl.stop().await;
}

/// A reviewer sees what they would grant before deciding (issue 20): the
/// preview the controller keeps in status, a Secret-reading rule marked
/// dangerous, a permission the requestor already holds marked as held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_shows_what_the_grant_adds_before_its_prompt() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let admin = cluster.client("admin").await;
    support::create_json(
        &admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "ops"},
            "rules": [
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]},
            ],
        }),
    )
    .await;
    // alice may already read pods in app.
    support::create_json(
        &admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "alice-reads", "namespace": "app"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pod-reader"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
        }),
    )
    .await;
    let mut policy = pod_reader_policy(
        "ops",
        "10m",
        json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]),
    );
    policy["spec"]["target"]["grants"][0]["roleRef"]["name"] = json!("ops");
    cluster.policy(policy).await;
    let esc = cluster.escalate("alice", &["squad-a"], "ops", json!({})).await.unwrap();
    let name = esc.name_any();
    cluster
        .wait(&name, "previewed", |e| e.and_then(|e| e.status.as_ref()).is_some_and(|s| s.grant_preview.is_some()))
        .await;
    let out = kudo(&cluster, "bob", &["approve", &name, "--yes"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let preview = stdout.split("it would grant:").nth(1).unwrap_or_default();
    assert!(preview.contains("ClusterRole/ops in namespace app:"), "{stdout}");
    let line = |what: &str| preview.lines().find(|l| l.contains(what)).unwrap_or_default().to_string();
    assert!(line("get,list pods").contains("(already held)"), "{stdout}");
    assert!(line("get,list secrets").contains("DANGEROUS: can read Secrets"), "{stdout}");
    assert!(!line("get,list secrets").contains("already held"), "{stdout}");
    assert!(stdout.find("it would grant:") < stdout.find(&format!("escalation/{name} approved")), "{stdout}");
    ctl.stop().await;
}

/// Deleting the escalation while `escalate` (or `run`) waits for its
/// decision ends the wait with a clear error and a non-zero exit, instead
/// of waiting for a decision that will never come (issue 20).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_ends_clearly_when_the_escalation_is_deleted() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]);
    cluster.policy(pod_reader_policy("read-pods", "30m", review)).await;
    let api: Api<Escalation> = Api::all(cluster.client("admin").await);
    let commands: [&[&str]; 2] = [
        &["escalate", "read-pods", "--reason", "ticket #8", "--timeout", "10m"],
        &["run", "read-pods", "--reason", "ticket #8", "--timeout", "10m", "--", "true"],
    ];
    for args in commands {
        let kubeconfig = cluster.kubeconfig_path();
        let owned: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let waiting = tokio::task::spawn_blocking(move || {
            Command::cargo_bin("kubectl-kudo")
                .unwrap()
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .args(["--context", "alice"])
                .args(&owned)
                .timeout(Duration::from_secs(60))
                .output()
                .unwrap()
        });
        // PENDING, waiting for a review nobody gives.
        let name = loop {
            let pending = api.list(&ListParams::default()).await.unwrap().items.into_iter().find(|e| {
                e.metadata.deletion_timestamp.is_none() && e.state() == Some(kudo::api::EscalationState::Pending)
            });
            if let Some(e) = pending {
                break e.name_any();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        api.delete(&name, &Default::default()).await.unwrap();
        let out = waiting.await.unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(&format!("escalation {name} was deleted while waiting for it")), "{stderr}");
        assert!(stderr.contains("hint: it no longer exists"), "{stderr}");
        assert!(!stderr.contains("revoking escalation"), "nothing left to revoke: {stderr}");
        cluster.wait(&name, "gone", |e| e.is_none()).await;
    }
    ctl.stop().await;
}
