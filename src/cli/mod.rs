//! `kubectl kudo …`: argument parsing and dispatch.

use std::io::Write;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};

use crate::{api, manifests};

mod complete;
mod controller;
pub(crate) mod dashboard;
mod doctor;
mod error;
mod escalate;
mod extend;
pub(crate) mod format;
pub mod kubeconfig;
mod list;
mod policies;
mod reap;
mod redacting;
mod report;
mod review;
mod revoke;
mod run;
mod sandbox;
mod session;
mod status;
mod version;
mod which;

pub use error::{Exit, UserError, exit};

#[derive(Debug, Parser)]
#[command(
    name = "kubectl kudo",
    bin_name = "kubectl kudo",
    version,
    about = "sudo for Kubernetes: ask for more permissions for a limited time, reviewed and audited",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub kube: kubeconfig::KubeFlags,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask for a policy's grants for a while: kubectl kudo escalate POLICY --reason '…'
    Escalate(escalate::EscalateArgs),
    /// Ask for more time on a running escalation, with no gap: kubectl kudo extend NAME [--duration 1h]
    ///
    /// Creates a new escalation extending NAME (spec.extends), checked and
    /// reviewed as any; once it is granted, NAME ends (superseded). The
    /// policy's target.maxExtensions caps how often (default 0: never).
    Extend(extend::ExtendArgs),
    /// Approve someone's PENDING escalation (policies with a PeerReview).
    Approve(review::ReviewArgs),
    /// Reject someone's PENDING escalation: it is DENIED.
    Deny(review::ReviewArgs),
    /// List escalations: mine by default, --all, or --pending-review.
    #[command(visible_alias = "ls")]
    List(list::ListArgs),
    /// One escalation in detail: state, challenges, grants, timeline.
    Status(status::NameArg),
    /// End an escalation early; its grants are reclaimed at once.
    Revoke(revoke::RevokeArgs),
    /// The policies I may use: what they grant, where, for how long, and what they ask first.
    Policies(policies::PoliciesArgs),
    /// Escalate, run one command with the grants, and revoke when it exits:
    /// kubectl kudo run POLICY --reason '…' -- kubectl get secrets -n app
    ///
    /// Signals (SIGINT, SIGTERM, SIGHUP) are passed on to the command first.
    /// Exits with the command's status; KUDO_ESCALATION names the escalation.
    Run(run::RunArgs),
    /// Which policies I may use would let me do this: kubectl kudo which create pods/portforward -n app
    ///
    /// Arguments as for kubectl auth can-i. Exit 0 when at least one does, 1 when none.
    Which(which::WhichArgs),
    /// A local web UI on 127.0.0.1 acting as you (your kubeconfig identity):
    /// your escalations live, a request form, reviews with what each grants.
    ///
    /// Prints a URL with a one-run token and opens it in a browser (not with
    /// --no-open); the token is traded for a cookie. Runs until Ctrl-C.
    Dashboard(dashboard::DashboardArgs),
    /// Print the install (CRDs, RBAC, admission policies, controller) as YAML.
    ///
    /// Apply with: kubectl kudo manifests | kubectl apply -f -
    Manifests {
        /// Namespace the controller runs in.
        #[arg(long, default_value = api::DEFAULT_NAMESPACE, value_name = "NAMESPACE")]
        controller_namespace: String,
        /// ServiceAccount the controller runs as; the only identity allowed to write escalation status.
        #[arg(long, default_value = api::DEFAULT_SERVICE_ACCOUNT, value_name = "NAME")]
        controller_service_account: String,
        /// Controller image.
        #[arg(long, value_name = "IMAGE")]
        image: Option<String>,
        /// Secret (in the controller's namespace) whose key `url` is the audit
        /// webhook URL; the controller reads it as KUDO_AUDIT_WEBHOOK. Optional:
        /// without that Secret, no webhook.
        #[arg(long, default_value = manifests::DEFAULT_AUDIT_WEBHOOK_SECRET, value_name = "NAME", value_parser = object_name)]
        audit_webhook_secret: String,
        /// Pods in this namespace (e.g. Prometheus') may reach the controller's
        /// /metrics; repeat for more. By default no pod may: the NetworkPolicy
        /// admits only the node, for kubelet's probes.
        #[arg(long = "metrics-from-namespace", value_name = "NAMESPACE", value_parser = namespace_name)]
        metrics_from_namespaces: Vec<String>,
        /// Write the Helm chart (deploy/helm/kudo) into DIR instead: the same
        /// objects, with the defaults as its values (for the project's own
        /// regeneration; tests/helm.rs checks the committed one).
        #[arg(long, hide = true, value_name = "DIR")]
        helm_chart: Option<std::path::PathBuf>,
    },
    /// Check the installation on the current cluster: each check with ✓ or ✗, and the fix for each ✗.
    ///
    /// CRDs, admission guards, the controller's leader and its reconciling,
    /// the reaper's last run, kudo-user and kudo-reviewer bound, dangerous
    /// policies, plugin/controller version. Exits 1 when any check fails.
    /// Run it as a cluster admin: it reads kudo's objects across the cluster.
    Doctor(doctor::DoctorArgs),
    /// This plugin's version and, on a cluster, the controller's and the CRDs' versions.
    ///
    /// Warns (stderr) when they differ. Exits 0 whenever it printed the
    /// plugin's version, also when no cluster could be reached (it says so).
    Version(version::VersionArgs),
    /// A cluster with kudo in one process, to try it: users admin, alice (squad-a) and bob (squad-b),
    /// example policies, and the commands to paste; runs until Ctrl-C.
    ///
    /// Runs an in-memory Kubernetes API server on 127.0.0.1, applies kudo's
    /// manifests, runs the controller as its ServiceAccount, and writes a
    /// kubeconfig with one context per user (removed on exit). --demo plays
    /// the whole story once and exits 0, or non-zero if a step fails.
    Sandbox(sandbox::SandboxArgs),
    /// Run the controller (in cluster, or locally against the current kubeconfig).
    ///
    /// Locally, run it as the controller's ServiceAccount, which alone may
    /// write escalation status:
    /// kubectl kudo controller --as system:serviceaccount:kudo-system:kudo-controller
    ///
    /// KUDO_AUDIT_WEBHOOK (environment only, never a flag: the URL is a
    /// secret): POST every audit record (JSON, with a Slack-compatible `text`)
    /// to this URL. In cluster it comes from the Secret that `manifests
    /// --audit-webhook-secret` names.
    Controller(controller::ControllerArgs),
    /// One reaper pass, then exit: delete every kudo binding past its end (the
    /// earlier of its expires-at annotation and its escalation's expiresAt,
    /// revocation or deletion) or whose escalation is gone or final.
    ///
    /// Run every minute by the CronJob kudo-reaper, as ServiceAccount kudo-reaper,
    /// so expiry holds while the controller is down. ClusterRoleBindings and
    /// the bindings kudo recorded go first, several at once, within --budget.
    Reap(reap::ReapArgs),
    /// kubectl's plugin completion protocol (run by completions/kubectl_complete-kudo).
    #[command(name = "__complete", hide = true)]
    Complete {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// Print a shell completion script.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Locked per command, never across the controller: its audit lines go to
    // stdout from worker threads.
    let stdout = || std::io::stdout().lock();
    match cli.command {
        Command::Controller(args) => return controller::run(&cli.kube, args).await,
        Command::Sandbox(args) => return sandbox::run(&cli.kube, args).await,
        Command::Manifests {
            controller_namespace,
            controller_service_account,
            image,
            audit_webhook_secret,
            metrics_from_namespaces,
            helm_chart,
        } => {
            if let Some(dir) = helm_chart {
                return write_chart(&dir);
            }
            let mut opts = manifests::Options {
                namespace: controller_namespace,
                service_account: controller_service_account,
                audit_webhook_secret,
                metrics_from_namespaces,
                ..Default::default()
            };
            if let Some(image) = image {
                opts.image = image;
            }
            let yaml = manifests::render(&opts).context("rendering the install manifests")?;
            stdout().write_all(yaml.as_bytes()).context("writing to stdout")?;
        }
        Command::Reap(args) => return reap::run(&cli.kube, args).await,
        Command::Version(args) => return Ok(version::run(&cli.kube, args).await?),
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "kubectl-kudo", &mut stdout());
        }
        Command::Complete { words } => {
            let words = complete::complete(&words).await;
            stdout().write_all(words.as_bytes()).context("writing to stdout")?;
        }
        Command::Run(args) => {
            let session = session::connect(&cli.kube).await?;
            let code = match run::run(&session, args, &cli.kube).await {
                Ok(code) => code,
                Err(e) => return Err(error::not_installed_if_unserved(&session.client, e).await.into()),
            };
            if code != 0 {
                return Err(error::Exit(code).into());
            }
        }
        user => {
            user_command(&cli.kube, user).await?;
        }
    }
    Ok(())
}

