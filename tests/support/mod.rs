//! A fake cluster with kudo installed, its users, and the controller running
//! in-process as its ServiceAccount, for end-to-end tests.
#![allow(dead_code)]

pub mod dashboard;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use k8s_openapi::api::{
    core::v1::{Namespace, Pod},
    rbac::v1::ClusterRole,
};
use kube::{
    Api, Client, ResourceExt,
    api::{DynamicObject, ListParams, PostParams},
};
use kudo::{
    api::{Escalation, EscalationPolicy, EscalationReview, EscalationState, GrantStatus},
    controller, manifests,
};
use memory_apiserver::{Account, MemoryApiServer};
use serde_json::{Value, json};
use tokio::{sync::oneshot, task::JoinHandle};

pub const SA: &str = "system:serviceaccount:kudo-system:kudo-controller";
pub const SA_GROUPS: &[&str] = &["system:serviceaccounts", "system:serviceaccounts:kudo-system"];
pub const BOT: &str = "system:serviceaccount:app:bot";

/// Which API server the end-to-end tests run on: `KUDO_TEST_APISERVER=real`
/// (the default: kudo-testenv, a real kube-apiserver) or `fake` (the
/// in-process fake). Tests that need fault injection ask for the fake by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Real,
    Fake,
}

impl BackendKind {
    pub fn from_env() -> Self {
        match std::env::var("KUDO_TEST_APISERVER").as_deref() {
            Ok("fake") => Self::Fake,
            Ok("real") | Err(_) => Self::Real,
            Ok(other) => panic!("KUDO_TEST_APISERVER={other}: use real or fake"),
        }
    }
}

pub enum Backend {
    Real(testenv::Testenv),
    Fake(MemoryApiServer),
}

/// The users every test cluster has, besides `admin`.
pub const USERS: &[(&str, &[&str])] = &[
    ("alice", &["squad-a"]),
    ("bob", &["admins"]),
    ("carol", &["admins"]),
    ("dave", &[]),
    // A policy author with only the rights a test gives her.
    ("paula", &[]),
    // A ServiceAccount a user could mint a token for.
    (BOT, &["system:serviceaccounts", "system:serviceaccounts:app"]),
    (SA, SA_GROUPS),
];

impl Backend {
    pub async fn start(kind: BackendKind, users: &[(&str, &[&str])]) -> Self {
        match kind {
            BackendKind::Real => Self::Real(testenv::Testenv::start(users).await.unwrap_or_else(|e| panic!("{e}"))),
            BackendKind::Fake => Self::Fake(
                MemoryApiServer::start(users.iter().map(|(name, groups)| Account::new(name, groups)).collect())
                    .await
                    .expect("fake starts"),
            ),
        }
    }

    pub fn kind(&self) -> BackendKind {
        match self {
            Self::Real(_) => BackendKind::Real,
            Self::Fake(_) => BackendKind::Fake,
        }
    }

    /// A kubeconfig with one context per user, named by username.
    pub fn kubeconfig_path(&self) -> PathBuf {
        match self {
            Self::Real(env) => env.kubeconfig_path().to_path_buf(),
            Self::Fake(fake) => fake.kubeconfig_path(),
        }
    }

    pub fn url(&self) -> String {
        match self {
            Self::Real(env) => env.url().unwrap_or_else(|e| panic!("{e}")),
            Self::Fake(fake) => fake.url(),
        }
    }

    /// A scratch directory that lives as long as the cluster.
    pub fn dir(&self) -> &Path {
        match self {
            Self::Real(env) => env.dir(),
            Self::Fake(fake) => fake.dir(),
        }
    }

    pub async fn client(&self, user: &str) -> Client {
        match self {
            Self::Real(env) => env.client(user).await.unwrap_or_else(|e| panic!("client for {user}: {e}")),
            Self::Fake(fake) => fake.client(user).await,
        }
    }

