//! `kubectl kudo list`: my escalations, everyone's, or those awaiting my
//! review (`operations::list`), as kubectl prints lists.

use clap::{Args, ValueEnum};
use futures::StreamExt;
use jiff::Timestamp;
use serde_json::json;

use super::{error::UserError, format, session::Session};
use crate::operations::list::{self, Change, Scope, Selection};

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
    let scope = match (args.after_review, args.pending_review, args.all) {
        (true, _, _) => Scope::AfterReview,
        (_, true, _) => Scope::PendingReview,
        (_, _, true) => Scope::All,
        _ => Scope::Mine,
    };
    let selection = Selection::new(session, scope).await?;
    let now = Timestamp::now();
    match args.output {
        Some(Output::Json) => {
            let items = list::list(session, &selection).await?;
            let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
            println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
        }
        Some(Output::Yaml) => {
            let items = list::list(session, &selection).await?;
            let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
            print!("{}", serde_saphyr::to_string(&list).map_err(|e| UserError::new(format!("writing YAML: {e}")))?);
        }
        Some(Output::Name) => {
            list::rows(session, &selection, false).await?.iter().for_each(|r| println!("escalation/{}", r.name))
        }
        wide => {
            let wide = wide == Some(Output::Wide);
            let items = list::rows(session, &selection, wide).await?;
            if items.is_empty() && !args.watch {
                eprintln!(
                    "{}",
                    if args.all { "No escalations." } else { "No escalations of yours (--all shows everyone's)." }
                );
                return Ok(());
            }
            let mut table = format::table(&headers(wide));
            for r in items {
                table.add_row(row(r, now, wide));
            }
            println!("{}", format::render(&mut table));
        }
    }
    if args.watch {
        let wide = args.output == Some(Output::Wide);
        let mut changes = list::changes(session, selection).boxed();
        while let Some(change) = changes.next().await {
            if let Change::Applied(e) = change? {
                let mut table = format::table(&headers(wide));
                table.add_row(row(list::row(&e), Timestamp::now(), wide));
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

fn row(r: list::Row, now: Timestamp, wide: bool) -> Vec<String> {
    let state = r.state_text().to_string();
    let mut row = vec![
        r.name,
        r.policy,
        r.requestor,
        state,
        r.namespace.unwrap_or_else(|| "-".into()),
        r.expires_at.map(|t| format::relative(t, now)).unwrap_or_else(|| "-".into()),
        r.created.map(|t| format::age(t, now)).unwrap_or_default(),
    ];
    if wide {
        row.extend([r.reason, r.details]);
    }
    format::cells(row)
}
