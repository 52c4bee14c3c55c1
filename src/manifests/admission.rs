//! ValidatingAdmissionPolicies that make the API server vouch for identity
//! (DESIGN §3): no webhook, no certificate. Policies that call the
//! `authorizer` are kept apart from the others, because only the API server
//! can evaluate them; the rest are tested offline with kube's CEL evaluator.

use k8s_openapi::api::admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding};
use serde_json::{Value, json};

use super::{BoxError, Doc, Options, labels};
use crate::api::{GROUP, LEASE_NAME, MANAGED_BY_LABEL, MANAGED_BY_VALUE, MAX_GRANTS, RBAC_GROUP};

pub const ESCALATION_IDENTITY: &str = "kudo-escalation-identity";
pub const ESCALATION_REVOKE: &str = "kudo-escalation-revoke";
pub const REVIEW_IDENTITY: &str = "kudo-review-identity";
pub const STATUS_WRITER: &str = "kudo-status-writer";
pub const POLICY_BIND: &str = "kudo-policy-bind";
pub const METADATA_GUARD: &str = "kudo-metadata-guard";
pub const LEADER_LEASE: &str = "kudo-leader-lease";
/// Confines the reaper to kudo's bindings. Not one of [`GUARDS`]: it limits
/// what a stolen reaper token could do, and no decision of the controller
/// depends on it.
pub const REAPER_SCOPE: &str = "kudo-reaper-scope";

/// The admission policies (each bound under its own name) the controller
/// requires before it accepts anything: without any of them, a requestor
/// field, a status or a policy could be forged, or the controller silenced
/// by a write to its Lease.
pub const GUARDS: [&str; 7] =
    [ESCALATION_IDENTITY, ESCALATION_REVOKE, REVIEW_IDENTITY, STATUS_WRITER, POLICY_BIND, METADATA_GUARD, LEADER_LEASE];

/// The custom verb on escalations and escalationreviews that allows changing
/// their labels, annotations, finalizers and ownerReferences (kudo-admin has
/// it, for cleaning up after an uninstall).
pub const EDIT_METADATA_VERB: &str = "edit-metadata";

/// The garbage collector's identities: its own ServiceAccount (with
/// `--use-service-account-credentials`, the default of kubeadm and most
/// distributions) or the controller manager's. It removes `orphan` and
/// `foregroundDeletion` finalizers (the API server adds them while handling
/// a DELETE, outside admission) and dependents' ownerReferences.
pub const GARBAGE_COLLECTORS: [&str; 2] =
    ["system:serviceaccount:kube-system:generic-garbage-collector", "system:kube-controller-manager"];

/// How many namespaces of one RoleBinding grant the policy-bind guard checks
/// one by one for an author without cluster-wide create on RoleBindings:
/// what one CEL expression's cost limit allows (2 x 350 000 < 1 000 000).
pub const MAX_NAMESPACE_CHECKS: usize = 2;

const GROUPS_EQUAL: &str = "object.spec.{field}.all(g, g in request.userInfo.groups) && request.userInfo.groups.all(g, g in object.spec.{field})";

fn validation(expression: &str, message: &str, message_expression: Option<&str>) -> Value {
    let mut v = json!({"expression": expression, "message": message, "reason": "Forbidden"});
    if let Some(m) = message_expression {
        v["messageExpression"] = json!(m);
    }
    v
}

fn identity_rules(user_field: &str, groups_field: &str, what: &str, command: &str) -> Vec<Value> {
    vec![
        validation(
            &format!("request.operation != 'CREATE' || object.spec.{user_field} == request.userInfo.username"),
            &format!("spec.{user_field} must be your own username; `{command}` fills it in"),
            Some(&format!(
                "'spec.{user_field} is ' + object.spec.{user_field} + ' but you are ' + request.userInfo.username + ': an {what} is always made in your own name; use `{command}`, which fills it in'"
            )),
        ),
        validation(
            &format!("request.operation != 'CREATE' || ({})", GROUPS_EQUAL.replace("{field}", groups_field)),
            &format!(
                "spec.{groups_field} must list exactly your groups (any order; see `kubectl auth whoami`); `{command}` fills them in"
            ),
            None,
        ),
    ]
}

