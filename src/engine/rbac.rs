//! RBAC rule evaluation, as the API server's RBAC authorizer does it, for
//! `kubectl kudo which`: which policies would let me do this?

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
use kube::core::{Selector, SelectorExt};

use crate::api::{EscalationPolicySpec, GrantKind, RoleKind};

/// One request, in `kubectl auth can-i` terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub verb: String,
    /// API group: `""` for the core group.
    pub group: String,
    /// Plural resource name.
    pub resource: String,
    pub subresource: String,
    /// `""`: any name (list, create, or a question about all of them).
    pub name: String,
    /// `""`: cluster-scoped.
    pub namespace: String,
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|v| v == "*" || v == want)
}

/// Whether one rule allows the request (`RuleAllows` in Kubernetes'
/// `rbac/validation`): verbs and groups with `*`; resources `*`, exact,
/// `resource/subresource` or `*/subresource`; resourceNames only for
/// requests naming an object.
pub fn rule_allows(rule: &PolicyRule, request: &Request) -> bool {
    if !has(&rule.verbs, &request.verb) || !has(rule.api_groups.as_deref().unwrap_or_default(), &request.group) {
        return false;
    }
    let combined = if request.subresource.is_empty() {
        request.resource.clone()
    } else {
        format!("{}/{}", request.resource, request.subresource)
    };
    let resource_ok = rule.resources.iter().flatten().any(|r| {
        r == "*"
            || *r == combined
            || (!request.subresource.is_empty() && r.strip_prefix("*/") == Some(request.subresource.as_str()))
    });
    if !resource_ok {
        return false;
    }
    match rule.resource_names.as_deref() {
        Some(names) if !names.is_empty() => !request.name.is_empty() && names.contains(&request.name),
        _ => true,
    }
}

/// A ClusterRole's rules, with aggregation: the rules of every ClusterRole
/// an `aggregationRule` selector picks are added, as the aggregation
/// controller writes them into the role on a real cluster.
pub fn cluster_role_rules(role: &ClusterRole, all: &[ClusterRole]) -> Vec<PolicyRule> {
    let mut rules = role.rules.clone().unwrap_or_default();
    let selectors = role.aggregation_rule.as_ref().and_then(|a| a.cluster_role_selectors.clone()).unwrap_or_default();
    let selectors: Vec<Selector> = selectors.into_iter().filter_map(|s| Selector::try_from(s).ok()).collect();
    if selectors.is_empty() {
        return rules;
    }
    let empty = BTreeMap::new();
    for other in all {
        let labels = other.metadata.labels.as_ref().unwrap_or(&empty);
        if other.metadata.name != role.metadata.name && selectors.iter().any(|s| s.matches(labels)) {
            for rule in other.rules.iter().flatten() {
                if !rules.contains(rule) {
                    rules.push(rule.clone());
                }
            }
        }
    }
    rules
}

/// The roles a policy may bind, as read from the cluster.
pub struct Roles<'a> {
    pub cluster_roles: &'a [ClusterRole],
    /// Roles by `(namespace, name)`.
    pub roles: &'a BTreeMap<(String, String), Role>,
}

/// One grant of a policy that would allow the request, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// Index of the grant in `spec.target.grants`.
    pub grant: usize,
    /// The namespace to escalate into (`-n`), for RoleBinding grants.
    pub namespace: Option<String>,
}

/// The grants of `policy` whose role allows `request`. A RoleBinding grant
/// allows namespaced requests in the namespaces the policy lets a user ask
/// for; a ClusterRoleBinding grant allows everywhere.
pub fn matches(policy: &EscalationPolicySpec, roles: &Roles<'_>, request: &Request) -> Vec<Match> {
    let mut out = Vec::new();
    for (i, grant) in policy.target.grants.iter().enumerate() {
        let namespace = match grant.kind {
            GrantKind::KubernetesClusterRoleBinding => None,
            GrantKind::KubernetesRoleBinding => {
                let allowed =
                    grant.allowed_namespaces.iter().chain(&grant.default_namespace).any(|n| *n == request.namespace);
                if request.namespace.is_empty() || !allowed {
                    continue;
                }
                Some(request.namespace.clone())
            }
        };
        let rules = match grant.role_ref.kind {
            RoleKind::ClusterRole => roles
                .cluster_roles
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(grant.role_ref.name.as_str()))
                .map(|r| cluster_role_rules(r, roles.cluster_roles)),
            // A Role only exists in one namespace: the binding's.
            RoleKind::Role => namespace
                .as_ref()
                .and_then(|ns| roles.roles.get(&(ns.clone(), grant.role_ref.name.clone())))
                .and_then(|r| r.rules.clone()),
        };
        if rules.unwrap_or_default().iter().any(|rule| rule_allows(rule, request)) {
            out.push(Match { grant: i, namespace });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        PolicyRule {
            verbs: v(verbs),
            api_groups: Some(v(groups)),
            resources: Some(v(resources)),
            resource_names: (!names.is_empty()).then(|| v(names)),
            non_resource_urls: None,
        }
    }

    fn req(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> Request {
        Request {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            name: name.into(),
            namespace: "app".into(),
        }
    }

    #[test]
    fn rules_match_as_the_authorizer_matches_them() {
        let table = [
            (rule(&["get"], &[""], &["pods"], &[]), req("get", "", "pods", "", "p"), true),
            (rule(&["get"], &[""], &["pods"], &[]), req("get", "", "pods", "log", "p"), false),
            (rule(&["create"], &[""], &["pods/portforward"], &[]), req("create", "", "pods", "portforward", "p"), true),
            (rule(&["create"], &[""], &["*/portforward"], &[]), req("create", "", "pods", "portforward", ""), true),
            (rule(&["create"], &[""], &["pods/*"], &[]), req("create", "", "pods", "portforward", ""), false),
            (rule(&["*"], &["*"], &["*"], &[]), req("delete", "apps", "deployments", "scale", "x"), true),
            (rule(&["get"], &["apps"], &["pods"], &[]), req("get", "", "pods", "", ""), false),
            (rule(&["get"], &[""], &["secrets"], &["db"]), req("get", "", "secrets", "", "db"), true),
            (rule(&["get"], &[""], &["secrets"], &["db"]), req("get", "", "secrets", "", "other"), false),
            (rule(&["list"], &[""], &["secrets"], &["db"]), req("list", "", "secrets", "", ""), false),
        ];
        for (rule, request, expect) in table {
            assert_eq!(rule_allows(&rule, &request), expect, "{rule:?} {request:?}");
        }
    }
}
