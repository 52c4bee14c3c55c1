//! The finder: which policies I may use would allow a permission (as
//! `kubectl auth can-i` writes it), what each asks first, and where to
//! escalate. `kubectl kudo which` lists them; `--for` picks one.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{ClusterRole, Role};
use kube::{Api, ResourceExt, api::ListParams};

use super::{Error, Session, error::doing, policies};
use crate::{
    api::{EscalationPolicy, RoleKind},
    engine::rbac::{self, Request, Roles},
};

/// A permission as typed: `create pods/portforward -n app`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Permission {
    pub verb: String,
    /// As kubectl names it: pods, deploy, deployments.apps, pods/log, secrets/db.
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// Where; the kubeconfig's namespace when the resource is namespaced and none is given.
    pub namespace: Option<String>,
}

impl Permission {
    /// `VERB RESOURCE [NAME] [-n NS]`, as `--for` takes it; `namespace` is
    /// the default for `-n`.
    pub fn parse(text: &str, namespace: Option<String>) -> Result<Self, Error> {
        let usage = || {
            Error::invalid(format!("--for {text:?}"), "expected VERB RESOURCE [NAME] [-n NAMESPACE]")
                .with_hint("e.g. --for \"create pods/portforward -n app\"")
        };
        let mut words = text.split_whitespace();
        let mut positional = Vec::new();
        let mut ns = namespace;
        while let Some(w) = words.next() {
            match w {
                "-n" | "--namespace" => ns = Some(words.next().ok_or_else(usage)?.to_string()),
                _ if w.starts_with("--namespace=") => ns = w.strip_prefix("--namespace=").map(String::from),
                _ if w.starts_with("-n") && w.len() > 2 => ns = Some(w[2..].to_string()),
                _ => positional.push(w),
            }
        }
        let (verb, resource, name) = match positional.as_slice() {
            [verb, resource] => (*verb, *resource, None),
            [verb, resource, name] => (*verb, *resource, Some(name.to_string())),
            _ => return Err(usage()),
        };
        Ok(Self { verb: verb.into(), resource: resource.into(), name, subresource: None, namespace: ns })
    }
}

/// One policy that would grant what was asked, and where to escalate.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Found {
    pub policy: String,
    /// Where to escalate (`-n`), when the grant that allows it is namespaced.
    pub namespace: Option<String>,
    /// "ClusterRole pod-reader in app", one per grant that allows it.
    pub grants: Vec<String>,
    /// What the policy asks first, one line each.
    pub requires: Vec<String>,
    pub default_duration: String,
    pub max_duration: String,
    /// The command that gets it.
    pub command: String,
}

/// What the finder found.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The permission as resolved against the cluster.
    pub request: Request,
    /// It, in words: "create pods/portforward in namespace app".
    pub asked: String,
    pub found: Vec<Found>,
    /// The cluster serves no such resource: it was taken as typed (kubectl warns then).
    pub unknown_resource: bool,
}

/// The policies I may use that would allow `permission`.
pub async fn find(session: &Session, permission: &Permission) -> Result<Finding, Error> {
    let (typed, after_slash) = match permission.resource.split_once('/') {
        Some((r, s)) => (r.to_string(), Some(s.to_string())),
        None => (permission.resource.clone(), None),
    };
    let (resolved, unknown_resource) = match resolve(session, &typed).await? {
        Some(r) => (r, false),
        None => (as_typed(&typed), true),
    };
    let (mut sub, mut object) = (String::new(), permission.name.clone().unwrap_or_default());
    match after_slash {
        Some(s) if resolved.subresources.contains(&s) => sub = s,
        Some(n) => object = n,
        None => {}
    }
    if let Some(s) = &permission.subresource {
        sub = s.clone();
    }
    let namespace = if resolved.namespaced {
        permission.namespace.clone().unwrap_or_else(|| session.client.default_namespace().to_string())
    } else {
        String::new()
    };
    if !namespace.is_empty() {
        super::namespace_name("namespace", &namespace)?;
    }
    let request = Request {
        verb: permission.verb.clone(),
        group: resolved.group.clone(),
        resource: resolved.plural.clone(),
        subresource: sub,
        name: object,
        namespace,
    };

    let all = policies::all(session).await?;
    let usable = policies::usable(session, &all).await?;
    let cluster_roles = session
        .api::<ClusterRole>()
        .list(&ListParams::default())
        .await
        .map_err(doing("reading ClusterRoles (which evaluates the roles policies grant)"))?;
    let roles = namespaced_roles(session, &usable, &request.namespace).await;
    let roles = Roles { cluster_roles: &cluster_roles.items, roles: &roles };
    let found = usable.into_iter().filter_map(|p| found(p, &roles, &request)).collect();
    Ok(Finding { asked: describe(&request), request, found, unknown_resource })
}

