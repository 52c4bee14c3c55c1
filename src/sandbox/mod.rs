//! `kubectl kudo sandbox`: a cluster with kudo in one process, to try it.
//!
//! An API server on 127.0.0.1 (the in-memory one, or with
//! `--apiserver real` kudo-testenv, the real control plane), kudo's
//! manifests applied as to any cluster, the controller running as its
//! ServiceAccount, users `admin`, `alice` (squad-a) and `bob` (squad-b)
//! with random tokens, the Kudo documents' example policies adapted to
//! them, and a kubeconfig with one context each. Layout: `examples` (what
//! is created besides kudo), `kubeconfig` (the file users get), `guide`
//! (the commands to paste), `demo` (the story, played), and here the
//! start and stop.

pub mod demo;
pub mod examples;
pub mod guide;
pub mod kubeconfig;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use jiff::Timestamp;
use k8s_openapi::api::{
    authentication::v1::TokenRequest, batch::v1::CronJob, coordination::v1::Lease, core::v1::ServiceAccount,
};
use kube::{
    Api, Client,
    api::{Patch, PatchParams, PostParams},
};
use memory_apiserver::{Account, MemoryApiServer};
use serde_json::json;
use tokio::{sync::oneshot, task::JoinHandle};

use crate::{api, controller, manifests};

/// The cluster-admin (group system:masters).
pub const ADMIN: &str = memory_apiserver::ADMIN;
/// The sandbox's users besides `admin`, with their groups.
pub const USERS: &[(&str, &[&str])] = &[("alice", &[examples::REQUESTORS]), ("bob", &[examples::REVIEWERS])];
/// The controller's identity in its Lease.
pub const IDENTITY: &str = "kudo-sandbox";
/// How long the ServiceAccount tokens the controller and reaper run with
/// last: longer than anyone keeps a sandbox (they are not renewed).
const TOKEN_SECONDS: i64 = 7 * 24 * 3600;
/// How often the reaper runs, as its CronJob's schedule says (every minute).
const REAPER_EVERY: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub enum ApiServer {
    /// The in-memory API server, in this process.
    Memory,
    /// kudo-testenv (a real kube-apiserver and etcd), run from `binary`.
    Real { binary: PathBuf },
}

#[derive(Clone, Debug)]
pub struct Options {
    pub apiserver: ApiServer,
    /// Where the kubeconfig goes (removed on stop).
    pub kubeconfig: PathBuf,
    /// The controller's leader Lease duration.
    pub lease_duration: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("starting the in-memory API server: {0}")]
    Memory(#[from] memory_apiserver::StartError),
    #[error("starting kudo-testenv: {0}")]
    Real(#[from] testenv::Error),
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("{} exists and is not a kudo sandbox's kubeconfig; choose another path with --kubeconfig", .0.display())]
    NotOurs(PathBuf),
    #[error("a sandbox is already running with {}; stop it, or choose another path with --kubeconfig", .0.display())]
    Running(PathBuf),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("installing kudo: {0}")]
    Install(#[from] manifests::apply::ApplyError),
    #[error("{doing}: {source}")]
    Kube { doing: String, source: kube::Error },
    #[error("the controller did not take its Lease within 30s{}", .0.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    NotLeading(Option<String>),
}

fn kube_err(doing: impl Into<String>) -> impl FnOnce(kube::Error) -> SandboxError {
    let doing = doing.into();
    move |source| SandboxError::Kube { doing, source }
}

enum Backend {
    Memory(MemoryApiServer),
    Real(testenv::Testenv),
}

impl Backend {
    async fn start(apiserver: &ApiServer) -> Result<Self, SandboxError> {
        match apiserver {
            ApiServer::Memory => {
                let mut accounts = vec![Account::with_random_token(memory_apiserver::ADMIN, &["system:masters"])];
                accounts.extend(USERS.iter().map(|(name, groups)| Account::with_random_token(name, groups)));
                Ok(Self::Memory(MemoryApiServer::start(accounts).await?))
            }
            ApiServer::Real { binary } => Ok(Self::Real(testenv::Testenv::start_binary(binary, USERS).await?)),
        }
    }

