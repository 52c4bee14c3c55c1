//! Bindings as kudo writes them, and the pure rules about live ones (DESIGN
//! §4): the exact binding a grant ref names, whether a live one was tampered
//! with, whether it is kudo's, and why the sweep or the reaper removes it.
//! `grants` does the API calls.

use std::{
    collections::{BTreeMap, HashMap},
    hash::{BuildHasher, Hash, Hasher},
};

use k8s_openapi::{
    api::rbac::v1::{ClusterRoleBinding, RoleBinding, RoleRef as K8sRoleRef, Subject},
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
};
use kube::Resource;

use super::Observation;
use crate::api::{
    ESCALATION_LABEL, Escalation, EscalationState, GrantKind, GrantObjectRef, GrantRef, GrantStatus, MANAGED_BY_LABEL,
    MANAGED_BY_VALUE, RBAC_GROUP, RoleKind,
};

/// Annotation on every binding: when it must be gone (RFC 3339). Anyone who
/// may edit the binding can change it, so the reaper only ever lets it bring
/// an end forward (DESIGN §4).
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

/// Which binding this is, hashed with `keys`: kind, namespace and name (pure).
pub fn place(kind: GrantKind, namespace: Option<&str>, name: &str, keys: &impl BuildHasher) -> u64 {
    keys.hash_one((kind, namespace, name))
}

/// Everything [`observe`] compares of a binding, and which object it is
/// (its place and `uid`), hashed with `keys` (pure). A live binding whose
/// fingerprint is that of the binding kudo wrote, under the UID kudo's
/// create returned, is observed [`Observation::Intact`]; any difference
/// (an extra label included) changes it, and the caller then reads the
/// binding and compares it whole. `keys` is the process's random SipHash
/// key, so that nobody can craft a binding that collides.
pub fn fingerprint(b: &Binding, uid: Option<&str>, keys: &impl BuildHasher) -> u64 {
    let (meta, subjects, role) = b.parts();
    fingerprint_of(b.grant_kind(), meta, subjects, role, uid, keys)
}

/// [`fingerprint`] of a binding given by its parts, as a watch delivers it.
pub fn fingerprint_of(
    kind: GrantKind,
    meta: &ObjectMeta,
    subjects: &[Subject],
    role: &K8sRoleRef,
    uid: Option<&str>,
    keys: &impl BuildHasher,
) -> u64 {
    let mut h = keys.build_hasher();
    place(kind, meta.namespace.as_deref(), meta.name.as_deref().unwrap_or_default(), keys).hash(&mut h);
    uid.hash(&mut h);
    subjects.len().hash(&mut h);
    for s in subjects {
        (&s.kind, &s.name, &s.api_group, &s.namespace).hash(&mut h);
    }
    (&role.api_group, &role.kind, &role.name).hash(&mut h);
    meta.labels.hash(&mut h);
    meta.annotations.as_ref().and_then(|a| a.get(EXPIRES_AT_ANNOTATION)).hash(&mut h);
    let owners: Vec<&str> = meta.owner_references.iter().flatten().map(|o| o.uid.as_str()).collect();
    owners.hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    h.finish()
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

/// What the reaper reads of a kudo-labelled binding, and nothing more: a
/// pass holds one for every binding it lists, so a namespace full of junk
/// bindings costs a few hundred bytes each, not the whole objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub kind: GrantKind,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
    /// Its `k8s.kudo.dev/escalation` label.
    pub escalation: Option<String>,
    /// Its `k8s.kudo.dev/expires-at` annotation, as written.
    pub expires_at: Option<String>,
    /// The UIDs its ownerReferences name.
    pub owners: Vec<String>,
}

