//! Bindings first when many escalations end at once. An ending (expiry,
//! revocation, denial) deletes its bindings, then writes its status and its
//! audit records. When a thousand expire in the same second, each deletion
//! waited behind the status writes of those reconciled before it (a status
//! write costs the API server several times a deletion), and the last
//! binding went seconds late.
//!
//! So while other endings are in flight, a reconcile hands its deletions to
//! this queue (FIFO, [`CONCURRENCY`] at a time, nothing else in between)
//! and returns. Once the queue has drained (or [`MAX_HOLD`] after its own
//! deletions), the escalation is reconciled again: the same decision, from
//! the same stored status (nothing was written), carried out as usual with
//! the deletions known done. Only endings that cannot be undone are handed
//! over (an expiry, a revocation): the second pass must decide the same, or
//! a binding deleted here would read as deleted outside kudo. A deletion
//! that hangs is given up after [`JOB_TIMEOUT`], and an escalation not
//! called back within [`BACKSTOP`] ends by itself on its next reconcile. The audit records and the status write belong
//! to that second pass alone, so nothing is recorded twice; a deletion that
//! failed is simply made again there. A crash in between is harmless, as
//! for any reclaim: absent counts as reclaimed.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use jiff::Timestamp;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::mpsc;

use crate::{
    api::{Escalation, GrantRef},
    grants::Grants,
};

/// Deletions in flight at once: what the API server took fastest (1 000
/// bindings: 650 ms at 32, 560 ms at 64).
pub const CONCURRENCY: usize = 64;

/// The longest an escalation whose bindings are gone waits for its status
/// while other deletions go on.
pub const MAX_HOLD: Duration = Duration::from_secs(1);

/// A deletion taking longer is given up here (the ending makes it again).
const JOB_TIMEOUT: Duration = Duration::from_secs(10);

/// A handed-over escalation is reconciled again after this at the latest,
/// and then ends whether or not it was called back.
pub const BACKSTOP: Duration = Duration::from_secs(5);

pub struct Ahead {
    endings: AtomicUsize,
    state: Mutex<State>,
    jobs: mpsc::UnboundedSender<Job>,
    call: mpsc::UnboundedSender<ObjectRef<Escalation>>,
}

#[derive(Default)]
struct State {
    /// Deletions queued or in flight.
    backlog: usize,
    /// By escalation uid.
    escalations: HashMap<String, Handed>,
    /// Escalations whose deletions are all done, not yet called back, in
    /// the order they were done.
    ready: std::collections::VecDeque<String>,
    /// A call back of `ready` after [`MAX_HOLD`] is armed.
    timer: bool,
}

/// An escalation whose deletions were handed over.
struct Handed {
    name: String,
    handed: Instant,
    left: usize,
    /// Its bindings deleted (by name), and when.
    deleted: Vec<(String, Timestamp)>,
    /// When its last deletion was done.
    done: Option<Instant>,
    /// Called back for its second pass.
    called: bool,
}

struct Job {
    escalation: Arc<Escalation>,
    uid: String,
    grant: GrantRef,
}

/// An ending in flight, counted until dropped.
pub struct Ending<'a>(&'a Ahead);

impl Drop for Ending<'_> {
    fn drop(&mut self) {
        self.0.endings.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Where an escalation's ending stands here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// Nothing handed over: end it as usual.
    First,
    /// Its deletions are queued or done, and it has not been called back.
    Waiting,
    /// Called back: end it, with what was deleted ahead.
    Second,
}

impl Ahead {
    /// Starts the queue's worker; `call` reconciles an escalation again.
    pub fn start(
        grants: Grants,
        call: mpsc::UnboundedSender<ObjectRef<Escalation>>,
        counted: prometheus_client::metrics::counter::Counter,
    ) -> Arc<Self> {
        let (jobs, rx) = mpsc::unbounded_channel::<Job>();
        let ahead = Arc::new(Self { endings: AtomicUsize::new(0), state: Mutex::default(), jobs, call });
        let worker = Arc::downgrade(&ahead);
        let pending = futures::stream::unfold(rx, |mut rx| async { rx.recv().await.map(|job| (job, rx)) });
        tokio::spawn(pending.for_each_concurrent(CONCURRENCY, move |job| {
            let (worker, grants, counted) = (worker.clone(), grants.clone(), counted.clone());
            async move {
                let deleted = match tokio::time::timeout(JOB_TIMEOUT, grants.reclaim(&job.escalation, &job.grant)).await {
                    Ok(Ok(())) => {
                        counted.inc();
                        Some(Timestamp::now())
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, binding = %job.grant.reference.name, "deletion ahead failed; the ending retries it");
                        None
                    }
                    Err(_) => {
                        tracing::debug!(binding = %job.grant.reference.name, "deletion ahead timed out; the ending retries it");
                        None
                    }
                };
                if let Some(ahead) = worker.upgrade() {
                    ahead.done(&job, deleted);
                }
            }
        }));
        ahead
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts an ending in flight; whether others are, or deletions are
    /// queued (then its own deletions are best handed over).
    pub fn enter(&self) -> (Ending<'_>, bool) {
        let before = self.endings.fetch_add(1, Ordering::Relaxed);
        let crowded = before > 0 || self.lock().backlog > 0;
        (Ending(self), crowded)
    }

