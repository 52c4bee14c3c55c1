//! The grant preview (issue 20): before deciding, a reviewer sees every
//! permission a grant adds, per place, as (verbs, resources[, names]) from
//! the granted roles as the API server holds them (aggregation included),
//! the dangerous ones marked by the lint, and those the requestor already
//! holds marked too. The controller computes it under its own rights and
//! keeps it in status, so a reviewer needs no permission to read roles.
//!
//! Bounded, because it lives in the escalation's status: at most
//! [`MAX_RULES`] rules per role, [`MAX_LIST`] entries per list, and
//! [`MAX_CHECKS`] questions to RBAC per escalation; what is left out is
//! said (`truncated`), and a rule not fully checked is not marked held.

use std::collections::BTreeSet;

use k8s_openapi::api::rbac::v1::PolicyRule;

use super::lint::{Reach, lint};
use crate::api::{GrantPreview, PreviewPermission, PreviewScope, RoleKind, RoleRef};

pub const MAX_RULES: usize = 32;
pub const MAX_LIST: usize = 16;
pub const MAX_CHECKS: usize = 64;

/// One grant as planned: where, which role, and the role's rules as read
/// (`None`: the role does not exist).
pub struct Granted<'a> {
    pub namespace: Option<String>,
    pub role: &'a RoleRef,
    pub rules: Option<&'a [PolicyRule]>,
}

/// A question for RBAC: may the requestor already do this, there?
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Check {
    pub namespace: Option<String>,
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub name: Option<String>,
}

fn resource_checks(namespace: &Option<String>, rule: &PolicyRule) -> Vec<Check> {
    let groups = rule.api_groups.clone().unwrap_or_default();
    let resources = rule.resources.clone().unwrap_or_default();
    let names: Vec<Option<String>> = match rule.resource_names.as_deref() {
        Some(n) if !n.is_empty() => n.iter().cloned().map(Some).collect(),
        _ => vec![None],
    };
    let mut out = Vec::new();
    for verb in &rule.verbs {
        for group in &groups {
            for resource in &resources {
                let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
                for name in &names {
                    out.push(Check {
                        namespace: namespace.clone(),
                        verb: verb.clone(),
                        group: group.clone(),
                        resource: resource.to_string(),
                        subresource: subresource.to_string(),
                        name: name.clone(),
                    });
                }
            }
        }
    }
    out
}