    fn kubeconfig_path(&self) -> PathBuf {
        match self {
            Self::Memory(server) => server.kubeconfig_path(),
            Self::Real(env) => env.kubeconfig_path().to_path_buf(),
        }
    }
}

struct RunningController {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), controller::RunError>>,
}

pub struct Sandbox {
    /// Declared first: dropped (so stopped) before the API server it uses.
    controller: Option<RunningController>,
    reaper: Option<JoinHandle<()>>,
    kubeconfig: PathBuf,
    written: kubeconfig::Written,
    url: String,
    started_in: Duration,
    backend: Backend,
}

impl Sandbox {
    /// Starts everything, and returns once the controller leads.
    pub async fn start(opts: Options) -> Result<Self, SandboxError> {
        let started = Instant::now();
        kubeconfig::claim(&opts.kubeconfig)?;
        let backend = Backend::start(&opts.apiserver).await?;
        let source = backend.kubeconfig_path();
        let text = std::fs::read_to_string(&source).map_err(|e| SandboxError::Io { path: source, source: e })?;
        let mut users = vec![ADMIN];
        users.extend(USERS.iter().map(|(name, _)| *name));
        let written = kubeconfig::write(&opts.kubeconfig, &kubeconfig::derive(&text, &users)?)?;
        // From here on, Drop removes the kubeconfig whatever fails next.
        let mut sandbox = Self {
            controller: None,
            reaper: None,
            kubeconfig: opts.kubeconfig.clone(),
            written,
            url: server_of(&text),
            started_in: Duration::ZERO,
            backend,
        };
        let admin = sandbox.client(ADMIN).await?;
        let install = manifests::Options::default();
        manifests::apply::install(&admin, &install).await?;
        for object in examples::objects() {
            manifests::apply::create(&admin, object).await?;
        }
        let ns = install.namespace.as_str();
        let controller_sa = token(&admin, ns, &install.service_account).await?;
        let reaper_sa = token(&admin, ns, manifests::rbac::REAPER).await?;
        let controller_client = kubeconfig::client_with_token(&opts.kubeconfig, &controller_sa).await?;
        let reaper_client = kubeconfig::client_with_token(&opts.kubeconfig, &reaper_sa).await?;

        let (stop, stopped) = oneshot::channel::<()>();
        let options = controller::Options {
            identity: IDENTITY.into(),
            lease_duration: opts.lease_duration,
            listen: None,
            // Audit records are Events here (kubectl kudo status shows them);
            // stdout is the guide's.
            audit_stdout: false,
            ..controller::Options::default()
        };
        let task = tokio::spawn(controller::run(controller_client, options, async {
            let _ = stopped.await;
        }));
        sandbox.controller = Some(RunningController { stop, task });
        sandbox.reaper = Some(tokio::spawn(reap_every_minute(reaper_client, admin.clone(), ns.to_string())));
        sandbox.wait_leading(&admin, ns).await?;
        sandbox.started_in = started.elapsed();
        Ok(sandbox)
    }

    async fn wait_leading(&mut self, admin: &Client, ns: &str) -> Result<(), SandboxError> {
        let leases: Api<Lease> = Api::namespaced(admin.clone(), ns);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let lease = leases.get_opt(api::LEASE_NAME).await.map_err(kube_err("reading the controller's Lease"))?;
            if lease.and_then(|l| l.spec).and_then(|s| s.holder_identity).as_deref() == Some(IDENTITY) {
                return Ok(());
            }
            if let Some(c) = &self.controller
                && c.task.is_finished()
            {
                let ended = self.controller.take().map(|c| c.task);
                let why = match ended {
                    Some(task) => match task.await {
                        Ok(Err(e)) => e.to_string(),
                        Ok(Ok(())) => "it stopped".into(),
                        Err(e) => e.to_string(),
                    },
                    None => "it stopped".into(),
                };
                return Err(SandboxError::NotLeading(Some(why)));
            }
            if Instant::now() >= deadline {
                return Err(SandboxError::NotLeading(None));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The API server's URL (https://127.0.0.1:PORT).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// From the call to [`Self::start`] until the controller led.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Which API server this sandbox runs on, for people.
    pub fn apiserver(&self) -> &'static str {
        match self.backend {
            Backend::Memory(_) => "an in-memory API server",
            Backend::Real(_) => "kudo-testenv (a real kube-apiserver and etcd)",
        }
    }

    /// A client as `user` (admin, alice or bob).
    pub async fn client(&self, user: &str) -> Result<Client, SandboxError> {
        kubeconfig::client(&self.kubeconfig, user).await
    }

    /// Stops the controller gracefully: it releases its Lease.
    pub async fn stop_controller(&mut self) {
        if let Some(c) = self.controller.take() {
            let _ = c.stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(10), c.task).await;
        }
    }

