//! HTTP: routing, authentication and authorisation of every request,
//! discovery, and the verbs.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::State as AxState,
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{
    auth::{self, Attributes, User},
    errors::{ApiError, ApiResult},
    faults::Fault,
    objects::{self, Write},
    patch,
    resources::ResourceType,
    selectors::Filter,
    store::{Event, EventType, State},
};

pub type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, State> {
    // A panic while holding the lock is a bug in the fake; keep serving.
    s.lock().unwrap_or_else(|p| p.into_inner())
}

struct Target {
    group: String,
    version: String,
    plural: String,
    namespace: String,
    name: String,
    sub: String,
}

enum Route {
    Version,
    Api,
    Apis,
    ApiGroup(String),
    Resources(String, String),
    OpenApi,
    OpenApiV2,
    OpenApiGroupVersion(String),
    Object(Target),
    NotFound,
}

fn route(path: &str) -> Route {
    let segs: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["version"] => return Route::Version,
        ["api"] => return Route::Api,
        ["apis"] => return Route::Apis,
        ["openapi", "v3"] => return Route::OpenApi,
        ["openapi", "v2"] => return Route::OpenApiV2,
        ["openapi", "v3", gv @ ..] => return Route::OpenApiGroupVersion(gv.join("/")),
        ["apis", g] => return Route::ApiGroup(g.to_string()),
        ["api", v] => return Route::Resources(String::new(), v.to_string()),
        ["apis", g, v] => return Route::Resources(g.to_string(), v.to_string()),
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest),
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest),
        _ => return Route::NotFound,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, r @ ..] if !r.is_empty() && !matches!(r, ["status" | "finalize"]) => (ns.to_string(), r),
        r => (String::new(), r),
    };
    let (plural, name, sub) = match rest {
        [p] => (p, "", ""),
        [p, n] => (p, *n, ""),
        [p, n, s] => (p, *n, *s),
        _ => return Route::NotFound,
    };
    Route::Object(Target {
        group,
        version,
        plural: plural.to_string(),
        namespace,
        name: name.to_string(),
        sub: sub.to_string(),
    })
}

fn json_response(code: StatusCode, v: Value) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

pub async fn handle(
    AxState(shared): AxState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (faults, user) = {
        let state = lock(&shared);
        (state.faults.clone(), state.authenticate(&headers).ok().map(|u| u.name))
    };
    let watch = query(&uri).get("watch").is_some_and(|w| w == "true" || w == "1");
    let write = matches!(method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    let update = matches!(method, Method::PUT | Method::PATCH);
    let fault = user.and_then(|u| faults.draw(&u, write, update, watch));
    let served = |shared: Shared| async move {
        match serve(&shared, &method, &uri, &headers, body).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        }
    };
    let fail = |code: u16, reason: &'static str, message: &str| {
        let e = ApiError { code, reason, message: message.into(), details: Value::Null };
        let mut response = e.into_response();
        if code == 429 {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    };
    match fault {
        None => served(shared).await,
        Some(Fault::Throttle) => fail(429, "TooManyRequests", "Too many requests, please try again later."),
        Some(Fault::Internal) => fail(500, "InternalError", "Internal error occurred: etcdserver: request timed out"),
        Some(Fault::Unavailable | Fault::Outage) => {
            fail(503, "ServiceUnavailable", "The server is currently unable to handle the request")
        }
        Some(Fault::Timeout) => fail(504, "Timeout", "Timeout: request did not complete within the allowed duration"),
        Some(Fault::TimeoutAfterCommit) => {
            // etcd committed, the answer was lost: the client must not assume either way.
            let _ = served(shared).await;
            fail(504, "Timeout", "Timeout: request did not complete within the allowed duration")
        }
        Some(Fault::Conflict) => fail(
            409,
            "Conflict",
            "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again",
        ),
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            served(shared).await
        }
        Some(Fault::WatchGone) => {
            let gone = ApiError::gone("too old resource version (compacted)");
            let body = Body::from(watch_event("ERROR", &gone.status()));
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Some(Fault::WatchClose(after)) => {
            let (parts, body) = served(shared).await.into_parts();
            let cut = futures::StreamExt::take_until(body.into_data_stream(), tokio::time::sleep(after));
            Response::from_parts(parts, Body::from_stream(cut))
        }
    }
}

