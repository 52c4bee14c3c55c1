//! Who may use a policy (DESIGN §1): one of its subjects, or anyone RBAC
//! grants the verb `use` on `escalationpolicies` with the policy's name. The
//! one rule the controller, `kubectl kudo policies`, the interactive picker
//! and the CLI's checks all follow.

use k8s_openapi::api::authorization::v1::ResourceAttributes;

use crate::api::{EscalationPolicySpec, GROUP, Identity};

/// What RBAC is asked about "may X use this policy": the verb `use` on
/// `escalationpolicies` named `policy_name`. One definition for the
/// controller's SubjectAccessReview and the front ends' SelfSubjectAccessReview.
pub fn rbac_use(policy_name: &str) -> ResourceAttributes {
    ResourceAttributes {
        group: Some(GROUP.into()),
        resource: Some("escalationpolicies".into()),
        verb: Some("use".into()),
        name: Some(policy_name.into()),
        ..Default::default()
    }
}

/// Admitted by the policy's own subjects; when not, the caller asks RBAC
/// (a SubjectAccessReview, or a SelfSubjectAccessReview from the CLI).
pub fn by_subjects(policy: &EscalationPolicySpec, who: &Identity<'_>) -> bool {
    policy.subjects.iter().any(|s| s.matches(who))
}

/// The decision, given RBAC's answer about `use` (`false` when not asked).
/// A ServiceAccount is admitted by the policy's subjects only, never by
/// `use`: a `use` grant to `system:authenticated`, or any wildcard role,
/// would otherwise let whoever can mint or impersonate a ServiceAccount
/// token count as one more person.
pub fn admits(policy: &EscalationPolicySpec, who: &Identity<'_>, rbac_use: bool) -> bool {
    by_subjects(policy, who) || (rbac_use && !who.is_service_account())
}

/// Whether RBAC's `use` is worth asking about for `who` (it cannot admit a
/// ServiceAccount, and is not needed for a subject).
pub fn needs_rbac_use(policy: &EscalationPolicySpec, who: &Identity<'_>) -> bool {
    !who.is_service_account() && !by_subjects(policy, who)
}

/// Why `who` may not use the policy, in words that say what to do.
pub fn refusal(who: &str, policy_name: &str) -> String {
    format!(
        "{who} may not use policy {policy_name}: not one of its subjects and not granted the `use` verb on it; run `kubectl kudo policies` to see the policies you may use"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitting(group: &str) -> EscalationPolicySpec {
        serde_json::from_value(serde_json::json!({
            "subjects": [{"kind": "Group", "name": group}],
            "target": {"defaultDuration": "1h", "maxDuration": "1h", "grants": []},
        }))
        .unwrap()
    }

    #[test]
    fn subjects_or_rbac_use() {
        let policy = admitting("squad-a");
        let groups = ["squad-a".to_string()];
        let member = Identity { username: "alice", groups: &groups };
        let stranger = Identity { username: "zed", groups: &[] };
        assert!(admits(&policy, &member, false));
        assert!(!admits(&policy, &stranger, false));
        assert!(admits(&policy, &stranger, true));
        let sa_groups = ["system:authenticated".to_string()];
        let bot = Identity { username: "system:serviceaccount:app:bot", groups: &sa_groups };
        let open = admitting("system:authenticated");
        assert!(!by_subjects(&open, &bot), "a ServiceAccount is never admitted by a generic group");
        assert!(!admits(&policy, &bot, true), "nor by the use verb");
        assert!(
            !needs_rbac_use(&policy, &bot) && needs_rbac_use(&policy, &stranger) && !needs_rbac_use(&policy, &member)
        );
    }
}
