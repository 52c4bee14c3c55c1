//! `kubectl kudo status NAME`: one escalation in detail
//! (`operations::status`), with its grants' live state and Events.

use clap::Args;
use jiff::Timestamp;

use super::{error::UserError, format, session::Session};
use crate::{
    api::{AfterReview, EscalationState},
    engine::Observation,
    operations::status::{self, Live},
};

#[derive(Clone, Debug, Args)]
pub struct NameArg {
    #[arg(value_name = "NAME")]
    pub name: String,
}

pub async fn status(session: &Session, args: NameArg) -> Result<(), UserError> {
    let now = Timestamp::now();
    let detail = status::status(session, &args.name, now).await?;
    let esc = &detail.escalation;
    let mut out = String::new();
    // Every line may carry user-written text: escape it (one line stays one line).
    let line = |out: &mut String, s: String| {
        out.push_str(&crate::printable::printable(&s));
        out.push('\n');
    };
    line(&mut out, format!("Name:       {}", kube::ResourceExt::name_any(esc)));
    line(&mut out, format!("Policy:     {}", esc.spec.policy_name));
    line(&mut out, format!("Requestor:  {}", esc.spec.requestor));
    line(&mut out, format!("Reason:     {}", esc.spec.reason));
    if let Some(at) = &esc.spec.start_at {
        line(&mut out, format!("Starts:     {} ({})", at.0, format::relative(at.0, now)));
    }
    if esc.spec.break_glass {
        let owed = esc.status.as_ref().and_then(|s| s.after_review).map_or("PENDING", |a| match a {
            AfterReview::Pending => "PENDING: an eligible reviewer must approve or deny it",
            AfterReview::Approved => "APPROVED",
            AfterReview::Rejected => "REJECTED",
        });
        line(&mut out, format!("Break-glass: after-review {owed}"));
    }
    let state = esc.status.as_ref().map_or("NEW (not yet seen by the controller)", |s| s.state.as_str());
    line(&mut out, format!("State:      {state}"));
    if let Some(s) = &esc.status {
        line(&mut out, format!("Details:    {}", s.state_details));
        if let Some(at) = &s.accepted_at {
            line(&mut out, format!("Accepted:   {} ({})", at.0, format::relative(at.0, now)));
        }
        if let Some(at) = &s.expires_at {
            let left = if s.state == EscalationState::Accepted { format::relative(at.0, now) } else { "over".into() };
            line(&mut out, format!("Expires:    {} ({left})", at.0));
        }
        if !s.challenges.is_empty() {
            line(&mut out, "Challenges:".into());
            for c in &s.challenges {
                let by = if c.approved_by.is_empty() {
                    String::new()
                } else {
                    format!(" approved by {}", c.approved_by.join(", "))
                };
                line(&mut out, format!("  {:?}: {:?}{by} — {}", c.kind, c.state, c.message));
            }
        }
    }
    if !detail.grants.is_empty() {
        line(&mut out, "Grants:".into());
        for g in &detail.grants {
            let seen = match &g.live {
                Live::Seen(Observation::Intact) => "present".to_string(),
                Live::Seen(other) => format!("{other:?}"),
                Live::Unknown => "unknown".into(),
                Live::Absent => "absent".into(),
                Live::Unreadable => "unknown (you may not read bindings)".into(),
            };
            let (r, place) = (&g.grant, format::place(&g.grant.reference.namespace));
            let (kind, name) = (r.reference.kind, &r.reference.name);
            let (role_kind, role, state) = (r.role_ref.kind, &r.role_ref.name, r.status);
            line(&mut out, format!("  {kind:?} {name} {place} -> {role_kind:?} {role}: {state:?}, live: {seen}"));
        }
    }
    match detail.timeline {
        None => line(&mut out, "Events:     (not shown: you may not list events in namespace default)".into()),
        Some(entries) if !entries.is_empty() => {
            line(&mut out, "Events:".into());
            for e in entries {
                let at = e.at.map(|t| format::age(t, now)).unwrap_or_default();
                line(&mut out, format!("  {at:>6}  {:<15} {}", e.reason, e.note));
            }
        }
        Some(_) => {}
    }
    print!("{out}");
    Ok(())
}