fn query(uri: &Uri) -> HashMap<String, String> {
    uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

async fn serve(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> ApiResult<Response> {
    let user = {
        let state = lock(shared);
        let user = state.authenticate(headers)?;
        auth::impersonate(&*state, user, headers)?
    };
    let q = query(uri);
    match route(uri.path()) {
        Route::Version => Ok(json_response(
            StatusCode::OK,
            json!({"major": "1", "minor": "36", "gitVersion": "v1.36.0-fake", "platform": "linux/amd64"}),
        )),
        Route::Api => Ok(json_response(
            StatusCode::OK,
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        )),
        Route::Apis => Ok(json_response(StatusCode::OK, api_groups(&lock(shared)))),
        Route::ApiGroup(g) => {
            let list = api_groups(&lock(shared));
            let found = list["groups"].as_array().and_then(|gs| gs.iter().find(|x| x["name"] == g.as_str()).cloned());
            let mut found = found.ok_or_else(|| ApiError::not_found("", "groups", &g))?;
            found["kind"] = json!("APIGroup");
            found["apiVersion"] = json!("v1");
            Ok(json_response(StatusCode::OK, found))
        }
        Route::Resources(g, v) => Ok(json_response(StatusCode::OK, resource_list(&lock(shared), &g, &v)?)),
        Route::OpenApi => Ok(json_response(StatusCode::OK, crate::openapi::root(&lock(shared).types))),
        Route::OpenApiV2 => Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")],
            crate::openapi::builtins().v2(),
        )
            .into_response()),
        Route::OpenApiGroupVersion(gv) => match crate::openapi::group_version(&lock(shared).types, &gv) {
            Some(doc) => Ok(json_response(StatusCode::OK, doc)),
            None => Err(not_found_path()),
        },
        Route::NotFound => Err(not_found_path()),
        Route::Object(t) => resource(shared, method, t, &q, headers, body, user).await,
    }
}

fn not_found_path() -> ApiError {
    ApiError {
        code: 404,
        reason: "NotFound",
        message: "the server could not find the requested resource".into(),
        details: Value::Null,
    }
}

fn api_groups(state: &State) -> Value {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for t in state.types.iter().filter(|t| !t.group.is_empty()) {
        match groups.iter_mut().find(|(g, _)| *g == t.group) {
            Some((_, vs)) if !vs.contains(&t.version) => vs.push(t.version.clone()),
            Some(_) => {}
            None => groups.push((t.group.clone(), vec![t.version.clone()])),
        }
    }
    json!({
        "kind": "APIGroupList", "apiVersion": "v1",
        "groups": groups.iter().map(|(g, vs)| json!({
            "name": g,
            "versions": vs.iter().map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v})).collect::<Vec<_>>(),
            "preferredVersion": {"groupVersion": format!("{g}/{}", vs[0]), "version": vs[0]},
        })).collect::<Vec<_>>(),
    })
}

