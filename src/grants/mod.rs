//! Grants (DESIGN §4): the API calls that create, inspect and reclaim the
//! RBAC bindings an accepted escalation holds. What a binding must look like,
//! and when a live one is tampered with, kudo's, or an orphan, is decided in
//! [`crate::engine::binding`].

use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use kube::{
    Api, Client,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions},
};

pub mod reap;

use crate::{
    api::{ESCALATION_LABEL, Escalation, FIELD_MANAGER, GrantKind, GrantObjectRef, GrantRef},
    engine::{
        Observation,
        binding::{Binding, binding, is_kudos, managed_selector, observe},
    },
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
        let desired = binding(escalation, grant).ok_or(GrantError::Unidentified)?;
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
