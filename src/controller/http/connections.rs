//! The connections the health and metrics server holds: at most a limit,
//! and room is made by closing the oldest one that is not being answered.
//!
//! A plain cap (stop accepting when full) would let anyone who can reach
//! the port hold every slot with connections that never send a request, so
//! that kubelet's probes wait in the backlog and the pod is restarted. A
//! connection that has not sent its request yet holds nothing worth
//! keeping, so the newest arrival takes the oldest idle one's place: a
//! probe, which sends its request at once, is answered within moments
//! however many slow clients there are.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::sync::Notify;

use crate::controller::Metrics;

pub(super) struct Connections {
    limit: usize,
    /// By arrival, oldest first.
    open: Mutex<BTreeMap<u64, Arc<Slot>>>,
    next: std::sync::atomic::AtomicU64,
    metrics: Arc<Metrics>,
}

/// One connection's entry: whether a request on it is being answered, and
/// how it is told to close.
pub(super) struct Slot {
    answering: AtomicBool,
    close: Notify,
}

/// A connection the server holds; dropping it frees its place.
pub(super) struct Admitted {
    id: u64,
    pub(super) slot: Arc<Slot>,
    connections: Arc<Connections>,
}

impl Connections {
    pub(super) fn new(limit: usize, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self { limit: limit.max(1), open: Mutex::default(), next: 0.into(), metrics })
    }

    /// A place for a connection just accepted: a free one, or the oldest
    /// idle connection's (which is told to close). `None` when every held
    /// connection is being answered (answers take microseconds).
    pub(super) fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.len() >= self.limit {
            let oldest_idle = open.iter().find(|(_, s)| !s.answering.load(Ordering::Acquire)).map(|(id, _)| *id)?;
            if let Some(evicted) = open.remove(&oldest_idle) {
                // notify_one keeps the wake-up if the connection is not waiting yet.
                evicted.close.notify_one();
                self.metrics.http_connections_evicted.inc();
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot { answering: AtomicBool::new(false), close: Notify::new() });
        open.insert(id, slot.clone());
        self.metrics.http_connections.set(open.len() as i64);
        Some(Admitted { id, slot, connections: self.clone() })
    }

    /// Tells every connection to close (shutdown).
    pub(super) fn close_all(&self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        for slot in open.values() {
            slot.close.notify_one();
        }
        open.clear();
        self.metrics.http_connections.set(0);
    }
}

impl Slot {
    /// Marks a request as being answered until the guard drops.
    pub(super) fn answering(self: &Arc<Self>) -> Answering {
        self.answering.store(true, Ordering::Release);
        Answering(self.clone())
    }

    /// Completes when the connection must close to make room.
    pub(super) async fn closed(&self) {
        self.close.notified().await;
    }
}

pub(super) struct Answering(Arc<Slot>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.answering.store(false, Ordering::Release);
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.connections.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.remove(&self.id);
        self.connections.metrics.http_connections.set(open.len() as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_idle_connection_makes_room() {
        let connections = Connections::new(2, Arc::default());
        let first = connections.admit().unwrap();
        let second = connections.admit().unwrap();
        let _busy = first.slot.answering();
        // Full: the second (idle) goes, not the first (being answered).
        let third = connections.admit().unwrap();
        assert_eq!(connections.open.lock().unwrap().keys().copied().collect::<Vec<_>>(), [first.id, third.id]);
        assert_eq!(connections.metrics.http_connections.get(), 2);
        assert_eq!(connections.metrics.http_connections_evicted.get(), 1);
        // The evicted one learns it, even though it was not waiting yet.
        let told = futures::FutureExt::now_or_never(second.slot.closed());
        assert!(told.is_some());
        drop(second);
        assert_eq!(connections.open.lock().unwrap().len(), 2, "its late drop frees nothing twice");
        // Every one being answered: the newcomer is refused.
        let busy3 = third.slot.answering();
        assert!(connections.admit().is_none());
        drop(busy3);
        assert!(connections.admit().is_some());
    }
}
