//! Bindings as kudo writes them, and the pure rules about live ones (DESIGN
//! §4): the exact binding a grant ref names, whether a live one was tampered
//! with, whether it is kudo's, and why the sweep or the reaper removes it.
//! `grants` does the API calls.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::{
    api::rbac::v1::{ClusterRoleBinding, RoleBinding, RoleRef as K8sRoleRef, Subject},
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
};
use kube::Resource;

use super::Observation;
use crate::api::{
    ESCALATION_LABEL, Escalation, EscalationState, GrantKind, GrantRef, GrantStatus, MANAGED_BY_LABEL,
    MANAGED_BY_VALUE, RBAC_GROUP, RoleKind,
};

/// Annotation on every binding: when it must be gone (RFC 3339). The reaper
/// reads it, and nothing else a user wrote (DESIGN §4).
pub const EXPIRES_AT_ANNOTATION: &str = "k8s.kudo.dev/expires-at";

/// A RoleBinding or ClusterRoleBinding, as one value.
#[derive(Clone, Debug, PartialEq)]
pub enum Binding {
    Namespaced(RoleBinding),
    Cluster(ClusterRoleBinding),
}

impl Binding {
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Binding::Namespaced(b) => &b.metadata,
            Binding::Cluster(b) => &b.metadata,
        }
    }

    pub fn grant_kind(&self) -> GrantKind {
        match self {
            Binding::Namespaced(_) => GrantKind::KubernetesRoleBinding,
            Binding::Cluster(_) => GrantKind::KubernetesClusterRoleBinding,
        }
    }

    fn parts(&self) -> (&ObjectMeta, &[Subject], &K8sRoleRef) {
        match self {
            Binding::Namespaced(b) => (&b.metadata, b.subjects.as_deref().unwrap_or_default(), &b.role_ref),
            Binding::Cluster(b) => (&b.metadata, b.subjects.as_deref().unwrap_or_default(), &b.role_ref),
        }
    }
}

pub fn labels(escalation: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string()),
        (ESCALATION_LABEL.to_string(), escalation.to_string()),
    ])
}

/// The label selector of every binding kudo manages.
pub fn managed_selector() -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}")
}

/// The binding `grant` names, for `escalation`'s requestor, annotated with
/// the `expiresAt` its status records.
/// `None` when the escalation was not read from the API server (no name or UID).
pub fn binding(escalation: &Escalation, grant: &GrantRef) -> Option<Binding> {
    let (Some(name), Some(uid)) = (escalation.metadata.name.clone(), escalation.metadata.uid.clone()) else {
        return None;
    };
    let expires_at = escalation.status.as_ref().and_then(|s| s.expires_at.as_ref()).map(|t| t.0.to_string());
    let metadata = ObjectMeta {
        name: Some(grant.reference.name.clone()),
        namespace: grant.reference.namespace.clone(),
        labels: Some(labels(&name)),
        annotations: expires_at.map(|at| BTreeMap::from([(EXPIRES_AT_ANNOTATION.to_string(), at)])),
        owner_references: Some(vec![OwnerReference {
            api_version: Escalation::api_version(&()).into_owned(),
            kind: Escalation::kind(&()).into_owned(),
            name,
            uid,
            // Never blocks the escalation's deletion: the finalizer reclaims first.
            block_owner_deletion: Some(false),
            controller: Some(true),
        }]),
        ..Default::default()
    };
    let subjects = Some(vec![Subject {
        kind: "User".into(),
        name: escalation.spec.requestor.clone(),
        api_group: Some(RBAC_GROUP.into()),
        namespace: None,
    }]);
    let role_ref = K8sRoleRef {
        api_group: RBAC_GROUP.into(),
        kind: match grant.role_ref.kind {
            RoleKind::ClusterRole => "ClusterRole".into(),
            RoleKind::Role => "Role".into(),
        },
        name: grant.role_ref.name.clone(),
    };
    Some(match grant.reference.kind {
        GrantKind::KubernetesRoleBinding => Binding::Namespaced(RoleBinding { metadata, subjects, role_ref }),
        GrantKind::KubernetesClusterRoleBinding => {
            Binding::Cluster(ClusterRoleBinding { metadata, subjects, role_ref })
        }
    })
}

