//! The controller end to end: the real reconcile loop, through the real HTTP
//! client, against the fake API server with kudo's manifests applied.

mod support;

use std::time::Duration;

use k8s_openapi::api::{coordination::v1::Lease, rbac::v1::RoleBinding};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use kudo::api::{Escalation, EscalationPolicy, EscalationState, GrantStatus};
use serde_json::json;
use support::{Cluster, all_reclaimed, details, pod_reader_policy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_then_expired_grants_then_reclaims() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    // Two grants: a RoleBinding and a ClusterRoleBinding, each audited on its own.
    support::create_json(
        &cluster.client("admin").await,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "ns-viewer"},
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}],
        }),
    )
    .await;
    let mut policy = pod_reader_policy("read-pods", "3s", json!([]));
    policy["spec"]["target"]["grants"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kind": "KubernetesClusterRoleBinding", "roleRef": {"kind": "ClusterRole", "name": "ns-viewer"}}));
    cluster.policy(policy).await;
    assert!(!cluster.can_list_pods("alice", "app").await, "forbidden before escalating");

    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let name = esc.name_any();
    let accepted = cluster.wait_state(&name, "ACCEPTED").await;
    let status = accepted.status.as_ref().unwrap();
    let (at, until) = (status.accepted_at.clone().unwrap().0, status.expires_at.clone().unwrap().0);
    assert!(until > at && until.duration_since(at) <= jiff::SignedDuration::from_secs(3));
    let bindings = cluster
        .wait(&name, "granted", |e| {
            e.and_then(|e| e.status.as_ref())
                .is_some_and(|s| s.grant_refs.iter().all(|r| r.status == GrantStatus::Created))
        })
        .await
        .unwrap();
    let grant = &bindings.status.as_ref().unwrap().grant_refs[0];
    assert_eq!(grant.reference.name, format!("kudo-{name}-0"));
    assert_eq!(grant.reference.namespace.as_deref(), Some("app"));
    assert!(grant.reference.uid.is_some());
    let rb: RoleBinding =
        Api::namespaced(cluster.client("admin").await, "app").get(&grant.reference.name).await.unwrap();
    assert_eq!(rb.labels()["app.kubernetes.io/managed-by"], "kudo");
    assert_eq!(rb.labels()["k8s.kudo.dev/escalation"], name);
    assert_eq!(rb.subjects.as_ref().unwrap()[0].name, "alice");
    assert_eq!(rb.owner_references()[0].uid, esc.uid().unwrap());
    assert!(cluster.can_list_pods("alice", "app").await, "allowed while accepted");
    assert!(!cluster.can_list_pods("alice", "other").await, "only where granted");

    let expired = cluster.wait_state(&name, "EXPIRED").await;
    assert!(details(&expired).contains("expired at"), "{}", details(&expired));
    let expired = cluster.wait(&name, "reclaimed", |e| e.is_some_and(all_reclaimed)).await.unwrap();
    assert_eq!(expired.status.unwrap().state, EscalationState::Expired);
    assert!(cluster.kudo_bindings().await.is_empty());
    assert!(!cluster.can_list_pods("alice", "app").await, "forbidden again after expiry");

    let events = cluster.events(&name).await;
    let notes = |reason: &str| -> Vec<String> {
        events.iter().filter(|(r, _, _)| r == reason).map(|(_, note, _)| note.clone()).collect()
    };
    assert_eq!(notes("Accepted").len(), 1, "{events:?}");
    assert_eq!(notes("Expired").len(), 1, "{events:?}");
    // Audit is at least once: a reconcile retried before its status write
    // landed records the binding it adopts again. Each binding has its own.
    for reason in ["GrantCreated", "GrantReclaimed"] {
        let mut notes = notes(reason);
        notes.sort();
        notes.dedup();
        assert_eq!(notes.len(), 2, "one {reason} per binding: {events:?}");
        assert!(notes.iter().any(|n| n.contains(&format!("kudo-{name}-0"))), "{notes:?}");
        assert!(notes.iter().any(|n| n.contains(&format!("kudo-{name}-1"))), "{notes:?}");
    }
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_review_counts_only_eligible_other_reviewers() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}, {"kind": "User", "name": "alice"}]}]);
    cluster.policy(pod_reader_policy("reviewed", "10m", review)).await;

    let esc = cluster.escalate("alice", &["squad-a"], "reviewed", json!({})).await.unwrap();
    let name = esc.name_any();
    let pending = cluster.wait_state(&name, "PENDING").await;
    assert!(details(&pending).contains("waiting for 1 approval"), "{}", details(&pending));

    // alice matches the reviewers but is the requestor; dave is no reviewer.
    // Both may create reviews: RBAC is not what makes a review count.
    cluster.allow_reviewing("alice").await;
    cluster.allow_reviewing("dave").await;
    cluster.review("alice", &["squad-a"], &esc, "APPROVED").await;
    cluster.review("dave", &[], &esc, "APPROVED").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let still = cluster.get(&name).await.unwrap();
    assert_eq!(still.status.as_ref().unwrap().state, EscalationState::Pending, "{still:#?}");
    assert!(cluster.kudo_bindings().await.is_empty());

    cluster.review("bob", &["admins"], &esc, "APPROVED").await;
    let accepted = cluster.wait_state(&name, "ACCEPTED").await;
    assert_eq!(accepted.status.unwrap().challenges[0].approved_by, vec!["bob".to_string()]);

    // A rejection from an eligible reviewer denies.
    let esc2 = cluster.escalate("alice", &["squad-a"], "reviewed", json!({})).await.unwrap();
    cluster.wait_state(&esc2.name_any(), "PENDING").await;
    cluster.review("carol", &["admins"], &esc2, "REJECTED").await;
    let denied = cluster.wait_state(&esc2.name_any(), "DENIED").await;
    assert!(details(&denied).contains("rejected by carol"), "{}", details(&denied));
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_denied_with_what_to_change() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;

    let wrong_ns =
        cluster.escalate("alice", &["squad-a"], "read-pods", json!({"namespace": "kube-system"})).await.unwrap();
    let too_long = cluster.escalate("alice", &["squad-a"], "read-pods", json!({"duration": "2h"})).await.unwrap();
    let no_policy = cluster.escalate("alice", &["squad-a"], "nope", json!({})).await.unwrap();
    let not_subject = cluster.escalate("bob", &["admins"], "read-pods", json!({})).await.unwrap();

    let d = details(&cluster.wait_state(&wrong_ns.name_any(), "DENIED").await);
    assert!(d.contains("kube-system") && d.contains("app") && d.contains("other"), "{d}");
    let d = details(&cluster.wait_state(&too_long.name_any(), "DENIED").await);
    assert!(d.contains("2h") && d.contains("1h"), "{d}");
    let d = details(&cluster.wait_state(&no_policy.name_any(), "DENIED").await);
    assert!(d.contains("policy nope does not exist") && d.contains("kubectl kudo policies"), "{d}");
    let d = details(&cluster.wait_state(&not_subject.name_any(), "DENIED").await);
    assert!(d.contains("bob may not use policy read-pods"), "{d}");
    assert!(cluster.kudo_bindings().await.is_empty());
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_edited_or_deleted_while_accepted_denies_and_reclaims() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("edited", "10m", json!([]))).await;
    cluster.policy(pod_reader_policy("deleted", "10m", json!([]))).await;
    let a = cluster.escalate("alice", &["squad-a"], "edited", json!({})).await.unwrap();
    let b = cluster.escalate("alice", &["squad-a"], "deleted", json!({})).await.unwrap();
    cluster.wait_state(&a.name_any(), "ACCEPTED").await;
    cluster.wait_state(&b.name_any(), "ACCEPTED").await;
    assert!(cluster.can_list_pods("alice", "app").await);

    let policies: Api<EscalationPolicy> = Api::all(cluster.client("admin").await);
    let edit = json!({"spec": {"target": {"maxDuration": "2h"}}});
    policies.patch("edited", &PatchParams::default(), &Patch::Merge(&edit)).await.unwrap();
    policies.delete("deleted", &DeleteParams::default()).await.unwrap();

    let d = details(&cluster.wait_state(&a.name_any(), "DENIED").await);
    assert!(d.contains("changed"), "{d}");
    let d = details(&cluster.wait_state(&b.name_any(), "DENIED").await);
    assert!(d.contains("deleted") || d.contains("does not exist"), "{d}");
    cluster.wait(&a.name_any(), "reclaimed", |e| e.is_some_and(all_reclaimed)).await;
    cluster.wait(&b.name_any(), "reclaimed", |e| e.is_some_and(all_reclaimed)).await;
    assert!(cluster.kudo_bindings().await.is_empty());
    assert!(!cluster.can_list_pods("alice", "app").await);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_and_delete_reclaim_at_once() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let revoked = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let deleted = cluster.escalate("alice", &["squad-a"], "read-pods", json!({"namespace": "other"})).await.unwrap();
    cluster.wait_state(&revoked.name_any(), "ACCEPTED").await;
    cluster.wait_state(&deleted.name_any(), "ACCEPTED").await;
    cluster
        .wait(&deleted.name_any(), "granted", |e| {
            e.and_then(|e| e.status.as_ref())
                .is_some_and(|s| s.grant_refs.iter().all(|r| r.status == GrantStatus::Created))
        })
        .await;

    let alice: Api<Escalation> = Api::all(cluster.client("alice").await);
    let revoke = json!({"spec": {"revoked": true, "revokedBy": "alice"}});
    alice.patch(&revoked.name_any(), &PatchParams::default(), &Patch::Merge(&revoke)).await.unwrap();
    let d = details(&cluster.wait_state(&revoked.name_any(), "EXPIRED").await);
    assert!(d.contains("revoked by alice"), "{d}");
    cluster.wait(&revoked.name_any(), "reclaimed", |e| e.is_some_and(all_reclaimed)).await;

    // Deleting reclaims first (finalizer), then the object goes.
    let admin: Api<Escalation> = Api::all(cluster.client("admin").await);
    admin.delete(&deleted.name_any(), &DeleteParams::default()).await.unwrap();
    cluster.wait(&deleted.name_any(), "gone", |e| e.is_none()).await;
    assert!(cluster.kudo_bindings().await.is_empty());
    assert!(!cluster.can_list_pods("alice", "other").await);
    ctl.stop().await;
}

