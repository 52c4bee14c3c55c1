//! The controller Deployment: 2 replicas behind leader election, locked down.

use k8s_openapi::api::{apps::v1::Deployment, batch::v1::CronJob};
use serde_json::json;

use super::{BoxError, Doc, Options, labels, typed};
use crate::grants::reap::DEFAULT_BUDGET as REAP_BUDGET;

pub const HTTP_PORT: u16 = 8080;

/// The controller's pods (also what the NetworkPolicy selects).
pub fn controller_selector() -> serde_json::Value {
    json!({"app.kubernetes.io/name": "kudo", "app.kubernetes.io/component": "controller"})
}

pub fn objects(opts: &Options) -> Result<Vec<Doc>, BoxError> {
    let selector = controller_selector();
    let mut pod_labels = labels();
    pod_labels["app.kubernetes.io/component"] = json!("controller");
    let probe = |path: &str| json!({"httpGet": {"path": path, "port": "http"}, "periodSeconds": 10});
    let pod_security = json!({
        "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    });
    let container_security = json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": {"drop": ["ALL"]},
    });
    let mut reaper_labels = labels();
    reaper_labels["app.kubernetes.io/component"] = json!("reaper");
    // The second line of defence (DESIGN §4): expiry holds while the controller is down.
    let reaper = typed::<CronJob>(
        "reaper CronJob",
        json!({
            "apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": super::rbac::REAPER, "namespace": opts.namespace, "labels": reaper_labels},
            "spec": {
                "schedule": opts.reaper_schedule,
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 60,
                "successfulJobsHistoryLimit": 1,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {"spec": {
                    "backoffLimit": 0,
                    // The pass stops at its budget; the rest is time to start, connect and exit.
                    "activeDeadlineSeconds": REAP_BUDGET.as_secs() + 10,
                    "ttlSecondsAfterFinished": 600,
                    "template": {
                        "metadata": {"labels": reaper_labels},
                        "spec": {
                            "serviceAccountName": super::rbac::REAPER,
                            "restartPolicy": "Never",
                            "securityContext": pod_security,
                            "containers": [{
                                "name": "reaper",
                                "image": opts.image,
                                "imagePullPolicy": opts.image_pull_policy,
                                "args": ["reap", format!("--budget={}s", REAP_BUDGET.as_secs())],
                                "resources": opts.reaper_resources,
                                "securityContext": container_security,
                            }],
                        },
                    },
                }},
            },
        }),
    )?;
    Ok(vec![
        typed::<Deployment>(
            "controller Deployment",
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "kudo-controller", "namespace": opts.namespace, "labels": pod_labels},
                "spec": {
                    "replicas": opts.replicas,
                    "selector": {"matchLabels": selector},
                    "template": {
                        "metadata": {"labels": pod_labels},
                        "spec": {
                            "serviceAccountName": opts.service_account,
                            "securityContext": pod_security,
                            "containers": [{
                                "name": "controller",
                                "image": opts.image,
                                "imagePullPolicy": opts.image_pull_policy,
                                "args": ["controller", "--log-format=json"],
                                "env": [
                                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                    {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                                    {"name": "POD_SERVICE_ACCOUNT", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
                                    // The URL is a secret: never a value here nor an argument.
                                    // Optional: no Secret, no webhook.
                                    {"name": crate::audit::WEBHOOK_ENV, "valueFrom": {"secretKeyRef": {
                                        "name": opts.audit_webhook_secret,
                                        "key": super::AUDIT_WEBHOOK_SECRET_KEY,
                                        "optional": true,
                                    }}},
                                ],
                                "ports": [{"name": "http", "containerPort": HTTP_PORT}],
                                "livenessProbe": probe("/healthz"),
                                "readinessProbe": probe("/readyz"),
                                // The benchmark's peak RSS is 73.5 MiB (85 in one run) with
                                // 10 000 escalations active, 70 MiB under a flood of 20 000
                                // (README, Performance): the limit leaves that half again as
                                // headroom, and the flood cap (100 finished per requestor)
                                // keeps it bounded.
                                "resources": {
                                    "requests": {"cpu": "50m", "memory": "64Mi"},
                                    "limits": {"memory": "128Mi"},
                                },
                                "securityContext": container_security,
                            }],
                        },
                    },
                },
            }),
        )?,
        reaper,
    ])
}
