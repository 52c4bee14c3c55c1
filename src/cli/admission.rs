//! The CLI's side of "may I use this policy": the engine's rule, with RBAC's
//! answer from a SelfSubjectAccessReview when the subjects do not admit me.

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use kube::{Api, ResourceExt, api::PostParams};

use super::{
    error::{UserError, explain},
    session::Session,
};
use crate::{
    api::{EscalationPolicy, GROUP, Identity},
    engine::admission,
};

/// Whether the policy admits me.
pub async fn admitted(session: &Session, policy: &EscalationPolicy) -> Result<bool, UserError> {
    let me = Identity { username: &session.me.username, groups: &session.me.groups };
    let rbac_use = admission::needs_rbac_use(&policy.spec, &me) && may_use(session, &policy.name_any()).await?;
    Ok(admission::admits(&policy.spec, &me, rbac_use))
}

/// The policies that admit me, in the order given; RBAC is asked about
/// the others a few at a time.
pub async fn usable<'a>(
    session: &Session,
    policies: &'a [EscalationPolicy],
) -> Result<Vec<&'a EscalationPolicy>, UserError> {
    // Boxed so that the future stays Send for any lifetime (the dashboard's
    // handlers run on axum's multi-threaded executor).
    type Check<'s> = std::pin::Pin<Box<dyn Future<Output = Result<bool, UserError>> + Send + 's>>;
    let checks: Vec<Check<'_>> = policies.iter().map(|p| Box::pin(admitted(session, p)) as Check<'_>).collect();
    let answers: Vec<bool> = stream::iter(checks).buffered(16).try_collect().await?;
    Ok(policies.iter().zip(answers).filter(|(_, ok)| *ok).map(|(p, _)| p).collect())
}

async fn may_use(session: &Session, policy: &str) -> Result<bool, UserError> {
    let api: Api<SelfSubjectAccessReview> = session.api();
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                group: Some(GROUP.into()),
                resource: Some("escalationpolicies".into()),
                verb: Some("use".into()),
                name: Some(policy.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| explain("asking whether you may use the policy", e))?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}
