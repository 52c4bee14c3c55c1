//! The public API of kudo: the three cluster-scoped custom resources of
//! `k8s.kudo.dev/v1alpha1` (DESIGN §1). Field names here are public API.

pub mod duration;
mod escalation;
mod policy;
mod review;
mod subject;

pub use duration::DurationText;
pub use escalation::*;
pub use policy::*;
pub use review::*;
pub use subject::*;

pub const GROUP: &str = "k8s.kudo.dev";
pub const VERSION: &str = "v1alpha1";
pub const API_VERSION: &str = "k8s.kudo.dev/v1alpha1";
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The field manager of every write the controller makes.
pub const FIELD_MANAGER: &str = "kudo-controller";

/// Finalizer that makes deleting an escalation reclaim its grants first.
pub const FINALIZER: &str = "k8s.kudo.dev/reclaim";
/// The controller's leader-election Lease (in kudo's namespace); only the
/// controller's ServiceAccount may write it (admission policy
/// `kudo-leader-lease`).
pub const LEASE_NAME: &str = "kudo-controller";
/// Annotation on that Lease: the version of the controller holding it,
/// written by the leader on every take and renewal (`kubectl kudo version`
/// and `doctor` read it; only the controller may write the Lease).
pub const CONTROLLER_VERSION_ANNOTATION: &str = "k8s.kudo.dev/controller-version";
/// Label on every binding kudo creates (`app.kubernetes.io/managed-by: kudo`).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "kudo";
/// Label naming the escalation a binding belongs to.
pub const ESCALATION_LABEL: &str = "k8s.kudo.dev/escalation";

/// The controller's identity unless `manifests --controller-service-account` says otherwise.
pub const DEFAULT_NAMESPACE: &str = "kudo-system";
pub const DEFAULT_SERVICE_ACCOUNT: &str = "kudo-controller";

/// Most grants a policy may hold. The admission policy checks `bind` once per
/// grant, and each authorizer check is costly in the API server's CEL budget.
pub const MAX_GRANTS: usize = 8;

/// Whether `name` can name an escalation at all; anyone may write a label or
/// a review naming anything, and an empty name makes every API call fail.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}
