//! The controller Deployment: 2 replicas behind leader election, locked down.

use k8s_openapi::api::apps::v1::Deployment;
use serde_json::json;

use super::{BoxError, Doc, Options, labels, typed};

pub const HTTP_PORT: u16 = 8080;

pub fn objects(opts: &Options) -> Result<Vec<Doc>, BoxError> {
    let selector = json!({"app.kubernetes.io/name": "kudo", "app.kubernetes.io/component": "controller"});
    let mut pod_labels = labels();
    pod_labels["app.kubernetes.io/component"] = json!("controller");
    let probe = |path: &str| json!({"httpGet": {"path": path, "port": "http"}, "periodSeconds": 10});
    Ok(vec![typed::<Deployment>(
        "controller Deployment",
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "kudo-controller", "namespace": opts.namespace, "labels": pod_labels},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "serviceAccountName": opts.service_account,
                        "securityContext": {
                            "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [{
                            "name": "controller",
                            "image": opts.image,
                            "args": ["controller", "--log-format=json"],
                            "env": [
                                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                            ],
                            "ports": [{"name": "http", "containerPort": HTTP_PORT}],
                            "livenessProbe": probe("/healthz"),
                            "readinessProbe": probe("/readyz"),
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "64Mi"},
                                "limits": {"memory": "128Mi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": false,
                                "readOnlyRootFilesystem": true,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }],
                    },
                },
            },
        }),
    )?])
}
