//! How times, places and tables look in the CLI.

use comfy_table::{ContentArrangement, Table, presets::NOTHING};
use jiff::Timestamp;

use crate::api::duration::human;

/// "in 42m" / "3m ago", as people read them.
pub fn relative(at: Timestamp, now: Timestamp) -> String {
    let d = at.duration_since(now);
    if d.is_negative() { format!("{} ago", human(-d)) } else { format!("in {}", human(d)) }
}

/// Age as kubectl prints it: the largest unit or two (5m, 2h, 3d).
pub fn age(since: Timestamp, now: Timestamp) -> String {
    let secs = now.duration_since(since).as_secs().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

pub fn place(namespace: &Option<String>) -> String {
    match namespace {
        Some(ns) => format!("in namespace {ns}"),
        None => "cluster-wide".into(),
    }
}

/// A kubectl-style table: no borders, upper-case headers.
pub fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(NOTHING).set_content_arrangement(ContentArrangement::Disabled).set_header(headers.to_vec());
    t
}

/// Renders with kubectl's spacing: flush left, three spaces between columns.
pub fn render(table: &mut Table) -> String {
    for column in table.column_iter_mut() {
        column.set_padding((0, 3));
    }
    table.lines().map(|l| l.trim_end().to_string()).collect::<Vec<_>>().join("\n")
}

/// Table cells with control characters escaped: a cell is user-written text.
pub fn cells(row: Vec<String>) -> Vec<String> {
    row.into_iter().map(|c| crate::printable::printable(&c).into_owned()).collect()
}

/// What a challenge asks before a policy grants, in one line.
pub fn challenge(c: &crate::api::Challenge) -> String {
    use crate::{api::ChallengeKind, engine};
    let glass = if c.break_glass { " (break-glass: may be skipped in an emergency, reviewed after)" } else { "" };
    match c.kind {
        ChallengeKind::PeerReview => {
            format!("{} approval(s) from {}{glass}", c.min_approvals(), engine::review::describe_reviewers(c))
        }
        ChallengeKind::TimeWindow => format!("time window ({})", engine::window::describe(&c.windows)),
        ChallengeKind::Justification => format!("reason matching {}", c.pattern.clone().unwrap_or_default()),
    }
}
