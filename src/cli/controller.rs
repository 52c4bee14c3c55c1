//! `kubectl kudo controller`: flags, logging, signals; the loop is `crate::controller`.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::{kubeconfig::KubeFlags, redacting::Redacting};
use crate::{
    api,
    audit::{SinkConfig, WEBHOOK_ENV, WebhookUrl},
    controller,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Args)]
pub struct ControllerArgs {
    /// Log format (logs go to stderr; audit lines to stdout).
    #[arg(long, value_enum, default_value = "text", env = "KUDO_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter, as RUST_LOG (e.g. info, kudo=debug).
    #[arg(long, default_value = "info", env = "KUDO_LOG")]
    pub log: String,
    /// Namespace kudo is installed in: its leader Lease lives there.
    #[arg(long, default_value = api::DEFAULT_NAMESPACE, env = "POD_NAMESPACE", value_name = "NAMESPACE")]
    pub kudo_namespace: String,
    /// The controller's ServiceAccount, in NAMESPACE: the admission guards it
    /// checks must name it (as `kubectl kudo manifests --controller-service-account` wrote them).
    #[arg(long, default_value = api::DEFAULT_SERVICE_ACCOUNT, env = "POD_SERVICE_ACCOUNT", value_name = "NAME")]
    pub service_account: String,
    /// Elect a leader on a Lease before acting; keep on with more than one replica.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub leader_elect: bool,
    /// This replica's identity in the Lease (default: the pod name, else the host name).
    #[arg(long, env = "POD_NAME", value_name = "NAME")]
    pub identity: Option<String>,
    /// How long a leader's Lease lasts without renewal.
    #[arg(long, default_value = "15s", value_parser = parse_duration, value_name = "DURATION")]
    pub lease_duration: Duration,
    /// How often to sweep orphan bindings and report dangerous policies.
    #[arg(long, default_value = "1m", value_parser = parse_duration, value_name = "DURATION")]
    pub sweep_interval: Duration,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Audit records waiting for the webhook before new ones are refused (and counted).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub audit_queue: usize,
    /// Delivery attempts per audit record, with doubling backoff from 500 ms.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub audit_attempts: u32,
    /// Escalations reconciled at once.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub concurrency: u16,
    /// DENIED and EXPIRED escalations are deleted this long after they ended (after an audit record of the whole object).
    #[arg(long, default_value = "720h", value_parser = parse_duration, env = "KUDO_RETAIN_FINISHED", value_name = "DURATION")]
    pub retain_finished: Duration,
    /// At most this many DENIED and EXPIRED escalations are kept per requestor: the oldest beyond go first
    /// (after an audit record of the whole object), never one still owed its break-glass after-review.
    #[arg(long, default_value_t = 100, env = "KUDO_RETAIN_FINISHED_PER_REQUESTOR", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub retain_finished_per_requestor: u32,
}

pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = api::DurationText::new(text).parse().map_err(|e| e.to_string())?;
    let d: Duration = d.try_into().map_err(|_| format!("{text}: must not be negative"))?;
    if d.is_zero() { Err(format!("{text}: must be longer than 0s")) } else { Ok(d) }
}

pub async fn run(kube: &KubeFlags, args: ControllerArgs) -> anyhow::Result<()> {
    // Read before the logger exists, so that the logger knows what to scrub.
    let webhook = webhook_from_env()?;
    init_logging(args.log_format, &args.log, webhook.as_ref().map(WebhookUrl::secrets).unwrap_or_default())?;
    let client = kube.client().await.context("connecting to the cluster")?;
    let identity = args.identity.clone().unwrap_or_else(|| {
        std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "kudo-controller".into())
    });
    let options = controller::Options {
        namespace: args.kudo_namespace,
        service_account: args.service_account,
        leader_election: args.leader_elect,
        identity,
        lease_duration: args.lease_duration,
        sweep_interval: args.sweep_interval,
        listen: Some(args.listen),
        audit_webhook: webhook.map(|url| SinkConfig {
            url,
            queue: args.audit_queue,
            attempts: args.audit_attempts,
            backoff: Duration::from_millis(500),
        }),
        concurrency: args.concurrency,
        retain_finished: jiff::SignedDuration::try_from(args.retain_finished)
            .context("--retain-finished is too large")?,
        retain_per_requestor: args.retain_finished_per_requestor as usize,
        ..controller::Options::default()
    };
    controller::run(client, options, shutdown_signal()).await.context("controller")
}

/// The webhook URL from [`WEBHOOK_ENV`]; unset or empty means none (the
/// Deployment's secretKeyRef is optional). No error repeats the value.
fn webhook_from_env() -> anyhow::Result<Option<WebhookUrl>> {
    match std::env::var(WEBHOOK_ENV) {
        Ok(url) if url.trim().is_empty() => Ok(None),
        Ok(url) => Ok(Some(WebhookUrl::parse(url.trim()).with_context(|| format!("${WEBHOOK_ENV}"))?)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        // VarError's own message would quote the value.
        Err(std::env::VarError::NotUnicode(_)) => anyhow::bail!("${WEBHOOK_ENV} is not valid UTF-8"),
    }
}

/// Logs go to stderr with every one of `secrets` scrubbed from every line.
pub(super) fn init_logging(format: LogFormat, filter: &str, secrets: Vec<String>) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).with_context(|| format!("--log {filter}"))?;
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(Redacting::new(std::io::stderr, secrets));
    let installed = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("installing the logger: {e}"))
}

/// SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down: finishing in-flight reconciles");
}
