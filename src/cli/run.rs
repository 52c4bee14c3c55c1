//! `kubectl kudo run POLICY --reason R -- CMD…`: sudo for one command.
//! Escalate (with the same checks, prompts and waiting as `escalate`), run
//! CMD once the grants exist, and revoke when it exits, whatever ends it.

use std::{process::Stdio, time::Duration};

use clap::Args;
use kube::{
    ResourceExt,
    config::{Kubeconfig, NamedContext},
};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use tokio::signal::unix::{SignalKind, signal};

use super::{
    error::{UserError, exit},
    escalate::{self, RequestArgs},
    kubeconfig::KubeFlags,
    report,
    session::Session,
};
use crate::{
    api::Escalation,
    engine::extension,
    operations::{
        Error, extend, request, revoke,
        wait::{self, Ended},
    },
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
    let timeout = request::parse_duration(&args.request.timeout, "--timeout")?;
    let decided = tokio::select! {
        decided = report::wait(session, &name, timeout) => decided,
        s = first_signal(&mut signals) => {
            end(session, &name).await;
            return Ok(128 + s as u8);
        }
    };
    let decided = match decided {
        Ok(d) => d,
        // Gone: there is nothing left to revoke.
        Err(e @ Error::Deleted { .. }) => return Err(e.into()),
        Err(e) => {
            // Still pending at the timeout: nobody is going to use it.
            end(session, &name).await;
            return Err(e.into());
        }
    };
    report::granted(&decided, &mut std::io::stderr())?;

    let mut command = tokio::process::Command::new(program);
    command.args(rest).env("KUDO_ESCALATION", &name).stdin(Stdio::inherit());
    if let Some(path) = kubeconfig.as_ref().map(|k| k.path().to_path_buf()).or_else(|| kube.kubeconfig.clone()) {
        command.env("KUBECONFIG", path);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            end(session, &name).await;
            return Err(UserError::new(format!("starting {program}: {e}")).hint("is it installed and on PATH?"));
        }
    };
    // The escalation CMD runs under: an extension takes over from it.
    let mut name = name;
    let mut ended = Box::pin(ends(session, name.clone()));
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
                let how = match how {
                    Ended::Superseded(next) => {
                        eprintln!("kudo: escalation {name} superseded by {next}; the command goes on with its grants");
                        *asked.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                        name = next;
                        ended = Box::pin(ends(session, name.clone()));
                        let current = session.api::<Escalation>().get_opt(&name).await.ok().flatten();
                        extending = extend_for(current);
                        continue;
                    }
                    Ended::Final { state, details } => format!("is {} ({details})", state.as_str()),
                    Ended::Deleted => "was deleted".into(),
                };
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
        end(session, &extension).await;
    }
    end(session, &name).await;
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

/// How the escalation `name` ends (owning the name, which changes when an extension takes over).
async fn ends(session: &Session, name: String) -> Ended {
    wait::ended(session, &name).await
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
    if let Ok(wait) = Duration::try_from(due.duration_since(jiff::Timestamp::now())) {
        tokio::time::sleep(wait).await;
    }
    let next = extend::request(session, &name, request.duration.clone(), request.reason.clone()).await?.name_any();
    eprintln!("kudo: less than a tenth of {name}'s time left; asked for extension {next}");
    *asked.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(next.clone());
    // No longer than what is left: past it, the grants are gone anyway.
    let left = Duration::try_from(expires.0.duration_since(jiff::Timestamp::now())).unwrap_or_default();
    let decided = report::wait(session, &next, left.max(Duration::from_secs(1))).await?;
    report::granted(&decided, &mut std::io::sink())?;
    Ok(decided)
}

/// Ends the escalation and waits (briefly) for its grants to be reclaimed.
/// Failing here must not hide CMD's exit status: it is reported, not returned.
async fn end(session: &Session, name: &str) {
    if let Err(e) = revoke::mark(session, name).await {
        let e = UserError::from(e);
        eprintln!("kudo: {e}\n  it still ends at its expiry; revoke it with: kubectl kudo revoke {name}");
        return;
    }
    match wait::reclaimed(session, name, Duration::from_secs(30)).await {
        Ok(true) => eprintln!("kudo: escalation {name} revoked; its grants are gone"),
        Ok(false) | Err(_) => {
            eprintln!("kudo: escalation {name} revoked; the controller is still reclaiming its grants")
        }
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
