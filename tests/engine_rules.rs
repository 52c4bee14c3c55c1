//! One test per rule of the state machine (DESIGN §2), on plain values.

mod common;

use common::*;
use jiff::SignedDuration;
use kudo::{
    api::*,
    engine::{Action, Observation},
};

fn status(w: &World) -> &EscalationStatus {
    w.escalation.status.as_ref().unwrap()
}

#[test]
fn no_challenge_accepts_at_once_with_bindings_named_before_creation() {
    let mut w = World::new(alice(), policy(vec![]));
    let d = w.decide();
    assert_eq!(d.transition, Some((None, EscalationState::Accepted)));
    assert_eq!(d.actions, vec![Action::Create(0)]);
    // The decision's status already names what Create(0) will create.
    let r = &d.status.grant_refs[0];
    assert_eq!(r.status, GrantStatus::Pending);
    assert_eq!(r.reference.name, "kudo-gain-port-forward-x7k2p-0");
    assert_eq!(r.reference.namespace.as_deref(), Some("application-a"));
    assert_eq!(r.role_ref.name, "port-forwarder");
    let expires = d.status.expires_at.as_ref().unwrap().0;
    assert_eq!(d.status.accepted_at.as_ref().unwrap().0, t(T0));
    assert_eq!(expires, at(3600), "clock starts at acceptance, default 60m");
    assert_eq!(d.requeue_at, Some(expires));
    assert_eq!(d.status.policy_uid.as_deref(), Some("policy-uid-1"));
    assert_eq!(d.status.policy_generation, Some(1));

    w.step();
    assert_eq!(status(&w).grant_refs[0].status, GrantStatus::Created);
    // Nothing more to do until expiry.
    w.now = at(1800);
    let d = w.decide();
    assert!(d.actions.is_empty());
    assert_eq!(d.transition, None);
    assert_eq!(d.requeue_at, Some(at(3600)));
}

#[test]
fn expiry_reclaims_everything() {
    let mut w = World::new(alice(), policy(vec![]));
    w.step();
    w.now = at(3599);
    assert!(w.decide().actions.is_empty());
    w.now = at(3600);
    let d = w.step();
    assert_eq!(d.transition, Some((Some(EscalationState::Accepted), EscalationState::Expired)));
    assert_eq!(d.actions, vec![Action::Reclaim(0)]);
    assert!(w.details().contains("expired at"));
    assert_eq!(status(&w).grant_refs[0].status, GrantStatus::Reclaimed);
    assert_eq!(d.requeue_at, None);
}

/// The controller deletes the bindings of an expiry or a revocation before
/// its status write when many end at once (`controller::ahead`); a crash in
/// between, or the second pass, then finds them gone. That must still end
/// as the expiry or revocation it was, never as a deletion outside kudo.
#[test]
fn bindings_gone_before_an_expiry_or_revocation_is_written_are_no_tampering() {
    for revoke in [false, true] {
        let mut w = World::new(alice(), policy(vec![]));
        w.step();
        if revoke {
            w.escalation.spec.revoked = true;
            w.escalation.spec.revoked_by = "root".into();
        } else {
            w.now = at(3600);
        }
        w.observed.insert("kudo-gain-port-forward-x7k2p-0".into(), Observation::Absent);
        let d = w.decide();
        assert_eq!(d.status.state, EscalationState::Expired, "revoke={revoke}: {}", d.status.state_details);
        assert!(!d.status.state_details.contains("outside kudo"), "{}", d.status.state_details);
        assert_eq!(d.actions, vec![Action::Reclaim(0)], "absent counts as reclaimed");
    }
}

#[test]
fn restart_after_expiry_reclaims_and_never_regrants() {
    let mut w = World::new(alice(), policy(vec![]));
    w.step();
    // The controller was down for a day.
    w.now = at(86_400);
    let d = w.decide();
    assert_eq!(d.status.state, EscalationState::Expired);
    assert!(d.actions.iter().all(|a| matches!(a, Action::Reclaim(_))));
}