    /// Real ServiceAccounts get real tokens once their namespace exists;
    /// the fake knows them from the start.
    async fn add_service_accounts(&self, users: &[(&str, &[&str])]) {
        if let Self::Real(env) = self {
            for (name, _) in users.iter().filter(|(n, _)| testenv::is_service_account(n)) {
                env.add_service_account(name).await.unwrap_or_else(|e| panic!("token for {name}: {e}"));
            }
        }
    }
}

pub struct Cluster {
    pub api: Backend,
}

pub struct RunningController {
    pub identity: String,
    pub metrics: Arc<controller::Metrics>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), controller::RunError>>,
}

impl RunningController {
    /// Graceful stop: finishes in-flight work and releases the Lease.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }

    /// Whether the controller has stopped (crashed or returned).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// A crash: the task is dropped mid-flight, nothing is released.
    pub fn kill(self) {
        self.task.abort();
    }
}

impl Cluster {
    /// kudo installed (CRDs, RBAC, admission policies), namespaces `app` and
    /// `other`, a `pod-reader` ClusterRole, users alice (squad-a), bob and
    /// carol (admins), dave (nobody), and the controller's ServiceAccount,
    /// on the backend `KUDO_TEST_APISERVER` names.
    pub async fn new() -> Self {
        Self::on(BackendKind::from_env()).await
    }

    /// As [`Self::new`], on the fake: for tests that inject faults.
    pub async fn fake_only() -> Self {
        Self::on(BackendKind::Fake).await
    }

    pub async fn on(kind: BackendKind) -> Self {
        let cluster = Self::bare(kind).await;
        install(&cluster.client("admin").await).await;
        cluster.prepare().await;
        cluster
    }

    /// The users' cluster without kudo: the caller installs it (tests/helm.rs
    /// with `helm install`), then calls [`Self::prepare`].
    pub async fn bare(kind: BackendKind) -> Self {
        // Logs show with --nocapture; KUDO_TEST_LOG=debug for more.
        let filter = std::env::var("KUDO_TEST_LOG").unwrap_or_else(|_| "warn".into());
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter(filter).try_init();
        Self { api: Backend::start(kind, USERS).await }
    }

