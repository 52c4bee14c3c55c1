//! An in-process Kubernetes API server keeping its objects in memory,
//! speaking the real HTTP API for the resources kudo uses: what
//! `kubectl kudo sandbox` runs, and what kudo's tests use where a real one
//! cannot serve (fault injection, the chaos soak). See README.md for what it
//! does and does not do.

mod admission;
mod auth;
mod builtin;
mod compiled;
mod errors;
mod faults;
mod objects;
mod openapi;
mod openapi_v2;
mod patch;
mod protobuf;
mod resources;
mod schema;
mod selectors;
mod server;
mod store;
mod strategic;
mod table;
mod tls;

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use axum_server::tls_rustls::RustlsConfig;
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

pub use faults::{FaultConfig, FaultCounts};

pub use auth::User;
/// The fake's RBAC rule evaluation, for tests that hold other evaluators to it.
pub use auth::{Attributes, rule_allows};

/// One user of the fake cluster, identified by a bearer token.
#[derive(Clone, Debug)]
pub struct Account {
    pub token: String,
    pub user: User,
}

impl Account {
    /// An account whose token is derived from its name: for tests, where
    /// the token is no secret and a failing run is easier to read.
    pub fn new(name: &str, groups: &[&str]) -> Self {
        Self { token: format!("token-{}", name.replace(':', "-")), user: User::new(name, groups) }
    }

    /// An account with a random 192-bit token, for a server other people's
    /// processes on the machine could reach (the sandbox).
    pub fn with_random_token(name: &str, groups: &[&str]) -> Self {
        use rand::Rng;
        // ThreadRng is a CSPRNG seeded from the OS.
        let bytes: [u8; 24] = rand::rng().random();
        Self { token: bytes.iter().map(|b| format!("{b:02x}")).collect(), user: User::new(name, groups) }
    }
}

/// The cluster-admin every fake starts with (group `system:masters`).
pub const ADMIN: &str = "admin";

pub struct MemoryApiServer {
    addr: SocketAddr,
    state: server::Shared,
    accounts: Vec<Account>,
    dir: PathBuf,
    handle: axum_server::Handle<SocketAddr>,
    ca_pem: &'static str,
    task: Option<JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("binding 127.0.0.1:0: {0}")]
    Bind(#[from] std::io::Error),
    #[error("generating the serving certificate: {0}")]
    Tls(String),
    #[error("writing the kubeconfig: {0}")]
    Kubeconfig(String),
}

impl MemoryApiServer {
    /// Starts on 127.0.0.1:0 with the given accounts and `admin`
    /// (system:masters): the one given, or else one with [`Account::new`]'s token.
    pub async fn start(accounts: Vec<Account>) -> Result<Self, StartError> {
        Self::start_with_history(accounts, 100_000).await
    }

