//! What the CLI says about an escalation once an operation is done: what
//! was granted, what the controller decided, who asks for what; and the
//! spinner a wait runs behind.

use std::time::Duration;

use jiff::Timestamp;
use kube::ResourceExt;

use super::{error::UserError, format, session::Session};
use crate::{
    api::{Escalation, EscalationState},
    operations::{Error, wait as waiting},
};

/// Waits for ACCEPTED with every grant created, or for a final state, with
/// a spinner (on a terminal) saying what it waits for.
pub async fn wait(session: &Session, name: &str, timeout: Duration) -> Result<Escalation, Error> {
    let spinner = format::spinner("waiting for the controller");
    let seen = |e: &Escalation| {
        if let Some(s) = &e.status {
            spinner.set_message(format!("{}: {}", s.state.as_str(), s.state_details));
        }
    };
    let decided = waiting::decision(session, name, timeout, seen).await;
    spinner.finish_and_clear();
    decided
}

/// Says what was granted (to `out`), or fails with the reason it was not.
pub fn granted(esc: &Escalation, out: &mut impl std::io::Write) -> Result<(), UserError> {
    let esc = waiting::accepted(esc.clone())?;
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

/// `--no-wait`: what the controller made of the request at first (what
/// it waits for, a denial), or that it has not taken it up yet.
pub fn taken_up(name: &str, first: Option<&Escalation>, follow: &str) -> Result<(), UserError> {
    let Some(esc) = first else {
        println!("escalation/{name} created; the controller has not taken it up yet; {follow}");
        return Ok(());
    };
    let Some(status) = esc.status.as_ref().filter(|s| !s.state.is_final()) else {
        return granted(esc, &mut std::io::stdout());
    };
    let details = crate::printable::printable(&status.state_details);
    println!("escalation/{name} {}: {details}\n{follow}", status.state.as_str());
    Ok(())
}

/// What the controller decided, in one or a few lines.
pub fn decided(esc: &Escalation, now: Timestamp) -> String {
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
pub fn asks(esc: &Escalation) -> String {
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
