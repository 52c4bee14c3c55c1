//! Grants (DESIGN §4): the API calls that create, inspect and reclaim the
//! RBAC bindings an accepted escalation holds. What a binding must look like,
//! and when a live one is tampered with, kudo's, or an orphan, is decided in
//! [`crate::engine::binding`].

use std::fmt::Debug;

use futures::{Stream, StreamExt, TryStreamExt, stream::BoxStream};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use kube::{
    Api, Client, Resource,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions},
};
use serde::{Serialize, de::DeserializeOwned};

pub mod reap;

use crate::{
    api::{ESCALATION_LABEL, Escalation, FIELD_MANAGER, GrantKind, GrantObjectRef, GrantRef},
    engine::{
        Observation,
        binding::{Binding, Found, binding, is_kudos, managed_selector, observe},
    },
};

/// RoleBinding and ClusterRoleBinding, so that every call on bindings is
/// written once, generic over the kind; [`with_kind!`] picks the type a
/// [`GrantKind`] names.
trait BindingKind:
    Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Serialize + Send + Sync + 'static
{
    /// The API in `namespace` (ignored by cluster-scoped kinds), or across
    /// all namespaces with `None`.
    fn api(client: Client, namespace: Option<&str>) -> Api<Self>;
    fn into_binding(self) -> Binding;
    fn of(binding: &Binding) -> Option<&Self>;
}

impl BindingKind for RoleBinding {
    fn api(client: Client, namespace: Option<&str>) -> Api<Self> {
        match namespace {
            Some(ns) => Api::namespaced(client, ns),
            None => Api::all(client),
        }
    }
    fn into_binding(self) -> Binding {
        Binding::Namespaced(self)
    }
    fn of(binding: &Binding) -> Option<&Self> {
        match binding {
            Binding::Namespaced(b) => Some(b),
            Binding::Cluster(_) => None,
        }
    }
}

impl BindingKind for ClusterRoleBinding {
    fn api(client: Client, _namespace: Option<&str>) -> Api<Self> {
        Api::all(client)
    }
    fn into_binding(self) -> Binding {
        Binding::Cluster(self)
    }
    fn of(binding: &Binding) -> Option<&Self> {
        match binding {
            Binding::Cluster(b) => Some(b),
            Binding::Namespaced(_) => None,
        }
    }
}

/// Evaluates `$body` with the type alias `$K` naming the Rust type of the
/// binding kind `$kind`: the one place a kind is matched on.
macro_rules! with_kind {
    ($kind:expr, $K:ident => $body:expr) => {
        match $kind {
            GrantKind::KubernetesRoleBinding => {
                type $K = RoleBinding;
                $body
            }
            GrantKind::KubernetesClusterRoleBinding => {
                type $K = ClusterRoleBinding;
                $body
            }
        }
    };
}

