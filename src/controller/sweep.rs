//! The periodic safety nets: the orphan-binding sweep (DESIGN §4) and the
//! dangerous-role report on policies (DESIGN §5).

use futures::TryStreamExt;
use jiff::Timestamp;
use k8s_openapi::{
    api::rbac::v1::{ClusterRole, PolicyRule, Role},
    apimachinery::pkg::apis::meta::v1::{Condition, Time},
};
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
    runtime::reflector::ObjectRef,
};
use serde_json::json;

use super::Context;
use crate::{
    api::{
        CONDITION_DANGEROUS_ROLE, CONDITION_NOTIFY_READY, CONDITION_READY, ESCALATION_LABEL, EscalationPolicy,
        EscalationPolicyStatus, FIELD_MANAGER, GrantKind, RoleKind,
    },
    audit,
    engine::{
        binding::{Binding, Found, orphan_reason},
        checks, lint,
    },
    grants,
};

/// Deletes every kudo binding no live, accepted escalation accounts for.
/// Returns how many went.
pub async fn sweep(ctx: &Context) -> Result<usize, grants::GrantError> {
    let mut reclaimed = 0;
    for kind in [GrantKind::KubernetesRoleBinding, GrantKind::KubernetesClusterRoleBinding] {
        let mut pages = ctx.grants.managed_pages(kind);
        while let Some(page) = pages.try_next().await? {
            for found in page {
                // One binding that cannot be handled must not stop the sweep of the others.
                match sweep_one(ctx, &found).await {
                    Ok(n) => reclaimed += n,
                    Err(e) => tracing::warn!(
                        binding = ?found.metadata().name, namespace = ?found.metadata().namespace, error = %e,
                        "could not sweep a kudo binding; retried next sweep"
                    ),
                }
            }
        }
    }
    Ok(reclaimed)
}

/// Deletes one binding if it is an orphan; 1 if it went.
async fn sweep_one(ctx: &Context, found: &Binding) -> Result<usize, grants::GrantError> {
    // A label anyone could have written: a value that cannot name an
    // escalation means there is none (never a failed API call).
    let escalation = found
        .metadata()
        .labels
        .as_ref()
        .and_then(|l| l.get(ESCALATION_LABEL))
        .filter(|n| crate::api::valid_name(n))
        .cloned();
    let cached = escalation.as_ref().and_then(|n| ctx.escalation_store.get(&ObjectRef::new(n)));
    if orphan_reason(found, cached.as_deref(), Timestamp::now()).is_none() {
        return Ok(0);
    }
    // The cache may lag a fresh acceptance: confirm with the API server.
    let fresh = match &escalation {
        Some(n) => ctx.escalations.get_opt(n).await.map_err(|source| grants::GrantError::Api {
            action: "reading",
            kind: "Escalation",
            name: n.clone(),
            source,
        })?,
        None => None,
    };
    let Some(why) = orphan_reason(found, fresh.as_ref(), Timestamp::now()) else { return Ok(0) };
    // The list may be older than its own reconcile's reclaim: a binding
    // already gone is no orphan swept (no warning, no audit record).
    if !ctx.grants.delete_found(&Found::of(found)).await? {
        return Ok(0);
    }
    ctx.metrics.orphans_reclaimed.inc();
    let name = found.metadata().name.clone().unwrap_or_default();
    let namespace = found.metadata().namespace.clone();
    tracing::warn!(binding = %name, namespace = ?namespace, escalation = ?escalation, reason = %why, "swept an orphan kudo binding");
    let record = audit::orphan_record(Timestamp::now(), found, escalation.as_deref(), &why);
    ctx.auditor.record(record, fresh.as_ref()).await;
    Ok(1)
}

/// Sets `Ready` and `DangerousRole` on every policy whose conditions changed
/// (periodically: a granted role may have changed since).
pub async fn report_policies(ctx: &Context) {
    for policy in ctx.policies.state() {
        report_policy(ctx, &policy).await;
    }
}

/// Sets `Ready` and `DangerousRole` on one policy, if they changed; run for
/// every policy the watch sees written, so an edit is reported at once.
pub async fn report_policy(ctx: &Context, policy: &EscalationPolicy) {
    let conditions = match conditions(ctx, policy).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(policy = %policy.name_any(), error = %e, "could not read the roles a policy grants");
            return;
        }
    };
    let current = policy.status.clone().unwrap_or_default();
    let same = current.observed_generation == policy.metadata.generation
        && conditions.len() == current.conditions.len()
        && conditions
            .iter()
            .zip(&current.conditions)
            .all(|(a, b)| a.type_ == b.type_ && a.status == b.status && a.reason == b.reason && a.message == b.message);
    if same {
        return;
    }
    let status = EscalationPolicyStatus { conditions, observed_generation: policy.metadata.generation };
    let patch = json!({
        "apiVersion": crate::api::API_VERSION, "kind": "EscalationPolicy",
        "metadata": {"name": policy.name_any()},
        "status": status,
    });
    let api: Api<EscalationPolicy> = Api::all(ctx.client.clone());
    if let Err(e) =
        api.patch_status(&policy.name_any(), &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch)).await
    {
        tracing::warn!(policy = %policy.name_any(), error = %e, "could not write policy status");
    }
}