#[test]
fn crash_between_status_write_and_creation_is_repaired() {
    let mut w = World::new(alice(), policy(vec![]));
    let d = w.decide();
    // Status written, then the controller died before creating anything.
    w.escalation.status = Some(d.status.clone());
    w.now = at(5);
    let d = w.decide();
    assert_eq!(d.status.state, EscalationState::Accepted);
    assert_eq!(d.actions, vec![Action::Create(0)]);
    assert_eq!(d.transition, None);
    assert_eq!(d.status.expires_at.unwrap().0, at(3600), "expiry is not reset");
}

#[test]
fn requested_namespace_and_duration() {
    let mut e = alice();
    e.spec.namespace = Some("application-b".into());
    e.spec.duration = Some("1h30m".into());
    let d = World::new(e, policy(vec![])).decide();
    assert_eq!(d.status.grant_refs[0].reference.namespace.as_deref(), Some("application-b"));
    assert_eq!(d.status.expires_at.unwrap().0, at(5400));
}

#[test]
fn sub_second_durations_never_extend_expiry() {
    let mut e = alice();
    e.spec.duration = Some("1500ms".into());
    let mut w = World::new(e, policy(vec![]));
    w.now = t(T0) + SignedDuration::from_millis(700);
    let d = w.decide();
    // accepted 10:00:00(.7 truncated), expires 10:00:01 (2.2s truncated down to whole seconds).
    assert_eq!(d.status.accepted_at.unwrap().0, t(T0));
    assert!(d.status.expires_at.unwrap().0 <= w.now + SignedDuration::from_millis(1500));
}

fn denied(w: &World) -> String {
    let d = w.decide();
    assert_eq!(d.status.state, EscalationState::Denied, "{}", d.status.state_details);
    assert!(d.actions.is_empty(), "a denied request creates nothing");
    assert!(d.status.grant_refs.is_empty());
    d.status.state_details
}

#[test]
fn denials_say_what_to_change() {
    let mut e = alice();
    e.spec.namespace = Some("kube-system".into());
    let msg = denied(&World::new(e, policy(vec![])));
    assert!(
        msg.contains("namespace kube-system is not allowed") && msg.contains("application-a, application-b"),
        "{msg}"
    );

    let mut e = alice();
    e.spec.duration = Some("5h".into());
    let msg = denied(&World::new(e, policy(vec![])));
    assert!(msg.contains("5h") && msg.contains("--duration 4h or less"), "{msg}");

    let mut e = alice();
    e.spec.duration = Some("1 hour".into());
    let msg = denied(&World::new(e, policy(vec![])));
    assert!(msg.contains("invalid duration") && msg.contains("1h30m"), "{msg}");

    let mut e = alice();
    e.spec.duration = Some("0s".into());
    assert!(denied(&World::new(e, policy(vec![]))).contains("positive duration"));

    let mut w = World::new(alice(), policy(vec![]));
    w.policy = None;
    let msg = denied(&w);
    assert!(msg.contains("does not exist") && msg.contains("kubectl kudo policies"), "{msg}");

    let w = World::new(escalation("mallory", &["system:authenticated"]), policy(vec![]));
    let msg = denied(&w);
    assert!(msg.contains("mallory may not use policy gain-port-forward"), "{msg}");

    let mut e = alice();
    e.spec.reason = "   ".into();
    assert!(denied(&World::new(e, policy(vec![]))).contains("--reason"));

    let mut e = alice();
    e.spec.reason = "just because".into();
    let msg = denied(&World::new(e, policy(vec![justification("[A-Z]+-[0-9]+")])));
    assert!(msg.contains("[A-Z]+-[0-9]+") && msg.contains("ticket"), "{msg}");
}

