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
    Api, Client, Resource, ResourceExt,
    api::{DeleteParams, ListParams, PostParams, Preconditions},
};
use std::collections::BTreeMap;

use crate::{
    api::{
        ESCALATION_LABEL, Escalation, GrantKind, GrantRef, MANAGED_BY_LABEL, MANAGED_BY_VALUE, RBAC_GROUP, RoleKind,
    },
    engine::Observation,
};

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("{action} {kind} {name}: {source}")]
    Api { action: &'static str, kind: &'static str, name: String, source: kube::Error },
    #[error("the escalation has no name or uid; it was not read from the API server")]
    Unidentified,
}

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

/// The binding `grant` names, for `escalation`'s requestor.
pub fn binding(escalation: &Escalation, grant: &GrantRef) -> Result<Binding, GrantError> {
    let (Some(name), Some(uid)) = (escalation.metadata.name.clone(), escalation.metadata.uid.clone()) else {
        return Err(GrantError::Unidentified);
    };
    let metadata = ObjectMeta {
        name: Some(grant.reference.name.clone()),
        namespace: grant.reference.namespace.clone(),
        labels: Some(labels(&name)),
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
    let owner_uid = want_meta.owner_references.as_ref().and_then(|o| o.first()).map(|o| &o.uid);
    if !meta.owner_references.iter().flatten().any(|o| Some(&o.uid) == owner_uid) {
        changes.push("it is not owned by this escalation".into());
    }
    if changes.is_empty() { Observation::Intact } else { Observation::Tampered(changes.join("; ")) }
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

const FIELD_MANAGER: &str = "kudo-controller";

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
        let err = |source| GrantError::Api { action: "reading", kind: kind_name(grant), name: name.clone(), source };
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
            Err(source) => Err(GrantError::Api { action: "creating", kind: kind_name(grant), name, source }),
        }
    }

    /// Deletes the binding a ref names; a missing one counts as reclaimed.
    /// With a known UID the delete is preconditioned on it, so a namesake
    /// someone else created is not deleted by mistake, but it is then
    /// deleted too if it carries this escalation's label (it is no one's).
    pub async fn reclaim(&self, escalation_name: &str, grant: &GrantRef) -> Result<(), GrantError> {
        let mut params = DeleteParams::background();
        if let Some(uid) = &grant.reference.uid {
            params.preconditions = Some(Preconditions { uid: Some(uid.clone()), resource_version: None });
        }
        match self.delete(grant, &params).await {
            Ok(()) => Ok(()),
            Err(GrantError::Api { source: kube::Error::Api(s), .. }) if s.code == 409 => {
                let live = self.get(grant).await?;
                let labelled = live
                    .as_ref()
                    .and_then(|b| b.metadata().labels.as_ref())
                    .is_some_and(|l| l.get(ESCALATION_LABEL).map(String::as_str) == Some(escalation_name));
                if labelled { self.delete(grant, &DeleteParams::background()).await } else { Ok(()) }
            }
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, grant: &GrantRef, params: &DeleteParams) -> Result<(), GrantError> {
        let name = &grant.reference.name;
        let result = match grant.reference.kind {
            GrantKind::KubernetesRoleBinding => {
                let ns = grant.reference.namespace.as_deref().unwrap_or_default();
                self.role_bindings(ns).delete(name, params).await.map(|_| ())
            }
            GrantKind::KubernetesClusterRoleBinding => {
                self.cluster_role_bindings().delete(name, params).await.map(|_| ())
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(source) => {
                Err(GrantError::Api { action: "deleting", kind: kind_name(grant), name: name.clone(), source })
            }
        }
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

    /// Deletes a binding found by the sweep, preconditioned on its UID.
    pub async fn delete_found(&self, found: &Binding) -> Result<(), GrantError> {
        let meta = found.metadata();
        let mut params = DeleteParams::background();
        params.preconditions = Some(Preconditions { uid: meta.uid.clone(), resource_version: None });
        let name = found.metadata().name.clone().unwrap_or_default();
        let result = match found {
            Binding::Namespaced(b) => {
                self.role_bindings(&b.namespace().unwrap_or_default()).delete(&name, &params).await.map(|_| ())
            }
            Binding::Cluster(_) => self.cluster_role_bindings().delete(&name, &params).await.map(|_| ()),
        };
        match result {
            Ok(()) => Ok(()),
            // Gone, or replaced since the list: not this object any more.
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(source) => Err(GrantError::Api { action: "deleting", kind: "binding", name, source }),
        }
    }
}

fn kind_name(grant: &GrantRef) -> &'static str {
    match grant.reference.kind {
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
