//! Reviewing someone's escalation (approve, deny, and the after-review a
//! break-glass escalation owes): check it as the controller will count it,
//! then create the EscalationReview bound to the escalation's UID.

use kube::{ResourceExt, api::PostParams};

use super::{Error, Me, Session, error::doing, get_escalation, policies};
use crate::{
    api::{
        AfterReview, ChallengeKind, Escalation, EscalationPolicy, EscalationReview, EscalationReviewSpec,
        EscalationState, GrantStatus, ReviewDecision,
    },
    engine::review,
};

/// A review checked and ready to create: what a front end shows before
/// asking "approve?" (the escalation, its policy, its grant preview in
/// `escalation.status.grantPreview`).
#[derive(Clone, Debug)]
pub struct Prepared {
    pub escalation: Escalation,
    pub policy: EscalationPolicy,
    /// The review to create (named by the server on [`submit`]).
    pub review: EscalationReview,
    /// It decides the after-review a break-glass escalation owes.
    pub after_review: bool,
}

impl Prepared {
    pub fn name(&self) -> String {
        self.escalation.name_any()
    }
}

pub fn verb(decision: ReviewDecision) -> &'static str {
    if decision == ReviewDecision::Approved { "approve" } else { "deny" }
}

/// Reads the escalation and checks that my review would count: not my own
/// request, PENDING (or owing its after-review), its policy asks for a peer
/// review, and I am eligible for it.
pub async fn prepare(
    session: &Session,
    name: &str,
    decision: ReviewDecision,
    message: &str,
) -> Result<Prepared, Error> {
    let escalation = get_escalation(session, name).await?;
    let policy = match policies::get(session, &escalation.spec.policy_name).await {
        Err(Error::PolicyNotFound(policy)) => return Err(Error::PolicyGone { policy, name: escalation.name_any() }),
        other => other?,
    };
    check(&session.me, escalation, policy, decision, message)
}

/// [`prepare`]'s checks, on what was read (pure).
pub fn check(
    me: &Me,
    escalation: Escalation,
    policy: EscalationPolicy,
    decision: ReviewDecision,
    message: &str,
) -> Result<Prepared, Error> {
    let name = escalation.name_any();
    let verb = verb(decision);
    // Admission refuses it too; say so first, in plain words.
    if escalation.spec.requestor == me.username {
        return Err(Error::OwnRequest { verb, name, user: me.username.clone() });
    }
    let after_review = escalation.status.as_ref().is_some_and(|s| s.after_review == Some(AfterReview::Pending));
    if let Some(state) = escalation.state().filter(|s| *s != EscalationState::Pending && !after_review) {
        return Err(Error::NothingToReview { verb, name, state: state.as_str().to_string() });
    }
    if !policy.spec.challenges.iter().any(|c| c.kind == ChallengeKind::PeerReview) {
        return Err(Error::NoPeerReview { verb, policy: policy.name_any() });
    }
    let review = EscalationReview::new(
        "",
        EscalationReviewSpec {
            escalation_name: name.clone(),
            escalation_uid: escalation.uid().unwrap_or_default(),
            reviewer: me.username.clone(),
            reviewer_groups: me.groups_for_spec(),
            decision,
            message: message.to_string(),
        },
    );
    // The controller's own rule: eligible for a stage, or for the after-review.
    review::assess(Some(&policy.spec), &escalation, &review).map_err(|why| Error::NotEligible { verb, name, why })?;
    Ok(Prepared { escalation, policy, review, after_review })
}

/// Creates the prepared review; returns it as created (with its name).
pub async fn submit(session: &Session, prepared: &Prepared) -> Result<EscalationReview, Error> {
    let name = prepared.name();
    let mut review = prepared.review.clone();
    review.metadata.name = None;
    review.metadata.generate_name = Some(format!("{}-", &name[..name.len().min(57)]));
    session
        .api::<EscalationReview>()
        .create(&PostParams::default(), &review)
        .await
        .map_err(doing(format!("recording your review of {name}")))
}

/// [`prepare`] and [`submit`] in one (no confirmation step).
pub async fn review(
    session: &Session,
    name: &str,
    decision: ReviewDecision,
    message: &str,
) -> Result<(Prepared, EscalationReview), Error> {
    let prepared = prepare(session, name, decision, message).await?;
    let created = submit(session, &prepared).await?;
    Ok((prepared, created))
}

