//! `kubectl kudo escalate POLICY --reason R`: the flags (and, on a
//! terminal, prompts for what they leave out) to `operations::request`,
//! then a spinner while `operations::wait` waits, then what was granted.

use std::{io::IsTerminal, time::Duration};

use clap::Args;
use jiff::Timestamp;
use kube::ResourceExt;

use super::{error::UserError, format, session::Session};
use crate::{
    api::Escalation,
    operations::{Error, policies, request, wait},
};

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
        // What the controller made of it at first, so that a reviewer finds it PENDING.
        let Some(esc) = wait::taken_up(session, &name, Duration::from_secs(10)).await? else {
            println!("escalation/{name} created; the controller has not taken it up yet; {follow}");
            return Ok(());
        };
        let Some(status) = esc.status.as_ref().filter(|s| !s.state.is_final()) else {
            return report(&esc, &mut std::io::stdout());
        };
        let details = crate::printable::printable(&status.state_details);
        println!("escalation/{name} {}: {details}\n{follow}", status.state.as_str());
        return Ok(());
    }
    if start_at.is_some() {
        // Nobody waits hours at a prompt: the schedule is in the escalation.
        println!("escalation/{name} created, scheduled; {follow}");
        return Ok(());
    }
    eprintln!("escalation/{name} created");
    let decided = wait(session, &name, request::parse_duration(&args.request.timeout, "--timeout")?).await?;
    report(&decided, &mut std::io::stdout())
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
        None if interactive => pick(session).await?,
        None => return Err(Error::NoPolicy.into()),
    };
    let policy = policies::get(session, &policy).await?;
    let reason = match args.reason.clone().filter(|r| !r.trim().is_empty()) {
        Some(r) => r,
        None if interactive => prompt("Why do you need it?")?,
        None => return Err(Error::NoReason { policy: policy.name_any() }.into()),
    };
    request::parse_duration(&args.timeout, "--timeout")?;
    let duration = args.duration.clone();
    let (policy_name, break_glass) = (policy.name_any(), args.break_glass);
    let req = request::Request { policy: policy_name, reason, namespace, duration, start_at, break_glass };
    Ok(request::create_for(session, &policy, &req).await?.name_any())
}

async fn pick(session: &Session) -> Result<String, UserError> {
    let usable = policies::usable_names(session).await?;
    if usable.is_empty() {
        return Err(Error::NoUsablePolicy.into());
    }
    Ok(usable[format::choose("Which policy?", &usable)?].clone())
}

fn prompt(question: &str) -> Result<String, UserError> {
    let answer = dialoguer::Input::<String>::new().with_prompt(question).interact_text();
    answer.map_err(|e| UserError::new(format!("reading the reason: {e}")))
}

/// Waits for ACCEPTED with every grant created, or for a final state, with
/// a spinner (on a terminal) saying what it waits for.
pub async fn wait(session: &Session, name: &str, timeout: Duration) -> Result<Escalation, Error> {
    let spinner = format::spinner("waiting for the controller");
    let seen = |e: &Escalation| {
        if let Some(s) = &e.status {
            spinner.set_message(format!("{}: {}", s.state.as_str(), s.state_details));
        }
    };
    let decided = wait::decision(session, name, timeout, seen).await;
    spinner.finish_and_clear();
    decided
}

/// Says what was granted (to `out`), or fails with the reason it was not.
pub fn report(esc: &Escalation, out: &mut impl std::io::Write) -> Result<(), UserError> {
    let esc = wait::accepted(esc.clone())?;
    let Some(status) = &esc.status else { return Ok(()) };
    let name = esc.name_any();
    let until = status.expires_at.as_ref().map(|t| t.0);
    let mut text = format!("escalation/{name} ACCEPTED until {}\n", format::until(until, Timestamp::now()));
    for r in &status.grant_refs {
        text +=
            &format!("  granted {:?} {} {}\n", r.role_ref.kind, r.role_ref.name, format::place(&r.reference.namespace));
    }
    text += &format!("revoke early with: kubectl kudo revoke {name}\n");
    // A closed stdout (`| head`) loses the report, not the escalation.
    let _ = out.write_all(text.as_bytes());
    Ok(())
}
