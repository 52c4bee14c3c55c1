//! Asking for a policy's grants (`escalate`, `run`, `--for`, the
//! dashboard's form): build the Escalation in my name, check it as the
//! controller will, so that a request bound to be denied is never created,
//! and create it.

use jiff::Timestamp;
use k8s_openapi::{api::core::v1::Namespace, apimachinery::pkg::apis::meta::v1::Time};
use kube::{ResourceExt, api::ListParams, api::PostParams};

use super::{Error, Me, Session, error::doing, policies};
use crate::{
    api::{DurationText, Escalation, EscalationPolicy, EscalationSpec},
    engine::checks,
};

/// What a requestor fills in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub policy: String,
    /// Why; policies may require a ticket reference.
    pub reason: String,
    /// Where namespaced grants go (default: the policy's defaultNamespace).
    pub namespace: Option<String>,
    /// How long (default: the policy's defaultDuration), e.g. 30m.
    pub duration: Option<String>,
    /// Not accepted before this time.
    pub start_at: Option<Timestamp>,
    /// Emergency: skip the policy's break-glass review, reviewed afterwards.
    pub break_glass: bool,
}

/// Checks the request as the controller will and creates the escalation.
pub async fn create(session: &Session, request: &Request) -> Result<Escalation, Error> {
    let policy = policies::get(session, &request.policy).await?;
    create_for(session, &policy, request).await
}

/// [`create`] with the policy already read.
pub async fn create_for(session: &Session, policy: &EscalationPolicy, request: &Request) -> Result<Escalation, Error> {
    let spec = spec(&session.me, request)?;
    validate(session, policy, &spec).await?;
    let esc = escalation(spec);
    session
        .api::<Escalation>()
        .create(&PostParams::default(), &esc)
        .await
        .map_err(doing(format!("creating an escalation for policy {}", request.policy)))
}

/// The spec, in my name (pure).
pub fn spec(me: &Me, request: &Request) -> Result<EscalationSpec, Error> {
    if request.reason.trim().is_empty() {
        return Err(Error::NoReason { policy: request.policy.clone() });
    }
    Ok(EscalationSpec {
        policy_name: request.policy.clone(),
        requestor: me.username.clone(),
        requestor_groups: me.groups_for_spec(),
        reason: request.reason.clone(),
        namespace: request.namespace.clone(),
        duration: request.duration.clone().map(DurationText::new),
        revoked: false,
        revoked_by: String::new(),
        start_at: request.start_at.map(Time),
        break_glass: request.break_glass,
        extends: String::new(),
    })
}

/// The object to create: named by the server after its policy (pure).
pub fn escalation(spec: EscalationSpec) -> Escalation {
    let prefix = format!("{}-", truncate_name(&spec.policy_name));
    let mut esc = Escalation::new("", spec);
    esc.metadata.name = None;
    esc.metadata.generate_name = Some(prefix);
    // kudo's finalizer from the start saves the controller a write before it
    // can grant (it adds the finalizer itself to an escalation created without).
    esc.metadata.finalizers = Some(vec![crate::api::FINALIZER.to_string()]);
    esc
}

/// The controller's own checks, run first.
pub async fn validate(session: &Session, policy: &EscalationPolicy, spec: &EscalationSpec) -> Result<(), Error> {
    let name = policy.name_any();
    if !policies::admitted(session, policy).await? {
        return Err(Error::NotAdmitted { user: spec.requestor.clone(), policy: name });
    }
    let deny = |why: String| Error::WouldDeny { policy: name.clone(), why };
    let now = Timestamp::now();
    checks::request(&policy.spec, spec, &name, now).map_err(deny)?;
    checks::schedule(&policy.spec, spec, &name, now).map_err(deny)?;
    // From the API server's watch cache (resourceVersion 0): this check is
    // advisory, the controller's is the one that counts.
    let mine = session
        .api::<Escalation>()
        .list(&ListParams::default().match_any())
        .await
        .map_err(doing("listing your escalations"))?;
    let probe = Escalation::new("", spec.clone());
    checks::open_limit(&policy.spec, &name, &checks::open_escalations(&probe, &mine.items)).map_err(deny)?;
    for ns in checks::namespaces(&policy.spec, spec, &name).map_err(deny)?.into_iter().flatten() {
        namespace_exists(session, &ns).await?;
    }
    Ok(())
}

