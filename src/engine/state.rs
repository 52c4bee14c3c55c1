//! The escalation state machine (DESIGN §2) as a pure function:
//! (escalation, policy, reviews, observations, now) -> next status + actions.
//!
//! How a caller applies a [`Decision`]: write `status` first (with the
//! resourceVersion it read, so a concurrent writer wins a conflict rather
//! than being overwritten), then run `actions`, recording each outcome with
//! [`mark`]. A binding is therefore only ever created once status names it,
//! and a crash between steps is repaired by the next decision.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{admission, checks, extension, plan, review};
use crate::api::{
    AfterReview, ChallengeKind, ChallengeState, ChallengeStatus, Escalation, EscalationPolicy, EscalationReview,
    EscalationState, EscalationStatus, GrantStatus,
};

/// What the cluster holds for a binding that status names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    Absent,
    Intact,
    /// Present but changed by someone else; the text says how.
    Tampered(String),
}

pub struct Inputs<'a> {
    pub now: Timestamp,
    pub escalation: &'a Escalation,
    /// The policy named by the escalation, if it exists.
    pub policy: Option<&'a EscalationPolicy>,
    /// Reviews that may concern this escalation (filtered again here).
    pub reviews: &'a [EscalationReview],
    /// RBAC's answer to "may the requestor `use` this policy"; consulted
    /// for a new or PENDING escalation whose requestor matches none of the
    /// subjects (and never for a ServiceAccount), at creation and again at
    /// acceptance.
    pub rbac_use_allowed: bool,
    /// What is wrong with the identity guards (admission policies and their
    /// bindings); while anything is, nothing is accepted, as the requestor
    /// fields cannot be trusted.
    pub missing_guards: &'a [String],
    /// The requestor's other open (PENDING or ACCEPTED, or not yet evaluated
    /// and created earlier) escalations of the same policy, by name.
    pub open_escalations: &'a [String],
    /// Observed bindings by name. A name absent from the map was not looked at.
    pub observed: &'a BTreeMap<String, Observation>,
    /// Its chain of extensions (`spec.extends`); default for none.
    pub extension: extension::View<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create the binding described by `status.grantRefs[index]`.
    Create(usize),
    /// Delete it (precondition on its UID when known); absent counts as done.
    Reclaim(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub status: EscalationStatus,
    pub actions: Vec<Action>,
    /// When to look again even if nothing changes.
    pub requeue_at: Option<Timestamp>,
    /// Set when the state changes (from `None` = never evaluated).
    pub transition: Option<(Option<EscalationState>, EscalationState)>,
}

pub fn decide(inputs: &Inputs<'_>) -> Decision {
    let current = inputs.escalation.status.as_ref();
    let before = current.map(|s| s.state);
    let mut decision = match current {
        None => evaluate_new(inputs),
        Some(s) => match s.state {
            EscalationState::Pending => pending(inputs, s.clone()),
            EscalationState::Accepted => accepted(inputs, s.clone()),
            EscalationState::Denied | EscalationState::Expired => {
                let mut s = s.clone();
                after_review(inputs, &mut s);
                settle(s)
            }
        },
    };
    if before != Some(decision.status.state) {
        decision.transition = Some((before, decision.status.state));
        if decision.status.state.is_final() && decision.status.finished_at.is_none() {
            decision.status.finished_at = Some(Time(whole_seconds(inputs.now)));
        }
    }
    decision
}

/// A grant that cannot be created for a reason retrying will not fix
/// (namespace missing, Forbidden, Invalid): the escalation is DENIED and
/// everything else it holds is reclaimed.
pub fn grant_failed(mut status: EscalationStatus, index: usize, why: &str, now: Timestamp) -> Decision {
    let before = status.state;
    let what = status
        .grant_refs
        .get(index)
        .map(|r| {
            let place =
                r.reference.namespace.as_deref().map_or("cluster-wide".to_string(), |ns| format!("in namespace {ns}"));
            format!("binding {:?} {} {place}", r.role_ref.kind, r.role_ref.name)
        })
        .unwrap_or_else(|| "a binding".into());
    if status.finished_at.is_none() {
        status.finished_at = Some(Time(whole_seconds(now)));
    }
    let mut decision = finish(
        status,
        EscalationState::Denied,
        format!(
            "kudo could not grant {what}: {why}; nothing stays granted. Ask an admin to fix the policy or the cluster, then escalate again"
        ),
    );
    if before != EscalationState::Denied {
        decision.transition = Some((Some(before), EscalationState::Denied));
    }
    decision
}

