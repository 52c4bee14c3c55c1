//! `kubectl kudo list`, `status`, `revoke`, `policies`: reading and ending.

use clap::{Args, ValueEnum};
use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::events::v1::Event;
use kube::{
    Api, ResourceExt,
    api::{ListParams, Patch, PatchParams},
    runtime::{WatchStreamExt, watcher},
};
use serde_json::json;

use super::{
    format,
    review::get_escalation,
    session::{Session, UserError, explain},
};
use crate::{
    api::{
        CONDITION_DANGEROUS_ROLE, ChallengeKind, Escalation, EscalationPolicy, EscalationReview, EscalationState,
        Identity,
    },
    engine::binding,
    engine::{checks, review},
    grants::Grants,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Wide,
    Json,
    Yaml,
    Name,
}

#[derive(Clone, Debug, Args)]
pub struct ListArgs {
    /// Everyone's escalations, not only mine.
    #[arg(short = 'A', long)]
    pub all: bool,
    /// PENDING escalations I may review and have not reviewed yet.
    #[arg(long, conflicts_with = "all")]
    pub pending_review: bool,
    /// Output format.
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<Output>,
    /// After listing, keep printing changes.
    #[arg(short, long)]
    pub watch: bool,
}

pub async fn list(session: &Session, args: ListArgs) -> Result<(), UserError> {
    let api: Api<Escalation> = session.api();
    let mut items = api.list(&ListParams::default()).await.map_err(|e| explain("listing escalations", e))?.items;
    let keep = filter(session, &args).await?;
    items.retain(|e| keep(e));
    items.sort_by(|a, b| a.creation_timestamp().cmp(&b.creation_timestamp()).then(a.name_any().cmp(&b.name_any())));
    let now = Timestamp::now();
    match args.output {
        Some(Output::Json) => {
            let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
            println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
        }
        Some(Output::Yaml) => {
            let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
            print!("{}", serde_saphyr::to_string(&list).map_err(|e| UserError::new(format!("writing YAML: {e}")))?);
        }
        Some(Output::Name) => items.iter().for_each(|e| println!("escalation/{}", e.name_any())),
        wide => {
            if items.is_empty() && !args.watch {
                eprintln!(
                    "{}",
                    if args.all { "No escalations." } else { "No escalations of yours (--all shows everyone's)." }
                );
                return Ok(());
            }
            let wide = wide == Some(Output::Wide);
            let mut table = format::table(&headers(wide));
            for e in &items {
                table.add_row(row(e, now, wide));
            }
            println!("{}", format::render(&mut table));
        }
    }
    if args.watch {
        let wide = args.output == Some(Output::Wide);
        let mut stream = watcher(api, watcher::Config::default()).applied_objects().boxed();
        while let Some(next) = stream.next().await {
            let e = next.map_err(|e| UserError::new(format!("watching escalations: {e}")))?;
            if keep(&e) {
                let mut table = format::table(&headers(wide));
                table.add_row(row(&e, Timestamp::now(), wide));
                // Rows only, as `kubectl get -w` prints them after the first table.
                println!("{}", format::render(&mut table).lines().nth(1).unwrap_or_default());
            }
        }
    }
    Ok(())
}

fn headers(wide: bool) -> Vec<&'static str> {
    let mut h = vec!["NAME", "POLICY", "REQUESTOR", "STATE", "NAMESPACE", "EXPIRES", "AGE"];
    if wide {
        h.extend(["REASON", "DETAILS"]);
    }
    h
}

fn row(e: &Escalation, now: Timestamp, wide: bool) -> Vec<String> {
    let status = e.status.as_ref();
    let namespace = e
        .spec
        .namespace
        .clone()
        .or_else(|| status.and_then(|s| s.grant_refs.iter().find_map(|r| r.reference.namespace.clone())))
        .unwrap_or_else(|| "-".into());
    let expires =
        status.and_then(|s| s.expires_at.as_ref()).map(|t| format::relative(t.0, now)).unwrap_or_else(|| "-".into());
    let mut row = vec![
        e.name_any(),
        e.spec.policy_name.clone(),
        e.spec.requestor.clone(),
        status.map_or("NEW", |s| s.state.as_str()).to_string(),
        namespace,
        expires,
        e.creation_timestamp().map(|t| format::age(t.0, now)).unwrap_or_default(),
    ];
    if wide {
        row.push(e.spec.reason.clone());
        row.push(status.map(|s| s.state_details.clone()).unwrap_or_default());
    }
    format::cells(row)
}

