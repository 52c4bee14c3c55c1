//! Whether the admission policies that make identity trustworthy (DESIGN §3)
//! are really in force: checked for what they enforce, not by name alone.

use k8s_openapi::api::admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding};

/// What is wrong with each required guard, one sentence each; empty when
/// every guard exists, is not being deleted, fails closed, and is enforced by
/// a binding that names it with `validationActions` including `Deny` and
/// does not narrow which objects it applies to.
pub fn problems(
    required: &[&str],
    policies: &[&ValidatingAdmissionPolicy],
    bindings: &[&ValidatingAdmissionPolicyBinding],
) -> Vec<String> {
    let mut out = Vec::new();
    for &name in required {
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
            Some(_) => {}
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
