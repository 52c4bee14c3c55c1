//! Issue 17 (Hardening II): volume, timing and neighbouring objects. Each
//! test names its item; those that need fault injection run on the fake and
//! say so, the others on the backend `KUDO_TEST_APISERVER` names.

mod support;

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::{
    core::v1::Namespace,
    rbac::v1::{ClusterRoleBinding, RoleBinding},
};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use kudo::api::{Escalation, EscalationState};
use serde_json::{Value, json};
use support::{Cluster, create_json, granted, pod_reader_policy};

/// 0. A reconcile never decides from a view older than the controller's own
/// last write. The fake delivers the escalation watch 400 ms late (the
/// bindings' watch on time), so a binding's event triggers a reconcile
/// while the cache still holds the escalation from before its status write:
/// the view a load run once saw accepted twice and denied as tampered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item00_a_stale_cache_never_decides_twice_on_the_fake() {
    let cluster = Cluster::fake_only().await;
    cluster.fake().lag_watches("escalations", Some(Duration::from_millis(400)));
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let mut names = Vec::new();
    for _ in 0..10 {
        names.push(cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap().name_any());
    }
    for name in &names {
        let esc = cluster.wait(name, "granted", granted).await.unwrap();
        let status = esc.status.unwrap();
        assert_eq!(status.state, EscalationState::Accepted, "{name}: {}", status.state_details);
    }
    assert_eq!(ctl.metrics.status_conflicts.get(), 0, "a decision was made from a view older than a write");
    assert!(ctl.metrics.stale_views.get() > 0, "the stale view was never met: the test proves nothing");
    // Still true once the lagging events have all arrived.
    tokio::time::sleep(Duration::from_millis(800)).await;
    for name in &names {
        let esc = cluster.get(name).await.unwrap();
        assert!(granted(Some(&esc)), "{name}: {:?}", esc.status);
    }
    ctl.stop().await;
}

// --- Items 2 and 12: the reaper ------------------------------------------

const REAPER: &str = "system:serviceaccount:kudo-system:kudo-reaper";
/// The reaper Job's `activeDeadlineSeconds`: a pass that has not ended by then is killed.
const JOB_DEADLINE: Duration = Duration::from_secs(55);
const HOLD: &str = "example.com/hold";
const REAPER_SCOPE: &str = "kudo-reaper-scope";

