//! `kubectl kudo extend NAME`: ask for more time on a running escalation
//! without a gap. The extension is a new escalation (`spec.extends: NAME`),
//! checked and reviewed as any; once its own bindings exist the controller
//! ends NAME ("superseded by …"). See `engine::extension` for the rules.

use clap::Args;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Api, ResourceExt, api::PostParams};

use super::{
    error::{UserError, explain},
    escalate,
    session::Session,
};
use crate::{
    api::{DurationText, Escalation, EscalationPolicy, EscalationSpec},
    engine::extension,
};

#[derive(Clone, Debug, Args)]
pub struct ExtendArgs {
    /// The running (ACCEPTED) escalation of yours to extend.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// How long the extension lasts from its acceptance (default: the
    /// extended escalation's duration), at most the policy's maxDuration.
    #[arg(short, long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Why (default: the extended escalation's reason).
    #[arg(short, long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Wait for the decision and report it (by default: return once the
    /// controller has taken the request up).
    #[arg(long)]
    pub wait: bool,
    /// Longest wait for the decision, with --wait.
    #[arg(long, default_value = "15m", value_name = "DURATION")]
    pub timeout: String,
}

pub async fn run(session: &Session, args: ExtendArgs) -> Result<(), UserError> {
    let timeout = escalate::parse_duration(&args.timeout, "--timeout")?;
    let name = request(session, &args.name, args.duration.clone(), args.reason.clone()).await?;
    let api: Api<Escalation> = session.api();
    if !args.wait {
        return escalate::taken_up(&api, &name).await;
    }
    eprintln!("escalation/{name} created, extending {}", args.name);
    let decided = escalate::wait(&api, &name, timeout).await?;
    escalate::report(&decided, &mut std::io::stdout())
}

/// The extension `target` would get: its policy, namespace and (unless
/// given) duration and reason, in the caller's name.
fn extension_spec(
    session: &Session,
    old: &Escalation,
    duration: Option<String>,
    reason: Option<String>,
) -> EscalationSpec {
    let mut groups = session.me.groups.clone();
    groups.dedup();
    EscalationSpec {
        policy_name: old.spec.policy_name.clone(),
        requestor: session.me.username.clone(),
        requestor_groups: groups,
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

/// Checks the extension as the controller will (the API server cannot:
/// it does not read other objects in admission), creates it and returns
/// its name. All of `extend`'s API calls are here.
pub async fn request(
    session: &Session,
    target: &str,
    duration: Option<String>,
    reason: Option<String>,
) -> Result<String, UserError> {
    let escalations: Api<Escalation> = session.api();
    let old = escalations
        .get_opt(target)
        .await
        .map_err(|e| explain(&format!("reading escalation {target}"), e))?
        .ok_or_else(|| {
            UserError::new(format!("escalation {target} does not exist, so there is nothing to extend"))
                .hint("kubectl kudo list shows yours; ask again with kubectl kudo escalate POLICY")
        })?;
    let policy_name = old.spec.policy_name.clone();
    let policies: Api<EscalationPolicy> = session.api();
    let policy = policies
        .get_opt(&policy_name)
        .await
        .map_err(|e| explain(&format!("reading policy {policy_name}"), e))?
        .ok_or_else(|| {
            UserError::new(format!("policy {policy_name} of escalation {target} does not exist any more"))
                .hint("kubectl kudo policies lists the ones you may use")
        })?;
    let spec = extension_spec(session, &old, duration, reason);
    let now = Timestamp::now();
    let mut probe = Escalation::new("", spec.clone());
    probe.metadata.creation_timestamp = Some(Time(now));
    // Advisory, from the API server's watch cache: the controller decides.
    let all = escalations
        .list(&kube::api::ListParams::default().match_any())
        .await
        .map_err(|e| explain("listing escalations", e))?;
    let rivals = extension::rivals(&probe, &all.items);
    let view = extension::View { extended: Some(&old), rivals: &rivals, superseded_by: None };
    extension::check(&probe, &view, &policy.spec, &policy_name, now)
        .map_err(|why| UserError::new(format!("cannot extend {target}: {why}")))?;
    escalate::precheck(session, &policy, &spec).await?;

    let mut esc = Escalation::new("", spec);
    esc.metadata.name = None;
    esc.metadata.generate_name = Some(format!("{}-", escalate::truncate_name(&policy_name)));
    let created = escalations
        .create(&PostParams::default(), &esc)
        .await
        .map_err(|e| explain(&format!("creating an extension of escalation {target}"), e))?;
    Ok(created.name_any())
}