    /// What every test cluster has besides kudo (see [`Self::new`]).
    pub async fn prepare(&self) {
        let cluster = self;
        let admin = cluster.client("admin").await;
        for ns in ["app", "other"] {
            let api: Api<Namespace> = Api::all(admin.clone());
            api.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap())
                .await
                .unwrap();
        }
        cluster.api.add_service_accounts(USERS).await;
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
        // Everyone may use kudo, as the README's quick start sets it up.
        create_json(
            &admin,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "everyone-kudo"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kudo-user"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}],
            }),
        )
        .await;
        create_json(
            &admin,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "admins-review"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kudo-reviewer"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "admins"}],
            }),
        )
        .await;
    }

    /// Lets `user` create reviews (RBAC only: eligibility is the policy's business).
    pub async fn allow_reviewing(&self, user: &str) {
        create_json(
            &self.client("admin").await,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": format!("{user}-reviews")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kudo-reviewer"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
            }),
        )
        .await;
    }

    pub async fn client(&self, user: &str) -> Client {
        self.api.client(user).await
    }

    pub fn kubeconfig_path(&self) -> PathBuf {
        self.api.kubeconfig_path()
    }

    pub fn dir(&self) -> &Path {
        self.api.dir()
    }

    /// The fake API server, for fault injection; only on [`Self::fake_only`] clusters.
    pub fn fake(&self) -> &MemoryApiServer {
        match &self.api {
            Backend::Fake(fake) => fake,
            Backend::Real(_) => panic!("this test injects faults: start it with Cluster::fake_only()"),
        }
    }

    pub fn controller_options(identity: &str) -> controller::Options {
        controller::Options {
            identity: identity.into(),
            lease_duration: Duration::from_secs(3),
            sweep_interval: Duration::from_millis(500),
            listen: None,
            audit_stdout: false,
            ..controller::Options::default()
        }
    }

    pub async fn start_controller(&self, identity: &str) -> RunningController {
        self.start_controller_with(Self::controller_options(identity)).await
    }

    pub async fn start_controller_with(&self, options: controller::Options) -> RunningController {
        let client = self.client(SA).await;
        let (tx, rx) = oneshot::channel::<()>();
        let identity = options.identity.clone();
        let metrics = Arc::new(controller::Metrics::default());
        let task = tokio::spawn(controller::run_with_metrics(client, options, metrics.clone(), async {
            let _ = rx.await;
        }));
        RunningController { identity, metrics, stop: Some(tx), task }
    }

    pub async fn policy(&self, body: Value) -> EscalationPolicy {
        let api: Api<EscalationPolicy> = Api::all(self.client("admin").await);
        api.create(&PostParams::default(), &serde_json::from_value(body).unwrap()).await.unwrap()
    }

    /// An escalation made by `user` in their own name, as the CLI makes it.
    pub async fn escalate(
        &self,
        user: &str,
        groups: &[&str],
        policy: &str,
        extra: Value,
    ) -> Result<Escalation, kube::Error> {
        self.escalate_named(user, groups, policy, None, extra).await
    }

    /// As [`Self::escalate`], under a fixed `name` instead of a generated one.
    pub async fn escalate_named(
        &self,
        user: &str,
        groups: &[&str],
        policy: &str,
        name: Option<&str>,
        extra: Value,
    ) -> Result<Escalation, kube::Error> {
        let mut spec = json!({
            "policyName": policy,
            "requestor": user,
            "requestorGroups": groups.iter().copied().chain(["system:authenticated"]).collect::<Vec<_>>(),
            "reason": "debugging, ticket #42",
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            spec[k] = v.clone();
        }
        let metadata = match name {
            Some(name) => json!({"name": name}),
            None => json!({"generateName": format!("{policy}-")}),
        };
        let api: Api<Escalation> = Api::all(self.client(user).await);
        api.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": metadata, "spec": spec})).unwrap(),
        )
        .await
    }

    pub async fn review(&self, user: &str, groups: &[&str], esc: &Escalation, decision: &str) -> EscalationReview {
        let api: Api<EscalationReview> = Api::all(self.client(user).await);
        let body = json!({
            "metadata": {"generateName": format!("{}-", esc.name_any())},
            "spec": {
                "escalationName": esc.name_any(),
                "escalationUID": esc.uid().unwrap(),
                "reviewer": user,
                "reviewerGroups": groups.iter().copied().chain(["system:authenticated"]).collect::<Vec<_>>(),
                "decision": decision,
            },
        });
        api.create(&PostParams::default(), &serde_json::from_value(body).unwrap()).await.unwrap()
    }

    pub async fn get(&self, name: &str) -> Option<Escalation> {
        let api: Api<Escalation> = Api::all(self.client("admin").await);
        api.get_opt(name).await.unwrap()
    }

    /// Polls until `done` holds for the escalation (or it is gone, `None`).
    pub async fn wait(&self, name: &str, what: &str, done: impl Fn(Option<&Escalation>) -> bool) -> Option<Escalation> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let esc = self.get(name).await;
            if done(esc.as_ref()) {
                return esc;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {name} to be {what}: {esc:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_state(&self, name: &str, state: &str) -> Escalation {
        self.wait(name, state, |e| e.and_then(|e| e.status.as_ref()).is_some_and(|s| s.state.as_str() == state))
            .await
            .unwrap()
    }

    /// Whether `user` may list pods in `namespace` (a real request).
    pub async fn can_list_pods(&self, user: &str, namespace: &str) -> bool {
        let api: Api<Pod> = Api::namespaced(self.client(user).await, namespace);
        match api.list(&ListParams::default()).await {
            Ok(_) => true,
            Err(kube::Error::Api(s)) if s.code == 403 => false,
            Err(e) => panic!("{e}"),
        }
    }

    /// Names of kudo-managed bindings (RoleBindings and ClusterRoleBindings).
    pub async fn kudo_bindings(&self) -> Vec<String> {
        let admin = self.client("admin").await;
        let lp = ListParams::default().labels("app.kubernetes.io/managed-by=kudo");
        let rbs: Api<k8s_openapi::api::rbac::v1::RoleBinding> = Api::all(admin.clone());
        let crbs: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(admin);
        let mut names: Vec<String> = rbs.list(&lp).await.unwrap().items.iter().map(|b| b.name_any()).collect();
        names.extend(crbs.list(&lp).await.unwrap().items.iter().map(|b| b.name_any()));
        names.sort();
        names
    }

    /// Event reasons recorded about an escalation, oldest first, with their
    /// reporting instance. Events are published off the reconcile's path, so
    /// this waits until they have stopped coming (300 ms unchanged, 5 s at most).
    pub async fn events(&self, name: &str) -> Vec<(String, String, String)> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut last = self.events_now(name).await;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let now = self.events_now(name).await;
            if now == last || tokio::time::Instant::now() > deadline {
                return now;
            }
            last = now;
        }
    }

    async fn events_now(&self, name: &str) -> Vec<(String, String, String)> {
        let api: Api<k8s_openapi::api::events::v1::Event> = Api::all(self.client("admin").await);
        let mut events: Vec<_> = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .collect();
        events.sort_by_key(|e| e.metadata.resource_version.as_ref().and_then(|v| v.parse::<u64>().ok()));
        events
            .into_iter()
            .map(|e| {
                (e.reason.unwrap_or_default(), e.note.unwrap_or_default(), e.reporting_instance.unwrap_or_default())
            })
            .collect()
    }
}