/// One `kubectl kudo reap` pass as the kudo-reaper ServiceAccount, killed
/// at the Job's deadline as Kubernetes would; its output and how long it took.
async fn reap_pass(cluster: &Cluster) -> (std::process::Output, Duration) {
    let started = std::time::Instant::now();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(["--context", "admin", "--as", REAPER, "reap"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    match tokio::time::timeout(JOB_DEADLINE, child.wait_with_output()).await {
        Ok(out) => (out.unwrap(), started.elapsed()),
        Err(_) => panic!("the reap pass was still running at the Job's deadline ({JOB_DEADLINE:?}): starved"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A client of `user`, impersonated by admin (as `kubectl --as`).
async fn impersonating(cluster: &Cluster, user: &str) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(cluster.kubeconfig_path()).unwrap();
    let options = kube::config::KubeConfigOptions { context: Some("admin".into()), ..Default::default() };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.unwrap();
    config.auth_info.impersonate = Some(user.into());
    kube::Client::try_from(config).unwrap()
}

/// Two genuine kudo grants of alice's, a ClusterRoleBinding and a
/// RoleBinding in `app`, each held by a foreign finalizer, expired while
/// the controller is down. Returns their names (ClusterRoleBinding first).
async fn expired_grants_with_the_controller_down(cluster: &Cluster) -> (String, String) {
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "3s", json!([]))).await;
    let mut everywhere = pod_reader_policy("read-pods-everywhere", "3s", json!([]));
    everywhere["spec"]["target"]["grants"] =
        json!([{"kind": "KubernetesClusterRoleBinding", "roleRef": {"kind": "ClusterRole", "name": "pod-reader"}}]);
    cluster.policy(everywhere).await;
    let cluster_wide = cluster.escalate("alice", &["squad-a"], "read-pods-everywhere", json!({})).await.unwrap();
    let in_app = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    for e in [&cluster_wide, &in_app] {
        cluster.wait(&e.name_any(), "granted", granted).await;
    }
    ctl.kill();
    let admin = cluster.client("admin").await;
    let hold = json!({"metadata": {"finalizers": [HOLD]}});
    let (crb, rb) = (format!("kudo-{}-0", cluster_wide.name_any()), format!("kudo-{}-0", in_app.name_any()));
    Api::<ClusterRoleBinding>::all(admin.clone())
        .patch(&crb, &PatchParams::default(), &Patch::Merge(&hold))
        .await
        .unwrap();
    Api::<RoleBinding>::namespaced(admin, "app")
        .patch(&rb, &PatchParams::default(), &Patch::Merge(&hold))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(cluster.can_list_pods("alice", "other").await, "granted cluster-wide, and nobody reclaimed it");
    (crb, rb)
}

/// What a namespace admin can write in their own namespace to keep the
/// reaper busy: kudo's labels, a foreign finalizer, and assorted lies
/// (no expiry, a past or unparsable one, or the name and UID of a real
/// escalation with an expiry far away).
fn junk_binding(i: usize, namespace: &str, real: &Escalation) -> Value {
    let (escalation, owner, expires) = match i % 4 {
        0 => (format!("gone-{i}"), None, None),
        1 => (format!("gone-{i}"), None, Some("1970-01-01T00:00:00Z")),
        2 => (real.name_any(), real.uid(), Some("2099-01-01T00:00:00Z")),
        _ => (format!("gone-{i}"), None, Some("soon")),
    };
    let mut b = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {
            "name": format!("junk-{i}"), "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "kudo", "k8s.kudo.dev/escalation": escalation},
            "finalizers": [HOLD],
        },
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pod-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "mallory"}],
    });
    if let Some(at) = expires {
        b["metadata"]["annotations"] = json!({"k8s.kudo.dev/expires-at": at});
    }
    if let Some(uid) = owner {
        b["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "Escalation", "name": real.name_any(), "uid": uid,
            "controller": true, "blockOwnerDeletion": false,
        }]);
    }
    b
}

async fn create_namespace(cluster: &Cluster, name: &str) {
    let api: Api<Namespace> = Api::all(cluster.client("admin").await);
    api.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap())
        .await
        .unwrap();
}

/// The line of the reap output that reports `binding` deleted, if any.
fn position(stdout: &str, binding: &str) -> Option<usize> {
    stdout.lines().position(|l| l.contains(&format!("{binding} deleted")))
}

/// 2. The reaper cannot be starved. A namespace admin's 20 000 kudo-labelled
/// RoleBindings with a foreign finalizer are stored straight into the fake
/// (creating them over HTTP would take minutes); one pass as the
/// kudo-reaper ServiceAccount still deletes the genuinely expired
/// ClusterRoleBinding and RoleBinding, first, within the Job's deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item02_twenty_thousand_junk_bindings_do_not_starve_the_reaper_on_the_fake() {
    let cluster = Cluster::fake_only().await;
    let (crb, rb) = expired_grants_with_the_controller_down(&cluster).await;
    let real = cluster.get(rb.trim_start_matches("kudo-").trim_end_matches("-0")).await.unwrap();
    create_namespace(&cluster, "junk").await;
    const JUNK: usize = 20_000;
    let seeded = cluster.fake().seed((0..JUNK).map(|i| junk_binding(i, "junk", &real))).unwrap();
    assert_eq!(seeded, JUNK);

    let (out, took) = reap_pass(&cluster).await;
    let stdout = text(&out.stdout);
    println!("item02: one reap pass over {JUNK} junk bindings took {took:?}; {}", stdout.lines().last().unwrap_or(""));
    let (crb_at, rb_at) = (position(&stdout, &crb), position(&stdout, &rb));
    println!("item02: the expired grants were deletions number {crb_at:?} and {rb_at:?}");
    assert!(crb_at.is_some() && rb_at.is_some(), "expired grants not reaped ({took:?}):\n{}", text(&out.stderr));
    // Work runs 16 at a time, so "first" is within the first few completions.
    assert!(crb_at < Some(32) && rb_at < Some(32), "the expired grants were not first: {crb_at:?} {rb_at:?}");
    assert!(cluster.kudo_bindings().await.iter().all(|b| b != &crb && b != &rb));
    assert!(!cluster.can_list_pods("alice", "app").await && !cluster.can_list_pods("alice", "other").await);
}

