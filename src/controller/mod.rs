//! `kubectl kudo controller`: the reconcile loop of DESIGN §2–§6.
//!
//! Layout: `reconcile` (one escalation: read, decide, apply), `sweep` (the
//! periodic safety nets), `context` (what reconciles share), `leader` (Lease
//! election), `metrics`, `http` (health and metrics endpoints), and here the
//! wiring: options, watches, stores and shutdown.

mod ahead;
mod context;
mod fairness;
mod http;
mod index;
mod leader;
mod metrics;
mod notify;
mod preview;
mod reconcile;
mod retention;
mod reviews;
mod stores;
mod sweep;

use std::{
    future::Future,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::{FutureExt, StreamExt};
use jiff::Timestamp;
use k8s_openapi::api::{
    admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding},
    rbac::v1::{ClusterRoleBinding, RoleBinding},
};
use kube::{
    Api, Client, ResourceExt,
    runtime::{
        Controller, WatchStreamExt,
        controller::{self, Action},
        reflector::{self, ObjectRef, Store},
        watcher,
    },
};

pub use context::{Context, expected_guards};
pub use http::HttpLimits;
pub use metrics::Metrics;
pub use reconcile::ReconcileError;

use crate::{
    api::{Escalation, EscalationPolicy, EscalationReview, EscalationState},
    audit::{Auditor, EventQueue, EventWriter, Sink, SinkConfig},
    engine,
    grants::Grants,
};

/// How the controller runs; `kubectl kudo controller --help` documents each.
#[derive(Clone, Debug)]
pub struct Options {
    /// Namespace kudo is installed in (its Lease, and the lint's "kudo's own namespace").
    pub namespace: String,
    /// The controller's ServiceAccount (in `namespace`): the identity the
    /// guards it checks name.
    pub service_account: String,
    /// Elect a leader on a Lease before acting (needed with more than one replica).
    pub leader_election: bool,
    pub lease_name: String,
    /// This replica's name in the Lease (the pod name in cluster).
    pub identity: String,
    pub lease_duration: Duration,
    /// How often the orphan sweep and the policy report run.
    pub sweep_interval: Duration,
    /// `/healthz`, `/readyz`, `/metrics`.
    pub listen: Option<SocketAddr>,
    /// What one client of `listen` may cost.
    pub http: HttpLimits,
    /// Audit lines on stdout.
    pub audit_stdout: bool,
    pub audit_webhook: Option<SinkConfig>,
    /// Kubernetes Events on escalations.
    pub events: bool,
    /// Reconciles run at once.
    pub concurrency: u16,
    /// DENIED and EXPIRED escalations are deleted this long after they ended.
    pub retain_finished: jiff::SignedDuration,
    /// At most this many DENIED and EXPIRED escalations are kept per
    /// requestor; the oldest beyond go first (never one owed an after-review).
    pub retain_per_requestor: usize,
    /// Reviews naming no existing escalation are deleted this long after their creation.
    pub orphan_review_grace: jiff::SignedDuration,
    /// How policies' notifications are delivered (queue, attempts, backoff, timeout per attempt).
    pub notify: crate::notify::DeliveryConfig,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            namespace: crate::api::DEFAULT_NAMESPACE.into(),
            service_account: crate::api::DEFAULT_SERVICE_ACCOUNT.into(),
            leader_election: true,
            lease_name: crate::api::LEASE_NAME.into(),
            identity: "kudo-controller".into(),
            lease_duration: Duration::from_secs(15),
            sweep_interval: Duration::from_secs(60),
            listen: None,
            http: HttpLimits::default(),
            audit_stdout: true,
            audit_webhook: None,
            events: true,
            concurrency: 32,
            retain_finished: jiff::SignedDuration::from_hours(720),
            retain_per_requestor: engine::retention::DEFAULT_PER_REQUESTOR,
            orphan_review_grace: engine::review::ORPHAN_REVIEW_GRACE,
            notify: crate::notify::DeliveryConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("starting the audit webhook sink: {0}")]
    Sink(#[from] reqwest::Error),
    #[error("starting the notification queues: {0}")]
    Notify(reqwest::Error),
    #[error("serving {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("lost the leader lease {0}; exiting so that a fresh start re-elects")]
    LostLease(String),
}

/// Runs until `shutdown` completes (then finishes in-flight reconciles and
/// releases the Lease) or leadership is lost.
pub async fn run(
    client: Client,
    opts: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    run_with_metrics(client, opts, Arc::new(Metrics::default()), shutdown).await
}

