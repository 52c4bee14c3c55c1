//! ValidatingAdmissionPolicy and its binding. Every field is destructured
//! without `..`: a field added to the types fails to compile here instead
//! of being dropped.

use k8s_pb::api::admissionregistration::v1 as adm;
use serde_json::Value;

use super::{J, selector};

pub fn policy(spec: Option<adm::ValidatingAdmissionPolicySpec>) -> J {
    let Some(adm::ValidatingAdmissionPolicySpec {
        param_kind,
        match_constraints,
        validations,
        failure_policy,
        audit_annotations,
        match_conditions,
        variables,
    }) = spec
    else {
        return J::new();
    };
    let param_kind = param_kind
        .map(|adm::ParamKind { api_version, kind }| J::new().str("apiVersion", api_version).str("kind", kind).done());
    let validations =
        validations.into_iter().map(|adm::Validation { expression, message, reason, message_expression }| {
            J::new()
                .str("expression", expression)
                .str("message", message)
                .str("reason", reason)
                .str("messageExpression", message_expression)
                .done()
        });
    let annotations = audit_annotations.into_iter().map(|adm::AuditAnnotation { key, value_expression }| {
        J::new().str("key", key).str("valueExpression", value_expression).done()
    });
    let conditions = match_conditions.into_iter().map(|adm::MatchCondition { name, expression }| {
        J::new().str("name", name).str("expression", expression).done()
    });
    let variables = variables
        .into_iter()
        .map(|adm::Variable { name, expression }| J::new().str("name", name).str("expression", expression).done());
    let spec = J::new()
        .value("paramKind", param_kind)
        .value("matchConstraints", match_constraints.map(match_resources))
        .list("validations", validations)
        .str("failurePolicy", failure_policy)
        .list("auditAnnotations", annotations)
        .list("matchConditions", conditions)
        .list("variables", variables);
    J::new().object("spec", spec)
}

pub fn binding(spec: Option<adm::ValidatingAdmissionPolicyBindingSpec>) -> J {
    let Some(adm::ValidatingAdmissionPolicyBindingSpec {
        policy_name,
        param_ref,
        match_resources: resources,
        validation_actions,
    }) = spec
    else {
        return J::new();
    };
    let param_ref = param_ref.map(|adm::ParamRef { name, namespace, selector: s, parameter_not_found_action }| {
        J::new()
            .str("name", name)
            .str("namespace", namespace)
            .value("selector", s.map(selector))
            .str("parameterNotFoundAction", parameter_not_found_action)
            .done()
    });
    let spec = J::new()
        .str("policyName", policy_name)
        .value("paramRef", param_ref)
        .value("matchResources", resources.map(match_resources))
        .strings("validationActions", validation_actions);
    J::new().object("spec", spec)
}

fn match_resources(m: adm::MatchResources) -> Value {
    let adm::MatchResources {
        namespace_selector,
        object_selector,
        resource_rules,
        exclude_resource_rules,
        match_policy,
    } = m;
    J::new()
        .value("namespaceSelector", namespace_selector.map(selector))
        .value("objectSelector", object_selector.map(selector))
        .list("resourceRules", resource_rules.into_iter().map(named_rule))
        .list("excludeResourceRules", exclude_resource_rules.into_iter().map(named_rule))
        .str("matchPolicy", match_policy)
        .done()
}

/// `NamedRuleWithOperations` embeds `RuleWithOperations` and `Rule` in Go:
/// their fields sit side by side in JSON.
fn named_rule(r: adm::NamedRuleWithOperations) -> Value {
    let adm::NamedRuleWithOperations { resource_names, rule_with_operations } = r;
    let adm::RuleWithOperations { operations, rule } = rule_with_operations.unwrap_or_default();
    let adm::Rule { api_groups, api_versions, resources, scope } = rule.unwrap_or_default();
    J::new()
        .strings("resourceNames", resource_names)
        .strings("operations", operations)
        .strings("apiGroups", api_groups)
        .strings("apiVersions", api_versions)
        .strings("resources", resources)
        .str("scope", scope)
        .done()
}
