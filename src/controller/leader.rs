//! Leader election on a coordination.k8s.io Lease, as client-go does it:
//! the holder renews `renewTime`; anyone may take the lease once it has not
//! changed for `leaseDurationSeconds`, measured on the observer's own
//! monotonic clock (never by comparing the holder's timestamps with the
//! local wall clock, which skew between nodes would turn into two leaders).
//! Every write carries the resourceVersion read, so two candidates never
//! both win. (No maintained crate supports kube 5.)

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use jiff::Timestamp;
use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
};
use kube::{Api, Client, api::PostParams};

use super::{Metrics, RunError};
use crate::audit::EventWriter;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
    /// The lease record last seen (holder, renewTime) and when, locally, it was first seen.
    observed: Mutex<Option<(Observed, Instant)>>,
    /// When this candidate started: a lease never seen has gone unrenewed since.
    started: Instant,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Observed {
    holder: Option<String>,
    renew_time: Option<Timestamp>,
    duration_seconds: Option<i32>,
}

/// Whether a lease record seen unchanged since `since` (local monotonic
/// time) has run out at `now`, `configured` being this controller's own
/// lease duration. A longer duration in the record is never honoured: a
/// holder that wrote `leaseDurationSeconds: 2147483647` would otherwise
/// keep every replica out for good. Pure, so it is tested without a clock.
fn expired(record: &Observed, since: Instant, now: Instant, configured: Duration) -> bool {
    if record.holder.as_deref().is_none_or(str::is_empty) {
        return true;
    }
    let held_for = record
        .duration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map_or(configured, |s| Duration::from_secs(s).min(configured));
    now.saturating_duration_since(since) >= held_for
}

/// Whether a Lease left unrenewed for `unchanged` means there is no leader
/// worth waiting for: longer than two lease durations, a standby should have
/// taken over (it could not: RBAC, admission, the API server), so it says so.
pub fn leaderless(unchanged: Duration, configured: Duration) -> bool {
    unchanged > configured.saturating_mul(2)
}

impl LeaderElector {
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str, duration: Duration) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.into(),
            identity: identity.into(),
            duration,
            observed: Mutex::new(None),
            started: Instant::now(),
        }
    }

    /// Records the lease as seen now; returns when this record was first seen.
    fn observe(&self, record: Observed) -> Instant {
        let mut seen = self.observed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*seen {
            Some((last, since)) if *last == record => *since,
            _ => {
                let now = Instant::now();
                *seen = Some((record, now));
                now
            }
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    pub fn lease_duration(&self) -> Duration {
        self.duration
    }

    pub fn lease_name(&self) -> &str {
        &self.name
    }

    pub fn namespace(&self) -> Option<&str> {
        self.api.namespace()
    }

    /// How long the lease record has been seen unchanged; a lease that
    /// could not be read at all has been unrenewed, as far as this candidate
    /// knows, since it started.
    pub fn unchanged_for(&self) -> Duration {
        let seen = self.observed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.as_ref().map_or(self.started, |(_, since)| *since).elapsed()
    }

    /// How often the holder renews, and candidates retry.
    pub fn retry_period(&self) -> Duration {
        self.duration / 3
    }

    /// Takes or renews the lease; `false` when someone else holds it.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = MicroTime(Timestamp::now());
        let seconds = i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX);
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    annotations: Some(version_annotation()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        let mine = spec.holder_identity.as_deref() == Some(self.identity.as_str());
        let record = Observed {
            holder: spec.holder_identity.clone(),
            renew_time: spec.renew_time.as_ref().map(|t| t.0),
            duration_seconds: spec.lease_duration_seconds,
        };
        let since = self.observe(record.clone());
        if !mine && !expired(&record, since, Instant::now(), self.duration) {
            return Ok(false);
        }
        if !mine {
            spec.holder_identity = Some(self.identity.clone());
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.renew_time = Some(now);
        spec.lease_duration_seconds = Some(seconds);
        // The holder says which kudo it is (`kubectl kudo version`, `doctor`).
        lease.metadata.annotations.get_or_insert_default().extend(version_annotation());
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease up, so a standby takes over at once rather than after it expires.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await else { return };
        let Some(spec) = lease.spec.as_mut() else { return };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.renew_time = None;
        if let Err(e) = self.api.replace(&self.name, &PostParams::default(), &lease).await {
            tracing::warn!(error = %e, "could not release the leader lease");
        }
    }
}

/// The annotation the holder writes with its own version.
fn version_annotation() -> std::collections::BTreeMap<String, String> {
    [(crate::api::CONTROLLER_VERSION_ANNOTATION.to_string(), env!("CARGO_PKG_VERSION").to_string())].into()
}

/// Tries for the Lease until this replica holds it. While the Lease goes
/// unrenewed for longer than two lease durations and this replica still
/// cannot take it, there is no leader at all: readiness fails, the
/// `leader_missing` gauge is 1, and a Warning Event on the Lease says so.
pub(super) async fn wait_for_leadership(
    elector: &LeaderElector,
    ready: &AtomicBool,
    metrics: &Metrics,
    events: Option<&EventWriter>,
) {
    let mut warned = false;
    loop {
        match elector.try_acquire_or_renew().await {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, lease = %elector.lease_name(), "leader election"),
        }
        let missing = leaderless(elector.unchanged_for(), elector.lease_duration());
        ready.store(!missing, Ordering::Relaxed);
        metrics.leader_missing.set(i64::from(missing));
        if missing && !warned {
            warned = true;
            tracing::error!(lease = %elector.lease_name(), "no leader for longer than two lease durations, and this replica cannot take over");
            if let Some(events) = events {
                let note = crate::audit::events::Note {
                    warning: true,
                    reason: "NoLeader",
                    action: "LeaderElection",
                    note: format!(
                        "lease {} has not been renewed for over two lease durations and {} cannot take it: check the controller's RBAC and the kudo-leader-lease admission policy",
                        elector.lease_name(),
                        elector.identity()
                    ),
                };
                let lease = k8s_openapi::api::core::v1::ObjectReference {
                    api_version: Some("coordination.k8s.io/v1".into()),
                    kind: Some("Lease".into()),
                    name: Some(elector.lease_name().into()),
                    namespace: elector.namespace().map(Into::into),
                    ..Default::default()
                };
                if let Err(e) = events.publish(note, lease).await {
                    tracing::warn!(error = %e, "could not publish the NoLeader event");
                }
            }
        } else if !missing {
            warned = false;
        }
        tokio::time::sleep(elector.retry_period()).await;
    }
    ready.store(true, Ordering::Relaxed);
    metrics.leader_missing.set(0);
}

