//! Grant planning: which bindings an accepted escalation gets, named
//! deterministically so a retry after a crash finds the same objects.

use crate::api::{EscalationPolicySpec, GrantObjectRef, GrantRef, GrantStatus};

pub fn binding_name(escalation: &str, index: usize) -> String {
    format!("kudo-{escalation}-{index}")
}

/// One PENDING ref per grant of the policy, in the namespaces resolved by
/// [`super::checks::namespaces`].
pub fn plan(escalation: &str, policy: &EscalationPolicySpec, namespaces: &[Option<String>]) -> Vec<GrantRef> {
    policy
        .target
        .grants
        .iter()
        .zip(namespaces)
        .enumerate()
        .map(|(i, (grant, ns))| GrantRef {
            status: GrantStatus::Pending,
            reference: GrantObjectRef {
                kind: grant.kind,
                name: binding_name(escalation, i),
                namespace: ns.clone(),
                uid: None,
                resource_version: None,
            },
            role_ref: grant.role_ref.clone(),
        })
        .collect()
}