#[test]
fn namespace_for_a_cluster_wide_policy_is_refused() {
    let mut p = policy(vec![]);
    p.spec.target.grants = vec![grant_crb("view")];
    let mut e = alice();
    e.spec.namespace = Some("application-a".into());
    assert!(denied(&World::new(e, p.clone())).contains("without --namespace"));
    let d = World::new(alice(), p).decide();
    assert_eq!(d.status.state, EscalationState::Accepted);
    assert_eq!(d.status.grant_refs[0].reference.kind, GrantKind::KubernetesClusterRoleBinding);
    assert_eq!(d.status.grant_refs[0].reference.namespace, None);
}

#[test]
fn several_grants_get_distinct_deterministic_names() {
    let mut p = policy(vec![]);
    p.spec.target.grants.push(grant_crb("view"));
    let d = World::new(alice(), p).decide();
    let names: Vec<_> = d.status.grant_refs.iter().map(|r| r.reference.name.as_str()).collect();
    assert_eq!(names, ["kudo-gain-port-forward-x7k2p-0", "kudo-gain-port-forward-x7k2p-1"]);
    assert_eq!(d.actions, vec![Action::Create(0), Action::Create(1)]);
}

#[test]
fn authorisation_by_subject_or_by_use_verb() {
    let mut p = policy(vec![]);
    let mut w = World::new(escalation("carol", &["system:authenticated"]), p.clone());
    assert_eq!(w.decide().status.state, EscalationState::Denied);
    w.rbac_use_allowed = true;
    assert_eq!(w.decide().status.state, EscalationState::Accepted);

    p.spec.subjects = vec![Subject::user("carol")];
    let w = World::new(escalation("carol", &[]), p.clone());
    assert_eq!(w.decide().status.state, EscalationState::Accepted);

    p.spec.subjects = vec![Subject {
        kind: SubjectKind::ServiceAccount,
        name: "deployer".into(),
        namespace: Some("ci".into()),
        api_group: None,
    }];
    let w = World::new(escalation("system:serviceaccount:ci:deployer", &["system:serviceaccounts"]), p);
    assert_eq!(w.decide().status.state, EscalationState::Accepted);
}

#[test]
fn time_window_in_the_policy_zone() {
    let p = policy(vec![office_hours()]);
    let mut w = World::new(alice(), p);
    // Monday 11:00 in Paris.
    assert_eq!(w.decide().status.state, EscalationState::Accepted);
    // Saturday 11:00.
    w.now = t("2026-11-28T10:00:00Z");
    let msg = denied(&w);
    assert!(msg.contains("Mon,Tue,Wed,Thu,Fri 08:00-19:00") && msg.contains("Sat 11:00 in Europe/Paris"), "{msg}");
}

#[test]
fn time_window_closing_before_approval_denies() {
    let admins = vec![Subject::group("admins")];
    let mut w = World::new(alice(), policy(vec![office_hours(), peer_review(admins, 1)]));
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Pending));
    // Approved at 19:30 local: too late.
    w.now = t("2026-11-23T18:30:00Z");
    let mut p = w.policy.clone().unwrap();
    p.spec.pending_timeout = Some("12h".into());
    w.policy = Some(p);
    let e = w.escalation.clone();
    w.reviews.push(approve(&e, "bob", &["admins"]));
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Denied));
    assert!(w.details().contains("time window closed"));
}

