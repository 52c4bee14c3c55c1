//! Extending a running escalation without a gap: the extension is a new
//! escalation (`spec.extends: NAME`), checked and reviewed as any; once its
//! own bindings exist the controller ends NAME ("superseded by …"). The
//! rules are `engine::extension`'s; here are the reads and the create.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{ResourceExt, api::PostParams};

use super::{Error, Me, Session, error::doing, policies, request};
use crate::{
    api::{DurationText, Escalation, EscalationSpec},
    engine::extension,
};

/// The extension of `old` in my name: its policy and namespace, and
/// (unless given) its duration and reason (pure).
pub fn spec(me: &Me, old: &Escalation, duration: Option<String>, reason: Option<String>) -> EscalationSpec {
    EscalationSpec {
        policy_name: old.spec.policy_name.clone(),
        requestor: me.username.clone(),
        requestor_groups: me.groups_for_spec(),
        reason: reason.filter(|r| !r.trim().is_empty()).unwrap_or_else(|| old.spec.reason.clone()),
        namespace: old.spec.namespace.clone(),
        duration: duration.map(DurationText::new).or_else(|| old.spec.duration.clone()),
        start_at: None,
        break_glass: false,
        revoked: false,
        revoked_by: String::new(),
        extends: old.name_any(),
    }
}

/// Checks the extension as the controller will (the API server cannot: it
/// does not read other objects in admission) and creates it.
pub async fn request(
    session: &Session,
    target: &str,
    duration: Option<String>,
    reason: Option<String>,
) -> Result<Escalation, Error> {
    let escalations = session.api::<Escalation>();
    let old = escalations
        .get_opt(target)
        .await
        .map_err(doing(format!("reading escalation {target}")))?
        .ok_or_else(|| Error::NothingToExtend(target.to_string()))?;
    let policy = policies::get(session, &old.spec.policy_name).await?;
    let spec = spec(&session.me, &old, duration, reason);
    let now = Timestamp::now();
    let mut probe = Escalation::new("", spec.clone());
    probe.metadata.creation_timestamp = Some(Time(now));
    // Advisory, from the API server's watch cache: the controller decides.
    let all =
        escalations.list(&kube::api::ListParams::default().match_any()).await.map_err(doing("listing escalations"))?;
    let rivals = extension::rivals(&probe, &all.items);
    let view = extension::View { extended: Some(&old), rivals: &rivals, superseded_by: None };
    extension::check(&probe, &view, &policy.spec, &old.spec.policy_name, now)
        .map_err(|why| Error::CannotExtend { name: target.to_string(), why: why.to_string() })?;
    request::validate(session, &policy, &spec).await?;
    escalations
        .create(&PostParams::default(), &request::escalation(spec))
        .await
        .map_err(doing(format!("creating an extension of escalation {target}")))
}
