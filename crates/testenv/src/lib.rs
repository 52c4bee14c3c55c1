//! Starts `kudo-testenv`, the real Kubernetes control plane (etcd,
//! kube-apiserver v1.36 and the kube-controller-manager controllers kudo
//! relies on, built from Kubernetes' own Go modules by
//! `tests/testenv/build.sh`), as a child process for one test.
//!
//! ```no_run
//! # async fn f() -> Result<(), testenv::Error> {
//! let env = testenv::Testenv::start(&[("alice", &["squad-a"])]).await?;
//! let alice = env.client("alice").await?;
//! # Ok(()) }
//! ```
//!
//! Users are static bearer tokens (kube-apiserver's `--token-auth-file`),
//! `admin` in `system:masters` always among them; ServiceAccounts get real
//! tokens from the TokenRequest API ([`Testenv::add_service_account`]).

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::Stdio,
    sync::Mutex,
    time::{Duration, Instant},
};

use k8s_openapi::api::{authentication::v1::TokenRequest, core::v1::ServiceAccount};
use kube::{Api, Client, api::PostParams};
use serde_json::{Value, json};

/// The cluster-admin every testenv has (group `system:masters`).
pub const ADMIN: &str = "admin";

/// The Kubernetes version the control plane is built from.
pub const KUBERNETES_VERSION: &str = "v1.36.3";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "kudo-testenv is not built ({0}): run tests/testenv/build.sh (needs Go 1.26), or set KUDO_TESTENV to the binary"
    )]
    NotBuilt(String),
    #[error("starting kudo-testenv: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("kudo-testenv did not become ready: {reason}\n--- its log ({log}) ---\n{tail}")]
    NotReady { reason: String, log: String, tail: String },
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("no context for user {0}")]
    NoSuchUser(String),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub struct Testenv {
    child: std::process::Child,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    /// Serialises rewrites of the kubeconfig (ServiceAccount contexts).
    kubeconfig_lock: Mutex<()>,
}

impl Testenv {
    /// Where the binary is: `$KUDO_TESTENV`, else what `tests/testenv/build.sh`
    /// built. Never anything else: a test meant for the real server must not
    /// quietly run somewhere else.
    pub fn binary() -> Result<PathBuf, Error> {
        let path = match std::env::var_os("KUDO_TESTENV") {
            Some(p) => PathBuf::from(p),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/testenv/bin/kudo-testenv"),
        };
        if path.is_file() { Ok(path) } else { Err(Error::NotBuilt(format!("no file at {}", path.display()))) }
    }

    /// Starts a fresh control plane with `admin` and `users` (name, groups).
    /// Names of the form `system:serviceaccount:NS:NAME` are left out: those
    /// get real tokens once their namespace exists.
    pub async fn start(users: &[(&str, &[&str])]) -> Result<Self, Error> {
        let binary = Self::binary()?;
        let started = Instant::now();
        let env = Self::start_binary(&binary, users).await?;
        record_start(started.elapsed());
        Ok(env)
    }

