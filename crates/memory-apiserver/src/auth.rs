//! Who is calling (bearer tokens, impersonation) and what RBAC lets them do,
//! evaluated from the Roles and Bindings stored in the fake itself.

use axum::http::HeaderMap;
use serde_json::Value;

use crate::errors::{ApiError, ApiResult};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

impl User {
    pub fn new(name: &str, groups: &[&str]) -> Self {
        let mut groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        Self { name: name.into(), groups }
    }
}

/// One authorisation question, as the API server's RequestInfo asks it.
#[derive(Clone, Debug, Default)]
pub struct Attributes {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
}

/// Read access to the stored RBAC objects.
pub trait RbacSource {
    fn cluster_role_bindings(&self) -> Vec<&Value>;
    fn role_bindings(&self, namespace: &str) -> Vec<&Value>;
    fn cluster_role(&self, name: &str) -> Option<&Value>;
    fn role(&self, namespace: &str, name: &str) -> Option<&Value>;
}

/// Applies `Impersonate-User` / `Impersonate-Group`, checking the `impersonate` verb.
pub fn impersonate(rbac: &impl RbacSource, user: User, headers: &HeaderMap) -> ApiResult<User> {
    let Some(target) = headers.get("impersonate-user").and_then(|v| v.to_str().ok()) else {
        if headers.contains_key("impersonate-group") {
            return Err(ApiError::bad_request("requested impersonation of groups without impersonating a user"));
        }
        return Ok(user);
    };
    let mut checks = Vec::new();
    let mut groups: Vec<String> =
        headers.get_all("impersonate-group").iter().filter_map(|v| v.to_str().ok().map(String::from)).collect();
    if let Some(rest) = target.strip_prefix("system:serviceaccount:") {
        let (ns, name) = rest.split_once(':').ok_or_else(|| ApiError::bad_request("bad service account name"))?;
        checks.push(Attributes {
            verb: "impersonate".into(),
            resource: "serviceaccounts".into(),
            namespace: ns.into(),
            name: name.into(),
            ..Default::default()
        });
        if groups.is_empty() {
            groups = vec!["system:serviceaccounts".into(), format!("system:serviceaccounts:{ns}")];
        }
    } else {
        checks.push(Attributes {
            verb: "impersonate".into(),
            resource: "users".into(),
            name: target.into(),
            ..Default::default()
        });
    }
    for g in &groups {
        checks.push(Attributes {
            verb: "impersonate".into(),
            resource: "groups".into(),
            name: g.clone(),
            ..Default::default()
        });
    }
    for a in &checks {
        if !allowed(rbac, &user, a) {
            return Err(ApiError::forbidden_message(format!(
                "{} \"{}\" is forbidden: User \"{}\" cannot impersonate resource \"{}\" in API group \"\" at the cluster scope",
                a.resource, a.name, user.name, a.resource
            )));
        }
    }
    let g: Vec<&str> = groups.iter().map(String::as_str).collect();
    Ok(User::new(target, &g))
}

pub fn allowed(rbac: &impl RbacSource, user: &User, a: &Attributes) -> bool {
    if user.groups.iter().any(|g| g == "system:masters") {
        return true;
    }
    let check = |rules: &Value| rules["rules"].as_array().is_some_and(|rs| rs.iter().any(|r| rule_allows(r, a)));
    for b in rbac.cluster_role_bindings() {
        if binds(b, user, "") && rbac.cluster_role(b["roleRef"]["name"].as_str().unwrap_or_default()).is_some_and(check)
        {
            return true;
        }
    }
    if !a.namespace.is_empty() {
        for b in rbac.role_bindings(&a.namespace) {
            if !binds(b, user, &a.namespace) {
                continue;
            }
            let role_name = b["roleRef"]["name"].as_str().unwrap_or_default();
            let role = match b["roleRef"]["kind"].as_str() {
                Some("ClusterRole") => rbac.cluster_role(role_name),
                _ => rbac.role(&a.namespace, role_name),
            };
            if role.is_some_and(check) {
                return true;
            }
        }
    }
    false
}

fn binds(binding: &Value, user: &User, binding_namespace: &str) -> bool {
    binding["subjects"].as_array().into_iter().flatten().any(|s| {
        let name = s["name"].as_str().unwrap_or_default();
        match s["kind"].as_str() {
            Some("User") => name == user.name,
            Some("Group") => user.groups.iter().any(|g| g == name),
            Some("ServiceAccount") => {
                let ns = s["namespace"].as_str().filter(|n| !n.is_empty()).unwrap_or(binding_namespace);
                user.name == format!("system:serviceaccount:{ns}:{name}")
            }
            _ => false,
        }
    })
}

fn has(list: &Value, want: &str) -> bool {
    list.as_array().is_some_and(|l| l.iter().any(|v| v == "*" || v == want))
}

pub fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    if !has(&rule["verbs"], &a.verb) || !has(&rule["apiGroups"], &a.group) {
        return false;
    }
    let combined =
        if a.subresource.is_empty() { a.resource.clone() } else { format!("{}/{}", a.resource, a.subresource) };
    let resource_ok = rule["resources"].as_array().is_some_and(|rs| {
        rs.iter().filter_map(Value::as_str).any(|r| {
            r == "*"
                || r == combined
                || (!a.subresource.is_empty() && r.strip_prefix("*/") == Some(a.subresource.as_str()))
        })
    });
    if !resource_ok {
        return false;
    }
    match rule["resourceNames"].as_array() {
        Some(names) if !names.is_empty() => !a.name.is_empty() && names.iter().any(|n| n == a.name.as_str()),
        _ => true,
    }
}

/// RBAC escalation prevention: writing a role or binding requires holding
/// its permissions already, or the `escalate` (roles) / `bind` (bindings) verb.
pub fn may_grant(
    rbac: &impl RbacSource,
    user: &User,
    namespace: &str,
    role_kind: &str,
    role_name: &str,
    rules: &[Value],
    verb: &str,
) -> bool {
    let resource = if role_kind == "ClusterRole" { "clusterroles" } else { "roles" };
    let special = Attributes {
        verb: verb.into(),
        group: "rbac.authorization.k8s.io".into(),
        resource: resource.into(),
        namespace: namespace.into(),
        name: role_name.into(),
        ..Default::default()
    };
    if allowed(rbac, user, &special) {
        return true;
    }
    rules.iter().all(|rule| covered(rbac, user, namespace, rule))
}

fn covered(rbac: &impl RbacSource, user: &User, namespace: &str, rule: &Value) -> bool {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(String::from)).collect()
    };
    if rule.get("nonResourceURLs").is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty())) {
        return user.groups.iter().any(|g| g == "system:masters");
    }
    let names = strings(&rule["resourceNames"]);
    let names = if names.is_empty() { vec![String::new()] } else { names };
    for group in strings(&rule["apiGroups"]) {
        for resource in strings(&rule["resources"]) {
            let (resource, sub) =
                resource.split_once('/').map_or((resource.clone(), String::new()), |(r, s)| (r.into(), s.into()));
            for verb in strings(&rule["verbs"]) {
                for name in &names {
                    let a = Attributes {
                        verb: verb.clone(),
                        group: group.clone(),
                        resource: resource.clone(),
                        subresource: sub.clone(),
                        namespace: namespace.into(),
                        name: name.clone(),
                    };
                    if !allowed(rbac, user, &a) {
                        return false;
                    }
                }
            }
        }
    }
    true
}
