//! API Priority and Fairness (issue 17): the controller's and reaper's
//! requests get a priority level of their own, so a flood of user requests
//! (queued in `workload-low` or `global-default`) never delays a revocation.

use k8s_openapi::api::flowcontrol::v1::{FlowSchema, PriorityLevelConfiguration};
use serde_json::json;

use super::{BoxError, Doc, Options, labels, rbac::REAPER, typed};

pub const NAME: &str = "kudo-controller";

pub fn objects(opts: &Options) -> Result<Vec<Doc>, BoxError> {
    let account =
        |name: &str| json!({"kind": "ServiceAccount", "serviceAccount": {"name": name, "namespace": opts.namespace}});
    Ok(vec![
        typed::<PriorityLevelConfiguration>(
            "kudo PriorityLevelConfiguration",
            json!({
                "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
                "metadata": {"name": NAME, "labels": labels()},
                "spec": {"type": "Limited", "limited": {
                    // As many shares as workload-high: kudo's requests are
                    // few (bounded by its own concurrency) and must not wait.
                    "nominalConcurrencyShares": 40,
                    "lendablePercent": 50,
                    "limitResponse": {"type": "Queue", "queuing": {"queues": 16, "handSize": 4, "queueLengthLimit": 50}},
                }},
            }),
        )?,
        typed::<FlowSchema>(
            "kudo FlowSchema",
            json!({
                "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
                "metadata": {"name": NAME, "labels": labels()},
                "spec": {
                    // After the control plane's own (leader election 100-200,
                    // nodes 400-500, kube-controller-manager 800), before
                    // kube-system-service-accounts (900) and every other
                    // ServiceAccount (9000) and user (9900).
                    "matchingPrecedence": 850,
                    "priorityLevelConfiguration": {"name": NAME},
                    "distinguisherMethod": {"type": "ByUser"},
                    "rules": [{
                        "subjects": [account(&opts.service_account), account(REAPER)],
                        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "clusterScope": true, "namespaces": ["*"]}],
                        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                    }],
                },
            }),
        )?,
    ])
}
