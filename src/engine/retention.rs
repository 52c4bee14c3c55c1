//! How many finished escalations are kept (issue 17): per requestor, at most
//! a cap; beyond it the oldest go first. The cap is what bounds the
//! controller's memory whatever one user creates, so it is enforced on what
//! the watch cache holds, not on what anyone asks.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::api::{AfterReview, Escalation, GrantStatus};

/// Finished escalations a requestor keeps by default.
pub const DEFAULT_PER_REQUESTOR: usize = 100; // kubectl kudo controller --retain-finished-per-requestor's default too

/// When an escalation ended, for ordering: `finishedAt`, else the latest
/// time it records, else its creation.
fn ended(e: &Escalation) -> Option<Timestamp> {
    let status = e.status.as_ref();
    status
        .and_then(|s| s.finished_at.as_ref().or(s.expires_at.as_ref()))
        .or(e.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
}

/// Whether the cap may delete `e`: final, holding nothing, and not a
/// break-glass escalation still owed its after-review (flooding must never
/// push one out of `kubectl kudo list --after-review`).
pub fn removable(e: &Escalation) -> bool {
    e.metadata.deletion_timestamp.is_none()
        && e.status.as_ref().is_some_and(|s| {
            s.state.is_final()
                && s.after_review != Some(AfterReview::Pending)
                && s.grant_refs.iter().all(|r| r.status == GrantStatus::Reclaimed)
        })
}

/// The finished escalations to delete so that no requestor keeps more than
/// `cap` removable ones: the oldest first (by end, then name), by name.
pub fn over_cap<'a>(all: impl IntoIterator<Item = &'a Escalation>, cap: usize) -> Vec<&'a Escalation> {
    let mut by_requestor: BTreeMap<&str, Vec<&Escalation>> = BTreeMap::new();
    for e in all.into_iter().filter(|e| removable(e)) {
        by_requestor.entry(e.spec.requestor.as_str()).or_default().push(e);
    }
    let mut out = Vec::new();
    for (_, mut kept) in by_requestor {
        if kept.len() <= cap {
            continue;
        }
        kept.sort_by(|a, b| (ended(a), &a.metadata.name).cmp(&(ended(b), &b.metadata.name)));
        let excess = kept.len() - cap;
        out.extend(kept.into_iter().take(excess));
    }
    out
}
