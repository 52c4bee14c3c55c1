//! Waiting on one escalation until the controller has done something, with
//! kube-runtime's `await_condition` (a watch on that one object, relisted
//! as needed). Its condition sees `None` when the object is gone, from a
//! delete event or from a relist that no longer finds it: every wait here
//! returns [`Error::Deleted`] (or [`Ended::Deleted`]) then, instead of
//! waiting for a decision that will never come.

use std::time::Duration;

use kube::runtime::wait::{self, await_condition};

use super::{Error, Session, review};
use crate::api::{Escalation, EscalationState, GrantStatus};

/// Waits until `done`, calling `seen` with every version observed.
async fn until(
    session: &Session,
    name: &str,
    seen: impl Fn(&Escalation),
    done: impl Fn(&Escalation) -> bool,
) -> Result<Escalation, Error> {
    let condition = |esc: Option<&Escalation>| {
        esc.is_none_or(|e| {
            seen(e);
            done(e)
        })
    };
    match await_condition(session.api(), name, condition).await {
        Ok(Some(esc)) => Ok(esc),
        Ok(None) => Err(Error::Deleted { name: name.to_string() }),
        Err(wait::Error::ProbeFailed(source)) => Err(Error::Watch { name: name.to_string(), source }),
    }
}

/// ACCEPTED with every binding created, or a final state (pure).
pub fn decided(esc: &Escalation) -> bool {
    esc.status.as_ref().is_some_and(|s| {
        s.state.is_final()
            || (s.state == EscalationState::Accepted && s.grant_refs.iter().all(|r| r.status == GrantStatus::Created))
    })
}

/// Waits for the decision ([`decided`]) for at most `timeout`; `seen` gets
/// every version (a spinner's message, a live page).
pub async fn decision(
    session: &Session,
    name: &str,
    timeout: Duration,
    seen: impl Fn(&Escalation),
) -> Result<Escalation, Error> {
    tokio::time::timeout(timeout, until(session, name, seen, decided))
        .await
        .unwrap_or_else(|_| Err(Error::Timeout { name: name.to_string() }))
}

/// The escalation if ACCEPTED, else [`Error::NotGranted`] saying how it ended.
pub fn accepted(esc: Escalation) -> Result<Escalation, Error> {
    match &esc.status {
        Some(s) if s.state != EscalationState::Accepted => Err(Error::NotGranted {
            name: kube::ResourceExt::name_any(&esc),
            state: s.state.as_str().to_string(),
            details: s.state_details.clone(),
        }),
        _ => Ok(esc),
    }
}

/// The controller's first word on it (it has a status), or `None` after `within`.
pub async fn taken_up(session: &Session, name: &str, within: Duration) -> Result<Option<Escalation>, Error> {
    match tokio::time::timeout(within, until(session, name, |_| {}, |e| e.status.is_some())).await {
        Ok(result) => result.map(Some),
        Err(_) => Ok(None),
    }
}

/// Until the controller has acted on `reviewer`'s review ([`review::acted`]).
pub async fn review_acted(
    session: &Session,
    name: &str,
    reviewer: &str,
    after_review: bool,
    within: Duration,
) -> Result<Escalation, Error> {
    let acted = |e: &Escalation| review::acted(e, reviewer, after_review);
    tokio::time::timeout(within, until(session, name, |_| {}, acted)).await.unwrap_or_else(|_| {
        let within = if within == Duration::from_secs(60) {
            "a minute".to_string()
        } else {
            crate::api::duration::human(within.try_into().unwrap_or_default())
        };
        Err(Error::ReviewNotActed { name: name.to_string(), within })
    })
}

/// Until it is final with every grant reclaimed; `false` when that took
/// longer than `within`. Gone counts as reclaimed: its finalizer held it
/// until its bindings were.
pub async fn reclaimed(session: &Session, name: &str, within: Duration) -> Result<bool, Error> {
    let done = |e: &Escalation| {
        e.status
            .as_ref()
            .is_some_and(|s| s.state.is_final() && s.grant_refs.iter().all(|r| r.status == GrantStatus::Reclaimed))
    };
    match tokio::time::timeout(within, until(session, name, |_| {}, done)).await {
        Ok(Ok(_) | Err(Error::Deleted { .. })) => Ok(true),
        Ok(Err(e)) => Err(e),
        Err(_) => Ok(false),
    }
}

/// How an escalation ended under whoever used it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    Final { state: EscalationState, details: String },
    Deleted,
}

/// Resolves when the escalation ends: final, or deleted. A failing watch
/// is retried (this runs for as long as a command does).
pub async fn ended(session: &Session, name: &str) -> Ended {
    let fin = |e: &Escalation| e.status.as_ref().is_some_and(|s| s.state.is_final());
    loop {
        match until(session, name, |_| {}, fin).await {
            Ok(esc) => {
                let (state, details) =
                    esc.status.map(|s| (s.state, s.state_details)).unwrap_or((EscalationState::Expired, String::new()));
                return Ended::Final { state, details };
            }
            Err(Error::Deleted { .. }) => return Ended::Deleted,
            Err(e) => {
                tracing::debug!(error = %e, "watching escalation {name}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn escalation(status: serde_json::Value) -> Escalation {
        serde_json::from_value(json!({
            "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "Escalation", "metadata": {"name": "e"},
            "spec": {"policyName": "p", "requestor": "alice", "requestorGroups": [], "reason": "r"},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn decided_means_granted_or_final() {
        assert!(!decided(&escalation(json!(null))));
        assert!(!decided(&escalation(json!({"state": "PENDING"}))));
        assert!(decided(&escalation(json!({"state": "DENIED"}))));
        let granting = escalation(json!({"state": "ACCEPTED", "grantRefs": [{"status": "PENDING",
            "ref": {"kind": "KubernetesRoleBinding", "name": "b", "namespace": "app"},
            "roleRef": {"kind": "ClusterRole", "name": "r", "apiGroup": "rbac.authorization.k8s.io"}}]}));
        assert!(!decided(&granting), "accepted, bindings not yet created");
        assert!(decided(&escalation(json!({"state": "ACCEPTED"}))));
    }

    #[test]
    fn only_accepted_is_granted() {
        let denied = accepted(escalation(json!({"state": "DENIED", "stateDetails": "bob said no"}))).unwrap_err();
        assert_eq!(denied.to_string(), "escalation e is DENIED: bob said no");
        assert_eq!(denied.kind(), super::super::Kind::Denied);
        assert!(accepted(escalation(json!({"state": "ACCEPTED"}))).is_ok());
    }
}
