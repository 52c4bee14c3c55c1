//! Applying the install to a cluster and waiting until it is in force: what
//! the sandbox does, and the tests' clusters too.
//!
//! A real API server serves a new CRD and enforces a new admission policy a
//! moment after the create returns (informers); the in-memory one does both
//! at once. [`install`] returns only once both hold, so that what follows
//! never meets an unserved kind or an unguarded write.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api, Client,
    api::{DynamicObject, GroupVersionKind, PostParams},
    discovery::Scope,
};
use serde_json::{Value, json};

use super::{ManifestError, Options};
use crate::api::Escalation;

/// How long a real API server may take to serve the CRDs, and to enforce
/// the admission policies, before the install is reported as failed.
const SETTLE: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Render(#[from] ManifestError),
    #[error("a manifest document is malformed: {0}")]
    Malformed(String),
    #[error("creating {kind} {name}: {source}")]
    Create { kind: String, name: String, source: kube::Error },
    #[error("reading CRD {name}: {source}")]
    ReadCrd { name: String, source: kube::Error },
    #[error("CRD {0} was not Established within 30s")]
    NotEstablished(String),
    #[error("kudo's admission policies were not in force within 30s (last answer: {0})")]
    NotEnforced(String),
}

/// Creates every object of `kubectl kudo manifests` (as `kubectl create`
/// would), CRDs first, and returns once the CRDs are served and the
/// admission policies enforced.
pub async fn install(admin: &Client, opts: &Options) -> Result<(), ApplyError> {
    let yaml = super::render(opts)?;
    let docs = serde_saphyr::from_multiple::<Value>(&yaml).map_err(|e| ApplyError::Malformed(e.to_string()))?;
    let kind = |d: &Value| d["kind"].as_str().unwrap_or_default().to_string();
    let (crds, rest): (Vec<Value>, Vec<Value>) = docs.into_iter().partition(|d| kind(d) == "CustomResourceDefinition");
    for crd in &crds {
        create(admin, crd.clone()).await?;
    }
    wait_established(admin, &crds).await?;
    // The API server loads admission policies and bindings through two
    // informers, each in write order. Writing every policy, then every
    // binding, with the identity guard's policy and binding each last,
    // makes "the identity guard rejects" prove that all are in force.
    let identity = |d: &Value| d["metadata"]["name"] == super::admission::ESCALATION_IDENTITY;
    let (mut policies, mut bindings): (Vec<Value>, Vec<Value>) = (vec![], vec![]);
    for doc in rest {
        match kind(&doc).as_str() {
            "ValidatingAdmissionPolicy" => policies.push(doc),
            "ValidatingAdmissionPolicyBinding" => bindings.push(doc),
            _ => create(admin, doc).await?,
        }
    }
    policies.sort_by_key(identity);
    bindings.sort_by_key(identity);
    for doc in policies.into_iter().chain(bindings) {
        create(admin, doc).await?;
    }
    wait_admission_enforced(admin).await
}

/// Returns once every CRD in `crds` (manifest documents) is Established.
pub async fn wait_established(admin: &Client, crds: &[Value]) -> Result<(), ApplyError> {
    let api: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let deadline = tokio::time::Instant::now() + SETTLE;
    for crd in crds {
        let name =
            crd["metadata"]["name"].as_str().ok_or_else(|| ApplyError::Malformed("a CRD without a name".into()))?;
        loop {
            let live = api.get(name).await.map_err(|source| ApplyError::ReadCrd { name: name.into(), source })?;
            let established = live
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApplyError::NotEstablished(name.into()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

/// Polls a dry-run create of an escalation in someone else's name until
/// the identity guard rejects it: then every guard is in force (see
/// [`install`] for why the last one written proves the others).
pub async fn wait_admission_enforced(admin: &Client) -> Result<(), ApplyError> {
    let api: Api<Escalation> = Api::all(admin.clone());
    let spoofed: Escalation = serde_json::from_value(json!({
        "metadata": {"generateName": "admission-probe-"},
        "spec": {"policyName": "probe", "requestor": "not-admin", "requestorGroups": [], "reason": "probe"},
    }))
    .map_err(|e| ApplyError::Malformed(e.to_string()))?;
    let dry_run = PostParams { dry_run: true, ..PostParams::default() };
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let answer = match api.create(&dry_run, &spoofed).await {
            Err(kube::Error::Api(s)) if s.message.contains(super::admission::ESCALATION_IDENTITY) => return Ok(()),
            other => format!("{other:?}"),
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(ApplyError::NotEnforced(answer));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates one object given as JSON (`apiVersion`, `kind`, `metadata`, …),
/// finding its resource by discovery.
pub async fn create(client: &Client, doc: Value) -> Result<(), ApplyError> {
    let (obj, api) = dynamic(client, doc).await?;
    let (kind, name) = (obj.types.as_ref().map(|t| t.kind.clone()).unwrap_or_default(), obj.metadata.name.clone());
    api.create(&PostParams::default(), &obj).await.map_err(|source| ApplyError::Create {
        kind,
        name: name.unwrap_or_default(),
        source,
    })?;
    Ok(())
}

/// The object and the API to write it with.
pub async fn dynamic(client: &Client, doc: Value) -> Result<(DynamicObject, Api<DynamicObject>), ApplyError> {
    let api_version = doc["apiVersion"].as_str().ok_or_else(|| ApplyError::Malformed("no apiVersion".into()))?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = doc["kind"].as_str().ok_or_else(|| ApplyError::Malformed("no kind".into()))?;
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let name = doc["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let (resource, caps) = kube::discovery::pinned_kind(client, &gvk).await.map_err(|source| ApplyError::Create {
        kind: kind.into(),
        name: name.clone(),
        source,
    })?;
    let obj: DynamicObject = serde_json::from_value(doc).map_err(|e| ApplyError::Malformed(e.to_string()))?;
    let api = match (caps.scope, obj.metadata.namespace.as_deref()) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &resource),
        _ => Api::all_with(client.clone(), &resource),
    };
    Ok((obj, api))
}