/// Many escalations ending in the same second: their bindings are deleted
/// ahead of their status writes (bindings_deleted_ahead counts them), and
/// each still ends as one would alone: EXPIRED, every binding reclaimed and
/// none left, one Expired record each and a GrantReclaimed for its binding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_ending_in_one_second_all_end_as_one_alone() {
    const N: usize = 30;
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let mut policy = pod_reader_policy("read-pods", "1m", json!([]));
    policy["spec"]["maxOpenPerRequestor"] = json!(N);
    cluster.policy(policy).await;
    // Each asks for the duration that ends at the same second (`expiresAt`
    // is the second of acceptance plus the duration): created early in a
    // second, they are accepted within it.
    let at = jiff::Timestamp::now().as_second() + 12;
    let mut names = Vec::new();
    while names.len() < N {
        let now = jiff::Timestamp::now();
        if now.subsec_millisecond() > 600 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let duration = format!("{}s", at - now.as_second());
        let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({"duration": duration})).await.unwrap();
        names.push(esc.name_any());
    }
    let mut same_second = 0;
    for name in &names {
        let ended = cluster.wait(name, "reclaimed", |e| e.is_some_and(all_reclaimed)).await.unwrap();
        let status = ended.status.as_ref().unwrap();
        assert_eq!(status.state, EscalationState::Expired, "{name}: {}", status.state_details);
        same_second += usize::from(status.expires_at.as_ref().unwrap().0.as_second() == at);
    }
    assert!(
        ctl.metrics.deleted_ahead.get() > 0,
        "no binding was deleted ahead ({same_second} of {N} expired in the same second): the test proves nothing"
    );
    assert!(cluster.kudo_bindings().await.is_empty());
    assert!(!cluster.can_list_pods("alice", "app").await);
    for name in &names {
        let count =
            |events: &[(String, String, String)], reason: &str| events.iter().filter(|(r, _, _)| r == reason).count();
        // Events are published off the reconcile's path: wait for them.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut events = cluster.events(name).await;
        while (count(&events, "Expired") == 0 || count(&events, "GrantReclaimed") == 0)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
            events = cluster.events(name).await;
        }
        assert_eq!(count(&events, "Expired"), 1, "{name}: {events:?}");
        assert!(count(&events, "GrantReclaimed") >= 1, "{name}: {events:?}");
    }
    ctl.stop().await;
}

