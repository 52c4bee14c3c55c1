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

pub use crate::operations::error::INSTALL_HINT;

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

/// An operation's error as the CLI reports it: its message, its hint, and
/// the documented exit code for its kind.
impl From<crate::operations::Error> for UserError {
    fn from(e: crate::operations::Error) -> Self {
        use crate::operations::Kind;
        let code = match e.kind() {
            Kind::Usage => exit::USAGE,
            Kind::Denied => exit::DENIED,
            Kind::Timeout => exit::TIMEOUT,
            Kind::Failed => exit::ERROR,
        };
        Self { message: e.to_string(), hint: e.hint(), code, forbidden: e.is_forbidden() }
    }
}