fn verbs(t: &ResourceType) -> Vec<&'static str> {
    if t.create_only {
        vec!["create"]
    } else {
        vec!["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    }
}

fn resource_list(state: &State, group: &str, version: &str) -> ApiResult<Value> {
    let types: Vec<&ResourceType> = state.types.iter().filter(|t| t.group == group && t.version == version).collect();
    if types.is_empty() {
        return Err(not_found_path());
    }
    let mut resources = Vec::new();
    for t in types {
        let mut r = json!({
            "name": t.plural, "singularName": t.singular, "namespaced": t.namespaced, "kind": t.kind,
            "verbs": verbs(t),
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        resources.push(r);
        if t.status {
            resources.push(json!({"name": format!("{}/status", t.plural), "singularName": "", "namespaced": t.namespaced, "kind": t.kind, "verbs": ["get", "patch", "update"]}));
        }
        for (sub, kind, verbs) in listed_subresources(&t.id()) {
            resources.push(json!({"name": format!("{}/{sub}", t.plural), "singularName": "", "namespaced": t.namespaced, "kind": kind, "verbs": verbs}));
        }
    }
    let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Ok(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
}

/// Subresources a real API server lists in discovery besides `status`
/// (RBAC rules and `kubectl kudo which` name them). Only `serviceaccounts/token`
/// is served here; the others answer 404.
fn listed_subresources(type_id: &str) -> &'static [(&'static str, &'static str, &'static [&'static str])] {
    match type_id {
        "/pods" => &[
            ("attach", "PodAttachOptions", &["create", "get"]),
            ("binding", "Binding", &["create"]),
            ("ephemeralcontainers", "Pod", &["get", "patch", "update"]),
            ("eviction", "Eviction", &["create"]),
            ("exec", "PodExecOptions", &["create", "get"]),
            ("log", "Pod", &["get"]),
            ("portforward", "PodPortForwardOptions", &["create", "get"]),
            ("proxy", "PodProxyOptions", &["create", "delete", "get", "patch", "update"]),
            ("resize", "Pod", &["get", "patch", "update"]),
        ],
        "/serviceaccounts" => &[("token", "TokenRequest", &["create"])],
        "apps/deployments" => &[("scale", "Scale", &["get", "patch", "update"])],
        "/namespaces" => &[("finalize", "Namespace", &["update"])],
        _ => &[],
    }
}

fn scope(ns: &str) -> String {
    if ns.is_empty() { "at the cluster scope".into() } else { format!("in the namespace \"{ns}\"") }
}

async fn resource(
    shared: &Shared,
    method: &Method,
    t: Target,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
    user: User,
) -> ApiResult<Response> {
    let token_request = t.group.is_empty() && t.plural == "serviceaccounts" && t.sub == "token" && !t.name.is_empty();
    if token_request && lock(shared).find_type(&t.group, &t.version, &t.plural).is_some() {
        return token(shared, method, &t, headers, body, &user);
    }
    let is_watch = q.get("watch").is_some_and(|w| w == "true" || w == "1");
    let verb = match (method.as_str(), t.name.is_empty()) {
        ("GET", true) if is_watch => "watch",
        ("GET", true) => "list",
        ("GET", false) => "get",
        ("POST", true) => "create",
        ("PUT", false) => "update",
        ("PATCH", false) => "patch",
        ("DELETE", false) => "delete",
        ("DELETE", true) => "deletecollection",
        _ => {
            return Err(ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ));
        }
    };
    // As a real API server: authorise the request's attributes first, and
    // only then look the resource up, so that whoever may not use a
    // resource cannot learn whether it is served (403, never 404).
    let attrs = Attributes {
        verb: verb.into(),
        group: t.group.clone(),
        resource: t.plural.clone(),
        subresource: t.sub.clone(),
        namespace: t.namespace.clone(),
        name: t.name.clone(),
    };
    let self_review = t.group == "authentication.k8s.io" && t.plural == "selfsubjectreviews"
        || t.group == "authorization.k8s.io" && t.plural == "selfsubjectaccessreviews";
    if !self_review && !auth::allowed(&*lock(shared), &user, &attrs) {
        let resource = if t.sub.is_empty() { t.plural.clone() } else { format!("{}/{}", t.plural, t.sub) };
        let mut e = ApiError::forbidden(&user.name, verb, &resource, &t.group, &scope(&t.namespace));
        if !t.name.is_empty() {
            e.message = e.message.replacen(&format!("{resource} is"), &format!("{resource} \"{}\" is", t.name), 1);
        }
        e.details = json!({"name": t.name, "group": t.group, "kind": t.plural});
        return Err(e);
    }
    let rt = lock(shared).find_type(&t.group, &t.version, &t.plural).cloned().ok_or_else(not_found_path)?;
    let unknown_sub = !t.sub.is_empty() && (t.sub != "status" || !rt.status);
    if (!rt.namespaced && !t.namespace.is_empty()) || unknown_sub {
        return Err(not_found_path());
    }
    if rt.create_only && verb != "create" {
        return Err(ApiError::method_not_allowed("the server does not allow this method on the requested resource"));
    }
    let dry_run = q.get("dryRun").is_some_and(|d| d == "All");
    match verb {
        "get" => {
            let state = lock(shared);
            let obj = state
                .get(&rt.id(), &t.namespace, &t.name)
                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &t.name))?;
            Ok(respond(headers, &rt, StatusCode::OK, obj.clone(), false))
        }
        "list" => list(shared, &rt, &t, q, headers),
        "watch" => watch(shared, &rt, &t, q),
        "create" => {
            let obj = parse_body(&body, headers)?;
            if rt.create_only {
                return review(shared, &rt, obj, &user);
            }
            let unknown = unknown_fields(&rt, q, &obj)?;
            let mut state = lock(shared);
            let w = Write { rt: &rt, namespace: &t.namespace, user: &user, dry_run };
            let created = objects::create(&mut state, &w, obj)?;
            if !dry_run {
                let manager = q.get("fieldManager").cloned().unwrap_or_else(|| "unknown".into());
                let key = (rt.id(), t.namespace.clone(), objects::name_of(&created).to_string());
                patch::record_update(state.managed.entry(key).or_default(), &manager, &json!({}), &created);
                objects::collect_garbage(&mut state);
            }
            Ok(with_warnings(respond(headers, &rt, StatusCode::CREATED, created, false), &unknown))
        }
        "update" => {
            let obj = parse_body(&body, headers)?;
            let unknown = unknown_fields(&rt, q, &obj)?;
            let mut state = lock(shared);
            let w = Write { rt: &rt, namespace: &t.namespace, user: &user, dry_run };
            let old = state.get(&rt.id(), &t.namespace, &t.name).cloned();
            let updated = objects::update(&mut state, &w, &t.name, &t.sub, obj, true)?;
            track(&mut state, &rt, &t, q, old.as_ref(), &updated);
            objects::collect_garbage(&mut state);
            Ok(with_warnings(respond(headers, &rt, StatusCode::OK, updated, false), &unknown))
        }
        "patch" => patch_object(shared, &rt, &t, q, headers, &body, &user, dry_run),
        "delete" => {
            let options = if body.is_empty() { Value::Null } else { parse_body(&body, headers)? };
            let mut state = lock(shared);
            let w = Write { rt: &rt, namespace: &t.namespace, user: &user, dry_run };
            let deleted = objects::delete(&mut state, &w, &t.name, &options)?;
            if options["propagationPolicy"] != "Orphan" {
                objects::collect_garbage(&mut state);
            }
            Ok(respond(headers, &rt, StatusCode::OK, deleted, false))
        }
        "deletecollection" => {
            let filter =
                Filter::parse(q.get("labelSelector").map(String::as_str), q.get("fieldSelector").map(String::as_str))?;
            let mut state = lock(shared);
            let ns = (!t.namespace.is_empty()).then_some(t.namespace.as_str());
            let names: Vec<(String, String)> = state
                .list(&rt.id(), ns)
                .into_iter()
                .filter(|o| filter.matches(o))
                .map(|o| {
                    (
                        o["metadata"]["namespace"].as_str().unwrap_or_default().to_string(),
                        objects::name_of(o).to_string(),
                    )
                })
                .collect();
            let mut items = Vec::new();
            for (ns, name) in names {
                let w = Write { rt: &rt, namespace: &ns, user: &user, dry_run };
                items.push(objects::delete(&mut state, &w, &name, &Value::Null)?);
            }
            objects::collect_garbage(&mut state);
            Ok(json_response(
                StatusCode::OK,
                json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": {}, "items": items}),
            ))
        }
        _ => Err(ApiError::method_not_allowed("unsupported")),
    }
}

fn track(
    state: &mut State,
    rt: &ResourceType,
    t: &Target,
    q: &HashMap<String, String>,
    old: Option<&Value>,
    new: &Value,
) {
    let manager = q.get("fieldManager").cloned().unwrap_or_else(|| "unknown".into());
    let key = (rt.id(), t.namespace.clone(), t.name.clone());
    if let (Some(old), Some(managed)) = (old, state.managed.get_mut(&key)) {
        patch::record_update(managed, &manager, old, new);
    } else if let Some(old) = old {
        patch::record_update(state.managed.entry(key).or_default(), &manager, old, new);
    }
}

#[allow(clippy::too_many_arguments)]
fn patch_object(
    shared: &Shared,
    rt: &ResourceType,
    t: &Target,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
    user: &User,
    dry_run: bool,
) -> ApiResult<Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let mut state = lock(shared);
    let w = Write { rt, namespace: &t.namespace, user, dry_run };
    let live = state.get(&rt.id(), &t.namespace, &t.name).cloned();
    let key = (rt.id(), t.namespace.clone(), t.name.clone());
    let unknown;
    let (new, created) = match content_type.as_str() {
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
            let manager = q.get("fieldManager").filter(|m| !m.is_empty()).ok_or_else(|| ApiError::bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"))?;
            let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("apply patch is not UTF-8"))?;
            // Clients usually send JSON, which is YAML; parse it as such first.
            let applied: Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(_) => serde_saphyr::from_str(text)
                    .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?,
            };
            if applied["apiVersion"].as_str() != Some(rt.api_version().as_str())
                || applied["kind"].as_str() != Some(rt.kind.as_str())
            {
                return Err(ApiError::bad_request(format!(
                    "apiVersion and kind must be {} {} in an apply patch",
                    rt.api_version(),
                    rt.kind
                )));
            }
            unknown = unknown_fields(rt, q, &applied)?;
            let force = q.get("force").is_some_and(|f| f == "true");
            let mut managed = state.managed.get(&key).cloned().unwrap_or_default();
            let mut merged =
                patch::apply(live.as_ref(), &applied, patch::Apply { manager, force, managed: &mut managed })?;
            let result = match &live {
                None if t.sub.is_empty() => {
                    merged["metadata"]["name"] = json!(t.name);
                    (objects::create(&mut state, &w, merged)?, true)
                }
                None => return Err(ApiError::not_found(&rt.group, &rt.plural, &t.name)),
                Some(_) => {
                    // A resourceVersion in the applied object is a
                    // precondition, as for every other write: a stale one is
                    // a 409. (Without this, a controller's conditioned status
                    // write from a stale cache overwrote newer status here;
                    // a real server refuses it.)
                    match applied["metadata"].get("resourceVersion") {
                        Some(rv) if !rv.is_null() => merged["metadata"]["resourceVersion"] = rv.clone(),
                        _ => {
                            if let Some(m) = merged["metadata"].as_object_mut() {
                                m.remove("resourceVersion");
                            }
                        }
                    }
                    (objects::update(&mut state, &w, &t.name, &t.sub, merged, false)?, false)
                }
            };
            if !dry_run {
                state.managed.insert(key, managed);
            }
            result
        }
        other => {
            let live = live.ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &t.name))?;
            let patch_body: Value =
                serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid patch body: {e}")))?;
            let mut patched = match other {
                "application/merge-patch+json" => patch::merge_like(&live, &patch_body),
                "application/strategic-merge-patch+json" if rt.schema.is_none() => {
                    crate::strategic::merge(&live, &patch_body)
                }
                "application/json-patch+json" => patch::json_patch(&live, &patch_body)?,
                _ => {
                    return Err(ApiError::unsupported_media_type(
                        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                        other,
                    ));
                }
            };
            unknown = unknown_fields(rt, q, &patched)?;
            if patched["metadata"]["resourceVersion"].is_null()
                && let Some(m) = patched["metadata"].as_object_mut()
            {
                m.remove("resourceVersion");
            }
            let updated = objects::update(&mut state, &w, &t.name, &t.sub, patched, false)?;
            track(&mut state, rt, t, q, Some(&live), &updated);
            (updated, false)
        }
    };
    objects::collect_garbage(&mut state);
    let code = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(with_warnings(respond(headers, rt, code, new, false), &unknown))
}