fn policy(
    name: &str,
    resources: &[&str],
    operations: &[&str],
    validations: Vec<Value>,
    match_conditions: Option<Value>,
) -> Value {
    let mut spec = json!({
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": [{
            "apiGroups": [GROUP], "apiVersions": ["*"], "operations": operations, "resources": resources,
        }]},
        "validations": validations,
    });
    if let Some(mc) = match_conditions {
        spec["matchConditions"] = mc;
    }
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": labels()},
        "spec": spec,
    })
}

fn with_variables(mut policy: Value, variables: Value) -> Value {
    policy["spec"]["variables"] = variables;
    policy
}

/// The admission policies, each paired with the binding that enforces it.
pub fn policies(opts: &Options) -> Vec<(Value, Value)> {
    let controller = opts.controller_username();
    let mut escalation = identity_rules("requestor", "requestorGroups", "escalation", "kubectl kudo escalate");
    escalation.push(validation(
        "request.operation != 'CREATE' || !object.spec.revoked",
        "a new escalation cannot already be revoked",
        None,
    ));
    escalation.push(validation(
        "request.operation != 'UPDATE' || oldObject.spec.revoked == object.spec.revoked || object.spec.revokedBy == request.userInfo.username",
        "spec.revokedBy must be your own username; `kubectl kudo revoke` fills it in",
        None,
    ));

    let mut review = identity_rules("reviewer", "reviewerGroups", "review", "kubectl kudo approve|deny");
    review.push(validation(
        "request.operation != 'UPDATE' || object.spec == oldObject.spec",
        "reviews are immutable: create a new EscalationReview instead",
        None,
    ));

    let revoke = vec![validation(
        "oldObject.spec.revoked == object.spec.revoked || object.spec.requestor == request.userInfo.username || authorizer.group('k8s.kudo.dev').resource('escalations').name(object.metadata.name).check('revoke').allowed()",
        "only the requestor, or a user granted the `revoke` verb on escalations (ClusterRole kudo-admin), may revoke an escalation",
        None,
    )];

    let status = vec![validation(
        &format!("request.userInfo.username == '{controller}'"),
        &format!("only the kudo controller ({controller}) may write an escalation's status"),
        None,
    )];

    // One expression per grant: an authorizer check is costly in the CEL
    // budget, and a single expression looping over grants could exceed it.
    let bind = (0..MAX_GRANTS)
        .map(|i| {
            let g = format!("object.spec.target.grants[{i}]");
            validation(
                &format!(
                    "size(object.spec.target.grants) <= {i} || authorizer.group('rbac.authorization.k8s.io').resource({g}.roleRef.kind == 'ClusterRole' ? 'clusterroles' : 'roles').name({g}.roleRef.name).check('bind').allowed()"
                ),
                "writing a policy requires the `bind` verb on every role it grants",
                Some(&format!(
                    "'you may not grant ' + {g}.roleRef.kind + ' ' + {g}.roleRef.name + ': writing an EscalationPolicy requires the bind verb on every role it grants (as creating the binding yourself would)'"
                )),
            )
        })
        .collect();

    // Create rights on the binding kind, as Kubernetes requires of whoever
    // creates a binding. Each authorizer check costs 350 000 of the
    // 1 000 000 an expression may spend at run time (and a policy 10 000 000
    // in all), so the cluster-wide answers are variables (evaluated once)
    // and only an author without them pays per namespace: at most
    // MAX_NAMESPACE_CHECKS per RoleBinding grant, checked before any is
    // spent, so a longer list is denied with this message, not cut off by
    // the API server's "cost limit exceeded". The CRD requires
    // defaultNamespace to be one of allowedNamespaces when both are set,
    // so the namespaces are the allowed list, or else the default.
    let create: Vec<Value> = (0..MAX_GRANTS)
        .map(|i| {
            let g = format!("object.spec.target.grants[{i}]");
            validation(
                &format!(
                    "size(object.spec.target.grants) <= {i} || ({g}.kind == 'KubernetesClusterRoleBinding' ? variables.createClusterRoleBindings : (variables.createRoleBindings || [has({g}.allowedNamespaces) && size({g}.allowedNamespaces) > 0 ? {g}.allowedNamespaces : (has({g}.defaultNamespace) ? [{g}.defaultNamespace] : [])].all(nss, size(nss) <= {MAX_NAMESPACE_CHECKS} && nss.all(ns, authorizer.group('rbac.authorization.k8s.io').resource('rolebindings').namespace(ns).check('create').allowed()))))"
                ),
                "writing a policy requires the right to create the bindings it grants",
                Some(&format!(
                    "'you may not create ' + ({g}.kind == 'KubernetesClusterRoleBinding' ? 'ClusterRoleBindings' : 'RoleBindings in every namespace grant {i} allows') + ': writing an EscalationPolicy requires the right to create the bindings it grants (as creating them yourself would; without the right cluster-wide, a grant may list at most {MAX_NAMESPACE_CHECKS} namespaces); ask a cluster admin to write it'"
                )),
            )
        })
        .collect();
    let mut bind_and_create: Vec<Value> = bind;
    bind_and_create.extend(create);

    // Metadata of escalations and reviews (DESIGN §3): whoever may patch
    // them could otherwise strip the reclaim finalizer, add a dangling
    // ownerReference and have the garbage collector delete the record, or
    // add `orphan` so that an escalation's reviews are never collected. On
    // CREATE, nobody but the controller sets ownerReferences, finalizers or
    // kudo's labels: a review created already owned would pass for audited.
    // The garbage collector (as its own ServiceAccount, or as the controller
    // manager) changes finalizers and ownerReferences when it collects.
    let same = |field: &str, empty: &str| {
        format!(
            "(has(object.metadata.{field}) ? object.metadata.{field} : {empty}) == (has(oldObject.metadata.{field}) ? oldObject.metadata.{field} : {empty})"
        )
    };
    let none = |field: &str| format!("(!has(object.metadata.{field}) || size(object.metadata.{field}) == 0)");
    // kudo's own reclaim finalizer is the one an escalation's CREATE may
    // carry: the CLI sets it so that the controller needs no write before
    // it can grant, and it only keeps the escalation until its grants are
    // reclaimed. Not on reviews: nothing would ever remove it there.
    let only_reclaim = format!(
        "(!has(object.metadata.finalizers) || size(object.metadata.finalizers) == 0 || (request.resource.resource == 'escalations' && object.metadata.finalizers.all(f, f == '{}')))",
        crate::api::FINALIZER
    );
    let create_clean = format!(
        "{} && {only_reclaim} && (!has(object.metadata.labels) || !object.metadata.labels.exists(k, k.startsWith('{GROUP}/') || k == 'app.kubernetes.io/managed-by'))",
        none("ownerReferences"),
    );
    let update_same = format!(
        "{} && {} && {} && {}",
        same("labels", "{}"),
        same("annotations", "{}"),
        same("ownerReferences", "[]"),
        same("finalizers", "[]"),
    );
    let trusted = std::iter::once(controller.as_str())
        .chain(GARBAGE_COLLECTORS)
        .map(|u| format!("'{u}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let metadata = vec![validation(
        &format!(
            "request.userInfo.username in [{trusted}] || (request.operation == 'CREATE' ? ({create_clean}) : ({update_same})) || authorizer.group('{GROUP}').resource(request.resource.resource).name(object.metadata.name).check('{EDIT_METADATA_VERB}').allowed()",
        ),
        "only the kudo controller may set or change the labels, annotations, finalizers or ownerReferences of escalations and reviews",
        Some(&format!(
            "'only the kudo controller, or a user granted the ' + '{EDIT_METADATA_VERB}' + ' verb on ' + request.resource.resource + ' (ClusterRole kudo-admin), may ' + (request.operation == 'CREATE' ? 'create ' + object.metadata.name + ' with ownerReferences, finalizers or kudo labels' : 'change the labels, annotations, finalizers or ownerReferences of ' + object.metadata.name) + '; ' + (request.operation == 'CREATE' ? 'create it without them (kubectl kudo escalate|approve does)' : 'change only what kubectl kudo changes (revoke: kubectl kudo revoke)')"
        )),
    )];

    // The reaper removes foreign finalizers from expired kudo bindings (a
    // terminating binding still grants), so it holds `patch` as well as
    // `delete` on every binding: RBAC cannot scope a rule by label. This
    // keeps both to kudo-labelled bindings, and its patches to finalizers
    // (RBAC's escalation check already stops it from granting anything).
    let reaper = opts.reaper_username();
    let subjects = |obj: &str| format!("(has({obj}.subjects) ? {obj}.subjects : [])");
    let reaper_scope = json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": REAPER_SCOPE, "labels": labels()},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [RBAC_GROUP], "apiVersions": ["*"], "operations": ["UPDATE", "DELETE"],
                "resources": ["rolebindings", "clusterrolebindings"],
            }]},
            "matchConditions": [{"name": "reaper", "expression": format!("request.userInfo.username == '{reaper}'")}],
            "validations": [
                validation(
                    &format!(
                        "has(oldObject.metadata.labels) && '{MANAGED_BY_LABEL}' in oldObject.metadata.labels && oldObject.metadata.labels['{MANAGED_BY_LABEL}'] == '{MANAGED_BY_VALUE}'"
                    ),
                    &format!("the kudo reaper may delete or change only kudo's bindings (labelled {MANAGED_BY_LABEL}={MANAGED_BY_VALUE})"),
                    None,
                ),
                validation(
                    &format!(
                        "request.operation != 'UPDATE' || ({} && {} && {} && {} == {})",
                        same("labels", "{}"),
                        same("annotations", "{}"),
                        same("ownerReferences", "[]"),
                        subjects("object"),
                        subjects("oldObject"),
                    ),
                    "the kudo reaper may only remove the finalizers of a kudo binding",
                    None,
                ),
            ],
        },
    });

    let definitions = [
        policy(ESCALATION_IDENTITY, &["escalations"], &["CREATE", "UPDATE"], escalation, None),
        policy(ESCALATION_REVOKE, &["escalations"], &["UPDATE"], revoke, None),
        policy(REVIEW_IDENTITY, &["escalationreviews"], &["CREATE", "UPDATE"], review, None),
        policy(STATUS_WRITER, &["escalations/status"], &["UPDATE"], status, None),
        with_variables(
            policy(
                POLICY_BIND,
                &["escalationpolicies"],
                &["CREATE", "UPDATE"],
                bind_and_create,
                Some(
                    json!([{"name": "spec-written", "expression": "request.operation == 'CREATE' || object.spec != oldObject.spec"}]),
                ),
            ),
            json!([
                {"name": "createClusterRoleBindings", "expression": "authorizer.group('rbac.authorization.k8s.io').resource('clusterrolebindings').check('create').allowed()"},
                {"name": "createRoleBindings", "expression": "authorizer.group('rbac.authorization.k8s.io').resource('rolebindings').check('create').allowed()"},
            ]),
        ),
        policy(METADATA_GUARD, &["escalations", "escalationreviews"], &["CREATE", "UPDATE"], metadata, None),
        reaper_scope,
    ];
    // The leader Lease: whoever else could write it (anyone with update on
    // Leases in kudo's namespace) could name a holder that never renews,
    // with a lease duration of 68 years, and silence the controller.
    let lease = json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": LEADER_LEASE, "labels": labels()},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["coordination.k8s.io"], "apiVersions": ["*"],
                "operations": ["CREATE", "UPDATE", "DELETE"], "resources": ["leases"],
            }]},
            "matchConditions": [{
                "name": "kudo-lease",
                "expression": format!("request.namespace == '{}' && request.name == '{LEASE_NAME}'", opts.namespace),
            }],
            "validations": [validation(
                &format!("request.userInfo.username == '{controller}'"),
                &format!("only the kudo controller ({controller}) may write its leader Lease {}/{LEASE_NAME}", opts.namespace),
                None,
            )],
        },
    });
    definitions
        .into_iter()
        .chain(std::iter::once(lease))
        .map(|p| {
            let name = p["metadata"]["name"].clone();
            let binding = json!({
                "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": {"name": name, "labels": labels()},
                "spec": {"policyName": name, "validationActions": ["Deny"]},
            });
            (p, binding)
        })
        .collect()
}

pub fn admission_policies(opts: &Options) -> Result<Vec<Doc>, BoxError> {
    let mut docs = Vec::new();
    for (p, b) in policies(opts) {
        docs.push(super::typed::<ValidatingAdmissionPolicy>("ValidatingAdmissionPolicy", p)?);
        docs.push(super::typed::<ValidatingAdmissionPolicyBinding>("ValidatingAdmissionPolicyBinding", b)?);
    }
    Ok(docs)
}
