//! Whether the admission policies that make identity trustworthy (DESIGN §3)
//! are really in force: checked for what they enforce, not by name alone.

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicySpec,
};
use serde_json::Value;

/// What is wrong with each required guard, one sentence each; empty when
/// every guard exists, is not being deleted, fails closed, says what
/// `expected` (the policies `kubectl kudo manifests` generates, by name)
/// says — validations, variables, matchConditions and matchConstraints —
/// and is enforced by a binding that names it with `validationActions`
/// including `Deny` and does not narrow which objects it applies to.
pub fn problems(
    expected: &BTreeMap<String, ValidatingAdmissionPolicySpec>,
    policies: &[&ValidatingAdmissionPolicy],
    bindings: &[&ValidatingAdmissionPolicyBinding],
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, want) in expected {
        let name = name.as_str();
        let policy = policies.iter().find(|p| p.metadata.name.as_deref() == Some(name));
        match policy {
            None => {
                out.push(format!("ValidatingAdmissionPolicy {name} is missing"));
                continue;
            }
            Some(p) if p.metadata.deletion_timestamp.is_some() => {
                out.push(format!("ValidatingAdmissionPolicy {name} is being deleted"));
                continue;
            }
            Some(p) if p.spec.as_ref().and_then(|s| s.failure_policy.as_deref()) == Some("Ignore") => {
                out.push(format!("ValidatingAdmissionPolicy {name} has failurePolicy Ignore (it must fail closed)"));
                continue;
            }
            Some(p) => {
                let differs = differences(want, p.spec.as_ref());
                if !differs.is_empty() {
                    out.push(format!(
                        "ValidatingAdmissionPolicy {name} is not what kudo installs ({} differ); apply `kubectl kudo manifests` again",
                        differs.join(", ")
                    ));
                    continue;
                }
            }
        }
        let enforced = bindings.iter().any(|b| {
            let Some(spec) = &b.spec else { return false };
            let narrowed = spec.match_resources.as_ref().is_some_and(|m| {
                m.object_selector.as_ref().is_some_and(|s| s.match_labels.is_some() || s.match_expressions.is_some())
                    || m.namespace_selector
                        .as_ref()
                        .is_some_and(|s| s.match_labels.is_some() || s.match_expressions.is_some())
                    || m.resource_rules.as_ref().is_some_and(|r| !r.is_empty())
                    || m.exclude_resource_rules.as_ref().is_some_and(|r| !r.is_empty())
            });
            b.metadata.deletion_timestamp.is_none()
                && spec.policy_name.as_deref() == Some(name)
                && spec.validation_actions.iter().flatten().any(|a| a == "Deny")
                && spec.param_ref.is_none()
                && !narrowed
        });
        if !enforced {
            out.push(format!(
                "no ValidatingAdmissionPolicyBinding enforces {name} (one must name it, with validationActions [Deny] and no matchResources)"
            ));
        }
    }
    out
}

/// Which parts of a live policy differ from what kudo generates. The API
/// server fills in defaults (matchPolicy, empty selectors, rule scope), so
/// both sides are compared with those defaults removed.
fn differences(
    want: &ValidatingAdmissionPolicySpec,
    live: Option<&ValidatingAdmissionPolicySpec>,
) -> Vec<&'static str> {
    let (want, live) = (canonical(Some(want)), canonical(live));
    ["validations", "variables", "matchConditions", "matchConstraints", "auditAnnotations", "paramKind"]
        .into_iter()
        .filter(|field| want.get(*field) != live.get(*field))
        .collect()
}

fn canonical(spec: Option<&ValidatingAdmissionPolicySpec>) -> Value {
    let mut v = spec.map(|s| serde_json::to_value(s).unwrap_or_default()).unwrap_or_default();
    prune(&mut v);
    if let Some(constraints) = v.get_mut("matchConstraints").and_then(Value::as_object_mut) {
        if constraints.get("matchPolicy").and_then(Value::as_str) == Some("Equivalent") {
            constraints.remove("matchPolicy");
        }
        for rules in ["resourceRules", "excludeResourceRules"] {
            for rule in constraints.get_mut(rules).and_then(Value::as_array_mut).into_iter().flatten() {
                if let Some(rule) = rule.as_object_mut()
                    && rule.get("scope").and_then(Value::as_str) == Some("*")
                {
                    rule.remove("scope");
                }
            }
        }
        prune_value(constraints);
    }
    v
}

/// Drops nulls, empty objects and empty lists, recursively: absent and
/// empty say the same in these specs.
fn prune(v: &mut Value) {
    if let Value::Object(map) = v {
        prune_value(map);
    } else if let Value::Array(items) = v {
        items.iter_mut().for_each(prune);
    }
}

fn prune_value(map: &mut serde_json::Map<String, Value>) {
    for child in map.values_mut() {
        prune(child);
    }
    map.retain(|_, child| match child {
        Value::Null => false,
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    });
}
