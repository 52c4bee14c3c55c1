//! The state of the fake cluster: objects by kind, one global
//! resourceVersion counter, and a bounded event history for watches.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque},
    sync::Arc,
};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::{
    auth::{RbacSource, User},
    resources::{self, ResourceType},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub type_id: String,
    pub namespace: String,
    pub kind: EventType,
    pub object: Value,
    pub old: Option<Value>,
    /// When it happened (for delivering it late on purpose).
    pub at: std::time::Instant,
}

type Key = (String, String);
/// (type id, namespace, name).
pub type ObjectKey = (String, String, String);

pub const CLUSTER_ROLES: &str = "rbac.authorization.k8s.io/clusterroles";

pub struct State {
    rv: u64,
    pub types: Vec<ResourceType>,
    objects: HashMap<String, BTreeMap<Key, Value>>,
    history: VecDeque<Arc<Event>>,
    /// Events with rv > floor are replayable; older ones are compacted away.
    pub history_floor: u64,
    history_limit: usize,
    pub tx: broadcast::Sender<Arc<Event>>,
    pub tokens: HashMap<String, User>,
    /// Tokens minted by TokenRequest (`serviceaccounts/token`): valid while
    /// their ServiceAccount (that very UID) exists and until they expire.
    pub sa_tokens: HashMap<String, SaToken>,
    /// Server-side apply: fields each manager owns, by object.
    pub managed: HashMap<ObjectKey, BTreeMap<String, Vec<String>>>,
    /// Garbage-collector graph, kept up to date by `put` so collection costs
    /// what changed, not the size of the cluster: live UIDs, dependents by
    /// owner UID, and objects whose owners may be gone.
    uids: HashSet<String>,
    dependents: HashMap<String, BTreeSet<ObjectKey>>,
    gc_candidates: BTreeSet<ObjectKey>,
    /// A ClusterRole changed since aggregation last ran.
    pub roles_changed: bool,
    /// Injected faults (off unless a test configures them).
    pub faults: Arc<crate::faults::Faults>,
}

#[derive(Clone, Debug)]
pub struct SaToken {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub expires: jiff::Timestamp,
}

