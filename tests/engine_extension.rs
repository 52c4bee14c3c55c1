//! Extensions (`spec.extends`, issue 21): the refusals with their messages,
//! and a simulation of the controller over several escalations of one
//! chain (any order of reconciles, crashes between writing status and
//! acting, reviews, revocations, rival extensions, time passing), checking
//! after every step: no gap at a takeover, no binding past its
//! escalation's expiresAt, at most one extension of an escalation
//! ACCEPTED at a time, the cap, and nobody extending someone else's escalation.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kudo::{
    api::*,
    engine::{self, Action, Inputs, Observation, checks, extension},
};
use proptest::prelude::*;

fn named(mut e: Escalation, name: &str, uid: &str, created: Timestamp) -> Escalation {
    e.metadata.name = Some(name.into());
    e.metadata.uid = Some(uid.into());
    e.metadata.creation_timestamp = Some(Time(created));
    e
}

fn extensible(max: u32) -> EscalationPolicy {
    let mut p = policy(vec![]);
    p.spec.target.max_extensions = Some(max);
    p
}

/// Alice's escalation "old", accepted at T0 for 60 minutes, its binding created.
fn running(p: &EscalationPolicy) -> Escalation {
    let mut w = World::new(named(alice(), "old", "uid-old", t(T0)), p.clone());
    w.step();
    assert_eq!(w.state(), Some(EscalationState::Accepted), "{}", w.details());
    w.escalation
}

fn extension_of(target: &str, requestor: &str, name: &str, created: Timestamp) -> Escalation {
    let mut e = named(escalation(requestor, &["squad-a"]), name, &format!("uid-{name}"), created);
    e.spec.extends = target.into();
    e
}

/// The first decision on `ext`, as the controller makes it.
fn first_decision(p: &EscalationPolicy, ext: &Escalation, old: Option<&Escalation>, now: Timestamp) -> String {
    let mut w = World::new(ext.clone(), p.clone());
    w.now = now;
    w.extended = old.cloned();
    let d = w.decide();
    assert_eq!(d.status.state, EscalationState::Denied, "{}", d.status.state_details);
    d.status.state_details
}

#[test]
fn refusals_say_why_and_what_to_do() {
    let p = extensible(1);
    let old = running(&p);
    let now = at(60);
    // Someone else's.
    let bob = extension_of("old", "bob", "by-bob", now);
    let mut p_bob = p.clone();
    p_bob.spec.subjects.push(Subject::user("bob"));
    let why = first_decision(&p_bob, &bob, Some(&old), now);
    assert!(why.contains("is not yours"), "{why}");
    // Itself.
    let own = extension_of("me", "alice", "me", now);
    assert!(first_decision(&p, &own, Some(&own), now).contains("cannot extend itself"));
    // Nonexistent.
    let none = extension_of("ghost", "alice", "x", now);
    let why = first_decision(&p, &none, None, now);
    assert!(why.contains("escalation ghost does not exist") && why.contains("ask again"), "{why}");
    // Another policy's.
    let mut other = old.clone();
    other.spec.policy_name = "another".into();
    let why = first_decision(&p, &extension_of("old", "alice", "x", now), Some(&other), now);
    assert!(why.contains("is of policy another"), "{why}");
    // DENIED, EXPIRED, revoked, expired by the clock: ask again.
    for state in [EscalationState::Denied, EscalationState::Expired] {
        let mut ended = old.clone();
        ended.status.as_mut().unwrap().state = state;
        let why = first_decision(&p, &extension_of("old", "alice", "x", now), Some(&ended), now);
        assert!(why.contains(&format!("is {state}")) && why.contains("ask again"), "{why}");
    }
    let mut revoked = old.clone();
    revoked.spec.revoked = true;
    revoked.spec.revoked_by = "alice".into();
    let why = first_decision(&p, &extension_of("old", "alice", "x", now), Some(&revoked), now);
    assert!(why.contains("was revoked") && why.contains("ask again"), "{why}");
    let late = at(3600);
    let why = first_decision(&p, &extension_of("old", "alice", "x", late), Some(&old), late);
    assert!(why.contains("has expired") && why.contains("ask again"), "{why}");
    // PENDING: not yet.
    let mut pending = old.clone();
    pending.status.as_mut().unwrap().state = EscalationState::Pending;
    let why = first_decision(&p, &extension_of("old", "alice", "x", now), Some(&pending), now);
    assert!(why.contains("not running yet (PENDING)"), "{why}");
    // The cap: 0 (the default) forbids, 1 allows one link.
    let why = first_decision(&extensible(0), &extension_of("old", "alice", "x", now), Some(&old), now);
    assert!(why.contains("does not allow extensions"), "{why}");
    let mut once = old.clone();
    once.status.as_mut().unwrap().extension_count = 1;
    let why = first_decision(&p, &extension_of("old", "alice", "x", now), Some(&once), now);
    assert!(why.contains("already extended 1 time(s)") && why.contains("maxExtensions 1"), "{why}");
    // Another namespace.
    let mut moved = extension_of("old", "alice", "x", now);
    moved.spec.namespace = Some("application-b".into());
    let why = first_decision(&p, &moved, Some(&old), now);
    assert!(why.contains("keeps the namespace"), "{why}");
    // A startAt.
    let mut later = extension_of("old", "alice", "x", now);
    later.spec.start_at = Some(Time(at(600)));
    assert!(first_decision(&p, &later, Some(&old), now).contains("cannot have a startAt"));
    // Already superseded.
    let mut gone = old.clone();
    gone.status.as_mut().unwrap().superseded_by = Some("first".into());
    let why = first_decision(&p, &extension_of("old", "alice", "x", now), Some(&gone), now);
    assert!(why.contains("already extended by first"), "{why}");
}

