//! `kubectl kudo list`: my escalations, everyone's, or those awaiting my review.

use clap::{Args, ValueEnum};
use futures::StreamExt;
use jiff::Timestamp;
use kube::{
    Api, ResourceExt,
    api::ListParams,
    runtime::{WatchStreamExt, watcher},
};
use serde_json::json;

use super::{
    error::{UserError, explain},
    format,
    session::Session,
};
use crate::{
    api::{ChallengeKind, Escalation, EscalationPolicy, EscalationReview, EscalationState},
    engine::review,
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
    /// Break-glass escalations (active or ended, anyone's) still awaiting their after-review.
    #[arg(long, conflicts_with_all = ["all", "pending_review"])]
    pub after_review: bool,
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
    let (all, pending_review, after_review) = (args.all, args.pending_review, args.after_review);
    Ok(move |e: &Escalation| {
        if after_review {
            return e.status.as_ref().is_some_and(|s| s.after_review == Some(crate::api::AfterReview::Pending));
        }
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
