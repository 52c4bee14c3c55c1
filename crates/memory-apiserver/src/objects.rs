//! Verb semantics on stored objects: create, update (main resource and
//! status), delete with finalizers and preconditions, garbage collection.

use std::collections::HashSet;

use rand::Rng;
use serde_json::{Value, json};

use crate::{
    admission,
    auth::{self, User},
    errors::{ApiError, ApiResult},
    resources::ResourceType,
    schema,
    selectors::Selector,
    store::{CLUSTER_ROLES, EventType, State},
};

pub fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or_default()
}

pub fn name_of(obj: &Value) -> &str {
    meta_str(obj, "name")
}

/// Everything but metadata and status: what `generation` tracks.
fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    v
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Label keys are `[prefix/]name` and values at most 63 characters of
/// `[A-Za-z0-9._-]`, starting and ending alphanumeric, as the API server checks.
fn label_problems(obj: &Value) -> Vec<(String, String)> {
    fn segment_ok(s: &str) -> bool {
        s.len() <= 63
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && (s.is_empty()
                || (s.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && s.ends_with(|c: char| c.is_ascii_alphanumeric())))
    }
    let mut causes = Vec::new();
    for (key, value) in obj["metadata"]["labels"].as_object().into_iter().flatten() {
        let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
        if name.is_empty() || !segment_ok(name) || (!prefix.is_empty() && !valid_name(prefix)) {
            causes.push(("metadata.labels".to_string(), format!("Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character")));
        }
        let v = value.as_str().unwrap_or_default();
        if !value.is_string() || !segment_ok(v) {
            causes.push((
                "metadata.labels".to_string(),
                format!("Invalid value: \"{v}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters"),
            ));
        }
    }
    causes
}

/// Names of RBAC objects may hold `:` (system:basic-user); others are DNS subdomains.
fn name_ok(rt: &ResourceType, name: &str) -> bool {
    if rt.group == "rbac.authorization.k8s.io" {
        !name.is_empty() && !name.contains('/') && !name.contains('%') && name != "." && name != ".."
    } else {
        valid_name(name)
    }
}

/// Schema validation for custom resources; the checks built-ins need.
fn validate_shape(state: &State, rt: &ResourceType, obj: &Value, old: Option<&Value>) -> ApiResult<Value> {
    let name = name_of(obj).to_string();
    let label_causes = label_problems(obj);
    if !label_causes.is_empty() {
        return Err(ApiError::invalid(&rt.group, &rt.kind, &name, label_causes));
    }
    if let Some(schema) = &rt.schema {
        return schema::admit(schema, obj, old).map_err(|causes| ApiError::invalid(&rt.group, &rt.kind, &name, causes));
    }
    let mut causes = Vec::new();
    if rt.plural.ends_with("bindings") && rt.group == "rbac.authorization.k8s.io" {
        let kind = obj["roleRef"]["kind"].as_str().unwrap_or_default();
        if obj["roleRef"]["name"].as_str().unwrap_or_default().is_empty() {
            causes.push(("roleRef.name".into(), "Required value".into()));
        }
        // Kubernetes' own words (pkg/apis/rbac/validation).
        if rt.kind == "ClusterRoleBinding" && kind != "ClusterRole" {
            causes.push((
                "roleRef.kind".into(),
                format!("Unsupported value: \"{kind}\": supported values: \"ClusterRole\""),
            ));
        } else if !matches!(kind, "Role" | "ClusterRole") {
            causes.push((
                "roleRef.kind".into(),
                format!("Unsupported value: \"{kind}\": supported values: \"Role\", \"ClusterRole\""),
            ));
        }
        for (i, subject) in obj["subjects"].as_array().into_iter().flatten().enumerate() {
            let kind = subject["kind"].as_str().unwrap_or_default();
            if !matches!(kind, "ServiceAccount" | "User" | "Group") {
                causes.push((
                    format!("subjects[{i}].kind"),
                    format!("Unsupported value: \"{kind}\": supported values: \"ServiceAccount\", \"User\", \"Group\""),
                ));
            }
            if subject["name"].as_str().unwrap_or_default().is_empty() {
                causes.push((format!("subjects[{i}].name"), "Required value".into()));
            }
        }
        if let Some(old) = old
            && old["roleRef"] != obj["roleRef"]
        {
            causes.push(("roleRef".into(), "Invalid value: cannot change roleRef".into()));
        }
    }
    if rt.plural == "customresourcedefinitions"
        && obj["spec"]["names"]["plural"]
            .as_str()
            .is_some_and(|p| format!("{p}.{}", obj["spec"]["group"].as_str().unwrap_or_default()) != name)
    {
        causes.push(("metadata.name".into(), "Invalid value: must be spec.names.plural+\".\"+spec.group".into()));
    }
    let _ = state;
    if causes.is_empty() { Ok(obj.clone()) } else { Err(ApiError::invalid(&rt.group, &rt.kind, &name, causes)) }
}