async fn filter(session: &Session, args: &ListArgs) -> Result<impl Fn(&Escalation) -> bool + use<>, UserError> {
    let me = session.me.clone();
    let (policies, reviews) = if args.pending_review {
        let p: Api<EscalationPolicy> = session.api();
        let r: Api<EscalationReview> = session.api();
        (
            p.list(&ListParams::default()).await.map_err(|e| explain("listing policies", e))?.items,
            r.list(&ListParams::default()).await.map_err(|e| explain("listing reviews", e))?.items,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let (all, pending_review) = (args.all, args.pending_review);
    Ok(move |e: &Escalation| {
        if pending_review {
            if e.state() != Some(EscalationState::Pending) {
                return false;
            }
            let uid = e.uid().unwrap_or_default();
            if reviews.iter().any(|r| r.spec.escalation_uid == uid && r.spec.reviewer == me.username) {
                return false;
            }
            let probe = EscalationReview::new(
                "",
                crate::api::EscalationReviewSpec {
                    escalation_name: e.name_any(),
                    escalation_uid: uid,
                    reviewer: me.username.clone(),
                    reviewer_groups: me.groups.clone(),
                    decision: crate::api::ReviewDecision::Approved,
                    message: String::new(),
                },
            );
            return policies.iter().filter(|p| p.name_any() == e.spec.policy_name).any(|p| {
                p.spec
                    .challenges
                    .iter()
                    .filter(|c| c.kind == ChallengeKind::PeerReview)
                    .any(|c| review::ineligibility(c, e, &probe).is_none())
            });
        }
        all || e.spec.requestor == me.username
    })
}

#[derive(Clone, Debug, Args)]
pub struct NameArg {
    #[arg(value_name = "NAME")]
    pub name: String,
}

pub async fn status(session: &Session, args: NameArg) -> Result<(), UserError> {
    let api: Api<Escalation> = session.api();
    let esc = get_escalation(&api, &args.name).await?;
    let now = Timestamp::now();
    let name = esc.name_any();
    let mut out = String::new();
    // Every line may carry user-written text: escape it (one line stays one line).
    let line = |out: &mut String, s: String| {
        out.push_str(&crate::printable::printable(&s));
        out.push('\n');
    };
    line(&mut out, format!("Name:       {name}"));
    line(&mut out, format!("Policy:     {}", esc.spec.policy_name));
    line(&mut out, format!("Requestor:  {}", esc.spec.requestor));
    line(&mut out, format!("Reason:     {}", esc.spec.reason));
    let status = esc.status.clone();
    let state = status.as_ref().map_or("NEW (not yet seen by the controller)", |s| s.state.as_str());
    line(&mut out, format!("State:      {state}"));
    if let Some(s) = &status {
        line(&mut out, format!("Details:    {}", s.state_details));
        if let Some(at) = &s.accepted_at {
            line(&mut out, format!("Accepted:   {} ({})", at.0, format::relative(at.0, now)));
        }
        if let Some(at) = &s.expires_at {
            let left = if s.state == EscalationState::Accepted { format::relative(at.0, now) } else { "over".into() };
            line(&mut out, format!("Expires:    {} ({left})", at.0));
        }
        if !s.challenges.is_empty() {
            line(&mut out, "Challenges:".into());
            for c in &s.challenges {
                let by = if c.approved_by.is_empty() {
                    String::new()
                } else {
                    format!(" approved by {}", c.approved_by.join(", "))
                };
                line(&mut out, format!("  {:?}: {:?}{by} — {}", c.kind, c.state, c.message));
            }
        }
        if !s.grant_refs.is_empty() {
            line(&mut out, "Grants:".into());
            let live = Grants::new(session.client.clone());
            for r in &s.grant_refs {
                let seen = match live.get(r).await {
                    Ok(Some(b)) => match binding::binding(&esc, r).map(|d| binding::observe(&d, Some(&b))) {
                        Some(crate::engine::Observation::Intact) => "present".to_string(),
                        Some(other) => format!("{other:?}"),
                        None => "unknown".to_string(),
                    },
                    Ok(None) => "absent".into(),
                    Err(_) => "unknown (you may not read bindings)".into(),
                };
                line(
                    &mut out,
                    format!(
                        "  {:?} {} {} -> {:?} {}: {:?}, live: {seen}",
                        r.reference.kind,
                        r.reference.name,
                        format::place(&r.reference.namespace),
                        r.role_ref.kind,
                        r.role_ref.name,
                        r.status
                    ),
                );
            }
        }
    }
    // The controller's Events on cluster-scoped escalations live in `default`.
    let events: Api<Event> = Api::namespaced(session.client.clone(), "default");
    let listed = events.list(&ListParams::default()).await;
    if listed.is_err() {
        line(&mut out, "Events:     (not shown: you may not list events in namespace default)".into());
    }
    if let Ok(list) = listed {
        let mut mine: Vec<Event> = list
            .items
            .into_iter()
            .filter(|e| {
                e.regarding.as_ref().is_some_and(|r| {
                    r.name.as_deref() == Some(name.as_str()) && r.kind.as_deref() == Some("Escalation")
                })
            })
            .collect();
        mine.sort_by_key(|e| {
            e.event_time.as_ref().map(|t| t.0).or(e.metadata.creation_timestamp.as_ref().map(|t| t.0))
        });
        if !mine.is_empty() {
            line(&mut out, "Events:".into());
            for e in mine {
                let at = e.event_time.as_ref().map(|t| t.0).or(e.metadata.creation_timestamp.as_ref().map(|t| t.0));
                line(
                    &mut out,
                    format!(
                        "  {:>6}  {:<15} {}",
                        at.map(|t| format::age(t, now)).unwrap_or_default(),
                        e.reason.unwrap_or_default(),
                        e.note.unwrap_or_default()
                    ),
                );
            }
        }
    }
    print!("{out}");
    Ok(())
}

#[derive(Clone, Debug, Args)]
pub struct RevokeArgs {
    /// The escalation to end.
    #[arg(value_name = "NAME", required_unless_present = "all_mine")]
    pub name: Option<String>,
    /// End every escalation of mine that is PENDING or ACCEPTED.
    #[arg(long, conflicts_with = "name")]
    pub all_mine: bool,
}

pub async fn revoke(session: &Session, args: RevokeArgs) -> Result<(), UserError> {
    let api: Api<Escalation> = session.api();
    let names: Vec<String> = match (&args.name, args.all_mine) {
        (Some(n), _) => vec![get_escalation(&api, n).await?.name_any()],
        (None, _) => api
            .list(&ListParams::default())
            .await
            .map_err(|e| explain("listing escalations", e))?
            .items
            .into_iter()
            .filter(|e| {
                e.spec.requestor == session.me.username
                    && !e.state().is_some_and(EscalationState::is_final)
                    && !e.spec.revoked
            })
            .map(|e| e.name_any())
            .collect(),
    };
    if names.is_empty() {
        println!("Nothing to revoke.");
    }
    for name in names {
        let esc = get_escalation(&api, &name).await?;
        if let Some(s) = esc.state().filter(|s| s.is_final()) {
            return Err(UserError::new(format!("escalation {name} is already {}", s.as_str())));
        }
        let patch = json!({"spec": {"revoked": true, "revokedBy": session.me.username}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| explain(&format!("revoking escalation {name}"), e))?;
        println!("escalation/{name} revoked; its grants are being reclaimed");
    }
    Ok(())
}

#[derive(Clone, Debug, Args)]
pub struct PoliciesArgs {
    /// Every policy, not only those I may use.
    #[arg(short = 'A', long)]
    pub all: bool,
}

pub async fn policies(session: &Session, args: PoliciesArgs) -> Result<(), UserError> {
    let api: Api<EscalationPolicy> = session.api();
    let mut items = api.list(&ListParams::default()).await.map_err(|e| explain("listing policies", e))?.items;
    items.sort_by_key(ResourceExt::name_any);
    let me = Identity { username: &session.me.username, groups: &session.me.groups };
    let mut table = format::table(&["POLICY", "GRANTS", "DURATION", "CHALLENGES", "WARNINGS"]);
    let mut shown = 0;
    for p in &items {
        let usable = p.spec.subjects.iter().any(|s| s.matches(&me));
        if !usable && !args.all {
            continue;
        }
        shown += 1;
        let grants: Vec<String> = p
            .spec
            .target
            .grants
            .iter()
            .map(|g| {
                let mut places: Vec<String> = g.default_namespace.iter().cloned().collect();
                places
                    .extend(g.allowed_namespaces.iter().filter(|n| Some(*n) != g.default_namespace.as_ref()).cloned());
                let place = if places.is_empty() { "cluster-wide".into() } else { format!("in {}", places.join("|")) };
                format!("{:?} {} {place}", g.role_ref.kind, g.role_ref.name)
            })
            .collect();
        let challenges: Vec<String> = p
            .spec
            .challenges
            .iter()
            .map(|c| match c.kind {
                ChallengeKind::PeerReview => {
                    format!("{} approval(s) from {}", c.min_approvals(), review::describe_reviewers(c))
                }
                ChallengeKind::TimeWindow => format!("time window ({})", crate::engine::window::describe(&c.windows)),
                ChallengeKind::Justification => format!("reason matching {}", c.pattern.clone().unwrap_or_default()),
            })
            .collect();
        let warning = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == CONDITION_DANGEROUS_ROLE && c.status == "True"))
            .map(|c| c.message.clone())
            .unwrap_or_default();
        let problems = checks::policy_problems(&p.spec).join("; ");
        // Multi-line cells: escape each line, then join.
        let lines = |l: Vec<String>| format::cells(l).join("\n");
        let mut row = format::cells(vec![
            p.name_any(),
            format!("{} (max {})", p.spec.target.default_duration, p.spec.target.max_duration),
            [warning, problems].into_iter().filter(|w| !w.is_empty()).collect::<Vec<_>>().join("; "),
        ]);
        row.insert(1, lines(grants));
        row.insert(3, if challenges.is_empty() { "none".into() } else { lines(challenges) });
        table.add_row(row);
    }
    if shown == 0 {
        eprintln!(
            "No policy names you ({}) as a subject; ask an admin, or see them all with --all.",
            session.me.username
        );
        return Ok(());
    }
    println!("{}", format::render(&mut table));
    Ok(())
}
