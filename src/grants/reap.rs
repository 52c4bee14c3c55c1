//! The reaper (DESIGN §4): the second line of defence. One pass deletes
//! every kudo-labelled binding whose `k8s.kudo.dev/expires-at` annotation is
//! past, or whose escalation is gone, final, or another instance. It reads
//! escalations as untyped JSON and looks only at `metadata.uid` and
//! `status.state` (written by the controller alone), so no object a user can
//! write, however malformed, can make it fail.

use std::collections::HashMap;

use jiff::Timestamp;
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, ListParams},
};

use super::{Binding, EXPIRES_AT_ANNOTATION, GrantError, Grants};
use crate::api::{ESCALATION_LABEL, Escalation};

/// What the reaper knows of one escalation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub uid: String,
    /// `status.state`, if any.
    pub state: Option<String>,
}

/// Why `binding` must go, or `None` to keep it.
pub fn reason(binding: &Binding, escalations: &HashMap<String, Seen>, now: Timestamp) -> Option<String> {
    let meta = binding.metadata();
    let expires = meta.annotations.as_ref().and_then(|a| a.get(EXPIRES_AT_ANNOTATION));
    match expires.map(|t| t.parse::<Timestamp>()) {
        None => return Some(format!("it has no {EXPIRES_AT_ANNOTATION} annotation")),
        Some(Err(_)) => return Some(format!("its {EXPIRES_AT_ANNOTATION} annotation is not a time")),
        Some(Ok(at)) if at <= now => return Some(format!("it expired at {at}")),
        Some(Ok(_)) => {}
    }
    let name = meta.labels.as_ref().and_then(|l| l.get(ESCALATION_LABEL));
    let Some(seen) = name.and_then(|n| escalations.get(n)) else {
        return Some("its escalation does not exist".into());
    };
    if !meta.owner_references.iter().flatten().any(|o| o.uid == seen.uid) {
        return Some("it is not owned by the escalation of that name".into());
    }
    match seen.state.as_deref() {
        Some("PENDING" | "ACCEPTED") => None,
        Some(state) => Some(format!("its escalation is {state}")),
        None => Some("its escalation was never evaluated".into()),
    }
}

/// One reaper pass; returns the bindings deleted, with why.
pub async fn reap(client: &Client, now: Timestamp) -> Result<Vec<(String, String)>, GrantError> {
    let escalations = list_escalations(client).await?;
    let grants = Grants::new(client.clone());
    let mut reaped = Vec::new();
    for cluster in [false, true] {
        let mut token: Option<String> = None;
        loop {
            let (page, next) = grants.list_managed_page(cluster, token.as_deref()).await?;
            for binding in &page {
                let Some(why) = reason(binding, &escalations, now) else { continue };
                let meta = binding.metadata();
                let name = match &meta.namespace {
                    Some(ns) => format!("rolebinding {ns}/{}", meta.name.as_deref().unwrap_or_default()),
                    None => format!("clusterrolebinding {}", meta.name.as_deref().unwrap_or_default()),
                };
                match grants.delete_found(binding).await {
                    Ok(()) => reaped.push((name, why)),
                    // The reaper may not remove foreign finalizers; the controller does.
                    Err(e) => tracing::warn!(binding = %name, error = %e, "could not reap"),
                }
            }
            match next.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => break,
            }
        }
    }
    Ok(reaped)
}

async fn list_escalations(client: &Client) -> Result<HashMap<String, Seen>, GrantError> {
    use kube::Resource;
    let gvk = GroupVersionKind::gvk(&Escalation::group(&()), &Escalation::version(&()), &Escalation::kind(&()));
    let api: Api<DynamicObject> =
        Api::all_with(client.clone(), &ApiResource::from_gvk_with_plural(&gvk, "escalations"));
    let mut out = HashMap::new();
    let mut lp = ListParams::default().limit(500);
    loop {
        let list = api.list(&lp).await.map_err(|source| GrantError::Api {
            action: "listing",
            kind: "Escalations",
            name: String::new(),
            source,
        })?;
        for e in list.items {
            let (Some(name), Some(uid)) = (e.metadata.name, e.metadata.uid) else { continue };
            let state = e.data.get("status").and_then(|s| s.get("state")).and_then(|s| s.as_str()).map(String::from);
            out.insert(name, Seen { uid, state });
        }
        match list.metadata.continue_.filter(|t| !t.is_empty()) {
            Some(t) => lp = lp.continue_token(&t),
            None => break,
        }
    }
    Ok(out)
}
