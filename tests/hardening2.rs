//! Issue 17 (Hardening II): volume, timing and neighbouring objects. One
//! test per item, named by it (`item00_…`, `item05_…`, `item09_…`,
//! `item10_…`), each failing before its fix; those that need fault
//! injection run on the fake and say so, the others on the backend
//! `KUDO_TEST_APISERVER` names (a real kube-apiserver by default).

mod support;

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::{
    admissionregistration::v1::ValidatingAdmissionPolicyBinding,
    coordination::v1::Lease,
    core::v1::Namespace,
    rbac::v1::{ClusterRoleBinding, RoleBinding},
};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use kudo::api::{AfterReview, Escalation, EscalationReview, EscalationState};
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

fn forbidden(result: Result<impl std::fmt::Debug, kube::Error>) -> String {
    match result {
        Err(kube::Error::Api(s)) if s.code == 403 => s.message,
        other => panic!("expected 403 Forbidden, got {other:?}"),
    }
}

/// 4. Every review that counts has an audit record: nobody but the
/// controller creates an escalation or review already carrying
/// ownerReferences (a review created owned passed for audited), finalizers
/// or kudo's labels; and a break-glass after-review is a record naming its
/// reviewer, who is kept in `status.afterReviewBy`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item04_reviews_cannot_be_created_pre_audited_and_after_reviews_are_recorded() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let review =
        json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}], "breakGlass": true}]);
    cluster.policy(pod_reader_policy("glass", "10m", review)).await;
    let esc = cluster.escalate("alice", &["squad-a"], "glass", json!({"breakGlass": true})).await.unwrap();
    let name = esc.name_any();
    cluster.wait(&name, "granted", granted).await;

    // A review made to look audited (owned by the escalation) is refused.
    let reviews: Api<EscalationReview> = Api::all(cluster.client("bob").await);
    let owned = json!({
        "metadata": {"generateName": format!("{name}-"), "ownerReferences": [{
            "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "Escalation", "name": name, "uid": esc.uid().unwrap(),
        }]},
        "spec": {"escalationName": name, "escalationUID": esc.uid().unwrap(), "reviewer": "bob",
                 "reviewerGroups": ["admins", "system:authenticated"], "decision": "REJECTED"},
    });
    let msg = forbidden(reviews.create(&PostParams::default(), &serde_json::from_value(owned).unwrap()).await);
    assert!(msg.contains("with ownerReferences, finalizers or kudo labels"), "{msg}");
    // So are escalations with a finalizer or kudo's labels; other labels are the user's.
    for metadata in [
        json!({"generateName": "glass-", "finalizers": ["example.com/keep"]}),
        json!({"generateName": "glass-", "labels": {"k8s.kudo.dev/escalation": "other"}}),
    ] {
        let body = json!({"metadata": metadata, "spec": {"policyName": "glass", "requestor": "alice",
            "requestorGroups": ["squad-a", "system:authenticated"], "reason": "ticket #1"}});
        let escalations: Api<Escalation> = Api::all(cluster.client("alice").await);
        let msg = forbidden(escalations.create(&PostParams::default(), &serde_json::from_value(body).unwrap()).await);
        assert!(msg.contains("kudo-metadata-guard"), "{msg}");
    }
    cluster.escalate("alice", &["squad-a"], "glass", json!({})).await.expect("no kudo metadata: fine");

    // The after-review: recorded, with its reviewer.
    cluster.review("bob", &["admins"], &esc, "APPROVED").await;
    let reviewed = cluster
        .wait(&name, "after-reviewed", |e| {
            e.and_then(|e| e.status.as_ref()).is_some_and(|s| s.after_review == Some(AfterReview::Approved))
        })
        .await
        .unwrap();
    assert_eq!(reviewed.status.unwrap().after_review_by.as_deref(), Some("bob"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = cluster.events(&name).await;
        if let Some((_, note, _)) = events.iter().find(|(reason, _, _)| reason == "AfterReviewed") {
            assert!(note.contains("approved by bob"), "{note}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no AfterReviewed record: {events:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ctl.stop().await;
}

/// 11. Garbage-collector finalizers: a user cannot add `orphan` to an
/// escalation (its reviews would never be collected); and a review naming
/// no escalation is deleted after a grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item11_nobody_orphans_reviews_and_orphaned_reviews_are_collected() {
    let cluster = Cluster::new().await;
    let mut options = Cluster::controller_options("a");
    options.orphan_review_grace = jiff::SignedDuration::from_secs(1);
    let ctl = cluster.start_controller_with(options).await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let name = esc.name_any();
    cluster.wait(&name, "granted", granted).await;
    let mine: Api<Escalation> = Api::all(cluster.client("alice").await);
    let patch = json!({"metadata": {"finalizers": ["k8s.kudo.dev/reclaim", "orphan"]}});
    let msg = forbidden(mine.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await);
    assert!(msg.contains("kudo-metadata-guard"), "{msg}");

    // A review of an escalation that does not exist goes, after the grace.
    let ghost = json!({
        "metadata": {"name": "ghost-review"},
        "spec": {"escalationName": "no-such-escalation", "escalationUID": "0000", "reviewer": "bob",
                 "reviewerGroups": ["admins", "system:authenticated"], "decision": "APPROVED"},
    });
    let reviews: Api<EscalationReview> = Api::all(cluster.client("bob").await);
    reviews.create(&PostParams::default(), &serde_json::from_value(ghost).unwrap()).await.unwrap();
    let admin: Api<EscalationReview> = Api::all(cluster.client("admin").await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while admin.get_opt("ghost-review").await.unwrap().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "the orphaned review was never collected");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ctl.stop().await;
}

async fn lease_holder(cluster: &Cluster) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(cluster.client("admin").await, "kudo-system");
    leases.get_opt("kudo-controller").await.unwrap().and_then(|l| l.spec).and_then(|s| s.holder_identity)
}

async fn wait_holder(cluster: &Cluster, who: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while lease_holder(cluster).await.as_deref() != Some(who) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{who} never took the lease: {:?}",
            lease_holder(cluster).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// 3. Nobody else can take kudo's leader Lease: the admission guard refuses
/// anyone but the controller; a lease duration above the configured one is
/// never honoured; and no leader for over two lease durations shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item03_nobody_else_can_take_the_leader_lease() {
    let cluster = Cluster::new().await;
    let admin = cluster.client("admin").await;
    let a = cluster.start_controller("a").await;
    wait_holder(&cluster, "a").await;

    // dave may update Leases in kudo-system; the guard still says no.
    create_json(&admin, json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "leases", "namespace": "kudo-system"},
        "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "update", "patch", "delete"]}],
    }))
    .await;
    create_json(&admin, json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "dave-leases", "namespace": "kudo-system"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "leases"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "dave"}],
    }))
    .await;
    let mallory = json!({"spec": {"holderIdentity": "mallory", "leaseDurationSeconds": i32::MAX}});
    let leases: Api<Lease> = Api::namespaced(cluster.client("dave").await, "kudo-system");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let msg = loop {
        // dave's RoleBinding takes effect a moment after it is written.
        match leases.patch("kudo-controller", &PatchParams::default(), &Patch::Merge(&mallory)).await {
            Err(kube::Error::Api(s)) if s.code == 403 && s.message.contains("kudo-leader-lease") => break s.message,
            other => assert!(tokio::time::Instant::now() < deadline, "{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(msg.contains("only the kudo controller"), "{msg}");
    assert!(forbidden(leases.delete("kudo-controller", &Default::default()).await).contains("kudo-leader-lease"));

    // With the guard unbound (an admin's doing), mallory's 68-year lease
    // holds for no longer than the controller's own 3 s.
    let bindings: Api<ValidatingAdmissionPolicyBinding> = Api::all(admin.clone());
    bindings.delete("kudo-leader-lease", &Default::default()).await.unwrap();
    a.kill();
    let as_admin: Api<Lease> = Api::namespaced(admin.clone(), "kudo-system");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while as_admin.patch("kudo-controller", &PatchParams::default(), &Patch::Merge(&mallory)).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the unbound guard is still enforced");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let b = cluster.start_controller("b").await;
    wait_holder(&cluster, "b").await;
    b.stop().await;

    // A standby that cannot take the lease (its RBAC gone) reports that
    // there is no leader, once two lease durations have passed.
    let role_bindings: Api<k8s_openapi::api::rbac::v1::RoleBinding> = Api::namespaced(admin.clone(), "kudo-system");
    role_bindings.delete("kudo-leader-election", &Default::default()).await.unwrap();
    let c = cluster.start_controller("c").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while c.metrics.leader_missing.get() != 1 {
        assert!(tokio::time::Instant::now() < deadline, "no leader, and nothing says so");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(admin, "kudo-system");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let list = events.list(&Default::default()).await.unwrap();
        if list.items.iter().any(|e| e.reason.as_deref() == Some("NoLeader")) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no NoLeader event");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.stop().await;
}

/// 14. Streams opened during an escalation outlive its bindings (Kubernetes
/// authorises exec, attach and port-forward when they connect), so `run
/// --end-with-escalation` ends the command when the escalation ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item14_run_ends_the_command_with_the_escalation() {
    use assert_cmd::cargo::CommandCargoExt;
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "30m", json!([]))).await;
    let marker = cluster.dir().join("escalation-name");
    let (kubeconfig, marker_arg) = (cluster.kubeconfig_path(), marker.to_string_lossy().into_owned());
    let running = tokio::task::spawn_blocking(move || {
        std::process::Command::cargo_bin("kubectl-kudo")
            .unwrap()
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--context", "alice", "run", "read-pods", "--reason", "ticket #3", "--end-with-escalation", "--"])
            .args(["sh", "-c", "echo \"$KUDO_ESCALATION\" > \"$0\"; exec sleep 60", &marker_arg])
            .output()
            .unwrap()
    });
    let name = loop {
        if let Some(name) = std::fs::read_to_string(&marker).ok().filter(|n| !n.trim().is_empty()) {
            break name.trim().to_string();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let admin: Api<Escalation> = Api::all(cluster.client("admin").await);
    let revoke = json!({"spec": {"revoked": true, "revokedBy": "admin"}});
    admin.patch(&name, &PatchParams::default(), &Patch::Merge(&revoke)).await.unwrap();
    let out = tokio::time::timeout(Duration::from_secs(30), running).await.expect("the command was ended").unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "SIGTERM's exit status: {stderr}");
    assert!(stderr.contains("ending the command (--end-with-escalation)"), "{stderr}");
    ctl.stop().await;
}

/// 7. A ServiceAccount is admitted only as the policy's subjects allow:
/// `use` granted to everyone does not make a token someone can mint count
/// as a person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item07_the_use_verb_does_not_admit_service_accounts() {
    let cluster = Cluster::new().await;
    let admin = cluster.client("admin").await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    create_json(
        &admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "use-any-policy"},
            "rules": [{"apiGroups": ["k8s.kudo.dev"], "resources": ["escalationpolicies"], "verbs": ["use"]}],
        }),
    )
    .await;
    create_json(&admin, json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "everyone-uses"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "use-any-policy"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}],
    }))
    .await;
    // dave (a person, no subject of the policy) is admitted by `use`...
    let dave = cluster.escalate("dave", &[], "read-pods", json!({})).await.unwrap();
    cluster.wait(&dave.name_any(), "granted", granted).await;
    // ... the ServiceAccount is not.
    let sa_groups = ["system:serviceaccounts", "system:serviceaccounts:app"];
    let bot = cluster.escalate(support::BOT, &sa_groups, "read-pods", json!({})).await.unwrap();
    let denied = cluster.wait_state(&bot.name_any(), "DENIED").await;
    assert!(support::details(&denied).contains("may not use policy"), "{}", support::details(&denied));
    ctl.stop().await;
}

