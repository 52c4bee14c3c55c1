//! The OpenAPI v3 documents kubectl reads before it writes.
//!
//! `kubectl apply/create` (validation on by default) first asks `/openapi/v3`
//! whether each kind's PATCH operation takes the `fieldValidation` and
//! `dryRun` query parameters, and then leaves validation to the server. The
//! documents list one PATCH operation per kind carrying those parameters, and
//! the schemas as components: the CRDs' own, and for built-in kinds those
//! `k8s-openapi` generates, with the patch strategies of their Go types
//! (which kubectl's client-side `apply` reads to build a strategic merge
//! patch) and the group-version-kind extension added.

use std::{collections::BTreeSet, sync::OnceLock};

use k8s_openapi::{
    Resource,
    schemars::{
        JsonSchema, Schema,
        generate::{SchemaGenerator, SchemaSettings},
        transform::{RemoveRefSiblings, Transform},
    },
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value, json};

use crate::{
    builtin::{Visit, each_kind},
    resources::ResourceType,
};

const REF_PREFIX: &str = "#/components/schemas/";

/// The built-in kinds' schemas, generated once.
pub struct Builtins {
    /// `(group, version, kind)` and the definition that describes it.
    kinds: Vec<(&'static str, &'static str, &'static str, String)>,
    /// Swagger-2 style: `$ref` may have siblings.
    definitions: Map<String, Value>,
}

/// `(definition, field, x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key)`
/// as the Go types declare them for the fields kudo and kubectl touch.
const PATCH_STRATEGIES: &[(&str, &str, &str, &str)] = &[
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", "merge", ""),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences", "merge", "uid"),
    ("io.k8s.api.core.v1.PodSpec", "containers", "merge", "name"),
    ("io.k8s.api.core.v1.PodSpec", "initContainers", "merge", "name"),
    ("io.k8s.api.core.v1.PodSpec", "ephemeralContainers", "merge", "name"),
    ("io.k8s.api.core.v1.PodSpec", "volumes", "merge,retainKeys", "name"),
    ("io.k8s.api.core.v1.PodSpec", "imagePullSecrets", "merge", "name"),
    ("io.k8s.api.core.v1.Container", "env", "merge", "name"),
    ("io.k8s.api.core.v1.Container", "ports", "merge", "containerPort"),
    ("io.k8s.api.core.v1.Container", "volumeMounts", "merge", "mountPath"),
    ("io.k8s.api.core.v1.ServiceAccount", "secrets", "merge", "name"),
];

pub fn builtins() -> &'static Builtins {
    static BUILTINS: OnceLock<Builtins> = OnceLock::new();
    BUILTINS.get_or_init(|| {
        struct Collect {
            generator: SchemaGenerator,
            kinds: Vec<(&'static str, &'static str, &'static str, String)>,
        }
        impl Visit for Collect {
            fn kind<T: Resource + JsonSchema + DeserializeOwned + Serialize>(&mut self) {
                self.generator.subschema_for::<T>();
                self.kinds.push((T::GROUP, T::VERSION, T::KIND, T::schema_name().into_owned()));
            }
        }
        let generator = SchemaSettings::draft07()
            .with(|s| {
                s.definitions_path = "/components/schemas".into();
                s.meta_schema = None;
            })
            .into_generator();
        let mut collect = Collect { generator, kinds: Vec::new() };
        each_kind(&mut collect);
        let mut definitions = collect.generator.take_definitions(false);
        for (group, version, kind, name) in &collect.kinds {
            if let Some(def) = definitions.get_mut(name) {
                def["x-kubernetes-group-version-kind"] = json!([{"group": group, "version": version, "kind": kind}]);
            }
        }
        for (def, field, strategy, key) in PATCH_STRATEGIES {
            if let Some(prop) = definitions.get_mut(*def).and_then(|d| d.pointer_mut(&format!("/properties/{field}"))) {
                prop["x-kubernetes-patch-strategy"] = json!(strategy);
                if !key.is_empty() {
                    prop["x-kubernetes-patch-merge-key"] = json!(key);
                }
            }
        }
        Builtins { kinds: collect.kinds, definitions }
    })
}

impl Builtins {
    /// The definitions describing the given kinds and all they refer to.
    fn closure<'a>(&self, roots: impl Iterator<Item = &'a str>) -> Map<String, Value> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = roots.map(String::from).collect();
        while let Some(name) = todo.pop() {
            let Some(def) = self.definitions.get(&name) else { continue };
            if seen.insert(name) {
                refs(def, &mut todo);
            }
        }
        seen.into_iter().filter_map(|n| self.definitions.get(&n).map(|d| (n, d.clone()))).collect()
    }

    /// The whole `/openapi/v2` document (built-in kinds only), as protobuf.
    pub fn v2(&self) -> &'static [u8] {
        static V2: OnceLock<Vec<u8>> = OnceLock::new();
        V2.get_or_init(|| crate::openapi_v2::document(&self.definitions))
    }
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(r) = o.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(REF_PREFIX)) {
                out.push(r.to_string());
            }
            o.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

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
    let builtins = builtins();
    let kinds = builtins.kinds.iter().filter(|(g, v, _, _)| gv_path(g, v) == path).map(|k| k.3.as_str());
    let mut schemas = builtins.closure(kinds);
    // OpenAPI 3.0 ignores siblings of `$ref`; real documents wrap it in `allOf`.
    for def in schemas.values_mut() {
        if let Ok(schema) = <&mut Schema>::try_from(def) {
            RemoveRefSiblings::default().transform(schema);
        }
    }
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
                "requestBody": {"content": patch_types(t.schema.is_none())},
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

/// Strategic merge patch is served for built-in kinds only, as on a real server.
fn patch_types(builtin: bool) -> Value {
    let mut types = json!({
        "application/apply-patch+yaml": {"schema": {"type": "object"}},
        "application/json-patch+json": {"schema": {"type": "object"}},
        "application/merge-patch+json": {"schema": {"type": "object"}},
    });
    if builtin {
        types["application/strategic-merge-patch+json"] = json!({"schema": {"type": "object"}});
    }
    types
}

fn reverse_domain(group: &str) -> String {
    group.split('.').rev().collect::<Vec<_>>().join(".")
}