/// As [`run`], counting into `metrics` (which tests read).
pub async fn run_with_metrics(
    client: Client,
    opts: Options,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let shutdown = shutdown.shared();
    let ready = Arc::new(AtomicBool::new(false));
    if let Some(addr) = opts.listen {
        http::serve(addr, opts.http.clone(), metrics.clone(), ready.clone(), shutdown.clone()).await?;
    }

    // A standby is ready: it is healthy and takes over when the leader goes.
    ready.store(true, Ordering::Relaxed);
    let elector = opts.leader_election.then(|| {
        leader::LeaderElector::new(
            client.clone(),
            &opts.namespace,
            &opts.lease_name,
            &opts.identity,
            opts.lease_duration,
        )
    });
    let events = opts.events.then(|| EventWriter::new(client.clone(), "kudo-controller", &opts.identity));
    if let Some(elector) = &elector {
        tracing::info!(identity = elector.identity(), lease = %opts.lease_name, "waiting for leadership");
        tokio::select! {
            () = leader::wait_for_leadership(elector, &ready, &metrics, events.as_ref()) => {
                tracing::info!(identity = elector.identity(), "leading")
            }
            () = shutdown.clone() => return Ok(()),
        }
    }

    let (guard_policies, _watching_guards) =
        stores::spawn_store(Api::<ValidatingAdmissionPolicy>::all(client.clone()), watcher::Config::default());
    let (guard_bindings, _watching_bindings) =
        stores::spawn_store(Api::<ValidatingAdmissionPolicyBinding>::all(client.clone()), watcher::Config::default());

    let sink = match opts.audit_webhook.clone() {
        Some(config) => Some(Sink::start(config, metrics.sink.clone())?),
        None => None,
    };
    let escalations = Api::<Escalation>::all(client.clone());
    let (escalation_store, writer) = reflector::store();
    // The next in a requestor's line, called when a share is given back;
    // and the escalations an extension's change concerns.
    let (call_next, next_in_line) = tokio::sync::mpsc::unbounded_channel();
    let nudge = call_next.clone();
    let takeover = call_next.clone();
    let index = Arc::new(index::EscalationIndex::new());
    let (indexing, indexed, store) = (index.clone(), index.clone(), escalation_store.clone());
    let escalation_stream = watcher(escalations.clone(), watcher::Config::default())
        .default_backoff()
        .modify(engine::cache::slim_escalation)
        .inspect(move |event| {
            if let Ok(event) = event {
                indexing.before_cache(event, &store);
            }
        })
        .reflect(writer)
        .inspect({
            let store = escalation_store.clone();
            move |event| {
                if let Ok(event) = event {
                    indexed.after_cache(event, &store);
                }
            }
        })
        .applied_objects()
        // Once the store holds an extension with all its bindings created,
        // the escalation it extends can be superseded: reconcile that one.
        .inspect(move |e| {
            if let Ok(e) = e
                && let Some(target) = engine::extension::takes_over(e)
            {
                let _ = takeover.send(ObjectRef::new(target));
            }
        });
    let controller = Controller::for_stream(escalation_stream, escalation_store.clone())
        .with_config(controller::Config::default().concurrency(opts.concurrency))
        .reconcile_on(futures::stream::unfold(next_in_line, |mut rx| async { rx.recv().await.map(|next| (next, rx)) }));

    // Policies as the watch sees them written: for their status report
    // (dropped when that falls behind: the periodic pass catches up), and
    // to decide again the open escalations of each, from this same cache
    // (so a decision never starts from a policy older than what called it).
    let (policy_tx, mut policy_rx) = tokio::sync::mpsc::channel::<EscalationPolicy>(256);
    let by_policy = escalation_store.clone();
    let decide_again = call_next.clone();
    let (policies, _watching_policies) = stores::spawn_store_notifying(
        Api::<EscalationPolicy>::all(client.clone()),
        watcher::Config::default(),
        move |policy: &EscalationPolicy, deleted| {
            if !deleted {
                let _ = policy_tx.try_send(policy.clone());
            }
            let name = policy.name_any();
            for e in by_policy.state() {
                if e.spec.policy_name == name && !e.state().is_some_and(EscalationState::is_final) {
                    let _ = decide_again.send(ObjectRef::from_obj(&*e));
                }
            }
        },
    );
    let (reviews, review_writer) = reflector::store();
    let review_stream = watcher(Api::<EscalationReview>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .modify(engine::cache::slim_review)
        .reflect(review_writer)
        .touched_objects();
    // Bindings trigger their escalation's reconcile, which finds them in
    // `seen_bindings` (recorded before the trigger) as the watch saw them.
    let seen_bindings = Arc::new(stores::SeenBindings::new());
    let controller = controller
        .watches_stream(review_stream, |review: EscalationReview| {
            crate::api::valid_name(&review.spec.escalation_name).then(|| ObjectRef::new(&review.spec.escalation_name))
        })
        .watches_stream(stores::binding_triggers::<RoleBinding>(&client, seen_bindings.clone()), |b| {
            stores::owner_of(b.labels())
        })
        .watches_stream(stores::binding_triggers::<ClusterRoleBinding>(&client, seen_bindings.clone()), |b| {
            stores::owner_of(b.labels())
        })
        .graceful_shutdown_on(shutdown.clone());

    let ctx = Arc::new(Context {
        client: client.clone(),
        escalations,
        escalation_store: escalation_store.clone(),
        index,
        policies: policies.clone(),
        reviews,
        guard_policies: guard_policies.clone(),
        guard_bindings: guard_bindings.clone(),
        expected_guards: context::expected_guards(&opts.namespace, &opts.service_account),
        guard_memo: Mutex::default(),
        grants: Grants::new(client.clone()),
        seen_bindings,
        ahead: ahead::Ahead::start(Grants::new(client.clone()), call_next.clone(), metrics.deleted_ahead.clone()),
        auditor: Auditor::new(
            events.map(|writer| EventQueue::start(writer, 10_000, metrics.events_dropped.clone())),
            sink,
            opts.audit_stdout,
        ),
        metrics: metrics.clone(),
        kudo_namespace: opts.namespace.clone(),
        failures: Mutex::default(),
        written: Mutex::default(),
        retain_finished: opts.retain_finished,
        retain_per_requestor: opts.retain_per_requestor.max(1),
        finished: tokio::sync::Notify::new(),
        // A quarter of the reconciles for one requestor's grant decisions.
        fairness: fairness::Fairness::new(usize::from(opts.concurrency.max(4)) / 4, call_next),
        orphan_review_grace: opts.orphan_review_grace,
        notifier: notify::Notifier::new(client.clone(), &opts.namespace, opts.notify.clone(), metrics.notify.clone())
            .map_err(RunError::Notify)?,
        nudge,
    });

    // Decisions need the policies and guards: wait for their first list.
    // (The review store is driven by the controller itself; reconciles wait for it.)
    for wait in [
        policies.wait_until_ready().boxed(),
        guard_policies.wait_until_ready().boxed(),
        guard_bindings.wait_until_ready().boxed(),
    ] {
        tokio::select! {
            r = wait => if r.is_err() { return Ok(()) },
            () = shutdown.clone() => return Ok(()),
        }
    }
    let reconciles =
        controller.run(reconcile_logged, error_policy, ctx.clone()).for_each(|_| futures::future::ready(()));
    let sweeper = periodic(ctx.clone(), opts.sweep_interval, escalation_store);
    let capping = tokio::spawn(retention::run(ctx.clone(), opts.sweep_interval));
    let marking = tokio::spawn(notify::record_done(ctx.clone()));
    let reporting = ctx.clone();
    tokio::spawn(async move {
        while let Some(policy) = policy_rx.recv().await {
            sweep::report_policy(&reporting, &policy).await;
        }
    });
    let lease_kept = leader::keep_lease(elector.as_ref());
    tokio::pin!(reconciles, sweeper, lease_kept);
    let result = tokio::select! {
        () = &mut reconciles => Ok(()),
        () = &mut sweeper => Ok(()),
        lost = &mut lease_kept => Err(lost),
    };
    capping.abort();
    marking.abort();
    if let Some(elector) = &elector
        && result.is_ok()
    {
        elector.release().await;
    }
    tracing::info!("controller stopped");
    result
}

async fn reconcile_logged(esc: Arc<Escalation>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let name = esc.name_any();
    let _turn = match ctx.fairness.enter(&esc) {
        Ok(turn) => turn,
        Err(wait) => return Ok(Action::requeue(wait)),
    };
    let result = reconcile::reconcile(esc, ctx.clone()).await;
    if result.is_ok() {
        ctx.succeeded(&name);
    }
    result
}

fn error_policy(esc: Arc<Escalation>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let name = esc.name_any();
    if matches!(error, ReconcileError::Stale(_)) {
        // Not a failure: someone wrote in between. The next view is current.
        tracing::debug!(escalation = %name, "status write lost to a newer version; deciding again");
        return Action::requeue(Duration::from_millis(20));
    }
    ctx.metrics.reconcile_errors.inc();
    let delay = ctx.backoff(&name);
    tracing::warn!(escalation = %name, error = %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// The sweep and the policy report every `interval`, the gauges every 5 s.
async fn periodic(ctx: Arc<Context>, interval: Duration, escalations: Store<Escalation>) {
    let mut sweep_tick = tokio::time::interval(interval);
    let mut gauge_tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = sweep_tick.tick() => {
                match sweep::sweep(&ctx).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(reclaimed = n, "sweep reclaimed orphan bindings"),
                    Err(e) => tracing::warn!(error = %e, "sweep failed; retried next interval"),
                }
                sweep::report_policies(&ctx).await;
                match reviews::collect_orphans(&ctx, Timestamp::now()).await {
                    0 => {}
                    n => tracing::info!(deleted = n, "deleted reviews that name no escalation"),
                }
            }
            _ = gauge_tick.tick() => metrics::update_gauges(&ctx.metrics, &escalations),
        }
    }
}