/// Whether an update changes nothing but what the garbage collector needs
/// (finalizers, ownerReferences): RBAC's escalation check skips those, as
/// Kubernetes' `IsOnlyMutatingGCFields` does, so removing a finalizer from
/// a binding needs no rights over the role it binds.
fn only_gc_fields_change(new: &Value, old: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(meta) = v["metadata"].as_object_mut() {
            meta.remove("finalizers");
            meta.remove("ownerReferences");
        }
        v
    };
    strip(new) == strip(old)
}

/// RBAC's escalation prevention for roles and bindings.
fn check_rbac_escalation(state: &State, rt: &ResourceType, obj: &Value, user: &User) -> ApiResult<()> {
    if rt.group != "rbac.authorization.k8s.io" {
        return Ok(());
    }
    let ns = meta_str(obj, "namespace");
    let (ok, what) = match rt.plural.as_str() {
        "rolebindings" | "clusterrolebindings" => {
            let kind = obj["roleRef"]["kind"].as_str().unwrap_or_default();
            let role_name = obj["roleRef"]["name"].as_str().unwrap_or_default();
            let role = if kind == "ClusterRole" {
                state.get("rbac.authorization.k8s.io/clusterroles", "", role_name)
            } else {
                state.get("rbac.authorization.k8s.io/roles", ns, role_name)
            };
            let rules = role.and_then(|r| r["rules"].as_array().cloned()).unwrap_or_default();
            (auth::may_grant(state, user, ns, kind, role_name, &rules, "bind"), format!("{kind} {role_name}"))
        }
        "roles" | "clusterroles" => {
            let rules = obj["rules"].as_array().cloned().unwrap_or_default();
            (
                auth::may_grant(state, user, ns, &rt.kind, name_of(obj), &rules, "escalate"),
                format!("{} {}", rt.kind, name_of(obj)),
            )
        }
        _ => (true, String::new()),
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::forbidden_message(format!(
            "{} \"{}\" is forbidden: user \"{}\" is attempting to grant RBAC permissions not currently held (via {what}); bind or escalate verb required",
            rt.plural,
            name_of(obj),
            user.name
        )))
    }
}

pub struct Write<'a> {
    pub rt: &'a ResourceType,
    pub namespace: &'a str,
    pub user: &'a User,
    pub dry_run: bool,
}

