//! `kubectl kudo which VERB RESOURCE [NAME]`: the policies I may use that
//! would let me do it, what each asks first, and the command to run.

use std::collections::BTreeMap;

use clap::Args;
use k8s_openapi::api::rbac::v1::{ClusterRole, Role};
use kube::{Api, ResourceExt, api::ListParams};
use serde_json::{Value, json};

use super::{
    error::{UserError, explain},
    format,
    list::Output,
    session::Session,
};
use crate::{
    api::{EscalationPolicy, RoleKind},
    engine::rbac::{self, Request, Roles},
};

#[derive(Clone, Debug, Args)]
pub struct WhichArgs {
    /// The verb, as RBAC names it: get, list, create, update, patch, delete, use…
    #[arg(value_name = "VERB")]
    pub verb: String,
    /// The resource as kubectl names it: pods, deploy, deployments.apps. RESOURCE/X is
    /// a subresource when the cluster serves one of that name (pods/portforward,
    /// pods/log), otherwise an object's name as for kubectl auth can-i (secrets/db).
    #[arg(value_name = "RESOURCE")]
    pub resource: String,
    /// One object's name (rules limited to resourceNames apply only then).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// The subresource, as for kubectl auth can-i (pods/log is the same as pods --subresource log).
    #[arg(long, value_name = "SUBRESOURCE")]
    pub subresource: Option<String>,
    /// Output format: json or yaml (default: a table).
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<Output>,
}

/// What the cluster says about a resource name a user typed.
struct Resolved {
    group: String,
    plural: String,
    namespaced: bool,
    subresources: Vec<String>,
}

/// One policy that would grant what was asked, and where to escalate.
pub struct Found {
    pub policy: String,
    pub namespace: Option<String>,
    pub summary: Value,
}

pub async fn which(session: &Session, args: WhichArgs, namespace: Option<String>) -> Result<(), UserError> {
    let (request, found) =
        find(session, &args.verb, &args.resource, args.name.as_deref(), args.subresource.as_deref(), namespace).await?;
    let asked = describe(&request);
    if found.is_empty() {
        return Err(none_found(&asked));
    }
    let found: Vec<Value> = found.into_iter().map(|f| f.summary).collect();
    match args.output {
        Some(Output::Json) => println!("{}", serde_json::to_string_pretty(&Value::Array(found)).unwrap_or_default()),
        Some(Output::Yaml) => print!(
            "{}",
            serde_saphyr::to_string(&Value::Array(found)).map_err(|e| UserError::new(format!("writing YAML: {e}")))?
        ),
        _ => {
            let mut table = format::table(&["POLICY", "GRANTS", "REQUIRES", "RUN"]);
            let lines = |v: &Value| {
                let items: Vec<String> =
                    v.as_array().into_iter().flatten().filter_map(Value::as_str).map(String::from).collect();
                format::cells(items).join("\n")
            };
            for f in &found {
                let requires = lines(&f["requires"]);
                table.add_row(vec![
                    format::cells(vec![f["policy"].as_str().unwrap_or_default().to_string()]).join(""),
                    lines(&f["grants"]),
                    if requires.is_empty() { "nothing".into() } else { requires },
                    format::cells(vec![f["command"].as_str().unwrap_or_default().to_string()]).join(""),
                ]);
            }
            eprintln!("Policies you may use that grant {asked}:");
            println!("{}", format::render(&mut table));
        }
    }
    Ok(())
}

pub fn none_found(asked: &str) -> UserError {
    UserError::new(format!("no policy you may use grants {asked}"))
        .hint("kubectl kudo policies lists the policies you may use; ask an admin for one that grants it")
}

