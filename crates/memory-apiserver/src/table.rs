//! `Table` responses for `kubectl get`: Name, then the CRD's printer columns or else Age.

use serde_json::{Value, json};

use crate::resources::ResourceType;

fn age(ts: &str) -> String {
    let Ok(t) = ts.parse::<jiff::Timestamp>() else { return "<unknown>".into() };
    let secs = jiff::Timestamp::now().duration_since(t).as_secs().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// A small JSONPath, as printer columns use it: `.a.b`, `[N]`, and on a
/// list `[?(@.k.l)]` (has it) or `[?(@.k.l=="v")]`, the first match as a
/// real server's Table takes it; `Null` when nothing matches.
fn lookup(obj: &Value, path: &str) -> Value {
    let mut cur = obj;
    let mut rest = path.trim_start_matches('.');
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("[?(@.") {
            let Some((filter, tail)) = after.split_once(")]") else { return Value::Null };
            let (key, wanted) = match filter.split_once("==") {
                Some((k, v)) => (k, Some(v.trim_matches('"').trim_matches('\''))),
                None => (filter, None),
            };
            let matches = |x: &&Value| match (lookup(x, key), wanted) {
                (Value::Null, _) => false,
                (v, Some(w)) => v == w,
                (_, None) => true,
            };
            match cur.as_array().and_then(|a| a.iter().find(matches)) {
                Some(found) => cur = found,
                None => return Value::Null,
            }
            rest = tail.trim_start_matches('.');
        } else if let Some(after) = rest.strip_prefix('[') {
            let Some((index, tail)) = after.split_once(']') else { return Value::Null };
            match index.parse::<usize>().ok().and_then(|i| cur.get(i)) {
                Some(found) => cur = found,
                None => return Value::Null,
            }
            rest = tail.trim_start_matches('.');
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            match cur.get(&rest[..end]) {
                Some(found) => cur = found,
                None => return Value::Null,
            }
            rest = rest[end..].trim_start_matches('.');
        }
    }
    cur.clone()
}

/// `include_object`: the rows carry their objects' metadata (`includeObject`
/// other than `None`).
pub fn table(rt: &ResourceType, items: &[Value], rv: &Value, include_object: bool) -> Value {
    let mut columns =
        vec![json!({"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0})];
    for c in &rt.printer_columns {
        columns.push(json!({"name": c["name"], "type": c["type"], "format": "", "description": c["description"].as_str().unwrap_or_default(), "priority": c["priority"].as_i64().unwrap_or(0)}));
    }
    // As the CRD handler: Age is the default column, and a CRD that lists
    // its own columns gets only those (kudo's list Age themselves).
    let add_age = rt.printer_columns.is_empty();
    if add_age {
        columns.push(json!({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0}));
    }
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut cells = vec![o["metadata"]["name"].clone()];
            for c in &rt.printer_columns {
                let v = lookup(o, c["jsonPath"].as_str().unwrap_or_default());
                cells.push(match (c["type"].as_str(), &v) {
                    (Some("date"), Value::String(s)) => json!(age(s)),
                    // A missing value is null, as a real server sends it
                    // (kubectl prints it as <none>).
                    _ => v,
                });
            }
            if add_age {
                cells.push(json!(age(o["metadata"]["creationTimestamp"].as_str().unwrap_or_default())));
            }
            let object = include_object.then(
                || json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}),
            );
            json!({"cells": cells, "object": object})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv}, "columnDefinitions": columns, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_reads_printer_column_paths() {
        let o = json!({"status": {"refs": [{"name": "a"}, {"name": "b", "ref": {"ns": "app"}}, {"ref": {"ns": "x"}}],
                                  "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(lookup(&o, ".status.refs[?(@.ref.ns)].ref.ns"), json!("app"));
        assert_eq!(lookup(&o, ".status.refs[1].name"), json!("b"));
        assert_eq!(lookup(&o, ".status.refs[0].ref.ns"), Value::Null);
        assert_eq!(lookup(&o, ".status.refs[9].name"), Value::Null);
        assert_eq!(lookup(&o, r#".status.conditions[?(@.type=="Ready")].status"#), json!("True"));
        assert_eq!(lookup(&o, r#".status.conditions[?(@.type=="Gone")].status"#), Value::Null);
        assert_eq!(lookup(&o, ".spec.nothing"), Value::Null);
    }
}
