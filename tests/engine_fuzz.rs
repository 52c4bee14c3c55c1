//! Issue 10: no object anyone can write makes a decision panic. Arbitrary
//! (huge, empty, malformed, hostile) Escalations, Policies and Reviews, with
//! arbitrary observations and clocks, go through `engine::decide`, the CLI's
//! request checks, the reaper's rule and the audit records. Properties hold
//! on every case; a panic fails the run.
//!
//! Bounded for CI by proptest's case count (`PROPTEST_CASES`, default here
//! 2000); run longer with e.g. `PROPTEST_CASES=200000 cargo test --release --test engine_fuzz`.

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kudo::{
    api::*,
    audit::Record,
    engine::{self, Action, Inputs, Observation, binding, checks},
};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9-]{1,12}",
        "\\PC{0,40}",
        ".{0,40}",
        Just("a\u{1b}[2J\u{7}\u{202e}".to_string()),
        Just("x".repeat(5000)),
    ]
}

fn duration() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,4}(ns|us|µs|ms|s|m|h)",
        "[0-9]{1,40}(\\.[0-9]{0,40})?(ns|us|ms|s|m|h){1,3}",
        Just("99999999999999999999h".to_string()),
        Just("2562048h".to_string()),
        Just("9223372036854775808ns".to_string()),
        Just("8760h".to_string()),
        Just("0s".to_string()),
        Just(".5m".to_string()),
        text(),
    ]
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        Just(Timestamp::MIN),
        Just(Timestamp::MAX),
        (-1_000_000_000i64..4_000_000_000).prop_map(|s| Timestamp::from_second(s).unwrap()),
        (1_790_000_000i64..1_790_100_000).prop_map(|s| Timestamp::from_second(s).unwrap()),
    ]
}

fn subject() -> impl Strategy<Value = Subject> {
    (
        0..3u8,
        prop_oneof![text(), Just("system:authenticated".to_string()), Just("admins".to_string())],
        prop::option::of(text()),
    )
        .prop_map(|(k, name, namespace)| Subject {
            kind: [SubjectKind::User, SubjectKind::Group, SubjectKind::ServiceAccount][k as usize],
            name,
            namespace,
            api_group: None,
        })
}

fn challenge() -> impl Strategy<Value = Challenge> {
    (
        0..3u8,
        prop::collection::vec(subject(), 0..3),
        prop::option::of(0u32..20),
        prop::option::of(prop_oneof![Just("Europe/Paris".to_string()), Just("UTC".to_string()), text()]),
        prop::collection::vec(
            (
                prop::collection::vec(0..7u8, 0..4),
                text(),
                prop_oneof![Just("24:00".to_string()), Just("08:00".to_string()), text()],
            ),
            0..3,
        ),
        prop::option::of(prop_oneof![
            Just("[A-Z]+-[0-9]+".to_string()),
            Just("(".to_string()),
            Just("a{99999}{99999}".to_string()),
            text()
        ]),
    )
        .prop_map(|(k, reviewers, min_approvals, time_zone, windows, pattern)| {
            // Break-glass on every other PeerReview: the fuzzer sees both.
            let break_glass = min_approvals.is_some_and(|m: u32| m.is_multiple_of(2));
            use Weekday::*;
            let all = [Mon, Tue, Wed, Thu, Fri, Sat, Sun];
            Challenge {
                kind: [ChallengeKind::PeerReview, ChallengeKind::TimeWindow, ChallengeKind::Justification][k as usize],
                reviewers,
                min_approvals,
                time_zone,
                windows: windows
                    .into_iter()
                    .map(|(days, start, end)| Window {
                        days: days.into_iter().map(|d| all[d as usize]).collect(),
                        start,
                        end,
                    })
                    .collect(),
                pattern,
                break_glass,
            }
        })
}

