//! The checks a new escalation must pass before it can wait for review.
//! Each failure is a sentence telling the requestor what to change.

use jiff::{SignedDuration, Timestamp};

use super::window;
use crate::api::{
    ChallengeKind, DurationText, Escalation, EscalationPolicySpec, EscalationSpec, EscalationState, Grant, GrantKind,
};

pub const DEFAULT_PENDING_TIMEOUT: SignedDuration = SignedDuration::from_hours(1);

/// How far in the past a `startAt` may be when the escalation is created:
/// the CLI's clock and the API server's differ a little.
pub const START_SKEW: SignedDuration = SignedDuration::from_mins(1);

/// The checks on a new request, in the order a user fixes them: reason,
/// duration, namespace, break-glass, time window (at `startAt` when it is
/// later). One chain for the CLI and the controller.
pub fn request(
    policy: &EscalationPolicySpec,
    spec: &EscalationSpec,
    policy_name: &str,
    now: Timestamp,
) -> Result<(), String> {
    justification(policy, spec, policy_name)?;
    duration(policy, spec, policy_name)?;
    namespaces(policy, spec, policy_name)?;
    break_glass(policy, spec, policy_name)?;
    time_windows(policy, starts(spec, now), policy_name)
}

/// When the escalation may be accepted: `startAt` if later than `now`.
pub fn starts(spec: &EscalationSpec, now: Timestamp) -> Timestamp {
    spec.start_at.as_ref().map(|t| t.0).filter(|s| *s > now).unwrap_or(now)
}

/// `startAt`, against the time the escalation was `created`: not in the past
/// (beyond [`START_SKEW`]), not beyond the policy's pendingTimeout.
pub fn schedule(
    policy: &EscalationPolicySpec,
    spec: &EscalationSpec,
    policy_name: &str,
    created: Timestamp,
) -> Result<(), String> {
    let Some(start) = spec.start_at.as_ref().map(|t| t.0) else { return Ok(()) };
    if start < created.checked_sub(START_SKEW).unwrap_or(Timestamp::MIN) {
        return Err(format!("startAt {start} is in the past; leave it out to start now, or pick a later time"));
    }
    let timeout = pending_timeout(policy, policy_name)?;
    let latest = created.checked_add(timeout).unwrap_or(Timestamp::MAX);
    if start > latest {
        return Err(format!(
            "startAt {start} is later than policy {policy_name}'s pendingTimeout ({}) allows (at most {latest}); escalate closer to the time",
            crate::api::duration::human(timeout)
        ));
    }
    Ok(())
}

/// `breakGlass` needs a PeerReview the policy lets requestors skip.
pub fn break_glass(policy: &EscalationPolicySpec, spec: &EscalationSpec, policy_name: &str) -> Result<(), String> {
    if spec.break_glass && !policy.challenges.iter().any(is_break_glass) {
        return Err(format!(
            "policy {policy_name} has no break-glass review (a PeerReview with breakGlass: true); escalate without --break-glass"
        ));
    }
    Ok(())
}

/// How long a break-glass escalation may wait for its after-review before
/// its policy's Ready condition warns about it.
pub const AFTER_REVIEW_OVERDUE: SignedDuration = SignedDuration::from_hours(24);

/// Escalations of `policy_name` whose break-glass after-review is still
/// PENDING more than [`AFTER_REVIEW_OVERDUE`] after acceptance.
pub fn overdue_after_reviews<'a>(
    policy_name: &str,
    escalations: impl Iterator<Item = &'a Escalation>,
    now: Timestamp,
) -> Vec<String> {
    let mut out: Vec<String> = escalations
        .filter(|e| e.spec.policy_name == policy_name)
        .filter(|e| {
            e.status.as_ref().is_some_and(|s| {
                s.after_review == Some(crate::api::AfterReview::Pending)
                    && s.accepted_at
                        .as_ref()
                        .is_some_and(|t| t.0.checked_add(AFTER_REVIEW_OVERDUE).is_ok_and(|d| d < now))
            })
        })
        .filter_map(|e| e.metadata.name.clone())
        .collect();
    out.sort();
    out
}

/// A PeerReview a requestor may skip in an emergency.
pub fn is_break_glass(challenge: &crate::api::Challenge) -> bool {
    challenge.kind == ChallengeKind::PeerReview && challenge.break_glass
}

