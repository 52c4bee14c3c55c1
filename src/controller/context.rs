//! What every reconcile shares: the client, the caches, the guards, the
//! audit and the metrics.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::FutureExt;
use k8s_openapi::api::admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding};
use kube::{Api, Client, runtime::reflector::Store};

use super::Metrics;
use crate::{
    api::{Escalation, EscalationPolicy, EscalationReview},
    audit::Auditor,
    engine,
    grants::Grants,
    manifests::admission::GUARDS,
};

pub struct Context {
    pub(super) client: Client,
    pub(super) escalations: Api<Escalation>,
    pub(super) escalation_store: Store<Escalation>,
    pub(super) policies: Store<EscalationPolicy>,
    /// Fed by the same watch that triggers reconciles, so a reconcile a
    /// review (or its deletion) triggers always finds the store up to date.
    pub(super) reviews: Store<EscalationReview>,
    pub(super) guard_policies: Store<ValidatingAdmissionPolicy>,
    pub(super) guard_bindings: Store<ValidatingAdmissionPolicyBinding>,
    pub(super) grants: Grants,
    pub(super) auditor: Auditor,
    pub(super) metrics: Arc<Metrics>,
    pub(super) kudo_namespace: String,
    /// Consecutive failures per escalation, for the retry backoff.
    pub(super) failures: Mutex<HashMap<String, u32>>,
    /// The resourceVersion of this controller's last write to each
    /// escalation (by uid): the high-water mark no decision may start below.
    pub(super) written: Mutex<HashMap<String, String>>,
    pub(super) retain_finished: jiff::SignedDuration,
    pub(super) orphan_review_grace: jiff::SignedDuration,
}

impl Context {
    /// What is wrong with the identity guards (DESIGN §3); empty when all hold.
    pub(super) fn guard_problems(&self) -> Vec<String> {
        let policies = self.guard_policies.state();
        let bindings = self.guard_bindings.state();
        engine::guards::problems(
            &GUARDS,
            &policies.iter().map(|p| &**p).collect::<Vec<_>>(),
            &bindings.iter().map(|b| &**b).collect::<Vec<_>>(),
        )
    }

    /// Every review of escalation `name` the store holds.
    pub(super) fn reviews_of(&self, name: &str) -> Vec<EscalationReview> {
        self.reviews.state().iter().filter(|r| r.spec.escalation_name == name).map(|r| (**r).clone()).collect()
    }

    /// Whether the review store has had its first full list (decisions wait for it).
    pub(super) fn reviews_ready(&self) -> bool {
        self.reviews.wait_until_ready().now_or_never().is_some_and(|r| r.is_ok())
    }

    pub(super) fn backoff(&self, name: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = failures.entry(name.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        // 250 ms, doubling, at most 10 s: a failing reclaim is retried
        // soon enough that revocation lag stays bounded by seconds.
        Duration::from_millis(250u64.saturating_mul(1 << (*n - 1).min(8))).min(Duration::from_secs(10))
    }

    /// Remembers what this controller just wrote.
    pub(super) fn wrote(&self, esc: &Escalation) {
        if let (Some(uid), Some(rv)) = (esc.metadata.uid.clone(), esc.metadata.resource_version.clone()) {
            self.written.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(uid, rv);
        }
    }

    /// Whether a (cached) view is older than this controller's own last
    /// write to it: deciding on it would decide a second time.
    pub(super) fn predates_own_write(&self, esc: &Escalation) -> bool {
        let Some(uid) = esc.metadata.uid.as_ref() else { return false };
        let written = self.written.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        engine::freshness::predates_own_write(
            esc.metadata.resource_version.as_deref(),
            written.get(uid).map(String::as_str),
        )
    }

    /// The escalation is gone: nothing more will be written to it.
    pub(super) fn forget(&self, esc: &Escalation) {
        if let Some(uid) = esc.metadata.uid.as_ref() {
            self.written.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(uid);
        }
    }

    pub(super) fn succeeded(&self, name: &str) {
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(name);
    }
}