/// 13. Guards are checked for what they say: a guard whose expression was
/// weakened (here the status writer's, to `true`) counts as missing, and
/// nothing is granted while it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item13_a_weakened_guard_expression_stops_every_grant() {
    use k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy;
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let first = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    cluster.wait(&first.name_any(), "granted", granted).await;
    let policies: Api<ValidatingAdmissionPolicy> = Api::all(cluster.client("admin").await);
    let mut guard = policies.get("kudo-status-writer").await.unwrap();
    guard.spec.as_mut().unwrap().validations.as_mut().unwrap()[0].expression = "true".into();
    policies.replace("kudo-status-writer", &PostParams::default(), &guard).await.unwrap();
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let denied = cluster.wait_state(&esc.name_any(), "DENIED").await;
    let why = support::details(&denied);
    assert!(why.contains("kudo-status-writer is not what kudo installs (validations differ)"), "{why}");
    ctl.stop().await;
}

/// 1. A flood from one user cannot exhaust or stall the controller: dave
/// creates KUDO_FLOOD_N (default 600; `cargo bench --bench scale` floods 20 000)
/// escalations naming a policy that does not exist. Meanwhile alice's
/// escalation is accepted and her revoke reclaims, long before the flood is
/// worked off; afterwards dave keeps no more finished escalations than the
/// per-requestor cap. Latencies are printed, not asserted (the benchmark
/// measures them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item01_a_flood_from_one_user_starves_nobody_and_is_capped() {
    use futures::StreamExt;
    let n: usize = std::env::var("KUDO_FLOOD_N").ok().and_then(|v| v.parse().ok()).unwrap_or(600);
    let cap = 100;
    let cluster = Cluster::new().await;
    let mut options = Cluster::controller_options("a");
    options.retain_per_requestor = cap;
    let ctl = cluster.start_controller_with(options).await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let before = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    cluster.wait(&before.name_any(), "granted", granted).await;

    let dave: Api<Escalation> = Api::all(cluster.client("dave").await);
    let junk = |i: usize| -> Escalation {
        serde_json::from_value(json!({
            "metadata": {"name": format!("junk-{i}")},
            "spec": {"policyName": "no-such-policy", "requestor": "dave", "requestorGroups": ["system:authenticated"], "reason": "x"},
        }))
        .unwrap()
    };
    let flood = tokio::spawn(async move {
        futures::stream::iter(0..n)
            .map(|i| {
                let dave = dave.clone();
                async move { dave.create(&PostParams::default(), &junk(i)).await.map(|_| ()) }
            })
            .buffer_unordered(32)
            .collect::<Vec<_>>()
            .await
    });
    let all: Api<Escalation> = Api::all(cluster.client("admin").await);
    let undecided = |all: Api<Escalation>| async move {
        let list = all.list(&Default::default()).await.unwrap();
        list.items.iter().filter(|e| e.spec.requestor == "dave" && e.status.is_none()).count()
    };
    // Once the flood is well under way (or has all been written):
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while undecided(all.clone()).await < n.min(500) / 2 && !flood.is_finished() {
        assert!(tokio::time::Instant::now() < deadline, "the flood never got going");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let started = tokio::time::Instant::now();
    let during = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    cluster.wait(&during.name_any(), "granted", granted).await;
    let accepted_after = started.elapsed();
    let revoked = tokio::time::Instant::now();
    let mine: Api<Escalation> = Api::all(cluster.client("alice").await);
    let revoke = json!({"spec": {"revoked": true, "revokedBy": "alice"}});
    mine.patch(&before.name_any(), &PatchParams::default(), &Patch::Merge(&revoke)).await.unwrap();
    cluster.wait(&before.name_any(), "reclaimed", |e| e.is_some_and(support::all_reclaimed)).await;
    let reclaimed_after = revoked.elapsed();
    let left = undecided(all.clone()).await;
    println!(
        "flood of {n}: alice accepted in {accepted_after:?}, revoke reclaimed in {reclaimed_after:?}, {left} of dave's still undecided then"
    );
    assert!(left > 0 || flood.is_finished(), "measured only once the flood was over: the test proves nothing");

    let created = flood.await.unwrap();
    assert!(created.iter().all(Result::is_ok), "{:?}", created.iter().find(|r| r.is_err()));
    // Not a timing assertion: the cap must be reached, however slowly a busy
    // machine works the flood off.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    loop {
        let list = all.list(&Default::default()).await.unwrap();
        let dave: Vec<&Escalation> = list.items.iter().filter(|e| e.spec.requestor == "dave").collect();
        let live = dave.iter().filter(|e| e.metadata.deletion_timestamp.is_none()).count();
        if live <= cap && dave.iter().all(|e| e.status.is_some()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "dave still keeps {live} escalations (cap {cap})");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(!ctl.is_finished(), "the controller stopped");
    ctl.stop().await;
}

