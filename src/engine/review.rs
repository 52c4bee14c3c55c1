//! PeerReview: which reviews count, and what they add up to.

use std::collections::BTreeSet;

use crate::api::{
    Challenge, ChallengeKind, Escalation, EscalationPolicySpec, EscalationReview, EscalationState, Identity,
    ReviewDecision,
};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Distinct eligible reviewers who approved, sorted.
    pub approvers: Vec<String>,
    /// The first eligible rejection: (reviewer, message).
    pub rejection: Option<(String, String)>,
}

/// Why a review does not count, or `None` when it does.
pub fn ineligibility(challenge: &Challenge, escalation: &Escalation, review: &EscalationReview) -> Option<String> {
    let spec = &review.spec;
    if Some(&spec.escalation_uid) != escalation.metadata.uid.as_ref()
        || Some(&spec.escalation_name) != escalation.metadata.name.as_ref()
    {
        return Some("it is for another escalation (name or UID differ)".into());
    }
    if spec.reviewer == escalation.spec.requestor {
        return Some(format!("{} requested the escalation and cannot review it", spec.reviewer));
    }
    let who = Identity { username: &spec.reviewer, groups: &spec.reviewer_groups };
    if !challenge.reviewers.iter().any(|s| s.matches(&who)) {
        return Some(format!(
            "{} is not an eligible reviewer (eligible: {})",
            spec.reviewer,
            describe_reviewers(challenge)
        ));
    }
    None
}

pub fn tally(challenge: &Challenge, escalation: &Escalation, reviews: &[EscalationReview]) -> Tally {
    let mut approvers = BTreeSet::new();
    let mut rejection = None;
    for review in reviews {
        if ineligibility(challenge, escalation, review).is_some() {
            continue;
        }
        match review.spec.decision {
            ReviewDecision::Approved => {
                approvers.insert(review.spec.reviewer.clone());
            }
            ReviewDecision::Rejected => {
                rejection.get_or_insert_with(|| (review.spec.reviewer.clone(), review.spec.message.clone()));
            }
        }
    }
    Tally { approvers: approvers.into_iter().collect(), rejection }
}

pub fn describe_reviewers(challenge: &Challenge) -> String {
    challenge.reviewers.iter().map(|s| s.describe()).collect::<Vec<_>>().join(", ")
}

/// Whether a review counts, for the audit trail: `Ok` says toward which
/// challenge, `Err` why not. Reviews count only while the escalation waits.
pub fn assess(
    policy: Option<&EscalationPolicySpec>,
    escalation: &Escalation,
    review: &EscalationReview,
) -> Result<String, String> {
    let name = escalation.metadata.name.as_deref().unwrap_or_default();
    if Some(&review.spec.escalation_uid) != escalation.metadata.uid.as_ref() {
        return Err(format!("it names another instance of escalation {name} (UID differs)"));
    }
    match escalation.status.as_ref().map(|s| s.state) {
        None | Some(EscalationState::Pending) => {}
        Some(state) => {
            return Err(format!("escalation {name} is already {state}; reviews count only while it is PENDING"));
        }
    }
    let Some(policy) = policy else {
        return Err(format!("policy {} does not exist", escalation.spec.policy_name));
    };
    let mut why_not = None;
    for (i, challenge) in policy.challenges.iter().enumerate().filter(|(_, c)| c.kind == ChallengeKind::PeerReview) {
        match ineligibility(challenge, escalation, review) {
            None => {
                return Ok(format!("counts toward challenge {i} (PeerReview of {})", describe_reviewers(challenge)));
            }
            Some(why) => {
                why_not.get_or_insert(why);
            }
        }
    }
    Err(why_not.unwrap_or_else(|| format!("policy {} asks for no peer review", escalation.spec.policy_name)))
}