/// A binding the sweep or the reaper listed and that was gone by the time
/// it came to delete it (its own reconcile reclaimed it meanwhile, as under
/// load) is not reported as deleted: no "swept an orphan" warning, no
/// audit record, no reaped count for it. Nor is a namesake made since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_gone_since_the_list_is_not_reported_as_deleted() {
    use kudo::{
        engine::binding::{Binding, Found},
        grants::Grants,
    };
    let cluster = Cluster::new().await;
    let admin = cluster.client("admin").await;
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "late", "namespace": "app",
                     "labels": {"app.kubernetes.io/managed-by": "kudo", "k8s.kudo.dev/escalation": "gone-x7k2p"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pod-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "mallory"}],
    });
    support::create_json(&admin, binding.clone()).await;
    let api: Api<RoleBinding> = Api::namespaced(admin.clone(), "app");
    let listed = Found::of(&Binding::Namespaced(api.get("late").await.unwrap()));
    let grants = Grants::new(admin.clone());
    assert!(grants.delete_found(&listed).await.unwrap(), "this call deleted it");
    assert!(!grants.delete_found(&listed).await.unwrap(), "gone already");
    support::create_json(&admin, binding).await;
    assert!(!grants.delete_found(&listed).await.unwrap(), "a namesake is not the binding listed");
    assert!(api.get_opt("late").await.unwrap().is_some(), "the namesake stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_and_tampered_bindings_are_reclaimed() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let admin = cluster.client("admin").await;

    // A kudo-labelled binding nobody accounts for.
    support::create_json(
        &admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "kudo-ghost-0", "namespace": "app",
                         "labels": {"app.kubernetes.io/managed-by": "kudo", "k8s.kudo.dev/escalation": "ghost"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pod-reader"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "mallory"}],
        }),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while cluster.kudo_bindings().await.contains(&"kudo-ghost-0".to_string()) {
        assert!(tokio::time::Instant::now() < deadline, "the orphan was not swept");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Someone adds themself to a kudo binding: tampering.
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let name = esc.name_any();
    cluster
        .wait(&name, "granted", |e| {
            e.and_then(|e| e.status.as_ref())
                .is_some_and(|s| s.grant_refs.iter().all(|r| r.status == GrantStatus::Created))
        })
        .await;
    let rbs: Api<RoleBinding> = Api::namespaced(admin.clone(), "app");
    let add = json!([{"op": "add", "path": "/subjects/-", "value": {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "mallory"}}]);
    rbs.patch(
        &format!("kudo-{name}-0"),
        &PatchParams::default(),
        &Patch::Json::<()>(serde_json::from_value(add).unwrap()),
    )
    .await
    .unwrap();
    let d = details(&cluster.wait_state(&name, "DENIED").await);
    assert!(d.contains("modified outside kudo") && d.contains("mallory"), "{d}");
    cluster.wait(&name, "reclaimed", |e| e.is_some_and(all_reclaimed)).await;
    assert!(cluster.kudo_bindings().await.is_empty());
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_expiry_reclaims_at_once_and_grants_nothing_again() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "2s", json!([]))).await;
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let name = esc.name_any();
    let granted = cluster
        .wait(&name, "granted", |e| {
            e.and_then(|e| e.status.as_ref())
                .is_some_and(|s| s.grant_refs.iter().all(|r| r.status == GrantStatus::Created))
        })
        .await
        .unwrap();
    let accepted_at = granted.status.as_ref().unwrap().accepted_at.clone();
    ctl.kill();

    // Down across the expiry: the binding outlives it only while no controller runs.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(cluster.kudo_bindings().await.len(), 1);
    let ctl = cluster.start_controller("b").await;
    let expired = cluster
        .wait(&name, "expired and reclaimed", |e| {
            e.is_some_and(|e| {
                e.status.as_ref().is_some_and(|s| s.state == EscalationState::Expired) && all_reclaimed(e)
            })
        })
        .await
        .unwrap();
    assert_eq!(expired.status.unwrap().accepted_at, accepted_at, "acceptance is never reset");
    assert!(cluster.kudo_bindings().await.is_empty());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(cluster.kudo_bindings().await.is_empty(), "nothing is granted again");
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_acts() {
    let cluster = Cluster::new().await;
    let first = cluster.start_controller("first").await;
    // Let the first take the lease before the second starts.
    let leases: Api<Lease> = Api::namespaced(cluster.client("admin").await, "kudo-system");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while leases.get_opt("kudo-controller").await.unwrap().and_then(|l| l.spec?.holder_identity).as_deref()
        != Some("first")
    {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = cluster.start_controller("second").await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    cluster.wait_state(&esc.name_any(), "ACCEPTED").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let instances: Vec<String> = cluster.events(&esc.name_any()).await.into_iter().map(|(_, _, i)| i).collect();
    assert!(!instances.is_empty() && instances.iter().all(|i| i == "first"), "{instances:?}");

    // The leader goes; the standby takes over.
    first.stop().await;
    let esc2 = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    cluster.wait_state(&esc2.name_any(), "ACCEPTED").await;
    let instances: Vec<String> = cluster.events(&esc2.name_any()).await.into_iter().map(|(_, _, i)| i).collect();
    assert!(!instances.is_empty() && instances.iter().all(|i| i == "second"), "{instances:?}");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_rejects_spoofed_identities_and_forged_status() {
    let cluster = Cluster::new().await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let alice: Api<Escalation> = Api::all(cluster.client("alice").await);
    let spoofed = json!({"metadata": {"name": "spoof"}, "spec": {
        "policyName": "read-pods", "requestor": "bob", "requestorGroups": ["admins", "system:authenticated"], "reason": "x"}});
    match alice.create(&PostParams::default(), &serde_json::from_value(spoofed).unwrap()).await.unwrap_err() {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 403);
            assert!(s.message.contains("spec.requestor is bob but you are alice"), "{}", s.message);
        }
        e => panic!("{e}"),
    }
    // Her own escalation, whose status she then tries to forge.
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let forged = json!({"status": {"state": "ACCEPTED", "stateDetails": "trust me"}});
    let err = alice.patch_status(&esc.name_any(), &PatchParams::default(), &Patch::Merge(&forged)).await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 403), "{err}");

    // dave may update escalations (RBAC) but revoking someone else's takes
    // the `revoke` verb, which admission asks the authorizer about.
    let dave: Api<Escalation> = Api::all(cluster.client("dave").await);
    let revoke = json!({"spec": {"revoked": true, "revokedBy": "dave"}});
    match dave.patch(&esc.name_any(), &PatchParams::default(), &Patch::Merge(&revoke)).await.unwrap_err() {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 403);
            assert!(s.message.contains("granted the `revoke` verb"), "{}", s.message);
        }
        e => panic!("{e}"),
    }
    support::create_json(
        &cluster.client("admin").await,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "dave-kudo-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kudo-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "dave"}],
        }),
    )
    .await;
    let revoked = dave.patch(&esc.name_any(), &PatchParams::default(), &Patch::Merge(&revoke)).await.unwrap();
    assert!(revoked.spec.revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_identity_guards_deny_instead_of_trusting_the_request() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let bindings: Api<k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding> =
        Api::all(cluster.client("admin").await);
    bindings.delete("kudo-escalation-identity", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let d = details(&cluster.wait_state(&esc.name_any(), "DENIED").await);
    assert!(d.contains("kudo-escalation-identity") && d.contains("kubectl kudo manifests"), "{d}");
    assert!(cluster.kudo_bindings().await.is_empty());
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dangerous_policies_are_reported_on_their_status() {
    let cluster = Cluster::new().await;
    // The report follows policy writes, not the (here hourly) sweep.
    let mut options = Cluster::controller_options("a");
    options.sweep_interval = Duration::from_secs(3600);
    let ctl = cluster.start_controller_with(options).await;
    support::create_json(
        &cluster.client("admin").await,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "binder"},
            "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]}],
        }),
    )
    .await;
    let mut risky = pod_reader_policy("risky", "10m", json!([]));
    risky["spec"]["target"]["grants"][0]["roleRef"]["name"] = json!("binder");
    cluster.policy(risky).await;
    cluster.policy(pod_reader_policy("safe", "10m", json!([]))).await;
    let policies: Api<EscalationPolicy> = Api::all(cluster.client("admin").await);
    let condition = |p: &EscalationPolicy, t: &str| {
        p.status.as_ref().and_then(|s| s.conditions.iter().find(|c| c.type_ == t).cloned())
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (risky, safe) = loop {
        let (r, s) = (policies.get("risky").await.unwrap(), policies.get("safe").await.unwrap());
        if condition(&r, "DangerousRole").is_some() && condition(&s, "DangerousRole").is_some() {
            break (r, s);
        }
        assert!(tokio::time::Instant::now() < deadline, "no conditions: {r:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let danger = condition(&risky, "DangerousRole").unwrap();
    assert_eq!(danger.status, "True");
    assert!(danger.message.contains("binder"), "{}", danger.message);
    assert_eq!(condition(&safe, "DangerousRole").unwrap().status, "False");
    assert_eq!(condition(&safe, "Ready").unwrap().status, "True");
    ctl.stop().await;
}

/// A free loopback port (bound, then released for the controller to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_reaches_the_webhook_and_metrics_count_everything() {
    use std::sync::{Arc, Mutex};
    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_url = format!("http://{}/hook", sink_listener.local_addr().unwrap());
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            store.lock().unwrap().push(serde_json::from_str(&body).unwrap());
            async { "ok" }
        }),
    );
    tokio::spawn(async move { axum::serve(sink_listener, app).await });

    let cluster = Cluster::new().await;
    let port = free_port();
    let mut options = Cluster::controller_options("a");
    options.listen = Some(([127, 0, 0, 1], port).into());
    options.audit_webhook = Some(kudo::audit::SinkConfig {
        url: kudo::audit::WebhookUrl::parse(&sink_url).unwrap(),
        queue: 100,
        attempts: 3,
        backoff: Duration::from_millis(50),
    });
    let ctl = cluster.start_controller_with(options).await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]);
    cluster.policy(pod_reader_policy("reviewed", "10m", review)).await;
    let esc = cluster.escalate("alice", &["squad-a"], "reviewed", json!({})).await.unwrap();
    let name = esc.name_any();
    cluster.wait_state(&name, "PENDING").await;
    cluster.review("bob", &["admins"], &esc, "APPROVED").await;
    cluster
        .wait(&name, "granted", |e| {
            e.and_then(|e| e.status.as_ref())
                .is_some_and(|s| s.grant_refs.iter().all(|r| r.status == GrantStatus::Created))
        })
        .await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let records = received.lock().unwrap().clone();
        let actions: Vec<(String, String)> = records
            .iter()
            .map(|r| (r["action"].as_str().unwrap().to_string(), r["state"].as_str().unwrap_or_default().to_string()))
            .collect();
        if actions.contains(&("grantCreated".into(), "ACCEPTED".into())) {
            let pending = records.iter().find(|r| r["state"] == "PENDING").expect("a PENDING record");
            assert_eq!(pending["kind"], "kudo.audit");
            assert_eq!(pending["requestor"], "alice");
            assert_eq!(pending["reason"], "debugging, ticket #42");
            let text = pending["text"].as_str().unwrap();
            assert!(text.contains(&format!("kubectl kudo approve {name}")), "reviewers learn what to run: {text}");
            let accepted = records.iter().find(|r| r["state"] == "ACCEPTED" && r["action"] == "transition").unwrap();
            assert_eq!(accepted["reviewers"], json!(["bob"]));
            assert!(accepted["expiresAt"].is_string());
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "records: {actions:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let get = |path: &'static str| async move {
        reqwest::get(format!("http://127.0.0.1:{port}{path}")).await.unwrap().text().await.unwrap()
    };
    assert_eq!(get("/healthz").await, "ok");
    assert_eq!(get("/readyz").await, "ok");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = get("/metrics").await;
        let has = |line: &str| metrics.lines().any(|l| l.starts_with(line));
        if has("kudo_escalations{state=\"ACCEPTED\"} 1") && has("kudo_grants_active 1") {
            assert!(has("kudo_reconciles_total"), "{metrics}");
            assert!(has("kudo_audit_sink_delivered_total"), "{metrics}");
            assert!(has("kudo_revocation_lag_seconds_count"), "{metrics}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ctl.stop().await;
}
