//! Errors for users: what happened, the one thing to do about it, and the
//! documented exit code.

use std::fmt;

/// Exit codes, documented in the README.
pub mod exit {
    /// Something went wrong; the message says what to do.
    pub const ERROR: u8 = 1;
    /// Bad flags or arguments (clap's own code).
    pub const USAGE: u8 = 2;
    /// The escalation was DENIED or EXPIRED before it was granted.
    pub const DENIED: u8 = 3;
    /// `--timeout` passed before a decision.
    pub const TIMEOUT: u8 = 4;
}

/// An error for the user: what happened, and the one thing to do about it.
#[derive(Debug)]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
    pub code: u8,
    /// RBAC said no. A real API server authorises before it looks the
    /// resource up, so on a cluster without kudo users get 403, not 404:
    /// the caller checks discovery before blaming the user's roles.
    pub forbidden: bool,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), hint: None, code: exit::ERROR, forbidden: false }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UserError {}

/// Exit with this status and say nothing more: `run` passes on its
/// command's exit status, which speaks for itself.
#[derive(Debug)]
pub struct Exit(pub u8);

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

pub const INSTALL_HINT: &str = "install kudo with: kubectl kudo manifests | kubectl apply -f -";

/// A forbidden request on a cluster that does not serve kudo's API group
/// was not about the user's roles: kudo is not installed.
pub async fn not_installed_if_unserved(client: &kube::Client, e: UserError) -> UserError {
    if !e.forbidden {
        return e;
    }
    let version = format!("{}/{}", crate::api::GROUP, crate::api::VERSION);
    match client.list_api_group_resources(&version).await {
        Err(kube::Error::Api(s)) if s.code == 404 => {
            UserError::new(format!("kudo is not installed on this cluster (it does not serve {version})"))
                .hint(INSTALL_HINT)
        }
        _ => e,
    }
}

/// Explains an API error in the terms of what the user was doing.
pub fn explain(doing: &str, e: kube::Error) -> UserError {
    match e {
        kube::Error::Api(s)
            if s.code == 404 && s.message.contains("the server could not find the requested resource") =>
        {
            UserError::new(format!("{doing}: kudo's resources are not served by this cluster")).hint(INSTALL_HINT)
        }
        kube::Error::Api(s) if s.code == 403 && s.message.contains("ValidatingAdmissionPolicy") => {
            // The policy's own message says what to do.
            let why = s.message.split("denied request: ").nth(1).unwrap_or(&s.message).to_string();
            UserError::new(format!("{doing}: rejected by the cluster: {why}"))
        }
        kube::Error::Api(s) if s.code == 403 => {
            let mut e = UserError::new(format!("{doing}: {}", s.message)).hint(
                "ask a cluster admin to bind you the ClusterRole kudo-user (to escalate) or kudo-reviewer (to review)",
            );
            e.forbidden = true;
            e
        }
        kube::Error::Api(s) if s.code == 401 => {
            UserError::new(format!("{doing}: the cluster does not accept your credentials"))
                .hint("log in again, or check the user of your kubeconfig context")
        }
        kube::Error::Api(s) => UserError::new(format!("{doing}: {}", s.message)),
        kube::Error::HyperError(_) | kube::Error::Service(_) => UserError::new(format!(
            "{doing}: cannot reach the cluster ({e})"
        ))
        .hint("check that the cluster is up and that your kubeconfig context points at it (kubectl cluster-info)"),
        other => UserError::new(format!("{doing}: {other}")),
    }
}
