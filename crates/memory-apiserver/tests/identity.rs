//! Users, RBAC, impersonation and the review APIs, through kube-rs and kubectl.

use std::process::Command;

use k8s_openapi::api::{
    authentication::v1::SelfSubjectReview,
    authorization::v1::SubjectAccessReview,
    core::v1::Pod,
    rbac::v1::{ClusterRole, RoleBinding},
};
use kube::{
    Api, Error,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use memory_apiserver::{Account, MemoryApiServer};
use serde_json::json;

async fn cluster() -> MemoryApiServer {
    MemoryApiServer::start(vec![Account::new("alice", &["squad-a"]), Account::new("bob", &["admins"])]).await.unwrap()
}

fn kubectl(fake: &MemoryApiServer, args: &[&str]) -> (bool, String) {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(fake.kubeconfig_path())
        .args(args)
        .output()
        .expect("kubectl runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

async fn grant_pod_reader(fake: &MemoryApiServer) {
    let admin = fake.client("admin").await;
    let roles: Api<ClusterRole> = Api::all(admin.clone());
    roles
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "pod-reader"},
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let rbs: Api<RoleBinding> = Api::namespaced(admin, "default");
    rbs.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "alice-reads-pods"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pod-reader"},
            "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}],
        }))
        .unwrap(),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn alice_is_forbidden_until_a_rolebinding_exists() {
    let fake = cluster().await;
    let pods: Api<Pod> = Api::namespaced(fake.client("alice").await, "default");
    match pods.list(&ListParams::default()).await.unwrap_err() {
        Error::Api(s) => {
            assert_eq!(s.code, 403);
            assert_eq!(s.reason, "Forbidden");
            assert!(s.message.contains("User \"alice\" cannot list resource \"pods\""), "{}", s.message);
        }
        e => panic!("{e}"),
    }
    let (ok, out) = kubectl(&fake, &["--context", "alice", "auth", "can-i", "get", "pods", "-n", "default"]);
    assert!(!ok && out.trim() == "no", "{out}");

    grant_pod_reader(&fake).await;

    assert!(pods.list(&ListParams::default()).await.unwrap().items.is_empty());
    let (ok, out) = kubectl(&fake, &["--context", "alice", "auth", "can-i", "get", "pods", "-n", "default"]);
    assert!(ok && out.trim() == "yes", "{out}");
    // Only there, and only reading.
    let (ok, _) = kubectl(&fake, &["--context", "alice", "auth", "can-i", "get", "pods", "-n", "kube-system"]);
    assert!(!ok);
    let (ok, _) = kubectl(&fake, &["--context", "alice", "auth", "can-i", "delete", "pods", "-n", "default"]);
    assert!(!ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_tokens_are_unauthorized() {
    let fake = cluster().await;
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(fake.kubeconfig_path())
        .args(["--token", "wrong", "get", "pods"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("You must be logged in to the server"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn self_subject_review_and_impersonation() {
    let fake = cluster().await;
    let (ok, out) = kubectl(&fake, &["--context", "alice", "auth", "whoami", "-o", "json"]);
    assert!(ok, "{out}");
    let review: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(review["status"]["userInfo"]["username"], "alice");
    assert_eq!(review["status"]["userInfo"]["groups"], json!(["squad-a", "system:authenticated"]));

    // Through kube-rs too.
    let reviews: Api<SelfSubjectReview> = Api::all(fake.client("bob").await);
    let r = reviews.create(&PostParams::default(), &SelfSubjectReview::default()).await.unwrap();
    assert_eq!(r.status.unwrap().user_info.unwrap().username.as_deref(), Some("bob"));

    // Admin may impersonate; alice may not.
    let (ok, out) = kubectl(&fake, &["auth", "whoami", "--as", "carol", "--as-group", "ops", "-o", "json"]);
    assert!(ok, "{out}");
    let who: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(who["status"]["userInfo"]["username"], "carol");
    assert_eq!(who["status"]["userInfo"]["groups"], json!(["ops", "system:authenticated"]));
    let kubeconfig = kube::config::Kubeconfig::read_from(fake.kubeconfig_path()).unwrap();
    let options = kube::config::KubeConfigOptions { context: Some("alice".into()), ..Default::default() };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.unwrap();
    config.auth_info.impersonate = Some("bob".into());
    let pods: Api<Pod> = Api::namespaced(kube::Client::try_from(config).unwrap(), "default");
    match pods.list(&ListParams::default()).await.unwrap_err() {
        Error::Api(s) => assert_eq!(
            s.message,
            r#"users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope"#
        ),
        e => panic!("{e}"),
    }
    let (ok, out) =
        kubectl(&fake, &["auth", "whoami", "--as", "system:serviceaccount:kudo-system:kudo-controller", "-o", "json"]);
    assert!(ok, "{out}");
    assert!(out.contains("system:serviceaccounts:kudo-system"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn subject_access_review_uses_the_same_rbac() {
    let fake = cluster().await;
    grant_pod_reader(&fake).await;
    let sar = |user: &str, verb: &str| -> SubjectAccessReview {
        serde_json::from_value(json!({"spec": {"user": user, "groups": ["system:authenticated"],
            "resourceAttributes": {"namespace": "default", "verb": verb, "resource": "pods"}}}))
        .unwrap()
    };
    let admin: Api<SubjectAccessReview> = Api::all(fake.client("admin").await);
    let allowed = |r: SubjectAccessReview| r.status.unwrap().allowed;
    assert!(allowed(admin.create(&PostParams::default(), &sar("alice", "get")).await.unwrap()));
    assert!(!allowed(admin.create(&PostParams::default(), &sar("alice", "delete")).await.unwrap()));
    assert!(!allowed(admin.create(&PostParams::default(), &sar("bob", "get")).await.unwrap()));
    // Asking needs permission itself.
    let alice: Api<SubjectAccessReview> = Api::all(fake.client("alice").await);
    assert!(alice.create(&PostParams::default(), &sar("alice", "get")).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn binding_a_role_needs_bind_or_its_permissions() {
    let fake = cluster().await;
    let admin = fake.client("admin").await;
    // alice may manage RoleBindings in default, nothing else.
    let roles: Api<ClusterRole> = Api::all(admin.clone());
    roles
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": "binder"},
            "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create", "get", "list"]}],
        })).unwrap())
        .await
        .unwrap();
    let rbs: Api<RoleBinding> = Api::namespaced(admin.clone(), "default");
    rbs.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "alice-binder"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "binder"},
            "subjects": [{"kind": "User", "name": "alice"}],
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let alice_rbs: Api<RoleBinding> = Api::namespaced(fake.client("alice").await, "default");
    let escalate: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "alice-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "User", "name": "alice"}],
    }))
    .unwrap();
    match alice_rbs.create(&PostParams::default(), &escalate).await.unwrap_err() {
        Error::Api(s) => assert!(s.code == 403 && s.message.contains("not currently held"), "{}", s.message),
        e => panic!("{e}"),
    }
    // With `bind` on that role, it is allowed (this is how kudo's controller grants).
    roles
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": "bind-cluster-admin"},
            "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"], "resourceNames": ["cluster-admin"]}],
        })).unwrap())
        .await
        .unwrap();
    rbs.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "alice-may-bind"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "bind-cluster-admin"},
            "subjects": [{"kind": "User", "name": "alice"}],
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    alice_rbs.create(&PostParams::default(), &escalate).await.unwrap();
    // roleRef is immutable.
    let mut changed = rbs.get("alice-admin").await.unwrap();
    changed.role_ref.name = "binder".into();
    assert!(
        matches!(rbs.replace("alice-admin", &PostParams::default(), &changed).await, Err(Error::Api(s)) if s.code == 422)
    );
}