/// Renews the lease until it cannot; returns the error that ends leadership.
pub(super) async fn keep_lease(elector: Option<&LeaderElector>) -> RunError {
    let Some(elector) = elector else { return futures::future::pending().await };
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(elector.retry_period()).await;
        match elector.try_acquire_or_renew().await {
            Ok(true) => last_renewed = tokio::time::Instant::now(),
            Ok(false) => return RunError::LostLease(elector.identity().to_string()),
            Err(e) => {
                tracing::warn!(error = %e, "renewing the leader lease failed");
                // Stop acting before a standby may lawfully take over.
                if last_renewed.elapsed() >= elector.retry_period() * 2 {
                    return RunError::LostLease(elector.identity().to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_measured_on_the_local_clock_from_when_the_record_last_changed() {
        let t0 = Instant::now();
        let d = Duration::from_secs(15);
        // A renewTime far in the past (a holder whose clock is behind) is no
        // reason to take over: only the time this replica saw it unchanged counts.
        let record = Observed {
            holder: Some("other".into()),
            renew_time: Some(Timestamp::UNIX_EPOCH),
            duration_seconds: Some(15),
        };
        assert!(!expired(&record, t0, t0, d));
        assert!(!expired(&record, t0, t0 + Duration::from_secs(14), d));
        assert!(expired(&record, t0, t0 + Duration::from_secs(15), d));
        // A renewTime in the future (a holder whose clock is ahead) does not keep it forever.
        let ahead = Observed { renew_time: Some(Timestamp::MAX), ..record.clone() };
        assert!(expired(&ahead, t0, t0 + Duration::from_secs(16), d));
        let released = Observed { holder: None, ..record.clone() };
        assert!(expired(&released, t0, t0, d));
    }

    #[test]
    fn a_lease_longer_than_ours_is_held_for_ours_only() {
        let t0 = Instant::now();
        let d = Duration::from_secs(3);
        let mallory = Observed {
            holder: Some("mallory".into()),
            renew_time: Some(Timestamp::UNIX_EPOCH),
            duration_seconds: Some(i32::MAX),
        };
        assert!(!expired(&mallory, t0, t0 + Duration::from_secs(2), d));
        assert!(expired(&mallory, t0, t0 + Duration::from_secs(3), d));
        let short = Observed { duration_seconds: Some(1), ..mallory.clone() };
        assert!(expired(&short, t0, t0 + Duration::from_secs(1), d), "a shorter one is honoured");
        let negative = Observed { duration_seconds: Some(-5), ..mallory };
        assert!(expired(&negative, t0, t0 + Duration::from_secs(3), d));
        assert!(!leaderless(Duration::from_secs(6), d) && leaderless(Duration::from_millis(6001), d));
    }
}