/// What to ask RBAC, at most [`MAX_CHECKS`] questions, rules in order.
pub fn checks(granted: &[Granted<'_>]) -> Vec<Check> {
    let mut out = Vec::new();
    for g in granted {
        for rule in g.rules.unwrap_or_default().iter().take(MAX_RULES) {
            let asked = resource_checks(&g.namespace, rule);
            if out.len() + asked.len() > MAX_CHECKS {
                return out;
            }
            out.extend(asked);
        }
    }
    out
}

fn bounded(list: &[String], truncated: &mut bool) -> Vec<String> {
    if list.len() > MAX_LIST {
        *truncated = true;
    }
    list.iter().take(MAX_LIST).cloned().collect()
}

/// The preview, given which of [`checks`]' questions RBAC answered yes.
pub fn preview(granted: &[Granted<'_>], held: &BTreeSet<Check>, kudo_namespace: &str) -> GrantPreview {
    let asked: BTreeSet<Check> = checks(granted).into_iter().collect();
    let mut truncated = false;
    let scopes = granted
        .iter()
        .map(|g| {
            let role = format!(
                "{}/{}",
                match g.role.kind {
                    RoleKind::ClusterRole => "ClusterRole",
                    RoleKind::Role => "Role",
                },
                g.role.name
            );
            let Some(rules) = g.rules else {
                return PreviewScope { namespace: g.namespace.clone(), role, missing: true, permissions: vec![] };
            };
            if rules.len() > MAX_RULES {
                truncated = true;
            }
            let reach = match &g.namespace {
                Some(ns) => Reach::Namespaces(vec![ns.clone()]),
                None => Reach::Cluster,
            };
            let permissions = rules
                .iter()
                .take(MAX_RULES)
                .map(|rule| {
                    let groups = rule.api_groups.clone().unwrap_or_default();
                    let mut resources: Vec<String> = rule
                        .resources
                        .iter()
                        .flatten()
                        .flat_map(|r| {
                            groups.iter().map(move |g| if g.is_empty() { r.clone() } else { format!("{g}/{r}") })
                        })
                        .collect();
                    resources.extend(rule.non_resource_urls.iter().flatten().cloned());
                    let mine = resource_checks(&g.namespace, rule);
                    let is_held = rule.non_resource_urls.as_ref().is_none_or(Vec::is_empty)
                        && !mine.is_empty()
                        && mine.iter().all(|c| asked.contains(c) && held.contains(c));
                    PreviewPermission {
                        verbs: bounded(&rule.verbs, &mut truncated),
                        resources: bounded(&resources, &mut truncated),
                        resource_names: bounded(rule.resource_names.as_deref().unwrap_or_default(), &mut truncated),
                        dangerous: lint(std::slice::from_ref(rule), &reach, kudo_namespace)
                            .into_iter()
                            .next()
                            .map(|f| f.why)
                            .or_else(|| sensitive(rule)),
                        held: is_held,
                    }
                })
                .collect();
            PreviewScope { namespace: g.namespace.clone(), role, missing: false, permissions }
        })
        .collect();
    GrantPreview { scopes, truncated }
}

/// What a reviewer should know beyond the lint (which flags what can make
/// an escalation permanent): access that reads credentials or acts as a
/// workload while it lasts.
fn sensitive(rule: &PolicyRule) -> Option<String> {
    let has = |list: &Option<Vec<String>>, want: &[&str]| {
        list.iter().flatten().any(|v| v == "*" || want.contains(&v.as_str()))
    };
    let verbs = Some(rule.verbs.clone());
    let core = has(&rule.api_groups, &[""]);
    if core && has(&rule.resources, &["secrets"]) && has(&verbs, &["get", "list", "watch"]) {
        return Some("can read Secrets (credentials, tokens) wherever it applies".into());
    }
    if core && has(&rule.resources, &["pods/exec", "pods/attach"]) && has(&verbs, &["create", "get"]) {
        return Some("can run commands in pods, with their ServiceAccounts' rights".into());
    }
    if has(&rule.resources, &["*"]) && has(&verbs, &["*"]) {
        return Some("grants every verb on every resource it names a group of".into());
    }
    None
}

/// The preview as lines for a terminal (the approve prompt, `status`).
pub fn lines(preview: &GrantPreview) -> Vec<String> {
    let mut out = Vec::new();
    for scope in &preview.scopes {
        let place = scope.namespace.as_deref().map_or("cluster-wide".to_string(), |ns| format!("in namespace {ns}"));
        out.push(format!("{} {place}:", scope.role));
        if scope.missing {
            out.push("  (the role does not exist: nothing would be granted until it does)".into());
        }
        for p in &scope.permissions {
            let names =
                if p.resource_names.is_empty() { String::new() } else { format!(" [{}]", p.resource_names.join(", ")) };
            let mut line = format!("  {} {}{names}", p.verbs.join(","), p.resources.join(","));
            if p.held {
                line += "   (already held)";
            }
            if let Some(why) = &p.dangerous {
                line += &format!("   DANGEROUS: {why}");
            }
            out.push(line);
        }
    }
    if preview.truncated {
        out.push("  … and more (the preview is cut to keep it small; read the roles for the rest)".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RBAC_GROUP;

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
        PolicyRule {
            api_groups: Some(groups.iter().map(|s| s.to_string()).collect()),
            resources: Some(resources.iter().map(|s| s.to_string()).collect()),
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn permissions_per_place_with_danger_and_what_is_held() {
        let role = RoleRef { kind: RoleKind::ClusterRole, name: "ops".into(), api_group: RBAC_GROUP.into() };
        let rules = [rule(&[""], &["pods"], &["get", "list"]), rule(&[""], &["secrets"], &["get"])];
        let granted = [Granted { namespace: Some("kudo-system".into()), role: &role, rules: Some(&rules) }];
        let elsewhere = [Granted { namespace: Some("payments".into()), role: &role, rules: Some(&rules) }];
        let p = preview(&elsewhere, &BTreeSet::new(), "kudo-system");
        assert!(p.scopes[0].permissions[1].dangerous.as_deref().is_some_and(|w| w.contains("Secrets")), "{p:?}");
        let asked = checks(&granted);
        assert_eq!(asked.len(), 3);
        let held: BTreeSet<Check> = asked.iter().filter(|c| c.resource == "pods").cloned().collect();
        let p = preview(&granted, &held, "kudo-system");
        let perms = &p.scopes[0].permissions;
        assert!(perms[0].held && perms[0].dangerous.is_none(), "{perms:?}");
        assert!(!perms[1].held && perms[1].dangerous.as_deref().is_some_and(|w| w.contains("secrets")), "{perms:?}");
        let text = lines(&p).join("\n");
        assert!(text.contains("ClusterRole/ops in namespace kudo-system:") && text.contains("DANGEROUS"), "{text}");
    }

    #[test]
    fn huge_roles_are_cut_and_say_so() {
        let role = RoleRef { kind: RoleKind::ClusterRole, name: "big".into(), api_group: RBAC_GROUP.into() };
        let verbs: Vec<String> = (0..40).map(|i| format!("v{i}")).collect();
        let one = PolicyRule {
            verbs,
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["pods".into()]),
            ..Default::default()
        };
        let rules = vec![one; 100];
        let granted = [Granted { namespace: None, role: &role, rules: Some(&rules) }];
        assert!(checks(&granted).len() <= MAX_CHECKS);
        let p = preview(&granted, &BTreeSet::new(), "kudo-system");
        assert!(p.truncated && p.scopes[0].permissions.len() == MAX_RULES);
        assert!(p.scopes[0].permissions.iter().all(|x| x.verbs.len() == MAX_LIST && !x.held));
        let size = serde_json::to_vec(&p).unwrap().len();
        assert!(size < 32 * 1024, "{size} bytes");
        let missing = [Granted { namespace: None, role: &role, rules: None }];
        assert!(preview(&missing, &BTreeSet::new(), "kudo-system").scopes[0].missing);
    }
}