    pub fn pass(&self, uid: &str) -> Pass {
        match self.lock().escalations.get(uid) {
            None => Pass::First,
            // Called back; or its deletions long done, or long handed over
            // (a lost call, a deletion that hangs): it ends now regardless.
            Some(h)
                if h.called || h.done.is_some_and(|at| at.elapsed() >= MAX_HOLD) || h.handed.elapsed() >= BACKSTOP =>
            {
                Pass::Second
            }
            Some(_) => Pass::Waiting,
        }
    }

    /// Queues the deletion of `grants` of `escalation`; false if the queue
    /// is gone (its worker ended), when the ending is carried out as usual.
    pub fn hand_over(&self, escalation: &Escalation, uid: &str, grants: Vec<GrantRef>) -> bool {
        let escalation = Arc::new(escalation.clone());
        let name = escalation.metadata.name.clone().unwrap_or_default();
        let mut state = self.lock();
        let handed =
            Handed { name, handed: Instant::now(), left: grants.len(), deleted: Vec::new(), done: None, called: false };
        state.escalations.insert(uid.to_string(), handed);
        for grant in grants {
            if self.jobs.send(Job { escalation: escalation.clone(), uid: uid.to_string(), grant }).is_err() {
                state.escalations.remove(uid);
                return false;
            }
            state.backlog += 1;
        }
        true
    }

    fn done(self: &Arc<Self>, job: &Job, deleted: Option<Timestamp>) {
        let mut state = self.lock();
        let state = &mut *state;
        state.backlog = state.backlog.saturating_sub(1);
        if let Some(h) = state.escalations.get_mut(&job.uid) {
            h.left = h.left.saturating_sub(1);
            if let Some(at) = deleted {
                h.deleted.push((job.grant.reference.name.clone(), at));
            }
            if h.left == 0 {
                h.done = Some(Instant::now());
                state.ready.push_back(job.uid.clone());
            }
        }
        self.release(state);
    }

    /// Calls back the escalations whose deletions are done, once every
    /// deletion queued is, or [`MAX_HOLD`] after their own; a timer calls
    /// back those still held when no further deletion ends.
    fn release(self: &Arc<Self>, state: &mut State) {
        let drained = state.backlog == 0;
        while let Some(uid) = state.ready.front() {
            let Some(h) = state.escalations.get_mut(uid) else {
                state.ready.pop_front();
                continue;
            };
            if !drained && let Some(left) = h.done.and_then(|at| MAX_HOLD.checked_sub(at.elapsed())) {
                if !state.timer {
                    state.timer = true;
                    let ahead = Arc::downgrade(self);
                    tokio::spawn(async move {
                        tokio::time::sleep(left).await;
                        if let Some(ahead) = ahead.upgrade() {
                            let mut state = ahead.lock();
                            state.timer = false;
                            ahead.release(&mut state);
                        }
                    });
                }
                break;
            }
            h.called = true;
            let _ = self.call.send(ObjectRef::new(&h.name));
            state.ready.pop_front();
        }
    }

    /// When `grant` of escalation `uid` was deleted ahead, if it was.
    pub fn deleted_at(&self, uid: &str, grant: &GrantRef) -> Option<Timestamp> {
        let state = self.lock();
        state.escalations.get(uid)?.deleted.iter().find(|(name, _)| *name == grant.reference.name).map(|(_, at)| *at)
    }

    /// Escalation `uid`'s status records its ending now (or it is gone).
    pub fn forget(&self, uid: &str) {
        self.lock().escalations.remove(uid);
    }
}
