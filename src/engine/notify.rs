//! Which notifications an escalation is owed now (DESIGN §6), and when the
//! next one falls due: a pure function of its status, its policy's
//! `notify`, and `now`.

use jiff::{SignedDuration, Timestamp};

use crate::api::{AfterReview, ChallengeKind, ChallengeState, EscalationState, EscalationStatus, Notice, Notify};

/// `notify.remindBefore` when the policy names none.
pub const DEFAULT_REMIND_BEFORE: SignedDuration = SignedDuration::from_mins(10);

/// A decision older than this is not announced: a policy that gains
/// `notify` must not flood its requestors with last month's decisions, and
/// a controller down longer than this has nothing timely left to say.
pub const DECISION_NEWS: SignedDuration = SignedDuration::from_hours(1);

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Due {
    /// Owed now and not yet delivered (`status.notified`).
    pub now: Vec<Notice>,
    /// When the next one (the reminder) falls due, if later.
    pub next: Option<Timestamp>,
}

/// The reminder's lead time (malformed text falls back to the default;
/// the schema's pattern refuses it before it is stored).
pub fn remind_before(notify: &Notify) -> SignedDuration {
    notify.remind_before.as_ref().and_then(|d| d.parse().ok()).unwrap_or(DEFAULT_REMIND_BEFORE)
}

pub fn due(status: Option<&EscalationStatus>, notify: &Notify, now: Timestamp) -> Due {
    let mut due = Due::default();
    let Some(status) = status else { return due };
    let owed = |n: Notice| !status.notified.contains(&n);
    let reviewing = status.state == EscalationState::Pending
        && status.challenges.iter().any(|c| c.kind == ChallengeKind::PeerReview && c.state == ChallengeState::Pending);
    let after_review = status.after_review == Some(AfterReview::Pending);
    if !notify.reviewers.is_empty() && (reviewing || after_review) && owed(Notice::Requested) {
        due.now.push(Notice::Requested);
    }
    if notify.requestor.is_none() {
        return due;
    }
    let accepted = status.accepted_at.as_ref().map(|t| t.0);
    let decided_at = match status.state {
        EscalationState::Accepted => accepted,
        EscalationState::Denied => status.finished_at.as_ref().map(|t| t.0),
        // Expired without being accepted: the pending timeout decided it.
        EscalationState::Expired if accepted.is_none() => status.finished_at.as_ref().map(|t| t.0),
        _ => None,
    };
    if let Some(at) = decided_at
        && now.duration_since(at) <= DECISION_NEWS
        && owed(Notice::Decided)
    {
        due.now.push(Notice::Decided);
    }
    if let (EscalationState::Accepted, Some(accepted), Some(expires)) =
        (status.state, accepted, status.expires_at.as_ref().map(|t| t.0))
        && owed(Notice::Reminder)
    {
        let remind_at = expires - remind_before(notify);
        if remind_at > accepted && now < expires {
            if now >= remind_at {
                due.now.push(Notice::Reminder);
            } else {
                due.next = Some(remind_at);
            }
        }
    }
    due
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;
    use crate::api::{ChallengeStatus, NotifyFormat, NotifyTarget, SecretKeyRef};

    fn target() -> NotifyTarget {
        NotifyTarget { secret_ref: SecretKeyRef { name: "s".into(), key: "url".into() }, format: NotifyFormat::Json }
    }

    fn notify(remind: Option<&str>) -> Notify {
        Notify { reviewers: vec![target()], requestor: Some(target()), remind_before: remind.map(Into::into) }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn pending() -> EscalationStatus {
        let mut s = EscalationStatus::new(EscalationState::Pending);
        s.challenges.push(ChallengeStatus {
            kind: ChallengeKind::PeerReview,
            state: ChallengeState::Pending,
            approved_by: vec![],
            message: String::new(),
        });
        s
    }

    fn accepted(from: &str, to: &str) -> EscalationStatus {
        let mut s = pending();
        s.state = EscalationState::Accepted;
        s.challenges[0].state = ChallengeState::Passed;
        s.accepted_at = Some(Time(at(from)));
        s.expires_at = Some(Time(at(to)));
        s
    }

    #[test]
    fn a_pending_review_is_announced_once() {
        let now = at("2026-01-01T10:00:00Z");
        let mut s = pending();
        assert_eq!(due(Some(&s), &notify(None), now).now, vec![Notice::Requested]);
        s.notified.push(Notice::Requested);
        assert_eq!(due(Some(&s), &notify(None), now), Due::default());
        let no_reviewers = Notify { reviewers: vec![], ..notify(None) };
        assert_eq!(due(Some(&pending()), &no_reviewers, now), Due::default());
        // Pending on a time window only: no reviewer can do anything.
        let mut windowed = pending();
        windowed.challenges[0].kind = ChallengeKind::TimeWindow;
        assert_eq!(due(Some(&windowed), &notify(None), now), Due::default());
    }

    #[test]
    fn the_decision_then_the_reminder_before_expiry() {
        let mut s = accepted("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z");
        let n = notify(None);
        let d = due(Some(&s), &n, at("2026-01-01T10:00:01Z"));
        assert_eq!(d.now, vec![Notice::Decided]);
        assert_eq!(d.next, Some(at("2026-01-01T10:50:00Z")), "10 minutes before expiry by default");
        s.notified.push(Notice::Decided);
        assert_eq!(due(Some(&s), &n, at("2026-01-01T10:50:00Z")).now, vec![Notice::Reminder]);
        s.notified.push(Notice::Reminder);
        assert_eq!(due(Some(&s), &n, at("2026-01-01T10:55:00Z")), Due::default(), "once");
        // Configurable; none for a grant no longer than the lead time.
        let d = due(Some(&s), &notify(Some("30m")), at("2026-01-01T10:00:01Z"));
        assert!(d.now.is_empty() && d.next.is_none(), "already reminded: {d:?}");
        let short = accepted("2026-01-01T10:00:00Z", "2026-01-01T10:05:00Z");
        assert_eq!(due(Some(&short), &n, at("2026-01-01T10:01:00Z")).now, vec![Notice::Decided]);
        assert_eq!(due(Some(&short), &n, at("2026-01-01T10:01:00Z")).next, None);
        // Past expiry: too late to remind.
        let mut late = accepted("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z");
        late.notified.push(Notice::Decided);
        assert_eq!(due(Some(&late), &n, at("2026-01-01T11:00:00Z")), Due::default());
    }

    #[test]
    fn denials_are_news_for_an_hour_and_expiry_after_acceptance_is_no_decision() {
        let mut s = pending();
        s.state = EscalationState::Denied;
        s.challenges[0].state = ChallengeState::Failed;
        s.finished_at = Some(Time(at("2026-01-01T10:00:00Z")));
        s.notified.push(Notice::Requested);
        let n = notify(None);
        assert_eq!(due(Some(&s), &n, at("2026-01-01T10:59:00Z")).now, vec![Notice::Decided]);
        assert_eq!(due(Some(&s), &n, at("2026-01-01T11:01:00Z")), Due::default());
        let mut ended = accepted("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z");
        ended.state = EscalationState::Expired;
        ended.finished_at = Some(Time(at("2026-01-01T11:00:00Z")));
        assert_eq!(due(Some(&ended), &n, at("2026-01-01T11:00:01Z")), Due::default());
        let no_requestor = Notify { requestor: None, ..n };
        assert_eq!(due(Some(&s), &no_requestor, at("2026-01-01T10:01:00Z")), Due::default());
    }
}