#[test]
fn an_extension_is_accepted_counts_and_takes_over_without_a_gap() {
    let p = extensible(2);
    let mut old = running(&p);
    let mut w = World::new(extension_of("old", "alice", "new", at(3000)), p.clone());
    w.now = at(3500);
    w.extended = Some(old.clone());
    let d = w.step();
    assert_eq!(d.status.state, EscalationState::Accepted, "{}", d.status.state_details);
    assert_eq!(d.status.extension_count, 1);
    // Its own bindings, its own clock.
    assert_eq!(d.status.grant_refs[0].reference.name, "kudo-new-0");
    assert_eq!(d.status.expires_at.unwrap().0, at(3500 + 3600));
    // The old one is superseded only once every new binding exists.
    let mut half = w.escalation.clone();
    half.status.as_mut().unwrap().grant_refs[0].status = GrantStatus::Pending;
    assert_eq!(extension::superseding(&old, [&half]), None);
    assert_eq!(extension::superseding(&old, [&w.escalation]).as_deref(), Some("new"));
    let mut ow = World::new(old.clone(), p.clone());
    ow.now = at(3500);
    ow.superseded_by = Some("new".into());
    let d = ow.step();
    assert_eq!(d.status.state, EscalationState::Expired);
    assert_eq!(d.status.state_details, "superseded by new");
    assert_eq!(d.status.superseded_by.as_deref(), Some("new"));
    assert_eq!(d.actions, vec![Action::Reclaim(0)]);
    // A revoked extension takes nothing over; someone else's neither.
    let mut revoked = w.escalation.clone();
    revoked.spec.revoked = true;
    assert_eq!(extension::superseding(&old, [&revoked]), None);
    let mut foreign = w.escalation.clone();
    foreign.spec.requestor = "bob".into();
    assert_eq!(extension::superseding(&old, [&foreign]), None);
    // The old one revoked before the takeover ends the extension too.
    old.spec.revoked = true;
    old.spec.revoked_by = "admin".into();
    let mut nw = World::new(w.escalation.clone(), p.clone());
    nw.now = at(3501);
    nw.extended = Some(old);
    let d = nw.decide();
    assert_eq!(d.status.state, EscalationState::Denied);
    assert!(d.status.state_details.contains("was revoked by admin before this extension took over"));
}