/// When a final escalation is due for deletion under retention `retain`
/// (from `finishedAt`, else the latest time it records), or `None` while it
/// is not final or still holds a grant.
pub fn retention_due(escalation: &Escalation, retain: SignedDuration) -> Option<Timestamp> {
    let status = escalation.status.as_ref().filter(|s| s.state.is_final())?;
    if status.grant_refs.iter().any(|r| r.status != GrantStatus::Reclaimed) {
        return None;
    }
    let ended = status
        .finished_at
        .as_ref()
        .or(status.expires_at.as_ref())
        .or(escalation.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)?;
    Some(ended.checked_add(retain).unwrap_or(Timestamp::MAX))
}

/// Records an action's outcome in status.
pub fn mark(
    status: &mut EscalationStatus,
    index: usize,
    outcome: GrantStatus,
    uid: Option<String>,
    resource_version: Option<String>,
) {
    if let Some(r) = status.grant_refs.get_mut(index) {
        r.status = outcome;
        if uid.is_some() {
            r.reference.uid = uid;
        }
        if resource_version.is_some() {
            r.reference.resource_version = resource_version;
        }
    }
}

fn evaluate_new(inputs: &Inputs<'_>) -> Decision {
    let esc = inputs.escalation;
    let name = &esc.spec.policy_name;
    let mut status = EscalationStatus::new(EscalationState::Pending);
    if esc.spec.revoked {
        return finish(
            status,
            EscalationState::Expired,
            format!("revoked by {} before it was evaluated", esc.spec.revoked_by),
        );
    }
    let Some(policy) = live(inputs.policy) else {
        return finish(
            status,
            EscalationState::Denied,
            format!("policy {name} does not exist; run `kubectl kudo policies` to see the policies you may use"),
        );
    };
    status.policy_uid = policy.metadata.uid.clone();
    status.policy_generation = policy.metadata.generation;
    let spec = &policy.spec;
    let request_ok = (|| {
        if !admission::admits(spec, &esc.spec.requestor(), inputs.rbac_use_allowed) {
            return Err(admission::refusal(&esc.spec.requestor, name));
        }
        checks::request(spec, &esc.spec, name, inputs.now)?;
        let created = esc.metadata.creation_timestamp.as_ref().map_or(inputs.now, |t| t.0);
        checks::schedule(spec, &esc.spec, name, created)?;
        // What is wrong with an extension first: it says more than the limit.
        extension::check(esc, &inputs.extension, spec, name, inputs.now)?;
        checks::open_limit(spec, name, inputs.open_escalations)
    })();
    if let Err(details) = request_ok {
        return finish(status, EscalationState::Denied, details);
    }
    pending(inputs, status)
}

