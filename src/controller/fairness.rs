//! One user's flood must not starve everyone else's work (issue 17). The
//! controller's queue is first come, first served; here each requestor may
//! have at most a share of the reconciles deciding new or pending
//! escalations at once, and the rest wait in a line of their own, off the
//! queue: each share given back calls the next in that line. Work that
//! takes access away (accepted, revoked, expiring, or anything still
//! holding a binding) never waits.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use kube::runtime::reflector::ObjectRef;
use tokio::sync::mpsc::UnboundedSender;

use crate::api::{Escalation, EscalationState, GrantStatus};

/// How long waiting work sleeps if no share given back calls it (a backstop:
/// a call is normally what wakes it).
pub const BACKSTOP: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Line {
    running: usize,
    /// In arrival order; `queued` holds the same names, for lookups.
    waiting: VecDeque<String>,
    queued: HashSet<String>,
}

pub struct Fairness {
    share: usize,
    lines: Mutex<HashMap<String, Line>>,
    /// Where the next in line is called (the controller reconciles it).
    call: UnboundedSender<ObjectRef<Escalation>>,
}

/// A turn to reconcile; the requestor's share is given back on drop.
pub struct Turn {
    fairness: Arc<Fairness>,
    requestor: Option<String>,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn").field("requestor", &self.requestor).finish()
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let Some(requestor) = self.requestor.take() else { return };
        let mut lines = self.fairness.lines.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(line) = lines.get_mut(&requestor) {
            line.running = line.running.saturating_sub(1);
            // The next in line is called; it takes the share when it runs.
            self.fairness.call_next(line);
            if line.running == 0 && line.waiting.is_empty() {
                lines.remove(&requestor);
            }
        }
    }
}

/// Whether reconciling `e` can only grant (so it may wait its turn); work
/// that reclaims or keeps access in check never waits.
fn may_wait(e: &Escalation) -> bool {
    let holds = e.status.iter().flat_map(|s| s.grant_refs.iter()).any(|r| r.status != GrantStatus::Reclaimed);
    e.metadata.deletion_timestamp.is_none()
        && !e.spec.revoked
        && !holds
        && matches!(e.state(), None | Some(EscalationState::Pending))
}

impl Fairness {
    /// `share`: reconciles one requestor's grant decisions may hold at once;
    /// `call`: where the next in line is sent when a share is given back.
    pub fn new(share: usize, call: UnboundedSender<ObjectRef<Escalation>>) -> Arc<Self> {
        Arc::new(Self { share: share.max(1), lines: Mutex::default(), call })
    }

    /// A turn now, or `Err` with how long to wait at most before asking
    /// again (the next share given back calls it sooner).
    pub fn enter(self: &Arc<Self>, e: &Escalation) -> Result<Turn, Duration> {
        if !may_wait(e) {
            // It may be in line from an older view (a reconcile on a cache
            // behind the write that granted it), or called for a share it
            // no longer needs: it leaves the line, and a free share goes to
            // the next, or that one would wait for the backstop.
            self.forget(e);
            return Ok(Turn { fairness: self.clone(), requestor: None });
        }
        let name = e.metadata.name.clone().unwrap_or_default();
        let requestor = e.spec.requestor.clone();
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        let line = lines.entry(requestor.clone()).or_default();
        if line.running < self.share {
            line.running += 1;
            if line.queued.remove(&name) {
                line.waiting.retain(|n| *n != name);
            }
            return Ok(Turn { fairness: self.clone(), requestor: Some(requestor) });
        }
        if line.queued.insert(name.clone()) {
            line.waiting.push_back(name);
        }
        Err(BACKSTOP)
    }

    /// `e` is gone, or needs no turn: it waits no more.
    pub fn forget(&self, e: &Escalation) {
        let name = e.metadata.name.as_deref().unwrap_or_default();
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(line) = lines.get_mut(&e.spec.requestor) {
            if line.queued.remove(name) {
                line.waiting.retain(|n| n != name);
            }
            // Had it been called, the share it would have taken is free.
            if line.running < self.share {
                self.call_next(line);
            }
            if line.running == 0 && line.waiting.is_empty() {
                lines.remove(&e.spec.requestor);
            }
        }
    }

    /// Calls the first in `line`, if any; it takes a share when it runs.
    fn call_next(&self, line: &mut Line) {
        if let Some(next) = line.waiting.pop_front() {
            line.queued.remove(&next);
            let _ = self.call.send(ObjectRef::new(&next));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, requestor: &str) -> Escalation {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"policyName": "p", "requestor": requestor, "requestorGroups": [], "reason": "r"},
        }))
        .unwrap()
    }

    #[test]
    fn a_flood_waits_in_its_own_line() {
        let (tx, mut called) = tokio::sync::mpsc::unbounded_channel();
        let fair = Fairness::new(2, tx);
        let (a, b) = (fair.enter(&new("m-1", "mallory")).unwrap(), fair.enter(&new("m-2", "mallory")).unwrap());
        assert_eq!(fair.enter(&new("m-3", "mallory")).unwrap_err(), BACKSTOP);
        for i in 4..100 {
            assert!(fair.enter(&new(&format!("m-{i}"), "mallory")).is_err());
        }
        assert!(fair.enter(&new("m-3", "mallory")).is_err(), "asking again keeps its place");
        let alice = fair.enter(&new("a-1", "alice"));
        assert!(alice.is_ok(), "another user is not behind the flood");
        drop(alice);
        assert!(called.try_recv().is_err(), "alice's line was empty");
        drop(a);
        assert_eq!(called.try_recv().unwrap().name, "m-3", "the first in line is called");
        let c = fair.enter(&new("m-3", "mallory"));
        assert!(c.is_ok(), "and takes the share given back");
        // Taking access away never waits, even for the flooder.
        let mut revoked = new("m-200", "mallory");
        revoked.spec.revoked = true;
        assert!(fair.enter(&revoked).is_ok());
        fair.forget(&new("m-4", "mallory"));
        drop(b);
        assert_eq!(called.try_recv().unwrap().name, "m-5", "a forgotten one is not called");
        drop(c);
    }

    /// A stale view can put an escalation in line after it was granted; the
    /// one behind it must still be called when a share is given back.
    #[test]
    fn one_in_line_that_no_longer_waits_does_not_take_a_call() {
        let (tx, mut called) = tokio::sync::mpsc::unbounded_channel();
        let fair = Fairness::new(1, tx);
        let holder = fair.enter(&new("m-1", "mallory")).unwrap();
        for name in ["m-2", "m-3", "m-4", "m-5"] {
            assert!(fair.enter(&new(name, "mallory")).is_err());
        }
        // m-2 was queued from a view older than the write that granted it.
        let mut granted = new("m-2", "mallory");
        granted.status = Some(crate::api::EscalationStatus::new(EscalationState::Accepted));
        assert!(fair.enter(&granted).is_ok(), "an accepted one never waits");
        drop(holder);
        assert_eq!(called.try_recv().unwrap().name, "m-3", "the one granted left the line");
        // m-3 was called, but is revoked by the time it runs: the share
        // it would have taken goes to the next.
        let mut revoked = new("m-3", "mallory");
        revoked.spec.revoked = true;
        assert!(fair.enter(&revoked).is_ok());
        assert_eq!(called.try_recv().unwrap().name, "m-4", "a call not needed is passed on");
        let m4 = fair.enter(&new("m-4", "mallory")).unwrap();
        assert!(called.try_recv().is_err(), "no share is free");
        drop(m4);
        assert_eq!(called.try_recv().unwrap().name, "m-5");
    }
}
