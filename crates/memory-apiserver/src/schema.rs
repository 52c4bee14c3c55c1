//! OpenAPI v3 validation of custom resources the way the API server does it:
//! defaults, pruning of unknown fields, structural checks, then the CEL rules
//! (kube's evaluator).

use kube::core::cel::{Validator, apply_defaults};
use serde_json::{Map, Value};

use crate::compiled;

thread_local! {
    /// Holds the Kubernetes CEL library; built once per thread.
    static VALIDATOR: Validator = Validator::new();
}

pub type Causes = Vec<(String, String)>;

/// Returns the defaulted, pruned object, or the reasons it is invalid.
pub fn admit(schema: &Value, object: &Value, old: Option<&Value>) -> Result<Value, Causes> {
    let mut obj = apply_defaults(schema, object);
    prune_unknown(schema, &mut obj);
    let mut causes = Vec::new();
    check(schema, &obj, "", &mut causes, true);
    if causes.is_empty()
        && let Err(errors) = VALIDATOR.with(|v| v.validate_compiled(&compiled::schema(schema), &obj, old))
    {
        for e in errors {
            let field = if e.field_path.is_empty() { "<root>".to_string() } else { e.field_path.clone() };
            causes.push((field, format!("Invalid value: \"object\": {}", e.message)));
        }
    }
    if causes.is_empty() { Ok(obj) } else { Err(causes) }
}

/// Drops the fields the schema does not know, returning their paths.
pub fn prune_unknown(schema: &Value, object: &mut Value) -> Vec<String> {
    let mut unknown = Vec::new();
    prune(schema, object, "", &mut unknown);
    unknown
}

fn prune(schema: &Value, value: &mut Value, at: &str, unknown: &mut Vec<String>) {
    if schema["x-kubernetes-preserve-unknown-fields"] == true {
        return;
    }
    let root = at.is_empty();
    match value {
        Value::Object(map) => {
            if let Some(props) = schema["properties"].as_object() {
                map.retain(|k, _| {
                    let known =
                        props.contains_key(k) || (root && matches!(k.as_str(), "apiVersion" | "kind" | "metadata"));
                    if !known {
                        unknown.push(path(at, k));
                    }
                    known
                });
                // ObjectMeta is validated by the server, not by the CRD schema.
                for (k, v) in map.iter_mut().filter(|(k, _)| !(root && k.as_str() == "metadata")) {
                    if let Some(s) = props.get(k) {
                        prune(s, v, &path(at, k), unknown);
                    }
                }
            } else if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for (k, v) in map.iter_mut() {
                    prune(ap, v, &path(at, k), unknown);
                }
            } else if schema["type"] == "object" && schema.get("additionalProperties").is_none() && !root {
                unknown.extend(map.keys().map(|k| path(at, k)));
                map.clear();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                prune(&schema["items"], v, &format!("{at}[{i}]"), unknown);
            }
        }
        _ => {}
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn path(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

fn check(schema: &Value, v: &Value, at: &str, causes: &mut Causes, root: bool) {
    if v.is_null() {
        if schema["nullable"] != true && !root {
            causes.push((at.into(), "Invalid value: \"null\": must not be null".into()));
        }
        return;
    }
    if let Some(want) = schema["type"].as_str() {
        let got = type_name(v);
        let ok = got == want || (want == "number" && got == "integer");
        if !ok && schema["x-kubernetes-int-or-string"] != true {
            causes
                .push((at.into(), format!("Invalid value: \"{got}\": {at} in body must be of type {want}: \"{got}\"")));
            return;
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(v)
    {
        let list: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        causes.push((at.into(), format!("Unsupported value: {v}: supported values: {}", list.join(", "))));
    }
    match v {
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if schema["maxLength"].as_u64().is_some_and(|m| len > m) {
                causes.push((at.into(), format!("Too long: may not be more than {} bytes", schema["maxLength"])));
            }
            if schema["minLength"].as_u64().is_some_and(|m| len < m) {
                causes.push((
                    at.into(),
                    format!(
                        "Invalid value: \"{s}\": {at} in body should be at least {} chars long",
                        schema["minLength"]
                    ),
                ));
            }
            if let Some(p) = schema["pattern"].as_str()
                && compiled::regex(p).as_ref().as_ref().is_some_and(|re| !re.is_match(s))
            {
                causes.push((at.into(), format!("Invalid value: \"{s}\": {at} in body should match '{p}'")));
            }
            if schema["format"] == "date-time" && s.parse::<jiff::Timestamp>().is_err() {
                causes.push((at.into(), format!("Invalid value: \"{s}\": {at} in body must be of type date-time")));
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or_default();
            if schema["minimum"].as_f64().is_some_and(|m| x < m) {
                causes.push((
                    at.into(),
                    format!(
                        "Invalid value: {n}: {at} in body should be greater than or equal to {}",
                        schema["minimum"]
                    ),
                ));
            }
            if schema["maximum"].as_f64().is_some_and(|m| x > m) {
                causes.push((
                    at.into(),
                    format!("Invalid value: {n}: {at} in body should be less than or equal to {}", schema["maximum"]),
                ));
            }
        }
        Value::Array(items) => {
            let len = items.len() as u64;
            if schema["maxItems"].as_u64().is_some_and(|m| len > m) {
                causes.push((at.into(), format!("Too many: {len}: must have at most {} items", schema["maxItems"])));
            }
            if schema["minItems"].as_u64().is_some_and(|m| len < m) {
                causes.push((
                    at.into(),
                    format!("Invalid value: {len}: {at} in body should have at least {} items", schema["minItems"]),
                ));
            }
            for (i, item) in items.iter().enumerate() {
                check(&schema["items"], item, &format!("{at}[{i}]"), causes, false);
            }
        }
        Value::Object(map) => check_object(schema, map, at, causes, root),
        _ => {}
    }
}

fn check_object(schema: &Value, map: &Map<String, Value>, at: &str, causes: &mut Causes, root: bool) {
    for r in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !map.contains_key(r) {
            causes.push((path(at, r), "Required value".into()));
        }
    }
    let props = schema["properties"].as_object();
    for (k, child) in map {
        if root && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if let Some(s) = props.and_then(|p| p.get(k)) {
            check(s, child, &path(at, k), causes, false);
        } else if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
            check(ap, child, &path(at, k), causes, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_defaults_and_prunes() {
        let schema = json!({
            "type": "object",
            "properties": {"spec": {"type": "object", "required": ["a"], "properties": {
                "a": {"type": "string", "maxLength": 3, "pattern": "^[a-z]+$"},
                "b": {"type": "boolean", "default": false},
                "n": {"type": "integer", "minimum": 1},
                "e": {"type": "string", "enum": ["X", "Y"]},
            }}},
        });
        let ok = admit(&schema, &json!({"spec": {"a": "ab", "junk": 1}}), None).unwrap();
        assert_eq!(ok["spec"], json!({"a": "ab", "b": false}));
        let errs = admit(&schema, &json!({"spec": {"n": 0, "e": "Z"}}), None).unwrap_err();
        let text = format!("{errs:?}");
        assert!(text.contains("spec.a") && text.contains("Required value"), "{text}");
        assert!(text.contains("greater than or equal to 1"), "{text}");
        assert!(text.contains("Unsupported value"), "{text}");
        let errs = admit(&schema, &json!({"spec": {"a": "ABCD"}}), None).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
    }
}