#[test]
fn peer_review_counts_only_distinct_eligible_others() {
    let admins = vec![Subject::group("admins")];
    // alice is herself an admin: her approval must not count.
    let e = escalation("alice", &["squad-a", "admins"]);
    let mut w = World::new(e.clone(), policy(vec![peer_review(admins, 2)]));
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Pending);
    assert_eq!(d.status.state_details, "waiting for 2 approvals from group admins");
    assert_eq!(d.requeue_at, Some(at(3600)), "pending timeout (default 1h)");
    assert!(d.actions.is_empty());

    w.reviews.push(approve(&e, "alice", &["squad-a", "admins"])); // self
    w.reviews.push(approve(&e, "mallory", &["squad-a"])); // not a reviewer
    let mut other = alice();
    other.metadata.uid = Some("another-instance".into());
    w.reviews.push(approve(&other, "carol", &["admins"])); // a namesake's review
    w.reviews.push(approve(&e, "bob", &["admins"]));
    w.reviews.push(approve(&e, "bob", &["admins"])); // twice
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Pending);
    assert_eq!(d.status.challenges[0].approved_by, ["bob"]);
    assert_eq!(d.status.state_details, "waiting for 1 approval from group admins");

    w.reviews.push(approve(&e, "dave", &["admins"]));
    w.now = at(600);
    let d = w.step();
    assert_eq!(d.transition, Some((Some(EscalationState::Pending), EscalationState::Accepted)));
    assert_eq!(d.status.challenges[0].state, ChallengeState::Passed);
    assert_eq!(d.status.challenges[0].approved_by, ["bob", "dave"]);
    assert_eq!(d.status.expires_at.unwrap().0, at(600 + 3600), "the clock starts at acceptance");
}

#[test]
fn one_eligible_rejection_denies_and_ineligible_ones_are_ignored() {
    let e = alice();
    let mut w = World::new(e.clone(), policy(vec![peer_review(vec![Subject::user("bob")], 1)]));
    w.step();
    let mut r = review(&e, "mallory", &[], ReviewDecision::Rejected);
    r.spec.message = "no".into();
    w.reviews.push(r);
    assert_eq!(w.decide().status.state, EscalationState::Pending);
    let mut r = review(&e, "bob", &[], ReviewDecision::Rejected);
    r.spec.message = "not during the freeze".into();
    w.reviews.push(r);
    w.reviews.push(approve(&e, "bob", &[]));
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Denied);
    assert_eq!(d.status.state_details, "rejected by bob: not during the freeze");
    assert_eq!(d.status.challenges[0].state, ChallengeState::Failed);
}

#[test]
fn pending_timeout_expires() {
    let mut p = policy(vec![peer_review(vec![Subject::group("admins")], 1)]);
    p.spec.pending_timeout = Some("10m".into());
    let mut w = World::new(alice(), p);
    assert_eq!(w.step().requeue_at, Some(at(600)));
    w.now = at(599);
    assert_eq!(w.decide().status.state, EscalationState::Pending);
    w.now = at(600);
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Expired);
    assert!(d.status.state_details.contains("pending timeout (10m)"));
}

#[test]
fn revoke_ends_pending_and_accepted() {
    let mut w = World::new(alice(), policy(vec![peer_review(vec![Subject::group("admins")], 1)]));
    w.step();
    w.escalation.spec.revoked = true;
    w.escalation.spec.revoked_by = "alice".into();
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Expired);
    assert_eq!(d.status.state_details, "revoked by alice while pending");

    let mut w = World::new(alice(), policy(vec![]));
    w.step();
    w.escalation.spec.revoked = true;
    w.escalation.spec.revoked_by = "root".into();
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Expired);
    assert_eq!(d.actions, vec![Action::Reclaim(0)]);
    assert!(d.status.state_details.starts_with("revoked by root"));
}

#[test]
fn policy_change_or_deletion_denies_and_reclaims() {
    for change in ["generation", "uid", "deleted", "deleting"] {
        let mut w = World::new(alice(), policy(vec![]));
        w.step();
        let p = w.policy.as_mut().unwrap();
        match change {
            "generation" => p.metadata.generation = Some(2),
            "uid" => p.metadata.uid = Some("policy-uid-2".into()),
            "deleting" => {
                p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t(T0)))
            }
            _ => w.policy = None,
        }
        let d = w.step();
        assert_eq!(d.status.state, EscalationState::Denied, "{change}");
        assert_eq!(d.actions, vec![Action::Reclaim(0)], "{change}");
        assert!(d.status.state_details.contains("reclaimed"), "{change}");
    }
    // While pending too.
    let mut w = World::new(alice(), policy(vec![peer_review(vec![Subject::group("admins")], 1)]));
    w.step();
    w.policy.as_mut().unwrap().metadata.generation = Some(7);
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Denied);
    assert!(d.status.state_details.contains("generation 1 -> 7"), "{}", d.status.state_details);
}