pub fn create(state: &mut State, w: &Write<'_>, mut obj: Value) -> ApiResult<Value> {
    let rt = w.rt;
    if !obj.is_object() {
        return Err(ApiError::bad_request("the body of the request is not a JSON object"));
    }
    if obj["apiVersion"].as_str().is_some_and(|v| v != rt.api_version())
        || obj["kind"].as_str().is_some_and(|k| k != rt.kind)
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({}) does not match the expected API version ({})",
            obj["apiVersion"].as_str().unwrap_or_default(),
            rt.api_version()
        )));
    }
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    if rt.namespaced {
        let body_ns = meta_str(&obj, "namespace");
        if !body_ns.is_empty() && body_ns != w.namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if state.get("/namespaces", "", w.namespace).is_none() {
            return Err(ApiError::not_found("", "namespaces", w.namespace));
        }
        obj["metadata"]["namespace"] = json!(w.namespace);
    } else if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("namespace");
    }
    if name_of(&obj).is_empty() {
        match obj["metadata"]["generateName"].as_str() {
            Some(prefix) if !prefix.is_empty() => {
                // Like the API server since 1.32 (RetryGenerateName), a
                // generated name that is taken is drawn again, up to 8 times.
                let mut name = format!("{prefix}{}", random_suffix());
                for _ in 1..8 {
                    if state.get(&rt.id(), w.namespace, &name).is_none() {
                        break;
                    }
                    name = format!("{prefix}{}", random_suffix());
                }
                obj["metadata"]["name"] = json!(name);
            }
            _ => {
                return Err(ApiError::invalid(
                    &rt.group,
                    &rt.kind,
                    "",
                    vec![("metadata.name".into(), "Required value: name or generateName is required".into())],
                ));
            }
        }
    }
    let name = name_of(&obj).to_string();
    if !name_ok(rt, &name) {
        return Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            &name,
            vec![(
                "metadata.name".into(),
                format!(
                    "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
                ),
            )],
        ));
    }
    if state.get(&rt.id(), w.namespace, &name).is_some() {
        return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
    }
    let meta = obj["metadata"].as_object_mut().ok_or_else(|| ApiError::internal("metadata"))?;
    for k in [
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "managedFields",
        "selfLink",
    ] {
        meta.remove(k);
    }
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(now()));
    if rt.tracks_generation() {
        meta.insert("generation".into(), json!(1));
    }
    if rt.status
        && rt.schema.is_some()
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    if rt.plural == "customresourcedefinitions" {
        obj["status"] = json!({"conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now()},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now()},
        ], "acceptedNames": obj["spec"]["names"].clone(), "storedVersions": [obj["spec"]["versions"][0]["name"].clone()]});
    }
    if rt.plural == "namespaces" {
        obj["status"] = json!({"phase": "Active"});
        obj["spec"] = json!({"finalizers": ["kubernetes"]});
    }
    default_builtin(rt, &mut obj);
    let obj = validate_shape(state, rt, &obj, None)?;
    check_rbac_escalation(state, rt, &obj, w.user)?;
    admission::validate(
        state,
        &admission::Request {
            operation: "CREATE",
            rt,
            subresource: "",
            namespace: w.namespace,
            name: &name,
            object: Some(&obj),
            old: None,
            user: w.user,
        },
    )?;
    let mut obj = obj;
    if w.dry_run {
        return Ok(obj);
    }
    obj["metadata"]["resourceVersion"] = json!(state.next_rv().to_string());
    state.put(&rt.id(), obj.clone(), EventType::Added, None);
    Ok(obj)
}

