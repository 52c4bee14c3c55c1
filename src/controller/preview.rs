//! Reads what the grant preview needs (the roles, RBAC's answers about the
//! requestor) under the controller's own rights; `engine::preview` decides
//! what it says.

use std::collections::BTreeSet;

use futures::StreamExt;
use k8s_openapi::api::{
    authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec},
    rbac::v1::{ClusterRole, PolicyRule, Role},
};
use kube::{Api, api::PostParams};

use super::Context;
use crate::{
    api::{
        AfterReview, ChallengeKind, ChallengeState, Escalation, EscalationPolicy, EscalationState, EscalationStatus,
        GrantPreview, RoleKind,
    },
    engine::{
        checks,
        preview::{self, Check, Granted},
    },
};

/// Whether reviewers are waiting on this status: a PeerReview to give, or a
/// break-glass after-review owed.
pub fn wanted(status: &EscalationStatus) -> bool {
    let reviewing = status.state == EscalationState::Pending
        && status.challenges.iter().any(|c| c.kind == ChallengeKind::PeerReview && c.state == ChallengeState::Pending);
    reviewing || status.after_review == Some(AfterReview::Pending)
}

/// The preview of `esc`'s grants under `policy`, or `None` when it cannot be
/// computed now (a request the policy cannot grant, an API error: the
/// reviewer then sees no preview, never a wrong one).
pub async fn compute(ctx: &Context, esc: &Escalation, policy: &EscalationPolicy) -> Option<GrantPreview> {
    let namespaces = checks::namespaces(&policy.spec, &esc.spec, &esc.spec.policy_name).ok()?;
    let mut rules: Vec<Option<Vec<PolicyRule>>> = Vec::new();
    for (grant, ns) in policy.spec.target.grants.iter().zip(&namespaces) {
        let read = match (grant.role_ref.kind, ns) {
            (RoleKind::ClusterRole, _) => Api::<ClusterRole>::all(ctx.client.clone())
                .get_opt(&grant.role_ref.name)
                .await
                .map(|r| r.map(|r| r.rules.unwrap_or_default())),
            (RoleKind::Role, Some(ns)) => Api::<Role>::namespaced(ctx.client.clone(), ns)
                .get_opt(&grant.role_ref.name)
                .await
                .map(|r| r.map(|r| r.rules.unwrap_or_default())),
            (RoleKind::Role, None) => Ok(None),
        };
        match read {
            Ok(r) => rules.push(r),
            Err(e) => {
                tracing::debug!(error = %e, role = %grant.role_ref.name, "no grant preview: reading the role failed");
                return None;
            }
        }
    }
    let granted: Vec<Granted<'_>> = policy
        .spec
        .target
        .grants
        .iter()
        .zip(&namespaces)
        .zip(&rules)
        .map(|((grant, ns), rules)| Granted { namespace: ns.clone(), role: &grant.role_ref, rules: rules.as_deref() })
        .collect();
    let sar: Api<SubjectAccessReview> = Api::all(ctx.client.clone());
    let held: BTreeSet<Check> = futures::stream::iter(preview::checks(&granted))
        .map(|check| {
            let sar = sar.clone();
            async move {
                let review = SubjectAccessReview {
                    spec: SubjectAccessReviewSpec {
                        user: Some(esc.spec.requestor.clone()),
                        groups: Some(esc.spec.requestor_groups.clone()),
                        resource_attributes: Some(ResourceAttributes {
                            namespace: check.namespace.clone(),
                            verb: Some(check.verb.clone()),
                            group: Some(check.group.clone()),
                            resource: Some(check.resource.clone()),
                            subresource: Some(check.subresource.clone()).filter(|s| !s.is_empty()),
                            name: check.name.clone(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                let allowed = sar
                    .create(&PostParams::default(), &review)
                    .await
                    .is_ok_and(|r| r.status.is_some_and(|s| s.allowed));
                allowed.then_some(check)
            }
        })
        .buffer_unordered(8)
        .filter_map(futures::future::ready)
        .collect()
        .await;
    Some(preview::preview(&granted, &held, &ctx.kudo_namespace))
}