    /// As [`Self::start`], running the kudo-testenv at `binary` (the
    /// sandbox's `--apiserver real` finds it on PATH), and recording
    /// nothing in the build's target directory.
    pub async fn start_binary(binary: &Path, users: &[(&str, &[&str])]) -> Result<Self, Error> {
        let dir = tempfile::Builder::new().prefix("testenv-").tempdir()?;
        let mut csv = String::new();
        let mut listed = vec![(ADMIN, &["system:masters"][..])];
        listed.extend(users.iter().copied().filter(|(name, _)| *name != ADMIN && !is_service_account(name)));
        for (name, groups) in listed {
            // Tokens are per run and only ever on this machine's loopback.
            // No fourth column for no groups: kube-apiserver would read an
            // empty one as the group "".
            let token = random_token()?;
            match groups {
                [] => csv.push_str(&format!("{token},{name},{name}\n")),
                _ => csv.push_str(&format!("{token},{name},{name},\"{}\"\n", groups.join(","))),
            }
        }
        let users_file = dir.path().join("users.csv");
        std::fs::write(&users_file, csv)?;
        let kubeconfig = dir.path().join("kubeconfig");
        let log = dir.path().join("testenv.log");
        let mut child = std::process::Command::new(binary)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--users")
            .arg(&users_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .map_err(Error::Spawn)?;
        let stdout = child.stdout.take().ok_or_else(|| Error::Spawn(std::io::Error::other("no stdout")))?;
        // The reader ends when READY comes or the child's stdout closes (on
        // its exit, or its kill by Drop after a timeout).
        let reader = tokio::task::spawn_blocking(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(line) if line.trim() == "READY" => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            Err("it exited".to_string())
        });
        let env = Self { child, dir, kubeconfig, kubeconfig_lock: Mutex::new(()) };
        let ready = match tokio::time::timeout(Duration::from_secs(120), reader).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(join.to_string()),
            Err(_) => Err("no READY within 120s".into()),
        };
        if let Err(reason) = ready {
            return Err(Error::NotReady { reason, log: log.display().to_string(), tail: env.log_tail(60) });
        }
        Ok(env)
    }

    /// A kubeconfig with one context per user, named by username.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The control plane's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The API server's URL, https://127.0.0.1:PORT.
    pub fn url(&self) -> Result<String, Error> {
        let kubeconfig =
            kube::config::Kubeconfig::read_from(&self.kubeconfig).map_err(|e| Error::Kubeconfig(e.to_string()))?;
        kubeconfig
            .clusters
            .first()
            .and_then(|c| c.cluster.as_ref())
            .and_then(|c| c.server.clone())
            .ok_or_else(|| Error::Kubeconfig("no cluster server".into()))
    }

    /// A directory that lives as long as this control plane.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last `lines` lines the control plane logged.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("testenv.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// A client authenticated as `user`.
    pub async fn client(&self, user: &str) -> Result<Client, Error> {
        let kubeconfig =
            kube::config::Kubeconfig::read_from(&self.kubeconfig).map_err(|e| Error::Kubeconfig(e.to_string()))?;
        if !kubeconfig.contexts.iter().any(|c| c.name == user) {
            return Err(Error::NoSuchUser(user.into()));
        }
        let options = kube::config::KubeConfigOptions { context: Some(user.into()), ..Default::default() };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| Error::Kubeconfig(e.to_string()))?;
        Ok(Client::try_from(config)?)
    }

    /// Gives `system:serviceaccount:NS:NAME` a context with a real token
    /// (TokenRequest, one hour), creating the ServiceAccount if needed. The
    /// namespace must exist.
    pub async fn add_service_account(&self, username: &str) -> Result<(), Error> {
        let Some((namespace, name)) = username.strip_prefix("system:serviceaccount:").and_then(|r| r.split_once(':'))
        else {
            return Err(Error::NoSuchUser(format!("{username} is not system:serviceaccount:NS:NAME")));
        };
        let admin = self.client(ADMIN).await?;
        let accounts: Api<ServiceAccount> = Api::namespaced(admin, namespace);
        if accounts.get_opt(name).await?.is_none() {
            let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": name}}))
                .map_err(|e| Error::Kubeconfig(e.to_string()))?;
            match accounts.create(&PostParams::default(), &sa).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
        let request: TokenRequest = serde_json::from_value(json!({"spec": {"expirationSeconds": 3600}}))
            .map_err(|e| Error::Kubeconfig(e.to_string()))?;
        let token = accounts.create_token_request(name, &PostParams::default(), &request).await?;
        let token = token.status.map(|s| s.token).unwrap_or_default();
        let _guard = self.kubeconfig_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut config: Value = serde_saphyr::from_str(&std::fs::read_to_string(&self.kubeconfig)?)
            .map_err(|e| Error::Kubeconfig(e.to_string()))?;
        let cluster = config["contexts"][0]["context"]["cluster"].clone();
        retain_named(&mut config["users"], username);
        retain_named(&mut config["contexts"], username);
        push(&mut config["users"], json!({"name": username, "user": {"token": token}}));
        push(&mut config["contexts"], json!({"name": username, "context": {"cluster": cluster, "user": username}}));
        let text = serde_saphyr::to_string(&config).map_err(|e| Error::Kubeconfig(e.to_string()))?;
        let tmp = self.kubeconfig.with_extension("tmp");
        std::fs::File::create(&tmp)?.write_all(text.as_bytes())?;
        std::fs::rename(tmp, &self.kubeconfig)?;
        Ok(())
    }

    /// Stops the control plane: SIGTERM, then SIGKILL after 10 s.
    fn stop(&mut self) {
        use nix::{sys::signal, unistd::Pid};
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = signal::kill(pid, signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Testenv {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Appends "TEST-NAME SECONDS" to `target/testenv-starts.log` (the test
/// harness names each test's thread after the test), so that CI can say
/// which tests ran on the real control plane and what starting it cost.
fn record_start(took: Duration) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let name = std::thread::current().name().unwrap_or("unnamed").to_string();
    if let Ok(mut log) = std::fs::OpenOptions::new().create(true).append(true).open(target.join("testenv-starts.log")) {
        let _ = writeln!(log, "{name} {:.2}", took.as_secs_f64());
    }
}

pub fn is_service_account(name: &str) -> bool {
    name.starts_with("system:serviceaccount:")
}

fn retain_named(list: &mut Value, name: &str) {
    if let Some(items) = list.as_array_mut() {
        items.retain(|i| i["name"] != name);
    }
}

fn push(list: &mut Value, item: Value) {
    match list.as_array_mut() {
        Some(items) => items.push(item),
        None => *list = json!([item]),
    }
}

fn random_token() -> Result<String, Error> {
    let mut bytes = [0u8; 24];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
