//! One escalation in detail: what `kubectl kudo status` prints and the
//! dashboard's detail page shows. Its reviews, its grants' live state and
//! its Events are for those who may read them: `None` (or
//! [`Live::Unreadable`]) says "not shown", not "none".

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::events::v1::Event;
use kube::{Api, ResourceExt, api::ListParams};

use super::{Error, Session, get_escalation};
use crate::{
    api::{Escalation, EscalationReview, EscalationState, GrantRef},
    engine::{Observation, binding},
    grants::Grants,
};

#[derive(Clone, Debug)]
pub struct Detail {
    pub escalation: Escalation,
    /// The reviews of this escalation (this UID), oldest first.
    pub reviews: Option<Vec<EscalationReview>>,
    /// Each grant in status, with its binding as it is now.
    pub grants: Vec<Grant>,
    /// Until it expires, while ACCEPTED.
    pub time_left: Option<SignedDuration>,
    /// The controller's Events about it, oldest first.
    pub timeline: Option<Vec<Entry>>,
}

#[derive(Clone, Debug)]
pub struct Grant {
    pub grant: GrantRef,
    pub live: Live,
}

/// A grant's binding, as read now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Live {
    /// Present: intact, or changed by someone else.
    Seen(Observation),
    Absent,
    /// Present, but the escalation does not identify it.
    Unknown,
    /// I may not read bindings.
    Unreadable,
}

/// One Event of the timeline.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub at: Option<Timestamp>,
    pub reason: String,
    /// As written (kudo's notes are escaped for chat; this is unescaped).
    pub note: String,
}

pub async fn status(session: &Session, name: &str, now: Timestamp) -> Result<Detail, Error> {
    let escalation = get_escalation(session, name).await?;
    let name = escalation.name_any();
    let status = escalation.status.as_ref();
    let time_left = status
        .filter(|s| s.state == EscalationState::Accepted)
        .and_then(|s| s.expires_at.as_ref())
        .map(|at| at.0.duration_since(now));
    let live = Grants::new(session.client.clone());
    let mut grants = Vec::new();
    for r in status.iter().flat_map(|s| &s.grant_refs) {
        let seen = match live.get(r).await {
            Ok(Some(b)) => {
                binding::binding(&escalation, r).map_or(Live::Unknown, |d| Live::Seen(binding::observe(&d, Some(&b))))
            }
            Ok(None) => Live::Absent,
            Err(_) => Live::Unreadable,
        };
        grants.push(Grant { grant: r.clone(), live: seen });
    }
    let uid = escalation.uid().unwrap_or_default();
    let reviews = session.api::<EscalationReview>().list(&ListParams::default()).await.ok().map(|l| {
        let mut mine: Vec<_> = l.items.into_iter().filter(|r| r.spec.escalation_uid == uid).collect();
        mine.sort_by_key(|r| r.creation_timestamp().map(|t| t.0));
        mine
    });
    let timeline = timeline(session, &name).await;
    Ok(Detail { escalation, reviews, grants, time_left, timeline })
}

/// The controller's Events on it; `None` when I may not list them.
pub async fn timeline(session: &Session, name: &str) -> Option<Vec<Entry>> {
    // The controller's Events on cluster-scoped escalations live in `default`.
    let events: Api<Event> = Api::namespaced(session.client.clone(), "default");
    let list = events.list(&ListParams::default()).await.ok()?;
    Some(entries(list.items, name))
}

/// The Events regarding escalation `name`, oldest first (pure).
pub fn entries(events: Vec<Event>, name: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = events
        .into_iter()
        .filter(|e| {
            e.regarding
                .as_ref()
                .is_some_and(|r| r.name.as_deref() == Some(name) && r.kind.as_deref() == Some("Escalation"))
        })
        .map(|e| Entry {
            at: e.event_time.as_ref().map(|t| t.0).or(e.metadata.creation_timestamp.as_ref().map(|t| t.0)),
            reason: e.reason.unwrap_or_default(),
            note: crate::audit::chat::unescape(&e.note.unwrap_or_default()),
        })
        .collect();
    out.sort_by_key(|e| e.at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_timeline_is_this_escalations_events_in_order() {
        let event = |name: &str, kind: &str, at: &str, reason: &str| -> Event {
            serde_json::from_value(json!({
                "metadata": {"name": format!("{name}.{reason}"), "namespace": "default"},
                "eventTime": at, "reason": reason, "note": "a note",
                "regarding": {"kind": kind, "name": name},
            }))
            .unwrap()
        };
        let events = vec![
            event("e", "Escalation", "2026-11-24T08:00:05.000000Z", "GrantCreated"),
            event("e", "Escalation", "2026-11-24T08:00:01.000000Z", "Accepted"),
            event("other", "Escalation", "2026-11-24T08:00:02.000000Z", "Accepted"),
            event("e", "Pod", "2026-11-24T08:00:03.000000Z", "Scheduled"),
        ];
        let reasons: Vec<String> = entries(events, "e").into_iter().map(|e| e.reason).collect();
        assert_eq!(reasons, ["Accepted", "GrantCreated"]);
    }
}