impl Found {
    pub fn of(binding: &Binding) -> Self {
        let meta = binding.metadata();
        Found {
            kind: binding.grant_kind(),
            namespace: meta.namespace.clone(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            escalation: meta.labels.as_ref().and_then(|l| l.get(ESCALATION_LABEL)).cloned(),
            expires_at: meta.annotations.as_ref().and_then(|a| a.get(EXPIRES_AT_ANNOTATION)).cloned(),
            owners: meta.owner_references.iter().flatten().map(|o| o.uid.clone()).collect(),
        }
    }

    /// `rolebinding NS/NAME` or `clusterrolebinding NAME`, as kubectl names them.
    pub fn describe(&self) -> String {
        match (&self.kind, &self.namespace) {
            (GrantKind::KubernetesRoleBinding, Some(ns)) => format!("rolebinding {ns}/{}", self.name),
            (GrantKind::KubernetesRoleBinding, None) => format!("rolebinding {}", self.name),
            (GrantKind::KubernetesClusterRoleBinding, _) => format!("clusterrolebinding {}", self.name),
        }
    }
}

/// What the reaper knows of one escalation. Read from untyped JSON, so no
/// object a user wrote, however malformed, can fail a pass: a field that
/// does not parse is simply not known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub uid: String,
    /// `status.state`, written by the controller alone.
    pub state: Option<String>,
    /// `status.expiresAt`, written by the controller alone: unlike a
    /// binding's annotation, no namespace admin can move it.
    pub expires_at: Option<jiff::Timestamp>,
    /// `spec.revoked`: the requestor or an admin ended it early.
    pub revoked: bool,
    /// `metadata.deletionTimestamp` is set: someone deleted it.
    pub deleting: bool,
    /// The bindings `status.grantRefs` names.
    pub grants: Vec<GrantObjectRef>,
}

impl Seen {
    /// Reads an escalation's `spec` and `status` as JSON.
    pub fn read(uid: String, deleting: bool, object: &serde_json::Value) -> Self {
        let status = &object["status"];
        let refs = status["grantRefs"].as_array().map(Vec::as_slice).unwrap_or_default();
        Seen {
            uid,
            state: status["state"].as_str().map(String::from),
            expires_at: status["expiresAt"].as_str().and_then(|t| t.parse().ok()),
            revoked: object["spec"]["revoked"].as_bool() == Some(true),
            deleting,
            grants: refs.iter().filter_map(|r| serde_json::from_value(r["ref"].clone()).ok()).collect(),
        }
    }

    /// Whether status names this very binding: the controller records a
    /// binding before it creates it, and nobody else writes status.
    fn records(&self, found: &Found) -> bool {
        self.grants.iter().any(|r| {
            r.kind == found.kind
                && r.name == found.name
                && (found.kind == GrantKind::KubernetesClusterRoleBinding || r.namespace == found.namespace)
                && r.uid.as_ref().is_none_or(|uid| *uid == found.uid)
        })
    }
}

/// Why the reaper deletes a binding, and how urgently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reap {
    pub why: String,
    pub urgency: Urgency,
}

/// A pass may run out of time, so due bindings are deleted in this order
/// (smallest first): what grants the most, and what kudo itself recorded,
/// before what anyone can create in bulk; the longest overdue first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Urgency {
    pub reach: Reach,
    pub provenance: Provenance,
    /// Since when it should have been gone (never after the pass's `now`).
    pub due_since: jiff::Timestamp,
}

/// ClusterRoleBindings first: they grant in every namespace, and only
/// cluster admins (and kudo) can create them, so nobody can flood them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    Cluster,
    Namespace,
}

/// A binding its escalation's status names is a grant kudo made; a
/// namespace admin can create any number of the others (copying kudo's
/// labels, an escalation's name and UID, any annotation), none of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Provenance {
    Recorded,
    Unrecorded,
}

