//! kubectl's plugin completion protocol (kubectl ≥ 1.26): kubectl runs
//! `kubectl_complete-kudo <words…> <partial>` (which runs `kubectl-kudo
//! __complete …`) and reads one candidate per line, then `:<directive>`, as
//! Cobra's `__complete` prints.

use clap::CommandFactory;
use kube::{Api, ResourceExt, api::ListParams};

use super::{Cli, kubeconfig::KubeFlags};
use crate::api::{AfterReview, Escalation, EscalationPolicy, EscalationState};

/// Cobra's ShellCompDirectiveNoFileComp: never fall back to file names.
const NO_FILE_COMPLETION: u8 = 4;

pub async fn complete(words: &[String]) -> String {
    let (partial, before) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let flags = flags_in(before);
    let command = Cli::command();
    let sub = before.iter().find(|w| !w.starts_with('-') && command.find_subcommand(w.as_str()).is_some());
    let mut candidates: Vec<String> = Vec::new();
    match sub {
        None if partial.starts_with('-') => candidates.extend(long_flags(&command)),
        None => {
            candidates.extend(command.get_subcommands().filter(|c| !c.is_hide_set()).map(|c| c.get_name().to_string()))
        }
        Some(sub) => {
            let sub_command = command.find_subcommand(sub.as_str()).cloned().unwrap_or_default();
            let positional_given = before.iter().skip_while(|w| *w != sub).skip(1).any(|w| !w.starts_with('-'));
            if partial.starts_with('-') {
                candidates.extend(long_flags(&sub_command));
                candidates.extend(long_flags(&command));
            } else if !positional_given {
                candidates.extend(live_names(&flags, sub).await);
            }
        }
    }
    let mut out: String = candidates.into_iter().filter(|c| c.starts_with(partial)).map(|c| format!("{c}\n")).collect();
    out.push_str(&format!(":{NO_FILE_COMPLETION}\n"));
    out
}

fn long_flags(command: &clap::Command) -> Vec<String> {
    command.get_arguments().filter_map(|a| a.get_long().map(|l| format!("--{l}"))).collect()
}

/// The cluster flags among the words, so completion asks the right cluster.
fn flags_in(words: &[String]) -> KubeFlags {
    let mut flags = KubeFlags::default();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        let (name, inline) = match w.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (w.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned());
        match name {
            "--kubeconfig" => flags.kubeconfig = value().map(Into::into),
            "--context" => flags.context = value(),
            "--cluster" => flags.cluster = value(),
            "--user" => flags.user = value(),
            "--as" => flags.as_user = value(),
            _ => {}
        }
    }
    flags
}

async fn live_names(flags: &KubeFlags, sub: &str) -> Vec<String> {
    if sub == "which" {
        let verbs = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "use"];
        return verbs.iter().map(|v| v.to_string()).collect();
    }
    let Ok(client) = flags.client().await else { return Vec::new() };
    match sub {
        "escalate" | "run" => {
            let api: Api<EscalationPolicy> = Api::all(client);
            api.list(&ListParams::default())
                .await
                .map(|l| l.items.iter().map(ResourceExt::name_any).collect())
                .unwrap_or_default()
        }
        "approve" | "deny" | "status" | "revoke" | "extend" => {
            let api: Api<Escalation> = Api::all(client);
            let pending_only = matches!(sub, "approve" | "deny");
            api.list(&ListParams::default())
                .await
                .map(|l| {
                    l.items
                        .iter()
                        .filter(|e| {
                            let owes = e.status.as_ref().is_some_and(|s| s.after_review == Some(AfterReview::Pending));
                            !pending_only || e.state() == Some(EscalationState::Pending) || owes
                        })
                        .filter(|e| sub != "revoke" || !e.state().is_some_and(EscalationState::is_final))
                        .filter(|e| sub != "extend" || e.state() == Some(EscalationState::Accepted))
                        .map(ResourceExt::name_any)
                        .collect()
                })
                .unwrap_or_default()
        }
        _ => Vec::new(),
    }
}