/// Compares a live binding with the one kudo wrote; `None` = absent.
pub fn observe(desired: &Binding, live: Option<&Binding>) -> Observation {
    let Some(live) = live else { return Observation::Absent };
    let (want_meta, want_subjects, want_role) = desired.parts();
    let (meta, subjects, role) = live.parts();
    let mut changes = Vec::new();
    if subjects != want_subjects {
        let names: Vec<String> = subjects.iter().map(|s| format!("{} {}", s.kind, s.name)).collect();
        changes.push(format!("subjects are now [{}]", names.join(", ")));
    }
    if role != want_role {
        changes.push(format!("roleRef is now {} {}", role.kind, role.name));
    }
    let want_labels = want_meta.labels.clone().unwrap_or_default();
    let labels = meta.labels.clone().unwrap_or_default();
    if want_labels.iter().any(|(k, v)| labels.get(k) != Some(v)) {
        changes.push("kudo's labels were changed".into());
    }
    let want_expiry = want_meta.annotations.as_ref().and_then(|a| a.get(EXPIRES_AT_ANNOTATION));
    if meta.annotations.as_ref().and_then(|a| a.get(EXPIRES_AT_ANNOTATION)) != want_expiry {
        changes.push(format!("its {EXPIRES_AT_ANNOTATION} annotation was changed"));
    }
    if !owned_by(meta, want_meta) {
        changes.push("it is not owned by this escalation".into());
    }
    if meta.deletion_timestamp.is_some() {
        changes.push("it is being deleted".into());
    }
    if changes.is_empty() { Observation::Intact } else { Observation::Tampered(changes.join("; ")) }
}

fn owned_by(meta: &ObjectMeta, want: &ObjectMeta) -> bool {
    let owner_uid = want.owner_references.as_ref().and_then(|o| o.first()).map(|o| &o.uid);
    meta.owner_references.iter().flatten().any(|o| Some(&o.uid) == owner_uid)
}

/// Whether a live binding is the one kudo created for `escalation` under
/// this ref: the same UID when status knows it, else (a PENDING ref, created
/// or not before a crash) kudo's labels for this escalation and an
/// ownerReference to it. A foreign namesake is never deleted by name alone.
pub fn is_kudos(escalation: &Escalation, grant: &GrantRef, live: &Binding) -> bool {
    let meta = live.metadata();
    if grant.reference.uid.is_some() && meta.uid == grant.reference.uid {
        return true;
    }
    let Some(name) = escalation.metadata.name.as_deref() else { return false };
    let labelled = labels(name).iter().all(|(k, v)| meta.labels.as_ref().and_then(|l| l.get(k)) == Some(v));
    let owned = meta.owner_references.iter().flatten().any(|o| Some(&o.uid) == escalation.metadata.uid.as_ref());
    labelled && owned
}

/// How long after an ACCEPTED escalation's expiry the sweep leaves its
/// bindings to the escalation's own reconcile, which is due at `expiresAt`.
/// Without it the two race: the sweep deletes a binding while a create the
/// reconcile sent just before expiry is still in flight, and the binding
/// is created a second time (found by the chaos soak).
pub const SWEEP_EXPIRY_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_secs(5);

