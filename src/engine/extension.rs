//! Extensions (`spec.extends`, `kubectl kudo extend NAME`), as pure
//! decisions. An extension is a new escalation, checked and reviewed as any;
//! what is particular to it:
//!
//! - It names a running (ACCEPTED, not revoked, not past `expiresAt`)
//!   escalation of the same requestor and policy, granting in the same
//!   namespaces, with no `startAt`. A name of someone else's escalation, of
//!   another policy's, of a PENDING or an ended one is refused: the API
//!   server cannot read other objects in admission, so the controller
//!   denies (and the CLI refuses first).
//! - A chain (each extension of the one before) holds at most the policy's
//!   `target.maxExtensions` extensions (default 0: none). The count is fixed
//!   in `status.extensionCount` at acceptance, written by the controller
//!   only: deleting an old link cannot reset it.
//! - One extension of an escalation at a time: among the requestor's open
//!   ones, the first created (creation time, then name) is the only one
//!   that may proceed; the others are DENIED. Someone else's escalation
//!   naming it counts for nothing (it could otherwise block it).
//! - Its `expiresAt` is `acceptedAt + duration`, as for any escalation (the
//!   clock starts at acceptance, `duration` at most `maxDuration`): an
//!   extension accepted well before the old end does not add its duration
//!   on top of what is left, so nothing ever holds more than `maxDuration`
//!   from an acceptance that a review allowed.
//! - The extended escalation ends EXPIRED "superseded by NEW" only once
//!   every binding of the extension is CREATED (no gap); until then it
//!   keeps its own, which never outlive its own `expiresAt` either.

use jiff::Timestamp;

use super::checks;
use crate::api::{Escalation, EscalationPolicySpec, EscalationState, GrantStatus};

/// What the decision about an escalation needs to know of its chain.
#[derive(Clone, Copy, Debug, Default)]
pub struct View<'a> {
    /// For an extension: the escalation `spec.extends` names (`None`: it
    /// does not exist). Read fresh while the extension is new or PENDING.
    pub extended: Option<&'a Escalation>,
    /// For a new or PENDING extension: other open extensions of the same
    /// escalation that come first ([`rivals`]).
    pub rivals: &'a [String],
    /// For an ACCEPTED escalation: the accepted extension of it whose
    /// bindings all exist ([`superseding`]).
    pub superseded_by: Option<&'a str>,
}

/// Whether `this` (an extension) may extend `extended` under `policy` at
/// `now`: the chain count it would have, or what to tell the requestor.
pub fn check(
    this: &Escalation,
    view: &View<'_>,
    policy: &EscalationPolicySpec,
    policy_name: &str,
    now: Timestamp,
) -> Result<u32, String> {
    let Some(target) = this.extends() else { return Ok(0) };
    let ask_again = format!("ask again with `kubectl kudo escalate {policy_name}`");
    if this.metadata.name.as_deref() == Some(target) {
        return Err(format!("an escalation cannot extend itself; {ask_again}"));
    }
    if this.spec.start_at.is_some() {
        return Err(format!(
            "an extension starts when it is accepted and cannot have a startAt; extend {target} without --start-at"
        ));
    }
    let Some(old) = view.extended.filter(|e| e.metadata.deletion_timestamp.is_none()) else {
        return Err(format!("escalation {target} does not exist, so there is nothing to extend; {ask_again}"));
    };
    if old.spec.requestor != this.spec.requestor {
        return Err(format!("escalation {target} is not yours: you may extend only your own escalations; {ask_again}"));
    }
    if old.spec.policy_name != this.spec.policy_name {
        return Err(format!(
            "escalation {target} is of policy {}, not {policy_name}: an extension keeps the policy of what it extends",
            old.spec.policy_name
        ));
    }
    let status = old.status.as_ref();
    if let Some(by) = status.and_then(|s| s.superseded_by.as_deref()) {
        return Err(format!("escalation {target} was already extended by {by}; extend {by} instead"));
    }
    let ended = |how: String| format!("escalation {target} {how}: an ended escalation cannot be extended; {ask_again}");
    if old.spec.revoked {
        return Err(ended(format!("was revoked by {}", old.spec.revoked_by)));
    }
    let Some(status) = status else {
        return Err(format!(
            "escalation {target} is not running yet (not evaluated): only an ACCEPTED escalation can be extended; wait for its decision (kubectl kudo status {target})"
        ));
    };
    match status.state {
        EscalationState::Pending => {
            return Err(format!(
                "escalation {target} is not running yet (PENDING): only an ACCEPTED escalation can be extended; wait for its decision (kubectl kudo status {target}), or revoke it and escalate again with the --duration you need"
            ));
        }
        EscalationState::Denied | EscalationState::Expired => {
            return Err(ended(format!("is {}", status.state)));
        }
        EscalationState::Accepted => {}
    }
    match status.expires_at.as_ref().map(|t| t.0) {
        Some(end) if now < end => {}
        _ => return Err(ended("has expired".into())),
    }
    let max = policy.target.max_extensions();
    let count = status.extension_count.saturating_add(1);
    if max == 0 {
        return Err(format!(
            "policy {policy_name} does not allow extensions (its target.maxExtensions is 0); {ask_again} once {target} ends"
        ));
    }
    if count > max {
        return Err(format!(
            "escalation {target} was already extended {} time(s), the most policy {policy_name} allows (target.maxExtensions {max}); {ask_again} once it ends",
            status.extension_count
        ));
    }
    // Same grants in the same places, or it is not an extension but a new request.
    if let Ok(wanted) = checks::namespaces(policy, &this.spec, policy_name) {
        let held: Vec<Option<String>> = status.grant_refs.iter().map(|r| r.reference.namespace.clone()).collect();
        if !held.is_empty() && held != wanted {
            let shown = held.iter().flatten().cloned().collect::<Vec<_>>().join(", ");
            return Err(format!(
                "escalation {target} grants in namespace {shown}; an extension keeps the namespace: extend it without --namespace"
            ));
        }
    }
    if let Some(first) = view.rivals.first() {
        return Err(format!(
            "escalation {target} is already being extended by {first}; only one extension of an escalation may be open: follow it with `kubectl kudo status {first}`"
        ));
    }
    Ok(count)
}

