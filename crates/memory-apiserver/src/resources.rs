//! The kinds the server knows: a fixed set of built-ins, plus every kind a
//! stored CustomResourceDefinition serves.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Has a `/status` subresource (status is then written only there).
    pub status: bool,
    /// Only `create` is served (reviews).
    pub create_only: bool,
    /// CRD: openAPIV3Schema of the served version.
    pub schema: Option<Value>,
    /// CRD: additionalPrinterColumns.
    pub printer_columns: Vec<Value>,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// Key used by RBAC and admission: `group/plural`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    /// Built-ins keep a spec-less shape: anything but metadata/status is "spec"
    /// for generation purposes; for these kinds generation is not tracked.
    pub fn tracks_generation(&self) -> bool {
        self.schema.is_some()
            || matches!(self.plural.as_str(), "deployments" | "cronjobs" | "jobs" | "validatingadmissionpolicies")
    }
}

struct Builtin(&'static str, &'static str, &'static str, &'static str, bool, &'static [&'static str]);

const BUILTINS: &[Builtin] = &[
    Builtin("", "v1", "namespaces", "Namespace", false, &["ns"]),
    Builtin("", "v1", "serviceaccounts", "ServiceAccount", true, &["sa"]),
    Builtin("", "v1", "pods", "Pod", true, &["po"]),
    Builtin("", "v1", "configmaps", "ConfigMap", true, &["cm"]),
    Builtin("", "v1", "secrets", "Secret", true, &[]),
    Builtin("", "v1", "events", "Event", true, &["ev"]),
    Builtin("apps", "v1", "deployments", "Deployment", true, &["deploy"]),
    Builtin("batch", "v1", "cronjobs", "CronJob", true, &["cj"]),
    Builtin("batch", "v1", "jobs", "Job", true, &[]),
    Builtin("events.k8s.io", "v1", "events", "Event", true, &["ev"]),
    Builtin("coordination.k8s.io", "v1", "leases", "Lease", true, &[]),
    Builtin("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, &["netpol"]),
    Builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", true, &[]),
    Builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, &[]),
    Builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, &[]),
    Builtin("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, &[]),
    Builtin(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
    ),
    Builtin(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        false,
        &[],
    ),
    Builtin(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        false,
        &[],
    ),
    Builtin("flowcontrol.apiserver.k8s.io", "v1", "flowschemas", "FlowSchema", false, &[]),
    Builtin(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "prioritylevelconfigurations",
        "PriorityLevelConfiguration",
        false,
        &[],
    ),
    Builtin("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", false, &[]),
    Builtin("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", false, &[]),
    Builtin("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, &[]),
];

pub fn builtins() -> Vec<ResourceType> {
    BUILTINS
        .iter()
        .map(|b| ResourceType {
            group: b.0.into(),
            version: b.1.into(),
            plural: b.2.into(),
            singular: b.3.to_lowercase(),
            kind: b.3.into(),
            namespaced: b.4,
            short_names: b.5.iter().map(|s| s.to_string()).collect(),
            categories: vec![],
            status: matches!(
                b.2,
                "namespaces"
                    | "pods"
                    | "deployments"
                    | "cronjobs"
                    | "jobs"
                    | "customresourcedefinitions"
                    | "validatingadmissionpolicies"
                    | "flowschemas"
                    | "prioritylevelconfigurations"
            ),
            create_only: b.2.ends_with("reviews"),
            schema: None,
            printer_columns: vec![],
        })
        .collect()
}

/// The kinds a CRD serves (one per served version).
pub fn from_crd(crd: &Value) -> Vec<ResourceType> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default()
    };
    let plural = names["plural"].as_str().unwrap_or_default().to_string();
    let kind = names["kind"].as_str().unwrap_or_default().to_string();
    let singular = names["singular"].as_str().map(String::from).unwrap_or_else(|| kind.to_lowercase());
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool().unwrap_or(true))
        .map(|v| ResourceType {
            group: spec["group"].as_str().unwrap_or_default().into(),
            version: v["name"].as_str().unwrap_or_default().into(),
            plural: plural.clone(),
            singular: singular.clone(),
            kind: kind.clone(),
            namespaced: spec["scope"] == "Namespaced",
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            status: v["subresources"]["status"].is_object(),
            create_only: false,
            schema: Some(v["schema"]["openAPIV3Schema"].clone()),
            printer_columns: v["additionalPrinterColumns"].as_array().cloned().unwrap_or_default(),
        })
        .collect()
}