fn pending(inputs: &Inputs<'_>, mut status: EscalationStatus) -> Decision {
    let esc = inputs.escalation;
    let name = &esc.spec.policy_name;
    if esc.spec.revoked {
        return finish(status, EscalationState::Expired, format!("revoked by {} while pending", esc.spec.revoked_by));
    }
    let policy = match current_policy(inputs, &status) {
        Ok(p) => p,
        Err(details) => return finish(status, EscalationState::Denied, details),
    };
    let spec = &policy.spec;
    // An extension is re-checked each time: what it extends may have ended,
    // been revoked or been extended by another meanwhile.
    let extension_count = match extension::check(esc, &inputs.extension, spec, name, inputs.now) {
        Ok(count) => count,
        Err(details) => return finish(status, EscalationState::Denied, details),
    };
    let timeout = match checks::pending_timeout(spec, name) {
        Ok(t) => t,
        Err(details) => return finish(status, EscalationState::Denied, details),
    };
    // The API server always sets creationTimestamp; only a hand-made object
    // lacks it, and then the timeout counts from this evaluation.
    let created = esc.metadata.creation_timestamp.as_ref().map_or(inputs.now, |t| t.0);
    let mut deadline = created.checked_add(timeout).unwrap_or(Timestamp::MAX);
    // A scheduled escalation may take its approvals until just after its start.
    let start = esc.spec.start_at.as_ref().map(|t| t.0);
    if let Some(late) = start.and_then(|s| s.checked_add(checks::START_SKEW).ok()) {
        deadline = deadline.max(late);
    }
    let scheduled = start.filter(|s| *s > inputs.now);
    if inputs.now >= deadline {
        return finish(
            status,
            EscalationState::Expired,
            format!(
                "no decision within the policy's pending timeout ({}); escalate again, and ask a reviewer to approve sooner",
                crate::api::duration::human(timeout)
            ),
        );
    }
    if !inputs.missing_guards.is_empty() {
        return finish(
            status,
            EscalationState::Denied,
            format!(
                "kudo refuses to grant anything while its identity admission policies are missing ({}); ask an admin to run `kubectl kudo manifests | kubectl apply -f -`",
                inputs.missing_guards.join(", ")
            ),
        );
    }
    // The window is checked at acceptance: not while a scheduled start is ahead.
    if scheduled.is_none()
        && let Err(details) = checks::time_windows(spec, inputs.now, name)
    {
        return finish(status, EscalationState::Denied, format!("the time window closed before acceptance: {details}"));
    }

    let mut waiting = Vec::new();
    status.challenges = Vec::with_capacity(spec.challenges.len());
    let bypassed = |c: &crate::api::Challenge| esc.spec.break_glass && checks::is_break_glass(c);
    let stages: Vec<&crate::api::Challenge> =
        spec.challenges.iter().filter(|c| c.kind == ChallengeKind::PeerReview && !bypassed(c)).collect();
    // A bypassed review still takes a rejection: an eligible reviewer who
    // rejects before acceptance (a scheduled break-glass) denies it before
    // any binding exists.
    for challenge in spec.challenges.iter().filter(|c| bypassed(c)) {
        if let Some((who, msg)) = review::tally(challenge, esc, inputs.reviews).rejection {
            let why = if msg.is_empty() { String::new() } else { format!(": {msg}") };
            return finish(status, EscalationState::Denied, format!("rejected by {who} before acceptance{why}"));
        }
    }
    let mut tallies = review::assign(&stages, esc, inputs.reviews).into_iter();
    for challenge in &spec.challenges {
        let (state, approved_by, message) = match challenge.kind {
            ChallengeKind::Justification => (ChallengeState::Passed, vec![], "reason matches".to_string()),
            ChallengeKind::TimeWindow => (ChallengeState::Passed, vec![], "inside the time window".to_string()),
            ChallengeKind::PeerReview if bypassed(challenge) => (
                ChallengeState::Bypassed,
                vec![],
                format!(
                    "bypassed by break-glass; an eligible reviewer ({}) must review it afterwards",
                    review::describe_reviewers(challenge)
                ),
            ),
            ChallengeKind::PeerReview => {
                let tally = tallies.next().unwrap_or_default();
                let need = challenge.min_approvals() as usize;
                if let Some((who, msg)) = tally.rejection {
                    let why = if msg.is_empty() { String::new() } else { format!(": {msg}") };
                    status.challenges.push(ChallengeStatus {
                        kind: challenge.kind,
                        state: ChallengeState::Failed,
                        approved_by: tally.approvers,
                        message: format!("rejected by {who}{why}"),
                    });
                    return finish(status, EscalationState::Denied, format!("rejected by {who}{why}"));
                }
                if tally.approvers.len() >= need {
                    (ChallengeState::Passed, tally.approvers, format!("approved by {need} eligible reviewer(s)"))
                } else {
                    let missing = need - tally.approvers.len();
                    let others = if stages.len() > 1 { " (one person counts toward one stage only)" } else { "" };
                    let msg = format!(
                        "waiting for {missing} approval{} from {}{others}",
                        if missing == 1 { "" } else { "s" },
                        review::describe_reviewers(challenge)
                    );
                    waiting.push(msg.clone());
                    (ChallengeState::Pending, tally.approvers, msg)
                }
            }
        };
        status.challenges.push(ChallengeStatus { kind: challenge.kind, state, approved_by, message });
    }
    if let Some(start) = scheduled {
        waiting.push(format!("scheduled to start at {start}"));
    }
    // RBAC's `use` is checked again when the escalation would be accepted:
    // a right withdrawn while it waited (for reviews, for its start) counts.
    if waiting.is_empty() && !admission::admits(spec, &esc.spec.requestor(), inputs.rbac_use_allowed) {
        return finish(status, EscalationState::Denied, admission::refusal(&esc.spec.requestor, name));
    }
    if !waiting.is_empty() {
        status.state = EscalationState::Pending;
        status.state_details = waiting.join("; ");
        let requeue_at = scheduled.map_or(deadline, |s| s.min(deadline));
        return Decision { status, actions: vec![], requeue_at: Some(requeue_at), transition: None };
    }
    status.extension_count = extension_count;
    accept(inputs, status, spec)
}

