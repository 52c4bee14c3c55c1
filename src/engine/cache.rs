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
}
