//! Strategic merge patch for built-in kinds: maps merge as in a JSON merge
//! patch, and lists follow the `patchStrategy`/`patchMergeKey` of their Go
//! field — merged by key (`ownerReferences` by `uid`, containers by `name`…),
//! merged as a set (`finalizers`), or replaced (everything else, `subjects`
//! and `rules` included) — with the `$patch: replace|delete` and
//! `$deleteFromPrimitiveList/…` directives kubectl sends.

use serde_json::{Map, Value};

enum Lists {
    ByKey(&'static str),
    Set,
    Replace,
}

/// The strategy of the list at `path` (field names, no indices).
fn strategy(path: &[&str]) -> Lists {
    let field = path.last().copied().unwrap_or_default();
    let parent = path.len().checked_sub(2).map(|i| path[i]).unwrap_or_default();
    match (parent, field) {
        ("metadata", "finalizers") => Lists::Set,
        ("metadata", "ownerReferences") => Lists::ByKey("uid"),
        (_, "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "imagePullSecrets") => {
            Lists::ByKey("name")
        }
        ("containers" | "initContainers" | "ephemeralContainers", "env") => Lists::ByKey("name"),
        ("containers" | "initContainers" | "ephemeralContainers", "ports") => Lists::ByKey("containerPort"),
        ("containers" | "initContainers" | "ephemeralContainers", "volumeMounts") => Lists::ByKey("mountPath"),
        ("", "secrets") if path.len() == 1 => Lists::ByKey("name"),
        _ => Lists::Replace,
    }
}

/// Applies `patch` to `target`; `None` when the patch deletes the whole value.
pub fn merge(target: &Value, patch: &Value) -> Value {
    merge_at(target, patch, &mut Vec::new()).unwrap_or(Value::Null)
}

fn merge_at<'a>(target: &Value, patch: &'a Value, path: &mut Vec<&'a str>) -> Option<Value> {
    let Value::Object(p) = patch else { return Some(patch.clone()) };
    match p.get("$patch").and_then(Value::as_str) {
        Some("delete") => return None,
        Some("replace") => {
            let mut replaced = p.clone();
            replaced.remove("$patch");
            return Some(Value::Object(replaced));
        }
        _ => {}
    }
    let mut out: Map<String, Value> = target.as_object().cloned().unwrap_or_default();
    for (k, v) in p {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Value::Array(gone)) = (out.get_mut(field), v) {
                list.retain(|x| !gone.contains(x));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            out.remove(k);
            continue;
        }
        path.push(k);
        let merged = match (out.get(k), v) {
            (Some(current @ Value::Object(_)), Value::Object(_)) => merge_at(current, v, path),
            (current, Value::Array(items)) => Some(merge_list(current, items, path)),
            _ => merge_at(&Value::Null, v, path),
        };
        path.pop();
        match merged {
            Some(m) => {
                out.insert(k.clone(), m);
            }
            None => {
                out.remove(k);
            }
        }
    }
    Some(Value::Object(out))
}

fn merge_list<'a>(current: Option<&Value>, items: &'a [Value], path: &mut Vec<&'a str>) -> Value {
    let current: Vec<Value> = current.and_then(Value::as_array).cloned().unwrap_or_default();
    match strategy(path) {
        Lists::Replace => Value::Array(items.iter().filter_map(|i| merge_at(&Value::Null, i, path)).collect()),
        Lists::Set => {
            let mut out = current;
            for i in items {
                if !out.contains(i) {
                    out.push(i.clone());
                }
            }
            Value::Array(out)
        }
        Lists::ByKey(key) => {
            let mut out = current;
            for item in items {
                let id = item.get(key);
                let at = id.and_then(|id| out.iter().position(|o| o.get(key) == Some(id)));
                let deleting = item.get("$patch").and_then(Value::as_str) == Some("delete");
                match (at, deleting) {
                    (Some(i), true) => {
                        out.remove(i);
                    }
                    (None, true) => {}
                    (Some(i), false) => {
                        if let Some(m) = merge_at(&out[i], item, path) {
                            out[i] = m;
                        }
                    }
                    (None, false) => out.extend(merge_at(&Value::Null, item, path)),
                }
            }
            Value::Array(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_follow_their_go_patch_strategy() {
        let live = json!({
            "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"],
                         "ownerReferences": [{"uid": "u1", "name": "one"}, {"uid": "u2", "name": "two"}]},
            "subjects": [{"kind": "User", "name": "a"}],
            "spec": {"containers": [{"name": "app", "image": "v1", "env": [{"name": "A", "value": "1"}]},
                                    {"name": "side", "image": "s1"}]},
        });
        let patch = json!({
            "metadata": {"labels": {"b": null, "c": "3"}, "finalizers": ["y"],
                         "ownerReferences": [{"uid": "u2", "$patch": "delete"}, {"uid": "u3", "name": "three"}]},
            "subjects": [{"kind": "User", "name": "b"}],
            "spec": {"containers": [{"name": "app", "image": "v2", "env": [{"name": "B", "value": "2"}]}]},
        });
        let merged = merge(&live, &patch);
        assert_eq!(merged["metadata"]["labels"], json!({"a": "1", "c": "3"}));
        assert_eq!(merged["metadata"]["finalizers"], json!(["x", "y"]), "finalizers merge as a set");
        assert_eq!(
            merged["metadata"]["ownerReferences"],
            json!([{"uid": "u1", "name": "one"}, {"uid": "u3", "name": "three"}])
        );
        assert_eq!(merged["subjects"], json!([{"kind": "User", "name": "b"}]), "subjects are replaced");
        let app = &merged["spec"]["containers"][0];
        assert_eq!((app["image"].clone(), app["env"].as_array().unwrap().len()), (json!("v2"), 2));
        assert_eq!(merged["spec"]["containers"][1]["image"], "s1", "containers merge by name");

        let removed = merge(&merged, &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}}));
        assert_eq!(removed["metadata"]["finalizers"], json!(["y"]));
        let replaced = merge(&merged, &json!({"spec": {"$patch": "replace", "containers": []}}));
        assert_eq!(replaced["spec"], json!({"containers": []}));
    }
}
