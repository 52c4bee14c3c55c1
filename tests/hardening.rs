//! Issue 10: what an ordinary user (or a careless admin) can do to break
//! kudo's promise, each tried end to end against the fake API server with
//! the real controller. The item numbers are the issue's.

mod support;

use std::time::Duration;

use k8s_openapi::{
    api::{admissionregistration::v1::ValidatingAdmissionPolicyBinding, rbac::v1::RoleBinding},
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use kudo::api::{Escalation, EscalationReview, EscalationState};
use serde_json::{Value, json};
use support::{BOT, Cluster, all_reclaimed, create_json, details, granted, pod_reader_policy};

fn forbidden(result: Result<impl std::fmt::Debug, kube::Error>) -> String {
    match result {
        Err(kube::Error::Api(s)) if s.code == 403 => s.message,
        other => panic!("expected 403 Forbidden, got {other:?}"),
    }
}

/// Strips every CEL rule from a kudo CRD, as an install from before a rule
/// existed would have it: objects written then are still in the cluster.
async fn relax_crd(cluster: &Cluster, name: &str) {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("x-kubernetes-validations");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client("admin").await);
    let mut crd = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
    strip(&mut crd["spec"]["versions"]);
    api.replace(name, &PostParams::default(), &serde_json::from_value(crd).unwrap()).await.unwrap();
}

/// 1. Durations the controller cannot handle deny the one escalation; the
/// controller keeps working for everyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item01_huge_durations_deny_and_never_stop_the_controller() {
    let cluster = Cluster::new().await;
    relax_crd(&cluster, "escalations.k8s.kudo.dev").await;
    relax_crd(&cluster, "escalationpolicies.k8s.kudo.dev").await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let mut slow = pod_reader_policy("huge-timeout", "10m", json!([]));
    slow["spec"]["pendingTimeout"] = json!("99999999999999999999h");
    cluster.policy(slow).await;

    let mut names = Vec::new();
    for huge in ["99999999999999999999h", "2562048h", "9223372036854775808ns", "8761h"] {
        let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({"duration": huge})).await.unwrap();
        names.push((esc.name_any(), huge));
    }
    let timeout = cluster.escalate("alice", &["squad-a"], "huge-timeout", json!({})).await.unwrap();
    for (name, huge) in names {
        let d = details(&cluster.wait_state(&name, "DENIED").await);
        assert!(d.contains("8760h"), "{huge}: {d}");
    }
    let d = details(&cluster.wait_state(&timeout.name_any(), "DENIED").await);
    assert!(d.contains("pendingTimeout") && d.contains("ask an admin"), "{d}");

    // Still alive: the next ordinary request is granted.
    let ok = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    cluster.wait(&ok.name_any(), "granted", granted).await;
    assert!(cluster.kudo_bindings().await.len() == 1);
    ctl.stop().await;
}

/// 2. A kudo-labelled binding with an empty escalation label does not stop
/// the sweep: it is swept, and so are the orphans after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item02_one_bad_label_does_not_stop_the_sweep() {
    let cluster = Cluster::new().await;
    let admin = cluster.client("admin").await;
    let labelled =
        |escalation: &str| json!({"app.kubernetes.io/managed-by": "kudo", "k8s.kudo.dev/escalation": escalation});
    let role = json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pod-reader"});
    let subjects = json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "mallory"}]);
    for (name, label) in [("poison", ""), ("bad-name", "Not_A_Name")] {
        create_json(
            &admin,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": "app", "labels": labelled(label)},
                "roleRef": role, "subjects": subjects,
            }),
        )
        .await;
    }
    create_json(
        &admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "orphan", "labels": labelled("gone-x7k2p")},
            "roleRef": role, "subjects": subjects,
        }),
    )
    .await;
    let ctl = cluster.start_controller("a").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cluster.kudo_bindings().await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "left behind: {:?}", cluster.kudo_bindings().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ctl.stop().await;
}