#[test]
fn of_two_extensions_the_first_created_goes_on() {
    let p = extensible(3);
    let old = running(&p);
    let a = extension_of("old", "alice", "ext-a", at(100));
    let b = extension_of("old", "alice", "ext-b", at(100));
    let all = [&old, &a, &b];
    assert!(extension::rivals(&a, all).is_empty());
    assert_eq!(extension::rivals(&b, all), vec!["ext-a"]);
    let mut w = World::new(b.clone(), p.clone());
    w.now = at(101);
    w.extended = Some(old.clone());
    w.rivals = extension::rivals(&b, all);
    let d = w.decide();
    assert_eq!(d.status.state, EscalationState::Denied);
    assert!(d.status.state_details.contains("already being extended by ext-a"), "{}", d.status.state_details);
    // Bob's claim on Alice's escalation blocks nothing.
    let bobs = extension_of("old", "bob", "ext-0", at(0));
    assert!(extension::rivals(&a, [&old, &bobs, &a]).is_empty());
}

#[test]
fn the_open_limit_counts_a_pair_as_one() {
    // maxOpenPerRequestor 1 (the default): the extension of a running one is admitted.
    let p = extensible(1);
    let old = running(&p);
    let ext = extension_of("old", "alice", "new", at(10));
    assert!(checks::open_escalations(&ext, [&old, &ext]).is_empty());
    let mut w = World::new(ext.clone(), p.clone());
    w.now = at(10);
    w.extended = Some(old.clone());
    w.open_escalations = checks::open_escalations(&ext, [&old, &ext]);
    assert_eq!(w.decide().status.state, EscalationState::Accepted);
    // A fresh request still sees one open (the pair), named by its first.
    let mut accepted_ext = ext.clone();
    accepted_ext.status = w.decide().status.into();
    let fresh = named(alice(), "fresh", "uid-fresh", at(20));
    assert_eq!(checks::open_escalations(&fresh, [&old, &accepted_ext, &fresh]), vec!["old"]);
    // Cycles (hand-written extends) end.
    let mut x = extension_of("y", "alice", "x", at(1));
    let mut y = extension_of("x", "alice", "y", at(1));
    x.status = Some(EscalationStatus::new(EscalationState::Pending));
    y.status = Some(EscalationStatus::new(EscalationState::Pending));
    assert_eq!(checks::open_escalations(&fresh, [&x, &y]).len(), 2);
}

#[test]
fn run_extend_asks_in_the_last_tenth() {
    let (a, e) = (at(0), at(1000));
    assert!(!extension::extension_due(a, e, at(899)));
    assert!(!extension::extension_due(a, e, at(900)));
    assert!(extension::extension_due(a, e, at(901)));
    assert_eq!(extension::extension_due_at(a, e), at(900));
}

#[test]
fn the_sweep_leaves_an_extensions_bindings_alone() {
    let p = extensible(1);
    let old = running(&p);
    let mut w = World::new(extension_of("old", "alice", "new", at(10)), p);
    w.now = at(10);
    w.extended = Some(old);
    w.step();
    w.escalation.status.as_mut().unwrap().grant_refs[0].reference.uid = None;
    let b = engine::binding::binding(&w.escalation, &w.escalation.status.as_ref().unwrap().grant_refs[0]).unwrap();
    assert_eq!(engine::binding::orphan_reason(&b, Some(&w.escalation), at(11)), None);
}

// ---- The simulation ----

#[derive(Clone, Debug)]
enum Event {
    Wait(i64),
    /// Reconcile escalation i (mod count); `crash`: status written, actions not run.
    Reconcile {
        i: usize,
        crash: bool,
    },
    /// A new extension of escalation i, by alice or (false) bob.
    Extend {
        of: usize,
        alice: bool,
        minutes: i64,
    },
    Approve(usize),
    Revoke(usize),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => (1i64..900).prop_map(Event::Wait),
        6 => (0usize..8, prop::bool::weighted(0.2)).prop_map(|(i, crash)| Event::Reconcile { i, crash }),
        4 => (0usize..8, prop::bool::weighted(0.9), 1i64..300).prop_map(|(of, alice, minutes)| Event::Extend { of, alice, minutes }),
        3 => (0usize..8).prop_map(Event::Approve),
        1 => (0usize..8).prop_map(Event::Revoke),
    ]
}

