//! Prometheus metrics served on `/metrics`.

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use std::collections::HashMap;

use jiff::Timestamp;
use kube::runtime::reflector::Store;

use crate::{
    api::{Escalation, EscalationState, GrantStatus},
    audit::SinkCounters,
};

pub struct Metrics {
    registry: Registry,
    pub reconciles: Counter,
    pub reconcile_errors: Counter,
    pub escalations: Family<Vec<(String, String)>, Gauge>,
    pub grants_active: Gauge,
    /// Seconds from `expiresAt` to the binding's deletion.
    pub revocation_lag: Histogram,
    pub orphans_reclaimed: Counter,
    /// Reconciles whose cached escalation predated the controller's own last write.
    pub stale_views: Counter,
    /// Status writes refused because the escalation had changed since it was read.
    pub status_conflicts: Counter,
    /// Bindings deleted ahead of their escalation's status write (many ending at once).
    pub deleted_ahead: Counter,
    /// 1 while no replica has renewed the leader Lease for over two lease durations.
    pub leader_missing: Gauge,
    /// Audit Events dropped because their queue was full (the records are on stdout).
    pub events_dropped: Counter,
    pub sink: SinkCounters,
    /// Notifications per target (`secret/key`): delivered, failed after every attempt, dropped.
    pub notify: crate::notify::NotifyCounters,
    /// Connections the health/metrics server holds now.
    pub http_connections: Gauge,
    /// Connections closed to make room for a newer one.
    pub http_connections_evicted: Counter,
    /// Connections closed because their request head or answer took too long.
    pub http_timeouts: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("kudo");
        let reconciles = Counter::default();
        let reconcile_errors = Counter::default();
        let escalations = Family::<Vec<(String, String)>, Gauge>::default();
        let grants_active = Gauge::default();
        // 10 ms .. ~80 s.
        let revocation_lag = Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.01, 2.0, 14));
        let orphans_reclaimed = Counter::default();
        let stale_views = Counter::default();
        let status_conflicts = Counter::default();
        let deleted_ahead = Counter::default();
        let leader_missing = Gauge::default();
        let events_dropped = Counter::default();
        let sink = SinkCounters::default();
        let notify = crate::notify::NotifyCounters::default();
        let http_connections = Gauge::default();
        let http_connections_evicted = Counter::default();
        let http_timeouts = Counter::default();
        registry.register("reconciles", "Escalation reconciles run", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Escalation reconciles that failed (retried with backoff)",
            reconcile_errors.clone(),
        );
        registry.register("escalations", "Escalations by state", escalations.clone());
        registry.register("grants_active", "Bindings kudo holds for accepted escalations", grants_active.clone());
        registry.register(
            "revocation_lag_seconds",
            "Time from an escalation's expiresAt to the deletion of its binding",
            revocation_lag.clone(),
        );
        registry.register("orphans_reclaimed", "Kudo bindings deleted by the sweep", orphans_reclaimed.clone());
        registry.register(
            "stale_views",
            "Reconciles whose cached view was too old to decide on (the controller's own last write not yet delivered, or a policy older than one already seen): decided again from a current one",
            stale_views.clone(),
        );
        registry.register(
            "status_conflicts",
            "Status writes refused (409) because the escalation changed since it was read",
            status_conflicts.clone(),
        );
        registry.register(
            "bindings_deleted_ahead",
            "Bindings deleted ahead of their escalation's status write, while many escalations ended at once",
            deleted_ahead.clone(),
        );
        registry.register(
            "audit_events_dropped",
            "Audit Events dropped because their queue was full (each record is also on stdout)",
            events_dropped.clone(),
        );
        registry.register(
            "leader_missing",
            "1 while the leader Lease has gone unrenewed for over two lease durations and this replica cannot take it",
            leader_missing.clone(),
        );
        registry.register("audit_sink_delivered", "Audit records delivered to the HTTP sink", sink.delivered.clone());
        registry.register(
            "audit_sink_failed",
            "Audit records the HTTP sink did not take after all retries",
            sink.failed.clone(),
        );
        registry.register(
            "audit_sink_dropped",
            "Audit records refused because the sink queue was full",
            sink.dropped.clone(),
        );
        registry.register(
            "notify_delivered",
            "Notifications delivered, by target (Secret/key)",
            notify.delivered.clone(),
        );
        registry.register(
            "notify_failed",
            "Notifications a target did not take after every attempt, by target (Secret/key)",
            notify.failed.clone(),
        );
        registry.register(
            "notify_dropped",
            "Notifications dropped because the target's queue was full (sent again at the escalation's next reconcile), by target",
            notify.dropped.clone(),
        );
        registry.register("http_connections", "Connections the health/metrics server holds", http_connections.clone());
        registry.register(
            "http_connections_evicted",
            "Health/metrics connections closed, before they sent a request, to make room for a newer one",
            http_connections_evicted.clone(),
        );
        registry.register(
            "http_timeouts",
            "Health/metrics connections closed because the request head or its answer took too long",
            http_timeouts.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_errors,
            escalations,
            grants_active,
            revocation_lag,
            orphans_reclaimed,
            stale_views,
            deleted_ahead,
            status_conflicts,
            leader_missing,
            events_dropped,
            sink,
            notify,
            http_connections,
            http_connections_evicted,
            http_timeouts,
        }
    }
}

impl Metrics {
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Escalations by state and the bindings held, from the cache.
pub(super) fn update_gauges(metrics: &Metrics, escalations: &Store<Escalation>) {
    let mut by_state: HashMap<&'static str, i64> = HashMap::new();
    let mut active = 0;
    let now = Timestamp::now();
    for esc in escalations.state() {
        let state = esc.state().map_or("NEW", EscalationState::as_str);
        *by_state.entry(state).or_default() += 1;
        if let Some(s) = esc
            .status
            .as_ref()
            .filter(|s| s.state == EscalationState::Accepted && s.expires_at.as_ref().is_some_and(|t| t.0 > now))
        {
            active += s.grant_refs.iter().filter(|r| r.status == GrantStatus::Created).count() as i64;
        }
    }
    for state in ["NEW", "PENDING", "ACCEPTED", "DENIED", "EXPIRED"] {
        metrics
            .escalations
            .get_or_create(&vec![("state".into(), state.into())])
            .set(by_state.get(state).copied().unwrap_or(0));
    }
    metrics.grants_active.set(active);
}