#[test]
fn missing_identity_guards_refuse_everything() {
    let mut w = World::new(alice(), policy(vec![]));
    w.missing_guards = vec!["kudo-escalation-identity".into()];
    let msg = denied(&w);
    assert!(msg.contains("kudo-escalation-identity") && msg.contains("kubectl kudo manifests"), "{msg}");
}

#[test]
fn tampered_or_deleted_bindings_deny_and_reclaim() {
    for obs in [Observation::Absent, Observation::Tampered("subjects changed".into())] {
        let mut w = World::new(alice(), policy(vec![]));
        w.step();
        w.observed.insert("kudo-gain-port-forward-x7k2p-0".into(), obs.clone());
        let d = w.step();
        assert_eq!(d.status.state, EscalationState::Denied, "{obs:?}");
        assert_eq!(d.actions, vec![Action::Reclaim(0)]);
        assert!(d.status.state_details.contains("outside kudo"));
    }
    // Intact bindings change nothing.
    let mut w = World::new(alice(), policy(vec![]));
    w.step();
    w.observed.insert("kudo-gain-port-forward-x7k2p-0".into(), Observation::Intact);
    assert_eq!(w.decide().transition, None);
}

#[test]
fn final_states_stay_final_and_finish_reclaiming() {
    let mut w = World::new(alice(), policy(vec![]));
    let d = w.decide();
    // Crash after writing ACCEPTED, and the escalation then got revoked.
    let mut s = d.status;
    s.state = EscalationState::Expired;
    w.escalation.status = Some(s);
    let d = w.decide();
    assert_eq!(d.status.state, EscalationState::Expired);
    assert_eq!(d.actions, vec![Action::Reclaim(0)], "PENDING refs are reclaimed too");
    w.step();
    // Nothing revives it: not a new policy, not approvals, not time.
    w.policy.as_mut().unwrap().metadata.generation = Some(9);
    w.now = at(10);
    let d = w.decide();
    assert_eq!(d.status.state, EscalationState::Expired);
    assert!(d.actions.is_empty());
    assert_eq!(d.transition, None);
}

#[test]
fn revoked_before_evaluation_expires_without_grants() {
    let mut e = alice();
    e.spec.revoked = true;
    e.spec.revoked_by = "alice".into();
    let d = World::new(e, policy(vec![])).decide();
    assert_eq!(d.status.state, EscalationState::Expired);
    assert!(d.actions.is_empty());
}

fn scheduled(offset_secs: i64) -> Escalation {
    let mut e = alice();
    e.spec.start_at = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(offset_secs)));
    e
}

#[test]
fn a_scheduled_escalation_waits_for_its_start_and_its_clock_starts_then() {
    let admins = vec![Subject::group("admins")];
    let mut w = World::new(scheduled(1800), policy(vec![peer_review(admins, 1)]));
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Pending);
    assert!(w.details().contains("scheduled to start at"), "{}", w.details());
    // Approved early: still waits for startAt, and looks again exactly then.
    w.now = at(600);
    w.reviews.push(approve(&w.escalation, "bob", &["admins"]));
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Pending, "{}", w.details());
    assert_eq!(d.requeue_at, Some(at(1800)));
    w.now = at(1800);
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Accepted);
    assert_eq!(status(&w).accepted_at.as_ref().unwrap().0, at(1800));
    assert_eq!(status(&w).expires_at.as_ref().unwrap().0, at(1800 + 3600), "the duration counts from acceptance");
}