/// Every object `lp` selects, one page (`lp.limit`) at a time, following
/// the continue token: the one pager of the sweep and the reaper, so that
/// neither holds a large cluster's list whole.
pub fn pages<K>(api: Api<K>, lp: ListParams) -> impl Stream<Item = Result<Vec<K>, kube::Error>> + Send
where
    K: Clone + Debug + DeserializeOwned + Send + 'static,
{
    futures::stream::try_unfold(Some(lp), move |next| {
        let api = api.clone();
        async move {
            let Some(lp) = next else { return Ok(None) };
            let list = api.list(&lp).await?;
            let token = list.metadata.continue_.filter(|t| !t.is_empty());
            Ok(Some((list.items, token.map(|t| lp.continue_token(&t)))))
        }
    })
}

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

    fn api<K: BindingKind>(&self, namespace: Option<&str>) -> Api<K> {
        K::api(self.client.clone(), namespace)
    }

    /// The live binding a ref names, if any.
    pub async fn get(&self, grant: &GrantRef) -> Result<Option<Binding>, GrantError> {
        let r = &grant.reference;
        let ns = Some(r.namespace.as_deref().unwrap_or_default());
        with_kind!(r.kind, K => self.api::<K>(ns).get_opt(&r.name).await.map(|b| b.map(K::into_binding))).map_err(
            |source| GrantError::Api { action: "reading", kind: kind_name(r.kind), name: r.name.clone(), source },
        )
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
        let ns = Some(grant.reference.namespace.as_deref().unwrap_or_default());
        let created = with_kind!(grant.reference.kind, K => match K::of(&desired) {
            Some(body) => self.create_as::<K>(ns, &params, body).await,
            // `binding` builds the kind its ref names.
            None => return Err(GrantError::Unidentified),
        });
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

    /// Creates `body`; the answer is read only for what kudo records.
    async fn create_as<K: BindingKind>(
        &self,
        namespace: Option<&str>,
        params: &PostParams,
        body: &K,
    ) -> Result<AnswerMeta, kube::Error> {
        let data = serde_json::to_vec(body).map_err(kube::Error::SerdeError)?;
        let request = kube::core::Request::new(self.api::<K>(namespace).resource_url())
            .create(params, data)
            .map_err(kube::Error::BuildRequest)?;
        Ok(self.client.request::<Answer>(request).await?.metadata)
    }

    /// Deletes the binding a ref names, once it is known to be kudo's (see
    /// [`is_kudos`]); a missing one, or a namesake that is not kudo's,
    /// counts as reclaimed. Returns only once the binding is gone.
    pub async fn reclaim(&self, escalation: &Escalation, grant: &GrantRef) -> Result<(), GrantError> {
        let target = match &grant.reference.uid {
            // Fast path: delete preconditioned on the UID status recorded.
            Some(uid) => match self.delete(grant.reference.kind, &grant.reference, uid).await {
                Err(GrantError::Api { source: kube::Error::Api(s), .. }) if s.code == 409 => self.get(grant).await?,
                done => return done.map(drop),
            },
            None => self.get(grant).await?,
        };
        let Some(live) = target.filter(|live| is_kudos(escalation, grant, live)) else { return Ok(()) };
        let uid = live.metadata().uid.clone().unwrap_or_default();
        match self.delete(grant.reference.kind, &grant.reference, &uid).await {
            Err(GrantError::Api { source: kube::Error::Api(s), .. }) if s.code == 409 => Ok(()),
            done => done.map(drop),
        }
    }

    /// Deletes one binding preconditioned on `uid`; 404 is success. A binding
    /// held by a finalizer someone else added keeps granting while it is
    /// terminating (the RBAC authorizer honours it), so kudo removes the
    /// finalizers of a binding it owns and confirms it is gone. Two requests
    /// at most, and no read: the reaper, which has no `get`, goes this way.
    async fn delete(&self, kind: GrantKind, reference: &GrantObjectRef, uid: &str) -> Result<bool, GrantError> {
        with_kind!(kind, K => self.delete_as::<K>(reference, uid).await)
    }

    async fn delete_as<K: BindingKind>(&self, reference: &GrantObjectRef, uid: &str) -> Result<bool, GrantError> {
        let name = &reference.name;
        let api = self.api::<K>(Some(reference.namespace.as_deref().unwrap_or_default()));
        let kind_name = kind_name(reference.kind);
        let err = |action, source| GrantError::Api { action, kind: kind_name, name: name.clone(), source };
        let mut params = DeleteParams::background();
        params.preconditions = Some(Preconditions { uid: Some(uid.to_string()), resource_version: None });
        let request = kube::core::Request::new(api.resource_url())
            .delete(name, &params)
            .map_err(|e| err("deleting", kube::Error::BuildRequest(e)))?;
        // The API server answers a delete with a Status, or with the object:
        // as it was (gone), or terminating when finalizers hold it. Only
        // its finalizers are read.
        let answer = match self.client.request::<Answer>(request).await {
            Ok(answer) => answer,
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(false),
            Err(source) => return Err(err("deleting", source)),
        };
        let finalizers = answer.metadata.finalizers.filter(|f| !f.is_empty() && answer.kind != "Status");
        let Some(finalizers) = finalizers else { return Ok(true) };
        tracing::warn!(binding = %name, ?finalizers, "removing foreign finalizers from a kudo binding being deleted");
        let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
            {"op": "test", "path": "/metadata/uid", "value": uid},
            {"op": "remove", "path": "/metadata/finalizers"},
        ]))
        .map_err(|e| err("patching", kube::Error::SerdeError(e)))?;
        let pp = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
        match api.patch(name, &pp, &Patch::<()>::Json(patch)).await {
            // Once an object is terminating no finalizer can be added to
            // it, so an update that leaves it none has deleted it: the
            // answer shows what it held when it went.
            Ok(after) if after.meta().finalizers.as_ref().is_none_or(|f| f.is_empty()) => Ok(true),
            Ok(_) => Err(GrantError::Terminating { kind: kind_name, name: name.clone() }),
            // Gone (404), or no longer that object (the `test` failed: 422).
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 422 => Ok(false),
            Err(source) => Err(err("removing finalizers from", source)),
        }
    }

    /// The bindings of one kind carrying kudo's managed-by label,
    /// cluster-wide, a page at a time.
    pub fn managed_pages(&self, kind: GrantKind) -> BoxStream<'static, Result<Vec<Binding>, GrantError>> {
        self.pages(kind, &managed_selector())
    }

    fn pages(&self, kind: GrantKind, selector: &str) -> BoxStream<'static, Result<Vec<Binding>, GrantError>> {
        let lp = ListParams::default().labels(selector).limit(PAGE);
        let err =
            move |source| GrantError::Api { action: "listing", kind: kind_plural(kind), name: String::new(), source };
        with_kind!(kind, K => pages(self.api::<K>(None), lp)
            .map_ok(|page| page.into_iter().map(K::into_binding).collect())
            .map_err(err)
            .boxed())
    }

    /// The bindings labelled for one escalation.
    pub async fn list_managed_for(&self, escalation: &str) -> Result<Vec<Binding>, GrantError> {
        let selector = format!("{},{ESCALATION_LABEL}={escalation}", managed_selector());
        let mut out = Vec::new();
        for kind in [GrantKind::KubernetesRoleBinding, GrantKind::KubernetesClusterRoleBinding] {
            let mut pages = self.pages(kind, &selector);
            while let Some(page) = pages.try_next().await? {
                out.extend(page);
            }
        }
        Ok(out)
    }

    /// Deletes a binding found by the sweep or the reaper, preconditioned
    /// on its UID; gone or replaced since the list counts as done. Whether
    /// this call deleted it (`false`: it had gone already, as when its own
    /// reconcile reclaimed it after the list was read).
    pub async fn delete_found(&self, found: &Found) -> Result<bool, GrantError> {
        let reference = GrantObjectRef {
            kind: found.kind,
            name: found.name.clone(),
            namespace: found.namespace.clone(),
            uid: None,
            resource_version: None,
        };
        match self.delete(found.kind, &reference, &found.uid).await {
            Err(GrantError::Api { source: kube::Error::Api(s), .. }) if s.code == 409 => Ok(false),
            done => done,
        }
    }
}

/// What kudo reads of an API server's answer about a binding: its
/// identity and finalizers. Decoding the whole binding (managedFields and
/// all) for these was a share of the controller's CPU per grant.
#[derive(Debug, Default, serde::Deserialize)]
struct Answer {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: AnswerMeta,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnswerMeta {
    uid: Option<String>,
    resource_version: Option<String>,
    finalizers: Option<Vec<String>>,
}

fn kind_name(kind: GrantKind) -> &'static str {
    match kind {
        GrantKind::KubernetesRoleBinding => "RoleBinding",
        GrantKind::KubernetesClusterRoleBinding => "ClusterRoleBinding",
    }
}

fn kind_plural(kind: GrantKind) -> &'static str {
    match kind {
        GrantKind::KubernetesRoleBinding => "RoleBindings",
        GrantKind::KubernetesClusterRoleBinding => "ClusterRoleBindings",
    }
}

/// Objects per list request.
const PAGE: u32 = 500;
