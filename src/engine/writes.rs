//! The order in which a decision is carried out (issue 17): a pure plan
//! from the stored status and the decision, so that what makes crashes,
//! stale caches and lost answers harmless is stated, and tested, in one
//! place.
//!
//! - A binding is created only once status names it: after the decision's
//!   status is written (conditioned on the resourceVersion the decision was
//!   made from, so a stale view loses with a 409 instead of overwriting), or,
//!   when nothing new is to be written (a PENDING ref left by a crash), after
//!   a fresh read confirms that the view is current.
//! - A transition is recorded once the status reaching it is durable.
//! - A decision that only reclaims deletes first and writes status once
//!   after (absent counts as reclaimed, so a crash in between is repaired by
//!   the next decision), which takes a revocation one round trip less; its
//!   transition is recorded after that write, then marked as recorded.
//! - Except when that transition ends the escalation (DENIED or EXPIRED):
//!   no view can undo it (only kudo writes status, and no decision starts
//!   below kudo's own last write), so it is recorded just before the one
//!   write that reaches it and carries the mark. Should that write be lost,
//!   the next decision records it again: at least once, never lost, and one
//!   status write fewer for every revocation, expiry and denial.

use super::{Action, Decision};
use crate::api::EscalationStatus;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Write the decision's status, conditioned on the resourceVersion read.
    WriteStatus,
    /// Read the escalation fresh; stop (decide again) unless it is the view.
    ConfirmCurrent,
    /// Record the decision's transition, and mark it recorded in the status
    /// the next write carries.
    AuditTransition,
    /// Carry out `decision.actions[i]`.
    Act(usize),
    /// Write the status with the actions' outcomes, if it changed.
    WriteOutcomes,
    /// Write the status again, carrying the mark of a transition just recorded.
    WriteMark,
}

/// The steps that carry out `decision`, decided from `stored`, the status of
/// the view it was made from.
pub fn plan(stored: Option<&EscalationStatus>, decision: &Decision) -> Vec<Step> {
    let reclaim_only = decision.actions.iter().all(|a| matches!(a, Action::Reclaim(_)));
    let creates = decision.actions.iter().any(|a| matches!(a, Action::Create(_)));
    let mut steps = Vec::new();
    if !reclaim_only && stored != Some(&decision.status) {
        steps.push(Step::WriteStatus);
    } else if creates {
        steps.push(Step::ConfirmCurrent);
    }
    if !reclaim_only && decision.transition.is_some() {
        steps.push(Step::AuditTransition);
    }
    steps.extend((0..decision.actions.len()).map(Step::Act));
    steps.push(Step::WriteOutcomes);
    let ends = decision.transition.is_some_and(|(_, to)| to.is_final());
    if reclaim_only && ends {
        // Recorded, then written with its mark (see the module's comment).
        steps.insert(steps.len() - 1, Step::AuditTransition);
    } else if reclaim_only && decision.transition.is_some() {
        steps.extend([Step::AuditTransition, Step::WriteMark]);
    }
    steps
}