/// 3. Another kudo-user cannot touch the metadata of someone's escalation
/// or review (finalizers, labels, annotations, ownerReferences); the
/// requestor can still revoke, and kudo-admin can clean up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item03_metadata_of_escalations_and_reviews_is_the_controllers() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}], "minApprovals": 2}]);
    cluster.policy(pod_reader_policy("read-pods", "10m", review)).await;
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let name = esc.name_any();
    let esc = cluster.wait(&name, "finalized", |e| e.is_some_and(|e| !e.finalizers().is_empty())).await.unwrap();

    let as_bob: Api<Escalation> = Api::all(cluster.client("bob").await);
    let as_alice: Api<Escalation> = Api::all(cluster.client("alice").await);
    let pp = PatchParams::default();
    let attacks = [
        json!({"metadata": {"finalizers": null}}),
        json!({"metadata": {"labels": {"owned": "by-bob"}}}),
        json!({"metadata": {"annotations": {"note": "x"}}}),
        json!({"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": "00000000-0000-0000-0000-000000000000"}]}}),
    ];
    for attack in &attacks {
        let msg = forbidden(as_bob.patch(&name, &pp, &Patch::Merge(attack)).await);
        assert!(msg.contains("only the kudo controller"), "{msg}");
        forbidden(as_alice.patch(&name, &pp, &Patch::Merge(attack)).await);
    }
    let after = cluster.get(&name).await.unwrap();
    assert_eq!(after.finalizers(), esc.finalizers());
    assert!(after.owner_references().is_empty() && after.labels().is_empty());

    // A review is the controller's too once written.
    let r = cluster.review("bob", &["admins"], &esc, "APPROVED").await;
    let reviews: Api<EscalationReview> = Api::all(cluster.client("bob").await);
    forbidden(reviews.patch(&r.name_any(), &pp, &Patch::Merge(&attacks[1])).await);

    // The requestor still revokes (spec only), and an admin may clean up.
    let revoke = json!({"spec": {"revoked": true, "revokedBy": "alice"}});
    as_alice.patch(&name, &pp, &Patch::Merge(&revoke)).await.unwrap();
    cluster.wait_state(&name, "EXPIRED").await;
    // kudo-admin (the edit-metadata verb) may clean up; a cluster-admin too.
    create_json(&cluster.client("admin").await, json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "dave-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kudo-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "dave"}],
    }))
    .await;
    let as_dave: Api<Escalation> = Api::all(cluster.client("dave").await);
    as_dave.patch(&name, &pp, &Patch::Merge(&attacks[1])).await.unwrap();
    let admin: Api<Escalation> = Api::all(cluster.client("admin").await);
    admin.patch(&name, &pp, &Patch::Merge(&attacks[2])).await.unwrap();
    ctl.stop().await;
}

/// 4. A foreign finalizer on a granted binding does not keep it alive:
/// reclaim removes it and is recorded only once the binding is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item04_foreign_finalizer_does_not_keep_a_binding() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let name = esc.name_any();
    cluster.wait(&name, "granted", granted).await;
    let binding = format!("kudo-{name}-0");
    let rbs: Api<RoleBinding> = Api::namespaced(cluster.client("admin").await, "app");
    let hold = json!({"metadata": {"finalizers": ["example.com/hold"]}});
    rbs.patch(&binding, &PatchParams::default(), &Patch::Merge(&hold)).await.unwrap();

    let as_alice: Api<Escalation> = Api::all(cluster.client("alice").await);
    let revoke = json!({"spec": {"revoked": true, "revokedBy": "alice"}});
    as_alice.patch(&name, &PatchParams::default(), &Patch::Merge(&revoke)).await.unwrap();
    cluster.wait(&name, "reclaimed", |e| e.is_some_and(all_reclaimed)).await;
    assert!(rbs.get_opt(&binding).await.unwrap().is_none(), "RECLAIMED while the binding still exists");
    assert!(!cluster.can_list_pods("alice", "app").await);
    ctl.stop().await;
}