/// PUT semantics, also the last step of every patch.
pub fn update(
    state: &mut State,
    w: &Write<'_>,
    name: &str,
    sub: &str,
    new: Value,
    require_rv: bool,
) -> ApiResult<Value> {
    let rt = w.rt;
    let old = state
        .get(&rt.id(), w.namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
    if !new.is_object() {
        return Err(ApiError::bad_request("the body of the request is not a JSON object"));
    }
    if !name_of(&new).is_empty() && name_of(&new) != name {
        return Err(ApiError::bad_request("the name of the object does not match the name on the URL"));
    }
    let rv = meta_str(&new, "resourceVersion");
    if rv.is_empty() && require_rv && rt.schema.is_some() {
        return Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            name,
            vec![("metadata.resourceVersion".into(), "Invalid value: 0x0: must be specified for an update".into())],
        ));
    }
    if !rv.is_empty() && rv != meta_str(&old, "resourceVersion") {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    let uid = meta_str(&new, "uid");
    if !uid.is_empty() && uid != meta_str(&old, "uid") {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            name,
            &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", meta_str(&old, "uid")),
        ));
    }
    let mut merged = if sub == "status" {
        let mut m = old.clone();
        m["status"] = new.get("status").cloned().unwrap_or(Value::Null);
        if m["status"].is_null()
            && let Some(o) = m.as_object_mut()
        {
            o.remove("status");
        }
        m
    } else {
        let mut m = new.clone();
        m["apiVersion"] = old["apiVersion"].clone();
        m["kind"] = old["kind"].clone();
        if rt.status {
            match old.get("status") {
                Some(s) => m["status"] = s.clone(),
                None => {
                    if let Some(o) = m.as_object_mut() {
                        o.remove("status");
                    }
                }
            }
        }
        for k in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match old["metadata"].get(k) {
                Some(v) => m["metadata"][k] = v.clone(),
                None => {
                    if let Some(meta) = m["metadata"].as_object_mut() {
                        meta.remove(k);
                    }
                }
            }
        }
        m
    };
    if !old["metadata"]["deletionTimestamp"].is_null() {
        let before: HashSet<&Value> =
            old["metadata"]["finalizers"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
        if merged["metadata"]["finalizers"].as_array().is_some_and(|a| a.iter().any(|f| !before.contains(f))) {
            return Err(ApiError::invalid(
                &rt.group,
                &rt.kind,
                name,
                vec![(
                    "metadata.finalizers".into(),
                    "Forbidden: no new finalizers can be added if the object is being deleted".into(),
                )],
            ));
        }
    }
    merged["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
    default_builtin(rt, &mut merged);
    let mut merged = validate_shape(state, rt, &merged, Some(&old))?;
    if sub.is_empty() && !only_gc_fields_change(&merged, &old) {
        check_rbac_escalation(state, rt, &merged, w.user)?;
    }
    admission::validate(
        state,
        &admission::Request {
            operation: "UPDATE",
            rt,
            subresource: sub,
            namespace: w.namespace,
            name,
            object: Some(&merged),
            old: Some(&old),
            user: w.user,
        },
    )?;
    if rt.tracks_generation() && spec_part(&merged) != spec_part(&old) {
        let g = old["metadata"]["generation"].as_i64().unwrap_or(1);
        merged["metadata"]["generation"] = json!(g + 1);
    }
    if merged == old || w.dry_run {
        return Ok(merged);
    }
    merged["metadata"]["resourceVersion"] = json!(state.next_rv().to_string());
    let finishing = !merged["metadata"]["deletionTimestamp"].is_null()
        && merged["metadata"]["finalizers"].as_array().is_none_or(|f| f.is_empty());
    state.put(&rt.id(), merged.clone(), EventType::Modified, Some(old));
    if finishing {
        remove(state, rt, w.namespace, name);
    }
    Ok(merged)
}

/// Deletes now, or marks for deletion while finalizers remain.
pub fn delete(state: &mut State, w: &Write<'_>, name: &str, options: &Value) -> ApiResult<Value> {
    let rt = w.rt;
    let old = state
        .get(&rt.id(), w.namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
    let pre = &options["preconditions"];
    if let Some(uid) = pre["uid"].as_str()
        && uid != meta_str(&old, "uid")
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            name,
            &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", meta_str(&old, "uid")),
        ));
    }
    if let Some(rv) = pre["resourceVersion"].as_str()
        && rv != meta_str(&old, "resourceVersion")
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                meta_str(&old, "resourceVersion")
            ),
        ));
    }
    admission::validate(
        state,
        &admission::Request {
            operation: "DELETE",
            rt,
            subresource: "",
            namespace: w.namespace,
            name,
            object: None,
            old: Some(&old),
            user: w.user,
        },
    )?;
    if w.dry_run {
        return Ok(old);
    }
    let has_finalizers = old["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
    if has_finalizers || rt.plural == "namespaces" {
        if old["metadata"]["deletionTimestamp"].is_null() {
            let mut marked = old.clone();
            marked["metadata"]["deletionTimestamp"] = json!(now());
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if rt.plural == "namespaces" {
                marked["status"]["phase"] = json!("Terminating");
            }
            marked["metadata"]["resourceVersion"] = json!(state.next_rv().to_string());
            state.put(&rt.id(), marked.clone(), EventType::Modified, Some(old));
            if rt.plural == "namespaces" {
                empty_namespace(state, name);
            }
            return Ok(marked);
        }
        return Ok(old);
    }
    Ok(remove(state, rt, w.namespace, name).unwrap_or(old))
}

fn remove(state: &mut State, rt: &ResourceType, namespace: &str, name: &str) -> Option<Value> {
    let mut obj = state.get(&rt.id(), namespace, name)?.clone();
    obj["metadata"]["resourceVersion"] = json!(state.next_rv().to_string());
    state.put(&rt.id(), obj.clone(), EventType::Deleted, None);
    Some(obj)
}

/// The API server's defaults for the built-in fields kubectl and kudo read
/// back (`SetDefaults_*` in Kubernetes): a Secret's type, and the apiGroup
/// of User and Group subjects; a Secret's `stringData` folded into `data`.
fn default_builtin(rt: &ResourceType, obj: &mut Value) {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "secrets") => {
            if obj["type"].as_str().is_none_or(str::is_empty) {
                obj["type"] = json!("Opaque");
            }
            // Write-only `stringData` is merged into `data` (base64), winning over it.
            if let Some(Value::Object(strings)) = obj.as_object_mut().and_then(|o| o.remove("stringData")) {
                use base64::Engine as _;
                for (key, value) in strings {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(value.as_str().unwrap_or_default());
                    obj["data"][key] = json!(encoded);
                }
            }
        }
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => {
            for subject in obj["subjects"].as_array_mut().into_iter().flatten() {
                let kind = subject["kind"].as_str().unwrap_or_default();
                if matches!(kind, "User" | "Group") && subject["apiGroup"].as_str().is_none_or(str::is_empty) {
                    subject["apiGroup"] = json!("rbac.authorization.k8s.io");
                }
            }
        }
        _ => {}
    }
}