struct Sim {
    now: Timestamp,
    policy: EscalationPolicy,
    escs: Vec<Escalation>,
    reviews: Vec<EscalationReview>,
    /// Bindings that exist, by name.
    bindings: BTreeSet<String>,
    max_minutes: i64,
}

impl Sim {
    fn index(&self, name: &str) -> Option<usize> {
        self.escs.iter().position(|e| e.metadata.name.as_deref() == Some(name))
    }

    /// One reconcile as the controller does it (views from the same
    /// functions, status written, then actions), or a crash after the write.
    fn reconcile(&mut self, i: usize, crash: bool) -> Result<(), TestCaseError> {
        let esc = self.escs[i].clone();
        let state = esc.state();
        let extended = esc.extends().and_then(|t| self.index(t)).map(|j| self.escs[j].clone());
        let rivals = extension::rivals(&esc, &self.escs);
        let superseded_by =
            (state == Some(EscalationState::Accepted)).then(|| extension::superseding(&esc, &self.escs)).flatten();
        let open = if state.is_none() { checks::open_escalations(&esc, &self.escs) } else { vec![] };
        let observed: BTreeMap<String, Observation> = esc
            .status
            .iter()
            .flat_map(|s| &s.grant_refs)
            .map(|r| {
                let seen =
                    if self.bindings.contains(&r.reference.name) { Observation::Intact } else { Observation::Absent };
                (r.reference.name.clone(), seen)
            })
            .collect();
        let d = engine::decide(&Inputs {
            now: self.now,
            escalation: &esc,
            policy: Some(&self.policy),
            reviews: &self.reviews,
            rbac_use_allowed: false,
            missing_guards: &[],
            open_escalations: &open,
            observed: &observed,
            extension: extension::View {
                extended: extended.as_ref(),
                rivals: &rivals,
                superseded_by: superseded_by.as_deref(),
            },
        });
        let mut status = d.status.clone();
        let takeover = state == Some(EscalationState::Accepted) && d.status.superseded_by.is_some();
        if takeover {
            // No gap: when the old one lets go, every new binding exists.
            let by = d.status.superseded_by.clone().unwrap_or_default();
            let j = self.index(&by).ok_or_else(|| TestCaseError::fail("superseded by an unknown"))?;
            let new = self.escs[j].status.as_ref().ok_or_else(|| TestCaseError::fail("no status"))?;
            for r in &new.grant_refs {
                prop_assert!(
                    self.bindings.contains(&r.reference.name),
                    "a gap: {} missing at takeover",
                    r.reference.name
                );
            }
        }
        let reclaim_only = d.actions.iter().all(|a| matches!(a, Action::Reclaim(_)));
        if crash && reclaim_only {
            // Deletes come before the status write: a crash first leaves all as it was.
            return Ok(());
        }
        if !crash {
            for a in &d.actions {
                match *a {
                    Action::Create(k) => {
                        self.bindings.insert(status.grant_refs[k].reference.name.clone());
                        engine::mark(&mut status, k, GrantStatus::Created, None, None);
                    }
                    Action::Reclaim(k) => {
                        self.bindings.remove(&status.grant_refs[k].reference.name);
                        engine::mark(&mut status, k, GrantStatus::Reclaimed, None, None);
                    }
                }
            }
        }
        self.escs[i].status = Some(status);
        Ok(())
    }

