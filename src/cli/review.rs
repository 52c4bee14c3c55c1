//! `kubectl kudo approve|deny NAME`.

use std::io::IsTerminal;

use clap::Args;
use jiff::Timestamp;
use kube::{Api, ResourceExt, api::PostParams};

use super::{
    error::{UserError, explain},
    format,
    session::Session,
};
use crate::{
    api::{
        AfterReview, ChallengeKind, Escalation, EscalationPolicy, EscalationReview, EscalationReviewSpec,
        EscalationState, ReviewDecision,
    },
    engine::review,
};

#[derive(Clone, Debug, Args)]
pub struct ReviewArgs {
    /// The escalation to review (also as `list -o name` prints it: escalation/NAME).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// A note for the requestor and the audit log.
    #[arg(short, long, value_name = "TEXT")]
    pub message: Option<String>,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    /// Then wait (up to a minute) until the controller has acted on the
    /// review, and say what it decided: granted, denied, or what it still waits for.
    #[arg(long)]
    pub wait: bool,
}

/// How long `--wait` waits: the controller acts within a second when it runs.
const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// NAME, from NAME or from what `kubectl kudo list -o name` (escalation/NAME)
/// and `kubectl get escalations -o name` (escalation.k8s.kudo.dev/NAME) print.
fn escalation_name(arg: &str) -> &str {
    ["escalation/", "escalations/", "escalation.k8s.kudo.dev/"]
        .iter()
        .find_map(|prefix| arg.strip_prefix(prefix))
        .unwrap_or(arg)
}

pub async fn run(session: &Session, args: ReviewArgs, decision: ReviewDecision) -> Result<(), UserError> {
    let escalations: Api<Escalation> = session.api();
    let esc = get_escalation(&escalations, escalation_name(&args.name)).await?;
    let name = esc.name_any();
    let verb = if decision == ReviewDecision::Approved { "approve" } else { "deny" };
    let state = esc.state();
    let owes_after_review = esc.status.as_ref().is_some_and(|s| s.after_review == Some(AfterReview::Pending));
    if state.is_some_and(|s| s != EscalationState::Pending) && !owes_after_review {
        let s = state.map(EscalationState::as_str).unwrap_or_default();
        return Err(UserError::new(format!("escalation {name} is {s}: there is nothing to {verb}")));
    }
    let mut groups = session.me.groups.clone();
    groups.dedup();
    let review_obj = EscalationReview::new(
        "",
        EscalationReviewSpec {
            escalation_name: name.clone(),
            escalation_uid: esc.uid().unwrap_or_default(),
            reviewer: session.me.username.clone(),
            reviewer_groups: groups,
            decision,
            message: args.message.clone().unwrap_or_default(),
        },
    );
    // The controller would not count it: say why before creating anything.
    let policies: Api<EscalationPolicy> = session.api();
    let policy = policies
        .get_opt(&esc.spec.policy_name)
        .await
        .map_err(|e| explain("reading the escalation's policy", e))?
        .ok_or_else(|| {
            UserError::new(format!("policy {} of escalation {name} no longer exists", esc.spec.policy_name))
        })?;
    let peer_reviews: Vec<_> = policy.spec.challenges.iter().filter(|c| c.kind == ChallengeKind::PeerReview).collect();
    if peer_reviews.is_empty() {
        return Err(UserError::new(format!(
            "policy {} asks for no peer review: there is nothing to {verb}",
            policy.name_any()
        )));
    }
    // The controller's own rule: eligible for a stage, or for the after-review a break-glass escalation owes.
    if let Err(why) = review::assess(Some(&policy.spec), &esc, &review_obj) {
        return Err(UserError::new(format!("you cannot {verb} escalation {name}: {why}")));
    }

    println!("{}", summary(&esc));
    match esc.status.as_ref().and_then(|s| s.grant_preview.as_ref()) {
        Some(preview) => {
            println!("  it would grant:");
            for line in crate::engine::preview::lines(preview) {
                println!("    {line}");
            }
        }
        None => println!("  (no grant preview yet: the controller adds one when a review is asked for)"),
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(UserError::new("not confirmed: no terminal to ask on")
                .hint(format!("kubectl kudo {verb} {name} --yes")));
        }
        let ok = dialoguer::Confirm::new()
            .with_prompt(format!("{} escalation {name}?", if verb == "approve" { "Approve" } else { "Deny" }))
            .default(false)
            .interact()
            .map_err(|e| UserError::new(format!("asking for confirmation: {e}")))?;
        if !ok {
            return Err(UserError::new("not confirmed; nothing was done"));
        }
    }
    let reviews: Api<EscalationReview> = session.api();
    let mut obj = review_obj;
    obj.metadata.name = None;
    obj.metadata.generate_name = Some(format!("{}-", &name[..name.len().min(57)]));
    let created = reviews
        .create(&PostParams::default(), &obj)
        .await
        .map_err(|e| explain(&format!("recording your review of {name}"), e))?;
    let done = if decision == ReviewDecision::Approved { "approved" } else { "denied" };
    println!("escalation/{name} {done} (escalationreview/{})", created.name_any());
    if args.wait {
        let acted = wait_acted(&escalations, &name, &session.me.username, owes_after_review).await?;
        println!("{}", outcome(&acted, Timestamp::now()));
    }
    Ok(())
}

