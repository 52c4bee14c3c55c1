//! What can go wrong in an operation: what happened (the message) and the
//! one thing to do about it (`hint`), and how bad (`kind`), which the CLI
//! turns into its documented exit codes and the dashboard into a status.

use std::fmt;

/// How an error is to be taken by a front end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The input was incomplete or malformed (the CLI's usage error).
    Usage,
    /// The escalation was DENIED or EXPIRED before it was granted.
    Denied,
    /// A wait ran out before the controller decided.
    Timeout,
    /// Anything else: refused, not found, unreachable…
    Failed,
}

/// Why the cluster did not do what an operation asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeProblem {
    /// kudo's resources are not served (404 on the resource itself).
    NotServed,
    /// A ValidatingAdmissionPolicy refused; its own message says what to do.
    Rejected(String),
    /// RBAC said no. A real API server authorises before it looks the
    /// resource up, so on a cluster without kudo this is what users get:
    /// [`not_installed_if_unserved`] tells the two apart.
    Forbidden(String),
    Unauthorized,
    Unreachable(String),
    /// Any other answer of the API server, as it worded it.
    Api(String),
    Other(String),
}

impl fmt::Display for KubeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotServed => write!(f, "kudo's resources are not served by this cluster"),
            Self::Rejected(why) => write!(f, "rejected by the cluster: {why}"),
            Self::Forbidden(message) | Self::Api(message) | Self::Other(message) => write!(f, "{message}"),
            Self::Unauthorized => write!(f, "the cluster does not accept your credentials"),
            Self::Unreachable(detail) => write!(f, "cannot reach the cluster ({detail})"),
        }
    }
}

