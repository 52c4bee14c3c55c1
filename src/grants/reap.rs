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

use super::{GrantError, Grants};
use crate::{
    api::{ESCALATION_LABEL, Escalation},
    engine::binding::{Seen, reap_reason as reason},
};

/// One reaper pass; returns the bindings deleted, with why.
pub async fn reap(client: &Client, now: Timestamp) -> Result<Vec<(String, String)>, GrantError> {
    let api = escalations_api(client);
    let escalations = list_escalations(&api).await?;
    let grants = Grants::new(client.clone());
    let mut reaped = Vec::new();
    for cluster in [false, true] {
        let mut token: Option<String> = None;
        loop {
            let (page, next) = grants.list_managed_page(cluster, token.as_deref()).await?;
            for binding in &page {
                let Some(mut why) = reason(binding, &escalations, now) else { continue };
                // An escalation created (and granted) after the list above is
                // not in it: read it before calling its binding an orphan.
                let label = binding.metadata().labels.as_ref().and_then(|l| l.get(ESCALATION_LABEL));
                if let Some(name) = label.filter(|n| !n.is_empty() && !escalations.contains_key(*n)) {
                    let fresh: HashMap<String, Seen> = get_escalation(&api, name).await?.into_iter().collect();
                    match reason(binding, &fresh, now) {
                        Some(again) => why = again,
                        None => continue,
                    }
                }
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

/// Escalations as untyped objects: a malformed spec cannot fail the read.
fn escalations_api(client: &Client) -> Api<DynamicObject> {
    use kube::Resource;
    let gvk = GroupVersionKind::gvk(&Escalation::group(&()), &Escalation::version(&()), &Escalation::kind(&()));
    Api::all_with(client.clone(), &ApiResource::from_gvk_with_plural(&gvk, "escalations"))
}

fn seen(e: DynamicObject) -> Option<(String, Seen)> {
    let (Some(name), Some(uid)) = (e.metadata.name, e.metadata.uid) else { return None };
    let state = e.data.get("status").and_then(|s| s.get("state")).and_then(|s| s.as_str()).map(String::from);
    Some((name, Seen { uid, state }))
}

async fn get_escalation(api: &Api<DynamicObject>, name: &str) -> Result<Option<(String, Seen)>, GrantError> {
    let found = api.get_opt(name).await.map_err(|source| GrantError::Api {
        action: "reading",
        kind: "Escalation",
        name: name.to_string(),
        source,
    })?;
    Ok(found.and_then(seen))
}

async fn list_escalations(api: &Api<DynamicObject>) -> Result<HashMap<String, Seen>, GrantError> {
    let mut out = HashMap::new();
    let mut lp = ListParams::default().limit(500);
    loop {
        let list = api.list(&lp).await.map_err(|source| GrantError::Api {
            action: "listing",
            kind: "Escalations",
            name: String::new(),
            source,
        })?;
        out.extend(list.items.into_iter().filter_map(seen));
        match list.metadata.continue_.filter(|t| !t.is_empty()) {
            Some(t) => lp = lp.continue_token(&t),
            None => break,
        }
    }
    Ok(out)
}
