//! `kubectl kudo sandbox [--demo] [--apiserver memory|real]`: flags,
//! logging, signals and printing; the sandbox itself is `crate::sandbox`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::{error::UserError, kubeconfig::KubeFlags};
use crate::sandbox::{self, ApiServer, Sandbox, guide};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ApiServerKind {
    /// The in-memory API server, in this process (starts in well under 2s).
    Memory,
    /// kudo-testenv, the real control plane (kube-apiserver and etcd), found on PATH.
    Real,
}

#[derive(Clone, Debug, Args)]
pub struct SandboxArgs {
    /// Play the story once, each step with its timing, and exit: alice's
    /// can-i says no; she escalates; bob approves; alice can; the short
    /// grant expires and its binding is gone; can-i says no again.
    #[arg(long)]
    pub demo: bool,
    /// Which API server to run. The kubeconfig goes where --kubeconfig says
    /// (default ~/.kube/kudo-sandbox.yaml; for --demo a private temporary file).
    #[arg(long, value_enum, default_value = "memory", value_name = "KIND")]
    pub apiserver: ApiServerKind,
}

/// The program kubectl runs for `--apiserver real`.
pub const TESTENV: &str = "kudo-testenv";

pub async fn run(kube: &KubeFlags, args: SandboxArgs) -> anyhow::Result<()> {
    init_logging()?;
    let apiserver = match args.apiserver {
        ApiServerKind::Memory => ApiServer::Memory,
        ApiServerKind::Real => ApiServer::Real { binary: on_path(TESTENV).ok_or_else(testenv_missing)? },
    };
    // The demo's kubeconfig is its own unless asked for: a sandbox someone
    // is using may hold the default path.
    let scratch = match (&kube.kubeconfig, args.demo) {
        (None, true) => {
            Some(tempfile::Builder::new().prefix("kudo-sandbox-").tempdir().context("creating a temporary directory")?)
        }
        _ => None,
    };
    let kubeconfig = match (&kube.kubeconfig, &scratch) {
        (Some(path), _) => path.clone(),
        (None, Some(dir)) => dir.path().join("kubeconfig.yaml"),
        (None, None) => sandbox::kubeconfig::default_path().ok_or_else(|| {
            UserError::new("HOME is not set").hint("choose where the kubeconfig goes with --kubeconfig")
        })?,
    };
    let kubeconfig = absolute(kubeconfig)?;
    let options = sandbox::Options {
        apiserver,
        kubeconfig,
        lease_duration: crate::controller::Options::default().lease_duration,
    };
    let sandbox = tokio::select! {
        started = Sandbox::start(options) => started.context("starting the sandbox")?,
        () = shutdown_signal() => anyhow::bail!("interrupted while starting"),
    };
    let path = sandbox.kubeconfig_path().to_path_buf();
    if args.demo {
        println!(
            "kudo sandbox --demo: kudo on {} at {}, started in {:.2}s.",
            sandbox.apiserver(),
            sandbox.url(),
            sandbox.started_in().as_secs_f64()
        );
        let plugin = std::env::current_exe().context("finding this program (kubectl runs it as kubectl-kudo)")?;
        let mut stdout = std::io::stdout();
        let played = tokio::select! {
            played = sandbox::demo::play(&plugin, &path, &mut stdout) => Some(played),
            () = shutdown_signal() => None,
        };
        sandbox.stop().await.context("stopping the sandbox")?;
        return match played {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(anyhow::Error::new(e).context("the demo failed")),
            None => anyhow::bail!("interrupted"),
        };
    }
    print!("{}", guide::render(&path, sandbox.apiserver(), sandbox.url(), sandbox.started_in()));
    shutdown_signal().await;
    eprintln!("stopping the sandbox");
    sandbox.stop().await.context("stopping the sandbox")?;
    eprintln!("removed {}", path.display());
    Ok(())
}

fn testenv_missing() -> UserError {
    UserError::new(format!("{TESTENV} is not on PATH: --apiserver real runs that real control plane")).hint(
        "build it in a kudo checkout with tests/testenv/build.sh (needs Go 1.26), then: \
             PATH=$PWD/tests/testenv/bin:$PATH kubectl kudo sandbox --apiserver real",
    )
}

/// The first executable file named `program` in PATH's directories.
fn on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// The printed commands must work from any directory.
fn absolute(path: PathBuf) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path);
    }
    Ok(std::env::current_dir().context("reading the current directory")?.join(path))
}

/// Warnings and errors of the controller running inside, on stderr
/// (`KUDO_LOG` for more, e.g. `KUDO_LOG=kudo=debug`).
fn init_logging() -> anyhow::Result<()> {
    let filter = std::env::var("KUDO_LOG").unwrap_or_else(|_| "warn".into());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).with_context(|| format!("KUDO_LOG={filter}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|e| anyhow::anyhow!("installing the logger: {e}"))
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
