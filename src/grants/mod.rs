//! Grants (DESIGN §4): the RBAC bindings an accepted escalation holds.
//!
//! `binding` builds the exact object a [`GrantRef`] names (pure, so it is
//! tested without a cluster); [`Grants`] creates, inspects and reclaims them.
//! A binding is kudo's only if its labels, subject and roleRef are exactly
//! what kudo wrote: anything else is tampering.

use k8s_openapi::{
    api::rbac::v1::{ClusterRoleBinding, RoleBinding, RoleRef as K8sRoleRef, Subject},
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
};
use kube::{
    Api, Client, Resource,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions},
};
use std::collections::BTreeMap;

pub mod reap;

use crate::{
    api::{
        ESCALATION_LABEL, Escalation, FIELD_MANAGER, GrantKind, GrantObjectRef, GrantRef, MANAGED_BY_LABEL,
        MANAGED_BY_VALUE, RBAC_GROUP, RoleKind,
    },
    engine::Observation,
};

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("{action} {kind} {name}: {source}")]
    Api { action: &'static str, kind: &'static str, name: String, source: kube::Error },
    #[error("the escalation has no name or uid; it was not read from the API server")]
    Unidentified,
    #[error("{kind} {name} is still terminating after its finalizers were removed; retrying")]
    Terminating { kind: &'static str, name: String },
}

impl GrantError {
    /// Whether retrying cannot help: the namespace is missing (404), kudo
    /// may not create it (403), or the API server rejects it (422).
    pub fn is_permanent(&self) -> bool {
        matches!(self, GrantError::Api { source: kube::Error::Api(s), .. } if matches!(s.code, 403 | 404 | 422))
    }

