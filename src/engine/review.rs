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

/// Whether `review` was made at or after `at`, to the second: stored times
/// have whole seconds, so a review made in the second of acceptance counts
/// (one made in that second just before it cannot be told apart, and
/// refusing both would ignore every prompt reviewer).
pub fn made_after(review: &EscalationReview, at: jiff::Timestamp) -> bool {
    review.metadata.creation_timestamp.as_ref().is_some_and(|t| t.0 >= at)
}

/// How long a review naming no existing escalation is kept, by default,
/// before it is deleted: long enough for any watch cache to have caught up
/// with an escalation created just before it.
pub const ORPHAN_REVIEW_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

/// Why `review` is an orphan due for deletion at `now` (kept `grace` after
/// its creation), given the escalation of the name it names (`None`: there
/// is none), or `None` when it is not.
pub fn orphaned(
    review: &EscalationReview,
    escalation: Option<&Escalation>,
    now: jiff::Timestamp,
    grace: jiff::SignedDuration,
) -> Option<String> {
    let spec = &review.spec;
    let why = match escalation {
        None => format!("escalation {} does not exist", spec.escalation_name),
        Some(e) if e.metadata.uid.as_ref() != Some(&spec.escalation_uid) => {
            format!("it names another instance of escalation {} (UID differs)", spec.escalation_name)
        }
        Some(_) => return None,
    };
    let created = review.metadata.creation_timestamp.as_ref().map(|t| t.0)?;
    let due = created.checked_add(grace).ok()?;
    (now >= due).then_some(why)
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
            let accepted = escalation.status.as_ref().and_then(|s| s.accepted_at.as_ref()).map(|t| t.0);
            // A review not yet created (the CLI asking before it creates
            // one) will be made now, after acceptance.
            let created = review.metadata.creation_timestamp.is_some();
            if created && accepted.is_some_and(|at| !made_after(review, at)) {
                return Err(format!(
                    "it was made before escalation {name} was accepted; the after-review must come after"
                ));
            }
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
        let bypassed = escalation.spec.break_glass && challenge.break_glass;
        match ineligibility(challenge, escalation, review) {
            None if bypassed && review.spec.decision == ReviewDecision::Approved => {
                why_not.get_or_insert_with(|| {
                    format!("break-glass skips challenge {i}; an approval counts only as the after-review, made after acceptance")
                });
            }
            None if bypassed => {
                return Ok(format!("rejects the break-glass escalation {name} before it is accepted"));
            }
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