/// Why a kudo-labelled binding found by the sweep must go (DESIGN §4), or
/// `None` when its escalation is ACCEPTED, unexpired (or expired less than
/// [`SWEEP_EXPIRY_GRACE`] ago), and names this very binding as live.
pub fn orphan_reason(found: &Binding, escalation: Option<&Escalation>, now: jiff::Timestamp) -> Option<String> {
    let meta = found.metadata();
    let Some(esc) = escalation else { return Some("its escalation does not exist".into()) };
    let Some(status) = &esc.status else { return Some("its escalation was never evaluated".into()) };
    if status.state != EscalationState::Accepted {
        return Some(format!("its escalation is {}", status.state.as_str()));
    }
    match status.expires_at.as_ref() {
        Some(at) if now < at.0.checked_add(SWEEP_EXPIRY_GRACE).unwrap_or(jiff::Timestamp::MAX) => {}
        Some(at) => return Some(format!("its escalation expired at {}", at.0)),
        None => return Some("its escalation has no expiresAt".into()),
    }
    let owned = meta.owner_references.iter().flatten().any(|o| Some(&o.uid) == esc.metadata.uid.as_ref());
    if !owned {
        return Some("it is not owned by the escalation of that name".into());
    }
    let named = status.grant_refs.iter().find(|r| {
        Some(&r.reference.name) == meta.name.as_ref() && r.reference.namespace.as_ref() == meta.namespace.as_ref()
    });
    match named {
        None => Some("its escalation does not name it".into()),
        Some(r) if r.status == GrantStatus::Reclaimed => Some("its escalation reclaimed it".into()),
        Some(r) if r.reference.uid.is_some() && r.reference.uid != meta.uid => {
            Some("it is not the binding its escalation created".into())
        }
        Some(_) => None,
    }
}

/// What the reaper knows of one escalation: its UID and `status.state`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub uid: String,
    pub state: Option<String>,
}

