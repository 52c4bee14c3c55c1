//! Reviews naming no existing escalation (by name and UID) are never owned,
//! so nothing would ever collect them: the controller deletes them once
//! they are past a grace period, each with an audit record.

use jiff::Timestamp;
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Preconditions},
    runtime::reflector::ObjectRef,
};

use super::Context;
use crate::{api::EscalationReview, audit, engine::review};

/// Deletes the orphaned reviews; returns how many went.
pub async fn collect_orphans(ctx: &Context, now: Timestamp) -> usize {
    let api: Api<EscalationReview> = Api::all(ctx.client.clone());
    let mut collected = 0;
    for r in ctx.reviews.state() {
        let cached = ctx.escalation_store.get(&ObjectRef::new(&r.spec.escalation_name));
        if review::orphaned(&r, cached.as_deref(), now, ctx.orphan_review_grace).is_none() {
            continue;
        }
        // The cache may lag: confirm with the API server before deleting.
        let fresh = match ctx.escalations.get_opt(&r.spec.escalation_name).await {
            Ok(fresh) => fresh,
            Err(e) => {
                tracing::warn!(review = %r.name_any(), error = %e, "could not check a review's escalation");
                continue;
            }
        };
        let Some(why) = review::orphaned(&r, fresh.as_ref(), now, ctx.orphan_review_grace) else { continue };
        ctx.auditor.record(audit::orphan_review_record(now, &r, &why), None).await;
        let params = DeleteParams {
            preconditions: Some(Preconditions { uid: r.uid(), resource_version: None }),
            ..DeleteParams::background()
        };
        match api.delete(&r.name_any(), &params).await {
            Ok(_) => collected += 1,
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(e) => tracing::warn!(review = %r.name_any(), error = %e, "could not delete an orphaned review"),
        }
    }
    collected
}