async fn conditions(ctx: &Context, policy: &EscalationPolicy) -> Result<Vec<Condition>, kube::Error> {
    let now = Time(Timestamp::now());
    let previous = policy.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    let condition = |type_: &str, ok: bool, reason: &str, message: String| {
        let status = if ok { "True" } else { "False" };
        // lastTransitionTime moves only when the status does.
        let since = previous
            .iter()
            .find(|c| c.type_ == type_ && c.status == status)
            .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message,
            last_transition_time: since,
            observed_generation: policy.metadata.generation,
        }
    };
    let problems = checks::policy_problems(&policy.spec);
    let escalations = ctx.escalation_store.state();
    let overdue = checks::overdue_after_reviews(&policy.name_any(), escalations.iter().map(|e| &**e), Timestamp::now());
    let ready = if !problems.is_empty() {
        condition(CONDITION_READY, false, "Invalid", problems.join("; "))
    } else if !overdue.is_empty() {
        condition(
            CONDITION_READY,
            true,
            "AfterReviewOverdue",
            format!(
                "the policy can be used; warning: break-glass escalation(s) awaiting their after-review for more than a day: {} (kubectl kudo list --after-review)",
                overdue.join(", ")
            ),
        )
    } else {
        condition(CONDITION_READY, true, "Valid", "the policy can be used".into())
    };
    let mut findings = Vec::new();
    for grant in &policy.spec.target.grants {
        let reach = match grant.kind {
            GrantKind::KubernetesClusterRoleBinding => lint::Reach::Cluster,
            GrantKind::KubernetesRoleBinding => {
                let mut ns = grant.allowed_namespaces.clone();
                ns.extend(grant.default_namespace.clone());
                lint::Reach::Namespaces(ns)
            }
        };
        for rules in role_rules(ctx, grant, &reach).await? {
            for f in lint::lint(&rules, &reach, &ctx.kudo_namespace) {
                let text = format!("{:?} {}: {}", grant.role_ref.kind, grant.role_ref.name, f.why);
                if !findings.contains(&text) {
                    findings.push(text);
                }
            }
        }
    }
    let dangerous = if findings.is_empty() {
        condition(
            CONDITION_DANGEROUS_ROLE,
            false,
            "NoDangerousRules",
            "no granted role can make an escalation permanent".into(),
        )
    } else {
        condition(
            CONDITION_DANGEROUS_ROLE,
            true,
            "DangerousRules",
            format!("an escalation through this policy can become permanent: {}", findings.join("; ")),
        )
    };
    let mut out = vec![ready, dangerous];
    if let Some(notify) = &policy.spec.notify {
        let problems = notify_problems(ctx, notify).await;
        out.push(match problems.first() {
            None => condition(
                CONDITION_NOTIFY_READY,
                true,
                "TargetsReady",
                "every notify target's Secret holds a webhook URL".into(),
            ),
            Some((reason, _)) => condition(
                CONDITION_NOTIFY_READY,
                false,
                reason,
                problems.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join("; "),
            ),
        });
    }
    Ok(out)
}

/// What keeps a notify target from being reached: its Secret (in kudo's
/// namespace) missing, its key missing, or not a URL. Never the URL.
async fn notify_problems(ctx: &Context, notify: &crate::api::Notify) -> Vec<(&'static str, String)> {
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(ctx.client.clone(), &ctx.kudo_namespace);
    let targets = notify.reviewers.iter().enumerate().map(|(i, t)| (format!("notify.reviewers[{i}]"), t));
    let mut problems = Vec::new();
    for (field, target) in targets.chain(notify.requestor.iter().map(|t| ("notify.requestor".to_string(), t))) {
        if let Err(e) = crate::notify::read_url(&secrets, &target.secret_ref).await {
            problems.push((e.reason(), format!("{field}: {e}")));
        }
    }
    problems
}

/// The rules of the role a grant binds (a Role: in every namespace it may be bound in).
async fn role_rules(
    ctx: &Context,
    grant: &crate::api::Grant,
    reach: &lint::Reach,
) -> Result<Vec<Vec<PolicyRule>>, kube::Error> {
    let name = &grant.role_ref.name;
    Ok(match (grant.role_ref.kind, reach) {
        (RoleKind::ClusterRole, _) => {
            let api: Api<ClusterRole> = Api::all(ctx.client.clone());
            api.get_opt(name).await?.and_then(|r| r.rules).into_iter().collect()
        }
        (RoleKind::Role, lint::Reach::Namespaces(namespaces)) => {
            let mut out = Vec::new();
            for ns in namespaces {
                let api: Api<Role> = Api::namespaced(ctx.client.clone(), ns);
                out.extend(api.get_opt(name).await?.and_then(|r| r.rules));
            }
            out
        }
        (RoleKind::Role, lint::Reach::Cluster) => Vec::new(),
    })
}
