//! `kubectl kudo status NAME`: one escalation in detail, with its grants' live state and Events.

use clap::Args;
use jiff::Timestamp;
use k8s_openapi::api::events::v1::Event;
use kube::{Api, ResourceExt, api::ListParams};

use super::{error::UserError, format, review::get_escalation, session::Session};
use crate::{
    api::{Escalation, EscalationState},
    engine::binding,
    grants::Grants,
};

#[derive(Clone, Debug, Args)]
pub struct NameArg {
    #[arg(value_name = "NAME")]
    pub name: String,
}

pub async fn status(session: &Session, args: NameArg) -> Result<(), UserError> {
    let api: Api<Escalation> = session.api();
    let esc = get_escalation(&api, &args.name).await?;
    let now = Timestamp::now();
    let name = esc.name_any();
    let mut out = String::new();
    // Every line may carry user-written text: escape it (one line stays one line).
    let line = |out: &mut String, s: String| {
        out.push_str(&crate::printable::printable(&s));
        out.push('\n');
    };
    line(&mut out, format!("Name:       {name}"));
    line(&mut out, format!("Policy:     {}", esc.spec.policy_name));
    line(&mut out, format!("Requestor:  {}", esc.spec.requestor));
    line(&mut out, format!("Reason:     {}", esc.spec.reason));
    if let Some(at) = &esc.spec.start_at {
        line(&mut out, format!("Starts:     {} ({})", at.0, format::relative(at.0, now)));
    }
    if let Some(target) = esc.extends() {
        let count = esc.status.as_ref().map(|s| s.extension_count).filter(|c| *c > 0);
        let nth = count.map(|c| format!(" (extension {c} of its chain)")).unwrap_or_default();
        line(&mut out, format!("Extends:    {target}{nth}"));
    }
    if esc.spec.break_glass {
        let owed = esc.status.as_ref().and_then(|s| s.after_review).map_or("PENDING", |a| match a {
            crate::api::AfterReview::Pending => "PENDING: an eligible reviewer must approve or deny it",
            crate::api::AfterReview::Approved => "APPROVED",
            crate::api::AfterReview::Rejected => "REJECTED",
        });
        line(&mut out, format!("Break-glass: after-review {owed}"));
    }
    let status = esc.status.clone();
    let state = status.as_ref().map_or("NEW (not yet seen by the controller)", |s| s.state.as_str());
    line(&mut out, format!("State:      {state}"));
    if let Some(s) = &status {
        line(&mut out, format!("Details:    {}", s.state_details));
        if let Some(by) = &s.superseded_by {
            line(&mut out, format!("Superseded: by {by} (kubectl kudo status {by})"));
        }
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
        if !s.grant_refs.is_empty() {
            line(&mut out, "Grants:".into());
            let live = Grants::new(session.client.clone());
            for r in &s.grant_refs {
                let seen = match live.get(r).await {
                    Ok(Some(b)) => match binding::binding(&esc, r).map(|d| binding::observe(&d, Some(&b))) {
                        Some(crate::engine::Observation::Intact) => "present".to_string(),
                        Some(other) => format!("{other:?}"),
                        None => "unknown".to_string(),
                    },
                    Ok(None) => "absent".into(),
                    Err(_) => "unknown (you may not read bindings)".into(),
                };
                line(
                    &mut out,
                    format!(
                        "  {:?} {} {} -> {:?} {}: {:?}, live: {seen}",
                        r.reference.kind,
                        r.reference.name,
                        format::place(&r.reference.namespace),
                        r.role_ref.kind,
                        r.role_ref.name,
                        r.status
                    ),
                );
            }
        }
    }
    // The controller's Events on cluster-scoped escalations live in `default`.
    let events: Api<Event> = Api::namespaced(session.client.clone(), "default");
    let listed = events.list(&ListParams::default()).await;
    if listed.is_err() {
        line(&mut out, "Events:     (not shown: you may not list events in namespace default)".into());
    }
    if let Ok(list) = listed {
        let mut mine: Vec<Event> = list
            .items
            .into_iter()
            .filter(|e| {
                e.regarding.as_ref().is_some_and(|r| {
                    r.name.as_deref() == Some(name.as_str()) && r.kind.as_deref() == Some("Escalation")
                })
            })
            .collect();
        mine.sort_by_key(|e| {
            e.event_time.as_ref().map(|t| t.0).or(e.metadata.creation_timestamp.as_ref().map(|t| t.0))
        });
        if !mine.is_empty() {
            line(&mut out, "Events:".into());
            for e in mine {
                let at = e.event_time.as_ref().map(|t| t.0).or(e.metadata.creation_timestamp.as_ref().map(|t| t.0));
                line(
                    &mut out,
                    format!(
                        "  {:>6}  {:<15} {}",
                        at.map(|t| format::age(t, now)).unwrap_or_default(),
                        e.reason.unwrap_or_default(),
                        // kudo's notes are escaped for chat; a terminal shows them as written.
                        crate::audit::chat::unescape(&e.note.unwrap_or_default())
                    ),
                );
            }
        }
    }
    print!("{out}");
    Ok(())
}
