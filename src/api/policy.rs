use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DurationText, Subject};

/// Who may escalate, what is checked first, and what is granted for how long.
// Repeated `printcolumn(type_ = ...)` entries are distinct columns, not duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "k8s.kudo.dev",
    version = "v1alpha1",
    kind = "EscalationPolicy",
    plural = "escalationpolicies",
    shortname = "escp",
    shortname = "ep",
    category = "kudo",
    derive = "PartialEq",
    status = "EscalationPolicyStatus",
    doc = "Written by cluster admins: who may escalate, what must be checked first, and what is granted for how long.",
    printcolumn(name = "Default", type_ = "string", json_path = ".spec.target.defaultDuration"),
    printcolumn(name = "Max", type_ = "string", json_path = ".spec.target.maxDuration"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("!has(self.pendingTimeout) || duration(self.pendingTimeout) <= duration('8760h')").message("pendingTimeout is at most 8760h (one year)"))]
pub struct EscalationPolicySpec {
    /// Who may use this policy (User, Group, ServiceAccount). Users bound to
    /// the custom verb `use` on this policy may use it too.
    #[schemars(length(min = 1, max = 256))]
    pub subjects: Vec<Subject>,
    /// Checks an escalation must pass before it is granted; all must pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub challenges: Vec<Challenge>,
    /// How long an escalation may wait for its challenges (default 1h, at most 8760h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_timeout: Option<DurationText>,
    /// How many PENDING or ACCEPTED escalations of this policy one requestor
    /// may hold at once (default 1); the next one is denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000), extend("format" = "int32"))]
    pub max_open_per_requestor: Option<u32>,
    pub target: Target,
    /// Where this policy's requests, decisions and expiry reminders are announced (DESIGN §6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<super::Notify>,
}

#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("duration(self.defaultDuration) <= duration(self.maxDuration)").message("target.defaultDuration must not exceed target.maxDuration"))]
#[x_kube(validation = kube::core::Rule::new("duration(self.defaultDuration) > duration('0s')").message("target.defaultDuration must be longer than 0s"))]
#[x_kube(validation = kube::core::Rule::new("duration(self.maxDuration) <= duration('8760h')").message("target.maxDuration is at most 8760h (one year)"))]
pub struct Target {
    /// Duration when the escalation names none.
    pub default_duration: DurationText,
    /// Longest duration a user may ask for.
    pub max_duration: DurationText,
    /// How often a running escalation may be extended (`kubectl kudo
    /// extend`): the most extensions in one chain. Default 0: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100), extend("format" = "int32"))]
    pub max_extensions: Option<u32>,
    /// What is granted while the escalation is ACCEPTED.
    #[schemars(length(min = 1, max = 8))]
    pub grants: Vec<Grant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum GrantKind {
    KubernetesRoleBinding,
    KubernetesClusterRoleBinding,
}

#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("self.kind == 'KubernetesRoleBinding' || (!has(self.defaultNamespace) && !has(self.allowedNamespaces))").message("a KubernetesClusterRoleBinding grant is cluster-wide: remove defaultNamespace and allowedNamespaces"))]
#[x_kube(validation = kube::core::Rule::new("self.kind == 'KubernetesRoleBinding' || self.roleRef.kind == 'ClusterRole'").message("a KubernetesClusterRoleBinding grant must reference a ClusterRole"))]
#[x_kube(validation = kube::core::Rule::new("self.kind != 'KubernetesRoleBinding' || has(self.defaultNamespace) || (has(self.allowedNamespaces) && size(self.allowedNamespaces) > 0)").message("a KubernetesRoleBinding grant needs defaultNamespace or allowedNamespaces"))]
#[x_kube(validation = kube::core::Rule::new("!has(self.defaultNamespace) || !has(self.allowedNamespaces) || size(self.allowedNamespaces) == 0 || self.defaultNamespace in self.allowedNamespaces").message("defaultNamespace must be one of allowedNamespaces"))]
pub struct Grant {
    pub kind: GrantKind,
    /// Namespace used when the escalation names none (RoleBinding only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub default_namespace: Option<String>,
    /// Namespaces a user may ask for (RoleBinding only). Empty: only defaultNamespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(min = 1, max = 63)))]
    pub allowed_namespaces: Vec<String>,
    pub role_ref: RoleRef,
}

/// The role a grant binds, as in RBAC bindings.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    pub kind: RoleKind,
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    #[serde(default = "rbac_group")]
    #[schemars(regex(pattern = r"^rbac\.authorization\.k8s\.io$"))]
    pub api_group: String,
}

fn rbac_group() -> String {
    super::RBAC_GROUP.into()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum RoleKind {
    ClusterRole,
    Role,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ChallengeKind {
    PeerReview,
    TimeWindow,
    Justification,
}

/// One check. Which fields apply depends on `kind`.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("self.kind != 'PeerReview' || (has(self.reviewers) && size(self.reviewers) > 0)").message("a PeerReview challenge needs at least one reviewer"))]
#[x_kube(validation = kube::core::Rule::new("self.kind != 'TimeWindow' || (has(self.timeZone) && has(self.windows) && size(self.windows) > 0)").message("a TimeWindow challenge needs timeZone and at least one window"))]
#[x_kube(validation = kube::core::Rule::new("self.kind != 'Justification' || has(self.pattern)").message("a Justification challenge needs a pattern"))]
#[x_kube(validation = kube::core::Rule::new("self.kind == 'PeerReview' || !has(self.breakGlass) || !self.breakGlass").message("breakGlass applies to PeerReview challenges only"))]
pub struct Challenge {
    pub kind: ChallengeKind,
    /// PeerReview: who may approve (never the requestor).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub reviewers: Vec<Subject>,
    /// PeerReview: distinct eligible approvals needed (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 16), extend("format" = "int32"))]
    pub min_approvals: Option<u32>,
    /// PeerReview: a requestor may skip it in an emergency (`--break-glass`);
    /// the escalation is then accepted at once and reviewed afterwards.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub break_glass: bool,
    /// TimeWindow: IANA time zone the windows are written in, e.g. Europe/Paris.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: Option<String>,
    /// TimeWindow: when escalating is allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub windows: Vec<Window>,
    /// Justification: regular expression the reason must contain a match of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub pattern: Option<String>,
}

/// Local wall-clock hours on some days. `end` before `start` crosses midnight
/// (the window then belongs to the day it starts on).
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("self.start != self.end").message("a window's start and end must differ (use 00:00 to 24:00 for a whole day)"))]
pub struct Window {
    #[schemars(length(min = 1, max = 7))]
    pub days: Vec<Weekday>,
    /// HH:MM, inclusive.
    // maxLength bounds the API server's CEL cost estimate of the rule above.
    #[schemars(length(max = 5), regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub start: String,
    /// HH:MM, exclusive; 24:00 is the end of the day.
    #[schemars(length(max = 5), regex(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"))]
    pub end: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscalationPolicyStatus {
    /// `Ready`, and `DangerousRole` when a granted role can make an escalation permanent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Condition types on a policy.
pub const CONDITION_READY: &str = "Ready";
pub const CONDITION_DANGEROUS_ROLE: &str = "DangerousRole";

impl EscalationPolicySpec {
    pub fn max_open_per_requestor(&self) -> usize {
        self.max_open_per_requestor.unwrap_or(1).max(1) as usize
    }
}

impl Target {
    pub fn max_extensions(&self) -> u32 {
        self.max_extensions.unwrap_or(0)
    }
}

impl Challenge {
    pub fn min_approvals(&self) -> u32 {
        self.min_approvals.unwrap_or(1).max(1)
    }
}
