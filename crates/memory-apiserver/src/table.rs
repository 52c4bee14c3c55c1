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

/// A small JSONPath: `.a.b`, and `name[?(@.k=="v")]` filters on lists.
fn lookup(obj: &Value, path: &str) -> Value {
    let mut cur = obj.clone();
    for seg in path.trim_start_matches('.').split('.').filter(|s| !s.is_empty()) {
        let (name, filter) = match seg.split_once("[?(@.") {
            Some((n, f)) => (n, Some(f.trim_end_matches(")]"))),
            None => (seg, None),
        };
        cur = cur[name].clone();
        if let Some(f) = filter {
            let (k, v) = f.split_once("==").unwrap_or((f, ""));
            let v = v.trim_matches('"').trim_matches('\'');
            cur = cur.as_array().and_then(|a| a.iter().find(|x| x[k] == v).cloned()).unwrap_or(Value::Null);
        }
    }
    cur
}

pub fn table(rt: &ResourceType, items: &[Value], rv: &Value) -> Value {
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
                    (_, Value::Null) => json!("<none>"),
                    _ => v,
                });
            }
            if add_age {
                cells.push(json!(age(o["metadata"]["creationTimestamp"].as_str().unwrap_or_default())));
            }
            json!({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv}, "columnDefinitions": columns, "rows": rows})
}