pub const INSTALL_HINT: &str = "install kudo with: kubectl kudo manifests | kubectl apply -f -";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed; `doing` says what the operation was doing.
    #[error("{doing}: {problem}")]
    Kube { doing: String, problem: KubeProblem },
    #[error("kudo is not installed on this cluster (it does not serve {version})")]
    NotInstalled { version: String },
    #[error("the cluster did not say who you are (SelfSubjectReview without a username)")]
    NoIdentity,
    /// Malformed input: `what` names the field or flag, `why` the problem.
    #[error("{what}: {why}")]
    Invalid { what: String, why: String, hint: Option<String> },
    #[error("which policy? none given")]
    NoPolicy,
    #[error("a reason is required")]
    NoReason { policy: String },
    #[error("policy {0} does not exist")]
    PolicyNotFound(String),
    #[error("no policy admits you (as a subject or by RBAC `use`)")]
    NoUsablePolicy,
    #[error("you ({user}) may not use policy {policy}")]
    NotAdmitted { user: String, policy: String },
    #[error("policy {policy} would deny this request: {why}")]
    WouldDeny { policy: String, why: String },
    #[error("namespace {0} does not exist")]
    NoSuchNamespace(String),
    #[error("no policy you may use grants {asked}")]
    NoneGrants { asked: String },
    #[error("several policies grant {asked}: {}", policies.join(", "))]
    SeveralGrant { asked: String, policies: Vec<String> },
    #[error("escalation {0} not found")]
    EscalationNotFound(String),
    #[error("you cannot {verb} escalation {name}: {user} requested the escalation and cannot review it")]
    OwnRequest { verb: &'static str, name: String, user: String },
    #[error("escalation {name} is {state}: there is nothing to {verb}")]
    NothingToReview { verb: &'static str, name: String, state: String },
    #[error("policy {policy} of escalation {name} no longer exists")]
    PolicyGone { policy: String, name: String },
    #[error("policy {policy} asks for no peer review: there is nothing to {verb}")]
    NoPeerReview { verb: &'static str, policy: String },
    #[error("you cannot {verb} escalation {name}: {why}")]
    NotEligible { verb: &'static str, name: String, why: String },
    #[error("escalation {name} is already {state}")]
    AlreadyFinal { name: String, state: String },
    /// Ended without being granted (exit 3 in the CLI).
    #[error("escalation {name} is {state}: {details}")]
    NotGranted { name: String, state: String, details: String },
    #[error("escalation {name} was deleted while waiting for it")]
    Deleted { name: String },
    #[error("no decision on escalation {name} within the timeout")]
    Timeout { name: String },
    #[error("the controller did not act on your review of {name} within {within}")]
    ReviewNotActed { name: String, within: String },
    #[error("watching escalations: {0}")]
    WatchList(#[source] kube::runtime::watcher::Error),
    #[error("watching escalation {name}: {source}")]
    Watch {
        name: String,
        #[source]
        source: kube::runtime::watcher::Error,
    },
}

impl Error {
    /// The one thing to do about it, when there is one.
    pub fn hint(&self) -> Option<String> {
        let policies = "kubectl kudo policies lists the ones you may use";
        Some(match self {
            Self::Kube { problem, .. } => match problem {
                KubeProblem::NotServed => INSTALL_HINT.into(),
                KubeProblem::Forbidden(_) => "ask a cluster admin to bind you the ClusterRole kudo-user (to escalate) or kudo-reviewer (to review)".into(),
                KubeProblem::Unauthorized => "log in again, or check the user of your kubeconfig context".into(),
                KubeProblem::Unreachable(_) => "check that the cluster is up and that your kubeconfig context points at it (kubectl cluster-info)".into(),
                KubeProblem::Rejected(_) | KubeProblem::Api(_) | KubeProblem::Other(_) => return None,
            },
            Self::NotInstalled { .. } => INSTALL_HINT.into(),
            Self::Invalid { hint, .. } => return hint.clone(),
            Self::NoPolicy => "kubectl kudo escalate POLICY --reason '…' (kubectl kudo policies lists yours)".into(),
            Self::NoReason { policy } => format!("kubectl kudo escalate {policy} --reason 'what for, ticket #…'"),
            Self::PolicyNotFound(_) | Self::NotAdmitted { .. } => policies.into(),
            Self::NoUsablePolicy => "ask an admin which EscalationPolicy to use".into(),
            Self::NoSuchNamespace(_) => {
                "escalate with --namespace set to a namespace that exists, or ask an admin to create it".into()
            }
            Self::NoneGrants { .. } => {
                "kubectl kudo policies lists the policies you may use; ask an admin for one that grants it".into()
            }
            Self::SeveralGrant { .. } => {
                "name one instead of --for (kubectl kudo which shows what each asks first)".into()
            }
            Self::EscalationNotFound(_) => "kubectl kudo list --all shows them".into(),
            Self::OwnRequest { .. } => "ask an eligible reviewer (kubectl kudo policies shows who reviews)".into(),
            Self::Deleted { .. } => "it no longer exists and grants nothing; escalate again if you still need it".into(),
            Self::Timeout { name } => format!("it keeps going: kubectl kudo status {name}"),
            Self::ReviewNotActed { name, .. } => format!("it will when it runs: kubectl kudo status {name}"),
            _ => return None,
        })
    }

    pub fn kind(&self) -> Kind {
        match self {
            Self::Invalid { .. } | Self::NoPolicy | Self::NoReason { .. } | Self::SeveralGrant { .. } => Kind::Usage,
            Self::NotGranted { .. } => Kind::Denied,
            Self::Timeout { .. } | Self::ReviewNotActed { .. } => Kind::Timeout,
            _ => Kind::Failed,
        }
    }

    /// RBAC said no (see [`KubeProblem::Forbidden`]).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Self::Kube { problem: KubeProblem::Forbidden(_), .. })
    }

    pub fn invalid(what: impl Into<String>, why: impl fmt::Display) -> Self {
        Self::Invalid { what: what.into(), why: why.to_string(), hint: None }
    }

    pub fn with_hint(self, hint: impl Into<String>) -> Self {
        match self {
            Self::Invalid { what, why, .. } => Self::Invalid { what, why, hint: Some(hint.into()) },
            other => other,
        }
    }
}

/// Explains an API error in the terms of what the operation was doing.
pub fn kube(doing: impl Into<String>, e: kube::Error) -> Error {
    let problem = match e {
        kube::Error::Api(s)
            if s.code == 404 && s.message.contains("the server could not find the requested resource") =>
        {
            KubeProblem::NotServed
        }
        kube::Error::Api(s) if s.code == 403 && s.message.contains("ValidatingAdmissionPolicy") => {
            KubeProblem::Rejected(s.message.split("denied request: ").nth(1).unwrap_or(&s.message).to_string())
        }
        kube::Error::Api(s) if s.code == 403 => KubeProblem::Forbidden(s.message),
        kube::Error::Api(s) if s.code == 401 => KubeProblem::Unauthorized,
        kube::Error::Api(s) => KubeProblem::Api(s.message),
        e @ (kube::Error::HyperError(_) | kube::Error::Service(_)) => KubeProblem::Unreachable(e.to_string()),
        other => KubeProblem::Other(other.to_string()),
    };
    Error::Kube { doing: doing.into(), problem }
}

/// `map_err(doing("reading X"))`.
pub fn doing(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let what = what.into();
    move |e| kube(what, e)
}

/// A forbidden request on a cluster that does not serve kudo's API group
/// was not about the user's roles: kudo is not installed.
pub async fn not_installed_if_unserved(client: &kube::Client, e: Error) -> Error {
    if !e.is_forbidden() {
        return e;
    }
    let version = format!("{}/{}", crate::api::GROUP, crate::api::VERSION);
    match client.list_api_group_resources(&version).await {
        Err(kube::Error::Api(s)) if s.code == 404 => Error::NotInstalled { version },
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(kube::core::Status::failure(message, "").with_code(code).boxed())
    }

    #[test]
    fn api_errors_say_what_to_do() {
        let e = kube("listing escalations", api(403, "escalations is forbidden"));
        assert!(e.is_forbidden());
        assert_eq!(e.to_string(), "listing escalations: escalations is forbidden");
        assert!(e.hint().unwrap().contains("kudo-user"));
        let e = kube("creating", api(403, "ValidatingAdmissionPolicy 'x' denied request: spec.reason is empty"));
        assert_eq!(e.to_string(), "creating: rejected by the cluster: spec.reason is empty");
        assert!(!e.is_forbidden() && e.hint().is_none());
        let e = kube("reading", api(404, "the server could not find the requested resource"));
        assert_eq!(e.hint().as_deref(), Some(INSTALL_HINT));
        assert_eq!(kube("x", api(401, "Unauthorized")).to_string(), "x: the cluster does not accept your credentials");
    }

    #[test]
    fn kinds_map_to_what_front_ends_do() {
        assert_eq!(Error::NoPolicy.kind(), Kind::Usage);
        assert_eq!(Error::Timeout { name: "e".into() }.kind(), Kind::Timeout);
        let denied = Error::NotGranted { name: "e".into(), state: "DENIED".into(), details: "no".into() };
        assert_eq!(denied.kind(), Kind::Denied);
        let deleted = Error::Deleted { name: "e".into() };
        assert_eq!(deleted.kind(), Kind::Failed);
        assert!(deleted.hint().unwrap().contains("escalate again"));
    }
}
