//! The audit webhook's URL is a secret: a Slack (or Mattermost, Teams…)
//! incoming-webhook URL carries its token in the path, and whoever reads it
//! can post as kudo. It is shown as `scheme://host/…` only, and
//! [`WebhookUrl::secrets`] names what the logger scrubs from every line.

use std::fmt;

/// Where the controller reads the URL: the environment only, set from a
/// Secret (`kubectl kudo manifests --audit-webhook-secret`). A flag would
/// show it in `ps`, and a plain value in the pod's spec.
pub const WEBHOOK_ENV: &str = "KUDO_AUDIT_WEBHOOK";

#[derive(Clone)]
pub struct WebhookUrl {
    url: reqwest::Url,
    /// As the operator wrote it (before normalisation), for [`Self::secrets`].
    given: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookUrlError {
    /// The parser's message names the fault, never the input.
    #[error("the audit webhook URL is not a valid URL: {0}")]
    Invalid(String),
    #[error("the audit webhook URL must start with https:// or http://")]
    Scheme,
}

/// Path-and-query pieces shorter than this are no token (`/`, `/hook`):
/// scrubbing them would garble unrelated log lines and hide nothing.
const MIN_SECRET_PART: usize = 8;

impl WebhookUrl {
    pub fn parse(text: &str) -> Result<Self, WebhookUrlError> {
        let url = reqwest::Url::parse(text).map_err(|e| WebhookUrlError::Invalid(e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(WebhookUrlError::Scheme);
        }
        Ok(Self { url, given: text.to_string() })
    }

    pub(crate) fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// Every text that would give the URL away: the URL as given and as
    /// normalised, its path and query (where webhook tokens live), and a
    /// password in it; longest first, so that a longer match is redacted whole.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.given.clone(), self.url.as_str().to_string()];
        secrets.push(self.url.path().to_string());
        if let Some(query) = self.url.query() {
            secrets.push(format!("{}?{query}", self.url.path()));
            secrets.push(query.to_string());
        }
        if let Some(password) = self.url.password() {
            secrets.push(password.to_string());
        }
        secrets.retain(|s| s.len() >= MIN_SECRET_PART || s == &self.given);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        secrets
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({self})")
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => write!(f, "{}://{host}:{port}/…", self.url.scheme()),
            None => write!(f, "{}://{host}/…", self.url.scheme()),
        }
    }
}

/// Secrets learned while running: the notification targets' URLs, read
/// from Secrets at each delivery. The controller's logger scrubs them from
/// every line too, whoever wrote it. Bounded: an admin rotating URLs all
/// day cannot grow it without end (the oldest go first).
static LEARNED: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());
const MAX_LEARNED: usize = 1024;

/// Adds `url`'s [`WebhookUrl::secrets`] to those scrubbed from logs.
pub fn learn(url: &WebhookUrl) {
    let secrets = url.secrets();
    if let Ok(known) = LEARNED.read()
        && secrets.iter().all(|s| known.contains(s))
    {
        return;
    }
    let mut known = LEARNED.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    for secret in secrets {
        if let Some(i) = known.iter().position(|k| *k == secret) {
            known.remove(i);
        }
        known.push(secret);
    }
    let excess = known.len().saturating_sub(MAX_LEARNED);
    known.drain(..excess);
}

/// `text` with every learned secret replaced, longest first.
pub fn redact_learned(text: &str) -> String {
    let known = LEARNED.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    if known.is_empty() {
        return text.to_string();
    }
    let mut sorted: Vec<String> = known.clone();
    drop(known);
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    redact(text, &sorted)
}

/// Replaces every secret in `text` with `[redacted]`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "[redacted]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK: &str = "https://hooks.slack.com/services/T0001/B0002/XXXXsecretXXXX";

    #[test]
    fn shows_scheme_and_host_only() {
        let url = WebhookUrl::parse(SLACK).unwrap();
        assert_eq!(url.to_string(), "https://hooks.slack.com/…");
        assert_eq!(format!("{url:?}"), "WebhookUrl(https://hooks.slack.com/…)");
        let local = WebhookUrl::parse("http://127.0.0.1:9/hook").unwrap();
        assert_eq!(local.to_string(), "http://127.0.0.1:9/…");
    }

    #[test]
    fn refusals_do_not_repeat_the_url() {
        for bad in ["hooks.slack.com/services/XXXXsecretXXXX", "ftp://h/XXXXsecretXXXX", "https://[XXXXsecretXXXX/"] {
            let e = WebhookUrl::parse(bad).err().unwrap().to_string();
            assert!(!e.contains("XXXXsecretXXXX"), "{e}");
        }
    }

    #[test]
    fn every_form_of_the_secret_is_redacted() {
        let url = WebhookUrl::parse(
            "https://user:p4ssw0rd!@hooks.example/services/T0001/B0002/XXXXsecretXXXX?t=XXXXtokenXXXX",
        )
        .unwrap();
        let secrets = url.secrets();
        let line = format!(
            "url ({}) path {} query {} password {}",
            url.url(),
            url.url().path(),
            url.url().query().unwrap(),
            url.url().password().unwrap()
        );
        let redacted = redact(&line, &secrets);
        for part in ["XXXXsecretXXXX", "XXXXtokenXXXX", "p4ssw0rd"] {
            assert!(!redacted.contains(part), "{redacted}");
        }
        assert!(redacted.starts_with("url ([redacted])"), "{redacted}");
        // A short path is no secret, and redacting it would garble other lines.
        let short = WebhookUrl::parse("http://127.0.0.1:9/hook").unwrap();
        assert_eq!(redact("GET /hook", &short.secrets()), "GET /hook");
        assert_eq!(redact("to http://127.0.0.1:9/hook", &short.secrets()), "to [redacted]");
    }
}
