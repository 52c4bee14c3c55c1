//! PATCH bodies: JSON merge patch, JSON patch and server-side apply
//! (strategic merge patch is `strategic`).
//!
//! Server-side apply tracks, per manager, the leaf fields it set. Objects are
//! granular; lists are atomic (owned whole), as for `x-kubernetes-list-type:
//! atomic`. A manager applying a different value to a field owned by another
//! manager gets a 409 conflict unless it forces.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::errors::{ApiError, ApiResult};

pub type Path = Vec<String>;

pub fn leaves(v: &Value) -> Vec<(Path, Value)> {
    fn walk(v: &Value, at: &mut Path, out: &mut Vec<(Path, Value)>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    at.push(k.clone());
                    walk(child, at, out);
                    at.pop();
                }
            }
            _ => out.push((at.clone(), v.clone())),
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out.retain(|(p, _)| !is_server_owned(p));
    out
}

/// Fields that no manager owns: identity and bookkeeping.
fn is_server_owned(p: &[String]) -> bool {
    let s: Vec<&str> = p.iter().map(String::as_str).collect();
    matches!(
        s.as_slice(),
        ["apiVersion"]
            | ["kind"]
            | [
                "metadata",
                "name"
                    | "namespace"
                    | "uid"
                    | "resourceVersion"
                    | "generation"
                    | "creationTimestamp"
                    | "managedFields"
                    | "deletionTimestamp"
                    | "deletionGracePeriodSeconds"
            ]
    )
}

pub fn get<'a>(v: &'a Value, p: &[String]) -> Option<&'a Value> {
    p.iter().try_fold(v, |cur, k| cur.get(k))
}

fn set(v: &mut Value, p: &[String], value: Value) {
    let mut cur = v;
    for k in &p[..p.len().saturating_sub(1)] {
        if !cur.get(k).is_some_and(Value::is_object) {
            cur[k.as_str()] = json!({});
        }
        cur = &mut cur[k.as_str()];
    }
    if let Some(last) = p.last() {
        cur[last.as_str()] = value;
    }
}

fn unset(v: &mut Value, p: &[String]) {
    let Some((last, parents)) = p.split_last() else { return };
    let mut cur = v;
    for k in parents {
        match cur.get_mut(k) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(m) = cur.as_object_mut() {
        m.remove(last);
    }
}

pub struct Apply<'a> {
    pub manager: &'a str,
    pub force: bool,
    /// The object's owners so far: manager -> owned paths (joined with \u{1f}).
    pub managed: &'a mut BTreeMap<String, Vec<String>>,
}

fn key(p: &[String]) -> String {
    p.join("\u{1f}")
}

fn unkey(k: &str) -> Path {
    k.split('\u{1f}').map(String::from).collect()
}

/// Applies `applied` onto `live` (None: the object does not exist yet).
pub fn apply(live: Option<&Value>, applied: &Value, a: Apply<'_>) -> ApiResult<Value> {
    let mut result = live.cloned().unwrap_or_else(|| json!({}));
    let new_fields = leaves(applied);
    let mut conflicts = Vec::new();
    // An empty map only says the field exists; it never replaces a map's keys.
    let keeps_map = |result: &Value, p: &[String], v: &Value| {
        v.as_object().is_some_and(|m| m.is_empty()) && get(result, p).is_some_and(Value::is_object)
    };
    for (p, v) in &new_fields {
        if get(&result, p).is_none_or(|cur| cur == v) || keeps_map(&result, p, v) {
            continue;
        }
        for (manager, owned) in a.managed.iter() {
            if manager != a.manager && owned.contains(&key(p)) {
                conflicts.push((manager.clone(), format!(".{}", p.join("."))));
            }
        }
    }
    if !conflicts.is_empty() && !a.force {
        let mut e = ApiError::conflict("", "", "", "");
        e.message = format!(
            "Apply failed with {} conflict{}: {}",
            conflicts.len(),
            if conflicts.len() == 1 { "" } else { "s" },
            conflicts.iter().map(|(m, f)| format!("conflict with \"{m}\": {f}")).collect::<Vec<_>>().join("; ")
        );
        e.details = json!({"causes": conflicts.iter().map(|(m, f)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\""), "field": f})).collect::<Vec<_>>()});
        return Err(e);
    }
    let new_keys: Vec<String> = new_fields.iter().map(|(p, _)| key(p)).collect();
    let previously = a.managed.get(a.manager).cloned().unwrap_or_default();
    for old in previously.iter().filter(|k| !new_keys.contains(k)) {
        let shared = a.managed.iter().any(|(m, owned)| m != a.manager && owned.contains(old));
        if !shared {
            unset(&mut result, &unkey(old));
        }
    }
    for (p, v) in &new_fields {
        if !keeps_map(&result, p, v) {
            set(&mut result, p, v.clone());
        }
    }
    if a.force {
        for (m, owned) in a.managed.iter_mut() {
            if m != a.manager {
                owned.retain(|k| !new_keys.contains(k));
            }
        }
    }
    a.managed.insert(a.manager.to_string(), new_keys);
    a.managed.retain(|_, owned| !owned.is_empty());
    Ok(result)
}

