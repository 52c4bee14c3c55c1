//! `kubectl kudo approve|deny NAME`.

use std::io::IsTerminal;

use clap::Args;
use jiff::Timestamp;
use kube::{Api, ResourceExt, api::PostParams};

use super::{
    error::{UserError, explain},
    format,
    session::Session,
};
use crate::{
    api::{
        AfterReview, ChallengeKind, Escalation, EscalationPolicy, EscalationReview, EscalationReviewSpec,
        EscalationState, ReviewDecision,
    },
    engine::review,
};

#[derive(Clone, Debug, Args)]
pub struct ReviewArgs {
    /// The escalation to review.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// A note for the requestor and the audit log.
    #[arg(short, long, value_name = "TEXT")]
    pub message: Option<String>,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
}

pub async fn run(session: &Session, args: ReviewArgs, decision: ReviewDecision) -> Result<(), UserError> {
    let escalations: Api<Escalation> = session.api();
    let esc = get_escalation(&escalations, &args.name).await?;
    let name = esc.name_any();
    let verb = if decision == ReviewDecision::Approved { "approve" } else { "deny" };
    let state = esc.state();
    let owes_after_review = esc.status.as_ref().is_some_and(|s| s.after_review == Some(AfterReview::Pending));
    if state.is_some_and(|s| s != EscalationState::Pending) && !owes_after_review {
        let s = state.map(EscalationState::as_str).unwrap_or_default();
        return Err(UserError::new(format!("escalation {name} is {s}: there is nothing to {verb}")));
    }
    let mut groups = session.me.groups.clone();
    groups.dedup();
    let review_obj = EscalationReview::new(
        "",
        EscalationReviewSpec {
            escalation_name: name.clone(),
            escalation_uid: esc.uid().unwrap_or_default(),
            reviewer: session.me.username.clone(),
            reviewer_groups: groups,
            decision,
            message: args.message.clone().unwrap_or_default(),
        },
    );
    // The controller would not count it: say why before creating anything.
    let policies: Api<EscalationPolicy> = session.api();
    let policy = policies
        .get_opt(&esc.spec.policy_name)
        .await
        .map_err(|e| explain("reading the escalation's policy", e))?
        .ok_or_else(|| {
            UserError::new(format!("policy {} of escalation {name} no longer exists", esc.spec.policy_name))
        })?;
    let peer_reviews: Vec<_> = policy.spec.challenges.iter().filter(|c| c.kind == ChallengeKind::PeerReview).collect();
    if peer_reviews.is_empty() {
        return Err(UserError::new(format!(
            "policy {} asks for no peer review: there is nothing to {verb}",
            policy.name_any()
        )));
    }
    // The controller's own rule: eligible for a stage, or for the after-review a break-glass escalation owes.
    if let Err(why) = review::assess(Some(&policy.spec), &esc, &review_obj) {
        return Err(UserError::new(format!("you cannot {verb} escalation {name}: {why}")));
    }

    println!("{}", summary(&esc));
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
    let reviews: Api<EscalationReview> = session.api();
    let mut obj = review_obj;
    obj.metadata.name = None;
    obj.metadata.generate_name = Some(format!("{}-", &name[..name.len().min(57)]));
    let created = reviews
        .create(&PostParams::default(), &obj)
        .await
        .map_err(|e| explain(&format!("recording your review of {name}"), e))?;
    let done = if decision == ReviewDecision::Approved { "approved" } else { "denied" };
    println!("escalation/{name} {done} (escalationreview/{})", created.name_any());
    Ok(())
}

pub async fn get_escalation(api: &Api<Escalation>, name: &str) -> Result<Escalation, UserError> {
    api.get_opt(name).await.map_err(|e| explain(&format!("reading escalation {name}"), e))?.ok_or_else(|| {
        UserError::new(format!("escalation {name} not found")).hint("kubectl kudo list --all shows them")
    })
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
