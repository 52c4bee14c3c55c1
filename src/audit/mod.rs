//! Audit (DESIGN §6): every transition and every grant created or reclaimed
//! becomes one [`Record`], written as (1) an Event on the Escalation, (2) one
//! JSON line on stdout, and (3) optionally a POST to an HTTP sink.

pub mod chat;
pub mod events;
mod sink;
mod webhook_url;

use std::io::Write;

use jiff::Timestamp;
use kube::Resource;
use serde::Serialize;

pub use events::{EventQueue, EventWriter};
pub use sink::{Sink, SinkConfig, SinkCounters};
pub(crate) use sink::{http_client, post};
pub use webhook_url::{WEBHOOK_ENV, WebhookUrl, WebhookUrlError, learn, redact, redact_learned};

use crate::{
    api::{ChallengeKind, Escalation, EscalationState, GrantRef, GrantStatus},
    engine::binding::Binding,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// The escalation changed state.
    Transition,
    GrantCreated,
    GrantReclaimed,
    /// A kudo-labelled binding without a live, accepted escalation was deleted.
    OrphanReclaimed,
    /// A review was received: counted toward a challenge, or not and why.
    ReviewReceived,
    /// The escalation was deleted (its grants reclaimed first).
    Deleted,
    /// A finished escalation was deleted after `--retain-finished`.
    RetentionDeleted,
    /// A break-glass escalation's after-review was decided (`afterReviewBy` says by whom).
    AfterReviewed,
    /// A review naming no existing escalation was deleted.
    OrphanReviewDeleted,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantSummary {
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub role: String,
    pub status: GrantStatus,
}

/// One audit record: who, what policy, which grants, why, who reviewed, when.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Always `kudo.audit`, to pick audit lines out of a log stream.
    pub kind: &'static str,
    pub time: Timestamp,
    pub action: Action,
    pub escalation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation_uid: Option<String>,
    pub policy: String,
    pub requestor: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<EscalationState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<EscalationState>,
    pub details: String,
    pub grants: Vec<GrantSummary>,
    pub reviewers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// One human sentence; the field Slack-compatible webhooks display.
    /// Control characters are escaped, and `&` `<` `>` as Slack's entities
    /// (see `chat`): user text can neither ping nor disguise a link.
    pub text: String,
    /// ReviewReceived: the review, and whether it counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewSummary>,
    /// Deleted and RetentionDeleted: the whole object, as it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<serde_json::Value>,
    /// A break-glass escalation: accepted without its review, owed one after.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub break_glass: bool,
    /// Break-glass only: the after-review, PENDING until an eligible reviewer gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_review: Option<crate::api::AfterReview>,
    /// Who decided the after-review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_review_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewSummary {
    pub name: String,
    pub reviewer: String,
    pub decision: crate::api::ReviewDecision,
    pub message: String,
    pub counted: bool,
    pub why: String,
}

fn summary(r: &GrantRef) -> GrantSummary {
    GrantSummary {
        kind: format!("{:?}", r.reference.kind),
        name: r.reference.name.clone(),
        namespace: r.reference.namespace.clone(),
        role: format!("{:?}/{}", r.role_ref.kind, r.role_ref.name),
        status: r.status,
    }
}