fn grant() -> impl Strategy<Value = Grant> {
    (any::<bool>(), prop::option::of(text()), prop::collection::vec(text(), 0..3), any::<bool>(), text()).prop_map(
        |(cluster, default_namespace, allowed_namespaces, role, name)| Grant {
            kind: if cluster { GrantKind::KubernetesClusterRoleBinding } else { GrantKind::KubernetesRoleBinding },
            default_namespace,
            allowed_namespaces,
            role_ref: RoleRef {
                kind: if role { RoleKind::Role } else { RoleKind::ClusterRole },
                name,
                api_group: RBAC_GROUP.into(),
            },
        },
    )
}

fn policy() -> impl Strategy<Value = EscalationPolicy> {
    (
        prop::collection::vec(subject(), 0..3),
        prop::collection::vec(challenge(), 0..4),
        prop::option::of(duration()),
        prop::option::of(0u32..20_000),
        duration(),
        duration(),
        prop::collection::vec(grant(), 0..4),
        prop::option::of(0i64..5),
        prop::option::of(0u32..4),
    )
        .prop_map(
            |(
                subjects,
                challenges,
                pending_timeout,
                max_open,
                default_duration,
                max_duration,
                grants,
                generation,
                max_extensions,
            )| {
                let mut p = EscalationPolicy::new(
                    "p",
                    EscalationPolicySpec {
                        subjects,
                        challenges,
                        pending_timeout: pending_timeout.map(DurationText::new),
                        max_open_per_requestor: max_open,
                        notify: None,
                        target: Target {
                            default_duration: DurationText::new(default_duration),
                            max_duration: DurationText::new(max_duration),
                            max_extensions,
                            grants,
                        },
                    },
                );
                p.metadata.uid = Some("policy-uid".into());
                p.metadata.generation = generation;
                p
            },
        )
}

fn grant_ref() -> impl Strategy<Value = GrantRef> {
    (0..3u8, any::<bool>(), text(), prop::option::of(text()), prop::option::of(text())).prop_map(
        |(s, cluster, name, namespace, uid)| GrantRef {
            status: [GrantStatus::Pending, GrantStatus::Created, GrantStatus::Reclaimed][s as usize],
            reference: GrantObjectRef {
                kind: if cluster { GrantKind::KubernetesClusterRoleBinding } else { GrantKind::KubernetesRoleBinding },
                name,
                namespace,
                uid,
                resource_version: None,
            },
            role_ref: RoleRef { kind: RoleKind::ClusterRole, name: "r".into(), api_group: RBAC_GROUP.into() },
        },
    )
}

fn status() -> impl Strategy<Value = Option<EscalationStatus>> {
    prop::option::of((
        0..4u8,
        prop::option::of(timestamp()),
        prop::option::of(timestamp()),
        prop::option::of(timestamp()),
        prop::collection::vec(grant_ref(), 0..4),
        prop::option::of(prop_oneof![Just("policy-uid".to_string()), text()]),
        prop::option::of(0i64..5),
    ))
    .prop_map(|s| {
        s.map(|(state, accepted, expires, finished, refs, uid, generation)| {
            let mut st = EscalationStatus::new(
                [
                    EscalationState::Pending,
                    EscalationState::Accepted,
                    EscalationState::Denied,
                    EscalationState::Expired,
                ][state as usize],
            );
            st.accepted_at = accepted.map(Time);
            st.expires_at = expires.map(Time);
            st.finished_at = finished.map(Time);
            st.grant_refs = refs;
            st.policy_uid = uid;
            st.policy_generation = generation;
            st
        })
    })
}

