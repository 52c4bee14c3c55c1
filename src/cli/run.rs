//! `kubectl kudo run POLICY --reason R -- CMD…`: sudo for one command.
//! Escalate (with the same checks, prompts and waiting as `escalate`), run
//! CMD once the grants exist, and revoke when it exits, whatever ends it.

use std::{process::Stdio, time::Duration};

use clap::Args;
use futures::StreamExt;
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
    config::{Kubeconfig, NamedContext},
    runtime::{WatchStreamExt, watcher},
};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use serde_json::json;
use tokio::signal::unix::{SignalKind, signal};

use super::{
    error::{UserError, exit, explain},
    escalate::{self, RequestArgs},
    kubeconfig::KubeFlags,
    session::Session,
};
use crate::{
    api::{Escalation, GrantStatus},
    engine::extension,
};

#[derive(Clone, Debug, Args)]
pub struct RunArgs {
    /// The grants go when CMD exits, at the latest after --duration.
    #[command(flatten)]
    pub request: RequestArgs,
    /// Send CMD a SIGTERM when the escalation ends under it (expired,
    /// revoked, denied or deleted). Streams opened meanwhile (exec, attach,
    /// port-forward) outlive the grants otherwise: Kubernetes authorises them
    /// only when they connect.
    #[arg(long)]
    pub end_with_escalation: bool,
    /// Keep CMD's grants: when less than a tenth of the time is left, ask
    /// for an extension (kubectl kudo extend; the policy's maxExtensions
    /// caps how often), and go on with it once granted.
    #[arg(long)]
    pub extend: bool,
    /// The command to run with the grants, after `--`.
    #[arg(last = true, value_name = "CMD", required = true, num_args = 1..)]
    pub command: Vec<String>,
}

/// Signals kudo passes on to CMD before revoking.
const FORWARDED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Runs CMD under a fresh escalation and returns CMD's exit status.
pub async fn run(session: &Session, args: RunArgs, kube: &KubeFlags) -> Result<u8, UserError> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(UserError::new("no command to run")
            .hint("kubectl kudo run POLICY --reason '…' -- kubectl get secrets")
            .code(exit::USAGE));
    };
    // Prepared first: a failure here must not leave an escalation behind.
    let kubeconfig = child_kubeconfig(kube)?;
    // Signals are caught from here on: a Ctrl-C while waiting for review
    // still revokes what was created.
    let mut signals = Vec::new();
    for s in FORWARDED {
        let stream =
            signal(SignalKind::from_raw(s as i32)).map_err(|e| UserError::new(format!("listening for {s}: {e}")))?;
        signals.push((s, stream));
    }
    let name = escalate::create(session, &args.request, None, kube.namespace.clone()).await?;
    eprintln!("escalation/{name} created");
    let api: Api<Escalation> = session.api();
    let timeout = escalate::parse_duration(&args.request.timeout, "--timeout")?;
    let decided = tokio::select! {
        decided = escalate::wait(&api, &name, timeout) => decided,
        s = first_signal(&mut signals) => {
            revoke(session, &api, &name).await;
            return Ok(128 + s as u8);
        }
    };
    let decided = match decided {
        Ok(d) => d,
        Err(e) => {
            // Still pending at the timeout: nobody is going to use it.
            revoke(session, &api, &name).await;
            return Err(e);
        }
    };
    escalate::report(&decided, &mut std::io::stderr())?;

    let mut command = tokio::process::Command::new(program);
    command.args(rest).env("KUDO_ESCALATION", &name).stdin(Stdio::inherit());
    if let Some(path) = kubeconfig.as_ref().map(|k| k.path().to_path_buf()).or_else(|| kube.kubeconfig.clone()) {
        command.env("KUBECONFIG", path);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            revoke(session, &api, &name).await;
            return Err(UserError::new(format!("starting {program}: {e}")).hint("is it installed and on PATH?"));
        }
    };
    // The escalation CMD runs under: an extension takes over from it.
    let mut name = name;
    let mut ended = Box::pin(until_it_ends(api.clone(), name.clone()));
    // An extension created and not yet taking over (revoked with the rest).
    let asked = std::sync::Mutex::new(None::<String>);
    let extend_for = |esc: Option<Escalation>| -> Extending<'_> {
        let asked = &asked;
        let request = &args.request;
        Box::pin(async move {
            match esc.filter(|_| args.extend) {
                Some(esc) => extend_when_due(session, &esc, request, asked).await,
                None => std::future::pending().await,
            }
        })
    };
    let mut extending = extend_for(Some(decided.clone()));
    let mut told = false;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            s = first_signal(&mut signals) => {
                if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
                    let _ = kill(Pid::from_raw(pid), s);
                }
            }
            outcome = &mut extending => {
                // Granted: it takes over when the controller supersedes the
                // old one, which `ended` reports. Refused: carry on as before.
                match outcome {
                    Ok(next) => eprintln!("kudo: extension {} granted; it takes over from {name}", next.name_any()),
                    // One still open (undecided in time) is revoked with the rest.
                    Err(e) => eprintln!("kudo: could not extend {name}: {e}"),
                }
                extending = extend_for(None);
            }
            how = &mut ended, if !told => {
                if let Ended::Superseded(next) = &how {
                    eprintln!("kudo: escalation {name} superseded by {next}; the command goes on with its grants");
                    *asked.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                    name = next.clone();
                    ended = Box::pin(until_it_ends(api.clone(), name.clone()));
                    extending = extend_for(api.get_opt(&name).await.ok().flatten());
                    continue;
                }
                told = true;
                if args.end_with_escalation {
                    eprintln!("kudo: escalation {name} {how}; ending the command (--end-with-escalation)");
                    if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
                        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
                    }
                } else {
                    eprintln!("kudo: escalation {name} {how}; the command keeps running without its grants");
                }
            }
        }
    };
    let open_extension = asked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    if let Some(extension) = open_extension {
        revoke(session, &api, &extension).await;
    }
    revoke(session, &api, &name).await;
    drop(kubeconfig);
    let status = status.map_err(|e| UserError::new(format!("waiting for {program}: {e}")))?;
    Ok(exit_code(status))
}

