//! `kubectl kudo extend` end to end (issue 21, item 1), on the backend
//! `KUDO_TEST_APISERVER` names (the real control plane by default): no gap
//! between the two grants as `kubectl auth can-i` sees them, nothing left
//! after the new expiry; hostile extensions refused with their message,
//! by the CLI and, when made directly with the API, by the API server or
//! the controller; racing extensions; `run --extend`.

mod support;

use std::{process::Output, time::Duration};

use assert_cmd::Command;
use jiff::Timestamp;
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
};
use kudo::api::{Escalation, EscalationState};
use serde_json::{Value, json};
use support::{Cluster, details, granted, pod_reader_policy};

fn kudo(cluster: &Cluster, user: &str, args: &[&str]) -> Output {
    Command::cargo_bin("kubectl-kudo")
        .unwrap()
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(["--context", user])
        .args(args)
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// pod-reader in `app`, extensible `max` times, one open escalation per
/// requestor (the default: the pair must count as one), bob a subject too.
fn extensible(name: &str, duration: &str, max: u32, challenges: Value) -> Value {
    let mut p = pod_reader_policy(name, duration, challenges);
    p["spec"]["maxOpenPerRequestor"] = json!(1);
    p["spec"]["target"]["maxExtensions"] = json!(max);
    p["spec"]["subjects"] = json!([{"kind": "Group", "name": "squad-a"}, {"kind": "User", "name": "bob"}]);
    p
}

fn expires_at(esc: &Escalation) -> Timestamp {
    esc.status.as_ref().and_then(|s| s.expires_at.as_ref()).unwrap().0
}

/// The name `extend` printed ("escalation/NAME …").
fn created_name(out: &Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(out));
    let at = text.find("escalation/").unwrap_or_else(|| panic!("no name in {text}")) + "escalation/".len();
    text[at..].split_whitespace().next().unwrap().trim_end_matches(':').to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_accepted_a_second_before_expiry_leaves_no_gap() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]);
    cluster.policy(extensible("read-pods", "10s", 1, review)).await;
    let old = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let pending = cluster.wait_state(&old.name_any(), "PENDING").await;
    cluster.review("carol", &["admins"], &pending, "APPROVED").await;
    let old = cluster.wait(&old.name_any(), "granted", granted).await.unwrap();
    let old_end = expires_at(&old);

    // alice's `kubectl auth can-i`, every 100 ms, from now until well after the end.
    let kubeconfig = cluster.kubeconfig_path();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let poller = tokio::spawn(async move {
        let mut samples: Vec<(Timestamp, bool)> = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stop_rx => return samples,
            }
            let out = tokio::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["--context", "alice", "auth", "can-i", "list", "pods", "-n", "app"])
                .output()
                .await
                .unwrap();
            samples.push((Timestamp::now(), String::from_utf8_lossy(&out.stdout).trim() == "yes"));
        }
    });

    // alice asks to extend (the policy's review applies: PENDING), and
    // carol approves one second before the old grant ends.
    let out =
        kudo(&cluster, "alice", &["extend", &old.name_any(), "--duration", "10s", "--reason", "more, ticket #42"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let new = created_name(&out);
    let waiting = cluster.wait_state(&new, "PENDING").await;
    let wait = Duration::try_from(old_end.duration_since(Timestamp::now())).unwrap_or_default();
    tokio::time::sleep(wait.saturating_sub(Duration::from_secs(1))).await;
    cluster.review("carol", &["admins"], &waiting, "APPROVED").await;

    let new_esc = cluster.wait(&new, "granted", granted).await.unwrap();
    let new_end = expires_at(&new_esc);
    let superseded = cluster.wait_state(&old.name_any(), "EXPIRED").await;
    assert_eq!(details(&superseded), format!("superseded by {new}"));
    assert_eq!(superseded.status.as_ref().unwrap().superseded_by.as_deref(), Some(new.as_str()));
    assert_eq!(new_esc.status.as_ref().unwrap().extension_count, 1);

    let ended = cluster.wait_state(&new, "EXPIRED").await;
    assert!(support::all_reclaimed(&ended), "{ended:#?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_tx.send(()).unwrap();
    let samples = poller.await.unwrap();

    // yes… then no…: one switch, never back (no gap), and it comes after
    // the old end, with the new grant (what `can-i` said past old_end).
    let first_no = samples.iter().position(|(_, yes)| !yes).expect("the grant never ended");
    assert!(first_no > 0, "no grant seen at all");
    assert!(samples[first_no..].iter().all(|(_, yes)| !yes), "a gap: {samples:?}");
    assert!(samples[..first_no].iter().any(|(at, _)| *at > old_end), "nothing seen past the old end: {samples:?}");
    eprintln!(
        "{} samples; accepted {} before the old end; the grant ended {} after the new end",
        samples.len(),
        old_end.duration_since(new_esc.status.as_ref().unwrap().accepted_at.as_ref().unwrap().0),
        samples[first_no].0.duration_since(new_end)
    );
    // Nothing is left past the new end.
    assert!(Timestamp::now() > new_end);
    assert!(cluster.kudo_bindings().await.is_empty());
    assert!(!cluster.can_list_pods("alice", "app").await);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_extensions_are_refused_with_a_message() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(extensible("read-pods", "10m", 1, json!([]))).await;
    let mine = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let mine = cluster.wait(&mine.name_any(), "granted", granted).await.unwrap();
    let name = mine.name_any();

    // Someone else's: bob, by the CLI, then with the API.
    let out = kudo(&cluster, "bob", &["extend", &name]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("escalation {name} is not yours")), "{}", stderr(&out));
    let theft = cluster.escalate("bob", &["admins"], "read-pods", json!({"extends": name})).await.unwrap();
    let denied = cluster.wait_state(&theft.name_any(), "DENIED").await;
    assert!(details(&denied).contains("is not yours"), "{}", details(&denied));
    assert_eq!(cluster.wait_state(&name, "ACCEPTED").await.status.unwrap().superseded_by, None);

    // Itself, and a changed `extends`: the API server refuses.
    let err = cluster
        .escalate_named("alice", &["squad-a"], "read-pods", Some("loop"), json!({"extends": "loop"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot extend itself"), "{err}");
    let api: Api<Escalation> = Api::all(cluster.client("alice").await);
    let patch = json!({"spec": {"extends": name}});
    let err = api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap_err();
    assert!(err.to_string().contains("extends is immutable"), "{err}");

    // Nonexistent.
    let ghost = cluster.escalate("alice", &["squad-a"], "read-pods", json!({"extends": "ghost"})).await.unwrap();
    let denied = cluster.wait_state(&ghost.name_any(), "DENIED").await;
    assert!(details(&denied).contains("escalation ghost does not exist"), "{}", details(&denied));

    // Past the cap (1): once is fine, twice is refused.
    let out = kudo(&cluster, "alice", &["extend", &name, "--wait"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = created_name(&out);
    cluster.wait_state(&name, "EXPIRED").await;
    let out = kudo(&cluster, "alice", &["extend", &first]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already extended 1 time(s), the most policy read-pods allows"), "{}", stderr(&out));
    let again = cluster.escalate("alice", &["squad-a"], "read-pods", json!({"extends": first})).await.unwrap();
    let denied = cluster.wait_state(&again.name_any(), "DENIED").await;
    assert!(details(&denied).contains("maxExtensions 1"), "{}", details(&denied));

    // An ended one (the superseded first link), and a DENIED one: ask again.
    let out = kudo(&cluster, "alice", &["extend", &name]);
    assert!(stderr(&out).contains(&format!("already extended by {first}")), "{}", stderr(&out));
    let out = kudo(&cluster, "alice", &["extend", &ghost.name_any()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is DENIED") && stderr(&out).contains("ask again"), "{}", stderr(&out));
    let late =
        cluster.escalate("alice", &["squad-a"], "read-pods", json!({"extends": ghost.name_any()})).await.unwrap();
    let denied = cluster.wait_state(&late.name_any(), "DENIED").await;
    assert!(details(&denied).contains("ask again"), "{}", details(&denied));

    // Another policy's escalation.
    let mut other = extensible("read-other", "10m", 1, json!([]));
    other["spec"]["target"]["grants"][0]["defaultNamespace"] = json!("other");
    cluster.policy(other).await;
    let out = kudo(&cluster, "alice", &["status", &name]);
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(shown.contains(&format!("Superseded: by {first}")), "{shown}");
    let out = kudo(&cluster, "alice", &["status", &first]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("Extends:    {name} (extension 1 of its chain)")));
    let cross = cluster.escalate("alice", &["squad-a"], "read-other", json!({"extends": first})).await.unwrap();
    let denied = cluster.wait_state(&cross.name_any(), "DENIED").await;
    assert!(details(&denied).contains("is of policy read-pods, not read-other"), "{}", details(&denied));

    // Through it all, only the one extension holds anything.
    assert_eq!(cluster.kudo_bindings().await, vec![format!("kudo-{first}-0")]);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_racing_extensions_one_wins() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(extensible("read-pods", "10m", 3, json!([]))).await;
    let old = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let old = cluster.wait(&old.name_any(), "granted", granted).await.unwrap();
    let name = old.name_any();
    let extend = || cluster.escalate("alice", &["squad-a"], "read-pods", json!({"extends": name}));
    let (a, b, c) = tokio::join!(extend(), extend(), extend());
    let racers = [a.unwrap().name_any(), b.unwrap().name_any(), c.unwrap().name_any()];
    let mut winners = Vec::new();
    for r in &racers {
        let done = cluster
            .wait(r, "decided", |e| e.and_then(|e| e.status.as_ref()).is_some_and(|s| s.state.is_final() || granted(e)))
            .await
            .unwrap();
        match done.state() {
            Some(EscalationState::Accepted) => winners.push(r.clone()),
            _ => assert!(
                details(&done).contains("is already being extended by")
                    || details(&done).contains("already extended by"),
                "{}",
                details(&done)
            ),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let superseded = cluster.wait_state(&name, "EXPIRED").await;
    assert_eq!(superseded.status.unwrap().superseded_by.as_deref(), Some(winners[0].as_str()));
    assert_eq!(cluster.kudo_bindings().await, vec![format!("kudo-{}-0", winners[0])]);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_extend_keeps_the_command_granted() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(extensible("read-pods", "10s", 1, json!([]))).await;
    // The first grant lasts 10 s; the command asks can-i after 13 s.
    let out = kudo(
        &cluster,
        "alice",
        &[
            "run",
            "read-pods",
            "--reason",
            "ticket #42",
            "--extend",
            "--",
            "sh",
            "-c",
            "sleep 13; kubectl auth can-i list pods -n app",
        ],
    );
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout).into_owned(), stderr(&out));
    assert!(out.status.success(), "{stdout}\n{err}");
    assert_eq!(stdout.trim(), "yes", "{err}");
    assert!(err.contains("asked for extension") && err.contains("superseded by"), "{err}");
    // Revoked on exit: nothing left.
    assert!(cluster.kudo_bindings().await.is_empty());
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_the_old_escalation_denies_its_pending_extension() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]);
    cluster.policy(extensible("read-pods", "10m", 2, review)).await;
    let old = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let pending = cluster.wait_state(&old.name_any(), "PENDING").await;
    cluster.review("carol", &["admins"], &pending, "APPROVED").await;
    let old = cluster.wait(&old.name_any(), "granted", granted).await.unwrap();
    let ext = cluster.escalate("alice", &["squad-a"], "read-pods", json!({"extends": old.name_any()})).await.unwrap();
    cluster.wait_state(&ext.name_any(), "PENDING").await;
    // An admin revokes the old grant while the extension waits for review.
    let api: Api<Escalation> = Api::all(cluster.client("admin").await);
    let patch = json!({"spec": {"revoked": true, "revokedBy": "admin"}});
    api.patch(&old.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    let denied = cluster.wait_state(&ext.name_any(), "DENIED").await;
    assert!(
        details(&denied).contains("was revoked by admin") && details(&denied).contains("ask again"),
        "{}",
        details(&denied)
    );
    // A late approval grants nothing.
    cluster.review("carol", &["admins"], &denied, "APPROVED").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(cluster.get(&ext.name_any()).await.unwrap().state(), Some(EscalationState::Denied));
    assert!(cluster.kudo_bindings().await.is_empty());
    ctl.stop().await;
}

/// The controller stops after writing an accepted extension's status and
/// before creating its binding (the state a crash there leaves): a fresh
/// controller creates it, then lets the old one go, and nothing outlives
/// the new end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_takeover_converges() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let policy = cluster.policy(extensible("read-pods", "10m", 1, json!([]))).await;
    let old = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let old = cluster.wait(&old.name_any(), "granted", granted).await.unwrap();
    ctl.stop().await;
    let ext = cluster
        .escalate("alice", &["squad-a"], "read-pods", json!({"extends": old.name_any(), "duration": "8s"}))
        .await
        .unwrap();
    let name = ext.name_any();
    // What the controller writes at acceptance (the finalizer, then status
    // naming the planned binding), and no further.
    let sa: Api<Escalation> = Api::all(cluster.client(support::SA).await);
    let finalizer = json!({"metadata": {"finalizers": [kudo::api::FINALIZER]}});
    sa.patch(&name, &PatchParams::default(), &Patch::Merge(&finalizer)).await.unwrap();
    let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
    let status = json!({"status": {
        "state": "ACCEPTED", "stateDetails": "accepted", "policyUID": policy.uid(),
        "policyGeneration": policy.metadata.generation, "acceptedAt": now.to_string(),
        "expiresAt": (now + jiff::SignedDuration::from_secs(8)).to_string(), "extensionCount": 1,
        "grantRefs": [{"status": "PENDING", "ref": {"kind": "KubernetesRoleBinding", "name": format!("kudo-{name}-0"), "namespace": "app"},
                       "roleRef": {"kind": "ClusterRole", "name": "pod-reader", "apiGroup": "rbac.authorization.k8s.io"}}],
    }});
    sa.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
    assert_eq!(cluster.kudo_bindings().await, vec![format!("kudo-{}-0", old.name_any())]);

    let ctl = cluster.start_controller("b").await;
    cluster.wait(&name, "granted", granted).await;
    let superseded = cluster.wait_state(&old.name_any(), "EXPIRED").await;
    assert_eq!(details(&superseded), format!("superseded by {name}"));
    assert_eq!(cluster.kudo_bindings().await, vec![format!("kudo-{name}-0")]);
    let ended = cluster.wait_state(&name, "EXPIRED").await;
    assert!(support::all_reclaimed(&ended), "{ended:#?}");
    assert!(cluster.kudo_bindings().await.is_empty());
    ctl.stop().await;
}
