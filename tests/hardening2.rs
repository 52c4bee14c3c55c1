//! Issue 17 (Hardening II): volume, timing and neighbouring objects. Each
//! test names its item; those that need fault injection run on the fake and
//! say so, the others on the backend `KUDO_TEST_APISERVER` names.

mod support;

use std::time::Duration;

use k8s_openapi::api::{admissionregistration::v1::ValidatingAdmissionPolicyBinding, coordination::v1::Lease};
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams, PostParams},
};
use kudo::api::{AfterReview, Escalation, EscalationReview, EscalationState};
use serde_json::json;
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
/// creates KUDO_FLOOD_N (default 1 000; the closing figures are for 20 000)
/// escalations naming a policy that does not exist. Meanwhile alice's
/// escalation is accepted and her revoke reclaims, long before the flood is
/// worked off; afterwards dave keeps no more finished escalations than the
/// per-requestor cap. Latencies are printed, not asserted (the benchmark
/// measures them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item01_a_flood_from_one_user_starves_nobody_and_is_capped() {
    use futures::StreamExt;
    let n: usize = std::env::var("KUDO_FLOOD_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60 + n as u64 / 20);
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