    /// The API server's own words, for a user.
    pub fn reason(&self) -> String {
        match self {
            GrantError::Api { source: kube::Error::Api(s), .. } => s.message.clone(),
            other => other.to_string(),
        }
    }
}

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
pub fn binding(escalation: &Escalation, grant: &GrantRef) -> Result<Binding, GrantError> {
    let (Some(name), Some(uid)) = (escalation.metadata.name.clone(), escalation.metadata.uid.clone()) else {
        return Err(GrantError::Unidentified);
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
    Ok(match grant.reference.kind {
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

/// Talks to the API server about bindings.
#[derive(Clone)]
pub struct Grants {
    client: Client,
}

/// What a create or reclaim did, for status and audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

impl Grants {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    fn role_bindings(&self, namespace: &str) -> Api<RoleBinding> {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn cluster_role_bindings(&self) -> Api<ClusterRoleBinding> {
        Api::all(self.client.clone())
    }

    /// The live binding a ref names, if any.
    pub async fn get(&self, grant: &GrantRef) -> Result<Option<Binding>, GrantError> {
        let name = &grant.reference.name;
        let err = |source| GrantError::Api {
            action: "reading",
            kind: kind_name(grant.reference.kind),
            name: name.clone(),
            source,
        };
        Ok(match grant.reference.kind {
            GrantKind::KubernetesRoleBinding => {
                let ns = grant.reference.namespace.as_deref().unwrap_or_default();
                self.role_bindings(ns).get_opt(name).await.map_err(err)?.map(Binding::Namespaced)
            }
            GrantKind::KubernetesClusterRoleBinding => {
                self.cluster_role_bindings().get_opt(name).await.map_err(err)?.map(Binding::Cluster)
            }
        })
    }

    /// Creates the binding. If one of that name exists already (a retry after
    /// a crash between creating it and recording it), it is adopted only when
    /// it is exactly kudo's; otherwise the observation says why not.
    pub async fn create(
        &self,
        escalation: &Escalation,
        grant: &GrantRef,
    ) -> Result<Result<Written, Observation>, GrantError> {
        let desired = binding(escalation, grant)?;
        let name = grant.reference.name.clone();
        let params = PostParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
        let created = match &desired {
            Binding::Namespaced(b) => {
                let ns = grant.reference.namespace.as_deref().unwrap_or_default();
                self.role_bindings(ns).create(&params, b).await.map(|b| b.metadata)
            }
            Binding::Cluster(b) => self.cluster_role_bindings().create(&params, b).await.map(|b| b.metadata),
        };
        match created {
            Ok(meta) => Ok(Ok(Written { uid: meta.uid, resource_version: meta.resource_version })),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let live = self.get(grant).await?;
                match observe(&desired, live.as_ref()) {
                    Observation::Intact => {
                        let meta = live.as_ref().map(Binding::metadata);
                        Ok(Ok(Written {
                            uid: meta.and_then(|m| m.uid.clone()),
                            resource_version: meta.and_then(|m| m.resource_version.clone()),
                        }))
                    }
                    other => Ok(Err(other)),
                }
            }
            Err(source) => {
                Err(GrantError::Api { action: "creating", kind: kind_name(grant.reference.kind), name, source })
            }
        }
    }

    /// Deletes the binding a ref names, once it is known to be kudo's (see
    /// [`is_kudos`]); a missing one, or a namesake that is not kudo's,
    /// counts as reclaimed. Returns only once the binding is gone.
    pub async fn reclaim(&self, escalation: &Escalation, grant: &GrantRef) -> Result<(), GrantError> {
        let target = match &grant.reference.uid {
            // Fast path: delete preconditioned on the UID status recorded.
            Some(uid) => match self.delete(grant.reference.kind, &grant.reference, uid).await {
                Err(GrantError::Api { source: kube::Error::Api(s), .. }) if s.code == 409 => self.get(grant).await?,
                done => return done,
            },
            None => self.get(grant).await?,
        };
        let Some(live) = target.filter(|live| is_kudos(escalation, grant, live)) else { return Ok(()) };
        let uid = live.metadata().uid.clone().unwrap_or_default();
        match self.delete(grant.reference.kind, &grant.reference, &uid).await {
            Err(GrantError::Api { source: kube::Error::Api(s), .. }) if s.code == 409 => Ok(()),
            done => done,
        }
    }

    /// Deletes one binding preconditioned on `uid`; 404 is success. A binding
    /// held by a finalizer someone else added keeps granting while it is
    /// terminating (the RBAC authorizer honours it), so kudo removes the
    /// finalizers of a binding it owns and confirms it is gone.
    async fn delete(&self, kind: GrantKind, reference: &GrantObjectRef, uid: &str) -> Result<(), GrantError> {
        let name = &reference.name;
        let ns = reference.namespace.as_deref().unwrap_or_default();
        let kind_name = kind_name(kind);
        let err = |action, source| GrantError::Api { action, kind: kind_name, name: name.clone(), source };
        let mut params = DeleteParams::background();
        params.preconditions = Some(Preconditions { uid: Some(uid.to_string()), resource_version: None });
        let deleted = match kind {
            GrantKind::KubernetesRoleBinding => {
                self.role_bindings(ns).delete(name, &params).await.map(|e| e.left().map(|b| b.metadata))
            }
            GrantKind::KubernetesClusterRoleBinding => {
                self.cluster_role_bindings().delete(name, &params).await.map(|e| e.left().map(|b| b.metadata))
            }
        };
        let still = match deleted {
            Ok(still) => still,
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(source) => return Err(err("deleting", source)),
        };
        // The API server answers a delete with a Status, or with the object:
        // as it was (gone), or terminating when finalizers hold it.
        let Some(meta) = still.filter(|m| m.finalizers.as_ref().is_some_and(|f| !f.is_empty())) else {
            return Ok(());
        };
        tracing::warn!(binding = %name, finalizers = ?meta.finalizers, "removing foreign finalizers from a kudo binding being reclaimed");
        let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
            {"op": "test", "path": "/metadata/uid", "value": uid},
            {"op": "remove", "path": "/metadata/finalizers"},
        ]))
        .map_err(|e| err("patching", kube::Error::SerdeError(e)))?;
        let pp = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
        let patched = match kind {
            GrantKind::KubernetesRoleBinding => {
                self.role_bindings(ns).patch(name, &pp, &Patch::<()>::Json(patch)).await.map(|_| ())
            }
            GrantKind::KubernetesClusterRoleBinding => {
                self.cluster_role_bindings().patch(name, &pp, &Patch::<()>::Json(patch)).await.map(|_| ())
            }
        };
        match patched {
            // Gone (404), or no longer that object (the `test` failed: 422).
            Ok(()) => {}
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 422 => {}
            Err(source) => return Err(err("removing finalizers from", source)),
        }
        let gone = match kind {
            GrantKind::KubernetesRoleBinding => {
                self.role_bindings(ns).get_opt(name).await.map(|b| b.map(|b| b.metadata.uid))
            }
            GrantKind::KubernetesClusterRoleBinding => {
                self.cluster_role_bindings().get_opt(name).await.map(|b| b.map(|b| b.metadata.uid))
            }
        }
        .map_err(|source| err("reading", source))?
        .is_none_or(|live| live.as_deref() != Some(uid));
        if gone { Ok(()) } else { Err(GrantError::Terminating { kind: kind_name, name: name.clone() }) }
    }

    /// One page of the bindings of one kind carrying kudo's managed-by label,
    /// cluster-wide, and the token for the next page. Paged so a sweep of a
    /// large cluster holds a page in memory, not every binding.
    pub async fn list_managed_page(
        &self,
        cluster: bool,
        token: Option<&str>,
    ) -> Result<(Vec<Binding>, Option<String>), GrantError> {
        let mut lp = ListParams::default().labels(&managed_selector()).limit(SWEEP_PAGE);
        if let Some(token) = token {
            lp = lp.continue_token(token);
        }
        let err = |kind, source| GrantError::Api { action: "listing", kind, name: String::new(), source };
        if cluster {
            let list = self.cluster_role_bindings().list(&lp).await.map_err(|e| err("ClusterRoleBindings", e))?;
            Ok((list.items.into_iter().map(Binding::Cluster).collect(), list.metadata.continue_))
        } else {
            let list =
                Api::<RoleBinding>::all(self.client.clone()).list(&lp).await.map_err(|e| err("RoleBindings", e))?;
            Ok((list.items.into_iter().map(Binding::Namespaced).collect(), list.metadata.continue_))
        }
    }

    /// The bindings labelled for one escalation.
    pub async fn list_managed_for(&self, escalation: &str) -> Result<Vec<Binding>, GrantError> {
        self.list(&format!("{},{ESCALATION_LABEL}={escalation}", managed_selector())).await
    }

    async fn list(&self, selector: &str) -> Result<Vec<Binding>, GrantError> {
        let lp = ListParams::default().labels(selector);
        let err = |kind, source| GrantError::Api { action: "listing", kind, name: String::new(), source };
        let mut out: Vec<Binding> = Api::<RoleBinding>::all(self.client.clone())
            .list(&lp)
            .await
            .map_err(|e| err("RoleBindings", e))?
            .items
            .into_iter()
            .map(Binding::Namespaced)
            .collect();
        out.extend(
            self.cluster_role_bindings()
                .list(&lp)
                .await
                .map_err(|e| err("ClusterRoleBindings", e))?
                .items
                .into_iter()
                .map(Binding::Cluster),
        );
        Ok(out)
    }

    /// Deletes a binding found by the sweep or the reaper, preconditioned
    /// on its UID; gone or replaced since the list counts as done.
    pub async fn delete_found(&self, found: &Binding) -> Result<(), GrantError> {
        let meta = found.metadata();
        let reference = GrantObjectRef {
            kind: found.grant_kind(),
            name: meta.name.clone().unwrap_or_default(),
            namespace: meta.namespace.clone(),
            uid: None,
            resource_version: None,
        };
        match self.delete(reference.kind, &reference, meta.uid.as_deref().unwrap_or_default()).await {
            Err(GrantError::Api { source: kube::Error::Api(s), .. }) if s.code == 409 => Ok(()),
            done => done,
        }
    }
}

fn kind_name(kind: GrantKind) -> &'static str {
    match kind {
        GrantKind::KubernetesRoleBinding => "RoleBinding",
        GrantKind::KubernetesClusterRoleBinding => "ClusterRoleBinding",
    }
}

const SWEEP_PAGE: u32 = 500;

/// Why a kudo-labelled binding found by the sweep must go (DESIGN §4), or
/// `None` when its escalation is ACCEPTED, unexpired, and names this very
/// binding as live.
pub fn orphan_reason(found: &Binding, escalation: Option<&Escalation>, now: jiff::Timestamp) -> Option<String> {
    use crate::api::EscalationState;
    let meta = found.metadata();
    let Some(esc) = escalation else { return Some("its escalation does not exist".into()) };
    let Some(status) = &esc.status else { return Some("its escalation was never evaluated".into()) };
    if status.state != EscalationState::Accepted {
        return Some(format!("its escalation is {}", status.state.as_str()));
    }
    match status.expires_at.as_ref() {
        Some(at) if now < at.0 => {}
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
        Some(r) if r.status == crate::api::GrantStatus::Reclaimed => Some("its escalation reclaimed it".into()),
        Some(r) if r.reference.uid.is_some() && r.reference.uid != meta.uid => {
            Some("it is not the binding its escalation created".into())
        }
        Some(_) => None,
    }
}