/// The namespace controller: delete everything inside, then the namespace.
fn empty_namespace(state: &mut State, ns: &str) {
    let types: Vec<ResourceType> = state.types.iter().filter(|t| t.namespaced).cloned().collect();
    for rt in &types {
        let names: Vec<String> = state.list(&rt.id(), Some(ns)).iter().map(|o| name_of(o).to_string()).collect();
        for name in names {
            let admin = User::new("system:serviceaccount:kube-system:namespace-controller", &["system:masters"]);
            let w = Write { rt, namespace: ns, user: &admin, dry_run: false };
            let _ = delete(state, &w, &name, &Value::Null);
        }
    }
    finish_namespaces(state);
}

/// Removes terminating namespaces that have become empty.
pub fn finish_namespaces(state: &mut State) {
    let terminating: Vec<String> = state
        .list("/namespaces", None)
        .iter()
        .filter(|n| !n["metadata"]["deletionTimestamp"].is_null())
        .map(|n| name_of(n).to_string())
        .collect();
    for ns in terminating {
        let empty = state.types.iter().filter(|t| t.namespaced).all(|t| state.list(&t.id(), Some(&ns)).is_empty());
        if empty && let Some(rt) = state.types.iter().find(|t| t.plural == "namespaces").cloned() {
            remove(state, &rt, "", &ns);
        }
    }
}

/// Background garbage collection: delete every object whose owners are all
/// gone. Only objects the store flagged (an owner vanished, or they were
/// written with owner references) are looked at.
pub fn collect_garbage(state: &mut State) {
    let gc = User::new("system:serviceaccount:kube-system:generic-garbage-collector", &["system:masters"]);
    while let Some((type_id, ns, name)) = state.next_gc_candidate() {
        let Some(o) = state.get(&type_id, &ns, &name) else { continue };
        let orphan = o["metadata"]["deletionTimestamp"].is_null()
            && o["metadata"]["ownerReferences"].as_array().is_some_and(|refs| {
                !refs.is_empty() && refs.iter().all(|r| !state.is_live_uid(r["uid"].as_str().unwrap_or_default()))
            });
        if !orphan {
            continue;
        }
        let Some(rt) = state.types.iter().find(|t| t.id() == type_id).cloned() else { continue };
        let w = Write { rt: &rt, namespace: &ns, user: &gc, dry_run: false };
        let _ = delete(state, &w, &name, &Value::Null);
    }
    finish_namespaces(state);
    aggregate_cluster_roles(state);
}

/// The ClusterRole aggregation controller: a ClusterRole with an
/// `aggregationRule` holds the rules of every other ClusterRole its
/// selectors pick, rewritten whenever a ClusterRole changes.
fn aggregate_cluster_roles(state: &mut State) {
    if !std::mem::take(&mut state.roles_changed) {
        return;
    }
    let roles: Vec<Value> = state.list(CLUSTER_ROLES, None).into_iter().cloned().collect();
    for role in &roles {
        let Some(selectors) = role["aggregationRule"]["clusterRoleSelectors"].as_array() else { continue };
        let selectors: Vec<Selector> =
            selectors.iter().filter_map(|s| Selector::parse(&label_selector_text(s)).ok()).collect();
        let mut rules: Vec<Value> = Vec::new();
        for other in roles.iter().filter(|o| o["metadata"]["name"] != role["metadata"]["name"]) {
            let labels = &other["metadata"]["labels"];
            if selectors.iter().any(|s| s.matches(|k| labels[k].as_str().map(String::from))) {
                for rule in other["rules"].as_array().into_iter().flatten() {
                    if !rules.contains(rule) {
                        rules.push(rule.clone());
                    }
                }
            }
        }
        if role["rules"].as_array().map(Vec::as_slice).unwrap_or_default() != rules.as_slice() {
            let mut updated = role.clone();
            updated["rules"] = Value::Array(rules);
            updated["metadata"]["resourceVersion"] = json!(state.next_rv().to_string());
            state.put(CLUSTER_ROLES, updated, EventType::Modified, Some(role.clone()));
        }
    }
    state.roles_changed = false;
}

/// A `LabelSelector` object in the text syntax `Selector::parse` reads.
fn label_selector_text(s: &Value) -> String {
    let mut terms: Vec<String> = s["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    for e in s["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        terms.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            _ => format!("!{key}"),
        });
    }
    terms.join(",")
}