    /// As [`start`](Self::start), keeping at most `history` events for watches.
    pub async fn start_with_history(mut accounts: Vec<Account>, history: usize) -> Result<Self, StartError> {
        if !accounts.iter().any(|a| a.user.name == ADMIN) {
            accounts.insert(0, Account::new(ADMIN, &["system:masters"]));
        }
        let tokens: HashMap<String, User> = accounts.iter().map(|a| (a.token.clone(), a.user.clone())).collect();
        let mut state = store::State::new(tokens, history);
        bootstrap(&mut state);
        let state: server::Shared = Arc::new(Mutex::new(state));
        let tls = tls::material().map_err(StartError::Tls)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new().fallback(server::handle).with_state(state.clone());
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(tls.server.clone()))?
            .handle(handle.clone());
        let task = tokio::spawn(async move {
            let _ = server.serve(app.into_make_service()).await;
        });
        let dir = std::env::temp_dir().join(format!("memory-apiserver-{}", uuid::Uuid::new_v4()));
        // The kubeconfig holds every account's token: for this user only.
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let me = Self { addr, state, accounts, dir, handle, ca_pem: &tls.ca_pem, task: Some(task) };
        write_private(&me.kubeconfig_path(), &me.kubeconfig_yaml())
            .map_err(|e| StartError::Kubeconfig(e.to_string()))?;
        Ok(me)
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// A kubeconfig with one context per user (named by username), current context `admin`.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn kubeconfig_yaml(&self) -> String {
        let users: Vec<Value> =
            self.accounts.iter().map(|a| json!({"name": a.user.name, "user": {"token": a.token}})).collect();
        let contexts: Vec<Value> = self
            .accounts
            .iter()
            .map(|a| json!({"name": a.user.name, "context": {"cluster": "fake", "user": a.user.name, "namespace": "default"}}))
            .collect();
        let config = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {
                "server": self.url(),
                "certificate-authority-data": BASE64.encode(self.ca_pem),
            }}],
            "users": users, "contexts": contexts, "current-context": ADMIN,
        });
        serde_saphyr::to_string(&config).unwrap_or_default()
    }

    /// A kube client authenticated as `username`.
    pub async fn client(&self, username: &str) -> kube::Client {
        let kubeconfig = kube::config::Kubeconfig::read_from(self.kubeconfig_path()).expect("fake kubeconfig parses");
        let options = kube::config::KubeConfigOptions { context: Some(username.into()), ..Default::default() };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.expect("a context for this user");
        kube::Client::try_from(config).expect("client for the fake")
    }

    /// Stores objects as cluster-admin without going through HTTP (fast
    /// set-up of large clusters for benchmarks). Each object needs
    /// `apiVersion`, `kind` and `metadata.name` (and `namespace` if namespaced);
    /// admission and validation run as for a create.
    pub fn seed(&self, objects: impl IntoIterator<Item = Value>) -> Result<usize, String> {
        let admin = User::new("system:apiserver", &["system:masters"]);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut created = 0;
        for obj in objects {
            let (group, version) = match obj["apiVersion"].as_str().unwrap_or_default().split_once('/') {
                Some((g, v)) => (g.to_string(), v.to_string()),
                None => (String::new(), obj["apiVersion"].as_str().unwrap_or_default().to_string()),
            };
            let kind = obj["kind"].as_str().unwrap_or_default();
            let rt = state
                .types
                .iter()
                .find(|t| t.group == group && t.version == version && t.kind == kind)
                .cloned()
                .ok_or_else(|| format!("no served kind {kind} in {group}/{version}"))?;
            let namespace = obj["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
            let w = objects::Write { rt: &rt, namespace: &namespace, user: &admin, dry_run: false };
            objects::create(&mut state, &w, obj).map_err(|e| e.message)?;
            created += 1;
        }
        Ok(created)
    }

    /// Injects faults into the requests of the configured users (`None`: off).
    pub fn set_faults(&self, config: Option<FaultConfig>) {
        self.faults().configure(config);
    }

    /// Every request of a faulted user fails with 503 for `length`.
    pub fn outage(&self, length: std::time::Duration) {
        self.faults().outage(length);
    }

    /// Delivers every watch event of `resource` (a plural, such as
    /// `escalations`) `lag` after it happened, in order, as a watch cache
    /// that has fallen behind would (`None`: on time). Writes and reads are
    /// not delayed: a controller acting on its cache then sees a view older
    /// than its own writes, deterministically.
    pub fn lag_watches(&self, resource: &str, lag: Option<std::time::Duration>) {
        self.faults().lag_watches(lag.map(|d| (resource.to_string(), d)));
    }

    /// How many faults of each kind were injected so far.
    pub fn fault_counts(&self) -> FaultCounts {
        self.faults().counts()
    }

    fn faults(&self) -> Arc<faults::Faults> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).faults.clone()
    }

    /// Forgets the watch history (like etcd compaction): older resourceVersions answer 410 Gone.
    pub fn compact(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).compact();
    }

    pub async fn stop(mut self) {
        self.shutdown_now().await;
    }

    /// The PEM of the CA that signed the serving certificate.
    pub fn ca_pem(&self) -> &str {
        self.ca_pem
    }

    async fn shutdown_now(&mut self) {
        self.handle.shutdown();
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for MemoryApiServer {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `text` to a new file at `path` readable by this user only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

/// What a fresh cluster holds: namespaces and the bootstrap RBAC that every
/// cluster has (cluster-admin for system:masters, self-reviews for everyone).
fn bootstrap(state: &mut store::State) {
    let admin = User::new("system:apiserver", &["system:masters"]);
    let objects = [
        ("/namespaces", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})),
        ("/namespaces", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})),
        (
            "rbac.authorization.k8s.io/clusterroles",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "cluster-admin"},
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}],
            }),
        ),
        (
            "rbac.authorization.k8s.io/clusterrolebindings",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "cluster-admin"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}],
            }),
        ),
        (
            "rbac.authorization.k8s.io/clusterroles",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "system:basic-user"},
                "rules": [
                    {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
                    {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
                ],
            }),
        ),
        (
            "rbac.authorization.k8s.io/clusterrolebindings",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "system:basic-user"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:basic-user"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}],
            }),
        ),
    ];
    for (type_id, obj) in objects {
        let rt = state.types.iter().find(|t| t.id() == type_id).cloned();
        if let Some(rt) = rt {
            let w = objects::Write { rt: &rt, namespace: "", user: &admin, dry_run: false };
            // Bootstrap objects are constants known to be valid.
            let _ = objects::create(state, &w, obj);
        }
    }
}
