//! Property tests: random policies and random histories (time passing,
//! reviews, revokes, policy edits, tampering), checking the invariants of
//! DESIGN §2 after every step.

mod common;

use common::*;
use jiff::SignedDuration;
use kudo::{
    api::*,
    engine::{Action, Observation},
};
use proptest::prelude::*;

const PEOPLE: [&str; 4] = ["alice", "bob", "carol", "dave"];

#[derive(Clone, Debug)]
enum Event {
    Wait(i64),
    Review { who: usize, admin: bool, approve: bool, right_uid: bool },
    Revoke,
    EditPolicy,
    DeleteBinding,
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (1i64..9000).prop_map(Event::Wait),
        4 => (0..PEOPLE.len(), any::<bool>(), prop::bool::weighted(0.8), prop::bool::weighted(0.9))
            .prop_map(|(who, admin, approve, right_uid)| Event::Review { who, admin, approve, right_uid }),
        1 => Just(Event::Revoke),
        1 => Just(Event::EditPolicy),
        1 => Just(Event::DeleteBinding),
    ]
}

#[derive(Clone, Debug)]
struct Setup {
    min_approvals: Option<u32>,
    requestor_is_admin: bool,
    requested_minutes: Option<i64>,
    max_minutes: i64,
    pending_minutes: i64,
    cluster_grant: bool,
}

fn setup() -> impl Strategy<Value = Setup> {
    (prop::option::of(1u32..4), any::<bool>(), prop::option::of(1i64..600), 1i64..480, 1i64..240, any::<bool>())
        .prop_map(
            |(min_approvals, requestor_is_admin, requested_minutes, max_minutes, pending_minutes, cluster_grant)| {
                Setup {
                    min_approvals,
                    requestor_is_admin,
                    requested_minutes,
                    max_minutes,
                    pending_minutes,
                    cluster_grant,
                }
            },
        )
}

fn world(s: &Setup) -> World {
    let challenges = s.min_approvals.map(|m| vec![peer_review(vec![Subject::group("admins")], m)]).unwrap_or_default();
    let mut p = policy(challenges);
    p.spec.target.max_duration = DurationText::new(format!("{}m", s.max_minutes));
    p.spec.target.default_duration = DurationText::new(format!("{}m", s.max_minutes.min(60)));
    p.spec.pending_timeout = Some(DurationText::new(format!("{}m", s.pending_minutes)));
    if s.cluster_grant {
        p.spec.target.grants.push(grant_crb("view"));
    }
    let groups: &[&str] = if s.requestor_is_admin { &["squad-a", "admins"] } else { &["squad-a"] };
    let mut e = escalation("alice", groups);
    e.spec.duration = s.requested_minutes.map(|m| DurationText::new(format!("{m}m")));
    World::new(e, p)
}

fn rank(s: Option<EscalationState>) -> u8 {
    match s {
        None => 0,
        Some(EscalationState::Pending) => 1,
        Some(EscalationState::Accepted) => 2,
        Some(EscalationState::Denied | EscalationState::Expired) => 3,
    }
}

fn apply(w: &mut World, e: &Event) {
    match e {
        Event::Wait(secs) => w.now += SignedDuration::from_secs(*secs),
        Event::Review { who, admin, approve, right_uid } => {
            let mut target = w.escalation.clone();
            if !right_uid {
                target.metadata.uid = Some("someone-else".into());
            }
            let groups: &[&str] = if *admin { &["admins"] } else { &[] };
            let decision = if *approve { ReviewDecision::Approved } else { ReviewDecision::Rejected };
            w.reviews.push(review(&target, PEOPLE[*who], groups, decision));
        }
        Event::Revoke => {
            w.escalation.spec.revoked = true;
            w.escalation.spec.revoked_by = "alice".into();
        }
        Event::EditPolicy => {
            let p = w.policy.as_mut().unwrap();
            p.metadata.generation = p.metadata.generation.map(|g| g + 1);
        }
        Event::DeleteBinding => {
            if let Some(r) = w.escalation.status.as_ref().and_then(|s| s.grant_refs.first()) {
                w.observed.insert(r.reference.name.clone(), Observation::Absent);
            }
        }
    }
}

