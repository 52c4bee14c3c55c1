//! Least-privilege RBAC for the controller, and ready-to-bind ClusterRoles
//! for users, reviewers and admins (DESIGN §9).

use k8s_openapi::api::{
    core::v1::{Namespace, ServiceAccount},
    rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding},
};
use serde_json::json;

use super::{BoxError, Doc, Options, admission::EDIT_METADATA_VERB, labels, typed};
use crate::api::GROUP;

pub const CONTROLLER_ROLE: &str = "kudo-controller";
pub const USER_ROLE: &str = "kudo-user";
pub const REVIEWER_ROLE: &str = "kudo-reviewer";
pub const ADMIN_ROLE: &str = "kudo-admin";
/// The reaper's ServiceAccount and ClusterRole (DESIGN §4).
pub const REAPER: &str = "kudo-reaper";
/// The controller's Role reading notification targets' Secrets in its namespace.
pub const NOTIFY_SECRETS_ROLE: &str = "kudo-notify-secrets";

const READ: [&str; 3] = ["get", "list", "watch"];

pub fn objects(opts: &Options) -> Result<Vec<Doc>, BoxError> {
    let ns = &opts.namespace;
    let sa = &opts.service_account;
    let meta = |name: &str| json!({"name": name, "labels": labels()});
    let ns_meta = |name: &str| json!({"name": name, "namespace": ns, "labels": labels()});
    Ok(vec![
        typed::<Namespace>("Namespace", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns)}))?,
        typed::<ServiceAccount>(
            "controller ServiceAccount",
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": ns_meta(sa)}),
        )?,
        typed::<ClusterRole>(
            "controller ClusterRole",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": meta(CONTROLLER_ROLE),
                "rules": [
                    {"apiGroups": [GROUP], "resources": ["escalationpolicies", "escalationreviews"], "verbs": READ},
                    // Reviews get an ownerReference to their escalation.
                    // delete: reviews naming no escalation are collected (with an audit record).
                    {"apiGroups": [GROUP], "resources": ["escalationreviews"], "verbs": ["patch", "update", "delete"]},
                    {"apiGroups": [GROUP], "resources": ["escalationpolicies/status"], "verbs": ["get", "patch", "update"]},
                    // patch/update: the reclaim finalizer only; the admission policy keeps spec immutable.
                    // delete: retention of finished escalations (--retain-finished).
                    {"apiGroups": [GROUP], "resources": ["escalations"], "verbs": ["get", "list", "watch", "patch", "update", "delete"]},
                    {"apiGroups": [GROUP], "resources": ["escalations/status"], "verbs": ["get", "patch", "update"]},
                    {"apiGroups": [GROUP], "resources": ["escalations/finalizers"], "verbs": ["update"]},
                    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings", "clusterrolebindings"],
                     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
                    // bind: granting a role needs it. Admins may narrow this rule
                    // with resourceNames to the roles their policies grant.
                    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "clusterroles"],
                     "verbs": ["get", "list", "watch", "bind"]},
                    {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
                    {"apiGroups": ["admissionregistration.k8s.io"],
                     "resources": ["validatingadmissionpolicies", "validatingadmissionpolicybindings"], "verbs": READ},
                    {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
                ],
            }),
        )?,
        typed::<ClusterRoleBinding>(
            "controller ClusterRoleBinding",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": meta(CONTROLLER_ROLE),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CONTROLLER_ROLE},
                "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
            }),
        )?,
        typed::<Role>(
            "leader-election Role",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": ns_meta("kudo-leader-election"),
                "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                           "verbs": ["get", "list", "watch", "create", "update", "patch"]}],
            }),
        )?,
        typed::<RoleBinding>(
            "leader-election RoleBinding",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": ns_meta("kudo-leader-election"),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kudo-leader-election"},
                "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
            }),
        )?,
        // Notification targets' webhook URLs (DESIGN §6): Secrets in kudo's
        // own namespace only, read one by one (no list or watch: the
        // controller never sees a Secret no policy names). Names are the
        // policies' choice, so resourceNames cannot narrow it; admins who
        // know theirs may add them.
        typed::<Role>(
            "notify-secrets Role",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": ns_meta(NOTIFY_SECRETS_ROLE),
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
            }),
        )?,
        typed::<RoleBinding>(
            "notify-secrets RoleBinding",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": ns_meta(NOTIFY_SECRETS_ROLE),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NOTIFY_SECRETS_ROLE},
                "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
            }),
        )?,
        typed::<ClusterRole>(
            "kudo-user ClusterRole",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": meta(USER_ROLE),
                "rules": [
                    {"apiGroups": [GROUP], "resources": ["escalationpolicies", "escalationreviews"], "verbs": READ},
                    // patch: revoking one's own escalation; admission allows nothing else.
                    {"apiGroups": [GROUP], "resources": ["escalations"], "verbs": ["get", "list", "watch", "create", "patch"]},
                    // `kubectl kudo which` evaluates the roles policies grant.
                    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["get", "list"]},
                ],
            }),
        )?,
        typed::<ClusterRole>(
            "kudo-reviewer ClusterRole",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": meta(REVIEWER_ROLE),
                "rules": [
                    {"apiGroups": [GROUP], "resources": ["escalationpolicies", "escalations"], "verbs": READ},
                    {"apiGroups": [GROUP], "resources": ["escalationreviews"], "verbs": ["get", "list", "watch", "create"]},
                ],
            }),
        )?,
        typed::<ClusterRole>(
            "kudo-admin ClusterRole",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": meta(ADMIN_ROLE),
                "rules": [
                    {"apiGroups": [GROUP], "resources": ["escalationpolicies"], "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
                    // revoke: the custom verb that lets an admin end anyone's escalation.
                    // edit-metadata: labels, annotations, finalizers, ownerReferences (cleaning up after an uninstall).
                    {"apiGroups": [GROUP], "resources": ["escalations"], "verbs": ["get", "list", "watch", "patch", "delete", "revoke", EDIT_METADATA_VERB]},
                    {"apiGroups": [GROUP], "resources": ["escalationreviews"], "verbs": ["get", "list", "watch", "patch", "delete", EDIT_METADATA_VERB]},
                ],
            }),
        )?,
        typed::<ServiceAccount>(
            "reaper ServiceAccount",
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": ns_meta(REAPER)}),
        )?,
        typed::<ClusterRole>(
            "reaper ClusterRole",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": meta(REAPER),
                // Only what one reaper pass needs. patch: removing foreign
                // finalizers from expired kudo bindings, since a terminating
                // binding still grants. The admission policy kudo-reaper-scope
                // keeps delete and patch to kudo-labelled bindings, and patch
                // to finalizers.
                "rules": [
                    // list: once a pass; no escalation is read on its own.
                    {"apiGroups": [GROUP], "resources": ["escalations"], "verbs": ["list"]},
                    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings", "clusterrolebindings"],
                     "verbs": ["list", "delete", "patch"]},
                ],
            }),
        )?,
        typed::<ClusterRoleBinding>(
            "reaper ClusterRoleBinding",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": meta(REAPER),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": REAPER},
                "subjects": [{"kind": "ServiceAccount", "name": REAPER, "namespace": ns}],
            }),
        )?,
    ])
}