impl Record {
    /// A record about `escalation` as it now stands (status already updated).
    pub fn new(now: Timestamp, action: Action, escalation: &Escalation, from: Option<EscalationState>) -> Self {
        let status = escalation.status.as_ref();
        let name = escalation.metadata.name.clone().unwrap_or_default();
        let state = status.map(|s| s.state);
        let details = status.map(|s| s.state_details.clone()).unwrap_or_default();
        let reviewers = status
            .map(|s| {
                s.challenges
                    .iter()
                    .filter(|c| c.kind == ChallengeKind::PeerReview)
                    .flat_map(|c| c.approved_by.iter().cloned())
                    .collect()
            })
            .unwrap_or_default();
        let spec = &escalation.spec;
        let break_glass = spec.break_glass;
        let text = match (action, state) {
            (Action::Transition, Some(EscalationState::Accepted)) if break_glass => format!(
                "BREAK-GLASS: {} took policy {} without review ({}): {details}. Every eligible reviewer: review it now with `kubectl kudo approve {name}` or `kubectl kudo deny {name}` (deny ends it at once).",
                spec.requestor, spec.policy_name, spec.reason
            ),
            (Action::Transition, Some(EscalationState::Pending)) => format!(
                "{} asks for policy {} ({}): {details}. Review with `kubectl kudo approve {name}` or `kubectl kudo deny {name}`.",
                spec.requestor, spec.policy_name, spec.reason
            ),
            (Action::Transition, Some(s)) => {
                format!(
                    "Escalation {name} of {} (policy {}) is {}: {details}",
                    spec.requestor,
                    spec.policy_name,
                    s.as_str()
                )
            }
            (Action::GrantCreated, _) => {
                format!("kudo granted {} to {} for escalation {name}", spec.policy_name, spec.requestor)
            }
            (Action::GrantReclaimed | Action::OrphanReclaimed, _) => {
                format!("kudo reclaimed a grant of escalation {name} ({})", spec.requestor)
            }
            (Action::Transition, None) => format!("Escalation {name}: {details}"),
            (Action::ReviewReceived, _) => format!("Review of escalation {name}"),
            (Action::Deleted, _) => {
                format!("Escalation {name} of {} was deleted; its grants are reclaimed", spec.requestor)
            }
            (Action::RetentionDeleted, _) => format!(
                "Escalation {name} of {} ({}) is deleted: it ended longer ago than the retention period",
                spec.requestor,
                state.map_or("NEW", EscalationState::as_str)
            ),
            (Action::OrphanReviewDeleted, _) => format!("A review of escalation {name} was deleted"),
            (Action::AfterReviewed, _) => format!(
                "The break-glass after-review of escalation {name} of {} (policy {}) was {} by {}",
                spec.requestor,
                spec.policy_name,
                match status.and_then(|s| s.after_review) {
                    Some(crate::api::AfterReview::Rejected) => "rejected",
                    Some(crate::api::AfterReview::Approved) => "approved",
                    _ => "given",
                },
                status.and_then(|s| s.after_review_by.as_deref()).unwrap_or("an eligible reviewer")
            ),
        };
        Record {
            kind: "kudo.audit",
            time: now,
            action,
            escalation: name,
            escalation_uid: escalation.metadata.uid.clone(),
            policy: spec.policy_name.clone(),
            requestor: spec.requestor.clone(),
            reason: spec.reason.clone(),
            from,
            state,
            details,
            grants: status.map(|s| s.grant_refs.iter().map(summary).collect()).unwrap_or_default(),
            reviewers,
            accepted_at: status.and_then(|s| s.accepted_at.as_ref().map(|t| t.0)),
            expires_at: status.and_then(|s| s.expires_at.as_ref().map(|t| t.0)),
            text: chat::text(&text),
            review: None,
            object: None,
            break_glass,
            after_review: status.and_then(|s| s.after_review),
            after_review_by: status.and_then(|s| s.after_review_by.clone()),
        }
    }

    /// A record of a review kudo received, counted (`Ok`, toward what) or not (`Err`, why).
    pub fn review(
        now: Timestamp,
        escalation: &Escalation,
        review: &crate::api::EscalationReview,
        verdict: &Result<String, String>,
    ) -> Self {
        let mut record = Self::new(now, Action::ReviewReceived, escalation, None);
        let (counted, why) = match verdict {
            Ok(how) => (true, how.clone()),
            Err(why) => (false, why.clone()),
        };
        let spec = &review.spec;
        let decision = match spec.decision {
            crate::api::ReviewDecision::Approved => "approved",
            crate::api::ReviewDecision::Rejected => "rejected",
        };
        let text = format!(
            "{} {decision} escalation {} of {}{}: {}",
            spec.reviewer,
            record.escalation,
            record.requestor,
            if spec.message.is_empty() { String::new() } else { format!(" ({})", spec.message) },
            if counted { format!("counted, {why}") } else { format!("not counted: {why}") }
        );
        record.text = chat::text(&text);
        record.review = Some(ReviewSummary {
            name: review.metadata.name.clone().unwrap_or_default(),
            reviewer: spec.reviewer.clone(),
            decision: spec.decision,
            message: spec.message.clone(),
            counted,
            why,
        });
        record
    }

    /// Carries the whole object (for deletions: the record outlives it).
    pub fn with_object(mut self, escalation: &Escalation) -> Self {
        let mut object = serde_json::to_value(escalation).unwrap_or_default();
        if let Some(meta) = object.get_mut("metadata").and_then(serde_json::Value::as_object_mut) {
            meta.remove("managedFields");
        }
        self.object = Some(object);
        self
    }

    /// Narrows `grants` to the one this record is about.
    pub fn about_grant(mut self, grant: &GrantRef) -> Self {
        self.grants = vec![summary(grant)];
        // Escaped apart: `self.text` already is, and escaping is per character.
        let which = format!(
            ": {} {}",
            grant.reference.name,
            grant.reference.namespace.as_deref().map(|n| format!("in {n}")).unwrap_or_else(|| "cluster-wide".into())
        );
        self.text.push_str(&chat::text(&which));
        self
    }
}

/// Where records go.
pub struct Auditor {
    events: Option<EventQueue>,
    sink: Option<Sink>,
    stdout: bool,
}

impl Auditor {
    pub fn new(events: Option<EventQueue>, sink: Option<Sink>, stdout: bool) -> Self {
        Self { events, sink, stdout }
    }