fn escalation() -> impl Strategy<Value = Escalation> {
    (
        (text(), text(), prop::collection::vec(text(), 0..3), text()),
        (prop::option::of(text()), prop::option::of(duration()), any::<bool>(), text()),
        status(),
        prop::option::of(timestamp()),
        prop::option::of(text()),
        (prop::option::of(timestamp()), any::<bool>()),
    )
        .prop_map(
            |(
                (name, requestor, requestor_groups, reason),
                (namespace, duration, revoked, revoked_by),
                status,
                created,
                uid,
                (start_at, break_glass),
            )| {
                let mut e = Escalation::new(
                    &name,
                    EscalationSpec {
                        policy_name: "p".into(),
                        requestor,
                        requestor_groups,
                        reason,
                        namespace,
                        duration: duration.map(DurationText::new),
                        revoked,
                        revoked_by,
                        start_at: start_at.map(Time),
                        break_glass,
                        extends: String::new(),
                    },
                );
                e.metadata.uid = uid;
                e.metadata.creation_timestamp = created.map(Time);
                e.status = status;
                e
            },
        )
}

fn review(escalation: &Escalation) -> impl Strategy<Value = EscalationReview> + use<> {
    let (name, uid) =
        (escalation.metadata.name.clone().unwrap_or_default(), escalation.metadata.uid.clone().unwrap_or_default());
    (text(), prop::collection::vec(text(), 0..3), any::<bool>(), any::<bool>(), text()).prop_map(
        move |(reviewer, groups, approve, right, message)| {
            let mut r = EscalationReview::new(
                "r",
                EscalationReviewSpec {
                    escalation_name: name.clone(),
                    escalation_uid: if right { uid.clone() } else { "other".into() },
                    reviewer,
                    reviewer_groups: groups,
                    decision: if approve { ReviewDecision::Approved } else { ReviewDecision::Rejected },
                    message,
                },
            );
            r.metadata = ObjectMeta { name: Some("r".into()), ..Default::default() };
            r
        },
    )
}

fn world()
-> impl Strategy<Value = (Escalation, Option<EscalationPolicy>, Vec<EscalationReview>, Timestamp, Vec<Observation>, bool)>
{
    (escalation(), prop::option::of(policy()), timestamp(), prop::collection::vec(0..3u8, 0..4), any::<bool>())
        .prop_flat_map(|(esc, policy, now, observed, rbac)| {
            let reviews = prop::collection::vec(review(&esc), 0..4);
            let observed: Vec<Observation> = observed
                .into_iter()
                .map(|o| match o {
                    0 => Observation::Absent,
                    1 => Observation::Intact,
                    _ => Observation::Tampered("changed".into()),
                })
                .collect();
            (Just(esc), Just(policy), reviews, Just(now), Just(observed), Just(rbac))
        })
}