/// The policies I may use that would allow `verb` on `resource` (kubectl
/// auth can-i forms), and the request as resolved against the cluster.
pub async fn find(
    session: &Session,
    verb: &str,
    resource: &str,
    name: Option<&str>,
    subresource: Option<&str>,
    namespace: Option<String>,
) -> Result<(Request, Vec<Found>), UserError> {
    let (typed, after_slash) = match resource.split_once('/') {
        Some((r, s)) => (r.to_string(), Some(s.to_string())),
        None => (resource.to_string(), None),
    };
    let resolved = resolve(session, &typed).await?;
    let (mut sub, mut object) = (String::new(), name.unwrap_or_default().to_string());
    match after_slash {
        Some(s) if resolved.subresources.contains(&s) => sub = s,
        Some(n) => object = n,
        None => {}
    }
    if let Some(s) = subresource {
        sub = s.to_string();
    }
    let namespace = if resolved.namespaced {
        namespace.unwrap_or_else(|| session.client.default_namespace().to_string())
    } else {
        String::new()
    };
    let request = Request {
        verb: verb.to_string(),
        group: resolved.group.clone(),
        resource: resolved.plural.clone(),
        subresource: sub,
        name: object,
        namespace,
    };

    let policies: Api<EscalationPolicy> = session.api();
    let mut all = policies.list(&ListParams::default()).await.map_err(|e| explain("listing policies", e))?.items;
    all.sort_by_key(ResourceExt::name_any);
    let usable = super::admission::usable(session, &all).await?;
    let cluster_roles: Api<ClusterRole> = session.api();
    let cluster_roles = cluster_roles
        .list(&ListParams::default())
        .await
        .map_err(|e| explain("reading ClusterRoles (which evaluates the roles policies grant)", e))?;
    let roles = namespaced_roles(session, &usable, &request.namespace).await;
    let roles = Roles { cluster_roles: &cluster_roles.items, roles: &roles };

    let mut found = Vec::new();
    for policy in usable {
        let matches = rbac::matches(&policy.spec, &roles, &request);
        if matches.is_empty() {
            continue;
        }
        let name = policy.name_any();
        let grants: Vec<String> = matches
            .iter()
            .filter_map(|m| policy.spec.target.grants.get(m.grant).map(|g| (m, g)))
            .map(|(m, g)| {
                let place = m.namespace.as_ref().map_or("cluster-wide".to_string(), |ns| format!("in {ns}"));
                format!("{:?} {} {place}", g.role_ref.kind, g.role_ref.name)
            })
            .collect();
        let namespace = matches.iter().find_map(|m| m.namespace.clone());
        let flag = namespace.as_ref().map(|ns| format!(" -n {ns}")).unwrap_or_default();
        let command = format!("kubectl kudo run {name}{flag} --reason '…' -- kubectl …");
        let summary = json!({
            "policy": name,
            "grants": grants,
            "requires": policy.spec.challenges.iter().map(format::challenge).collect::<Vec<_>>(),
            "duration": {"default": policy.spec.target.default_duration, "max": policy.spec.target.max_duration},
            "namespace": namespace,
            "command": command,
        });
        found.push(Found { policy: name, namespace, summary });
    }
    Ok((request, found))
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

/// Resolves `pods`, `po`, `pod`, `Pod`, `deployments.apps` as kubectl does:
/// the core group first, then the others, by plural, singular, kind or
/// short name. An unknown resource is taken as typed (with its `.group`).
async fn resolve(session: &Session, typed: &str) -> Result<Resolved, UserError> {
    let (name, group) = match typed.split_once('.') {
        Some((n, g)) => (n.to_lowercase(), Some(g.to_string())),
        None => (typed.to_lowercase(), None),
    };
    let client = &session.client;
    let mut lists = Vec::new();
    if group.as_deref().is_none_or(str::is_empty) {
        let core = client.list_core_api_resources("v1").await.map_err(|e| explain("discovering resources", e))?;
        lists.push((String::new(), core));
    }
    let groups = client.list_api_groups().await.map_err(|e| explain("discovering API groups", e))?;
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
                return Ok(Resolved {
                    group: group_name.clone(),
                    plural: r.name.clone(),
                    namespaced: r.namespaced,
                    subresources,
                });
            }
        }
    }
    // Identities are what impersonation (and KEP-5284's constrained
    // `impersonate:*` verbs) act on; RBAC names them as resources, but no
    // API serves them, so discovery does not list them.
    let identity_group = match name.as_str() {
        "users" | "user" | "groups" | "group" => Some(""),
        "uids" | "uid" | "userextras" | "userextra" => Some("authentication.k8s.io"),
        _ => None,
    };
    if let Some(identity_group) = identity_group.filter(|g| group.as_deref().is_none_or(|want| want == *g)) {
        let plural = if name.ends_with('s') { name.clone() } else { format!("{name}s") };
        return Ok(Resolved { group: identity_group.into(), plural, namespaced: false, subresources: Vec::new() });
    }
    eprintln!("Warning: the server doesn't have a resource type '{typed}'");
    Ok(Resolved { group: group.unwrap_or_default(), plural: name, namespaced: true, subresources: Vec::new() })
}
