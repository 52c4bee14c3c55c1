//! `kubectl kudo version`: which kudo is installed, judged from what was
//! read. The controller's version comes from its leader's Lease (what is
//! running) or else from the Deployment's `app.kubernetes.io/version` label
//! (what was installed); a skew and a CRD that does not serve this plugin's
//! version are warnings. `doctor`'s version check makes the same comparison
//! ([`skew`]), and the CRD check is doctor's own ([`super::doctor::crds`]).

use k8s_openapi::{
    api::{apps::v1::Deployment, coordination::v1::Lease},
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use serde::Serialize;

use super::doctor::{Read, Status, VERSION_LABEL, crds};
use crate::api::CONTROLLER_VERSION_ANNOTATION;

/// Where the controller's version was read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerVersion {
    pub version: String,
    /// `Lease NS/NAME (holder …)` or `Deployment NS/NAME label …`.
    pub source: String,
}

/// One CRD's versions as the API server serves them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CrdVersions {
    pub name: String,
    pub served: Vec<String>,
    pub storage: Option<String>,
}

/// What `version` reports about a cluster it reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterVersions {
    /// `None` when neither the Lease nor the Deployment names a version.
    pub controller: Option<ControllerVersion>,
    pub crds: Vec<CrdVersions>,
    /// Reads that failed (typically RBAC: a plain user may not read the
    /// Lease or the CRDs); what they would have shown is then unknown.
    pub unreadable: Vec<String>,
    /// Skew between plugin, controller and CRDs.
    pub warnings: Vec<String>,
}

/// Strips a leading `v`: `v0.1.0` and `0.1.0` are the same version.
pub fn normalize(version: &str) -> &str {
    version.trim().trim_start_matches('v')
}

/// A warning when the plugin and the controller are not the same version.
pub fn skew(plugin: &str, controller: &str) -> Option<String> {
    let (plugin, controller) = (normalize(plugin), normalize(controller));
    (plugin != controller).then(|| format!("plugin v{plugin}, controller v{controller}"))
}

/// The running leader's version (its Lease's annotation), else the
/// installed Deployment's label.
pub fn controller_version(
    namespace: &str,
    lease: Option<&Lease>,
    deployment: Option<&Deployment>,
) -> Option<ControllerVersion> {
    let from_lease = lease.and_then(|lease| {
        let version = lease.metadata.annotations.as_ref()?.get(CONTROLLER_VERSION_ANNOTATION)?;
        let holder = lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()).filter(|h| !h.is_empty());
        let name = lease.metadata.name.as_deref().unwrap_or_default();
        let source = match holder {
            Some(holder) => format!("Lease {namespace}/{name}, held by {holder}"),
            None => format!("Lease {namespace}/{name}, released (its last holder's)"),
        };
        Some(ControllerVersion { version: normalize(version).into(), source })
    });
    from_lease.or_else(|| {
        let version = deployment?.metadata.labels.as_ref()?.get(VERSION_LABEL)?;
        let name = deployment?.metadata.name.as_deref().unwrap_or_default();
        Some(ControllerVersion {
            version: normalize(version).into(),
            source: format!("Deployment {namespace}/{name}, label {VERSION_LABEL}"),
        })
    })
}

/// What was read, for [`cluster`].
pub struct Observed<'a> {
    pub plugin_version: &'a str,
    pub namespace: &'a str,
    /// The CRD names this binary uses, and the version it speaks.
    pub expected_crds: &'a [String],
    pub api_version: &'a str,
    pub lease: Read<Option<Lease>>,
    pub deployment: Read<Option<Deployment>>,
    pub crds: Read<Vec<CustomResourceDefinition>>,
}

pub fn cluster(o: &Observed) -> ClusterVersions {
    let mut unreadable = Vec::new();
    let lease = readable(&mut unreadable, &format!("Lease {}/{}", o.namespace, crate::api::LEASE_NAME), &o.lease);
    let deployment = readable(&mut unreadable, &format!("Deployment {}/kudo-controller", o.namespace), &o.deployment);
    let controller = controller_version(o.namespace, lease, deployment);
    let mut warnings = Vec::new();
    if let Some(warning) = controller.as_ref().and_then(|c| skew(o.plugin_version, &c.version)) {
        warnings.push(warning);
    }
    let listed = match &o.crds {
        Ok(all) => all
            .iter()
            .filter(|crd| crd.metadata.name.as_ref().is_some_and(|n| o.expected_crds.contains(n)))
            .map(|crd| CrdVersions {
                name: crd.metadata.name.clone().unwrap_or_default(),
                served: crd.spec.versions.iter().filter(|v| v.served).map(|v| v.name.clone()).collect(),
                storage: crd.spec.versions.iter().find(|v| v.storage).map(|v| v.name.clone()),
            })
            .collect(),
        Err(e) => {
            unreadable.push(format!("CustomResourceDefinitions: {e}"));
            Vec::new()
        }
    };
    if o.crds.is_ok() {
        // doctor's CRD check: present, Established, serving this version.
        let check = crds(o.expected_crds, o.api_version, &o.crds);
        if check.status == Status::Fail {
            warnings.push(format!("CRDs: {}", check.detail));
        }
    }
    ClusterVersions { controller, crds: listed, unreadable, warnings }
}

