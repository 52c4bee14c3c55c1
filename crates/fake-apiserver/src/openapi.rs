//! The OpenAPI v3 documents kubectl reads before it writes.
//!
//! `kubectl apply/create` (validation on by default) first asks `/openapi/v3`
//! whether each kind's PATCH operation takes the `fieldValidation` and
//! `dryRun` query parameters, and then leaves validation to the server. The
//! documents list one PATCH operation per kind carrying those parameters, and
//! the CRD schemas as components. Built-in kinds have no schema here: the fake
//! does not know their fields.

use serde_json::{Map, Value, json};

use crate::resources::ResourceType;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

pub fn root(types: &[ResourceType]) -> Value {
    let mut paths = Map::new();
    for t in types {
        let path = gv_path(&t.group, &t.version);
        // The hash only has to change when the document does: CRDs change it.
        let hash = types.iter().filter(|o| o.group == t.group && o.version == t.version && o.schema.is_some()).count();
        paths.insert(path.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}));
    }
    json!({"paths": paths})
}

pub fn group_version(types: &[ResourceType], path: &str) -> Option<Value> {
    let types: Vec<&ResourceType> = types.iter().filter(|t| gv_path(&t.group, &t.version) == path).collect();
    if types.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for t in types.iter().filter(|t| !t.create_only) {
        let scope = if t.namespaced { "namespaces/{namespace}/" } else { "" };
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let query =
            |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
        paths.insert(
            format!("/{path}/{scope}{}/{{name}}", t.plural),
            json!({"patch": {
                "operationId": format!("patch{}", t.kind),
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [query("dryRun"), query("fieldManager"), query("fieldValidation"), query("force")],
                "requestBody": {"content": patch_types()},
                "responses": {"200": {"description": "OK"}},
            }}),
        );
        if let Some(schema) = &t.schema {
            let mut schema = schema.clone();
            schema["x-kubernetes-group-version-kind"] = json!([gvk]);
            schemas.insert(format!("{}.{}.{}", reverse_domain(&t.group), t.version, t.kind), schema);
        }
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.36.0-fake"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// No strategic merge patch is listed, even for built-ins: without their
/// schemas here, kubectl must build it from its compiled-in types instead.
fn patch_types() -> Value {
    json!({
        "application/apply-patch+yaml": {"schema": {"type": "object"}},
        "application/json-patch+json": {"schema": {"type": "object"}},
        "application/merge-patch+json": {"schema": {"type": "object"}},
    })
}

fn reverse_domain(group: &str) -> String {
    group.split('.').rev().collect::<Vec<_>>().join(".")
}