/// A grant into a namespace that does not exist would be denied; say so
/// first. Users who may not read namespaces get the controller's answer.
async fn namespace_exists(session: &Session, namespace: &str) -> Result<(), Error> {
    let namespace = super::namespace_name("namespace", namespace)?;
    match session.api::<Namespace>().get_opt(namespace).await {
        Ok(None) => Err(Error::NoSuchNamespace(namespace.to_string())),
        Ok(Some(_)) | Err(_) => Ok(()),
    }
}

/// When to start, from `--start-at` (RFC 3339) or `--start-in` (a duration
/// from `now`), in whole seconds as status stores them (pure).
pub fn start_time(at: Option<&str>, start_in: Option<&str>, now: Timestamp) -> Result<Option<Timestamp>, Error> {
    let at = match (at, start_in) {
        (Some(at), _) => at.parse::<Timestamp>().map_err(|e| {
            Error::invalid(format!("--start-at {at}"), e)
                .with_hint("write it as RFC 3339, e.g. 2026-11-24T08:00:00Z or 2026-11-24T09:00:00+01:00")
        })?,
        (None, Some(d)) => {
            let d = DurationText::new(d).parse().map_err(|e| Error::invalid(format!("--start-in {d}"), e))?;
            now.checked_add(d).map_err(|e| Error::invalid("--start-in", e))?
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(Timestamp::from_second(at.as_second()).unwrap_or(at)))
}

/// A duration as a flag or field gives it (`--timeout 15m`), never negative (pure).
pub fn parse_duration(text: &str, what: &str) -> Result<std::time::Duration, Error> {
    let d = DurationText::new(text).parse().map_err(|e| Error::invalid(format!("{what} {text}"), e))?;
    std::time::Duration::try_from(d).map_err(|_| Error::invalid(format!("{what} {text}"), "must not be negative"))
}

/// generateName keeps the name within the 63 characters escalation names may have.
fn truncate_name(policy: &str) -> &str {
    let max = 63 - 6;
    let mut end = policy.len().min(max);
    while !policy.is_char_boundary(end) {
        end -= 1;
    }
    policy[..end].trim_end_matches(['-', '.'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Me {
        Me { username: "alice".into(), groups: vec!["squad-a".into(), "squad-a".into(), "all".into()] }
    }

    #[test]
    fn the_spec_is_in_my_name_and_needs_a_reason() {
        let request = Request { policy: "read-pods".into(), reason: "ticket #1".into(), ..Default::default() };
        let spec = spec(&alice(), &request).unwrap();
        assert_eq!(
            (spec.requestor.as_str(), spec.requestor_groups.as_slice()),
            ("alice", &["squad-a".to_string(), "all".into()][..])
        );
        for blank in ["", "  \t"] {
            let e = super::spec(&alice(), &Request { reason: blank.into(), ..request.clone() }).unwrap_err();
            assert!(matches!(e, Error::NoReason { .. }) && e.kind() == super::super::Kind::Usage, "{e}");
        }
    }

    #[test]
    fn generated_names_fit_in_63_characters() {
        let long = "p".repeat(80) + "-";
        let esc =
            escalation(spec(&alice(), &Request { policy: long, reason: "r".into(), ..Default::default() }).unwrap());
        let prefix = esc.metadata.generate_name.unwrap();
        assert!(prefix.len() + 5 <= 63 && prefix.ends_with("p-"), "{prefix}");
        assert_eq!(truncate_name("a-b-"), "a-b");
        assert_eq!(truncate_name(&"é".repeat(40)).len(), 56, "cut on a character boundary");
    }

    #[test]
    fn start_times_are_whole_seconds_and_bad_ones_say_how_to_write_them() {
        let now: Timestamp = "2026-11-24T08:00:00.5Z".parse().unwrap();
        let t = start_time(None, Some("2h"), now).unwrap().unwrap();
        assert_eq!(t.to_string(), "2026-11-24T10:00:00Z");
        assert_eq!(start_time(None, None, now).unwrap(), None);
        let e = start_time(Some("tomorrow"), None, now).unwrap_err();
        assert!(e.to_string().starts_with("--start-at tomorrow:") && e.hint().unwrap().contains("RFC 3339"), "{e}");
        assert_eq!(start_time(None, Some("soon"), now).unwrap_err().kind(), super::super::Kind::Usage);
    }

    #[test]
    fn durations_are_not_negative() {
        assert_eq!(parse_duration("15m", "--timeout").unwrap(), std::time::Duration::from_secs(900));
        assert!(parse_duration("-5m", "--timeout").unwrap_err().to_string().contains("negative"));
        assert!(parse_duration("x", "--timeout").unwrap_err().to_string().starts_with("--timeout x:"));
    }
}
