//! `kubectl kudo approve|deny NAME`: `operations::review`'s checks, then
//! who asks for what and what it would grant, a confirmation, the review.

use std::io::IsTerminal;

use clap::Args;
use jiff::Timestamp;
use kube::ResourceExt;

use super::{error::UserError, report, session::Session};
use crate::{
    api::ReviewDecision,
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
    println!("{}", report::asks(esc));
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
        println!("{}", report::decided(&acted, Timestamp::now()));
    }
    Ok(())
}