/// Whether the controller has acted on `reviewer`'s review: the escalation
/// is final, granted (every binding created), its after-review decided, or
/// still PENDING with the review counted toward a stage (pure).
pub fn acted(esc: &Escalation, reviewer: &str, after_review: bool) -> bool {
    let Some(status) = &esc.status else { return false };
    if after_review {
        return status.after_review != Some(AfterReview::Pending);
    }
    match status.state {
        EscalationState::Denied | EscalationState::Expired => true,
        EscalationState::Accepted => status.grant_refs.iter().all(|r| r.status == GrantStatus::Created),
        EscalationState::Pending => status.challenges.iter().any(|c| c.approved_by.iter().any(|a| a == reviewer)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn escalation(status: serde_json::Value) -> Escalation {
        serde_json::from_value(json!({
            "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "Escalation", "metadata": {"name": "e", "uid": "u1"},
            "spec": {"policyName": "p", "requestor": "alice", "requestorGroups": ["squad-a"], "reason": "r"},
            "status": status,
        }))
        .unwrap()
    }

    fn policy(challenges: serde_json::Value) -> EscalationPolicy {
        serde_json::from_value(json!({
            "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "EscalationPolicy", "metadata": {"name": "p"},
            "spec": {"subjects": [{"kind": "Group", "name": "squad-a"}], "challenges": challenges,
                     "target": {"defaultDuration": "1h", "maxDuration": "1h", "grants": []}},
        }))
        .unwrap()
    }

    fn session(user: &str, groups: &[&str]) -> Me {
        Me { username: user.into(), groups: groups.iter().map(|g| g.to_string()).collect() }
    }

    fn admins() -> serde_json::Value {
        json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}])
    }

    #[test]
    fn my_own_request_is_refused_first_in_plain_words() {
        let pending = escalation(json!({"state": "PENDING"}));
        // Even when I am an eligible reviewer, and before any other check.
        let e = check(&session("alice", &["admins"]), pending.clone(), policy(admins()), ReviewDecision::Approved, "")
            .unwrap_err();
        assert!(matches!(e, Error::OwnRequest { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "you cannot approve escalation e: alice requested the escalation and cannot review it"
        );
        assert!(e.hint().is_some());
        let denied = escalation(json!({"state": "DENIED"}));
        let e =
            check(&session("alice", &["admins"]), denied, policy(admins()), ReviewDecision::Rejected, "").unwrap_err();
        assert!(matches!(e, Error::OwnRequest { verb: "deny", .. }), "{e}");
    }

    #[test]
    fn reviews_that_would_not_count_are_refused() {
        let pending = escalation(json!({"state": "PENDING"}));
        let bob = session("bob", &["admins"]);
        let ok = check(&bob, pending.clone(), policy(admins()), ReviewDecision::Approved, "ok").unwrap();
        assert_eq!((ok.review.spec.escalation_uid.as_str(), ok.review.spec.message.as_str()), ("u1", "ok"));
        let dave = session("dave", &[]);
        let e = check(&dave, pending.clone(), policy(admins()), ReviewDecision::Approved, "").unwrap_err();
        assert!(e.to_string().contains("dave is not an eligible reviewer"), "{e}");
        let e = check(&bob, pending, policy(json!([])), ReviewDecision::Approved, "").unwrap_err();
        assert!(matches!(e, Error::NoPeerReview { .. }), "{e}");
        let accepted = escalation(json!({"state": "ACCEPTED"}));
        let e = check(&bob, accepted, policy(admins()), ReviewDecision::Approved, "").unwrap_err();
        assert_eq!(e.to_string(), "escalation e is ACCEPTED: there is nothing to approve");
    }

    #[test]
    fn the_controller_has_acted_once_the_review_shows() {
        let pending =
            escalation(json!({"state": "PENDING", "challenges": [{"kind": "PeerReview", "state": "PENDING"}]}));
        assert!(!acted(&pending, "bob", false), "not yet counted");
        let counted = escalation(
            json!({"state": "PENDING", "challenges": [{"kind": "PeerReview", "state": "PENDING", "approvedBy": ["bob"]}]}),
        );
        assert!(acted(&counted, "bob", false), "counted; another stage waits");
        let granting = escalation(json!({"state": "ACCEPTED", "grantRefs": [{"status": "PENDING",
            "ref": {"kind": "KubernetesRoleBinding", "name": "b", "namespace": "app"},
            "roleRef": {"kind": "ClusterRole", "name": "r", "apiGroup": "rbac.authorization.k8s.io"}}]}));
        assert!(!acted(&granting, "bob", false), "accepted, bindings not yet created");
        assert!(acted(&escalation(json!({"state": "DENIED"})), "bob", false));
        let owed = escalation(json!({"state": "ACCEPTED", "afterReview": "PENDING"}));
        assert!(!acted(&owed, "bob", true));
        assert!(acted(&escalation(json!({"state": "ACCEPTED", "afterReview": "APPROVED"})), "bob", true));
    }
}