/// An approval that counts: right instance, eligible, not the requestor.
fn counted_approvers(w: &World) -> std::collections::BTreeSet<String> {
    w.reviews
        .iter()
        .filter(|r| {
            r.spec.escalation_uid == w.escalation.metadata.uid.clone().unwrap()
                && r.spec.reviewer != w.escalation.spec.requestor
                && r.spec.reviewer_groups.iter().any(|g| g == "admins")
                && r.spec.decision == ReviewDecision::Approved
        })
        .map(|r| r.spec.reviewer.clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn invariants_hold_over_any_history(s in setup(), events in prop::collection::vec(event(), 0..24)) {
        let mut w = world(&s);
        let requested = s.requested_minutes.unwrap_or(s.max_minutes.min(60));
        for e in std::iter::once(None).chain(events.iter().map(Some)) {
            if let Some(e) = e {
                apply(&mut w, e);
            }
            let before = w.state();
            let d = w.decide();

            // Deterministic.
            prop_assert_eq!(&d, &w.decide());
            // Never backwards; final is final.
            prop_assert!(rank(Some(d.status.state)) >= rank(before), "{:?} -> {:?}", before, d.status.state);
            if before.is_some_and(EscalationState::is_final) {
                prop_assert_eq!(Some(d.status.state), before);
            }
            // Every Create names a ref that status records, and happens only
            // while ACCEPTED and before expiresAt.
            for a in &d.actions {
                if let Action::Create(i) = *a {
                    prop_assert!(i < d.status.grant_refs.len());
                    prop_assert_eq!(d.status.state, EscalationState::Accepted);
                    prop_assert!(w.now < d.status.expires_at.clone().unwrap().0);
                }
            }
            // Final states reclaim everything not yet reclaimed.
            if d.status.state.is_final() {
                prop_assert!(d.actions.iter().all(|a| matches!(a, Action::Reclaim(_))));
                let pending = d.status.grant_refs.iter().filter(|r| r.status != GrantStatus::Reclaimed).count();
                prop_assert_eq!(d.actions.len(), pending);
            }
            if d.status.state == EscalationState::Accepted {
                let accepted = d.status.accepted_at.clone().unwrap().0;
                let expires = d.status.expires_at.clone().unwrap().0;
                // No grant outlives what was asked, nor the policy maximum.
                prop_assert!(expires.duration_since(accepted) <= SignedDuration::from_mins(requested.min(s.max_minutes)));
                prop_assert!(requested <= s.max_minutes);
                prop_assert_eq!(d.requeue_at, Some(expires));
                // Accepted only with enough approvals, never the requestor's own.
                if let Some(min) = s.min_approvals {
                    prop_assert!(counted_approvers(&w).len() >= min as usize);
                    let approved_by = &d.status.challenges[0].approved_by;
                    prop_assert!(!approved_by.iter().any(|a| a == "alice"));
                }
            }
            // Carried out in an order that makes crashes and stale views harmless.
            write_order_holds(w.escalation.status.as_ref(), &d)?;
            w.step();
        }
    }

    #[test]
    fn the_requestor_never_approves_themself(min in 1u32..3, copies in 1usize..5) {
        let e = escalation("alice", &["squad-a", "admins"]);
        let mut w = World::new(e.clone(), policy(vec![peer_review(vec![Subject::group("admins"), Subject::user("alice")], min)]));
        for _ in 0..copies {
            w.reviews.push(approve(&e, "alice", &["squad-a", "admins"]));
        }
        let d = w.decide();
        prop_assert_eq!(d.status.state, EscalationState::Pending, "{}", d.status.state_details);
        prop_assert!(d.status.challenges[0].approved_by.is_empty());
    }
}

/// The write order (engine::writes::plan) of a decision made from `stored`:
/// no binding is created before status names it durably (written, or
/// confirmed current by a fresh read); a transition is recorded only once
/// the status reaching it is written, or, if it ends the escalation, just
/// before the one write that reaches it; a decision that only reclaims deletes
/// before it writes; each action runs once, in order; outcomes are written.
fn write_order_holds(stored: Option<&EscalationStatus>, d: &kudo::engine::Decision) -> Result<(), TestCaseError> {
    use kudo::engine::writes::{Step, plan};
    let steps = plan(stored, d);
    let first = |want: fn(&Step) -> bool| steps.iter().position(want);
    let durable = first(|s| matches!(s, Step::WriteStatus | Step::ConfirmCurrent));
    let acts: Vec<usize> = steps.iter().filter_map(|s| if let Step::Act(i) = s { Some(*i) } else { None }).collect();
    prop_assert_eq!(acts, (0..d.actions.len()).collect::<Vec<_>>(), "{:?}", steps);
    for (at, step) in steps.iter().enumerate() {
        if let Step::Act(i) = step
            && matches!(d.actions[*i], Action::Create(_))
        {
            prop_assert!(durable.is_some_and(|w| w < at), "a create before status is durable: {:?}", steps);
        }
        if *step == Step::AuditTransition {
            let written_before = steps[..at].iter().any(|s| matches!(s, Step::WriteStatus | Step::WriteOutcomes));
            // An ending is recorded just before the write that reaches it
            // and carries its mark (nothing can undo it; at least once).
            let ends = d.transition.is_some_and(|(_, to)| to.is_final());
            let written_next = steps.get(at + 1) == Some(&Step::WriteOutcomes);
            prop_assert!(
                written_before || (ends && written_next),
                "a transition recorded before it is written: {:?}",
                steps
            );
            prop_assert!(!(ends && steps.contains(&Step::WriteMark)), "an ending costs a second write: {:?}", steps);
        }
    }
    prop_assert_eq!(d.transition.is_some(), steps.contains(&Step::AuditTransition), "{:?}", steps);
    if d.actions.iter().all(|a| matches!(a, Action::Reclaim(_))) {
        let first_write = first(|s| matches!(s, Step::WriteStatus | Step::WriteOutcomes));
        let last_act = steps.iter().rposition(|s| matches!(s, Step::Act(_)));
        prop_assert!(last_act.is_none_or(|a| first_write.is_some_and(|w| a < w)), "{:?}", steps);
    }
    prop_assert!(steps.contains(&Step::WriteOutcomes));
    Ok(())
}

/// Whether some assignment of distinct approvers gives every stage its
/// minimum: tried exhaustively (each approver to one stage, or to none).
fn stages_can_pass(eligible: &[Vec<bool>], mins: &[u32]) -> bool {
    let people = eligible.len();
    let choices = mins.len() + 1;
    (0..choices.pow(people as u32)).any(|mut code| {
        let mut got = vec![0u32; mins.len()];
        for person in eligible {
            let pick = code % choices;
            code /= choices;
            if pick < mins.len() {
                if !person[pick] {
                    return false;
                }
                got[pick] += 1;
            }
        }
        got.iter().zip(mins).all(|(g, m)| g >= m)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Staged PeerReviews pass exactly when distinct approvers can be
    /// assigned to them, and no approver is listed on two stages.
    #[test]
    fn stages_need_distinct_approvers(
        groups in prop::collection::vec(prop::collection::vec(any::<bool>(), 3), 1..5),
        mins in prop::collection::vec(1u32..3, 3),
        approving in prop::collection::vec(any::<bool>(), 1..5),
    ) {
        // Person i belongs to group g when groups[i][g]; stage g asks group g.
        let stage_names = ["team", "security", "sre"];
        let e = escalation("zed", &["squad-a"]);
        let challenges = (0..3).map(|g| peer_review(vec![Subject::group(stage_names[g])], mins[g])).collect();
        let mut w = World::new(e.clone(), policy(challenges));
        let mut eligible = Vec::new();
        for (i, member) in groups.iter().enumerate() {
            if !approving.get(i).copied().unwrap_or(false) {
                continue;
            }
            let mine: Vec<&str> = (0..3).filter(|g| member[*g]).map(|g| stage_names[g]).collect();
            w.reviews.push(approve(&e, &format!("person-{i}"), &mine));
            eligible.push(member.clone());
        }
        let d = w.decide();
        let expect = stages_can_pass(&eligible, &mins);
        prop_assert_eq!(d.status.state == EscalationState::Accepted, expect, "{}", d.status.state_details);
        let mut listed: Vec<&String> = d.status.challenges.iter().flat_map(|c| &c.approved_by).collect();
        let total = listed.len();
        listed.sort();
        listed.dedup();
        prop_assert_eq!(listed.len(), total, "an approver counted on two stages");
    }
}

fn pick(from: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::sample::select(from), 0..3).prop_map(|v| v.into_iter().map(String::from).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// `which` evaluates rules exactly as the fake API server's RBAC
    /// authorizer does (both follow Kubernetes' `RuleAllows`).
    #[test]
    fn rule_evaluation_agrees_with_the_fake_authorizer(
        verbs in pick(&["get", "list", "create", "*"]),
        groups in pick(&["", "apps", "*"]),
        resources in pick(&["pods", "pods/log", "*/log", "pods/*", "deployments", "*"]),
        names in pick(&["", "db", "web"]),
        verb in prop::sample::select(&["get", "list", "create"][..]),
        group in prop::sample::select(&["", "apps"][..]),
        resource in prop::sample::select(&["pods", "deployments"][..]),
        subresource in prop::sample::select(&["", "log", "exec"][..]),
        name in prop::sample::select(&["", "db", "web"][..]),
    ) {
        let rule = k8s_openapi::api::rbac::v1::PolicyRule {
            verbs: verbs.clone(),
            api_groups: Some(groups.clone()),
            resources: Some(resources.clone()),
            resource_names: Some(names.clone()),
            non_resource_urls: None,
        };
        let request = kudo::engine::rbac::Request {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            name: name.into(),
            namespace: "app".into(),
        };
        let attributes = memory_apiserver::Attributes {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            namespace: "app".into(),
            name: name.into(),
        };
        let json = serde_json::json!({"verbs": verbs, "apiGroups": groups, "resources": resources, "resourceNames": names});
        prop_assert_eq!(
            kudo::engine::rbac::rule_allows(&rule, &request),
            memory_apiserver::rule_allows(&json, &attributes)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// No decision from a view older than the controller's own last write:
    /// a view may be decided on exactly when its resourceVersion is at
    /// least the write's, compared as integers of any length; anything
    /// that cannot be ordered is never decided on as it is.
    #[test]
    fn no_decision_from_a_view_older_than_ones_own_write(
        view in any::<u128>(),
        written in any::<u128>(),
        junk in "[0-9a-z -]{0,4}",
    ) {
        use kudo::engine::freshness::{ViewAge, view_age};
        let (v, w) = ((view | 1).to_string(), (written | 1).to_string());
        let age = view_age(Some(&v), Some(&w));
        prop_assert_eq!(age == ViewAge::Current, view | 1 >= written | 1);
        prop_assert_eq!(age == ViewAge::Behind, view | 1 < written | 1);
        let orderable = !junk.is_empty() && !junk.starts_with('0') && junk.bytes().all(|b| b.is_ascii_digit());
        if !orderable {
            prop_assert_eq!(view_age(Some(&junk), Some(&w)), ViewAge::Unknown);
            prop_assert_eq!(view_age(Some(&v), Some(&junk)), ViewAge::Unknown);
        }
        prop_assert_eq!(view_age(None, Some(&w)), ViewAge::Unknown);
    }
}