/// `fieldValidation`: Strict rejects fields the schema does not declare, Warn
/// (the server's default) names them in `Warning` headers, Ignore drops them
/// silently. Only custom resources have a schema to check against.
fn unknown_fields(rt: &ResourceType, q: &HashMap<String, String>, obj: &Value) -> ApiResult<Vec<String>> {
    let mode = q.get("fieldValidation").map(String::as_str).unwrap_or("Warn");
    if !matches!(mode, "Ignore" | "Warn" | "Strict") {
        return Err(ApiError::bad_request(format!(
            "fieldValidation: Unsupported value: \"{mode}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
        )));
    }
    if mode == "Ignore" {
        return Ok(Vec::new());
    }
    let unknown = match (&rt.schema, crate::builtin::round_trip(&rt.group, &rt.kind, obj)) {
        (Some(schema), _) => crate::schema::prune_unknown(schema, &mut obj.clone()),
        (None, Some(Ok(decoded))) => crate::builtin::unknown(obj, &decoded),
        (None, Some(Err(why))) => {
            return Err(ApiError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {}: {why}",
                rt.kind, rt.version, rt.kind
            )));
        }
        (None, None) => Vec::new(),
    };
    if mode == "Strict" && !unknown.is_empty() {
        let fields: Vec<String> = unknown.iter().map(|f| format!("unknown field \"{f}\"")).collect();
        return Err(ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
            rt.kind,
            rt.version,
            rt.kind,
            fields.join(", ")
        )));
    }
    Ok(unknown)
}