/// The object read, or `None` with why it could not be in `unreadable`.
fn readable<'a, T>(unreadable: &mut Vec<String>, what: &str, read: &'a Read<Option<T>>) -> Option<&'a T> {
    match read {
        Ok(object) => object.as_ref(),
        Err(e) => {
            unreadable.push(format!("{what}: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    fn lease(version: Option<&str>, holder: Option<&str>) -> Lease {
        let annotations = version.map(|v| json!({CONTROLLER_VERSION_ANNOTATION: v})).unwrap_or(json!({}));
        from(json!({"metadata": {"name": "kudo-controller", "annotations": annotations},
                    "spec": {"holderIdentity": holder}}))
    }

    fn deployment(version: Option<&str>) -> Deployment {
        let labels = version.map(|v| json!({VERSION_LABEL: v})).unwrap_or(json!({}));
        from(json!({"metadata": {"name": "kudo-controller", "labels": labels}}))
    }

    fn crd(name: &str, versions: &[(&str, bool, bool)]) -> CustomResourceDefinition {
        let versions: Vec<_> = versions
            .iter()
            .map(|(v, served, storage)| json!({"name": v, "served": served, "storage": storage}))
            .collect();
        from(json!({
            "metadata": {"name": name},
            "spec": {"group": "k8s.kudo.dev", "scope": "Cluster",
                     "names": {"plural": "x", "kind": "X"}, "versions": versions},
            "status": {"conditions": [{"type": "Established", "status": "True"}]},
        }))
    }

    #[test]
    fn skew_ignores_a_leading_v_only() {
        assert_eq!(skew("0.1.0", "v0.1.0"), None);
        assert_eq!(skew("v0.1.0", " 0.1.0"), None);
        assert_eq!(skew("0.1.0", "0.2.0").as_deref(), Some("plugin v0.1.0, controller v0.2.0"));
        assert!(skew("0.1.0", "").is_some(), "an empty annotation is not a match");
    }

    #[test]
    fn the_running_leader_is_believed_before_the_deployment_label() {
        let l = lease(Some("0.2.0"), Some("pod-a"));
        let d = deployment(Some("0.1.0"));
        let v = controller_version("kudo-system", Some(&l), Some(&d)).unwrap();
        assert_eq!(v.version, "0.2.0");
        assert_eq!(v.source, "Lease kudo-system/kudo-controller, held by pod-a");
        // A Lease written by an older controller, without the annotation: the label.
        let old = lease(None, Some("pod-a"));
        let v = controller_version("kudo-system", Some(&old), Some(&d)).unwrap();
        assert_eq!((v.version.as_str(), v.source.contains("label")), ("0.1.0", true));
        let released = lease(Some("v0.3.0"), None);
        let v = controller_version("kudo-system", Some(&released), None).unwrap();
        assert_eq!((v.version.as_str(), v.source.contains("released")), ("0.3.0", true));
        assert_eq!(controller_version("kudo-system", None, Some(&deployment(None))), None);
        assert_eq!(controller_version("kudo-system", None, None), None);
    }

    #[test]
    fn a_report_warns_on_skew_and_on_crds_that_do_not_serve_this_version() {
        let expected = vec!["escalations.k8s.kudo.dev".to_string()];
        let observed = |controller: &str, crds: Read<Vec<CustomResourceDefinition>>| Observed {
            plugin_version: "0.1.0",
            namespace: "kudo-system",
            expected_crds: &expected,
            api_version: "v1alpha1",
            lease: Ok(Some(lease(Some(controller), Some("pod-a")))),
            deployment: Ok(None),
            crds,
        };
        let good = crd("escalations.k8s.kudo.dev", &[("v1alpha1", true, true), ("v0", false, false)]);
        let other = crd("unrelated.example.com", &[("v1", true, true)]);
        let report = cluster(&observed("0.1.0", Ok(vec![good.clone(), other])));
        assert_eq!(report.warnings, Vec::<String>::new());
        assert_eq!(
            report.crds,
            [CrdVersions {
                name: "escalations.k8s.kudo.dev".into(),
                served: vec!["v1alpha1".into()],
                storage: Some("v1alpha1".into())
            }]
        );
        let report = cluster(&observed("0.2.0", Ok(vec![good])));
        assert_eq!(report.warnings, ["plugin v0.1.0, controller v0.2.0"]);
        let newer = crd("escalations.k8s.kudo.dev", &[("v1beta1", true, true)]);
        let report = cluster(&observed("0.1.0", Ok(vec![newer])));
        assert_eq!(report.warnings.len(), 1);
        assert!(report.warnings[0].contains("serves v1beta1, not v1alpha1"), "{:?}", report.warnings);
        let report = cluster(&observed("0.1.0", Ok(vec![])));
        assert!(report.warnings[0].contains("escalations.k8s.kudo.dev"), "a missing CRD warns: {:?}", report.warnings);
    }

    #[test]
    fn unreadable_objects_are_reported_not_warned_about() {
        let expected = vec!["escalations.k8s.kudo.dev".to_string()];
        let report = cluster(&Observed {
            plugin_version: "0.1.0",
            namespace: "kudo-system",
            expected_crds: &expected,
            api_version: "v1alpha1",
            lease: Err("forbidden".into()),
            deployment: Err("forbidden".into()),
            crds: Err("forbidden".into()),
        });
        assert_eq!((report.controller, report.warnings.len(), report.unreadable.len()), (None, 0, 3));
    }
}