fn accept(inputs: &Inputs<'_>, mut status: EscalationStatus, spec: &crate::api::EscalationPolicySpec) -> Decision {
    let esc = inputs.escalation;
    let name = &esc.spec.policy_name;
    let planned = checks::duration(spec, &esc.spec, name)
        .and_then(|d| checks::namespaces(spec, &esc.spec, name).map(|ns| (d, ns)));
    let (duration, namespaces) = match planned {
        Ok(p) => p,
        Err(details) => return finish(status, EscalationState::Denied, details),
    };
    // Persisted times have whole seconds; truncate both ends so the stored
    // expiresAt is never later than the one enforced.
    let accepted_at = whole_seconds(inputs.now);
    let expires_at = whole_seconds(accepted_at.checked_add(duration).unwrap_or(Timestamp::MAX));
    let esc_name = esc.metadata.name.as_deref().unwrap_or_default();
    status.grant_refs = plan::plan(esc_name, spec, &namespaces);
    status.state = EscalationState::Accepted;
    status.accepted_at = Some(Time(accepted_at));
    status.expires_at = Some(Time(expires_at));
    status.state_details = format!(
        "accepted for {}, until {expires_at}; granting {} binding(s)",
        crate::api::duration::human(duration),
        status.grant_refs.len()
    );
    if status.challenges.iter().any(|c| c.state == ChallengeState::Bypassed) {
        status.after_review = Some(AfterReview::Pending);
        status.state_details += "; break-glass: an eligible reviewer must now review it (kubectl kudo approve|deny)";
    }
    let actions = (0..status.grant_refs.len()).map(Action::Create).collect();
    Decision { status, actions, requeue_at: Some(expires_at), transition: None }
}

/// Break-glass: the first eligible reviews after acceptance decide
/// `afterReview` (a rejection wins over approvals). Returns what the
/// rejection says, which ends an escalation still active.
fn after_review(inputs: &Inputs<'_>, status: &mut EscalationStatus) -> Option<String> {
    if status.after_review != Some(AfterReview::Pending) {
        return None;
    }
    let policy = inputs.policy.filter(|p| p.metadata.uid.is_some() && p.metadata.uid == status.policy_uid)?;
    // Only reviews made after acceptance (to the second): an approval given
    // before (for a scheduled start) was no review of what was done with
    // the access.
    let accepted_at = status.accepted_at.as_ref().map(|t| t.0)?;
    let after: Vec<EscalationReview> =
        inputs.reviews.iter().filter(|r| review::made_after(r, accepted_at)).cloned().collect();
    let tallies: Vec<review::Tally> = policy
        .spec
        .challenges
        .iter()
        .filter(|c| checks::is_break_glass(c))
        .map(|c| review::tally(c, inputs.escalation, &after))
        .collect();
    if let Some((who, msg)) = tallies.iter().find_map(|t| t.rejection.clone()) {
        status.after_review = Some(AfterReview::Rejected);
        status.after_review_by = Some(who.clone());
        let why = if msg.is_empty() { String::new() } else { format!(": {msg}") };
        return Some(format!("break-glass after-review rejected by {who}{why}"));
    }
    if let Some(who) = tallies.iter().find_map(|t| t.approvers.first()) {
        status.after_review = Some(AfterReview::Approved);
        status.after_review_by = Some(who.clone());
    }
    None
}