/// The shell's convention: the exit code, or 128 + the signal that ended it.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(exit::ERROR),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(exit::ERROR),
        (None, None) => exit::ERROR,
    }
}

async fn first_signal(signals: &mut [(Signal, tokio::signal::unix::Signal)]) -> Signal {
    let waits = signals.iter_mut().map(|(s, stream)| {
        let s = *s;
        Box::pin(async move {
            stream.recv().await;
            s
        })
    });
    futures::future::select_all(waits).await.0
}

/// How the escalation CMD runs under ended.
enum Ended {
    /// An extension took over (`status.supersededBy`).
    Superseded(String),
    /// Final, or deleted: how, to tell the user.
    Other(String),
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Superseded(by) => write!(f, "was superseded by {by}"),
            Self::Other(how) => f.write_str(how),
        }
    }
}

/// Resolves when the escalation ends under CMD, saying how: superseded,
/// final, or deleted (which a watch of applied objects alone would miss).
async fn until_it_ends(api: Api<Escalation>, name: String) -> Ended {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = watcher(api, config).boxed();
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(esc) | watcher::Event::InitApply(esc)) => {
                if let Some(status) = esc.status.as_ref().filter(|s| s.state.is_final()) {
                    if let Some(by) = status.superseded_by.clone().filter(|b| crate::api::valid_name(b)) {
                        return Ended::Superseded(by);
                    }
                    return Ended::Other(format!(
                        "is {} ({})",
                        status.state.as_str(),
                        crate::printable::printable(&status.state_details)
                    ));
                }
            }
            Ok(watcher::Event::Delete(_)) => return Ended::Other("was deleted".into()),
            Ok(_) | Err(_) => {}
        }
    }
    // The watch never ends on its own (it retries); should it, CMD runs on.
    std::future::pending().await
}

/// The extension `--extend` asks for and waits on.
type Extending<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Escalation, UserError>> + 'a>>;

/// `--extend`: once less than a tenth of `esc`'s time is left, asks for
/// an extension (recorded in `asked`, so that it is revoked with the rest
/// should CMD exit first) and waits for it to be granted.
async fn extend_when_due(
    session: &Session,
    esc: &Escalation,
    request: &RequestArgs,
    asked: &std::sync::Mutex<Option<String>>,
) -> Result<Escalation, UserError> {
    let name = esc.name_any();
    let status = esc.status.as_ref();
    let (Some(accepted), Some(expires)) =
        (status.and_then(|s| s.accepted_at.as_ref()), status.and_then(|s| s.expires_at.as_ref()))
    else {
        return Err(UserError::new(format!("escalation {name} records no acceptedAt/expiresAt")));
    };
    let due = extension::extension_due_at(accepted.0, expires.0);
    let wait = due.duration_since(jiff::Timestamp::now());
    if let Ok(wait) = Duration::try_from(wait) {
        tokio::time::sleep(wait).await;
    }
    let next = super::extend::request(session, &name, request.duration.clone(), request.reason.clone()).await?;
    eprintln!("kudo: less than a tenth of {name}'s time left; asked for extension {next}");
    *asked.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(next.clone());
    // No longer than what is left: past it, the grants are gone anyway.
    let left = Duration::try_from(expires.0.duration_since(jiff::Timestamp::now())).unwrap_or_default();
    let api: Api<Escalation> = session.api();
    let decided = escalate::wait(&api, &next, left.max(Duration::from_secs(1))).await?;
    escalate::report(&decided, &mut std::io::sink())?;
    Ok(decided)
}