#[test]
fn a_start_in_the_past_or_beyond_the_pending_timeout_is_denied() {
    for (offset, says) in [(-120, "is in the past"), (3601, "later than policy gain-port-forward's pendingTimeout")] {
        let mut w = World::new(scheduled(offset), policy(vec![]));
        w.step();
        assert_eq!(w.state(), Some(EscalationState::Denied));
        assert!(w.details().contains(says), "{offset}: {}", w.details());
    }
    // Clock skew: up to a minute in the past is "now".
    let mut w = World::new(scheduled(-30), policy(vec![]));
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Accepted), "{}", w.details());
}

#[test]
fn the_time_window_is_checked_at_the_start_not_at_creation() {
    // Created Monday 19:30 in Paris (office hours are Mon-Fri 08:00-19:00),
    // to start Tuesday 09:00.
    let evening = 8 * 3600 + 1800;
    let mut p = policy(vec![office_hours()]);
    p.spec.pending_timeout = Some("24h".into());
    let mut e = scheduled(22 * 3600);
    e.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(evening)));
    let mut w = World::new(e.clone(), p.clone());
    w.now = at(evening);
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Pending), "{}", w.details());
    w.now = at(22 * 3600);
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Accepted), "{}", w.details());
    // To start Monday 23:00: the window is closed then, so it is denied at once.
    e.spec.start_at = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(12 * 3600)));
    let mut w = World::new(e, p);
    w.now = at(evening);
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Denied), "{}", w.details());
    assert!(w.details().contains("only allows escalating during"), "{}", w.details());
}

fn break_glass_policy() -> EscalationPolicy {
    let mut review = peer_review(vec![Subject::group("admins")], 2);
    review.break_glass = true;
    policy(vec![review])
}

fn breaking_glass() -> Escalation {
    let mut e = alice();
    e.spec.break_glass = true;
    e
}

#[test]
fn break_glass_is_accepted_at_once_and_owes_an_after_review() {
    let mut w = World::new(breaking_glass(), break_glass_policy());
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Accepted, "{}", w.details());
    assert_eq!(status(&w).challenges[0].state, ChallengeState::Bypassed);
    assert_eq!(status(&w).after_review, Some(AfterReview::Pending));
    // The requestor's own review is no after-review.
    w.now = at(60);
    w.reviews.push(approve(&w.escalation, "alice", &["squad-a", "admins"]));
    w.step();
    assert_eq!(status(&w).after_review, Some(AfterReview::Pending));
    w.reviews.push(approve(&w.escalation, "bob", &["admins"]));
    let d = w.step();
    assert_eq!((d.status.state, d.status.after_review), (EscalationState::Accepted, Some(AfterReview::Approved)));
    assert_eq!(d.status.after_review_by.as_deref(), Some("bob"), "the reviewer is recorded");
}

#[test]
fn a_rejected_after_review_ends_it_and_reclaims() {
    let mut w = World::new(breaking_glass(), break_glass_policy());
    w.step();
    w.now = at(60);
    w.reviews.push(review(&w.escalation, "carol", &["admins"], ReviewDecision::Rejected));
    let d = w.step();
    assert_eq!(d.transition, Some((Some(EscalationState::Accepted), EscalationState::Denied)));
    assert_eq!(d.actions, vec![Action::Reclaim(0)]);
    assert_eq!(status(&w).after_review, Some(AfterReview::Rejected));
    assert_eq!(status(&w).after_review_by.as_deref(), Some("carol"));
    assert!(w.details().contains("break-glass after-review rejected by carol"), "{}", w.details());
}

/// Issue 17, item 6: a break-glass escalation scheduled to start later.
fn scheduled_break_glass() -> Escalation {
    let mut e = breaking_glass();
    e.spec.start_at = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(600)));
    e
}

