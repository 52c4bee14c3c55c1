//! What the sandbox creates besides kudo: the Kudo documents' two example
//! policies adapted to its users, their roles and namespaces, and the RBAC
//! that lets users use kudo at all.

use serde_json::{Value, json};

/// The namespaces the examples grant into.
pub const NAMESPACES: &[&str] = &["some-app", "some-other-app", "application-a", "application-b"];
/// "Read pods with a peer review by squad-b".
pub const READ_PODS: &str = "read-pods";
/// "Grant port forward on some namespaces".
pub const PORT_FORWARD: &str = "gain-port-forward";
/// The group that may ask for `read-pods`, and the one that reviews.
pub const REQUESTORS: &str = "squad-a";
pub const REVIEWERS: &str = "squad-b";

const RBAC: &str = "rbac.authorization.k8s.io";

/// Every object, in creation order (namespaces and roles before what names them).
pub fn objects() -> Vec<Value> {
    let mut out: Vec<Value> = NAMESPACES
        .iter()
        .map(|ns| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
        .collect();
    out.extend([
        // The docs' "Grant Port Forward On Some Namespaces", as written
        // there (tests/fixtures/examples/gain-port-forward.yaml) ...
        json!({
            "apiVersion": format!("{RBAC}/v1"), "kind": "ClusterRole",
            "metadata": {"name": "port-forwarder"},
            "rules": [{"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create"]}],
        }),
        // ... reviewed by squad-b instead of the docs' admin@my-company.io.
        json!({
            "apiVersion": crate::api::API_VERSION, "kind": "EscalationPolicy",
            "metadata": {"name": PORT_FORWARD},
            "spec": {
                "subjects": [{"kind": "Group", "name": "system:authenticated"}],
                "challenges": [{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": REVIEWERS}]}],
                "target": {
                    "defaultDuration": "60m",
                    "maxDuration": "4h",
                    "grants": [{
                        "kind": "KubernetesRoleBinding",
                        "defaultNamespace": "application-a",
                        "allowedNamespaces": ["application-a", "application-b"],
                        "roleRef": {"kind": "ClusterRole", "name": "port-forwarder", "apiGroup": RBAC},
                    }],
                },
            },
        }),
        // The docs' "Core Concepts" example (rbac-escalation-example):
        // squad-a may gain a role in some-app for 60 minutes if a member of
        // squad-b approves; the role, left abstract there, reads pods here.
        json!({
            "apiVersion": format!("{RBAC}/v1"), "kind": "ClusterRole",
            "metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]}],
        }),
        json!({
            "apiVersion": crate::api::API_VERSION, "kind": "EscalationPolicy",
            "metadata": {"name": READ_PODS},
            "spec": {
                "subjects": [{"kind": "Group", "name": REQUESTORS}],
                "challenges": [{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": REVIEWERS}]}],
                "target": {
                    "defaultDuration": "60m",
                    "maxDuration": "2h",
                    "grants": [{
                        "kind": "KubernetesRoleBinding",
                        "defaultNamespace": "some-app",
                        "allowedNamespaces": ["some-app", "some-other-app"],
                        "roleRef": {"kind": "ClusterRole", "name": "pod-reader", "apiGroup": RBAC},
                    }],
                },
            },
        }),
        // Everyone may use kudo, as the README's quick start sets it up;
        // squad-b may review.
        binding("kudo-users", "kudo-user", "system:authenticated"),
        binding("kudo-reviewers", "kudo-reviewer", REVIEWERS),
    ]);
    out
}

fn binding(name: &str, role: &str, group: &str) -> Value {
    json!({
        "apiVersion": format!("{RBAC}/v1"), "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": group}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EscalationPolicy;

    #[test]
    fn the_policies_are_valid_and_pass_the_policy_author_checks() {
        let policies: Vec<EscalationPolicy> = objects()
            .into_iter()
            .filter(|o| o["kind"] == "EscalationPolicy")
            .map(|o| serde_json::from_value(o).unwrap())
            .collect();
        assert_eq!(policies.len(), 2);
        for p in &policies {
            assert!(
                crate::engine::checks::policy_problems(&p.spec).is_empty(),
                "{:?}",
                crate::engine::checks::policy_problems(&p.spec)
            );
        }
    }
}
