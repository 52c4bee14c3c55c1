//! How times, places and tables look in the CLI.

use std::io::IsTerminal;

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

/// "2026-11-24T10:31:02Z (in 29m 59s)", as `escalate` and `approve --wait` say until when.
pub fn until(at: Option<Timestamp>, now: Timestamp) -> String {
    format!("{} ({})", at.map(|t| t.to_string()).unwrap_or_default(), at.map(|t| relative(t, now)).unwrap_or_default())
}

/// Asks to pick one of `items` on the terminal; its index.
pub fn choose<T: std::fmt::Display>(prompt: &str, items: &[T]) -> Result<usize, crate::cli::UserError> {
    dialoguer::Select::new()
        .with_prompt(prompt)
        .items(items)
        .default(0)
        .interact()
        .map_err(|e| crate::cli::UserError::new(format!("choosing a policy: {e}")))
}

/// Asks for a line of text on the terminal; `doing` names it in the error.
pub fn ask(question: &str, doing: &str) -> Result<String, crate::cli::UserError> {
    let answer = dialoguer::Input::<String>::new().with_prompt(question).interact_text();
    answer.map_err(|e| crate::cli::UserError::new(format!("{doing}: {e}")))
}

/// A spinner on stderr when it is a terminal, hidden otherwise.
pub fn spinner(message: &'static str) -> indicatif::ProgressBar {
    let spinner = indicatif::ProgressBar::new_spinner();
    if std::io::stderr().is_terminal() {
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    } else {
        spinner.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    spinner.set_message(message);
    spinner
}