fn with_warnings(mut response: Response, unknown: &[String]) -> Response {
    for field in unknown {
        if let Ok(value) = header::HeaderValue::from_str(&format!("299 - \"unknown field \\\"{field}\\\"\"")) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}

fn parse_body(body: &Bytes, headers: &HeaderMap) -> ApiResult<Value> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    match ct.split(';').next().unwrap_or_default().trim() {
        "application/json" | "" => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("couldn't decode the request body: {e}"))),
        "application/yaml" => {
            let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("body is not UTF-8"))?;
            serde_saphyr::from_str(text).map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
        }
        "application/vnd.kubernetes.protobuf" => crate::protobuf::decode(body, ct),
        other => Err(ApiError::unsupported_media_type(
            "application/json, application/yaml, application/vnd.kubernetes.protobuf",
            other,
        )),
    }
}

fn wants_table(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("as=Table"))
}

fn respond(headers: &HeaderMap, rt: &ResourceType, code: StatusCode, obj: Value, _list: bool) -> Response {
    if wants_table(headers) {
        return json_response(
            code,
            crate::table::table(rt, std::slice::from_ref(&obj), &obj["metadata"]["resourceVersion"], true),
        );
    }
    json_response(code, obj)
}

fn list(
    shared: &Shared,
    rt: &ResourceType,
    t: &Target,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let filter = Filter::parse(q.get("labelSelector").map(String::as_str), q.get("fieldSelector").map(String::as_str))?;
    let state = lock(shared);
    let ns = (!t.namespace.is_empty()).then_some(t.namespace.as_str());
    let mut items: Vec<&Value> = state.list(&rt.id(), ns).into_iter().filter(|o| filter.matches(o)).collect();
    let start_after = q
        .get("continue")
        .filter(|c| !c.is_empty())
        .map(|c| {
            base64::engine::general_purpose::STANDARD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ApiError::bad_request("invalid continue token"))
        })
        .transpose()?;
    // etcd's order: keys are "<namespace>/<name>" strings, which is not the
    // store's (namespace, name) order when a namespace holds a '-' or '.'.
    let key =
        |o: &Value| format!("{}/{}", o["metadata"]["namespace"].as_str().unwrap_or_default(), objects::name_of(o));
    items.sort_by_cached_key(|o| key(o));
    if let Some(after) = &start_after {
        items.retain(|o| key(o).as_str() > after.as_str());
    }
    let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0);
    let mut meta = json!({"resourceVersion": state.rv().to_string()});
    if let Some(limit) = limit
        && items.len() > limit
    {
        let remaining = items.len() - limit;
        items.truncate(limit);
        let last = items.last().map(|o| key(o)).unwrap_or_default();
        meta["continue"] = json!(base64::engine::general_purpose::STANDARD.encode(last));
        meta["remainingItemCount"] = json!(remaining);
    }
    let rv = meta["resourceVersion"].clone();
    if wants_table(headers) {
        let owned: Vec<Value> = items.into_iter().cloned().collect();
        let include_object = q.get("includeObject").is_none_or(|i| i != "None");
        return Ok(json_response(StatusCode::OK, crate::table::table(rt, &owned, &rv, include_object)));
    }
    // Serialised from the borrowed items: a large list is not deep-copied.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct List<'a> {
        kind: String,
        api_version: String,
        metadata: Value,
        items: Vec<&'a Value>,
    }
    let body = List { kind: format!("{}List", rt.kind), api_version: rt.api_version(), metadata: meta, items };
    let body = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn watch_event(kind: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": kind, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

/// How a stored event looks through a watch with a selector.
fn visible(e: &Event, filter: &Filter) -> Option<&'static str> {
    let now = e.kind != EventType::Deleted && filter.matches(&e.object);
    let before = match e.kind {
        EventType::Added => false,
        EventType::Deleted => filter.matches(&e.object),
        EventType::Modified => e.old.as_ref().is_some_and(|o| filter.matches(o)),
    };
    match (before, now, e.kind) {
        (_, _, EventType::Deleted) if before => Some("DELETED"),
        (false, true, _) => Some("ADDED"),
        (true, true, _) => Some("MODIFIED"),
        (true, false, _) => Some("DELETED"),
        _ => None,
    }
}

