//! PeerReview: which reviews count, and what they add up to.

use std::collections::BTreeSet;

use crate::api::{
    AfterReview, Challenge, ChallengeKind, Escalation, EscalationPolicySpec, EscalationReview, EscalationState,
    Identity, ReviewDecision,
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

/// The tallies of several PeerReview challenges (stages) together: each
/// approver counts toward one challenge only, so "team AND security" needs
/// two people. Approvers are assigned by a maximum flow (approver → eligible
/// challenge → its `minApprovals`), so the stages pass whenever some
/// assignment of distinct approvers lets them. Rejections are per challenge.
pub fn assign(challenges: &[&Challenge], escalation: &Escalation, reviews: &[EscalationReview]) -> Vec<Tally> {
    use pathfinding::directed::edmonds_karp::edmonds_karp_sparse;

    #[derive(Clone, Copy, PartialEq, Eq, Hash)]
    enum Node {
        Source,
        Sink,
        Approver(usize),
        Stage(usize),
    }
    let alone: Vec<Tally> = challenges.iter().map(|c| tally(c, escalation, reviews)).collect();
    let mut approvers: Vec<String> = alone.iter().flat_map(|t| t.approvers.iter().cloned()).collect();
    approvers.sort();
    approvers.dedup();
    let mut vertices = vec![Node::Source, Node::Sink];
    vertices.extend((0..approvers.len()).map(Node::Approver));
    vertices.extend((0..challenges.len()).map(Node::Stage));
    let mut edges: Vec<((Node, Node), i64)> = Vec::new();
    for (a, who) in approvers.iter().enumerate() {
        edges.push(((Node::Source, Node::Approver(a)), 1));
        for (c, t) in alone.iter().enumerate() {
            if t.approvers.contains(who) {
                edges.push(((Node::Approver(a), Node::Stage(c)), 1));
            }
        }
    }
    for (c, challenge) in challenges.iter().enumerate() {
        edges.push(((Node::Stage(c), Node::Sink), i64::from(challenge.min_approvals())));
    }
    let (flows, _, _) = edmonds_karp_sparse(&vertices, &Node::Source, &Node::Sink, edges);
    let mut out: Vec<Tally> =
        alone.into_iter().map(|t| Tally { approvers: Vec::new(), rejection: t.rejection }).collect();
    for ((from, to), flow) in flows {
        if let (Node::Approver(a), Node::Stage(c), 1..) = (from, to, flow) {
            out[c].approvers.push(approvers[a].clone());
        }
    }
    out.iter_mut().for_each(|t| t.approvers.sort());
    out
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
    let Some(policy) = policy else {
        return Err(format!("policy {} does not exist", escalation.spec.policy_name));
    };
    match escalation.status.as_ref().map(|s| (s.state, s.after_review)) {
        None | Some((EscalationState::Pending, _)) => {}
        Some((_, Some(AfterReview::Pending))) => {
            let counted = policy.challenges.iter().filter(|c| c.kind == ChallengeKind::PeerReview && c.break_glass);
            let mut why_not = None;
            for challenge in counted {
                match ineligibility(challenge, escalation, review) {
                    None => return Ok(format!("counts as the break-glass after-review of escalation {name}")),
                    Some(why) => {
                        why_not.get_or_insert(why);
                    }
                }
            }
            return Err(why_not.unwrap_or_else(|| "no break-glass review is owed".into()));
        }
        Some((state, _)) => {
            return Err(format!("escalation {name} is already {state}; reviews count only while it is PENDING"));
        }
    }
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