    /// The controller's timers: every escalation due (its expiresAt, a
    /// pending timeout) is reconciled when time passes.
    fn wait(&mut self, secs: i64) -> Result<(), TestCaseError> {
        self.now += SignedDuration::from_secs(secs);
        for i in 0..self.escs.len() {
            self.reconcile(i, false)?;
        }
        Ok(())
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let max_ext = self.policy.spec.target.max_extensions();
        let mut accepted_extensions_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for e in &self.escs {
            let Some(s) = &e.status else { continue };
            let name = e.metadata.name.clone().unwrap_or_default();
            // The timer has run: nothing of an escalation past its end exists.
            if let Some(end) = s.expires_at.as_ref().map(|t| t.0)
                && self.now >= end
            {
                for r in &s.grant_refs {
                    prop_assert!(!self.bindings.contains(&r.reference.name), "{} outlives {}", r.reference.name, end);
                }
            }
            if let (Some(a), Some(x)) = (&s.accepted_at, &s.expires_at) {
                prop_assert!(x.0.duration_since(a.0) <= SignedDuration::from_mins(self.max_minutes));
                prop_assert!(s.extension_count <= max_ext);
                if let Some(target) = e.extends() {
                    prop_assert!(s.extension_count >= 1);
                    if s.state == EscalationState::Accepted {
                        accepted_extensions_of.entry(target.to_string()).or_default().insert(name.clone());
                    }
                    let old = self.index(target).map(|j| &self.escs[j]);
                    prop_assert!(old.is_some_and(|o| o.spec.requestor == e.spec.requestor), "extended someone else's");
                }
            }
        }
        for (target, winners) in accepted_extensions_of {
            prop_assert!(winners.len() <= 1, "{target} extended by {winners:?}");
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn extensions_never_leave_a_gap_nor_outlive_their_end(
        max_ext in 0u32..3,
        reviewed in any::<bool>(),
        max_minutes in 30i64..240,
        events in prop::collection::vec(event(), 0..40),
    ) {
        let challenges = if reviewed { vec![peer_review(vec![Subject::group("admins")], 1)] } else { vec![] };
        let mut p = policy(challenges);
        p.spec.subjects.push(Subject::user("bob"));
        p.spec.target.max_extensions = Some(max_ext);
        p.spec.target.max_duration = DurationText::new(format!("{max_minutes}m"));
        p.spec.target.default_duration = DurationText::new("30m");
        let mut first = named(alice(), "e0", "uid-e0", t(T0));
        first.spec.requestor_groups = vec!["squad-a".into()];
        let mut sim = Sim { now: t(T0), policy: p, escs: vec![first.clone()], reviews: vec![], bindings: BTreeSet::new(), max_minutes };
        if reviewed {
            sim.reviews.push(approve(&first, "carol", &["admins"]));
        }
        sim.reconcile(0, false)?;
        for e in &events {
            let n = sim.escs.len();
            match *e {
                Event::Wait(s) => sim.wait(s)?,
                Event::Reconcile { i, crash: false } => sim.reconcile(i % n, false)?,
                Event::Reconcile { i, crash: true } => {
                    // Status written, nothing created; the restarted
                    // controller then reconciles everything.
                    sim.reconcile(i % n, true)?;
                    for j in 0..n {
                        sim.reconcile(j, false)?;
                    }
                }
                Event::Extend { of, alice, minutes } => {
                    if n >= 8 { continue }
                    let name = format!("e{n}");
                    let target = sim.escs[of % n].metadata.name.clone().unwrap_or_default();
                    let who = if alice { "alice" } else { "bob" };
                    let mut ext = extension_of(&target, who, &name, sim.now);
                    ext.spec.duration = Some(DurationText::new(format!("{minutes}m")));
                    ext.metadata.creation_timestamp = Some(Time(sim.now));
                    sim.escs.push(ext);
                }
                Event::Approve(i) => {
                    let target = sim.escs[i % n].clone();
                    let mut r = approve(&target, "carol", &["admins"]);
                    r.metadata.name = Some(format!("{}-carol-{}", target.metadata.name.as_deref().unwrap_or_default(), sim.reviews.len()));
                    r.metadata.creation_timestamp = Some(Time(sim.now));
                    sim.reviews.push(r);
                }
                Event::Revoke(i) => {
                    let e = &mut sim.escs[i % n];
                    e.spec.revoked = true;
                    e.spec.revoked_by = e.spec.requestor.clone();
                }
            }
            sim.check()?;
        }
        // However it went, time running out leaves nothing behind.
        sim.wait(60 * 60 * 24)?;
        sim.wait(1)?;
        prop_assert!(sim.bindings.is_empty(), "left behind: {:?}", sim.bindings);
    }
}
