//! Who may reach the controller's port (health and metrics): the pod's own
//! node, which NetworkPolicy always admits (kubelet's probes), and pods in
//! the namespaces named with `manifests --metrics-from-namespace` (the
//! Prometheus that scrapes `/metrics`). No other pod connects at all, so
//! none can read the metrics or spend the server's connections.

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::json;

use super::{BoxError, Doc, Options, labels, typed};

pub fn objects(opts: &Options) -> Result<Vec<Doc>, BoxError> {
    let from: Vec<_> = opts
        .metrics_from_namespaces
        .iter()
        .map(|ns| json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}))
        .collect();
    // An empty list admits no pod; a rule with an empty `from` would admit every one.
    let ingress = if from.is_empty() {
        json!([])
    } else {
        json!([{"from": from, "ports": [{"port": "http", "protocol": "TCP"}]}])
    };
    Ok(vec![typed::<NetworkPolicy>(
        "controller NetworkPolicy",
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "kudo-controller", "namespace": opts.namespace, "labels": labels()},
            "spec": {
                "podSelector": {"matchLabels": super::deployment::controller_selector()},
                "policyTypes": ["Ingress"],
                "ingress": ingress,
            },
        }),
    )?])
}
