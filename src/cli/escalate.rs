//! `kubectl kudo escalate POLICY --reason R`: the flags (and, on a
//! terminal, prompts for what they leave out) to `operations::request`,
//! then `operations::wait` behind a spinner, then what was granted.

use std::{io::IsTerminal, time::Duration};

use clap::Args;
use jiff::Timestamp;
use kube::ResourceExt;

use super::{error::UserError, format, report, session::Session};
use crate::operations::{Error, policies, request, wait};

/// What `escalate` and `run` both ask for.
#[derive(Clone, Debug, Args)]
pub struct RequestArgs {
    /// The EscalationPolicy to use (asked for on a terminal when left out).
    #[arg(value_name = "POLICY")]
    pub policy: Option<String>,
    /// Instead of POLICY: the permission needed, as for kubectl auth can-i,
    /// e.g. --for "create pods/portforward -n app"; the one policy that grants it is used.
    #[arg(long = "for", value_name = "VERB RESOURCE [NAME] [-n NS]", conflicts_with = "policy")]
    pub for_permission: Option<String>,
    /// Why you need it; policies may require a ticket reference.
    #[arg(short, long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// How long to hold the grants (default: the policy's defaultDuration), e.g. 30m, 2h.
    #[arg(short, long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Longest wait for the decision.
    #[arg(long, default_value = "15m", value_name = "DURATION")]
    pub timeout: String,
    /// Emergency: skip the policy's break-glass review; granted at once and reviewed afterwards.
    #[arg(long)]
    pub break_glass: bool,
}

#[derive(Clone, Debug, Args)]
pub struct EscalateArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Do not wait for the decision: return once the controller has taken
    /// the request up (PENDING, and what it waits for), or after 10s.
    #[arg(long)]
    pub no_wait: bool,
    /// Start later: not accepted before this time (RFC 3339, e.g. 2026-11-24T08:00:00Z).
    #[arg(long, value_name = "TIME", conflicts_with = "start_in")]
    pub start_at: Option<String>,
    /// Start later: not accepted before this much time from now, e.g. 2h.
    #[arg(long, value_name = "DURATION")]
    pub start_in: Option<String>,
}

/// `namespace`: the global `-n`, for namespaced grants (default: the policy's defaultNamespace).
pub async fn run(session: &Session, args: EscalateArgs, namespace: Option<String>) -> Result<(), UserError> {
    let start_at = request::start_time(args.start_at.as_deref(), args.start_in.as_deref(), Timestamp::now())?;
    let name = create(session, &args.request, start_at, namespace).await?;
    let follow = format!("follow it with: kubectl kudo status {name}");
    if args.no_wait {
        return taken_up(session, &name).await;
    }
    if start_at.is_some() {
        // Nobody waits hours at a prompt: the schedule is in the escalation.
        println!("escalation/{name} created, scheduled; {follow}");
        return Ok(());
    }
    eprintln!("escalation/{name} created");
    let decided = report::wait(session, &name, request::parse_duration(&args.request.timeout, "--timeout")?).await?;
    report::granted(&decided, &mut std::io::stdout())
}

/// What the controller made of a request at first (what it waits for, a
/// denial), so that a reviewer finds it PENDING; after 10 s, that it has not.
pub async fn taken_up(session: &Session, name: &str) -> Result<(), UserError> {
    let follow = format!("follow it with: kubectl kudo status {name}");
    let first = wait::taken_up(session, name, Duration::from_secs(10)).await?;
    report::taken_up(name, first.as_ref(), &follow)
}

/// The request from the flags, asking on a terminal for a missing policy
/// or reason; created once it passes the controller's checks. Its name.
pub async fn create(
    session: &Session,
    args: &RequestArgs,
    start_at: Option<Timestamp>,
    namespace: Option<String>,
) -> Result<String, UserError> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let (policy, namespace) = match &args.for_permission {
        Some(text) => {
            let found = super::which::pick(session, text, namespace.clone(), interactive).await?;
            (Some(found.policy), namespace.or(found.namespace))
        }
        None => (args.policy.clone(), namespace),
    };
    let policy = match policy {
        Some(p) => p,
        None if interactive => super::policies::pick(session).await?,
        None => return Err(Error::NoPolicy.into()),
    };
    let policy = policies::get(session, &policy).await?;
    let reason = match args.reason.clone().filter(|r| !r.trim().is_empty()) {
        Some(r) => r,
        None if interactive => format::ask("Why do you need it?", "reading the reason")?,
        None => return Err(Error::NoReason { policy: policy.name_any() }.into()),
    };
    request::parse_duration(&args.timeout, "--timeout")?;
    let duration = args.duration.clone();
    let (policy_name, break_glass) = (policy.name_any(), args.break_glass);
    let req = request::Request { policy: policy_name, reason, namespace, duration, start_at, break_glass };
    Ok(request::create_for(session, &policy, &req).await?.name_any())
}