/// After a non-apply write, the writer owns the fields it changed.
pub fn record_update(managed: &mut BTreeMap<String, Vec<String>>, manager: &str, old: &Value, new: &Value) {
    let before: BTreeMap<String, Value> = leaves(old).into_iter().map(|(p, v)| (key(&p), v)).collect();
    let changed: Vec<String> =
        leaves(new).into_iter().filter(|(p, v)| before.get(&key(p)) != Some(v)).map(|(p, _)| key(&p)).collect();
    if changed.is_empty() {
        return;
    }
    for (m, owned) in managed.iter_mut() {
        if m != manager {
            owned.retain(|k| !changed.contains(k));
        }
    }
    let mine = managed.entry(manager.to_string()).or_default();
    for k in changed {
        if !mine.contains(&k) {
            mine.push(k);
        }
    }
    managed.retain(|_, owned| !owned.is_empty());
}

pub fn merge_like(target: &Value, patch: &Value) -> Value {
    let mut out = target.clone();
    json_patch::merge(&mut out, patch);
    out
}

pub fn json_patch(target: &Value, ops: &Value) -> ApiResult<Value> {
    // The API server's JSON patch library treats a missing member as null
    // for `test` (kube-rs's finalizer helper relies on it): such a test passes.
    let mut ops = ops.clone();
    if let Some(list) = ops.as_array_mut() {
        list.retain(|op| {
            let missing = op["path"].as_str().is_some_and(|p| target.pointer(p).is_none());
            !(op["op"] == "test" && op["value"].is_null() && missing)
        });
    }
    let p: json_patch::Patch =
        serde_json::from_value(ops).map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    let mut out = target.clone();
    json_patch::patch(&mut out, &p).map_err(|e| {
        ApiError::invalid_message(format!("the server rejected our request due to an error in our request: {e}"))
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_patch_test_of_a_missing_member_against_null_passes() {
        let obj = json!({"metadata": {"name": "a"}});
        let add = json!([{"op": "test", "path": "/metadata/finalizers", "value": null},
                         {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}]);
        assert_eq!(json_patch(&obj, &add).unwrap()["metadata"]["finalizers"], json!(["f"]));
        let wrong = json!([{"op": "test", "path": "/metadata/name", "value": null}]);
        assert_eq!(json_patch(&obj, &wrong).unwrap_err().code, 422);
    }

    #[test]
    fn apply_owns_conflicts_and_forces() {
        let mut managed = BTreeMap::new();
        let a = |m: &mut BTreeMap<String, Vec<String>>, who, live: Option<&Value>, v: Value, force| {
            apply(live, &v, Apply { manager: who, force, managed: m })
        };
        let o = a(&mut managed, "ctl", None, json!({"spec": {"x": 1, "y": [1, 2]}}), false).unwrap();
        // Same value from another manager: shared, no conflict.
        let o = a(&mut managed, "other", Some(&o), json!({"spec": {"x": 1}}), false).unwrap();
        let err = a(&mut managed, "other", Some(&o), json!({"spec": {"x": 1, "y": [3]}}), false).unwrap_err();
        assert_eq!(err.code, 409);
        assert!(err.message.contains("conflict with \"ctl\": .spec.y"), "{}", err.message);
        let o = a(&mut managed, "other", Some(&o), json!({"spec": {"x": 1, "y": [3]}}), true).unwrap();
        assert_eq!(o["spec"]["y"], json!([3]));
        // ctl stops applying x: still owned by "other", so it stays.
        let o = a(&mut managed, "ctl", Some(&o), json!({"spec": {"z": true}}), false).unwrap();
        assert_eq!(o["spec"], json!({"x": 1, "y": [3], "z": true}));
        // other drops x and y: nobody owns them any more.
        let o = a(&mut managed, "other", Some(&o), json!({"metadata": {"labels": {"a": "b"}}}), false).unwrap();
        assert_eq!(o["spec"], json!({"z": true}));
    }
}
