//! `kubectl kudo approve|deny NAME`: `operations::review`'s checks, then
//! who asks for what and what it would grant, a confirmation, the review.

use std::io::IsTerminal;

use clap::Args;
use jiff::Timestamp;
use kube::ResourceExt;

use super::{error::UserError, format, session::Session};
use crate::{
    api::{Escalation, EscalationState, ReviewDecision},
    operations::{review, wait},
};

#[derive(Clone, Debug, Args)]
pub struct ReviewArgs {
    /// The escalation to review (also as `list -o name` prints it: escalation/NAME).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// A note for the requestor and the audit log.
    #[arg(short, long, value_name = "TEXT")]
    pub message: Option<String>,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    /// Then wait (up to a minute) until the controller has acted on the
    /// review, and say what it decided: granted, denied, or what it still waits for.
    #[arg(long)]
    pub wait: bool,
}

/// How long `--wait` waits: the controller acts within a second when it runs.
const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

pub async fn run(session: &Session, args: ReviewArgs, decision: ReviewDecision) -> Result<(), UserError> {
    let message = args.message.clone().unwrap_or_default();
    let prepared = review::prepare(session, &args.name, decision, &message).await?;
    let (esc, name, verb) = (&prepared.escalation, prepared.name(), review::verb(decision));
    println!("{}", summary(esc));
    match esc.status.as_ref().and_then(|s| s.grant_preview.as_ref()) {
        Some(preview) => {
            println!("  it would grant:");
            for line in crate::engine::preview::lines(preview) {
                println!("    {line}");
            }
        }
        None => println!("  (no grant preview yet: the controller adds one when a review is asked for)"),
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(UserError::new("not confirmed: no terminal to ask on")
                .hint(format!("kubectl kudo {verb} {name} --yes")));
        }
        let ok = dialoguer::Confirm::new()
            .with_prompt(format!("{} escalation {name}?", if verb == "approve" { "Approve" } else { "Deny" }))
            .default(false)
            .interact()
            .map_err(|e| UserError::new(format!("asking for confirmation: {e}")))?;
        if !ok {
            return Err(UserError::new("not confirmed; nothing was done"));
        }
    }
    let created = review::submit(session, &prepared).await?;
    let done = if decision == ReviewDecision::Approved { "approved" } else { "denied" };
    println!("escalation/{name} {done} (escalationreview/{})", created.name_any());
    if args.wait {
        let reviewer = &session.me.username;
        let acted = wait::review_acted(session, &name, reviewer, prepared.after_review, WAIT).await?;
        println!("{}", outcome(&acted, Timestamp::now()));
    }
    Ok(())
}

/// What the controller decided, in one or a few lines.
fn outcome(esc: &Escalation, now: Timestamp) -> String {
    let name = esc.name_any();
    let Some(status) = &esc.status else { return format!("escalation/{name} has no status yet") };
    match status.state {
        EscalationState::Accepted => {
            let until = status.expires_at.as_ref().map(|t| t.0);
            let mut text = format!("escalation/{name} ACCEPTED until {}", format::until(until, now));
            for r in &status.grant_refs {
                text += &format!(
                    "\n  granted {:?} {} {} to {}",
                    r.role_ref.kind,
                    r.role_ref.name,
                    format::place(&r.reference.namespace),
                    crate::printable::printable(&esc.spec.requestor)
                );
            }
            text
        }
        state => {
            format!("escalation/{name} {}: {}", state.as_str(), crate::printable::printable(&status.state_details))
        }
    }
}

/// Who asks for what, why, and for how long.
pub fn summary(esc: &Escalation) -> String {
    let spec = &esc.spec;
    let clean = |s: &str| crate::printable::printable(s).into_owned();
    let created =
        esc.metadata.creation_timestamp.as_ref().map(|t| format::age(t.0, Timestamp::now())).unwrap_or_default();
    format!(
        "{} asks for policy {}{}{}, {created} ago\n  reason: {}",
        clean(&spec.requestor),
        clean(&spec.policy_name),
        spec.namespace.as_ref().map(|n| format!(" in namespace {}", clean(n))).unwrap_or_default(),
        spec.duration
            .as_ref()
            .map(|d| format!(" for {}", clean(&d.to_string())))
            .unwrap_or_else(|| " for the policy's default duration".into()),
        clean(&spec.reason)
    )
}