/// A local webhook receiver: every JSON body POSTed to `/hook`, in order.
async fn webhook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    use std::sync::{Arc, Mutex};
    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            store.lock().unwrap().push(serde_json::from_str(&body).unwrap());
            async { "ok" }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

/// 5. User text reaches chat escaped as Slack's formatting rules require
/// (`&` `<` `>` as entities), so a reason or review message cannot ping a
/// channel or a user, nor dress a link up as something else. The record's
/// data fields (`reason`, `review.message`) keep the text as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item05_chat_text_cannot_ping_or_phish() {
    const HOSTILE: &str = "<!channel> <@U123> <https://x|label> &";
    const ESCAPED: &str = "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x|label&gt; &amp;";
    let (url, received) = webhook_receiver().await;
    let cluster = Cluster::new().await;
    let mut options = Cluster::controller_options("a");
    options.audit_webhook = Some(kudo::audit::SinkConfig {
        url: kudo::audit::WebhookUrl::parse(&url).unwrap(),
        queue: 100,
        attempts: 3,
        backoff: Duration::from_millis(50),
    });
    let ctl = cluster.start_controller_with(options).await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]);
    cluster.policy(pod_reader_policy("reviewed", "10m", review)).await;
    let esc = cluster.escalate("alice", &["squad-a"], "reviewed", json!({"reason": HOSTILE})).await.unwrap();
    let name = esc.name_any();
    cluster.wait_state(&name, "PENDING").await;
    let reviews: kube::Api<kudo::api::EscalationReview> = kube::Api::all(cluster.client("bob").await);
    let body = json!({
        "metadata": {"generateName": format!("{name}-")},
        "spec": {
            "escalationName": name, "escalationUID": esc.uid().unwrap(), "reviewer": "bob",
            "reviewerGroups": ["admins", "system:authenticated"], "decision": "APPROVED", "message": HOSTILE,
        },
    });
    reviews.create(&Default::default(), &serde_json::from_value(body).unwrap()).await.unwrap();
    cluster.wait(&name, "granted", granted).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let records = loop {
        let records = received.lock().unwrap().clone();
        let has = |action: &str, state: &str| records.iter().any(|r| r["action"] == action && r["state"] == state);
        if has("transition", "PENDING") && has("reviewReceived", "PENDING") && has("grantCreated", "ACCEPTED") {
            break records;
        }
        assert!(tokio::time::Instant::now() < deadline, "records: {records:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for r in &records {
        let text = r["text"].as_str().unwrap();
        assert!(!text.contains(['<', '>']), "{text}");
        assert!(!text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").contains('&'), "{text}");
    }
    let pending = records.iter().find(|r| r["action"] == "transition" && r["state"] == "PENDING").unwrap();
    assert!(pending["text"].as_str().unwrap().contains(&format!("({ESCAPED})")), "{pending}");
    assert_eq!(pending["reason"], HOSTILE, "the data field keeps the reason as written");
    let reviewed = records.iter().find(|r| r["action"] == "reviewReceived").unwrap();
    assert!(
        reviewed["text"].as_str().unwrap().contains(&format!("bob approved escalation {name} of alice ({ESCAPED})")),
        "{reviewed}"
    );
    assert_eq!(reviewed["review"]["message"], HOSTILE);
    // The Events carry the same text.
    let events = cluster.events(&name).await;
    assert!(events.iter().any(|(_, note, _)| note.contains(ESCAPED)), "{events:?}");
    assert!(events.iter().all(|(_, note, _)| !note.contains(['<', '>'])), "{events:?}");
    ctl.stop().await;
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// 9. The webhook URL is a secret (whoever holds a Slack webhook URL may
/// post as kudo): it comes from the environment only, and no log line or
/// error carries it, not even at debug level when every delivery fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item09_the_webhook_url_is_in_no_log_line() {
    use std::io::Read;
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
        }
    }
    let cluster = Cluster::new().await;
    cluster.policy(pod_reader_policy("read-pods", "30m", json!([]))).await;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let marker = format!("s3cr3t{nanos:x}{}", std::process::id());
    let url = format!("http://127.0.0.1:{}/services/T0/B0/{marker}?token={marker}", free_port());
    let mut child = Killed(
        std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
            .arg("--kubeconfig")
            .arg(cluster.kubeconfig_path())
            .args(["--context", support::SA, "controller", "--log-format", "json", "--log", "debug"])
            .args(["--listen", "127.0.0.1:0", "--audit-attempts", "2"])
            .env("KUDO_AUDIT_WEBHOOK", &url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Both pipes drained as they fill, so that the controller never blocks on a log line.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = text.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        text
    };
    let stdout = drain(Box::new(child.0.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.0.stderr.take().unwrap()));
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    cluster.wait(&esc.name_any(), "granted", granted).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !stderr.lock().unwrap().contains("failed for good") {
        assert!(std::time::Instant::now() < deadline, "no delivery failed: {}", stderr.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = child.0.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.0.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the controller ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (stdout, stderr) = (stdout.lock().unwrap().clone(), stderr.lock().unwrap().clone());
    assert!(stderr.contains("retrying"), "the test proves nothing unless deliveries failed: {stderr}");
    for (what, text) in [("stderr", &stderr), ("stdout", &stdout)] {
        let leaked: Vec<&str> = text.lines().filter(|l| l.contains(&marker)).collect();
        assert!(leaked.is_empty(), "the webhook URL is on the controller's {what}: {leaked:#?}");
    }
}

/// One GET on a fresh connection, with its own deadline.
async fn get(port: u16, path: &str) -> Result<String, String> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    let response = client.get(format!("http://127.0.0.1:{port}{path}")).send().await.map_err(|e| e.to_string())?;
    response.text().await.map_err(|e| e.to_string())
}

/// How a slow client ended: whether it dribbled its head, and how long the
/// server let it hold its connection.
struct SlowEnd {
    dribbled: bool,
    held: Duration,
}

/// A client that connects (and says so on `connected`), then sends its
/// request head one byte every 200 ms (`dribble`) or nothing at all. It
/// reports when the server ended the connection: a read that returns (EOF,
/// a reset or any bytes: no valid response answers an unfinished head) or
/// a write that fails.
async fn slow_client(
    port: u16,
    dribble: bool,
    connected: tokio::sync::mpsc::UnboundedSender<()>,
    ended: tokio::sync::mpsc::UnboundedSender<SlowEnd>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let since = tokio::time::Instant::now();
    let _ = connected.send(());
    let head = b"GET /healthz HTTP/1.1\r\nHost: kudo\r\nX-Slow: ".iter().chain(std::iter::repeat(&b'a'));
    let mut buf = [0u8; 64];
    for byte in head {
        if dribble && stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        if tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await.is_ok() {
            break;
        }
    }
    let _ = ended.send(SlowEnd { dribbled: dribble, held: since.elapsed() });
}

/// 10. The health and metrics server drops a client that does not send its
/// request head in time (whether it sends nothing or dribbles it byte by
/// byte), and holds no more than its connection limit however many
/// connect: while three times the limit of slow clients hang on, the
/// server holds at most the limit (so memory does not grow with them) and
/// a probe is still answered at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item10_slow_clients_are_dropped_and_cannot_crowd_out_a_probe() {
    use tokio::sync::mpsc::unbounded_channel;
    let cluster = Cluster::new().await;
    let port = free_port();
    let mut options = Cluster::controller_options("a");
    options.listen = Some(([127, 0, 0, 1], port).into());
    // The shipped limits, as the Deployment runs them.
    let (header_timeout, limit) = (options.http.header_read_timeout, options.http.max_connections);
    let ctl = cluster.start_controller_with(options).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while get(port, "/healthz").await.as_deref() != Ok("ok") {
        assert!(tokio::time::Instant::now() < deadline, "the server never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let slow = 3 * limit;
    let ((connected_tx, mut connected), (ended_tx, mut ended)) = (unbounded_channel(), unbounded_channel());
    for i in 0..slow {
        tokio::spawn(slow_client(port, i % 2 == 0, connected_tx.clone(), ended_tx.clone()));
    }
    drop((connected_tx, ended_tx));
    for _ in 0..slow {
        tokio::time::timeout(Duration::from_secs(3), connected.recv()).await.expect("slow clients connect").unwrap();
    }
    // While they hang on, probes are answered at once, and the server
    // holds no more connections than its limit.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..5 {
        let asked = tokio::time::Instant::now();
        assert_eq!(get(port, "/healthz").await.as_deref(), Ok("ok"), "a probe went unanswered");
        assert!(asked.elapsed() < Duration::from_secs(1), "a probe waited {:?}", asked.elapsed());
        let held = ctl.metrics.http_connections.get();
        assert!(held <= limit as i64, "the server holds {held} connections; its limit is {limit}");
    }
    // Every one ends: those beyond the limit at once, the others, silent or
    // dribbling, once the header timeout has passed.
    let mut ends = Vec::new();
    let deadline = tokio::time::Instant::now() + header_timeout + Duration::from_secs(3);
    while ends.len() < slow {
        match tokio::time::timeout_at(deadline, ended.recv()).await {
            Ok(Some(end)) => ends.push(end),
            Ok(None) => break,
            Err(_) => panic!("{} of {slow} slow clients are still connected", slow - ends.len()),
        }
    }
    assert_eq!(ends.len(), slow);
    let (early, late): (Vec<SlowEnd>, Vec<SlowEnd>) = ends.into_iter().partition(|e| e.held < header_timeout / 2);
    assert!(
        early.len() >= slow - limit,
        "{} of {slow} slow clients were let go early; the limit is {limit}",
        early.len()
    );
    assert!(ctl.metrics.http_connections_evicted.get() >= (slow - limit) as u64);
    for dribbled in [true, false] {
        let timed_out: Vec<Duration> = late.iter().filter(|e| e.dribbled == dribbled).map(|e| e.held).collect();
        assert!(
            !timed_out.is_empty(),
            "no {} client outlived the evictions",
            if dribbled { "dribbling" } else { "silent" }
        );
        for held in timed_out {
            assert!(held >= header_timeout - Duration::from_millis(500), "dropped after {held:?}, before the timeout");
        }
    }
    // The server counts a connection just after closing it.
    let counted = tokio::time::Instant::now() + Duration::from_secs(2);
    while ctl.metrics.http_timeouts.get() < late.len() as u64 || ctl.metrics.http_connections.get() != 0 {
        assert!(
            tokio::time::Instant::now() < counted,
            "{} timeouts counted for {} clients; {} connections held",
            ctl.metrics.http_timeouts.get(),
            late.len(),
            ctl.metrics.http_connections.get()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(get(port, "/healthz").await.as_deref(), Ok("ok"));
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