fn accepted(inputs: &Inputs<'_>, mut status: EscalationStatus) -> Decision {
    let esc = inputs.escalation;
    if let Some(rejected) = after_review(inputs, &mut status) {
        return finish(status, EscalationState::Denied, format!("{rejected}; its grants are reclaimed"));
    }
    if let Err(details) = current_policy(inputs, &status) {
        return finish(status, EscalationState::Denied, format!("{details}; its grants are reclaimed"));
    }
    if esc.spec.revoked {
        return finish(
            status,
            EscalationState::Expired,
            format!("revoked by {}; its grants are reclaimed", esc.spec.revoked_by),
        );
    }
    let Some(expires_at) = status.expires_at.as_ref().map(|t| t.0) else {
        return finish(
            status,
            EscalationState::Denied,
            "status has no expiresAt; kudo denies defensively and reclaims its grants".into(),
        );
    };
    if inputs.now >= expires_at {
        return finish(status, EscalationState::Expired, format!("expired at {expires_at}; its grants are reclaimed"));
    }
    if let Some(details) = extension::revoked_before_takeover(esc, inputs.extension.extended) {
        return finish(status, EscalationState::Denied, details);
    }
    // The extension's bindings all exist: this one's can go with no gap.
    if let Some(by) = inputs.extension.superseded_by.filter(|by| Some(*by) != esc.metadata.name.as_deref()) {
        status.superseded_by = Some(by.to_string());
        return finish(status, EscalationState::Expired, format!("superseded by {by}"));
    }
    for r in &status.grant_refs {
        let tampered = match (r.status, inputs.observed.get(&r.reference.name)) {
            (GrantStatus::Created, Some(Observation::Absent)) => Some("was deleted outside kudo".to_string()),
            (GrantStatus::Created | GrantStatus::Pending, Some(Observation::Tampered(how))) => {
                Some(format!("was modified outside kudo ({how})"))
            }
            _ => None,
        };
        if let Some(how) = tampered {
            let details =
                format!("binding {} {how}; kudo denies defensively and reclaims its grants", r.reference.name);
            return finish(status, EscalationState::Denied, details);
        }
    }
    let actions = status
        .grant_refs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == GrantStatus::Pending)
        .map(|(i, _)| Action::Create(i))
        .collect();
    Decision { status, actions, requeue_at: Some(expires_at), transition: None }
}

/// DENIED and EXPIRED: nothing changes but reclaiming what is left.
fn settle(status: EscalationStatus) -> Decision {
    let actions = reclaims(&status);
    Decision { status, actions, requeue_at: None, transition: None }
}

fn finish(mut status: EscalationStatus, state: EscalationState, details: String) -> Decision {
    debug_assert!(state.is_final());
    status.state = state;
    status.state_details = details;
    settle(status)
}

fn reclaims(status: &EscalationStatus) -> Vec<Action> {
    status
        .grant_refs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status != GrantStatus::Reclaimed)
        .map(|(i, _)| Action::Reclaim(i))
        .collect()
}

/// The policy, provided it is still the instance (UID) and spec
/// (generation) this escalation was evaluated against.
fn current_policy<'a>(inputs: &Inputs<'a>, status: &EscalationStatus) -> Result<&'a EscalationPolicy, String> {
    let name = &inputs.escalation.spec.policy_name;
    let Some(policy) = live(inputs.policy) else {
        return Err(format!("policy {name} was deleted"));
    };
    if policy.metadata.uid != status.policy_uid {
        return Err(format!("policy {name} was deleted and re-created"));
    }
    if policy.metadata.generation != status.policy_generation {
        return Err(format!(
            "policy {name} changed (generation {} -> {}); escalate again under the new policy",
            status.policy_generation.unwrap_or_default(),
            policy.metadata.generation.unwrap_or_default()
        ));
    }
    Ok(policy)
}

fn live(policy: Option<&EscalationPolicy>) -> Option<&EscalationPolicy> {
    policy.filter(|p| p.metadata.deletion_timestamp.is_none())
}

fn whole_seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}