fn watch(shared: &Shared, rt: &ResourceType, t: &Target, q: &HashMap<String, String>) -> ApiResult<Response> {
    let filter = Filter::parse(q.get("labelSelector").map(String::as_str), q.get("fieldSelector").map(String::as_str))?;
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|b| b == "true");
    let send_initial = q.get("sendInitialEvents").is_some_and(|b| b == "true");
    let timeout = q.get("timeoutSeconds").and_then(|s| s.parse::<u64>().ok()).unwrap_or(1800);
    let requested =
        q.get("resourceVersion").filter(|r| !r.is_empty() && *r != "0").map(|r| r.parse::<u64>().unwrap_or(0));
    let (tx, rx) = mpsc::channel::<Bytes>(1024);
    let type_id = rt.id();
    let ns = t.namespace.clone();
    let kind = rt.kind.clone();
    let api_version = rt.api_version();
    let in_scope = move |e: &Event| e.type_id == type_id && (ns.is_empty() || e.namespace == ns);
    let (mut live, initial, start_rv) = {
        let state = lock(shared);
        let live = state.tx.subscribe();
        let mut initial = Vec::new();
        match requested {
            Some(rv) if !send_initial => match state.events_since(rv, &rt.id()) {
                Some(events) => {
                    for e in events.iter().filter(|e| in_scope(e)) {
                        if let Some(k) = visible(e, &filter) {
                            initial.push(watch_event(k, &e.object));
                        }
                    }
                }
                None => {
                    let gone = ApiError::gone(format!("too old resource version: {rv} ({})", state.history_floor));
                    initial.push(watch_event("ERROR", &gone.status()));
                    let body =
                        Body::from_stream(futures::stream::iter(initial.into_iter().map(Ok::<_, std::io::Error>)));
                    return Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response());
                }
            },
            _ => {
                let ns = (!t.namespace.is_empty()).then_some(t.namespace.as_str());
                for o in state.list(&rt.id(), ns).into_iter().filter(|o| filter.matches(o)) {
                    initial.push(watch_event("ADDED", o));
                }
                if send_initial {
                    let mark = json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": state.rv().to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}});
                    initial.push(watch_event("BOOKMARK", &mark));
                }
            }
        }
        (live, initial, state.rv())
    };
    let shared = shared.clone();
    let faults = lock(&shared).faults.clone();
    let plural = rt.plural.clone();
    tokio::spawn(async move {
        for line in initial {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(Duration::from_secs(timeout));
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = tick.tick(), if bookmarks => {
                    let rv = lock(&shared).rv();
                    let mark = json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": rv.to_string()}});
                    if tx.send(watch_event("BOOKMARK", &mark)).await.is_err() { return; }
                }
                e = live.recv() => match e {
                    Ok(e) => {
                        if e.rv <= start_rv || !in_scope(&e) { continue; }
                        if let Some(lag) = faults.watch_lag(&plural) {
                            tokio::time::sleep_until((e.at + lag).into()).await;
                        }
                        if let Some(k) = visible(&e, &filter)
                            && tx.send(watch_event(k, &e.object)).await.is_err() { return; }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(watch_event("ERROR", &ApiError::gone("watch fell behind; relist").status())).await;
                        return;
                    }
                    Err(_) => return,
                },
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let body = Body::from_stream(futures::StreamExt::map(stream, Ok::<_, std::io::Error>));
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// TokenRequest (`POST …/serviceaccounts/NAME/token`, what `kubectl create
/// token` sends): a bearer token for that ServiceAccount, valid until it
/// expires or the ServiceAccount is deleted.
fn token(
    shared: &Shared,
    method: &Method,
    t: &Target,
    headers: &HeaderMap,
    body: Bytes,
    user: &User,
) -> ApiResult<Response> {
    if method != Method::POST {
        return Err(ApiError::method_not_allowed("the server does not allow this method on the requested resource"));
    }
    let attrs = Attributes {
        verb: "create".into(),
        group: String::new(),
        resource: "serviceaccounts".into(),
        subresource: "token".into(),
        namespace: t.namespace.clone(),
        name: t.name.clone(),
    };
    let mut state = lock(shared);
    if !auth::allowed(&*state, user, &attrs) {
        let mut e = ApiError::forbidden(&user.name, "create", "serviceaccounts/token", "", &scope(&t.namespace));
        e.message =
            e.message.replacen("serviceaccounts/token is", &format!("serviceaccounts/token \"{}\" is", t.name), 1);
        return Err(e);
    }
    let mut request = parse_body(&body, headers)?;
    let sa = state
        .get("/serviceaccounts", &t.namespace, &t.name)
        .ok_or_else(|| ApiError::not_found("", "serviceaccounts", &t.name))?;
    let uid = sa["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    let seconds = request["spec"]["expirationSeconds"].as_i64().unwrap_or(3600);
    if seconds < 600 {
        return Err(ApiError::invalid(
            "authentication.k8s.io",
            "TokenRequest",
            &t.name,
            vec![("spec.expirationSeconds".into(), "may not specify a duration less than 10 minutes".into())],
        ));
    }
    let seconds = seconds.min(2 * 24 * 3600);
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds);
    let token = format!("sa-{}", uuid::Uuid::new_v4().simple());
    state.sa_tokens.insert(
        token.clone(),
        crate::store::SaToken { namespace: t.namespace.clone(), name: t.name.clone(), uid, expires },
    );
    request["apiVersion"] = json!("authentication.k8s.io/v1");
    request["kind"] = json!("TokenRequest");
    request["metadata"]["name"] = json!(t.name);
    request["metadata"]["namespace"] = json!(t.namespace);
    request["metadata"]["creationTimestamp"] = json!(crate::objects::now());
    request["spec"]["expirationSeconds"] = json!(seconds);
    if request["spec"]["audiences"].is_null() {
        request["spec"]["audiences"] = json!(["https://kubernetes.default.svc.cluster.local"]);
    }
    let expiration = jiff::Timestamp::from_second(expires.as_second()).unwrap_or(expires);
    request["status"] = json!({"token": token, "expirationTimestamp": expiration.to_string()});
    Ok(json_response(StatusCode::CREATED, request))
}

/// SelfSubjectReview, SubjectAccessReview, SelfSubjectAccessReview: answered, not stored.
fn review(shared: &Shared, rt: &ResourceType, mut obj: Value, user: &User) -> ApiResult<Response> {
    let state = lock(shared);
    let attrs = |spec: &Value| {
        let r = &spec["resourceAttributes"];
        let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
        Attributes {
            verb: s("verb"),
            group: s("group"),
            resource: s("resource"),
            subresource: s("subresource"),
            namespace: s("namespace"),
            name: s("name"),
        }
    };
    match rt.plural.as_str() {
        "selfsubjectreviews" => {
            obj["status"] = json!({"userInfo": {"username": user.name, "groups": user.groups}});
        }
        "selfsubjectaccessreviews" => {
            let allowed = auth::allowed(&*state, user, &attrs(&obj["spec"]));
            obj["status"] = json!({"allowed": allowed});
        }
        _ => {
            let spec = &obj["spec"];
            let groups: Vec<&str> = spec["groups"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let subject = User {
                name: spec["user"].as_str().unwrap_or_default().into(),
                groups: groups.iter().map(|g| g.to_string()).collect(),
            };
            let allowed = auth::allowed(&*state, &subject, &attrs(spec));
            obj["status"] = json!({"allowed": allowed, "reason": if allowed { "allowed by RBAC" } else { "" }});
        }
    }
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    obj["metadata"]["creationTimestamp"] = json!(objects::now());
    Ok(json_response(StatusCode::CREATED, obj))
}
