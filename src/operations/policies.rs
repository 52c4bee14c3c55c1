//! The policies I may use, and what each asks for first: what `kubectl kudo
//! policies` lists and what the dashboard's request form is built from.
//! "May I use it" is the engine's rule, with RBAC's answer from a
//! SelfSubjectAccessReview when the policy's subjects do not admit me.

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::authorization::v1::{SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use kube::{ResourceExt, api::ListParams, api::PostParams};

use super::{Error, Session, error::doing};
use crate::{
    api::{CONDITION_DANGEROUS_ROLE, Challenge, ChallengeKind, EscalationPolicy, RoleKind},
    engine::{self, admission, checks},
};

/// Whether the policy admits me.
pub async fn admitted(session: &Session, policy: &EscalationPolicy) -> Result<bool, Error> {
    let me = session.me.identity();
    let rbac_use = admission::needs_rbac_use(&policy.spec, &me) && may_use(session, &policy.name_any()).await?;
    Ok(admission::admits(&policy.spec, &me, rbac_use))
}

/// The policies that admit me, in the order given; RBAC is asked about
/// the others a few at a time.
pub async fn usable<'a>(
    session: &Session,
    policies: &'a [EscalationPolicy],
) -> Result<Vec<&'a EscalationPolicy>, Error> {
    // Boxed so that the future stays Send for any lifetime: the dashboard's
    // handlers run it on axum's multi-threaded executor.
    type Check<'s> = std::pin::Pin<Box<dyn Future<Output = Result<bool, Error>> + Send + 's>>;
    let checks: Vec<Check<'_>> = policies.iter().map(|p| Box::pin(admitted(session, p)) as Check<'_>).collect();
    let answers: Vec<bool> = stream::iter(checks).buffered(16).try_collect().await?;
    Ok(policies.iter().zip(answers).filter(|(_, ok)| *ok).map(|(p, _)| p).collect())
}

async fn may_use(session: &Session, policy: &str) -> Result<bool, Error> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(admission::rbac_use(policy)),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = session
        .api::<SelfSubjectAccessReview>()
        .create(&PostParams::default(), &review)
        .await
        .map_err(doing("asking whether you may use the policy"))?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// Every policy, sorted by name.
pub async fn all(session: &Session) -> Result<Vec<EscalationPolicy>, Error> {
    let mut items =
        session.api::<EscalationPolicy>().list(&ListParams::default()).await.map_err(doing("listing policies"))?.items;
    items.sort_by_key(ResourceExt::name_any);
    Ok(items)
}

/// One policy, or [`Error::PolicyNotFound`].
pub async fn get(session: &Session, name: &str) -> Result<EscalationPolicy, Error> {
    let name = super::object_name("policy", name)?;
    session
        .api::<EscalationPolicy>()
        .get_opt(name)
        .await
        .map_err(doing(format!("reading policy {name}")))?
        .ok_or_else(|| Error::PolicyNotFound(name.to_string()))
}

/// The names of the policies I may use, sorted.
pub async fn usable_names(session: &Session) -> Result<Vec<String>, Error> {
    let all = all(session).await?;
    Ok(usable(session, &all).await?.into_iter().map(ResourceExt::name_any).collect())
}

/// One policy as a request form needs it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Offer {
    pub name: String,
    /// Whether it admits me (`policies(…, all: true)` lists the others too).
    pub usable: bool,
    pub grants: Vec<GrantOffer>,
    pub default_duration: String,
    pub max_duration: String,
    /// What it asks for before it grants, in order.
    pub challenges: Vec<ChallengeOffer>,
    /// The controller's dangerous-role warning and the policy's own problems.
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GrantOffer {
    pub role_kind: RoleKind,
    pub role_name: String,
    /// Where it may go, the default first; empty: cluster-wide.
    pub namespaces: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChallengeOffer {
    pub kind: ChallengeKind,
    pub break_glass: bool,
    /// In one line: "1 approval(s) from group admins", "reason matching #[0-9]+"…
    pub description: String,
}

/// The policies I may use (every policy with `all`), with what each asks.
pub async fn policies(session: &Session, all_of_them: bool) -> Result<Vec<Offer>, Error> {
    let items = all(session).await?;
    let usable: Vec<String> = usable(session, &items).await?.into_iter().map(ResourceExt::name_any).collect();
    Ok(items.iter().map(|p| offer(p, usable.contains(&p.name_any()))).filter(|o| all_of_them || o.usable).collect())
}

/// A policy as an [`Offer`] (pure).
pub fn offer(p: &EscalationPolicy, usable: bool) -> Offer {
    let grants = p
        .spec
        .target
        .grants
        .iter()
        .map(|g| {
            let mut namespaces: Vec<String> = g.default_namespace.iter().cloned().collect();
            namespaces
                .extend(g.allowed_namespaces.iter().filter(|n| Some(*n) != g.default_namespace.as_ref()).cloned());
            GrantOffer { role_kind: g.role_ref.kind, role_name: g.role_ref.name.clone(), namespaces }
        })
        .collect();
    let challenges = p
        .spec
        .challenges
        .iter()
        .map(|c| ChallengeOffer { kind: c.kind, break_glass: c.break_glass, description: describe_challenge(c) })
        .collect();
    let dangerous = p
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == CONDITION_DANGEROUS_ROLE && c.status == "True"))
        .map(|c| c.message.clone())
        .filter(|m| !m.is_empty());
    let mut warnings: Vec<String> = dangerous.into_iter().collect();
    let problems = checks::policy_problems(&p.spec).join("; ");
    if !problems.is_empty() {
        warnings.push(problems);
    }
    Offer {
        name: p.name_any(),
        usable,
        grants,
        default_duration: p.spec.target.default_duration.to_string(),
        max_duration: p.spec.target.max_duration.to_string(),
        challenges,
        warnings,
    }
}

/// What a challenge asks before a policy grants, in one line.
pub fn describe_challenge(c: &Challenge) -> String {
    let glass = if c.break_glass { " (break-glass: may be skipped in an emergency, reviewed after)" } else { "" };
    match c.kind {
        ChallengeKind::PeerReview => {
            format!("{} approval(s) from {}{glass}", c.min_approvals(), engine::review::describe_reviewers(c))
        }
        ChallengeKind::TimeWindow => format!("time window ({})", engine::window::describe(&c.windows)),
        ChallengeKind::Justification => format!("reason matching {}", c.pattern.clone().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_offer_says_where_for_how_long_and_what_first() {
        let p: EscalationPolicy = serde_json::from_value(json!({
            "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "EscalationPolicy", "metadata": {"name": "read-pods"},
            "spec": {
                "subjects": [{"kind": "Group", "name": "squad-a"}],
                "challenges": [{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]},
                               {"kind": "Justification", "pattern": "#[0-9]+"}],
                "maxOpenPerRequestor": 2,
                "target": {"defaultDuration": "30m", "maxDuration": "1h", "grants": [{
                    "kind": "KubernetesRoleBinding", "roleRef": {"kind": "ClusterRole", "name": "pod-reader"},
                    "defaultNamespace": "app", "allowedNamespaces": ["other", "app"]}]},
            },
        }))
        .unwrap();
        let o = offer(&p, true);
        assert_eq!(o.grants[0].namespaces, ["app", "other"], "the default first, once");
        assert_eq!((o.default_duration.as_str(), o.max_duration.as_str()), ("30m", "1h"));
        assert_eq!(o.challenges[0].description, "1 approval(s) from group admins");
        assert_eq!(o.challenges[1].description, "reason matching #[0-9]+");
        assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    }
}