/// Ends the escalation and waits (briefly) for its grants to be reclaimed.
/// Failing here must not hide CMD's exit status: it is reported, not returned.
async fn revoke(session: &Session, api: &Api<Escalation>, name: &str) {
    let patch = json!({"spec": {"revoked": true, "revokedBy": session.me.username}});
    if let Err(e) = api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
        let e = explain(&format!("revoking escalation {name}"), e);
        eprintln!("kudo: {e}\n  it still ends at its expiry; revoke it with: kubectl kudo revoke {name}");
        return;
    }
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = watcher(api.clone(), config).applied_objects().boxed();
    let reclaimed = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(esc)) = stream.next().await {
            let done = esc
                .status
                .as_ref()
                .is_some_and(|s| s.state.is_final() && s.grant_refs.iter().all(|r| r.status == GrantStatus::Reclaimed));
            if done {
                return true;
            }
        }
        false
    })
    .await;
    match reclaimed {
        Ok(true) => eprintln!("kudo: escalation {name} revoked; its grants are gone"),
        _ => eprintln!("kudo: escalation {name} revoked; the controller is still reclaiming its grants"),
    }
}

/// A kubeconfig for CMD that selects what kudo's own flags selected
/// (`--context`, `--cluster`, `--user`, `-n`, `--as`), so `kubectl` in CMD
/// acts where kudo escalated. `None` when no such flag was given: CMD then
/// reads the same KUBECONFIG kudo did. The file is private to the user
/// (mode 0600) and removed when dropped.
fn child_kubeconfig(kube: &KubeFlags) -> Result<Option<tempfile::NamedTempFile>, UserError> {
    let selected = kube.context.is_some()
        || kube.cluster.is_some()
        || kube.user.is_some()
        || kube.namespace.is_some()
        || kube.as_user.is_some()
        || !kube.as_group.is_empty();
    if !selected {
        return Ok(None);
    }
    let fail = |what: String| UserError::new(format!("preparing the kubeconfig for the command: {what}"));
    let mut config = match &kube.kubeconfig {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
    .map_err(|e| fail(e.to_string()))?;
    let current = kube.context.clone().or(config.current_context.clone()).unwrap_or_default();
    let mut context = config
        .contexts
        .iter()
        .find(|c| c.name == current)
        .and_then(|c| c.context.clone())
        .ok_or_else(|| fail(format!("context {current:?} not found")))?;
    if let Some(cluster) = &kube.cluster {
        context.cluster = cluster.clone();
    }
    if let Some(namespace) = &kube.namespace {
        context.namespace = Some(namespace.clone());
    }
    let user_name = kube.user.clone().or(context.user.clone()).unwrap_or_default();
    if kube.as_user.is_some() || !kube.as_group.is_empty() {
        // Impersonation lives on the user entry: copy it under a new name.
        let mut user = config
            .auth_infos
            .iter()
            .find(|u| u.name == user_name)
            .cloned()
            .ok_or_else(|| fail(format!("user {user_name:?} not found")))?;
        if let Some(info) = user.auth_info.as_mut() {
            info.impersonate = kube.as_user.clone();
            info.impersonate_groups = (!kube.as_group.is_empty()).then(|| kube.as_group.clone());
        }
        user.name = "kudo-run".into();
        config.auth_infos.push(user);
        context.user = Some("kudo-run".into());
    } else {
        context.user = Some(user_name);
    }
    config.contexts.push(NamedContext { name: "kudo-run".into(), context: Some(context), ..Default::default() });
    config.current_context = Some("kudo-run".into());
    let yaml = serde_saphyr::to_string(&config).map_err(|e| fail(e.to_string()))?;
    let mut file = tempfile::Builder::new()
        .prefix("kudo-run-")
        .suffix(".kubeconfig")
        .tempfile()
        .map_err(|e| fail(e.to_string()))?;
    std::io::Write::write_all(&mut file, yaml.as_bytes()).map_err(|e| fail(e.to_string()))?;
    Ok(Some(file))
}
