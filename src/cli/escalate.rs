//! `kubectl kudo escalate POLICY --reason R`: check, create, wait, report.

use std::{io::IsTerminal, time::Duration};

use clap::Args;
use futures::StreamExt;
use jiff::Timestamp;
use kube::{
    Api, ResourceExt,
    api::PostParams,
    runtime::{WatchStreamExt, watcher},
};

use super::{
    error::{UserError, exit, explain},
    format,
    session::Session,
};
use crate::{
    api::{DurationText, Escalation, EscalationPolicy, EscalationSpec, EscalationState, GrantStatus},
    engine::checks,
};

#[derive(Clone, Debug, Args)]
pub struct EscalateArgs {
    /// The EscalationPolicy to use (asked for on a terminal when left out).
    #[arg(value_name = "POLICY")]
    pub policy: Option<String>,
    /// Why you need it; policies may require a ticket reference.
    #[arg(short, long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// How long to hold the grants (default: the policy's defaultDuration), e.g. 30m, 2h.
    #[arg(short, long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Print the escalation's name and return instead of waiting for the decision.
    #[arg(long)]
    pub no_wait: bool,
    /// Longest wait for the decision.
    #[arg(long, default_value = "15m", value_name = "DURATION")]
    pub timeout: String,
}

/// `namespace`: the global `-n`, for namespaced grants (default: the policy's defaultNamespace).
pub async fn run(session: &Session, args: EscalateArgs, namespace: Option<String>) -> Result<(), UserError> {
    let name = create(session, &args, namespace).await?;
    if args.no_wait {
        println!("escalation/{name} created; follow it with: kubectl kudo status {name}");
        return Ok(());
    }
    let decided = wait(&session.api(), &name, parse_duration(&args.timeout, "--timeout")?).await?;
    report(&decided, &mut std::io::stdout())
}

/// Checks the request as the controller will, creates the escalation and
/// returns its name.
pub async fn create(session: &Session, args: &EscalateArgs, namespace: Option<String>) -> Result<String, UserError> {
    let policies: Api<EscalationPolicy> = session.api();
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let policy_name = match args.policy.clone() {
        Some(p) => p,
        None if interactive => pick_policy(session, &policies).await?,
        None => {
            return Err(UserError::new("which policy? none given")
                .hint("kubectl kudo escalate POLICY --reason '…' (kubectl kudo policies lists yours)")
                .code(exit::USAGE));
        }
    };
    let policy = policies
        .get_opt(&policy_name)
        .await
        .map_err(|e| explain(&format!("reading policy {policy_name}"), e))?
        .ok_or_else(|| {
            UserError::new(format!("policy {policy_name} does not exist"))
                .hint("kubectl kudo policies lists the ones you may use")
        })?;
    let reason = match args.reason.clone().filter(|r| !r.trim().is_empty()) {
        Some(r) => r,
        None if interactive => dialoguer::Input::<String>::new()
            .with_prompt("Why do you need it?")
            .interact_text()
            .map_err(|e| UserError::new(format!("reading the reason: {e}")))?,
        None => {
            return Err(UserError::new("a reason is required")
                .hint(format!("kubectl kudo escalate {policy_name} --reason 'what for, ticket #…'"))
                .code(exit::USAGE));
        }
    };
    parse_duration(&args.timeout, "--timeout")?;
    let mut groups = session.me.groups.clone();
    groups.dedup();
    let spec = EscalationSpec {
        policy_name: policy_name.clone(),
        requestor: session.me.username.clone(),
        requestor_groups: groups,
        reason,
        namespace,
        duration: args.duration.clone().map(DurationText::new),
        revoked: false,
        revoked_by: String::new(),
    };
    precheck(session, &policy, &spec).await?;

    let escalations: Api<Escalation> = session.api();
    let mut esc = Escalation::new("", spec);
    esc.metadata.name = None;
    esc.metadata.generate_name = Some(format!("{}-", truncate_name(&policy_name)));
    let created = escalations
        .create(&PostParams::default(), &esc)
        .await
        .map_err(|e| explain(&format!("creating an escalation for policy {policy_name}"), e))?;
    let name = created.name_any();
    if !args.no_wait {
        eprintln!("escalation/{name} created");
    }
    Ok(name)
}

/// The controller's own checks, run first so that a request bound to be
/// denied is never created.
async fn precheck(session: &Session, policy: &EscalationPolicy, spec: &EscalationSpec) -> Result<(), UserError> {
    let name = policy.name_any();
    if !super::admission::admitted(session, policy).await? {
        return Err(UserError::new(format!("you ({}) may not use policy {name}", spec.requestor))
            .hint("kubectl kudo policies lists the ones you may use"));
    }
    let deny = |why: String| UserError::new(format!("policy {name} would deny this request: {why}"));
    checks::request(&policy.spec, spec, &name, Timestamp::now()).map_err(deny)?;
    let escalations: Api<Escalation> = session.api();
    // From the API server's watch cache (resourceVersion 0): this check is
    // advisory, the controller's is the one that counts.
    let mine = escalations
        .list(&kube::api::ListParams::default().match_any())
        .await
        .map_err(|e| explain("listing your escalations", e))?;
    let probe = Escalation::new("", spec.clone());
    checks::open_limit(&policy.spec, &name, &checks::open_escalations(&probe, &mine.items)).map_err(deny)?;
    for ns in checks::namespaces(&policy.spec, spec, &name).map_err(deny)?.into_iter().flatten() {
        namespace_exists(session, &ns).await?;
    }
    Ok(())
}

