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

/// What `escalate` and `run` both ask for.
#[derive(Clone, Debug, Args)]
pub struct RequestArgs {
    /// The EscalationPolicy to use (asked for on a terminal when left out).
    #[arg(value_name = "POLICY")]
    pub policy: Option<String>,
    /// Instead of POLICY: the permission needed, as for kubectl auth can-i,
    /// e.g. --for "create pods/portforward -n app"; the one policy that grants it is used.
    #[arg(long = "for", value_name = "VERB RESOURCE [NAME] [-n NS]", conflicts_with = "policy")]
    pub for_permission: Option<String>,
    /// Why you need it; policies may require a ticket reference.
    #[arg(short, long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// How long to hold the grants (default: the policy's defaultDuration), e.g. 30m, 2h.
    #[arg(short, long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Longest wait for the decision.
    #[arg(long, default_value = "15m", value_name = "DURATION")]
    pub timeout: String,
    /// Emergency: skip the policy's break-glass review; granted at once and reviewed afterwards.
    #[arg(long)]
    pub break_glass: bool,
}

#[derive(Clone, Debug, Args)]
pub struct EscalateArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Do not wait for the decision: return once the controller has taken
    /// the request up (PENDING, and what it waits for), or after 10s.
    #[arg(long)]
    pub no_wait: bool,
    /// Start later: not accepted before this time (RFC 3339, e.g. 2026-11-24T08:00:00Z).
    #[arg(long, value_name = "TIME", conflicts_with = "start_in")]
    pub start_at: Option<String>,
    /// Start later: not accepted before this much time from now, e.g. 2h.
    #[arg(long, value_name = "DURATION")]
    pub start_in: Option<String>,
}

/// `namespace`: the global `-n`, for namespaced grants (default: the policy's defaultNamespace).
pub async fn run(session: &Session, args: EscalateArgs, namespace: Option<String>) -> Result<(), UserError> {
    let start_at = start_time(&args, Timestamp::now())?;
    let name = create(session, &args.request, start_at, namespace).await?;
    if args.no_wait {
        return taken_up(&session.api(), &name).await;
    }
    if start_at.is_some() {
        // Nobody waits hours at a prompt: the schedule is in the escalation.
        println!("escalation/{name} created, scheduled; follow it with: kubectl kudo status {name}");
        return Ok(());
    }
    eprintln!("escalation/{name} created");
    let decided = wait(&session.api(), &name, parse_duration(&args.request.timeout, "--timeout")?).await?;
    report(&decided, &mut std::io::stdout())
}

