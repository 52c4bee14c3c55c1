//! Label and field selectors, with the syntax `kubectl -l` and kube-rs send.

use serde_json::Value;

use crate::errors::{ApiError, ApiResult};

#[derive(Clone, Debug, PartialEq)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selector(Vec<Requirement>);

/// Splits on commas outside parentheses.
fn terms(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter().map(str::trim).filter(|t| !t.is_empty()).collect()
}

fn set(values: &str) -> ApiResult<Vec<String>> {
    let inner = values.trim().strip_prefix('(').and_then(|v| v.strip_suffix(')')).ok_or_else(|| {
        ApiError::bad_request(format!("unable to parse requirement: expected (values), got {values}"))
    })?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect())
}

impl Selector {
    pub fn parse(s: &str) -> ApiResult<Self> {
        let mut reqs = Vec::new();
        for t in terms(s) {
            let req = if let Some((k, v)) = t.split_once("!=") {
                Requirement::NotEq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = t.split_once("==") {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = t.split_once('=') {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = t.split_once(" notin ") {
                Requirement::NotIn(k.trim().into(), set(v)?)
            } else if let Some((k, v)) = t.split_once(" in ") {
                Requirement::In(k.trim().into(), set(v)?)
            } else if let Some(k) = t.strip_prefix('!') {
                Requirement::NotExists(k.trim().into())
            } else if t.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
                Requirement::Exists(t.into())
            } else {
                return Err(ApiError::bad_request(format!("unable to parse requirement: {t}")));
            };
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    /// `lookup` gives the value for a key (a label, or a field path).
    pub fn matches(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => lookup(k).as_deref() == Some(v),
            Requirement::NotEq(k, v) => lookup(k).as_deref() != Some(v),
            Requirement::In(k, vs) => lookup(k).is_some_and(|x| vs.contains(&x)),
            Requirement::NotIn(k, vs) => !lookup(k).is_some_and(|x| vs.contains(&x)),
            Requirement::Exists(k) => lookup(k).is_some(),
            Requirement::NotExists(k) => lookup(k).is_none(),
        })
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|r| match r {
            Requirement::Eq(k, _)
            | Requirement::NotEq(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::NotExists(k) => k.as_str(),
        })
    }
}

/// Both selectors of a list or watch.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub labels: Selector,
    pub fields: Selector,
}

impl Filter {
    pub fn parse(labels: Option<&str>, fields: Option<&str>) -> ApiResult<Self> {
        let fields = Selector::parse(fields.unwrap_or_default())?;
        for k in fields.keys() {
            if k != "metadata.name" && k != "metadata.namespace" {
                return Err(ApiError::bad_request(format!("field label not supported: {k}")));
            }
        }
        Ok(Self { labels: Selector::parse(labels.unwrap_or_default())?, fields })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        self.labels.matches(|k| labels[k].as_str().map(String::from))
            && self.fields.matches(|k| match k {
                "metadata.name" => Some(obj["metadata"]["name"].as_str().unwrap_or_default().into()),
                "metadata.namespace" => Some(obj["metadata"]["namespace"].as_str().unwrap_or_default().into()),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selector_syntax() {
        let obj = json!({"metadata": {"name": "a", "labels": {"app": "kudo", "tier": "x"}}});
        let m = |l: &str| Filter::parse(Some(l), None).unwrap().matches(&obj);
        assert!(m("app=kudo"));
        assert!(m("app==kudo,tier"));
        assert!(!m("app!=kudo"));
        assert!(m("app in (kudo, other)"));
        assert!(!m("app notin (kudo)"));
        assert!(m("!missing"));
        assert!(!m("missing"));
        assert!(m(""));
        let f = Filter::parse(None, Some("metadata.name=a")).unwrap();
        assert!(f.matches(&obj));
        assert!(Filter::parse(None, Some("spec.x=a")).is_err());
    }
}
