use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ChallengeKind, DurationText, GrantKind, RoleRef};

/// A user's request to hold a policy's grants for a while.
// Repeated `printcolumn(type_ = ...)` entries are distinct columns, not duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "k8s.kudo.dev",
    version = "v1alpha1",
    kind = "Escalation",
    shortname = "esc",
    category = "kudo",
    derive = "PartialEq",
    status = "EscalationStatus",
    doc = "A request, made through `kubectl kudo escalate`, to hold an EscalationPolicy's grants for a limited time.",
    // 63: the name is the value of the `k8s.kudo.dev/escalation` label on its bindings.
    validation = Rule::new("size(self.metadata.name) <= 63").message("escalation names are at most 63 characters, as they label its bindings; use a shorter name (kubectl kudo escalate picks one)"),
    validation = Rule::new("self.spec.extends != self.metadata.name").message("an escalation cannot extend itself: set spec.extends to the running escalation you want to extend (kubectl kudo extend NAME)"),
    printcolumn(name = "Policy", type_ = "string", json_path = ".spec.policyName"),
    printcolumn(name = "Requestor", type_ = "string", json_path = ".spec.requestor"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(name = "Namespace", type_ = "string", json_path = ".spec.namespace"),
    printcolumn(name = "Expires", type_ = "date", json_path = ".status.expiresAt"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    // Wide only: what `kubectl kudo list` reads from a server-side Table
    // (operations::list::rows); the names are operations::list's constants.
    printcolumn(name = "Granted-In", type_ = "string", json_path = ".status.grantRefs[?(@.ref.namespace)].ref.namespace", priority = 1),
    printcolumn(name = "Expires-At", type_ = "string", json_path = ".status.expiresAt", priority = 1),
    printcolumn(name = "Created", type_ = "string", json_path = ".metadata.creationTimestamp", priority = 1)
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.policyName == oldSelf.policyName && self.requestor == oldSelf.requestor && self.requestorGroups == oldSelf.requestorGroups && self.reason == oldSelf.reason").message("an escalation's spec is immutable except revoked: create a new escalation instead"))]
#[x_kube(validation = Rule::new("has(self.__namespace__) == has(oldSelf.__namespace__) && (!has(self.__namespace__) || self.__namespace__ == oldSelf.__namespace__) && has(self.duration) == has(oldSelf.duration) && (!has(self.duration) || self.duration == oldSelf.duration)").message("an escalation's namespace and duration are immutable: create a new escalation instead"))]
#[x_kube(validation = Rule::new("has(self.startAt) == has(oldSelf.startAt) && (!has(self.startAt) || self.startAt == oldSelf.startAt) && self.breakGlass == oldSelf.breakGlass").message("an escalation's startAt and breakGlass are immutable: create a new escalation instead"))]
#[x_kube(validation = Rule::new("self.extends == oldSelf.extends").message("an escalation's extends is immutable: create a new escalation instead"))]
#[x_kube(validation = Rule::new("!oldSelf.revoked || self.revoked").message("a revoked escalation cannot be un-revoked: create a new escalation instead"))]
#[x_kube(validation = Rule::new("self.revokedBy == oldSelf.revokedBy || (!oldSelf.revoked && self.revoked)").message("revokedBy is set once, together with revoked"))]
#[x_kube(validation = Rule::new("!self.revoked || self.revokedBy != ''").message("revoking needs revokedBy set to your username (kubectl kudo revoke does this)"))]
#[x_kube(validation = Rule::new("!has(self.duration) || duration(self.duration) <= duration('8760h')").message("spec.duration is at most 8760h (one year); ask for a shorter --duration"))]
#[x_kube(validation = Rule::new("!self.reason.matches('[\\\\p{Cc}\\\\p{Cf}]')").message("spec.reason may hold printable characters only (no control or formatting characters such as ESC, BEL, newlines or bidi overrides); write it on one line"))]
pub struct EscalationSpec {
    /// The EscalationPolicy to use.
    #[schemars(length(min = 1, max = 253))]
    pub policy_name: String,
    /// The requesting user; must equal the user creating the object.
    #[schemars(length(min = 1, max = 512))]
    pub requestor: String,
    /// The requesting user's groups; must equal theirs, in any order.
    #[schemars(length(max = 256), inner(length(max = 512)))]
    pub requestor_groups: Vec<String>,
    /// Why; checked against the policy's Justification challenges.
    #[schemars(length(min = 1, max = 1024))]
    pub reason: String,
    /// Namespace for namespaced grants (default: the policy's defaultNamespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
    /// How long the grants last once accepted (default: the policy's defaultDuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<DurationText>,
    /// Not accepted before this time (RFC 3339); at most the policy's
    /// pendingTimeout after creation. The duration counts from acceptance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<Time>,
    /// Emergency: skip the policy's break-glass PeerReview; accepted at once,
    /// and reviewed afterwards (`status.afterReview`).
    #[serde(default)]
    pub break_glass: bool,
    /// The only mutable field: false -> true ends the escalation early.
    #[serde(default)]
    pub revoked: bool,
    /// Who revoked it; must equal the user setting `revoked`.
    #[serde(default)]
    #[schemars(length(max = 512))]
    pub revoked_by: String,
    /// The running escalation this one extends (`kubectl kudo extend`): of
    /// the same requestor and policy. Empty: none.
    #[serde(default)]
    #[schemars(length(max = 63))]
    pub extends: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EscalationState {
    Pending,
    Denied,
    Accepted,
    Expired,
}

impl EscalationState {
    /// DENIED and EXPIRED never change again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Denied | Self::Expired)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Denied => "DENIED",
            Self::Accepted => "ACCEPTED",
            Self::Expired => "EXPIRED",
        }
    }
}

impl std::fmt::Display for EscalationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscalationStatus {
    pub state: EscalationState,
    /// What happened, and for DENIED what to change.
    #[serde(default)]
    pub state_details: String,
    /// The policy instance this escalation was evaluated against.
    #[serde(default, rename = "policyUID", skip_serializing_if = "Option::is_none")]
    pub policy_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<Time>,
    /// acceptedAt + duration: no grant outlives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// When it became DENIED or EXPIRED; retention (`--retain-finished`) counts from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// The last state an audit record was written for. A state not yet
    /// audited (its record lost to a crash or to a write whose answer was
    /// lost) is audited by the next reconcile: no transition goes unrecorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audited_state: Option<EscalationState>,
    /// Break-glass escalations only: the review owed after acceptance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_review: Option<AfterReview>,
    /// Who decided the after-review (the approver or the rejector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_review_by: Option<String>,
    /// What the grants would add, for reviewers: computed by the controller
    /// (under its own rights) while the escalation waits for a review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_preview: Option<GrantPreview>,
    /// Set when an extension took over (`spec.extends` naming this one):
    /// it ended EXPIRED once the extension's bindings existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// How many extensions its chain holds up to this one (0: not an
    /// extension), fixed at acceptance; `target.maxExtensions` caps it.
    /// Kept here, written by the controller only, so that deleting an old
    /// link of the chain cannot reset the count.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(extend("format" = "int32"))]
    pub extension_count: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub challenges: Vec<ChallengeStatus>,
    /// Every binding kudo will create or has created, recorded before it exists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_refs: Vec<GrantRef>,
    /// Notifications delivered to every target (or given up on after retries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub notified: Vec<super::Notice>,
}

impl EscalationStatus {
    /// A status in `state` that records nothing else yet.
    pub fn new(state: EscalationState) -> Self {
        Self {
            state,
            state_details: String::new(),
            policy_uid: None,
            policy_generation: None,
            accepted_at: None,
            expires_at: None,
            finished_at: None,
            audited_state: None,
            after_review: None,
            after_review_by: None,
            grant_preview: None,
            superseded_by: None,
            extension_count: 0,
            challenges: Vec::new(),
            grant_refs: Vec::new(),
            notified: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChallengeState {
    Pending,
    Passed,
    Failed,
    /// Skipped by a break-glass escalation; reviewed afterwards.
    Bypassed,
}

/// The review a break-glass escalation owes after it was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AfterReview {
    Pending,
    Approved,
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeStatus {
    pub kind: ChallengeKind,
    pub state: ChallengeState,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved_by: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// PENDING: recorded, not yet created (a binding is created only once its
/// ref is in status). CREATED: exists. RECLAIMED: deleted or confirmed gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GrantStatus {
    Pending,
    Created,
    Reclaimed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantRef {
    pub status: GrantStatus,
    #[serde(rename = "ref")]
    pub reference: GrantObjectRef,
    /// The role bound, so the binding can be rebuilt from status alone.
    pub role_ref: RoleRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantObjectRef {
    pub kind: GrantKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Escalation {
    /// The escalation this one extends, if it is an extension.
    pub fn extends(&self) -> Option<&str> {
        Some(self.spec.extends.as_str()).filter(|e| !e.is_empty())
    }

    pub fn state(&self) -> Option<EscalationState> {
        self.status.as_ref().map(|s| s.state)
    }
}

impl EscalationSpec {
    /// The requestor as the API server captured them (DESIGN §3).
    pub fn requestor(&self) -> super::Identity<'_> {
        super::Identity { username: &self.requestor, groups: &self.requestor_groups }
    }
}

/// Every permission an escalation's grants add, per place they apply.
/// Bounded (see `engine::preview`): a role of thousands of rules shows its
/// first ones and says that some were left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantPreview {
    #[schemars(length(max = 8))]
    pub scopes: Vec<PreviewScope>,
    /// Some rules, verbs, resources or names were left out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// One grant: where it applies and what its role allows there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewScope {
    /// The namespace; absent: cluster-wide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `ClusterRole/NAME` or `Role/NAME`.
    pub role: String,
    /// The role does not exist (yet): nothing to show.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    #[schemars(length(max = 32))]
    pub permissions: Vec<PreviewPermission>,
}

/// One rule of the role, as (verbs, resources[, names]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewPermission {
    #[schemars(length(max = 16))]
    pub verbs: Vec<String>,
    /// `resource` (core), `group/resource`, or a non-resource URL.
    #[schemars(length(max = 16))]
    pub resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub resource_names: Vec<String>,
    /// Why the dangerous-role lint flags it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dangerous: Option<String>,
    /// The requestor already holds every (verb, resource) of it there.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
}
