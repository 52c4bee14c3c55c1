//! The per-requestor cap on finished escalations (issue 17): what keeps the
//! controller's memory bounded whatever one user creates. Run whenever an
//! escalation finishes (at most once a second) and with every sweep.

use std::time::Duration;

use futures::StreamExt;
use kube::ResourceExt;

use super::{Context, reconcile};
use crate::engine::retention;

/// Deletes (after their audit records) the finished escalations beyond the
/// cap, oldest first; returns how many went.
pub async fn enforce_cap(ctx: &Context) -> usize {
    let victims: Vec<String> = {
        let cached = ctx.escalation_store.state();
        retention::over_cap(cached.iter().map(|e| &**e), ctx.retain_per_requestor)
            .iter()
            .map(|e| e.name_any())
            .collect()
    };
    futures::stream::iter(victims)
        .map(|name| async move {
            // The cache holds finished escalations slimmed down: the audit
            // record carries the whole object, read fresh.
            match ctx.escalations.get_opt(&name).await {
                Ok(Some(esc)) if retention::removable(&esc) => match reconcile::retire(ctx, &esc).await {
                    Ok(()) => 1,
                    Err(e) => {
                        tracing::warn!(escalation = %name, error = %e, "could not delete a finished escalation over the cap");
                        0
                    }
                },
                Ok(_) => 0,
                Err(e) => {
                    tracing::warn!(escalation = %name, error = %e, "could not read a finished escalation over the cap");
                    0
                }
            }
        })
        .buffer_unordered(8)
        .fold(0, |n, one| async move { n + one })
        .await
}

/// Enforces the cap when told an escalation finished (debounced to once a
/// second, so a flood costs one pass a second, not one per escalation).
pub async fn run(ctx: std::sync::Arc<Context>, interval: Duration) {
    loop {
        tokio::select! {
            () = ctx.finished.notified() => {}
            () = tokio::time::sleep(interval) => {}
        }
        match enforce_cap(&ctx).await {
            0 => {}
            n => tracing::info!(
                deleted = n,
                cap = ctx.retain_per_requestor,
                "deleted finished escalations over the per-requestor cap"
            ),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