/// 5. A ServiceAccount is not admitted by `system:authenticated`, so a user
/// cannot escalate as a token they minted and approve it as themself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item05_service_accounts_are_not_admitted_by_generic_groups() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let mut policy = pod_reader_policy(
        "read-pods",
        "10m",
        json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "system:authenticated"}]}]),
    );
    policy["spec"]["subjects"] = json!([{"kind": "Group", "name": "system:authenticated"}]);
    cluster.policy(policy).await;
    let sa_groups = ["system:serviceaccounts", "system:serviceaccounts:app"];
    let esc = cluster.escalate(BOT, &sa_groups, "read-pods", json!({})).await.unwrap();
    let d = details(&cluster.wait_state(&esc.name_any(), "DENIED").await);
    assert!(d.contains("may not use policy read-pods"), "{d}");

    // Admitted explicitly, it still cannot be approved through system:authenticated.
    let mut policy = pod_reader_policy(
        "for-bots",
        "10m",
        json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "system:authenticated"}]}]),
    );
    policy["spec"]["subjects"] = json!([{"kind": "ServiceAccount", "name": "bot", "namespace": "app"}]);
    cluster.policy(policy).await;
    let esc = cluster.escalate(BOT, &sa_groups, "for-bots", json!({})).await.unwrap();
    cluster.wait_state(&esc.name_any(), "PENDING").await;
    ctl.stop().await;
}

/// 6. Writing a policy needs `bind` on each role and `create` on the binding
/// kind (per allowed namespace for RoleBindings), as creating it would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item06_policy_authors_need_create_on_the_binding_kind() {
    let cluster = Cluster::new().await;
    let admin = cluster.client("admin").await;
    create_json(&admin, json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "policy-writer"},
        "rules": [
            {"apiGroups": ["k8s.kudo.dev"], "resources": ["escalationpolicies"], "verbs": ["create", "update", "get"]},
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"], "resourceNames": ["pod-reader"]},
        ],
    }))
    .await;
    create_json(&admin, json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "paula-writes"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "policy-writer"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "paula"}],
    }))
    .await;
    let policies: Api<kudo::api::EscalationPolicy> = Api::all(cluster.client("paula").await);
    let write = |name: &str, allowed: Value, crb: bool| {
        let mut p = pod_reader_policy(name, "10m", json!([]));
        p["spec"]["target"]["grants"][0]["allowedNamespaces"] = allowed;
        if crb {
            p["spec"]["target"]["grants"] = json!([{"kind": "KubernetesClusterRoleBinding", "roleRef": {"kind": "ClusterRole", "name": "pod-reader"}}]);
        }
        serde_json::from_value::<kudo::api::EscalationPolicy>(p).unwrap()
    };
    let msg = forbidden(policies.create(&PostParams::default(), &write("p1", json!(["app"]), false)).await);
    assert!(msg.contains("may not create RoleBindings"), "{msg}");

    // create rolebindings in app only: a policy for app passes, app+other does not.
    create_json(&admin, json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "paula-binds", "namespace": "app"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit-bindings"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "paula"}],
    }))
    .await;
    create_json(
        &admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "edit-bindings"},
            "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]}],
        }),
    )
    .await;
    policies.create(&PostParams::default(), &write("p2", json!(["app"]), false)).await.unwrap();
    forbidden(policies.create(&PostParams::default(), &write("p3", json!(["app", "other"]), false)).await);
    // Each namespace costs an authorizer check; past what one CEL expression
    // may spend, the guard denies with its own words (a real API server would
    // otherwise stop the expression with "cost limit exceeded", 422).
    let msg =
        forbidden(policies.create(&PostParams::default(), &write("p5", json!(["app", "other", "x"]), false)).await);
    assert!(msg.contains("a grant may list at most 2 namespaces"), "{msg}");
    let msg = forbidden(policies.create(&PostParams::default(), &write("p4", json!([]), true)).await);
    assert!(msg.contains("may not create ClusterRoleBindings"), "{msg}");
}

