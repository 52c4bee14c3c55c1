//! The controller's side of notifications (DESIGN §6): after each
//! reconcile, what the escalation is owed (`engine::notify::due`) is queued
//! to its policy's targets; once every target is done with a notice, it is
//! added to `status.notified`, so a restarted controller sends only what was
//! not delivered (at least once: a crash between delivery and the mark
//! sends it again, with the same idempotency key).

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client, ResourceExt,
    api::{Patch, PatchParams},
    runtime::reflector::ObjectRef,
};
use serde_json::json;
use tokio::sync::mpsc;

use super::Context;
use crate::{
    api::{Escalation, EscalationPolicy, FIELD_MANAGER, Notice},
    engine,
    notify::{self, Completion, DeliveryConfig, NotifyCounters, Queues},
};

/// A notice every target is done with (`taken`), or that a full queue dropped.
struct Done {
    name: String,
    uid: String,
    notice: Notice,
    taken: bool,
}

pub struct Notifier {
    queues: Queues,
    /// Notices queued or delivered by this process, by escalation uid: sent
    /// once even while the mark is not yet in the cache.
    claimed: Mutex<HashMap<String, BTreeSet<Notice>>>,
    done_tx: mpsc::UnboundedSender<Done>,
    done_rx: Mutex<Option<mpsc::UnboundedReceiver<Done>>>,
}

impl Notifier {
    /// Targets' URLs are read from Secrets in `namespace` only.
    pub fn new(
        client: Client,
        namespace: &str,
        config: DeliveryConfig,
        counters: NotifyCounters,
    ) -> Result<Self, reqwest::Error> {
        let secrets: Api<Secret> = Api::namespaced(client, namespace);
        let resolve: notify::Resolve = Arc::new(move |target| {
            let secrets = secrets.clone();
            Box::pin(async move { notify::read_url(&secrets, &target).await.map_err(|e| e.to_string()) })
        });
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Ok(Self {
            queues: Queues::new(config, resolve, counters)?,
            claimed: Mutex::default(),
            done_tx,
            done_rx: Mutex::new(Some(done_rx)),
        })
    }

    fn claim(&self, uid: &str, notice: Notice) -> bool {
        self.claimed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(uid.into())
            .or_default()
            .insert(notice)
    }

    fn unclaim(&self, uid: &str, notice: Notice) {
        if let Some(set) = self.claimed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_mut(uid) {
            set.remove(&notice);
        }
    }

    /// The escalation is gone.
    pub fn forget(&self, uid: &str) {
        self.claimed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(uid);
    }
}

/// Queues what `esc` (as written) is owed under its policy (`policy`, or the
/// cached one for a final escalation); returns when the next notice falls due.
pub(super) fn announce(ctx: &Context, esc: &Escalation, policy: Option<&EscalationPolicy>) -> Option<Timestamp> {
    let cached;
    let policy = match policy {
        Some(p) => p,
        None => {
            cached = ctx.policies.get(&ObjectRef::new(&esc.spec.policy_name))?;
            &cached
        }
    };
    let spec = &policy.spec;
    let notify_spec = spec.notify.as_ref()?;
    let uid = esc.uid()?;
    let now = Timestamp::now();
    let due = engine::notify::due(esc.status.as_ref(), notify_spec, now);
    let notifier = &ctx.notifier;
    for notice in due.now {
        let targets = match notice {
            Notice::Requested => notify_spec.reviewers.clone(),
            Notice::Decided | Notice::Reminder => notify_spec.requestor.iter().cloned().collect(),
        };
        if targets.is_empty() || !notifier.claim(&uid, notice) {
            continue;
        }
        let tx = notifier.done_tx.clone();
        let (name, id) = (esc.name_any(), uid.clone());
        let completion = Completion::new(move |taken| {
            let _ = tx.send(Done { name, uid: id, notice, taken });
        });
        for target in &targets {
            let message = notify::build(esc, Some(spec), notice, target.format, now);
            notifier.queues.send(&target.secret_ref, message, completion.clone());
        }
    }
    due.next
}

/// Writes each finished notice into its escalation's `status.notified`;
/// a dropped one is unclaimed, to be queued again by the next reconcile.
pub(super) async fn record_done(ctx: Arc<Context>) {
    let Some(mut rx) = ctx.notifier.done_rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() else {
        return;
    };
    while let Some(done) = rx.recv().await {
        if !done.taken {
            ctx.notifier.unclaim(&done.uid, done.notice);
            continue;
        }
        if let Err(e) = mark(&ctx, &done).await {
            // Not marked: a restart sends it again (same idempotency key).
            tracing::warn!(escalation = %done.name, notice = ?done.notice, error = %e, "could not record a delivered notification");
        }
    }
}

/// Adds the notice to `status.notified`, conditioned on the resourceVersion
/// read (the reconcile's own status writes are too), retrying on conflict.
async fn mark(ctx: &Context, done: &Done) -> Result<(), kube::Error> {
    for _ in 0..10 {
        let Some(esc) = ctx.escalations.get_opt(&done.name).await? else { return Ok(()) };
        let Some(status) = esc.status.as_ref().filter(|_| esc.uid().as_deref() == Some(done.uid.as_str())) else {
            return Ok(());
        };
        if status.notified.contains(&done.notice) {
            return Ok(());
        }
        let mut notified = status.notified.clone();
        notified.push(done.notice);
        notified.sort();
        let patch = json!({"metadata": {"resourceVersion": esc.resource_version()}, "status": {"notified": notified}});
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..PatchParams::default() };
        match ctx.escalations.patch_status(&done.name, &params, &Patch::Merge(&patch)).await {
            Ok(written) => {
                ctx.wrote(&written);
                return Ok(());
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
