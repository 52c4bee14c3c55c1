use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A reviewer's decision on one escalation instance. Immutable.
// Repeated `printcolumn(type_ = ...)` entries are distinct columns, not duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "k8s.kudo.dev",
    version = "v1alpha1",
    kind = "EscalationReview",
    shortname = "escr",
    category = "kudo",
    derive = "PartialEq",
    doc = "A reviewer's approval or rejection of one Escalation, made through `kubectl kudo approve|deny`. Immutable.",
    printcolumn(name = "Escalation", type_ = "string", json_path = ".spec.escalationName"),
    printcolumn(name = "Reviewer", type_ = "string", json_path = ".spec.reviewer"),
    printcolumn(name = "Decision", type_ = "string", json_path = ".spec.decision"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self == oldSelf").message("reviews are immutable: create a new EscalationReview instead"))]
#[x_kube(validation = Rule::new("!has(self.message) || !self.message.matches('[\\\\p{Cc}\\\\p{Cf}]')").message("spec.message may hold printable characters only (no control or formatting characters); write it on one line"))]
pub struct EscalationReviewSpec {
    #[schemars(length(min = 1, max = 253))]
    pub escalation_name: String,
    /// Binds the review to one instance: a re-created namesake is not approved.
    #[schemars(length(min = 1, max = 64))]
    #[serde(rename = "escalationUID")]
    pub escalation_uid: String,
    /// The reviewing user; must equal the user creating the object.
    #[schemars(length(min = 1, max = 512))]
    pub reviewer: String,
    /// The reviewing user's groups; must equal theirs, in any order.
    #[schemars(length(max = 256), inner(length(max = 512)))]
    pub reviewer_groups: Vec<String>,
    pub decision: ReviewDecision,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 1024))]
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewDecision {
    Approved,
    Rejected,
}