/// 7. Guards are checked for what they enforce, not by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item07_guards_are_checked_for_what_they_enforce() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let bindings: Api<ValidatingAdmissionPolicyBinding> = Api::all(cluster.client("admin").await);
    let pp = PatchParams::default();
    let deny = json!({"spec": {"validationActions": ["Deny"]}});
    let attempts = [
        ("kudo-escalation-identity", json!({"spec": {"validationActions": ["Audit"]}}), deny.clone()),
        (
            "kudo-status-writer",
            json!({"spec": {"policyName": "something-else"}}),
            json!({"spec": {"policyName": "kudo-status-writer"}}),
        ),
        (
            "kudo-metadata-guard",
            json!({"spec": {"matchResources": {"objectSelector": {"matchLabels": {"x": "y"}}}}}),
            json!({"spec": {"matchResources": null}}),
        ),
    ];
    for (guard, weaken, restore) in attempts {
        bindings.patch(guard, &pp, &Patch::Merge(&weaken)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
        let d = details(&cluster.wait_state(&esc.name_any(), "DENIED").await);
        assert!(d.contains(guard) && d.contains("kubectl kudo manifests"), "{guard}: {d}");
        bindings.patch(guard, &pp, &Patch::Merge(&restore)).await.unwrap();
    }
    // kudo-policy-bind is a guard too.
    bindings.delete("kudo-policy-bind", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let d = details(&cluster.wait_state(&esc.name_any(), "DENIED").await);
    assert!(d.contains("kudo-policy-bind"), "{d}");
    assert!(cluster.kudo_bindings().await.is_empty());
    ctl.stop().await;
}

/// 8. A deleted review stops counting at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item08_a_deleted_review_stops_counting() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.allow_reviewing("dave").await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}, {"kind": "User", "name": "dave"}], "minApprovals": 2}]);
    cluster.policy(pod_reader_policy("read-pods", "10m", review)).await;
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let name = esc.name_any();
    cluster.wait_state(&name, "PENDING").await;
    let bobs = cluster.review("bob", &["admins"], &esc, "APPROVED").await;
    cluster
        .wait(&name, "counting bob", |e| {
            e.and_then(|e| e.status.as_ref()).is_some_and(|s| s.challenges.iter().any(|c| c.approved_by == ["bob"]))
        })
        .await;
    let reviews: Api<EscalationReview> = Api::all(cluster.client("admin").await);
    reviews.delete(&bobs.name_any(), &DeleteParams::default()).await.unwrap();
    cluster
        .wait(&name, "no longer counting bob", |e| {
            e.and_then(|e| e.status.as_ref()).is_some_and(|s| s.challenges.iter().all(|c| c.approved_by.is_empty()))
        })
        .await;
    cluster.review("carol", &["admins"], &esc, "APPROVED").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(cluster.get(&name).await.unwrap().state(), Some(EscalationState::Pending), "one approval of two");
    cluster.review("dave", &[], &esc, "APPROVED").await;
    cluster.wait_state(&name, "ACCEPTED").await;
    ctl.stop().await;
}

/// 9. Control characters a requestor slipped in (under an older CRD) never
/// reach a reviewer's terminal raw: status, list -o wide, the approve prompt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item09_control_characters_are_escaped_everywhere_they_are_shown() {
    let cluster = Cluster::new().await;
    relax_crd(&cluster, "escalations.k8s.kudo.dev").await;
    let ctl = cluster.start_controller("a").await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]);
    cluster.policy(pod_reader_policy("read-pods", "10m", review)).await;
    let hostile = "fine\u{1b}[2J\u{1b}[H\u{7}APPROVED BY SECURITY\u{202e}";
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({"reason": hostile})).await.unwrap();
    let name = esc.name_any();
    cluster.wait_state(&name, "PENDING").await;
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
            .arg("--kubeconfig")
            .arg(cluster.kubeconfig_path())
            .args(["--context", "bob"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    for shown in [run(&["status", &name]), run(&["list", "-A", "-o", "wide"]), run(&["approve", &name, "--yes"])] {
        assert!(shown.contains("fine"), "{shown}");
        assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}') && !shown.contains('\u{202e}'), "{shown:?}");
        assert!(shown.contains("\\u{1b}"), "escaped, not dropped: {shown}");
    }
    // The audit text too (what a Slack-compatible sink shows).
    let events = cluster.events(&name).await;
    assert!(events.iter().all(|(_, note, _)| !note.contains('\u{1b}')), "{events:?}");
    ctl.stop().await;
}