#[test]
fn a_rejection_before_a_scheduled_break_glass_starts_denies_with_no_binding() {
    let mut w = World::new(scheduled_break_glass(), break_glass_policy());
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Pending, "{}", w.details());
    w.now = at(60);
    w.reviews.push(review(&w.escalation, "carol", &["admins"], ReviewDecision::Rejected));
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Denied, "{}", w.details());
    assert!(w.details().contains("rejected by carol before acceptance"), "{}", w.details());
    assert!(d.actions.iter().all(|a| !matches!(a, Action::Create(_))));
    // At the start nothing is granted.
    w.now = at(600);
    let d = w.step();
    assert!(d.actions.is_empty() && status(&w).grant_refs.is_empty(), "{d:?}");
    // And the audit trail says the rejection counted.
    let verdict = kudo::engine::review::assess(
        Some(&break_glass_policy().spec),
        &scheduled_break_glass_with_uid(),
        &w.reviews[0],
    );
    assert!(verdict.is_ok(), "{verdict:?}");
}

fn scheduled_break_glass_with_uid() -> Escalation {
    let mut e = scheduled_break_glass();
    e.status = Some(EscalationStatus::new(EscalationState::Pending));
    e
}

#[test]
fn an_approval_before_acceptance_is_no_after_review() {
    let mut w = World::new(scheduled_break_glass(), break_glass_policy());
    w.step();
    w.now = at(60);
    w.reviews.push(approve(&w.escalation, "bob", &["admins"]));
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Pending), "{}", w.details());
    w.now = at(600);
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Accepted, "{}", w.details());
    assert_eq!(d.status.after_review, Some(AfterReview::Pending), "bob approved before acceptance");
    let early = kudo::engine::review::assess(Some(&break_glass_policy().spec), &w.escalation, &w.reviews[0]);
    assert!(early.as_ref().is_err_and(|why| why.contains("before")), "{early:?}");
    w.now = at(700);
    w.reviews.push(approve(&w.escalation, "carol", &["admins"]));
    let d = w.step();
    assert_eq!(
        (d.status.after_review, d.status.after_review_by.as_deref()),
        (Some(AfterReview::Approved), Some("carol"))
    );
}

/// Issue 17, item 7: RBAC's `use` never admits a ServiceAccount.
#[test]
fn the_use_verb_never_admits_a_service_account() {
    let mut e = alice();
    e.spec.requestor = "system:serviceaccount:app:bot".into();
    e.spec.requestor_groups =
        vec!["system:serviceaccounts".into(), "system:serviceaccounts:app".into(), "system:authenticated".into()];
    let mut p = policy(vec![]);
    p.spec.subjects = vec![Subject::group("system:authenticated")];
    let mut w = World::new(e, p);
    w.rbac_use_allowed = true;
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Denied), "{}", w.details());
}

/// Issue 17, item 8: `use` is checked again at acceptance.
#[test]
fn a_use_right_withdrawn_before_acceptance_denies() {
    let mut e = alice();
    e.spec.requestor = "zed".into();
    e.spec.requestor_groups = vec!["system:authenticated".into()];
    let mut w = World::new(e, policy(vec![peer_review(vec![Subject::group("admins")], 1)]));
    w.rbac_use_allowed = true;
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Pending), "{}", w.details());
    w.rbac_use_allowed = false;
    w.now = at(60);
    w.reviews.push(approve(&w.escalation, "bob", &["admins"]));
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Denied, "{}", w.details());
    assert!(w.details().contains("may not use policy"), "{}", w.details());
    assert!(d.actions.is_empty());
}

#[test]
fn an_after_review_of_an_ended_escalation_is_recorded_and_changes_nothing_else() {
    let mut w = World::new(breaking_glass(), break_glass_policy());
    w.step();
    w.now = at(3600);
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Expired));
    w.reviews.push(review(&w.escalation, "carol", &["admins"], ReviewDecision::Rejected));
    let d = w.step();
    assert_eq!((d.status.state, d.status.after_review), (EscalationState::Expired, Some(AfterReview::Rejected)));
    assert_eq!(d.transition, None);
}