/// A grant into a namespace that does not exist would be denied; say so
/// first. Users who may not read namespaces get the controller's answer.
async fn namespace_exists(session: &Session, namespace: &str) -> Result<(), UserError> {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = session.api();
    match api.get_opt(namespace).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(UserError::new(format!("namespace {namespace} does not exist"))
            .hint("escalate with --namespace set to a namespace that exists, or ask an admin to create it")),
        Err(_) => Ok(()),
    }
}

async fn pick_policy(session: &Session, policies: &Api<EscalationPolicy>) -> Result<String, UserError> {
    let all = policies.list(&Default::default()).await.map_err(|e| explain("listing policies", e))?;
    let usable: Vec<String> =
        super::admission::usable(session, &all.items).await?.into_iter().map(ResourceExt::name_any).collect();
    if usable.is_empty() {
        return Err(UserError::new("no policy admits you (as a subject or by RBAC `use`)")
            .hint("ask an admin which EscalationPolicy to use"));
    }
    let chosen = dialoguer::Select::new()
        .with_prompt("Which policy?")
        .items(&usable)
        .default(0)
        .interact()
        .map_err(|e| UserError::new(format!("choosing a policy: {e}")))?;
    Ok(usable[chosen].clone())
}

/// Waits for ACCEPTED with every grant created, or for a final state.
pub async fn wait(api: &Api<Escalation>, name: &str, timeout: Duration) -> Result<Escalation, UserError> {
    let spinner = indicatif::ProgressBar::new_spinner();
    if std::io::stderr().is_terminal() {
        spinner.enable_steady_tick(Duration::from_millis(120));
    } else {
        spinner.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    spinner.set_message("waiting for the controller");
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = watcher(api.clone(), config).applied_objects().boxed();
    let decided = tokio::time::timeout(timeout, async {
        while let Some(next) = stream.next().await {
            let esc = next.map_err(|e| UserError::new(format!("watching escalation {name}: {e}")))?;
            let Some(status) = &esc.status else { continue };
            spinner.set_message(format!("{}: {}", status.state.as_str(), status.state_details));
            let granted = status.grant_refs.iter().all(|r| r.status == GrantStatus::Created);
            if status.state.is_final() || (status.state == EscalationState::Accepted && granted) {
                return Ok(esc);
            }
        }
        Err(UserError::new(format!("the watch on escalation {name} ended")))
    })
    .await;
    spinner.finish_and_clear();
    match decided {
        Ok(result) => result,
        Err(_) => Err(UserError::new(format!("no decision on escalation {name} within the timeout"))
            .hint(format!("it keeps going: kubectl kudo status {name}"))
            .code(exit::TIMEOUT)),
    }
}

/// Says what was granted (to `out`), or fails with the reason it was not.
pub fn report(esc: &Escalation, out: &mut impl std::io::Write) -> Result<(), UserError> {
    let name = esc.name_any();
    let Some(status) = &esc.status else { return Ok(()) };
    if status.state != EscalationState::Accepted {
        return Err(UserError::new(format!(
            "escalation {name} is {}: {}",
            status.state.as_str(),
            status.state_details
        ))
        .code(exit::DENIED));
    }
    let until = status.expires_at.as_ref().map(|t| t.0);
    let mut text = format!(
        "escalation/{name} ACCEPTED until {} ({})\n",
        until.map(|t| t.to_string()).unwrap_or_default(),
        until.map(|t| format::relative(t, Timestamp::now())).unwrap_or_default()
    );
    for r in &status.grant_refs {
        text +=
            &format!("  granted {:?} {} {}\n", r.role_ref.kind, r.role_ref.name, format::place(&r.reference.namespace));
    }
    text += &format!("revoke early with: kubectl kudo revoke {name}\n");
    // A closed stdout (`| head`) loses the report, not the escalation.
    let _ = out.write_all(text.as_bytes());
    Ok(())
}

pub fn parse_duration(text: &str, flag: &str) -> Result<Duration, UserError> {
    let d =
        DurationText::new(text).parse().map_err(|e| UserError::new(format!("{flag} {text}: {e}")).code(exit::USAGE))?;
    Duration::try_from(d).map_err(|_| UserError::new(format!("{flag} {text}: must not be negative")).code(exit::USAGE))
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