/// Why the reaper deletes `found`, and how urgently, or `None` to keep it.
/// A binding ends at the earliest of its own `expires-at` annotation
/// (anyone who may edit the binding can move that, so it may only bring
/// the end forward) and what its escalation says: `status.expiresAt`,
/// `spec.revoked`, deletion, a final state.
pub fn reap_decision(found: &Found, escalations: &HashMap<String, Seen>, now: jiff::Timestamp) -> Option<Reap> {
    let named = found.escalation.as_deref().and_then(|n| escalations.get(n));
    let owner = named.filter(|seen| found.owners.contains(&seen.uid));
    let urgency = |due: jiff::Timestamp| Urgency {
        reach: match found.kind {
            GrantKind::KubernetesClusterRoleBinding => Reach::Cluster,
            GrantKind::KubernetesRoleBinding => Reach::Namespace,
        },
        provenance: if owner.is_some_and(|seen| seen.records(found)) {
            Provenance::Recorded
        } else {
            Provenance::Unrecorded
        },
        due_since: due.min(now),
    };
    let reap = |why: String, due: jiff::Timestamp| Some(Reap { why, urgency: urgency(due) });
    let annotated = match found.expires_at.as_deref().map(str::parse::<jiff::Timestamp>) {
        None => return reap(format!("it has no {EXPIRES_AT_ANNOTATION} annotation"), now),
        Some(Err(_)) => return reap(format!("its {EXPIRES_AT_ANNOTATION} annotation is not a time"), now),
        Some(Ok(at)) => at,
    };
    match owner.and_then(|seen| seen.expires_at) {
        Some(at) if at < annotated && at <= now => return reap(format!("its escalation expired at {at}"), at),
        _ if annotated <= now => return reap(format!("it expired at {annotated}"), annotated),
        _ => {}
    }
    if named.is_none() {
        return reap("its escalation does not exist".into(), now);
    }
    let Some(seen) = owner else { return reap("it is not owned by the escalation of that name".into(), now) };
    if seen.revoked {
        return reap("its escalation was revoked".into(), now);
    }
    if seen.deleting {
        return reap("its escalation is being deleted".into(), now);
    }
    match seen.state.as_deref() {
        Some("PENDING" | "ACCEPTED") => None,
        Some(state) => reap(format!("its escalation is {state}"), now),
        None => reap("its escalation was never evaluated".into(), now),
    }
}

/// Whether a reap decision made from `escalations` may be wrong because
/// the escalation is newer than that list: it names none there, or another
/// instance. A binding that names no escalation at all, or whose own
/// annotation is past, is due whatever any list says.
pub fn awaits_newer_escalation(found: &Found, escalations: &HashMap<String, Seen>, now: jiff::Timestamp) -> bool {
    let annotated_past =
        found.expires_at.as_deref().and_then(|t| t.parse::<jiff::Timestamp>().ok()).is_some_and(|at| at <= now);
    let Some(name) = found.escalation.as_deref() else { return false };
    !annotated_past && escalations.get(name).is_none_or(|seen| !found.owners.contains(&seen.uid))
}

/// The order a pass deletes due bindings in: by [`Urgency`], then by
/// namespace and name, so two passes over the same cluster agree.
fn order_key(due: &(Found, Reap)) -> (Urgency, &Option<String>, &str) {
    (due.1.urgency, &due.0.namespace, &due.0.name)
}

/// Sorts due bindings into the order a pass deletes them.
pub fn reap_order(due: &mut [(Found, Reap)]) {
    due.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
}

/// The `cap` most urgent of the due bindings a pass lists. Anyone who may
/// create bindings can create more than a pass can delete within its
/// budget; holding all of them would let them exhaust the reaper's memory,
/// and those beyond what a pass can reach wait for the next one anyway.
#[derive(Debug)]
pub struct MostUrgent {
    cap: usize,
    /// A max-heap: the least urgent kept is on top, the first to give way.
    heap: std::collections::BinaryHeap<ByUrgency>,
    /// How many due bindings gave way to more urgent ones.
    pub passed_over: usize,
}

#[derive(Debug)]
struct ByUrgency((Found, Reap));

impl PartialEq for ByUrgency {
    fn eq(&self, other: &Self) -> bool {
        order_key(&self.0) == order_key(&other.0)
    }
}
impl Eq for ByUrgency {}
impl PartialOrd for ByUrgency {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByUrgency {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        order_key(&self.0).cmp(&order_key(&other.0))
    }
}

