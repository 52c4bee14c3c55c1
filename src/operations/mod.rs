//! The operations layer: what a person does with kudo, once, for every
//! front end. Each module is one operation holding its checks and its API
//! calls; it takes plain input structs and returns plain data or an
//! [`Error`] that says what to do. No printing, no prompts, no flags: the
//! CLI (`crate::cli`) and the dashboard are thin adapters over it, the way
//! cargo's `commands/` sit over `ops/`. Decisions stay in `crate::engine`.
//!
//! front ends (cli, dashboard) → operations → engine (pure) + the API server

pub mod error;
pub mod extend;
pub mod list;
pub mod policies;
pub mod request;
pub mod review;
pub mod revoke;
pub mod status;
pub mod wait;
pub mod which;

pub use error::{Error, Kind};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::{Api, Client, api::PostParams};

use crate::api::{Escalation, Identity};

/// Who I am, as the API server says (what `kubectl auth whoami` shows): the
/// identity admission checks the requestor and reviewer fields against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Me {
    pub username: String,
    pub groups: Vec<String>,
}

impl Me {
    pub fn identity(&self) -> Identity<'_> {
        Identity { username: &self.username, groups: &self.groups }
    }

    /// The groups as specs record them: admission compares them as a set.
    pub fn groups_for_spec(&self) -> Vec<String> {
        let mut groups = self.groups.clone();
        groups.dedup();
        groups
    }
}

/// A client and who it acts as: what every operation starts from.
#[derive(Clone)]
pub struct Session {
    pub client: Client,
    pub me: Me,
}

impl Session {
    /// Asks the cluster who the client is (a SelfSubjectReview).
    pub async fn new(client: Client) -> Result<Self, Error> {
        let me = whoami(&client).await?;
        Ok(Self { client, me })
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource,
        K::DynamicType: Default,
    {
        Api::all(self.client.clone())
    }
}

pub async fn whoami(client: &Client) -> Result<Me, Error> {
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    let review = api
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .map_err(error::doing("asking the cluster who you are"))?;
    let info = review.status.and_then(|s| s.user_info).unwrap_or_default();
    let username = info.username.filter(|u| !u.is_empty()).ok_or(Error::NoIdentity)?;
    Ok(Me { username, groups: info.groups.unwrap_or_default() })
}

/// NAME, from NAME or from what `kubectl kudo list -o name` (escalation/NAME)
/// and `kubectl get escalations -o name` (escalation.k8s.kudo.dev/NAME) print.
pub fn escalation_name(arg: &str) -> &str {
    ["escalation/", "escalations/", "escalation.k8s.kudo.dev/"]
        .iter()
        .find_map(|prefix| arg.strip_prefix(prefix))
        .unwrap_or(arg)
}

/// A name that goes into an API path must be an object name: kube puts it
/// in the URL as given, and a front end gets it from whoever typed it.
pub fn object_name<'a>(what: &str, name: &'a str) -> Result<&'a str, Error> {
    if crate::api::valid_name(name) {
        return Ok(name);
    }
    Err(Error::invalid(format!("{what} {name:?}"), "not a Kubernetes object name").with_hint(
        "names are lowercase letters, digits, '-' and '.', at most 253; kubectl kudo list and policies show them",
    ))
}

/// A namespace name (DNS label), for the same reason.
pub fn namespace_name<'a>(what: &str, name: &'a str) -> Result<&'a str, Error> {
    let label = name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if label {
        return Ok(name);
    }
    Err(Error::invalid(format!("{what} {name:?}"), "not a namespace name")
        .with_hint("namespace names are lowercase letters, digits and '-', at most 63"))
}

/// One escalation, or [`Error::EscalationNotFound`].
pub async fn get_escalation(session: &Session, name: &str) -> Result<Escalation, Error> {
    let name = object_name("escalation", escalation_name(name))?;
    session
        .api::<Escalation>()
        .get_opt(name)
        .await
        .map_err(error::doing(format!("reading escalation {name}")))?
        .ok_or_else(|| Error::EscalationNotFound(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_as_list_and_kubectl_print_them() {
        assert_eq!(escalation_name("read-pods-x7k2p"), "read-pods-x7k2p");
        assert_eq!(escalation_name("escalation/read-pods-x7k2p"), "read-pods-x7k2p");
        assert_eq!(escalation_name("escalation.k8s.kudo.dev/read-pods-x7k2p"), "read-pods-x7k2p");
    }

    #[test]
    fn names_for_api_paths_are_object_names() {
        assert_eq!(object_name("policy", "read-pods.v2").unwrap(), "read-pods.v2");
        let long = "a".repeat(254);
        for hostile in ["", "../../api/v1/secrets", "a/b", "A", "x?watch=1", "x\u{1b}[2J", long.as_str()] {
            let e = object_name("escalation", hostile).unwrap_err();
            assert_eq!(e.kind(), Kind::Usage, "{hostile:?}");
            assert!(e.to_string().starts_with("escalation \""), "{e}");
            assert!(!e.to_string().contains('\u{1b}'), "escaped for a terminal: {e}");
        }
        assert_eq!(namespace_name("namespace", "app-1").unwrap(), "app-1");
        for hostile in ["", "-a", "a.b", "a/b", &"a".repeat(64)] {
            assert!(namespace_name("namespace", hostile).is_err(), "{hostile:?}");
        }
    }
}