/// Writes every file of the Helm chart under `dir`.
fn write_chart(dir: &std::path::Path) -> anyhow::Result<()> {
    for (path, text) in manifests::helm::chart().context("rendering the Helm chart")? {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// A reader that stops early (`kubectl kudo list | head`) ends a command
/// that prints and exits quietly, as it ends kubectl. Rust starts with
/// SIGPIPE ignored, so the next `println!` would panic on the closed pipe.
/// Not for the servers (controller, dashboard): their sockets are written
/// with MSG_NOSIGNAL anyway, but one client going away must never end them.
fn end_quietly_on_a_closed_pipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIG_DFL installs no handler, so no handler code can run at
    // an unsafe moment; the disposition is process-wide, which is meant.
    if let Err(e) = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) } {
        tracing::debug!(error = %e, "SIGPIPE stays ignored");
    }
}

/// The commands people type, which all start by asking the cluster who they are.
async fn user_command(kube: &kubeconfig::KubeFlags, command: Command) -> Result<(), UserError> {
    use api::ReviewDecision::{Approved, Rejected};
    if !matches!(command, Command::Dashboard(_)) {
        end_quietly_on_a_closed_pipe();
    }
    let session = session::connect(kube).await?;
    let result = match command {
        Command::Escalate(args) => escalate::run(&session, args, kube.namespace.clone()).await,
        Command::Extend(args) => extend::run(&session, args).await,
        Command::Approve(args) => review::run(&session, args, Approved).await,
        Command::Deny(args) => review::run(&session, args, Rejected).await,
        Command::List(args) => list::list(&session, args).await,
        Command::Status(args) => status::status(&session, args).await,
        Command::Revoke(args) => revoke::revoke(&session, args).await,
        Command::Policies(args) => policies::policies(&session, args).await,
        Command::Which(args) => which::which(&session, args, kube.namespace.clone()).await,
        Command::Doctor(args) => doctor::doctor(&session, args).await,
        Command::Dashboard(args) => {
            let client = session.client.clone();
            return match dashboard::run(session, args).await {
                Err(e) => Err(error::not_installed_if_unserved(&client, e).await),
                ok => ok,
            };
        }
        Command::Controller(_)
        | Command::Sandbox(_)
        | Command::Run(_)
        | Command::Manifests { .. }
        | Command::Reap(_)
        | Command::Version(_)
        | Command::Completion { .. }
        | Command::Complete { .. } => Ok(()),
    };
    match result {
        Err(e) => Err(error::not_installed_if_unserved(&session.client, e).await),
        ok => ok,
    }
}

/// A Kubernetes object name (DNS subdomain), checked before it reaches a manifest.
fn object_name(name: &str) -> Result<String, String> {
    crate::operations::object_name("name", name).map(String::from).map_err(|_| {
        "must be a Kubernetes object name: lowercase letters, digits, '-' and '.', at most 253".to_string()
    })
}

/// A namespace name (DNS label).
fn namespace_name(name: &str) -> Result<String, String> {
    crate::operations::namespace_name("namespace", name)
        .map(String::from)
        .map_err(|_| "must be a namespace name: lowercase letters, digits and '-', at most 63".to_string())
}