/// 10. Reviews received (counted or not, and why) and deletions are audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item10_reviews_and_deletions_are_audited() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.allow_reviewing("dave").await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}], "minApprovals": 2}]);
    cluster.policy(pod_reader_policy("read-pods", "10m", review)).await;
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let name = esc.name_any();
    cluster.wait_state(&name, "PENDING").await;
    cluster.review("dave", &[], &esc, "APPROVED").await;
    cluster.review("bob", &["admins"], &esc, "APPROVED").await;
    let wait_events = |want: &'static [&'static str]| {
        let cluster = &cluster;
        let name = name.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                let events = cluster.events(&name).await;
                if want.iter().all(|w| events.iter().any(|(r, _, _)| r == w)) {
                    return events;
                }
                assert!(tokio::time::Instant::now() < deadline, "no {want:?} in {events:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let events = wait_events(&["ReviewIgnored", "ReviewCounted"]).await;
    let note = |reason: &str| events.iter().find(|(r, _, _)| r == reason).unwrap().1.clone();
    assert!(note("ReviewIgnored").contains("dave") && note("ReviewIgnored").contains("not an eligible reviewer"));
    assert!(note("ReviewCounted").contains("bob"), "{}", note("ReviewCounted"));

    let api: Api<Escalation> = Api::all(cluster.client("admin").await);
    api.delete(&name, &DeleteParams::default()).await.unwrap();
    wait_events(&["Deleted"]).await;
    ctl.stop().await;
}

/// 11. maxOpenPerRequestor (default 1) and retention of finished escalations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item11_open_escalations_are_limited_and_finished_ones_retired() {
    let cluster = Cluster::new().await;
    let mut options = Cluster::controller_options("a");
    options.retain_finished = jiff::SignedDuration::from_secs(2);
    let ctl = cluster.start_controller_with(options).await;
    let mut policy = pod_reader_policy("read-pods", "10m", json!([]));
    policy["spec"].as_object_mut().unwrap().remove("maxOpenPerRequestor");
    cluster.policy(policy).await;
    let first = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    cluster.wait(&first.name_any(), "granted", granted).await;
    let second = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let d = details(&cluster.wait_state(&second.name_any(), "DENIED").await);
    assert!(d.contains(&first.name_any()) && d.contains("maxOpenPerRequestor 1"), "{d}");

    // Retention: the DENIED one goes after 2s, with an audit record first.
    cluster.wait(&second.name_any(), "retired", |e| e.is_none()).await;
    let events = cluster.events(&second.name_any()).await;
    assert!(events.iter().any(|(r, _, _)| r == "RetentionDeleted"), "{events:?}");
    assert!(cluster.get(&first.name_any()).await.is_some(), "the active one stays");
    ctl.stop().await;
}

/// 12. A grant that can never be created denies at once and reclaims the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item12_a_grant_into_a_missing_namespace_denies_and_reclaims() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let mut policy = pod_reader_policy("read-pods", "10m", json!([]));
    policy["spec"]["target"]["grants"] = json!([
        {"kind": "KubernetesClusterRoleBinding", "roleRef": {"kind": "ClusterRole", "name": "pod-reader"}},
        {"kind": "KubernetesRoleBinding", "defaultNamespace": "no-such-ns", "roleRef": {"kind": "ClusterRole", "name": "pod-reader"}},
    ]);
    cluster.policy(policy).await;
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let denied = cluster.wait_state(&esc.name_any(), "DENIED").await;
    let d = details(&denied);
    assert!(d.contains("no-such-ns") && d.contains("pod-reader"), "{d}");
    cluster.wait(&esc.name_any(), "reclaimed", |e| e.is_some_and(all_reclaimed)).await;
    assert!(cluster.kudo_bindings().await.is_empty());
    ctl.stop().await;
}