impl State {
    /// The user a request's bearer token names: a fixed account, or a
    /// ServiceAccount token that is still valid.
    pub fn authenticate(&self, headers: &axum::http::HeaderMap) -> crate::errors::ApiResult<User> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(crate::errors::ApiError::unauthorized)?;
        if let Some(user) = self.tokens.get(token) {
            return Ok(user.clone());
        }
        let minted = self.sa_tokens.get(token).filter(|t| {
            t.expires > jiff::Timestamp::now()
                && self
                    .get("/serviceaccounts", &t.namespace, &t.name)
                    .is_some_and(|sa| sa["metadata"]["uid"] == t.uid.as_str())
        });
        let t = minted.ok_or_else(crate::errors::ApiError::unauthorized)?;
        let ns_group = format!("system:serviceaccounts:{}", t.namespace);
        Ok(User::new(
            &format!("system:serviceaccount:{}:{}", t.namespace, t.name),
            &["system:serviceaccounts", &ns_group],
        ))
    }

    pub fn new(tokens: HashMap<String, User>, history_limit: usize) -> Self {
        let (tx, _) = broadcast::channel(65_536);
        Self {
            rv: 1000,
            types: resources::builtins(),
            objects: HashMap::new(),
            history: VecDeque::new(),
            history_floor: 1000,
            history_limit,
            tx,
            tokens,
            sa_tokens: HashMap::new(),
            managed: HashMap::new(),
            uids: HashSet::new(),
            dependents: HashMap::new(),
            gc_candidates: BTreeSet::new(),
            roles_changed: false,
            faults: Arc::default(),
        }
    }

    pub fn rv(&self) -> u64 {
        self.rv
    }

    pub fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    pub fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types.iter().find(|t| t.group == group && t.version == version && t.plural == plural)
    }

    pub fn refresh_crd_types(&mut self) {
        let mut types = resources::builtins();
        if let Some(crds) = self.objects.get("apiextensions.k8s.io/customresourcedefinitions") {
            for crd in crds.values() {
                types.extend(resources::from_crd(crd));
            }
        }
        self.types = types;
    }

    pub fn get(&self, type_id: &str, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.get(type_id)?.get(&(namespace.to_string(), name.to_string()))
    }

    pub fn list(&self, type_id: &str, namespace: Option<&str>) -> Vec<&Value> {
        let Some(map) = self.objects.get(type_id) else { return vec![] };
        match namespace {
            Some(ns) => {
                map.range((ns.to_string(), String::new())..).take_while(|((n, _), _)| n == ns).map(|(_, v)| v).collect()
            }
            None => map.values().collect(),
        }
    }

    /// Stores `object` (its resourceVersion already set by the caller to a fresh rv) and publishes the event.
    pub fn put(&mut self, type_id: &str, object: Value, kind: EventType, old: Option<Value>) {
        let ns = object["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let key = (type_id.to_string(), ns.clone(), name.clone());
        let map = self.objects.entry(type_id.to_string()).or_default();
        let previous = if kind == EventType::Deleted {
            self.managed.remove(&key);
            map.remove(&(ns.clone(), name))
        } else {
            map.insert((ns.clone(), name), object.clone())
        };
        if let Some(previous) = &previous {
            self.forget(&key, previous);
        }
        if kind != EventType::Deleted {
            self.remember(key, &object);
        }
        let event = Arc::new(Event {
            rv: self.rv,
            type_id: type_id.to_string(),
            namespace: ns,
            kind,
            object,
            old,
            at: std::time::Instant::now(),
        });
        self.history.push_back(event.clone());
        while self.history.len() > self.history_limit {
            if let Some(e) = self.history.pop_front() {
                self.history_floor = e.rv;
            }
        }
        self.roles_changed |= type_id == CLUSTER_ROLES;
        if type_id == "apiextensions.k8s.io/customresourcedefinitions" {
            if kind == EventType::Deleted {
                // A deleted CRD takes its objects with it (no events: their watches end with the kind).
                let served = format!(
                    "{}/{}",
                    event.object["spec"]["group"].as_str().unwrap_or_default(),
                    event.object["spec"]["names"]["plural"].as_str().unwrap_or_default()
                );
                for ((ns, name), gone) in self.objects.remove(&served).unwrap_or_default() {
                    self.forget(&(served.clone(), ns, name), &gone);
                }
            }
            self.refresh_crd_types();
        }
        let _ = self.tx.send(event);
    }

    fn remember(&mut self, key: ObjectKey, object: &Value) {
        self.uids.insert(object["metadata"]["uid"].as_str().unwrap_or_default().to_string());
        let owners = owner_uids(object);
        if !owners.is_empty() {
            for owner in owners {
                self.dependents.entry(owner.to_string()).or_default().insert(key.clone());
            }
            self.gc_candidates.insert(key);
        }
    }

    /// Drops a stored version of an object from the GC graph; when it was the
    /// last (the object is gone), its dependents may now be orphans.
    fn forget(&mut self, key: &ObjectKey, object: &Value) {
        for owner in owner_uids(object) {
            if let Some(set) = self.dependents.get_mut(owner) {
                set.remove(key);
                if set.is_empty() {
                    self.dependents.remove(owner);
                }
            }
        }
        let uid = object["metadata"]["uid"].as_str().unwrap_or_default();
        let still_there = self.get(&key.0, &key.1, &key.2).is_some();
        if !still_there && self.uids.remove(uid) {
            self.gc_candidates.extend(self.dependents.get(uid).into_iter().flatten().cloned());
        }
    }

    pub fn is_live_uid(&self, uid: &str) -> bool {
        self.uids.contains(uid)
    }

    pub fn next_gc_candidate(&mut self) -> Option<ObjectKey> {
        self.gc_candidates.pop_first()
    }

    /// Events after `rv` for a kind, or None when some were compacted away.
    pub fn events_since(&self, rv: u64, type_id: &str) -> Option<Vec<Arc<Event>>> {
        if rv < self.history_floor {
            return None;
        }
        Some(self.history.iter().filter(|e| e.rv > rv && e.type_id == type_id).cloned().collect())
    }

    /// Forgets the watch history, as etcd compaction does.
    pub fn compact(&mut self) {
        self.history.clear();
        self.history_floor = self.rv;
    }
}

fn owner_uids(object: &Value) -> Vec<&str> {
    object["metadata"]["ownerReferences"].as_array().into_iter().flatten().filter_map(|r| r["uid"].as_str()).collect()
}

impl RbacSource for State {
    fn cluster_role_bindings(&self) -> Vec<&Value> {
        self.list("rbac.authorization.k8s.io/clusterrolebindings", None)
    }

    fn role_bindings(&self, namespace: &str) -> Vec<&Value> {
        self.list("rbac.authorization.k8s.io/rolebindings", Some(namespace))
    }

    fn cluster_role(&self, name: &str) -> Option<&Value> {
        self.get("rbac.authorization.k8s.io/clusterroles", "", name)
    }

    fn role(&self, namespace: &str, name: &str) -> Option<&Value> {
        self.get("rbac.authorization.k8s.io/roles", namespace, name)
    }
}