pub fn details(esc: &Escalation) -> String {
    esc.status.as_ref().map(|s| s.state_details.clone()).unwrap_or_default()
}

pub fn all_reclaimed(esc: &Escalation) -> bool {
    esc.status.as_ref().is_some_and(|s| s.grant_refs.iter().all(|r| r.status == GrantStatus::Reclaimed))
}

/// ACCEPTED with every binding created.
pub fn granted(esc: Option<&Escalation>) -> bool {
    esc.and_then(|e| e.status.as_ref()).is_some_and(|s| {
        s.state == EscalationState::Accepted && s.grant_refs.iter().all(|r| r.status == GrantStatus::Created)
    })
}

/// Applies `kubectl kudo manifests` with the real client (create, as
/// `kubectl create`), and returns once a real API server serves the CRDs
/// and enforces the admission policies (the fake's are immediate).
async fn install(admin: &Client) {
    manifests::apply::install(admin, &manifests::Options::default()).await.unwrap_or_else(|e| panic!("{e}"));
}

pub async fn create_json(client: &Client, doc: Value) -> DynamicObject {
    let (obj, api) = manifests::apply::dynamic(client, doc).await.unwrap_or_else(|e| panic!("{e}"));
    api.create(&PostParams::default(), &obj).await.unwrap()
}

/// A policy granting `pod-reader` in `app` (or `other`), to anyone in squad-a.
pub fn pod_reader_policy(name: &str, default_duration: &str, challenges: Value) -> Value {
    json!({
        "metadata": {"name": name},
        "spec": {
            "subjects": [{"kind": "Group", "name": "squad-a"}],
            "challenges": challenges,
            // Tests hold several escalations of one policy at once; the default is 1.
            "maxOpenPerRequestor": 20,
            "target": {
                "defaultDuration": default_duration,
                "maxDuration": "1h",
                "grants": [{
                    "kind": "KubernetesRoleBinding",
                    "defaultNamespace": "app",
                    "allowedNamespaces": ["app", "other"],
                    "roleRef": {"kind": "ClusterRole", "name": "pod-reader"},
                }],
            },
        },
    })
}

/// A command-line tool the tests drive (helm, krew): `$KUDO_<NAME>`, else
/// tests/tools/bin/<name>. Missing, the test fails and says how to build it:
/// an untested install path must not pass for a tested one.
pub fn tool(name: &str) -> PathBuf {
    let var = format!("KUDO_{}", name.to_uppercase());
    let path = match std::env::var_os(&var) {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/bin").join(name),
    };
    assert!(
        path.is_file(),
        "{name} is missing at {}: build it with tests/tools/build.sh (or point {var} at one)",
        path.display()
    );
    path
}