/// What `policy` would grant of `request`, if anything (pure).
fn found(policy: &EscalationPolicy, roles: &Roles<'_>, request: &Request) -> Option<Found> {
    let matches = rbac::matches(&policy.spec, roles, request);
    if matches.is_empty() {
        return None;
    }
    let name = policy.name_any();
    let grants = matches
        .iter()
        .filter_map(|m| policy.spec.target.grants.get(m.grant).map(|g| (m, g)))
        .map(|(m, g)| {
            let place = m.namespace.as_ref().map_or("cluster-wide".to_string(), |ns| format!("in {ns}"));
            format!("{:?} {} {place}", g.role_ref.kind, g.role_ref.name)
        })
        .collect();
    let namespace = matches.iter().find_map(|m| m.namespace.clone());
    let flag = namespace.as_ref().map(|ns| format!(" -n {ns}")).unwrap_or_default();
    Some(Found {
        command: format!("kubectl kudo run {name}{flag} --reason '…' -- kubectl …"),
        policy: name,
        namespace,
        grants,
        requires: policy.spec.challenges.iter().map(policies::describe_challenge).collect(),
        default_duration: policy.spec.target.default_duration.to_string(),
        max_duration: policy.spec.target.max_duration.to_string(),
    })
}

pub fn describe(r: &Request) -> String {
    let resource = match (r.group.as_str(), r.subresource.as_str()) {
        ("", "") => r.resource.clone(),
        ("", sub) => format!("{}/{sub}", r.resource),
        (g, "") => format!("{}.{g}", r.resource),
        (g, sub) => format!("{}.{g}/{sub}", r.resource),
    };
    let name = if r.name.is_empty() { String::new() } else { format!(" {}", r.name) };
    let place = if r.namespace.is_empty() { String::new() } else { format!(" in namespace {}", r.namespace) };
    format!("{} {resource}{name}{place}", r.verb)
}

/// Roles that RoleBinding grants of these policies name, in the asked
/// namespace. One the user may not read is left out: its policy is not
/// offered, which errs on the side of not promising a grant.
async fn namespaced_roles(
    session: &Session,
    policies: &[&EscalationPolicy],
    namespace: &str,
) -> BTreeMap<(String, String), Role> {
    let mut out = BTreeMap::new();
    if namespace.is_empty() {
        return out;
    }
    let api: Api<Role> = Api::namespaced(session.client.clone(), namespace);
    for grant in policies.iter().flat_map(|p| &p.spec.target.grants) {
        if grant.role_ref.kind != RoleKind::Role {
            continue;
        }
        let key = (namespace.to_string(), grant.role_ref.name.clone());
        if out.contains_key(&key) {
            continue;
        }
        if let Ok(Some(role)) = api.get_opt(&grant.role_ref.name).await {
            out.insert(key, role);
        }
    }
    out
}

/// What the cluster says about a resource name a user typed.
struct Resolved {
    group: String,
    plural: String,
    namespaced: bool,
    subresources: Vec<String>,
}

/// An unknown resource, taken as typed (with its `.group`).
fn as_typed(typed: &str) -> Resolved {
    let (name, group) = match typed.split_once('.') {
        Some((n, g)) => (n.to_lowercase(), g.to_string()),
        None => (typed.to_lowercase(), String::new()),
    };
    Resolved { group, plural: name, namespaced: true, subresources: Vec::new() }
}

