//! Ending escalations early: `spec.revoked`, `revokedBy` = me; the
//! controller reclaims their grants at once.

use kube::{
    ResourceExt,
    api::{ListParams, Patch, PatchParams},
};
use serde_json::json;

use super::{Error, Session, error::doing, get_escalation};
use crate::api::{Escalation, EscalationState};

/// Revokes one escalation that is not final yet.
pub async fn revoke(session: &Session, name: &str) -> Result<Escalation, Error> {
    let esc = get_escalation(session, name).await?;
    let name = esc.name_any();
    if let Some(s) = esc.state().filter(|s| s.is_final()) {
        return Err(Error::AlreadyFinal { name, state: s.as_str().to_string() });
    }
    mark(session, &name).await
}

/// Marks it revoked, whatever its state (`run` ends what it started so).
pub async fn mark(session: &Session, name: &str) -> Result<Escalation, Error> {
    let patch = json!({"spec": {"revoked": true, "revokedBy": session.me.username}});
    session
        .api::<Escalation>()
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(doing(format!("revoking escalation {name}")))
}

/// My escalations that are PENDING or ACCEPTED and not revoked yet.
pub async fn open_of_mine(session: &Session) -> Result<Vec<String>, Error> {
    let items =
        session.api::<Escalation>().list(&ListParams::default()).await.map_err(doing("listing escalations"))?.items;
    Ok(items
        .into_iter()
        .filter(|e| {
            e.spec.requestor == session.me.username
                && !e.state().is_some_and(EscalationState::is_final)
                && !e.spec.revoked
        })
        .map(|e| e.name_any())
        .collect())
}
