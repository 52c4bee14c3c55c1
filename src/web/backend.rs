//! What the dashboard asks of the cluster, as the user: each function one
//! thing a page shows or a button does. Until the operations layer
//! (issue 20, item 1) lands, these call the CLI's own functions or the API
//! directly; then they become calls into `crate::operations`.

use jiff::Timestamp;
use k8s_openapi::api::events::v1::Event;
use kube::{
    Api, ResourceExt,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

use crate::{
    api::{
        AfterReview, ChallengeKind, Escalation, EscalationPolicy, EscalationReview, EscalationReviewSpec,
        EscalationState, ReviewDecision,
    },
    cli::{
        UserError,
        dashboard::support::{Session, explain, get_escalation, request_escalation},
    },
    engine::review,
};

/// Every escalation the user may list, newest first.
pub async fn escalations(session: &Session) -> Result<Vec<Escalation>, UserError> {
    let api: Api<Escalation> = session.api();
    let mut items = api.list(&ListParams::default()).await.map_err(|e| explain("listing escalations", e))?.items;
    items.sort_by(|a, b| b.creation_timestamp().cmp(&a.creation_timestamp()).then(a.name_any().cmp(&b.name_any())));
    Ok(items)
}

/// Those awaiting my review: PENDING ones I may review and have not, and
/// break-glass ones owing their after-review.
pub struct ToReview {
    pub pending: Vec<Escalation>,
    pub after_review: Vec<Escalation>,
}

pub async fn to_review(session: &Session) -> Result<ToReview, UserError> {
    let all = escalations(session).await?;
    let policies: Api<EscalationPolicy> = session.api();
    let reviews: Api<EscalationReview> = session.api();
    let policies = policies.list(&ListParams::default()).await.map_err(|e| explain("listing policies", e))?.items;
    let reviews = reviews.list(&ListParams::default()).await.map_err(|e| explain("listing reviews", e))?.items;
    let me = &session.me;
    let eligible = |e: &Escalation| {
        let probe = review_object(session, e, ReviewDecision::Approved, String::new());
        policies.iter().filter(|p| p.name_any() == e.spec.policy_name).any(|p| {
            p.spec
                .challenges
                .iter()
                .filter(|c| c.kind == ChallengeKind::PeerReview)
                .any(|c| review::ineligibility(c, e, &probe).is_none())
        })
    };
    let reviewed = |e: &Escalation| {
        let uid = e.uid().unwrap_or_default();
        reviews.iter().any(|r| r.spec.escalation_uid == uid && r.spec.reviewer == me.username)
    };
    let (mut pending, mut after_review) = (Vec::new(), Vec::new());
    for e in all {
        let owes = e.status.as_ref().is_some_and(|s| s.after_review == Some(AfterReview::Pending));
        if owes {
            after_review.push(e);
        } else if e.state() == Some(EscalationState::Pending) && !reviewed(&e) && eligible(&e) {
            pending.push(e);
        }
    }
    Ok(ToReview { pending, after_review })
}

/// The policies I may use, by name.
pub async fn policies(session: &Session) -> Result<Vec<EscalationPolicy>, UserError> {
    let api: Api<EscalationPolicy> = session.api();
    let mut items = api.list(&ListParams::default()).await.map_err(|e| explain("listing policies", e))?.items;
    items.sort_by_key(ResourceExt::name_any);
    crate::cli::dashboard::support::usable(session, items).await
}

/// A request as the form sends it.
pub struct Request {
    pub policy: String,
    pub reason: String,
    pub namespace: Option<String>,
    pub duration: Option<String>,
    pub break_glass: bool,
}

/// Checks the request as `escalate` does and creates it; the new name.
pub async fn request(session: &Session, request: Request) -> Result<String, UserError> {
    if request.reason.trim().is_empty() {
        return Err(UserError::new("a reason is required: say what for, and the ticket"));
    }
    request_escalation(
        session,
        request.policy,
        request.reason,
        request.namespace,
        request.duration,
        request.break_glass,
    )
    .await
}

fn review_object(session: &Session, esc: &Escalation, decision: ReviewDecision, message: String) -> EscalationReview {
    let mut groups = session.me.groups.clone();
    groups.dedup();
    EscalationReview::new(
        "",
        EscalationReviewSpec {
            escalation_name: esc.name_any(),
            escalation_uid: esc.uid().unwrap_or_default(),
            reviewer: session.me.username.clone(),
            reviewer_groups: groups,
            decision,
            message,
        },
    )
}

/// Approve or deny, with the checks and messages of `kubectl kudo approve|deny`.
pub async fn review(
    session: &Session,
    name: &str,
    decision: ReviewDecision,
    message: String,
) -> Result<String, UserError> {
    let api: Api<Escalation> = session.api();
    let esc = get_escalation(&api, name).await?;
    let verb = if decision == ReviewDecision::Approved { "approve" } else { "deny" };
    let owes = esc.status.as_ref().is_some_and(|s| s.after_review == Some(AfterReview::Pending));
    if let Some(s) = esc.state().filter(|s| *s != EscalationState::Pending && !owes) {
        return Err(UserError::new(format!("escalation {name} is {}: there is nothing to {verb}", s.as_str())));
    }
    let policies: Api<EscalationPolicy> = session.api();
    let policy = policies
        .get_opt(&esc.spec.policy_name)
        .await
        .map_err(|e| explain("reading the escalation's policy", e))?
        .ok_or_else(|| {
            UserError::new(format!("policy {} of escalation {name} no longer exists", esc.spec.policy_name))
        })?;
    if !policy.spec.challenges.iter().any(|c| c.kind == ChallengeKind::PeerReview) {
        return Err(UserError::new(format!(
            "policy {} asks for no peer review: there is nothing to {verb}",
            policy.name_any()
        )));
    }
    let mut obj = review_object(session, &esc, decision, message);
    if let Err(why) = review::assess(Some(&policy.spec), &esc, &obj) {
        return Err(UserError::new(format!("you cannot {verb} escalation {name}: {why}")));
    }
    obj.metadata.generate_name = Some(format!("{}-", &name[..name.len().min(57)]));
    let reviews: Api<EscalationReview> = session.api();
    let created = reviews
        .create(&PostParams::default(), &obj)
        .await
        .map_err(|e| explain(&format!("recording your review of {name}"), e))?;
    Ok(created.name_any())
}

/// Ends one of my escalations early.
pub async fn revoke(session: &Session, name: &str) -> Result<(), UserError> {
    let api: Api<Escalation> = session.api();
    let esc = get_escalation(&api, name).await?;
    if let Some(s) = esc.state().filter(|s| s.is_final()) {
        return Err(UserError::new(format!("escalation {name} is already {}", s.as_str())));
    }
    let patch = json!({"spec": {"revoked": true, "revokedBy": session.me.username}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| explain(&format!("revoking escalation {name}"), e))?;
    Ok(())
}

/// One escalation with its reviews and its Events (`None`: not readable).
pub struct Detail {
    pub escalation: Escalation,
    pub reviews: Vec<EscalationReview>,
    pub events: Option<Vec<TimelineEntry>>,
}

pub struct TimelineEntry {
    pub at: Option<Timestamp>,
    pub reason: String,
    pub note: String,
}

pub async fn detail(session: &Session, name: &str) -> Result<Detail, UserError> {
    let api: Api<Escalation> = session.api();
    let escalation = get_escalation(&api, name).await?;
    let uid = escalation.uid().unwrap_or_default();
    let reviews: Api<EscalationReview> = session.api();
    let reviews = match reviews.list(&ListParams::default()).await {
        Ok(list) => list.items.into_iter().filter(|r| r.spec.escalation_uid == uid).collect(),
        Err(_) => Vec::new(),
    };
    // The controller's Events on cluster-scoped escalations live in `default`.
    let events: Api<Event> = Api::namespaced(session.client.clone(), "default");
    let events = events.list(&ListParams::default()).await.ok().map(|list| {
        let mut mine: Vec<TimelineEntry> = list
            .items
            .into_iter()
            .filter(|e| {
                e.regarding
                    .as_ref()
                    .is_some_and(|r| r.name.as_deref() == Some(name) && r.kind.as_deref() == Some("Escalation"))
            })
            .map(|e| TimelineEntry {
                at: e.event_time.as_ref().map(|t| t.0).or(e.metadata.creation_timestamp.as_ref().map(|t| t.0)),
                reason: e.reason.unwrap_or_default(),
                // kudo's notes are escaped for chat; the page escapes for HTML.
                note: crate::audit::chat::unescape(&e.note.unwrap_or_default()),
            })
            .collect();
        mine.sort_by_key(|e| e.at);
        mine
    });
    Ok(Detail { escalation, reviews, events })
}