/// Resolves `pods`, `po`, `pod`, `Pod`, `deployments.apps` as kubectl does:
/// the core group first, then the others, by plural, singular, kind or
/// short name; `None` when the cluster serves no such resource.
async fn resolve(session: &Session, typed: &str) -> Result<Option<Resolved>, Error> {
    let (name, group) = match typed.split_once('.') {
        Some((n, g)) => (n.to_lowercase(), Some(g.to_string())),
        None => (typed.to_lowercase(), None),
    };
    let client = &session.client;
    let mut lists = Vec::new();
    if group.as_deref().is_none_or(str::is_empty) {
        let core = client.list_core_api_resources("v1").await.map_err(doing("discovering resources"))?;
        lists.push((String::new(), core));
    }
    let groups = client.list_api_groups().await.map_err(doing("discovering API groups"))?;
    for g in groups.groups {
        if group.as_ref().is_some_and(|want| *want != g.name) {
            continue;
        }
        let Some(version) = g.preferred_version.or_else(|| g.versions.first().cloned()) else { continue };
        if let Ok(list) = client.list_api_group_resources(&version.group_version).await {
            lists.push((g.name.clone(), list));
        }
    }
    for (group_name, list) in &lists {
        for r in list.resources.iter().filter(|r| !r.name.contains('/')) {
            let known = r.name == name
                || r.singular_name == name
                || r.kind.to_lowercase() == name
                || r.short_names.iter().flatten().any(|s| *s == name);
            if known {
                let subresources = list
                    .resources
                    .iter()
                    .filter_map(|s| s.name.strip_prefix(&format!("{}/", r.name)).map(String::from))
                    .collect();
                return Ok(Some(Resolved {
                    group: group_name.clone(),
                    plural: r.name.clone(),
                    namespaced: r.namespaced,
                    subresources,
                }));
            }
        }
    }
    Ok(identity(&name, group.as_deref()))
}

/// Identities are what impersonation (and KEP-5284's constrained
/// `impersonate:*` verbs) act on; RBAC names them as resources, but no API
/// serves them, so discovery does not list them.
fn identity(name: &str, group: Option<&str>) -> Option<Resolved> {
    let identity_group = match name {
        "users" | "user" | "groups" | "group" => "",
        "uids" | "uid" | "userextras" | "userextra" => "authentication.k8s.io",
        _ => return None,
    };
    if group.is_some_and(|want| want != identity_group) {
        return None;
    }
    let plural = if name.ends_with('s') { name.to_string() } else { format!("{name}s") };
    Some(Resolved { group: identity_group.into(), plural, namespaced: false, subresources: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_takes_what_can_i_takes() {
        let p = Permission::parse("create pods/portforward -n app", None).unwrap();
        assert_eq!(
            (p.verb.as_str(), p.resource.as_str(), p.namespace.as_deref()),
            ("create", "pods/portforward", Some("app"))
        );
        let p = Permission::parse("get secrets db --namespace=x", Some("dflt".into())).unwrap();
        assert_eq!((p.name.as_deref(), p.namespace.as_deref()), (Some("db"), Some("x")));
        assert_eq!(Permission::parse("get pods", Some("dflt".into())).unwrap().namespace.as_deref(), Some("dflt"));
        assert_eq!(Permission::parse("get pods -nfoo", None).unwrap().namespace.as_deref(), Some("foo"));
        for bad in ["", "get", "get pods a b", "get pods -n"] {
            let e = Permission::parse(bad, None).unwrap_err();
            assert_eq!(e.kind(), super::super::Kind::Usage, "{bad:?}");
            assert!(e.to_string().contains("expected VERB RESOURCE"), "{e}");
        }
    }

    #[test]
    fn identities_resolve_without_discovery() {
        let r = identity("user", None).unwrap();
        assert_eq!((r.group.as_str(), r.plural.as_str(), r.namespaced), ("", "users", false));
        assert_eq!(identity("uids", None).unwrap().group, "authentication.k8s.io");
        assert!(identity("users", Some("apps")).is_none());
        assert!(identity("pods", None).is_none());
    }

    #[test]
    fn a_request_in_words() {
        let r = Request {
            verb: "create".into(),
            group: "".into(),
            resource: "pods".into(),
            subresource: "portforward".into(),
            name: String::new(),
            namespace: "app".into(),
        };
        assert_eq!(describe(&r), "create pods/portforward in namespace app");
    }
}
