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
            let mut out = current.clone();
            for i in items {
                if !out.contains(i) {
                    out.push(i.clone());
                }
            }
            Value::Array(go_order(out, items, &current, |v| Some(v.clone())))
        }
        Lists::ByKey(key) => {
            let same = |a: &Value, b: &Value| a.get(key).is_some() && a.get(key) == b.get(key);
            let deleting = |item: &Value| item.get("$patch").and_then(Value::as_str) == Some("delete");
            // As apimachinery: deletions first, then the rest of the patch merges.
            let live: Vec<Value> =
                current.into_iter().filter(|o| !items.iter().any(|i| deleting(i) && same(i, o))).collect();
            let patch: Vec<&'a Value> = items.iter().filter(|i| !deleting(i)).collect();
            let mut out = live.clone();
            for item in patch.iter().copied() {
                match out.iter().position(|o| same(o, item)) {
                    Some(i) => {
                        if let Some(m) = merge_at(&out[i], item, path) {
                            out[i] = m;
                        }
                    }
                    None => out.extend(merge_at(&Value::Null, item, path)),
                }
            }
            let patch: Vec<Value> = patch.into_iter().cloned().collect();
            Value::Array(go_order(out, &patch, &live, |v| v.get(key).cloned()))
        }
    }
}

/// The order apimachinery's strategic merge gives a merged list
/// (`normalizeElementOrder`): the patch's items in patch order, the live
/// object's other items in live order, interleaved so that a live item
/// goes first only when both it and the next patch item were in the live
/// list and it came before. So a new finalizer lands before the old ones.
fn go_order(
    merged: Vec<Value>,
    patch: &[Value],
    live: &[Value],
    ident: impl Fn(&Value) -> Option<Value>,
) -> Vec<Value> {
    let index = |list: &[Value], v: &Value| {
        let id = ident(v);
        list.iter().position(|x| id.is_some() && ident(x) == id)
    };
    let (mut from_patch, mut server_only): (Vec<Value>, Vec<Value>) =
        merged.into_iter().partition(|m| index(patch, m).is_some());
    from_patch.sort_by_key(|v| index(patch, v));
    server_only.sort_by_key(|v| index(live, v));
    let mut out = Vec::with_capacity(from_patch.len() + server_only.len());
    let (mut left, mut right) = (server_only.into_iter().peekable(), from_patch.into_iter().peekable());
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => matches!((index(live, l), index(live, r)), (Some(li), Some(ri)) if li < ri),
        };
        out.extend(if take_left { left.next() } else { right.next() });
    }
    out
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
        // As apimachinery orders them: the patch's new item first.
        assert_eq!(merged["metadata"]["finalizers"], json!(["y", "x"]), "finalizers merge as a set");
        assert_eq!(
            merged["metadata"]["ownerReferences"],
            json!([{"uid": "u3", "name": "three"}, {"uid": "u1", "name": "one"}])
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