/// Sort key: of two open extensions, the one created first goes on.
fn key(e: &Escalation) -> (Option<Timestamp>, Option<&str>) {
    (e.metadata.creation_timestamp.as_ref().map(|t| t.0), e.metadata.name.as_deref())
}

/// The requestor's other open extensions of what `this` extends that take
/// precedence: ACCEPTED ones (revoked or not: until it is final, it holds
/// its grants), PENDING ones not revoked (whatever their age: that one is
/// ahead), and ones not yet evaluated that were created first. Of two
/// extensions created at once, at most one proceeds.
pub fn rivals<'a>(this: &Escalation, all: impl IntoIterator<Item = &'a Escalation>) -> Vec<String> {
    let Some(target) = this.extends() else { return Vec::new() };
    let mut out: Vec<String> = all
        .into_iter()
        .filter(|e| {
            e.metadata.uid != this.metadata.uid
                && e.metadata.name != this.metadata.name
                && e.metadata.deletion_timestamp.is_none()
                && e.extends() == Some(target)
                && e.spec.requestor == this.spec.requestor
                && e.spec.policy_name == this.spec.policy_name
                && match e.state() {
                    // Revoked, it still holds its grants until its own
                    // reconcile ends it: still ahead of this one.
                    Some(EscalationState::Accepted) => true,
                    Some(EscalationState::Pending) => !e.spec.revoked,
                    Some(EscalationState::Denied | EscalationState::Expired) => false,
                    None => !e.spec.revoked && key(e) < key(this),
                }
        })
        .filter_map(|e| e.metadata.name.clone())
        .collect();
    out.sort();
    out
}

/// For an ACCEPTED escalation: the extension that takes over from it, which
/// is ACCEPTED (since this one was), of the same requestor and policy, not
/// revoked, and whose bindings are all CREATED. The first such, if several.
pub fn superseding<'a>(this: &Escalation, all: impl IntoIterator<Item = &'a Escalation>) -> Option<String> {
    let name = this.metadata.name.as_deref()?;
    let accepted = this.status.as_ref().and_then(|s| s.accepted_at.as_ref()).map(|t| t.0)?;
    all.into_iter()
        .filter(|e| {
            e.extends() == Some(name)
                && e.metadata.uid != this.metadata.uid
                && e.metadata.deletion_timestamp.is_none()
                && !e.spec.revoked
                && e.spec.requestor == this.spec.requestor
                && e.spec.policy_name == this.spec.policy_name
                && e.status.as_ref().is_some_and(|s| {
                    s.state == EscalationState::Accepted
                        && s.accepted_at.as_ref().is_some_and(|t| t.0 >= accepted)
                        && !s.grant_refs.is_empty()
                        && s.grant_refs.iter().all(|r| r.status == GrantStatus::Created)
                })
        })
        .min_by(|a, b| key(a).cmp(&key(b)))
        .and_then(|e| e.metadata.name.clone())
}

/// What an escalation whose bindings are all CREATED, accepted and not
/// revoked extends (the one it may now supersede), if it is an extension.
pub fn takes_over(e: &Escalation) -> Option<&str> {
    let s = e.status.as_ref()?;
    let ready = s.state == EscalationState::Accepted
        && !e.spec.revoked
        && !s.grant_refs.is_empty()
        && s.grant_refs.iter().all(|r| r.status == GrantStatus::Created);
    e.extends().filter(|t| ready && crate::api::valid_name(t))
}

/// For an ACCEPTED extension: what ends it because of what it extends, once
/// accepted. The extended escalation revoked before this one took over
/// (it was not superseded by this one): a revocation also ends the extension
/// that was on its way, as nobody asked for access past a revoke.
pub fn revoked_before_takeover(this: &Escalation, extended: Option<&Escalation>) -> Option<String> {
    let target = this.extends()?;
    let old = extended?;
    let by_this = old.status.as_ref().and_then(|s| s.superseded_by.as_deref()) == this.metadata.name.as_deref();
    (old.spec.revoked && !by_this).then(|| {
        format!(
            "escalation {target}, which this one extends, was revoked by {} before this extension took over; its grants are reclaimed",
            old.spec.revoked_by
        )
    })
}

/// `kubectl kudo run --extend`: ask for an extension once less than a tenth
/// of the grant's time (from acceptance to expiry) is left.
pub fn extension_due(accepted_at: Timestamp, expires_at: Timestamp, now: Timestamp) -> bool {
    let total = expires_at.duration_since(accepted_at);
    let left = expires_at.duration_since(now);
    // left < total / 10, in integers: no rounding lets it fire late.
    left.as_millis().saturating_mul(10) < total.as_millis()
}

/// When [`extension_due`] becomes true: expiry minus a tenth of the span.
pub fn extension_due_at(accepted_at: Timestamp, expires_at: Timestamp) -> Timestamp {
    let total = expires_at.duration_since(accepted_at);
    expires_at.checked_sub(total / 10).unwrap_or(accepted_at)
}
