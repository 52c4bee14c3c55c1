//! A target's webhook URL, read from its Secret in kudo's namespace at each
//! delivery (so a rotated URL is used at once). What goes wrong is said as
//! what to fix, naming the Secret and the key, never the value.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use crate::{
    api::SecretKeyRef,
    audit::{WebhookUrl, WebhookUrlError},
};

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("Secret {namespace}/{name} does not exist: create it with the webhook URL under key {key}")]
    Missing { namespace: String, name: String, key: String },
    #[error("Secret {namespace}/{name} has no key {key}: add the webhook URL under it")]
    NoKey { namespace: String, name: String, key: String },
    #[error("key {key} of Secret {namespace}/{name} is not a webhook URL ({why}): write the https:// URL there")]
    BadUrl { namespace: String, name: String, key: String, why: String },
    /// kube's message names the Secret and the refusal, never its data.
    #[error("reading Secret {namespace}/{name}: {source}")]
    Read { namespace: String, name: String, source: kube::Error },
}

impl TargetError {
    /// A short reason for a condition or a metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "SecretMissing",
            Self::NoKey { .. } => "KeyMissing",
            Self::BadUrl { .. } => "InvalidURL",
            Self::Read { .. } => "SecretUnreadable",
        }
    }
}

/// The URL under `target`'s key, from the Secret `secrets` (namespaced to kudo's namespace) holds.
pub async fn read_url(secrets: &Api<Secret>, target: &SecretKeyRef) -> Result<WebhookUrl, TargetError> {
    let namespace = secrets.namespace().unwrap_or_default().to_string();
    let (name, key) = (target.name.clone(), target.key.clone());
    let secret = match secrets.get_opt(&target.name).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return Err(TargetError::Missing { namespace, name, key }),
        Err(source) => return Err(TargetError::Read { namespace, name, source }),
    };
    let url = parse(&secret, target).map_err(|e| match e {
        None => TargetError::NoKey { namespace: namespace.clone(), name: name.clone(), key: key.clone() },
        Some(why) => TargetError::BadUrl { namespace: namespace.clone(), name: name.clone(), key: key.clone(), why },
    })?;
    // Whatever a dependency logs about it is scrubbed (cli::redacting).
    crate::audit::learn(&url);
    Ok(url)
}

/// `Err(None)`: no such key; `Err(Some(why))`: not a URL (why never quotes it).
fn parse(secret: &Secret, target: &SecretKeyRef) -> Result<WebhookUrl, Option<String>> {
    let bytes = secret.data.as_ref().and_then(|d| d.get(&target.key)).ok_or(None)?;
    let text = std::str::from_utf8(&bytes.0).map_err(|_| Some("not UTF-8".to_string()))?;
    // `kubectl create secret --from-file` keeps the file's last newline.
    WebhookUrl::parse(text.trim()).map_err(|e| {
        Some(match e {
            WebhookUrlError::Invalid(why) => why,
            WebhookUrlError::Scheme => "it must start with https:// or http://".into(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    fn secret(key: &str, value: &str) -> Secret {
        Secret { data: Some([(key.to_string(), ByteString(value.as_bytes().to_vec()))].into()), ..Secret::default() }
    }

    #[test]
    fn what_is_wrong_never_quotes_the_value() {
        let target = SecretKeyRef { name: "team-b".into(), key: "url".into() };
        assert!(parse(&secret("url", "https://hooks.example/T/B/XXXXsecretXXXX\n"), &target).is_ok());
        assert_eq!(parse(&secret("other", "https://h/x"), &target).err(), Some(None));
        for bad in ["hooks.example/XXXXsecretXXXX", "ftp://h/XXXXsecretXXXX", "https://[XXXXsecretXXXX/"] {
            let why = parse(&secret("url", bad), &target).err().flatten().unwrap();
            let e =
                TargetError::BadUrl { namespace: "kudo-system".into(), name: "team-b".into(), key: "url".into(), why };
            let e = e.to_string();
            assert!(!e.contains("XXXXsecretXXXX") && e.contains("kudo-system/team-b"), "{e}");
        }
    }
}