/// 2, on a real API server: the reaper removes foreign finalizers from
/// expired kudo bindings (a terminating binding still grants) with the
/// rights its ClusterRole gives it, reaches every junk binding a namespace
/// admin made in one pass, and may not touch a binding that is not kudo's,
/// nor change anything on a kudo binding but its finalizers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item02_the_reaper_strips_foreign_finalizers_and_keeps_to_kudos_bindings() {
    let cluster = Cluster::new().await;
    let (crb, rb) = expired_grants_with_the_controller_down(&cluster).await;
    let real = cluster.get(rb.trim_start_matches("kudo-").trim_end_matches("-0")).await.unwrap();
    create_namespace(&cluster, "junk").await;
    let admin = cluster.client("admin").await;
    // dave administers namespace junk: he may write bindings there and bind what he holds.
    create_json(
        &admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "junk-admin", "namespace": "junk"},
            "rules": [
                {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["*"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
            ],
        }),
    )
    .await;
    create_json(
        &admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "dave-admin", "namespace": "junk"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "junk-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "dave"}],
        }),
    )
    .await;
    let as_dave: Api<RoleBinding> = Api::namespaced(cluster.client("dave").await, "junk");
    // KUDO_REAPER_JUNK=20000 measures a pass at scale (creating them takes a while).
    let junk: usize = std::env::var("KUDO_REAPER_JUNK").ok().and_then(|n| n.parse().ok()).unwrap_or(300);
    let created = std::time::Instant::now();
    futures::stream::iter(0..junk)
        .map(|i| {
            let (api, body) = (as_dave.clone(), junk_binding(i, "junk", &real));
            async move {
                // Set-up only: a connection the loaded server drops is retried (409: the first try landed).
                let binding: RoleBinding = serde_json::from_value(body).unwrap();
                for attempt in 1.. {
                    match api.create(&PostParams::default(), &binding).await {
                        Ok(_) => break,
                        Err(kube::Error::Api(s)) if s.code == 409 && attempt > 1 => break,
                        Err(kube::Error::Api(s)) => panic!("{s:?}"),
                        Err(e) if attempt < 5 => tracing::warn!(error = %e, "retrying a junk binding's create"),
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    println!("item02: {junk} junk bindings created by a namespace admin in {:?}", created.elapsed());
    // A binding that is not kudo's, held by a finalizer too.
    let foreign = serde_json::from_value(json!({
        "metadata": {"name": "not-kudos", "finalizers": [HOLD]},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pod-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "dave"}],
    }))
    .unwrap();
    as_dave.create(&PostParams::default(), &foreign).await.unwrap();

    // A kudo-labelled binding of the reaper's own role: RBAC's escalation
    // check lets the reaper change its subjects, so only admission stops it.
    let mut own = junk_binding(0, "junk", &real);
    own["metadata"]["name"] = json!("reaper-role");
    own["roleRef"]["name"] = json!("kudo-reaper");
    create_json(&admin, own).await;

    // What the reaper's rights allow, and no more.
    let as_reaper: Api<RoleBinding> = Api::namespaced(impersonating(&cluster, REAPER).await, "junk");
    let by_scope = |refused: Result<RoleBinding, kube::Error>| match refused {
        Err(kube::Error::Api(s)) => assert!(s.code == 403 && s.message.contains(REAPER_SCOPE), "{}", s.message),
        other => panic!("expected kudo-reaper-scope to refuse, got {other:?}"),
    };
    let strip = json!({"metadata": {"finalizers": null}});
    by_scope(as_reaper.patch("not-kudos", &PatchParams::default(), &Patch::Merge(&strip)).await);
    by_scope(as_reaper.delete("not-kudos", &DeleteParams::default()).await.map(|_| RoleBinding::default()));
    let regrant = json!({"subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "mallory2"}]});
    by_scope(as_reaper.patch("reaper-role", &PatchParams::default(), &Patch::Merge(&regrant)).await);
    let refused = as_reaper.patch("junk-0", &PatchParams::default(), &Patch::Merge(&regrant)).await;
    assert!(matches!(&refused, Err(kube::Error::Api(s)) if s.code == 403), "{refused:?}");

    let (out, took) = reap_pass(&cluster).await;
    let stdout = text(&out.stdout);
    println!(
        "item02: one reap pass over {junk} junk bindings on the {:?} backend took {took:?}; {}",
        cluster.api.kind(),
        stdout.lines().find(|l| l.starts_with("reaped")).unwrap_or_default()
    );
    println!("item02: deleted as number {:?} and {:?}", position(&stdout, &crb), position(&stdout, &rb));
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(position(&stdout, &crb).is_some() && position(&stdout, &rb).is_some(), "{stdout}");
    assert_eq!(cluster.kudo_bindings().await, Vec::<String>::new(), "{stdout}");
    assert!(!cluster.can_list_pods("alice", "app").await && !cluster.can_list_pods("alice", "other").await);
    let kept = Api::<RoleBinding>::namespaced(admin, "junk").get_opt("not-kudos").await.unwrap();
    assert!(kept.is_some_and(|b| b.metadata.deletion_timestamp.is_none()), "a binding that is not kudo's was touched");
}

/// 12. The reaper does not trust the binding alone. With the controller
/// down, a namespace admin of `app` pushes a kudo RoleBinding's
/// `expires-at` to 2099; the reaper still removes it once its escalation's
/// `status.expiresAt` has passed. A revoked escalation's binding goes at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item12_the_reaper_takes_the_escalations_end_over_the_bindings() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "8s", json!([]))).await;
    let pushed = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap().name_any();
    let revoked =
        cluster.escalate("alice", &["squad-a"], "read-pods", json!({"duration": "10m"})).await.unwrap().name_any();
    let mut expires = None;
    for name in [&pushed, &revoked] {
        let esc = cluster.wait(name, "granted", granted).await.unwrap();
        expires.get_or_insert(esc.status.unwrap().expires_at.unwrap().0);
    }
    ctl.kill();
    let admin = cluster.client("admin").await;
    create_json(
        &admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "app-admin", "namespace": "app"},
            "rules": [
                {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["*"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
            ],
        }),
    )
    .await;
    create_json(
        &admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "dave-admin", "namespace": "app"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "dave"}],
        }),
    )
    .await;
    let as_dave: Api<RoleBinding> = Api::namespaced(cluster.client("dave").await, "app");
    let later = json!({"metadata": {"annotations": {"k8s.kudo.dev/expires-at": "2099-01-01T00:00:00Z"}}});
    as_dave.patch(&format!("kudo-{pushed}-0"), &PatchParams::default(), &Patch::Merge(&later)).await.unwrap();
    let as_alice: Api<Escalation> = Api::all(cluster.client("alice").await);
    let revoke = json!({"spec": {"revoked": true, "revokedBy": "alice"}});
    as_alice.patch(&revoked, &PatchParams::default(), &Patch::Merge(&revoke)).await.unwrap();

    let (out, _) = reap_pass(&cluster).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(position(&stdout, &format!("kudo-{revoked}-0")).is_some(), "revoked, yet kept:\n{stdout}");
    assert_eq!(cluster.kudo_bindings().await, [format!("kudo-{pushed}-0")], "not expired yet: kept");

    let expires = expires.unwrap();
    let wait = expires.duration_since(jiff::Timestamp::now()).as_secs_f64().max(0.0) + 1.5;
    tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    let (out, _) = reap_pass(&cluster).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("expired at"), "{stdout}");
    assert!(cluster.kudo_bindings().await.is_empty(), "the pushed-out annotation was believed:\n{stdout}");
    assert!(!cluster.can_list_pods("alice", "app").await);
}