/// Runs `check` over `strategy` on a thread with a large stack: the value
/// trees of these nested strategies are deep in unoptimised builds.
fn fuzz<S>(strategy: fn() -> S, check: fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy + 'static,
    S::Value: std::fmt::Debug,
{
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2000);
    let run = move || {
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
        runner.run(&strategy(), check).map_err(|e| e.to_string())
    };
    let outcome = std::thread::Builder::new().stack_size(256 << 20).spawn(run).unwrap().join().unwrap();
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[test]
fn decisions_are_total_and_keep_the_invariants() {
    fuzz(world, check_decision);
}

#[test]
fn arbitrary_json_objects_never_panic() {
    fuzz(|| (arbitrary_json(), timestamp()), check_json);
}

type World = (Escalation, Option<EscalationPolicy>, Vec<EscalationReview>, Timestamp, Vec<Observation>, bool);

fn check_decision((esc, policy, reviews, now, observed, rbac): World) -> Result<(), TestCaseError> {
    {
        let refs: Vec<String> =
            esc.status.iter().flat_map(|s| s.grant_refs.iter().map(|r| r.reference.name.clone())).collect();
        let observed: BTreeMap<String, Observation> = refs.into_iter().zip(observed).collect();
        let guards = Vec::new();
        let open = Vec::new();
        let decision = engine::decide(&Inputs {
            now,
            escalation: &esc,
            policy: policy.as_ref(),
            reviews: &reviews,
            rbac_use_allowed: rbac,
            missing_guards: &guards,
            open_escalations: &open,
            observed: &observed,
            extension: Default::default(),
        });
        let before = esc.state();
        // DENIED and EXPIRED are final.
        if let Some(s) = before.filter(|s| s.is_final()) {
            prop_assert_eq!(decision.status.state, s);
        }
        // Nothing is created unless the new status is ACCEPTED, before expiresAt, and names it.
        for a in &decision.actions {
            if let Action::Create(i) = a {
                prop_assert_eq!(decision.status.state, EscalationState::Accepted);
                prop_assert!(*i < decision.status.grant_refs.len());
                let expires = decision.status.expires_at.as_ref().map(|t| t.0);
                prop_assert!(expires.is_some_and(|e| now < e), "create at {} past {:?}", now, expires);
            }
        }
        if decision.status.state.is_final() {
            prop_assert!(decision.actions.iter().all(|a| matches!(a, Action::Reclaim(_))));
        }
        // Never BYPASSED without breakGlass on both the challenge and the escalation.
        for (i, c) in decision.status.challenges.iter().enumerate() {
            if c.state == ChallengeState::Bypassed {
                let challenge = policy.as_ref().and_then(|p| p.spec.challenges.get(i));
                prop_assert!(esc.spec.break_glass && challenge.is_some_and(|c| c.break_glass));
            }
        }
        // A rejected after-review always ends the escalation and reclaims.
        if decision.status.after_review == Some(AfterReview::Rejected) {
            prop_assert!(decision.status.state.is_final());
            prop_assert!(decision.actions.iter().all(|a| matches!(a, Action::Reclaim(_))));
        }
        // Accepted now: not before startAt, and expiresAt - acceptedAt is the duration asked.
        if before != Some(EscalationState::Accepted) && decision.status.state == EscalationState::Accepted {
            if let Some(start) = &esc.spec.start_at {
                prop_assert!(now >= start.0);
            }
            if let (Some(a), Some(e), Some(p)) = (&decision.status.accepted_at, &decision.status.expires_at, &policy) {
                let asked = checks::duration(&p.spec, &esc.spec, "p");
                // Stored times have whole seconds: a sub-second remainder is cut, never added.
                let whole =
                    |d| a.0.checked_add(d).map_or(e.0 == jiff::Timestamp::MAX, |x| x.as_second() == e.0.as_second());
                prop_assert!(asked.is_ok_and(whole), "{:?} {:?} {:?}", a, e, esc.spec.duration);
            }
        }
        // The grant duration never exceeds the bound, whatever was asked.
        if let (Some(a), Some(e)) = (&decision.status.accepted_at, &decision.status.expires_at)
            && before != Some(EscalationState::Accepted)
            && decision.status.state == EscalationState::Accepted
        {
            prop_assert!(e.0.duration_since(a.0) <= kudo::api::duration::MAX_DURATION);
        }
        // The same escalation as an extension of an arbitrary one (itself
        // under another name, with an arbitrary status): accepted only
        // from a running one of the same requestor and policy, within the cap.
        let mut ext = esc.clone();
        ext.spec.extends = "target".into();
        let mut target = esc.clone();
        target.metadata.name = Some("target".into());
        target.metadata.uid = Some("target-uid".into());
        let as_extension = engine::decide(&Inputs {
            now,
            escalation: &ext,
            policy: policy.as_ref(),
            reviews: &reviews,
            rbac_use_allowed: rbac,
            missing_guards: &guards,
            open_escalations: &open,
            observed: &observed,
            extension: engine::extension::View { extended: Some(&target), rivals: &[], superseded_by: None },
        });
        if before != Some(EscalationState::Accepted) && as_extension.status.state == EscalationState::Accepted {
            let old = target.status.as_ref();
            prop_assert!(old.is_some_and(|s| s.state == EscalationState::Accepted) && !target.spec.revoked);
            prop_assert!(old.is_some_and(|s| s.expires_at.as_ref().is_some_and(|e| now < e.0)));
            let max = policy.as_ref().map_or(0, |p| p.spec.target.max_extensions());
            prop_assert!(as_extension.status.extension_count >= 1 && as_extension.status.extension_count <= max);
        }
        let _ = engine::extension::rivals(&ext, [&esc, &target, &ext]);
        let _ = engine::extension::superseding(&target, [&esc, &ext]);
        // The CLI's pre-checks, the retention rule, the reaper's rule and the audit records are total too.
        if let Some(p) = &policy {
            let _ = checks::request(&p.spec, &esc.spec, "p", now);
            let _ = checks::schedule(&p.spec, &esc.spec, "p", now);
            let _ = checks::open_limit(&p.spec, "p", &["a".to_string()]);
            let _ = checks::policy_problems(&p.spec);
            let _ = checks::open_escalations(&esc, [&esc]);
        }
        let _ = engine::retention_due(&esc, SignedDuration::from_hours(720));
        for r in &reviews {
            let verdict = engine::review::assess(policy.as_ref().map(|p| &p.spec), &esc, r);
            let record = Record::review(now, &esc, r, &verdict);
            prop_assert!(!record.text.chars().any(char::is_control));
        }
        let mut shown = esc.clone();
        shown.status = Some(decision.status.clone());
        let _ = serde_json::to_string(
            &Record::new(now, kudo::audit::Action::Transition, &shown, before).with_object(&shown),
        );
        let seen = HashMap::from([(
            shown.metadata.name.clone().unwrap_or_default(),
            binding::Seen::read(
                shown.metadata.uid.clone().unwrap_or_default(),
                false,
                &serde_json::to_value(&shown).unwrap_or_default(),
            ),
        )]);
        for g in &decision.status.grant_refs {
            if let Some(b) = binding::binding(&shown, g) {
                // As live, with the UID status recorded for it, if any.
                let found =
                    binding::Found { uid: g.reference.uid.clone().unwrap_or_default(), ..binding::Found::of(&b) };
                let _ = binding::reap_decision(&found, &HashMap::new(), now);
                // The binding kudo made is one its escalation's status records.
                if let Some(reap) = binding::reap_decision(&found, &seen, now) {
                    prop_assert_eq!(reap.urgency.provenance, binding::Provenance::Recorded);
                    prop_assert!(reap.urgency.due_since <= now);
                }
                let _ = binding::orphan_reason(&b, Some(&shown), now);
            }
        }
    }
    Ok(())
}

/// Arbitrary JSON: what deserializes goes through `decide` without panicking.
fn check_json((json, now): (serde_json::Value, Timestamp)) -> Result<(), TestCaseError> {
    // The reaper reads escalations as untyped JSON: whatever a user wrote.
    let _ = kudo::engine::binding::Seen::read("u".into(), false, &json);
    {
        if let Ok(esc) = serde_json::from_value::<Escalation>(json.clone()) {
            let policy = serde_json::from_value::<EscalationPolicy>(json).ok();
            let observed = BTreeMap::new();
            let _ = engine::decide(&Inputs {
                now,
                escalation: &esc,
                policy: policy.as_ref(),
                reviews: &[],
                rbac_use_allowed: true,
                missing_guards: &[],
                open_escalations: &[],
                observed: &observed,
                extension: Default::default(),
            });
        }
    }
    Ok(())
}

fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        text().prop_map(serde_json::Value::String),
        duration().prop_map(serde_json::Value::String),
    ];
    let value = leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,16}", inner, 0..5).prop_map(|m| json!(m)),
        ]
    });
    (value.clone(), value.clone(), value.clone(), value).prop_map(|(spec_extra, status, duration, target)| {
        let mut spec = json!({"policyName": "p", "requestor": "alice", "requestorGroups": [], "reason": "r",
            "duration": duration, "subjects": [], "target": target});
        if let (Some(s), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
            s.extend(extra.clone());
        }
        json!({"apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "Escalation", "metadata": {"name": "e", "uid": "u"},
            "spec": spec, "status": status})
    })
}