#[test]
fn break_glass_needs_a_break_glass_review_on_the_policy() {
    let mut w = World::new(breaking_glass(), policy(vec![peer_review(vec![Subject::group("admins")], 1)]));
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Denied));
    assert!(w.details().contains("has no break-glass review"), "{}", w.details());
    // Without --break-glass, a break-glass review is an ordinary one.
    let mut w = World::new(alice(), break_glass_policy());
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Pending));
    assert_eq!(status(&w).after_review, None);
}

#[test]
fn overdue_after_reviews_are_named_for_the_policy_condition() {
    let mut w = World::new(breaking_glass(), break_glass_policy());
    w.step();
    let overdue =
        |now| kudo::engine::checks::overdue_after_reviews("gain-port-forward", [&w.escalation].into_iter(), now);
    assert!(overdue(at(86_400)).is_empty());
    assert_eq!(overdue(at(86_401)), ["gain-port-forward-x7k2p"]);
}

#[test]
fn the_break_glass_audit_record_is_marked_and_calls_for_review() {
    let mut w = World::new(breaking_glass(), break_glass_policy());
    w.step();
    let record = kudo::audit::Record::new(at(0), kudo::audit::Action::Transition, &w.escalation, None);
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["breakGlass"], true);
    assert_eq!(json["afterReview"], "PENDING");
    assert!(
        record.text.starts_with("BREAK-GLASS: alice took policy gain-port-forward without review"),
        "{}",
        record.text
    );
    assert!(record.text.contains("kubectl kudo deny gain-port-forward-x7k2p"), "{}", record.text);
    // An ordinary escalation's records carry neither field.
    let mut w = World::new(alice(), policy(vec![]));
    w.step();
    let json =
        serde_json::to_value(kudo::audit::Record::new(at(0), kudo::audit::Action::Transition, &w.escalation, None))
            .unwrap();
    assert!(json.get("breakGlass").is_none() && json.get("afterReview").is_none());
}

/// Issue 17, item 1: at most `cap` finished escalations per requestor, the
/// oldest going first, never one owed its after-review or still holding a grant.
#[test]
fn the_retention_cap_keeps_the_newest_and_every_owed_after_review() {
    use kudo::engine::retention::over_cap;
    let finished = |name: &str, requestor: &str, ended_at: i64, state: EscalationState| {
        let mut e = alice();
        e.metadata.name = Some(name.into());
        e.metadata.uid = Some(format!("uid-{name}"));
        e.spec.requestor = requestor.into();
        let mut s = EscalationStatus::new(state);
        s.finished_at = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(ended_at)));
        e.status = Some(s);
        e
    };
    let mut all: Vec<Escalation> =
        (0..5).map(|i| finished(&format!("junk-{i}"), "mallory", 100 - i, EscalationState::Denied)).collect();
    all.push(finished("alice-1", "alice", 0, EscalationState::Expired));
    let mut owed = finished("glass", "mallory", 0, EscalationState::Expired);
    owed.status.as_mut().unwrap().after_review = Some(AfterReview::Pending);
    all.push(owed);
    let mut holding = finished("holding", "mallory", 1, EscalationState::Denied);
    holding.status.as_mut().unwrap().grant_refs = alice_granted_refs();
    all.push(holding);
    let mut live = finished("live", "mallory", 2, EscalationState::Accepted);
    live.status.as_mut().unwrap().finished_at = None;
    all.push(live);
    let gone: Vec<&str> = over_cap(&all, 2).iter().map(|e| e.metadata.name.as_deref().unwrap()).collect();
    // mallory's five removable junk: the three that ended first go.
    assert_eq!(gone, ["junk-4", "junk-3", "junk-2"]);
    assert!(over_cap(&all, 5).is_empty());
}

fn alice_granted_refs() -> Vec<GrantRef> {
    let mut w = World::new(alice(), policy(vec![]));
    w.step();
    w.escalation.status.unwrap().grant_refs
}
