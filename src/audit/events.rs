//! Kubernetes Events for audit records.
//!
//! kube's `Recorder` folds events with the same reason about the same object
//! into one series (so a second `GrantCreated` would keep the first note) and
//! keeps every event it sent for six minutes, scanning them all on each
//! publish. An audit trail needs every record as its own Event, at a cost
//! that does not grow with the number of escalations, so this writes each
//! one as client-go's recorder names them: `<object>.<unix nanos in hex>`.

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::{
    api::{core::v1::ObjectReference, events::v1::Event},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
};
use kube::{Client, Resource, api::PostParams};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;

/// Where events about cluster-scoped objects go, as client-go does it.
const CLUSTER_SCOPED_NAMESPACE: &str = "default";

#[derive(Clone)]
pub struct EventWriter {
    client: Client,
    controller: String,
    instance: String,
}

/// What one Event says.
pub struct Note<'a> {
    pub warning: bool,
    pub reason: &'a str,
    pub action: &'a str,
    pub note: String,
}

impl EventWriter {
    pub fn new(client: Client, controller: &str, instance: &str) -> Self {
        Self { client, controller: controller.into(), instance: instance.into() }
    }

    pub async fn publish(&self, what: Note<'_>, regarding: ObjectReference) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let namespace = regarding.namespace.clone().unwrap_or_else(|| CLUSTER_SCOPED_NAMESPACE.into());
        let object = regarding.name.as_deref().unwrap_or(&self.controller);
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{object}.{:x}", now.as_nanosecond())),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(now)),
            type_: Some(if what.warning { "Warning" } else { "Normal" }.into()),
            reason: Some(what.reason.into()),
            action: Some(what.action.into()),
            note: Some(what.note),
            regarding: Some(regarding),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        };
        // The answer (the Event as stored) is not read: an audit trail
        // writes several per escalation, and decoding them was a share of
        // the controller's CPU.
        let body = serde_json::to_vec(&event).map_err(kube::Error::SerdeError)?;
        let request = kube::core::Request::new(Event::url_path(&(), Some(&namespace)))
            .create(&PostParams::default(), body)
            .map_err(kube::Error::BuildRequest)?;
        self.client.request_text(request).await?;
        Ok(())
    }
}

/// Events published off the reconcile's path: an Event costs an API round
/// trip, and a grant must not wait for its record's Event (stdout, written
/// first and synchronously, is the record of last resort). A few are
/// published at once; when the queue is full, the Event is dropped,
/// counted and logged (its record is on stdout).
#[derive(Clone)]
pub struct EventQueue {
    tx: mpsc::Sender<(OwnedNote, ObjectReference)>,
    dropped: Counter,
}

struct OwnedNote {
    warning: bool,
    reason: String,
    action: String,
    note: String,
}

impl EventQueue {
    pub fn start(writer: EventWriter, capacity: usize, dropped: Counter) -> Self {
        let (tx, rx) = mpsc::channel::<(OwnedNote, ObjectReference)>(capacity.max(1));
        let pending = futures::stream::unfold(rx, |mut rx| async { rx.recv().await.map(|item| (item, rx)) });
        tokio::spawn(pending.for_each_concurrent(8, move |(note, regarding)| {
            let writer = writer.clone();
            async move {
                let name = regarding.name.clone().unwrap_or_default();
                let what = Note { warning: note.warning, reason: &note.reason, action: &note.action, note: note.note };
                if let Err(e) = writer.publish(what, regarding).await {
                    tracing::warn!(error = %e, regarding = %name, "audit event could not be published");
                }
            }
        }));
        Self { tx, dropped }
    }

    pub fn send(&self, what: Note<'_>, regarding: ObjectReference) {
        let note = OwnedNote {
            warning: what.warning,
            reason: what.reason.into(),
            action: what.action.into(),
            note: what.note,
        };
        if self.tx.try_send((note, regarding)).is_err() {
            self.dropped.inc();
            tracing::warn!("audit event queue full: an Event was dropped (its record is on stdout)");
        }
    }
}