impl MostUrgent {
    pub fn new(cap: usize) -> Self {
        Self { cap, heap: std::collections::BinaryHeap::new(), passed_over: 0 }
    }

    pub fn push(&mut self, found: Found, reap: Reap) {
        self.heap.push(ByUrgency((found, reap)));
        if self.heap.len() > self.cap {
            self.heap.pop();
            self.passed_over += 1;
        }
    }

    /// The bindings kept, most urgent first.
    pub fn into_sorted(self) -> Vec<(Found, Reap)> {
        self.heap.into_sorted_vec().into_iter().map(|d| d.0).collect()
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
                extends: String::new(),
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
    fn a_binding_with_the_fingerprint_kudo_wrote_is_intact_and_any_change_shows() {
        let keys = std::collections::hash_map::RandomState::new();
        let (esc, mut grant) = accepted("e1", "uid-1");
        grant.reference.uid = Some("b-1".into());
        let desired = binding(&esc, &grant).unwrap();
        let mut live = desired.clone();
        if let Binding::Namespaced(b) = &mut live {
            b.metadata.uid = Some("b-1".into());
            b.metadata.resource_version = Some("7".into());
            b.metadata.creation_timestamp = Some(Time(t("2026-11-23T10:00:00Z")));
        }
        let wrote = fingerprint(&desired, Some("b-1"), &keys);
        assert_eq!(fingerprint(&live, live.metadata().uid.as_deref(), &keys), wrote, "as created");
        assert_eq!(observe(&desired, Some(&live)), Observation::Intact);
        assert_ne!(fingerprint(&live, Some("b-2"), &keys), wrote, "another object of that name");
        let other_keys = std::collections::hash_map::RandomState::new();
        assert_ne!(fingerprint(&live, Some("b-1"), &other_keys), wrote, "keyed per process");

        type Edit = fn(&mut RoleBinding);
        let edits: [(&str, Edit); 9] = [
            ("subject added", |b| {
                b.subjects.get_or_insert_default().push(Subject {
                    kind: "User".into(),
                    name: "mallory".into(),
                    ..Default::default()
                })
            }),
            ("subject renamed", |b| b.subjects.as_mut().unwrap()[0].name = "mallory".into()),
            ("subject kind", |b| b.subjects.as_mut().unwrap()[0].kind = "Group".into()),
            ("role", |b| b.role_ref.name = "admin".into()),
            ("role kind", |b| b.role_ref.kind = "Role".into()),
            ("label added", |b| {
                b.metadata.labels.get_or_insert_default().insert("x".into(), "y".into());
            }),
            ("expiry pushed", |b| {
                b.metadata
                    .annotations
                    .get_or_insert_default()
                    .insert(EXPIRES_AT_ANNOTATION.into(), "2099-01-01T00:00:00Z".into());
            }),
            ("owner", |b| b.metadata.owner_references.as_mut().unwrap()[0].uid = "uid-2".into()),
            ("deleting", |b| b.metadata.deletion_timestamp = Some(Time(t("2026-11-23T10:30:00Z")))),
        ];
        for (what, edit) in edits {
            let mut changed = live.clone();
            if let Binding::Namespaced(b) = &mut changed {
                edit(b);
            }
            assert_ne!(fingerprint(&changed, Some("b-1"), &keys), wrote, "{what}");
        }
        // What observe does not compare does not change it.
        let mut annotated = live.clone();
        if let Binding::Namespaced(b) = &mut annotated {
            b.metadata.annotations.get_or_insert_default().insert("note".into(), "hi".into());
            b.metadata.resource_version = Some("8".into());
        }
        assert_eq!(fingerprint(&annotated, Some("b-1"), &keys), wrote);
        assert_eq!(observe(&desired, Some(&annotated)), Observation::Intact);
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

    fn seen_of(esc: &Escalation) -> HashMap<String, Seen> {
        let json = serde_json::to_value(esc).unwrap();
        let seen = Seen::read(esc.metadata.uid.clone().unwrap(), false, &json);
        HashMap::from([(esc.metadata.name.clone().unwrap(), seen)])
    }

    fn why(found: &Found, seen: &HashMap<String, Seen>, now: jiff::Timestamp) -> Option<String> {
        reap_decision(found, seen, now).map(|r| r.why)
    }

    #[test]
    fn the_reaper_keeps_only_unexpired_bindings_of_live_escalations() {
        let (esc, grant) = accepted("e1", "uid-1");
        let b = Found::of(&binding(&esc, &grant).unwrap());
        let before = t("2026-11-23T10:30:00Z");
        let seen = |state: &str, uid: &str| {
            let mut s = seen_of(&esc);
            let e1 = s.get_mut("e1").unwrap();
            e1.state = Some(state.into());
            e1.uid = uid.into();
            s
        };
        assert_eq!(why(&b, &seen("ACCEPTED", "uid-1"), before), None);
        assert!(why(&b, &seen("ACCEPTED", "uid-1"), t("2026-11-23T11:00:00Z")).unwrap().contains("expired"));
        assert!(why(&b, &seen("EXPIRED", "uid-1"), before).unwrap().contains("EXPIRED"));
        assert!(why(&b, &seen("ACCEPTED", "uid-9"), before).unwrap().contains("not owned"));
        assert!(why(&b, &HashMap::new(), before).unwrap().contains("does not exist"));
        let bare = Found { expires_at: Some("soon".into()), ..b.clone() };
        assert!(why(&bare, &seen("ACCEPTED", "uid-1"), before).unwrap().contains("not a time"));
        let none = Found { expires_at: None, ..b };
        assert!(why(&none, &seen("ACCEPTED", "uid-1"), before).unwrap().contains("no k8s.kudo.dev/expires-at"));
    }

    #[test]
    fn the_reaper_takes_the_earliest_end_of_binding_and_escalation() {
        let (mut esc, grant) = accepted("e1", "uid-1");
        let b = Found::of(&binding(&esc, &grant).unwrap());
        let (before, after) = (t("2026-11-23T10:30:00Z"), t("2026-11-23T11:00:01Z"));
        // A namespace admin pushed the annotation out: status.expiresAt still ends it.
        let pushed = Found { expires_at: Some("2099-01-01T00:00:00Z".into()), ..b.clone() };
        assert_eq!(why(&pushed, &seen_of(&esc), before), None);
        let reap = reap_decision(&pushed, &seen_of(&esc), after).unwrap();
        assert_eq!(reap.why, "its escalation expired at 2026-11-23T11:00:00Z");
        assert_eq!(reap.urgency.due_since, t("2026-11-23T11:00:00Z"));
        // Pulled in, the annotation ends it earlier than status says.
        let pulled = Found { expires_at: Some("2026-11-23T10:00:00Z".into()), ..b.clone() };
        assert!(why(&pulled, &seen_of(&esc), before).unwrap().contains("it expired at 2026-11-23T10:00:00Z"));
        // Revoked, or deleted, ends it at once.
        esc.spec.revoked = true;
        assert_eq!(why(&pushed, &seen_of(&esc), before).as_deref(), Some("its escalation was revoked"));
        esc.spec.revoked = false;
        let mut deleting = seen_of(&esc);
        deleting.get_mut("e1").unwrap().deleting = true;
        assert_eq!(why(&pushed, &deleting, before).as_deref(), Some("its escalation is being deleted"));
        // A namesake's status says nothing about a binding it does not own.
        let mut other = seen_of(&esc);
        other.get_mut("e1").unwrap().uid = "uid-9".into();
        assert!(why(&pushed, &other, after).unwrap().contains("not owned"));
    }

    #[test]
    fn only_a_binding_of_an_unknown_or_other_escalation_awaits_a_newer_list() {
        let (esc, grant) = accepted("e1", "uid-1");
        let ours = Found::of(&binding(&esc, &grant).unwrap());
        let seen = seen_of(&esc);
        let now = t("2026-11-23T10:30:00Z");
        assert!(!awaits_newer_escalation(&ours, &seen, now));
        assert!(awaits_newer_escalation(&ours, &HashMap::new(), now), "created after the list was taken?");
        let mut other = seen.clone();
        other.get_mut("e1").unwrap().uid = "uid-2".into();
        assert!(awaits_newer_escalation(&ours, &other, now), "a new instance of the name?");
        let unlabelled = Found { escalation: None, ..ours.clone() };
        assert!(!awaits_newer_escalation(&unlabelled, &HashMap::new(), now));
        assert!(!awaits_newer_escalation(&ours, &HashMap::new(), t("2026-11-23T11:00:00Z")), "expired anyway");
    }

    #[test]
    fn escalations_that_do_not_parse_are_read_as_far_as_they_do() {
        let seen = Seen::read(
            "u".into(),
            false,
            &serde_json::json!({
                "spec": {"revoked": "yes"},
                "status": {"state": 7, "expiresAt": "tomorrow", "grantRefs": [{"ref": 1}, "x", {"ref": {"kind": "KubernetesRoleBinding", "name": "n"}}]},
            }),
        );
        assert_eq!(seen.state, None);
        assert_eq!(seen.expires_at, None);
        assert!(!seen.revoked);
        assert_eq!(seen.grants.len(), 1);
        assert_eq!(
            Seen::read("u".into(), true, &serde_json::Value::Null),
            Seen { uid: "u".into(), deleting: true, ..Seen::default() }
        );
    }

    #[test]
    fn the_reaper_deletes_cluster_wide_then_recorded_then_the_longest_overdue_first() {
        let (esc, grant) = accepted("e1", "uid-1");
        let ours = Found::of(&binding(&esc, &grant).unwrap());
        let seen = seen_of(&esc);
        let now = t("2026-11-23T12:00:00Z");
        let cluster = Found {
            kind: GrantKind::KubernetesClusterRoleBinding,
            namespace: None,
            name: "kudo-x-0".into(),
            escalation: Some("gone".into()),
            ..ours.clone()
        };
        // A namespace admin's copy: kudo's labels, the escalation's name and UID, an old expiry.
        let copy = Found { name: "junk-1".into(), expires_at: Some("1970-01-01T00:00:00Z".into()), ..ours.clone() };
        let junk = Found { name: "junk-0".into(), escalation: Some("gone".into()), expires_at: None, ..ours.clone() };
        let older = Found { name: "junk-2".into(), ..copy.clone() };
        let mut due: Vec<(Found, Reap)> = [junk, copy, older, ours.clone(), cluster]
            .into_iter()
            .map(|f| {
                let r = reap_decision(&f, &seen, now).unwrap();
                (f, r)
            })
            .collect();
        reap_order(&mut due);
        let names: Vec<&str> = due.iter().map(|(f, _)| f.name.as_str()).collect();
        assert_eq!(names, ["kudo-x-0", "kudo-e1-0", "junk-1", "junk-2", "junk-0"]);
        // Kept to a cap, the most urgent stay, in the same order.
        let mut top = MostUrgent::new(3);
        for d in due.iter().rev() {
            top.push(d.0.clone(), d.1.clone());
        }
        assert_eq!(top.passed_over, 2);
        let kept: Vec<String> = top.into_sorted().into_iter().map(|(f, _)| f.name).collect();
        assert_eq!(kept, ["kudo-x-0", "kudo-e1-0", "junk-1"]);
        assert_eq!(due[1].1.urgency.provenance, Provenance::Recorded);
        assert_eq!(due[2].1.urgency.provenance, Provenance::Unrecorded, "copying the UID does not make it kudo's");
        // A recorded UID must match too: a binding recreated under the same name is not the one kudo made.
        let mut created = seen.clone();
        created.get_mut("e1").unwrap().grants[0].uid = Some("another".into());
        let r = reap_decision(&ours, &created, now).unwrap();
        assert_eq!(r.urgency.provenance, Provenance::Unrecorded);
        assert_eq!(ours.describe(), "rolebinding app/kudo-e1-0");
        assert_eq!(due[0].0.describe(), "clusterrolebinding kudo-x-0");
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