    /// Ends the controller as a crash would: its Lease is left to go stale.
    pub fn kill_controller(&mut self) {
        if let Some(c) = self.controller.take() {
            c.task.abort();
        }
    }

    /// Stops the controller and the API server and removes the kubeconfig.
    pub async fn stop(mut self) -> Result<(), SandboxError> {
        self.stop_controller().await;
        if let Some(reaper) = self.reaper.take() {
            reaper.abort();
        }
        kubeconfig::remove(&self.written)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.kill_controller();
        if let Some(reaper) = self.reaper.take() {
            reaper.abort();
        }
        let _ = kubeconfig::remove(&self.written);
    }
}

fn server_of(kubeconfig: &str) -> String {
    let config: serde_json::Value = serde_saphyr::from_str(kubeconfig).unwrap_or_default();
    config["clusters"][0]["cluster"]["server"].as_str().unwrap_or_default().to_string()
}

/// A token for ServiceAccount `ns/name` (TokenRequest, as kubelet gets
/// one for a pod): the controller and the reaper run as theirs.
async fn token(admin: &Client, ns: &str, name: &str) -> Result<String, SandboxError> {
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), ns);
    let request: TokenRequest = serde_json::from_value(json!({"spec": {"expirationSeconds": TOKEN_SECONDS}}))
        .map_err(|e| SandboxError::Kubeconfig(e.to_string()))?;
    let answer = accounts
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .map_err(kube_err(format!("getting a token for ServiceAccount {ns}/{name}")))?;
    answer
        .status
        .map(|s| s.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| SandboxError::Kubeconfig(format!("no token for ServiceAccount {ns}/{name}")))
}

/// The reaper CronJob's work, done here: these control planes have no
/// node to run its pods, nor a CronJob controller. A pass every minute as
/// ServiceAccount kudo-reaper, each recorded in the CronJob's status as
/// the CronJob controller records its Jobs' (`kubectl kudo doctor` reads it).
async fn reap_every_minute(reaper: Client, admin: Client, ns: String) {
    let cronjobs: Api<CronJob> = Api::namespaced(admin, &ns);
    let mut tick = tokio::time::interval(REAPER_EVERY);
    loop {
        tick.tick().await;
        let scheduled = Timestamp::now();
        let mut status =
            json!({"lastScheduleTime": scheduled.round(jiff::Unit::Second).unwrap_or(scheduled).to_string()});
        let report = |done: crate::grants::reap::Done<'_>| match done {
            crate::grants::reap::Done::Reaped { binding, why } => {
                tracing::info!(binding = %binding.describe(), %why, "reaper deleted a binding")
            }
            crate::grants::reap::Done::Failed { binding, why, error } => {
                tracing::warn!(binding = %binding.describe(), %why, %error, "reaper could not delete a binding")
            }
        };
        match crate::grants::reap::reap(&reaper, scheduled, Default::default(), report).await {
            // As a Job: successful when nothing due was left.
            Ok(pass) if pass.failed == 0 && pass.left == 0 => {
                let done = Timestamp::now();
                status["lastSuccessfulTime"] = json!(done.round(jiff::Unit::Second).unwrap_or(done).to_string());
            }
            Ok(pass) => tracing::warn!(failed = pass.failed, left = pass.left, "reaper pass left due bindings"),
            Err(e) => tracing::warn!(error = %e, "reaper pass failed; retried in a minute"),
        }
        let patch = Patch::Merge(json!({"status": status}));
        if let Err(e) = cronjobs.patch_status(manifests::rbac::REAPER, &PatchParams::default(), &patch).await {
            tracing::warn!(error = %e, "could not record the reaper's run");
        }
    }
}