/// As Kubernetes' `IsOnlyMutatingGCFields`: an update that changes only
/// finalizers or ownerReferences skips the escalation check, so a user who
/// may patch bindings can remove a finalizer from one whose role they do
/// not hold, but still not change what it grants.
#[tokio::test(flavor = "multi_thread")]
async fn removing_a_bindings_finalizer_needs_no_rights_over_its_role() {
    let fake = cluster().await;
    let admin = fake.client("admin").await;
    let roles: Api<ClusterRole> = Api::all(admin.clone());
    roles
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": "patcher"},
            "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["patch"]}],
        })).unwrap())
        .await
        .unwrap();
    let rbs: Api<RoleBinding> = Api::namespaced(admin.clone(), "default");
    for (name, role, subject, finalizers) in [
        ("alice-patches", "patcher", "alice", json!([])),
        ("held", "cluster-admin", "bob", json!(["example.com/hold"])),
    ] {
        rbs.create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": name, "finalizers": finalizers},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "User", "name": subject}],
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    }
    let alice_rbs: Api<RoleBinding> = Api::namespaced(fake.client("alice").await, "default");
    let regrant = Patch::Merge(json!({"subjects": [{"kind": "User", "name": "alice"}]}));
    match alice_rbs.patch("held", &PatchParams::default(), &regrant).await.unwrap_err() {
        Error::Api(s) => assert!(s.code == 403 && s.message.contains("not currently held"), "{}", s.message),
        e => panic!("{e}"),
    }
    let strip = Patch::Merge(json!({"metadata": {"finalizers": null}}));
    let stripped = alice_rbs.patch("held", &PatchParams::default(), &strip).await.unwrap();
    assert_eq!(stripped.metadata.finalizers, None);
}