/// 13. A PENDING ref (no UID yet) never deletes a foreign binding that
/// happens to hold kudo's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item13_a_pending_ref_never_deletes_a_foreign_namesake() {
    let cluster = Cluster::new().await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let admin = cluster.client("admin").await;
    create_json(
        &admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "kudo-squatted-0", "namespace": "app"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pod-reader"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "carol"}],
        }),
    )
    .await;
    let ctl = cluster.start_controller("a").await;
    cluster.escalate_named("alice", &["squad-a"], "read-pods", Some("squatted"), json!({})).await.unwrap();
    let denied = cluster.wait_state("squatted", "DENIED").await;
    assert!(details(&denied).contains("kudo-squatted-0"), "{}", details(&denied));
    cluster.wait("squatted", "settled", |e| e.is_some_and(all_reclaimed)).await;
    let rbs: Api<RoleBinding> = Api::namespaced(admin.clone(), "app");
    assert!(rbs.get_opt("kudo-squatted-0").await.unwrap().is_some(), "carol's binding was deleted by name");
    ctl.stop().await;
}

/// Second line of defence: with the controller down, `kubectl kudo reap` as
/// the kudo-reaper ServiceAccount removes an expired binding; the restarted
/// controller then records EXPIRED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaper_holds_expiry_while_the_controller_is_down() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "3s", json!([]))).await;
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let name = esc.name_any();
    cluster.wait(&name, "granted", granted).await;
    let rb: RoleBinding =
        Api::namespaced(cluster.client("admin").await, "app").get(&format!("kudo-{name}-0")).await.unwrap();
    assert!(rb.annotations().contains_key("k8s.kudo.dev/expires-at"), "{rb:?}");
    ctl.kill();
    let reap = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
            .arg("--kubeconfig")
            .arg(cluster.kubeconfig_path())
            .args(["--context", "admin", "--as", "system:serviceaccount:kudo-system:kudo-reaper", "reap"])
            .output()
            .unwrap()
    };
    let early = reap();
    assert!(early.status.success(), "{}", String::from_utf8_lossy(&early.stderr));
    assert_eq!(cluster.kudo_bindings().await.len(), 1, "not expired yet: kept");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(cluster.can_list_pods("alice", "app").await, "still granted: the controller is down");
    let out = reap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("expired at"), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(cluster.kudo_bindings().await.is_empty());
    assert!(!cluster.can_list_pods("alice", "app").await);

    let ctl = cluster.start_controller("b").await;
    cluster.wait_state(&name, "EXPIRED").await;
    cluster.wait(&name, "reclaimed", |e| e.is_some_and(all_reclaimed)).await;
    ctl.stop().await;
}

/// Found by the chaos soak: a status write that committed while its answer
/// was lost (a 504 after commit), or a crash right after it, left the
/// transition without an audit record. Now status says which state was last
/// audited, and the next reconcile records any state that was not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transition_whose_record_was_lost_is_recorded_by_the_next_reconcile() {
    let cluster = Cluster::new().await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let ctl = cluster.start_controller("a").await;
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    let name = esc.name_any();
    let granted_esc = cluster.wait(&name, "granted", granted).await.unwrap();
    assert_eq!(granted_esc.status.as_ref().unwrap().audited_state, Some(EscalationState::Accepted));
    ctl.stop().await;

    // As if the controller wrote DENIED and died before its audit record.
    let mut status = granted_esc.status.clone().unwrap();
    status.state = EscalationState::Denied;
    status.state_details = "written before a crash".into();
    let as_controller: Api<Escalation> = Api::all(cluster.client(support::SA).await);
    let patch = json!({"status": status});
    as_controller.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    assert!(!cluster.events(&name).await.iter().any(|(r, _, _)| r == "Denied"));

    let ctl = cluster.start_controller("b").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cluster.events(&name).await.iter().any(|(r, _, _)| r == "Denied") {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", cluster.events(&name).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let settled = cluster
        .wait(&name, "marked audited and reclaimed", |e| {
            e.and_then(|e| e.status.as_ref()).is_some_and(|s| s.audited_state == Some(EscalationState::Denied))
                && e.is_some_and(all_reclaimed)
        })
        .await
        .unwrap();
    assert_eq!(settled.state(), Some(EscalationState::Denied));
    assert!(cluster.kudo_bindings().await.is_empty());
    let denied = cluster.events(&name).await.into_iter().filter(|(r, _, _)| r == "Denied").count();
    assert_eq!(denied, 1, "recorded once");
    ctl.stop().await;
}
