//! What reconciles look up among all escalations, kept as the watch goes so
//! that no decision scans the whole cache: how many escalations each
//! requestor holds of each policy (the open-escalation limit), and which
//! escalations extend which (supersession, rivals). Each new escalation
//! used to scan every cached one: the cost of a grant grew with the number
//! of escalations in the cluster.

use std::{
    collections::{BTreeSet, HashMap},
    hash::{BuildHasher, RandomState},
    sync::{Mutex, PoisonError},
};

use kube::runtime::{
    reflector::{ObjectRef, Store},
    watcher,
};

use crate::api::Escalation;

pub struct EscalationIndex {
    keys: RandomState,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Escalations cached, in any state, by (requestor, policy) hashed.
    held: HashMap<u64, usize>,
    /// The escalations naming each one in `spec.extends`.
    extensions: HashMap<String, BTreeSet<String>>,
}

impl Inner {
    fn add(&mut self, key: u64, e: &Escalation) {
        *self.held.entry(key).or_default() += 1;
        if let (Some(target), Some(name)) = (e.extends(), e.metadata.name.as_deref()) {
            self.extensions.entry(target.to_string()).or_default().insert(name.to_string());
        }
    }

    fn remove(&mut self, key: u64, e: &Escalation) {
        if let Some(n) = self.held.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.held.remove(&key);
            }
        }
        if let (Some(target), Some(name)) = (e.extends(), e.metadata.name.as_deref())
            && let Some(names) = self.extensions.get_mut(target)
        {
            names.remove(name);
            if names.is_empty() {
                self.extensions.remove(target);
            }
        }
    }
}

impl EscalationIndex {
    pub fn new() -> Self {
        Self { keys: RandomState::new(), inner: Mutex::default() }
    }

    fn key(&self, e: &Escalation) -> u64 {
        // Both are immutable (the CRD's rules), so an escalation's key never changes.
        self.keys.hash_one((&e.spec.requestor, &e.spec.policy_name))
    }

    /// Takes in a watch event before the cache (`store`) does, so that
    /// what is new to the cache is told from what it holds already.
    pub fn before_cache(&self, event: &watcher::Event<Escalation>, store: &Store<Escalation>) {
        let cached = |e: &Escalation| store.get(&ObjectRef::from_obj(e)).is_some();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            // During a relist the cache still holds what it held before:
            // what it lacks is new. What went during the gap is counted
            // until the relist ends (too many is safe: see `may_reach`).
            watcher::Event::Apply(e) | watcher::Event::InitApply(e) if !cached(e) => inner.add(self.key(e), e),
            watcher::Event::Delete(e) if cached(e) => inner.remove(self.key(e), e),
            _ => {}
        }
    }

    /// Takes in a watch event after the cache has: a relist that ended is
    /// counted again from what the cache now holds.
    pub fn after_cache(&self, event: &watcher::Event<Escalation>, store: &Store<Escalation>) {
        if let watcher::Event::InitDone = event {
            let mut fresh = Inner::default();
            for e in store.state() {
                fresh.add(self.key(&e), &e);
            }
            *self.inner.lock().unwrap_or_else(PoisonError::into_inner) = fresh;
        }
    }

    /// Whether the requestor of `e`, an escalation the cache holds, may
    /// hold `max` others of its policy: only then can the open-escalation
    /// limit refuse it, and only then are they counted one by one. Never
    /// false while they might: every escalation the cache holds is counted,
    /// whatever its state, `e` among them.
    pub fn may_reach(&self, e: &Escalation, max: usize) -> bool {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let held = inner.held.get(&self.key(e)).copied().unwrap_or_default();
        held.saturating_sub(1) >= max
    }

    /// The names of the escalations that extend `name`.
    pub fn extensions_of(&self, name: &str) -> Vec<String> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.extensions.get(name).map(|names| names.iter().cloned().collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::reflector;

    fn esc(name: &str, requestor: &str, policy: &str, extends: &str) -> Escalation {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "uid": format!("uid-{name}")},
            "spec": {"policyName": policy, "requestor": requestor, "requestorGroups": [], "reason": "r",
                     "extends": extends},
        }))
        .unwrap()
    }

    /// Feeds `event` through the index and the cache, as the controller's watch does.
    fn feed(
        index: &EscalationIndex,
        writer: &mut reflector::store::Writer<Escalation>,
        event: watcher::Event<Escalation>,
    ) {
        let store = writer.as_reader();
        index.before_cache(&event, &store);
        writer.apply_watcher_event(&event);
        index.after_cache(&event, &store);
    }

    #[test]
    fn counts_what_each_requestor_holds_of_each_policy_and_who_extends_whom() {
        let (index, mut writer) = (EscalationIndex::new(), reflector::store::Writer::default());
        let a1 = esc("a1", "alice", "p", "");
        feed(&index, &mut writer, watcher::Event::Apply(a1.clone()));
        assert!(!index.may_reach(&a1, 1), "alone");
        // Changes to one already cached count nothing more.
        feed(&index, &mut writer, watcher::Event::Apply(a1.clone()));
        assert!(!index.may_reach(&a1, 1));
        let a2 = esc("a2", "alice", "p", "a1");
        feed(&index, &mut writer, watcher::Event::Apply(a2.clone()));
        assert!(index.may_reach(&a2, 1) && !index.may_reach(&a2, 2));
        feed(&index, &mut writer, watcher::Event::Apply(esc("b1", "bob", "p", "")));
        assert!(!index.may_reach(&esc("b1", "bob", "p", ""), 1), "another requestor");
        feed(&index, &mut writer, watcher::Event::Apply(esc("a3", "alice", "q", "")));
        assert!(!index.may_reach(&a2, 2), "another policy");
        assert_eq!(index.extensions_of("a1"), vec!["a2".to_string()]);
        feed(&index, &mut writer, watcher::Event::Delete(a2.clone()));
        assert!(!index.may_reach(&a1, 1));
        assert!(index.extensions_of("a1").is_empty());
        // A deletion the cache never held changes nothing.
        feed(&index, &mut writer, watcher::Event::Delete(esc("zz", "alice", "p", "")));
        assert!(!index.may_reach(&a1, 1));
    }

    #[test]
    fn a_relist_forgets_what_went_during_the_gap_and_never_undercounts() {
        let (index, mut writer) = (EscalationIndex::new(), reflector::store::Writer::default());
        for name in ["a1", "a2", "a3"] {
            feed(&index, &mut writer, watcher::Event::Apply(esc(name, "alice", "p", "")));
        }
        let (a3, a4) = (esc("a3", "alice", "p", ""), esc("a4", "alice", "p", "a1"));
        // The watch breaks; a1 and a2 go meanwhile, a4 comes.
        feed(&index, &mut writer, watcher::Event::Init);
        for e in [a3.clone(), a4.clone()] {
            feed(&index, &mut writer, watcher::Event::InitApply(e));
            assert!(index.may_reach(&a3, 2), "during the relist, at least as many as there are");
        }
        assert!(index.may_reach(&a3, 3), "what went is counted until the relist ends");
        feed(&index, &mut writer, watcher::Event::InitDone);
        assert!(index.may_reach(&a4, 1) && !index.may_reach(&a4, 2), "a3 and a4 once it ends");
        assert_eq!(index.extensions_of("a1"), vec!["a4".to_string()]);
    }
}