    /// Writes the record everywhere; never fails the caller. Stdout is the
    /// record of last resort, so it is written first.
    pub async fn record(&self, record: Record, regarding: Option<&Escalation>) {
        let line = match serde_json::to_string(&record) {
            Ok(line) => line,
            Err(e) => {
                tracing::error!(error = %e, escalation = %record.escalation, "audit record could not be serialised");
                return;
            }
        };
        if self.stdout {
            let mut out = std::io::stdout().lock();
            if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                tracing::error!(error = %e, "audit line could not be written to stdout");
            }
        }
        if let (Some(events), Some(escalation)) = (&self.events, regarding) {
            let (reason, warning) = match (record.action, record.state) {
                (Action::Transition, Some(EscalationState::Denied)) => ("Denied", true),
                (Action::Transition, Some(s)) => (event_reason(s), false),
                (Action::Transition, None) => ("Evaluated", false),
                (Action::GrantCreated, _) => ("GrantCreated", false),
                (Action::GrantReclaimed | Action::OrphanReclaimed, _) => ("GrantReclaimed", false),
                (Action::ReviewReceived, _) => match record.review.as_ref().is_some_and(|r| r.counted) {
                    true => ("ReviewCounted", false),
                    false => ("ReviewIgnored", true),
                },
                (Action::Deleted, _) => ("Deleted", false),
                (Action::RetentionDeleted, _) => ("RetentionDeleted", false),
                (Action::AfterReviewed, _) => {
                    ("AfterReviewed", record.after_review == Some(crate::api::AfterReview::Rejected))
                }
                (Action::OrphanReviewDeleted, _) => ("OrphanReviewDeleted", false),
            };
            let action = format!("{:?}", record.action);
            // The API server caps notes at 1 kB.
            let note = events::Note { warning, reason, action: &action, note: chat::truncate(&record.text, 1000) };
            events.send(note, escalation.object_ref(&()));
        }
        if let Some(sink) = &self.sink {
            sink.send(line);
        }
    }
}

/// A record for a review the controller deleted because it names no
/// existing escalation; it carries the whole review.
pub fn orphan_review_record(now: Timestamp, review: &crate::api::EscalationReview, why: &str) -> Record {
    let spec = &review.spec;
    let name = review.metadata.name.clone().unwrap_or_default();
    let text = format!("kudo deleted review {name} by {} of escalation {}: {why}", spec.reviewer, spec.escalation_name);
    Record {
        kind: "kudo.audit",
        time: now,
        action: Action::OrphanReviewDeleted,
        escalation: spec.escalation_name.clone(),
        escalation_uid: Some(spec.escalation_uid.clone()),
        policy: String::new(),
        requestor: String::new(),
        reason: String::new(),
        from: None,
        state: None,
        details: why.to_string(),
        grants: Vec::new(),
        reviewers: vec![spec.reviewer.clone()],
        accepted_at: None,
        expires_at: None,
        text: crate::printable::printable(&text).into_owned(),
        review: Some(ReviewSummary {
            name,
            reviewer: spec.reviewer.clone(),
            decision: spec.decision,
            message: spec.message.clone(),
            counted: false,
            why: why.to_string(),
        }),
        object: serde_json::to_value(review).ok(),
        break_glass: false,
        after_review: None,
        after_review_by: None,
    }
}

/// A record for a binding the sweep deleted, which no escalation accounts for.
pub fn orphan_record(now: Timestamp, found: &Binding, escalation: Option<&str>, why: &str) -> Record {
    let meta = found.metadata();
    let (kind, subjects, role) = match found {
        Binding::Namespaced(b) => ("KubernetesRoleBinding", b.subjects.clone().unwrap_or_default(), &b.role_ref),
        Binding::Cluster(b) => ("KubernetesClusterRoleBinding", b.subjects.clone().unwrap_or_default(), &b.role_ref),
    };
    let name = meta.name.clone().unwrap_or_default();
    let requestor = subjects.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(", ");
    Record {
        kind: "kudo.audit",
        time: now,
        action: Action::OrphanReclaimed,
        escalation: escalation.unwrap_or_default().to_string(),
        escalation_uid: None,
        policy: String::new(),
        requestor,
        reason: String::new(),
        from: None,
        state: None,
        details: why.to_string(),
        grants: vec![GrantSummary {
            kind: kind.into(),
            name: name.clone(),
            namespace: meta.namespace.clone(),
            role: format!("{}/{}", role.kind, role.name),
            status: GrantStatus::Reclaimed,
        }],
        reviewers: Vec::new(),
        accepted_at: None,
        expires_at: None,
        text: chat::text(&format!("kudo swept binding {name}: {why}")),
        review: None,
        object: None,
        break_glass: false,
        after_review: None,
        after_review_by: None,
    }
}

fn event_reason(state: EscalationState) -> &'static str {
    match state {
        EscalationState::Pending => "Pending",
        EscalationState::Accepted => "Accepted",
        EscalationState::Denied => "Denied",
        EscalationState::Expired => "Expired",
    }
}