/// Polls the escalation until the controller has acted on a review by `reviewer`.
async fn wait_acted(
    api: &Api<Escalation>,
    name: &str,
    reviewer: &str,
    after_review: bool,
) -> Result<Escalation, UserError> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let esc = get_escalation(api, name).await?;
        if acted(&esc, reviewer, after_review) {
            return Ok(esc);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(UserError::new(format!("the controller did not act on your review of {name} within a minute"))
                .hint(format!("it will when it runs: kubectl kudo status {name}"))
                .code(super::error::exit::TIMEOUT));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Whether the controller has acted on `reviewer`'s review: the escalation
/// is final, granted (every binding created), its after-review decided, or
/// still PENDING with the review counted toward a stage.
fn acted(esc: &Escalation, reviewer: &str, after_review: bool) -> bool {
    let Some(status) = &esc.status else { return false };
    if after_review {
        return status.after_review != Some(AfterReview::Pending);
    }
    match status.state {
        EscalationState::Denied | EscalationState::Expired => true,
        EscalationState::Accepted => status.grant_refs.iter().all(|r| r.status == crate::api::GrantStatus::Created),
        EscalationState::Pending => status.challenges.iter().any(|c| c.approved_by.iter().any(|a| a == reviewer)),
    }
}

/// What the controller decided, in one or a few lines.
fn outcome(esc: &Escalation, now: Timestamp) -> String {
    let name = esc.name_any();
    let Some(status) = &esc.status else { return format!("escalation/{name} has no status yet") };
    match status.state {
        EscalationState::Accepted => {
            let until = status.expires_at.as_ref().map(|t| t.0);
            let mut text = format!(
                "escalation/{name} ACCEPTED until {} ({})",
                until.map(|t| t.to_string()).unwrap_or_default(),
                until.map(|t| format::relative(t, now)).unwrap_or_default()
            );
            for r in &status.grant_refs {
                text += &format!(
                    "\n  granted {:?} {} {} to {}",
                    r.role_ref.kind,
                    r.role_ref.name,
                    format::place(&r.reference.namespace),
                    crate::printable::printable(&esc.spec.requestor)
                );
            }
            text
        }
        state => {
            format!("escalation/{name} {}: {}", state.as_str(), crate::printable::printable(&status.state_details))
        }
    }
}

pub async fn get_escalation(api: &Api<Escalation>, name: &str) -> Result<Escalation, UserError> {
    api.get_opt(name).await.map_err(|e| explain(&format!("reading escalation {name}"), e))?.ok_or_else(|| {
        UserError::new(format!("escalation {name} not found")).hint("kubectl kudo list --all shows them")
    })
}

/// Who asks for what, why, and for how long.
pub fn summary(esc: &Escalation) -> String {
    let spec = &esc.spec;
    let clean = |s: &str| crate::printable::printable(s).into_owned();
    let created =
        esc.metadata.creation_timestamp.as_ref().map(|t| format::age(t.0, Timestamp::now())).unwrap_or_default();
    format!(
        "{} asks for policy {}{}{}, {created} ago\n  reason: {}",
        clean(&spec.requestor),
        clean(&spec.policy_name),
        spec.namespace.as_ref().map(|n| format!(" in namespace {}", clean(n))).unwrap_or_default(),
        spec.duration
            .as_ref()
            .map(|d| format!(" for {}", clean(&d.to_string())))
            .unwrap_or_else(|| " for the policy's default duration".into()),
        clean(&spec.reason)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_read_as_list_and_kubectl_print_them() {
        assert_eq!(escalation_name("read-pods-x7k2p"), "read-pods-x7k2p");
        assert_eq!(escalation_name("escalation/read-pods-x7k2p"), "read-pods-x7k2p");
        assert_eq!(escalation_name("escalation.k8s.kudo.dev/read-pods-x7k2p"), "read-pods-x7k2p");
    }

    fn escalation(status: serde_json::Value) -> Escalation {
        serde_json::from_value(json!({
            "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "Escalation", "metadata": {"name": "e"},
            "spec": {"policyName": "p", "requestor": "alice", "requestorGroups": [], "reason": "r"},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn the_controller_has_acted_once_the_review_shows() {
        let pending =
            escalation(json!({"state": "PENDING", "challenges": [{"kind": "PeerReview", "state": "PENDING"}]}));
        assert!(!acted(&pending, "bob", false), "not yet counted");
        let counted = escalation(
            json!({"state": "PENDING", "challenges": [{"kind": "PeerReview", "state": "PENDING", "approvedBy": ["bob"]}]}),
        );
        assert!(acted(&counted, "bob", false), "counted; another stage waits");
        let granting = escalation(json!({"state": "ACCEPTED", "grantRefs": [{"status": "PENDING",
            "ref": {"kind": "KubernetesRoleBinding", "name": "b", "namespace": "app"},
            "roleRef": {"kind": "ClusterRole", "name": "r", "apiGroup": "rbac.authorization.k8s.io"}}]}));
        assert!(!acted(&granting, "bob", false), "accepted, bindings not yet created");
        assert!(acted(&escalation(json!({"state": "DENIED"})), "bob", false));
        let owed = escalation(json!({"state": "ACCEPTED", "afterReview": "PENDING"}));
        assert!(!acted(&owed, "bob", true));
        assert!(acted(&escalation(json!({"state": "ACCEPTED", "afterReview": "APPROVED"})), "bob", true));
    }
}