/// Checks the request as the controller will, creates the escalation and
/// returns its name.
pub async fn create(
    session: &Session,
    args: &RequestArgs,
    start_at: Option<Timestamp>,
    namespace: Option<String>,
) -> Result<String, UserError> {
    let policies: Api<EscalationPolicy> = session.api();
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let (chosen, namespace) = match &args.for_permission {
        Some(permission) => {
            let (policy, ns) = pick_for(session, permission, namespace.clone(), interactive).await?;
            (Some(policy), namespace.or(ns))
        }
        None => (args.policy.clone(), namespace),
    };
    let policy_name = match chosen {
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
        start_at: start_at.map(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time),
        break_glass: args.break_glass,
        extends: String::new(),
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
    Ok(created.name_any())
}

/// `--for "VERB RESOURCE [NAME] [-n NS]"`: the policy (and namespace) that
/// grants it; several are offered on a terminal, or listed in the error.
async fn pick_for(
    session: &Session,
    permission: &str,
    namespace: Option<String>,
    interactive: bool,
) -> Result<(String, Option<String>), UserError> {
    let usage = || {
        UserError::new(format!("--for {permission:?}: expected VERB RESOURCE [NAME] [-n NAMESPACE]"))
            .hint("e.g. --for \"create pods/portforward -n app\"")
            .code(exit::USAGE)
    };
    let mut words = permission.split_whitespace();
    let mut positional = Vec::new();
    let mut ns = namespace;
    while let Some(w) = words.next() {
        match w {
            "-n" | "--namespace" => ns = Some(words.next().ok_or_else(usage)?.to_string()),
            _ if w.starts_with("--namespace=") => ns = w.strip_prefix("--namespace=").map(String::from),
            _ if w.starts_with("-n") && w.len() > 2 => ns = Some(w[2..].to_string()),
            _ => positional.push(w),
        }
    }
    let (verb, resource, name) = match positional.as_slice() {
        [verb, resource] => (*verb, *resource, None),
        [verb, resource, name] => (*verb, *resource, Some(*name)),
        _ => return Err(usage()),
    };
    let (request, found) = super::which::find(session, verb, resource, name, None, ns).await?;
    let asked = super::which::describe(&request);
    match found.len() {
        0 => Err(super::which::none_found(&asked)),
        1 => Ok(found.into_iter().next().map(|f| (f.policy, f.namespace)).unwrap_or_default()),
        _ if interactive => {
            let names: Vec<&str> = found.iter().map(|f| f.policy.as_str()).collect();
            let chosen = dialoguer::Select::new()
                .with_prompt(format!("Several policies grant {asked}; which one?"))
                .items(&names)
                .default(0)
                .interact()
                .map_err(|e| UserError::new(format!("choosing a policy: {e}")))?;
            Ok(found.into_iter().nth(chosen).map(|f| (f.policy, f.namespace)).unwrap_or_default())
        }
        _ => Err(UserError::new(format!(
            "several policies grant {asked}: {}",
            found.iter().map(|f| f.policy.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .hint("name one instead of --for (kubectl kudo which shows what each asks first)")
        .code(exit::USAGE)),
    }
}

/// `--start-at` / `--start-in`, whole seconds as status stores them.
fn start_time(args: &EscalateArgs, now: Timestamp) -> Result<Option<Timestamp>, UserError> {
    let at = match (&args.start_at, &args.start_in) {
        (Some(at), _) => at.parse::<Timestamp>().map_err(|e| {
            UserError::new(format!("--start-at {at}: {e}"))
                .hint("write it as RFC 3339, e.g. 2026-11-24T08:00:00Z or 2026-11-24T09:00:00+01:00")
                .code(exit::USAGE)
        })?,
        (None, Some(d)) => {
            let d = DurationText::new(d)
                .parse()
                .map_err(|e| UserError::new(format!("--start-in {d}: {e}")).code(exit::USAGE))?;
            now.checked_add(d).map_err(|e| UserError::new(format!("--start-in: {e}")).code(exit::USAGE))?
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(Timestamp::from_second(at.as_second()).unwrap_or(at)))
}

/// The controller's own checks, run first so that a request bound to be
/// denied is never created.
pub(super) async fn precheck(
    session: &Session,
    policy: &EscalationPolicy,
    spec: &EscalationSpec,
) -> Result<(), UserError> {
    let name = policy.name_any();
    if !super::admission::admitted(session, policy).await? {
        return Err(UserError::new(format!("you ({}) may not use policy {name}", spec.requestor))
            .hint("kubectl kudo policies lists the ones you may use"));
    }
    let deny = |why: String| UserError::new(format!("policy {name} would deny this request: {why}"));
    let now = Timestamp::now();
    checks::request(&policy.spec, spec, &name, now).map_err(deny)?;
    checks::schedule(&policy.spec, spec, &name, now).map_err(deny)?;
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

/// How long `--no-wait` waits for the controller's first word.
const TAKEN_UP: Duration = Duration::from_secs(10);

/// `--no-wait`: says what the controller made of the request at first
/// (what it waits for, a denial), so that a reviewer can find it PENDING.
pub(super) async fn taken_up(api: &Api<Escalation>, name: &str) -> Result<(), UserError> {
    let follow = format!("follow it with: kubectl kudo status {name}");
    let deadline = tokio::time::Instant::now() + TAKEN_UP;
    let esc = loop {
        let esc = api.get_opt(name).await.map_err(|e| explain(&format!("reading escalation {name}"), e))?;
        if let Some(esc) = esc.filter(|e| e.status.is_some()) {
            break esc;
        }
        if tokio::time::Instant::now() >= deadline {
            println!("escalation/{name} created; the controller has not taken it up yet; {follow}");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let Some(status) = &esc.status else { return Ok(()) };
    if status.state.is_final() {
        return report(&esc, &mut std::io::stdout());
    }
    let details = crate::printable::printable(&status.state_details);
    println!("escalation/{name} {}: {details}\n{follow}", status.state.as_str());
    Ok(())
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
pub(super) fn truncate_name(policy: &str) -> &str {
    let max = 63 - 6;
    let mut end = policy.len().min(max);
    while !policy.is_char_boundary(end) {
        end -= 1;
    }
    policy[..end].trim_end_matches(['-', '.'])
}
