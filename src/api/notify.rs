//! `spec.notify` of an EscalationPolicy and the notices an escalation has
//! had delivered (DESIGN §6). Field names here are public API.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DurationText;

/// Most reviewer targets one policy may name: each is a queue and a POST
/// per request, and every list needs a bound for the API server's CEL budget.
pub const MAX_REVIEWER_TARGETS: usize = 8;

/// Where this policy's requests are announced. Every target is a webhook URL
/// read from a Secret in kudo's own namespace (`kudo-system`): a policy can
/// name no other namespace, and the URL never appears in the policy.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("!has(self.remindBefore) || duration(self.remindBefore) <= duration('8760h')").message("notify.remindBefore is at most 8760h (one year)"))]
pub struct Notify {
    /// Told of each new request: who asks, why, what it would grant, and
    /// the exact `kubectl kudo approve` command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub reviewers: Vec<NotifyTarget>,
    /// Told when a request is decided, and `remindBefore` its expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requestor: Option<NotifyTarget>,
    /// How long before expiry the requestor's target is reminded (default
    /// 10m). No reminder for a grant that lasts no longer than this: the
    /// decision already said when it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_before: Option<DurationText>,
}

/// One webhook.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotifyTarget {
    /// The Secret (in kudo's namespace) and key holding the webhook URL.
    pub secret_ref: SecretKeyRef,
    /// `slack`: `{"text": …}` for Slack-compatible incoming webhooks;
    /// `json`: the whole notification as one JSON object.
    pub format: NotifyFormat,
}

/// A key of a Secret in kudo's namespace; there is no namespace field.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct SecretKeyRef {
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotifyFormat {
    Slack,
    Json,
}

/// What an escalation's notifications announce; `status.notified` lists
/// those delivered (or given up on), so a restarted controller sends only
/// the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum Notice {
    /// To the reviewers' targets: a request waits for them.
    Requested,
    /// To the requestor's target: ACCEPTED, DENIED, or EXPIRED unaccepted.
    Decided,
    /// To the requestor's target: `remindBefore` its expiry.
    Reminder,
}

impl Notice {
    /// The last part of the idempotency key `<escalation uid>/<notice>`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Decided => "decided",
            Self::Reminder => "reminder",
        }
    }
}

/// Condition type on a policy with `notify`: whether every target's Secret
/// holds a usable URL (the message says what to fix, never the URL).
pub const CONDITION_NOTIFY_READY: &str = "NotifyReady";