/// `maxOpenPerRequestor`: `open` are the requestor's other open escalations of this policy.
pub fn open_limit(policy: &EscalationPolicySpec, policy_name: &str, open: &[String]) -> Result<(), String> {
    let max = policy.max_open_per_requestor();
    if open.len() < max {
        return Ok(());
    }
    let shown: Vec<&str> = open.iter().take(5).map(String::as_str).collect();
    let more = if open.len() > shown.len() { format!(" and {} more", open.len() - shown.len()) } else { String::new() };
    Err(format!(
        "you already hold {} open escalation(s) of policy {policy_name} ({}{more}), the most it allows (maxOpenPerRequestor {max}); use one of them, or end it with `kubectl kudo revoke NAME`, then escalate again",
        open.len(),
        shown.join(", ")
    ))
}

/// The requestor's other open escalations of `this` one's policy that count
/// against `maxOpenPerRequestor`: PENDING or ACCEPTED ones, and ones not yet
/// evaluated that were created before it (by creation time, then name), so
/// that of two created at once the older is the one admitted.
///
/// An extension and what it extends (`spec.extends`) count as one, named
/// by the first of the chain; `this` one's own chain does not count.
pub fn open_escalations<'a>(this: &Escalation, all: impl IntoIterator<Item = &'a Escalation>) -> Vec<String> {
    // Borrowed: this runs over the whole cache for every new escalation.
    fn key(e: &Escalation) -> (Option<jiff::Timestamp>, Option<&str>) {
        (e.metadata.creation_timestamp.as_ref().map(|t| t.0), e.metadata.name.as_deref())
    }
    let this_key = key(this);
    let open: Vec<&Escalation> = all
        .into_iter()
        .filter(|e| {
            e.metadata.uid != this.metadata.uid
                && e.metadata.deletion_timestamp.is_none()
                && e.spec.policy_name == this.spec.policy_name
                && e.spec.requestor == this.spec.requestor
                && match e.state() {
                    Some(EscalationState::Pending | EscalationState::Accepted) => true,
                    Some(EscalationState::Denied | EscalationState::Expired) => false,
                    None => !e.spec.revoked && (this.metadata.uid.is_none() || key(e) < this_key),
                }
        })
        .collect();
    // Links within the open set (and to what `this` extends).
    let links: std::collections::HashMap<&str, &str> =
        open.iter().filter_map(|e| Some((e.metadata.name.as_deref()?, e.extends()?))).collect();
    let root = |start: &str| -> String {
        let mut at = start;
        // Bounded: a cycle (names are the user's to choose) ends the walk.
        for _ in 0..64 {
            match links.get(at) {
                Some(next) if *next != start => at = next,
                _ => break,
            }
        }
        at.to_string()
    };
    let own_chain = this.extends().map(root);
    let mut names: Vec<String> = open
        .iter()
        .filter_map(|e| e.metadata.name.as_deref())
        .map(root)
        .filter(|r| Some(r) != own_chain.as_ref())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The duration granted: the requested one, else the policy default; at most `maxDuration`.
pub fn duration(
    policy: &EscalationPolicySpec,
    spec: &EscalationSpec,
    policy_name: &str,
) -> Result<SignedDuration, String> {
    let max = policy
        .target
        .max_duration
        .parse()
        .map_err(|e| format!("policy {policy_name} has a bad target.maxDuration ({e}); ask an admin to fix it"))?;
    let (requested, source) = match &spec.duration {
        Some(d) => (d.parse().map_err(|e| format!("{e}"))?, "requested duration"),
        None => (
            policy.target.default_duration.parse().map_err(|e| {
                format!("policy {policy_name} has a bad target.defaultDuration ({e}); ask an admin to fix it")
            })?,
            "policy's defaultDuration",
        ),
    };
    if requested.is_zero() {
        return Err(format!("the {source} is 0s; ask for a positive duration such as 30m"));
    }
    if requested > max {
        return Err(format!(
            "the {source} {} is longer than policy {policy_name} allows ({}); ask for --duration {} or less",
            spec.duration.as_ref().unwrap_or(&policy.target.default_duration),
            policy.target.max_duration,
            policy.target.max_duration,
        ));
    }
    Ok(requested)
}

/// How long an escalation may stay PENDING (default 1h). A value kudo
/// cannot use (which the CRD schema already rejects) is an error the caller
/// turns into DENIED, never a silent default.
pub fn pending_timeout(policy: &EscalationPolicySpec, policy_name: &str) -> Result<SignedDuration, String> {
    match &policy.pending_timeout {
        None => Ok(DEFAULT_PENDING_TIMEOUT),
        Some(d) => d
            .parse()
            .map_err(|e| format!("policy {policy_name} has a bad pendingTimeout ({e}); ask an admin to fix it")),
    }
}

/// What is wrong with a policy as written, for its Ready condition.
pub fn policy_problems(policy: &EscalationPolicySpec) -> Vec<String> {
    let mut problems = Vec::new();
    let durations = [
        ("target.defaultDuration", Some(&policy.target.default_duration)),
        ("target.maxDuration", Some(&policy.target.max_duration)),
        ("pendingTimeout", policy.pending_timeout.as_ref()),
    ];
    for (field, value) in durations {
        if let Some(Err(e)) = value.map(DurationText::parse) {
            problems.push(format!("{field}: {e}"));
        }
    }
    if policy.subjects.is_empty() {
        problems.push("subjects: list at least one User, Group or ServiceAccount".into());
    }
    for (i, c) in policy.challenges.iter().enumerate() {
        match c.kind {
            ChallengeKind::Justification => {
                if let Err(e) = regex::Regex::new(c.pattern.as_deref().unwrap_or_default()) {
                    problems.push(format!("challenges[{i}].pattern: {e}"));
                }
            }
            ChallengeKind::TimeWindow => {
                let zone = c.time_zone.as_deref().unwrap_or("UTC");
                if let Err(e) = window::is_open(zone, &c.windows, Timestamp::UNIX_EPOCH) {
                    problems.push(format!("challenges[{i}]: {e}"));
                }
            }
            ChallengeKind::PeerReview if c.reviewers.is_empty() => {
                problems.push(format!("challenges[{i}]: a PeerReview needs reviewers"));
            }
            ChallengeKind::PeerReview => {}
        }
    }
    problems
}

/// The namespace each grant lands in (`None` for cluster-wide grants).
pub fn namespaces(
    policy: &EscalationPolicySpec,
    spec: &EscalationSpec,
    policy_name: &str,
) -> Result<Vec<Option<String>>, String> {
    let namespaced = policy.target.grants.iter().any(|g| g.kind == GrantKind::KubernetesRoleBinding);
    if let (Some(ns), false) = (&spec.namespace, namespaced) {
        return Err(format!(
            "policy {policy_name} grants only cluster-wide bindings, so namespace {ns} means nothing; escalate again without --namespace"
        ));
    }
    policy.target.grants.iter().map(|g| grant_namespace(g, spec.namespace.as_deref(), policy_name)).collect()
}

fn grant_namespace(grant: &Grant, requested: Option<&str>, policy_name: &str) -> Result<Option<String>, String> {
    if grant.kind == GrantKind::KubernetesClusterRoleBinding {
        return Ok(None);
    }
    let allowed: Vec<&str> = if grant.allowed_namespaces.is_empty() {
        grant.default_namespace.as_deref().into_iter().collect()
    } else {
        grant.allowed_namespaces.iter().map(String::as_str).collect()
    };
    let ns = requested.or(grant.default_namespace.as_deref()).ok_or_else(|| {
        format!(
            "policy {policy_name} needs a namespace: escalate again with --namespace, one of: {}",
            allowed.join(", ")
        )
    })?;
    if !allowed.contains(&ns) {
        return Err(format!(
            "namespace {ns} is not allowed by policy {policy_name}; escalate again with --namespace set to one of: {}",
            allowed.join(", ")
        ));
    }
    Ok(Some(ns.to_string()))
}

/// Reason non-empty and matching every Justification pattern.
pub fn justification(policy: &EscalationPolicySpec, spec: &EscalationSpec, policy_name: &str) -> Result<(), String> {
    if spec.reason.trim().is_empty() {
        return Err("the reason is empty; escalate again with --reason saying why you need access".into());
    }
    for c in policy.challenges.iter().filter(|c| c.kind == ChallengeKind::Justification) {
        let pattern = c.pattern.as_deref().unwrap_or_default();
        let re = regex::RegexBuilder::new(pattern).size_limit(1 << 20).build().map_err(|e| {
            format!("policy {policy_name} has an invalid Justification pattern ({e}); ask an admin to fix it")
        })?;
        if !re.is_match(&spec.reason) {
            return Err(format!(
                "the reason does not match policy {policy_name}'s Justification pattern {pattern:?} (for example a ticket id); escalate again with a --reason that contains one"
            ));
        }
    }
    Ok(())
}

/// Every TimeWindow challenge open at `now`.
pub fn time_windows(policy: &EscalationPolicySpec, now: Timestamp, policy_name: &str) -> Result<(), String> {
    for c in policy.challenges.iter().filter(|c| c.kind == ChallengeKind::TimeWindow) {
        let zone = c.time_zone.as_deref().unwrap_or("UTC");
        let open = window::is_open(zone, &c.windows, now)
            .map_err(|e| format!("policy {policy_name} has an invalid TimeWindow ({e}); ask an admin to fix it"))?;
        if !open {
            return Err(format!(
                "policy {policy_name} only allows escalating during {} ({zone}); it is {}. Escalate again inside a window",
                window::describe(&c.windows),
                window::local_now(zone, now)
            ));
        }
    }
    Ok(())
}
