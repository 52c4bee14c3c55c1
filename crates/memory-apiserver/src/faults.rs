//! Faults as real control planes have them, injected on purpose: priority
//! and fairness throttling (429 with Retry-After), etcd timeouts (500, 504 —
//! some after the write committed), an unavailable server (503), optimistic
//! concurrency conflicts (409), slow answers, watches closed early or
//! answered 410 Gone, and short full outages. Draws come from a seeded RNG,
//! so a failing run can be replayed with the seed it printed.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::Serialize;

/// What to inject, and for whom.
#[derive(Clone, Debug)]
pub struct FaultConfig {
    pub seed: u64,
    /// Share of requests that meet a fault (0.0 to 1.0).
    pub rate: f64,
    /// Users whose requests meet faults; empty: everyone but `admin` (the
    /// test's own hand, which must see the truth).
    pub users: Vec<String>,
}

/// How many of each fault were injected.
#[derive(Debug, Default, Serialize, Clone, Copy, PartialEq, Eq)]
pub struct FaultCounts {
    pub requests: u64,
    pub throttled: u64,
    pub internal_error: u64,
    pub unavailable: u64,
    pub timeout: u64,
    pub timeout_after_commit: u64,
    pub conflict: u64,
    pub slow: u64,
    pub watch_closed: u64,
    pub watch_gone: u64,
    pub outage: u64,
}

impl FaultCounts {
    /// Requests that failed (slow ones and closed watches did not).
    pub fn failed(&self) -> u64 {
        self.throttled
            + self.internal_error
            + self.unavailable
            + self.timeout
            + self.timeout_after_commit
            + self.conflict
            + self.watch_gone
            + self.outage
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    Internal,
    Unavailable,
    Timeout,
    /// The request runs; its answer is replaced by a 504.
    TimeoutAfterCommit,
    Conflict,
    Slow(Duration),
    /// The watch ends after this long.
    WatchClose(Duration),
    WatchGone,
    Outage,
}

#[derive(Default)]
pub struct Faults {
    config: Mutex<Option<(FaultConfig, StdRng)>>,
    outage_until: Mutex<Option<Instant>>,
    /// Watch events of this resource (plural) reach watchers this late.
    watch_lag: Mutex<Option<(String, Duration)>>,
    counts: [AtomicU64; 11],
}

impl Faults {
    pub fn configure(&self, config: Option<FaultConfig>) {
        let state = config.map(|c| {
            let rng = StdRng::seed_from_u64(c.seed);
            (c, rng)
        });
        *self.config.lock().unwrap_or_else(|p| p.into_inner()) = state;
    }

    pub fn outage(&self, length: Duration) {
        *self.outage_until.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + length);
    }

    pub fn lag_watches(&self, lag: Option<(String, Duration)>) {
        *self.watch_lag.lock().unwrap_or_else(|p| p.into_inner()) = lag;
    }

    /// How late a watch event of `resource` is delivered.
    pub fn watch_lag(&self, resource: &str) -> Option<Duration> {
        let lag = self.watch_lag.lock().unwrap_or_else(|p| p.into_inner());
        lag.as_ref().filter(|(r, _)| r == resource).map(|(_, d)| *d)
    }

    pub fn counts(&self) -> FaultCounts {
        let c = |i: usize| self.counts[i].load(Ordering::Relaxed);
        FaultCounts {
            requests: c(0),
            throttled: c(1),
            internal_error: c(2),
            unavailable: c(3),
            timeout: c(4),
            timeout_after_commit: c(5),
            conflict: c(6),
            slow: c(7),
            watch_closed: c(8),
            watch_gone: c(9),
            outage: c(10),
        }
    }

    fn count(&self, fault: Option<Fault>) -> Option<Fault> {
        let i = match fault? {
            Fault::Throttle => 1,
            Fault::Internal => 2,
            Fault::Unavailable => 3,
            Fault::Timeout => 4,
            Fault::TimeoutAfterCommit => 5,
            Fault::Conflict => 6,
            Fault::Slow(_) => 7,
            Fault::WatchClose(_) => 8,
            Fault::WatchGone => 9,
            Fault::Outage => 10,
        };
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        fault
    }

    /// The fault this request meets, if any. `write`: it changes state;
    /// `update`: it is a PUT or PATCH (may conflict); `watch`: a watch.
    pub fn draw(&self, user: &str, write: bool, update: bool, watch: bool) -> Option<Fault> {
        let mut guard = self.config.lock().unwrap_or_else(|p| p.into_inner());
        let (config, rng) = guard.as_mut()?;
        let targeted =
            if config.users.is_empty() { user != crate::ADMIN } else { config.users.iter().any(|u| u == user) };
        if !targeted {
            return None;
        }
        self.counts[0].fetch_add(1, Ordering::Relaxed);
        let in_outage = self.outage_until.lock().unwrap_or_else(|p| p.into_inner()).is_some_and(|t| Instant::now() < t);
        if in_outage {
            return self.count(Some(Fault::Outage));
        }
        if !rng.random_bool(config.rate.clamp(0.0, 1.0)) {
            return None;
        }
        let fault = if watch {
            match rng.random_range(0..4) {
                0 => Fault::WatchGone,
                1 => Fault::WatchClose(Duration::from_millis(rng.random_range(200..3000))),
                2 => Fault::Throttle,
                _ => Fault::Unavailable,
            }
        } else {
            match rng.random_range(0..10) {
                0 | 1 => Fault::Throttle,
                2 => Fault::Internal,
                3 => Fault::Unavailable,
                4 => Fault::Timeout,
                5 | 6 if write => Fault::TimeoutAfterCommit,
                7 if update => Fault::Conflict,
                _ => Fault::Slow(Duration::from_millis(rng.random_range(50..800))),
            }
        };
        self.count(Some(fault))
    }
}