/// Why the reaper deletes `binding`, or `None` to keep it. It trusts only
/// the binding's own `expires-at` annotation and what the controller wrote.
pub fn reap_reason(binding: &Binding, escalations: &HashMap<String, Seen>, now: jiff::Timestamp) -> Option<String> {
    let meta = binding.metadata();
    let expires = meta.annotations.as_ref().and_then(|a| a.get(EXPIRES_AT_ANNOTATION));
    match expires.map(|t| t.parse::<jiff::Timestamp>()) {
        None => return Some(format!("it has no {EXPIRES_AT_ANNOTATION} annotation")),
        Some(Err(_)) => return Some(format!("its {EXPIRES_AT_ANNOTATION} annotation is not a time")),
        Some(Ok(at)) if at <= now => return Some(format!("it expired at {at}")),
        Some(Ok(_)) => {}
    }
    let name = meta.labels.as_ref().and_then(|l| l.get(ESCALATION_LABEL));
    let Some(seen) = name.and_then(|n| escalations.get(n)) else {
        return Some("its escalation does not exist".into());
    };
    if !meta.owner_references.iter().flatten().any(|o| o.uid == seen.uid) {
        return Some("it is not owned by the escalation of that name".into());
    }
    match seen.state.as_deref() {
        Some("PENDING" | "ACCEPTED") => None,
        Some(state) => Some(format!("its escalation is {state}")),
        None => Some("its escalation was never evaluated".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{EscalationSpec, EscalationStatus, GrantObjectRef, RoleRef};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn t(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn accepted(name: &str, uid: &str) -> (Escalation, GrantRef) {
        let mut e = Escalation::new(
            name,
            EscalationSpec {
                policy_name: "p".into(),
                requestor: "alice".into(),
                requestor_groups: vec![],
                reason: "r".into(),
                namespace: None,
                duration: None,
                revoked: false,
                revoked_by: String::new(),
                start_at: None,
                break_glass: false,
            },
        );
        e.metadata.uid = Some(uid.into());
        let mut status = EscalationStatus::new(EscalationState::Accepted);
        status.expires_at = Some(Time(t("2026-11-23T11:00:00Z")));
        let grant = GrantRef {
            status: GrantStatus::Pending,
            reference: GrantObjectRef {
                kind: GrantKind::KubernetesRoleBinding,
                name: format!("kudo-{name}-0"),
                namespace: Some("app".into()),
                uid: None,
                resource_version: None,
            },
            role_ref: RoleRef { kind: RoleKind::ClusterRole, name: "view".into(), api_group: RBAC_GROUP.into() },
        };
        status.grant_refs = vec![grant.clone()];
        e.status = Some(status);
        (e, grant)
    }

    #[test]
    fn bindings_carry_their_expiry_and_editing_it_is_tampering() {
        let (esc, grant) = accepted("e1", "uid-1");
        let desired = binding(&esc, &grant).unwrap();
        let at = desired.metadata().annotations.as_ref().unwrap()[EXPIRES_AT_ANNOTATION].clone();
        assert_eq!(at, "2026-11-23T11:00:00Z");
        assert_eq!(observe(&desired, Some(&desired)), Observation::Intact);
        let mut pushed = desired.clone();
        if let Binding::Namespaced(b) = &mut pushed {
            b.metadata.annotations =
                Some(BTreeMap::from([(EXPIRES_AT_ANNOTATION.into(), "2099-01-01T00:00:00Z".into())]));
        }
        assert!(matches!(observe(&desired, Some(&pushed)), Observation::Tampered(how) if how.contains("expires-at")));
        assert!(binding(&Escalation::new("x", esc.spec.clone()), &grant).is_none(), "no uid: not read from a server");
    }

    #[test]
    fn a_pending_ref_owns_only_a_binding_with_kudos_labels_and_owner() {
        let (esc, grant) = accepted("e1", "uid-1");
        let ours = binding(&esc, &grant).unwrap();
        assert!(is_kudos(&esc, &grant, &ours));
        let mut foreign = ours.clone();
        if let Binding::Namespaced(b) = &mut foreign {
            b.metadata.labels = None;
        }
        assert!(!is_kudos(&esc, &grant, &foreign), "same name, no labels");
        let (other, _) = accepted("e1", "uid-2");
        assert!(!is_kudos(&other, &grant, &ours), "a namesake escalation's binding");
    }

    #[test]
    fn the_reaper_keeps_only_unexpired_bindings_of_live_escalations() {
        let (esc, grant) = accepted("e1", "uid-1");
        let b = binding(&esc, &grant).unwrap();
        let before = t("2026-11-23T10:30:00Z");
        let seen = |state: &str, uid: &str| {
            HashMap::from([("e1".to_string(), Seen { uid: uid.into(), state: Some(state.into()) })])
        };
        assert_eq!(reap_reason(&b, &seen("ACCEPTED", "uid-1"), before), None);
        assert!(reap_reason(&b, &seen("ACCEPTED", "uid-1"), t("2026-11-23T11:00:00Z")).unwrap().contains("expired"));
        assert!(reap_reason(&b, &seen("EXPIRED", "uid-1"), before).unwrap().contains("EXPIRED"));
        assert!(reap_reason(&b, &seen("ACCEPTED", "uid-9"), before).unwrap().contains("not owned"));
        assert!(reap_reason(&b, &HashMap::new(), before).unwrap().contains("does not exist"));
        let mut bare = b.clone();
        if let Binding::Namespaced(rb) = &mut bare {
            rb.metadata.annotations = Some(BTreeMap::from([(EXPIRES_AT_ANNOTATION.into(), "soon".into())]));
        }
        assert!(reap_reason(&bare, &seen("ACCEPTED", "uid-1"), before).unwrap().contains("not a time"));
    }

    #[test]
    fn the_sweep_keeps_only_what_an_accepted_escalation_names() {
        let (mut esc, grant) = accepted("e1", "uid-1");
        let b = binding(&esc, &grant).unwrap();
        let now = t("2026-11-23T10:30:00Z");
        assert_eq!(orphan_reason(&b, Some(&esc), now), None);
        assert!(orphan_reason(&b, None, now).unwrap().contains("does not exist"));
        assert!(orphan_reason(&b, Some(&esc), t("2026-11-23T12:00:00Z")).unwrap().contains("expired"));
        // Just expired: its reconcile, due at expiresAt, reclaims it; the sweep waits a moment.
        assert_eq!(orphan_reason(&b, Some(&esc), t("2026-11-23T11:00:04Z")), None);
        assert!(orphan_reason(&b, Some(&esc), t("2026-11-23T11:00:05Z")).unwrap().contains("expired"));
        esc.status.as_mut().unwrap().grant_refs[0].status = GrantStatus::Reclaimed;
        assert!(orphan_reason(&b, Some(&esc), now).unwrap().contains("reclaimed"));
    }
}
