//! What the controller's watch caches keep of each object: only what
//! decisions read. A user controls the size of what they write (annotations,
//! a reason, a list of groups), and one user may write many: the caches must
//! not grow with what nobody reads.
//!
//! Every cached escalation loses its managedFields, annotations and labels
//! (no decision reads them). A settled one (final, audited, holding nothing,
//! owing nothing) also loses its reason, groups, challenges and details,
//! and is marked: whoever acts on it reads it fresh first.

use std::collections::BTreeMap;

use crate::api::{AfterReview, Escalation, EscalationReview, GrantStatus};

/// Marks a cached escalation whose text fields were dropped. Only ever in
/// the controller's memory: no write carries metadata from the cache.
const SLIM: &str = "k8s.kudo.dev/cached-slim";

pub fn slim_escalation(e: &mut Escalation) {
    let meta = &mut e.metadata;
    meta.managed_fields = None;
    meta.annotations = None;
    meta.labels = None;
    let settled = e.status.as_ref().is_some_and(|s| {
        s.state.is_final()
            && s.audited_state == Some(s.state)
            && s.after_review != Some(AfterReview::Pending)
            && s.grant_refs.iter().all(|r| r.status == GrantStatus::Reclaimed)
    });
    if settled {
        e.spec.reason = String::new();
        e.spec.requestor_groups = Vec::new();
        if let Some(s) = e.status.as_mut() {
            s.state_details = String::new();
            s.challenges = Vec::new();
        }
        e.metadata.annotations = Some(BTreeMap::from([(SLIM.to_string(), "true".to_string())]));
    }
}

/// Whether `e` is a slimmed cache entry (read it fresh before acting on it).
pub fn is_slim(e: &Escalation) -> bool {
    e.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(SLIM))
}

/// When a settled escalation (see [`slim_escalation`]) next needs a full
/// reconcile, or `None` when it needs one now: its deletion, its
/// retention, a review of it not yet recorded (owned), or a notice due
/// under its policy's `notify`. Everything else a reconcile could do to a
/// settled escalation is nothing (its decision changes no status and
/// takes no action), so until then its events cost no read (pure).
pub fn settled_until(
    e: &Escalation,
    reviews: &[&EscalationReview],
    notify: Option<&crate::api::Notify>,
    retain: jiff::SignedDuration,
    now: jiff::Timestamp,
) -> Option<jiff::Timestamp> {
    if e.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let retire_at = super::retention_due(e, retain).filter(|at| *at > now)?;
    let uid = e.metadata.uid.as_deref()?;
    let name = e.metadata.name.as_deref()?;
    let recorded = |r: &EscalationReview| r.metadata.owner_references.iter().flatten().any(|o| o.uid == uid);
    if reviews.iter().any(|r| r.spec.escalation_name == name && !recorded(r)) {
        return None;
    }
    let next_notice = match notify {
        Some(notify) => {
            let due = super::notify::due(e.status.as_ref(), notify, now);
            if !due.now.is_empty() {
                return None;
            }
            due.next
        }
        None => None,
    };
    Some(next_notice.map_or(retire_at, |at| at.min(retire_at)))
}

pub fn slim_review(r: &mut EscalationReview) {
    r.metadata.managed_fields = None;
    r.metadata.annotations = None;
    r.metadata.labels = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{EscalationState, EscalationStatus};

    fn escalation(state: Option<EscalationState>) -> Escalation {
        let mut e: Escalation = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "e", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "x".repeat(4096)}},
            "spec": {"policyName": "p", "requestor": "alice", "requestorGroups": vec!["g"; 256], "reason": "r".repeat(1024)},
        }))
        .unwrap();
        e.status = state.map(|s| {
            let mut status = EscalationStatus::new(s);
            status.audited_state = Some(s);
            status.state_details = "d".repeat(1000);
            status
        });
        e
    }

    #[test]
    fn settled_escalations_keep_what_decisions_read() {
        let size = |e: &Escalation| serde_json::to_vec(e).unwrap().len();
        let mut pending = escalation(Some(EscalationState::Pending));
        slim_escalation(&mut pending);
        assert!(!is_slim(&pending) && pending.metadata.annotations.is_none());
        assert_eq!(pending.spec.reason.len(), 1024, "a live escalation keeps its text");
        let mut denied = escalation(Some(EscalationState::Denied));
        let before = size(&denied);
        slim_escalation(&mut denied);
        assert!(is_slim(&denied));
        assert_eq!((denied.spec.requestor.as_str(), denied.spec.policy_name.as_str()), ("alice", "p"));
        assert_eq!(denied.status.as_ref().unwrap().state, EscalationState::Denied);
        assert!(size(&denied) < 400 && before > 7000, "{before} -> {}", size(&denied));
    }

    #[test]
    fn a_settled_escalation_waits_for_its_retention_unless_something_is_due() {
        use jiff::{SignedDuration, Timestamp};
        let now: Timestamp = "2026-12-01T12:00:00Z".parse().unwrap();
        let mut e = escalation(Some(EscalationState::Expired));
        e.metadata.uid = Some("u1".into());
        e.status.as_mut().unwrap().finished_at = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now));
        slim_escalation(&mut e);
        let day = SignedDuration::from_hours(24);
        let until = |e: &Escalation, reviews: &[&EscalationReview], notify| settled_until(e, reviews, notify, day, now);
        assert_eq!(until(&e, &[], None), Some(now + day), "retention is next");
        assert_eq!(settled_until(&e, &[], None, SignedDuration::ZERO, now), None, "retention is due");
        let mut deleting = e.clone();
        deleting.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now));
        assert_eq!(until(&deleting, &[], None), None, "its deletion is to be finished");

        let review = |escalation: &str, owner: Option<&str>| -> EscalationReview {
            let mut r: EscalationReview = serde_json::from_value(serde_json::json!({
                "metadata": {"name": "r"},
                "spec": {"escalationName": escalation, "escalationUID": "u1", "reviewer": "bob",
                         "reviewerGroups": [], "decision": "APPROVED"},
            }))
            .unwrap();
            r.metadata.owner_references = owner.map(|uid| {
                vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                    uid: uid.into(),
                    ..Default::default()
                }]
            });
            r
        };
        let (new, recorded, other) = (review("e", None), review("e", Some("u1")), review("f", None));
        assert_eq!(until(&e, &[&new], None), None, "a review to record");
        assert_eq!(until(&e, &[&recorded, &other], None), Some(now + day), "recorded, or of another");

        // Denied a minute ago, and the requestor is to be told.
        let notify: crate::api::Notify = serde_json::from_value(
            serde_json::json!({"requestor": {"format": "slack", "secretRef": {"name": "s", "key": "url"}}}),
        )
        .unwrap();
        let mut denied = escalation(Some(EscalationState::Denied));
        denied.metadata.uid = Some("u1".into());
        denied.status.as_mut().unwrap().finished_at =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now - SignedDuration::from_mins(1)));
        slim_escalation(&mut denied);
        assert_eq!(until(&denied, &[], Some(&notify)), None, "the decision is to be announced");
        denied.status.as_mut().unwrap().notified.push(crate::api::Notice::Decided);
        assert!(until(&denied, &[], Some(&notify)).is_some(), "announced already");
    }
}
