//! The state of the fake cluster: objects by kind, one global
//! resourceVersion counter, and a bounded event history for watches.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
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
}

type Key = (String, String);

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
    /// Server-side apply: fields each manager owns, by object.
    pub managed: HashMap<(String, String, String), BTreeMap<String, Vec<String>>>,
}

impl State {
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
            managed: HashMap::new(),
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

    pub fn all_objects(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.objects.iter().flat_map(|(t, m)| m.values().map(move |v| (t, v)))
    }

    /// Stores `object` (its resourceVersion already set by the caller to a fresh rv) and publishes the event.
    pub fn put(&mut self, type_id: &str, object: Value, kind: EventType, old: Option<Value>) {
        let ns = object["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let map = self.objects.entry(type_id.to_string()).or_default();
        if kind == EventType::Deleted {
            map.remove(&(ns.clone(), name.clone()));
            self.managed.remove(&(type_id.to_string(), ns.clone(), name));
        } else {
            map.insert((ns.clone(), name), object.clone());
        }
        let event = Arc::new(Event { rv: self.rv, type_id: type_id.to_string(), namespace: ns, kind, object, old });
        self.history.push_back(event.clone());
        while self.history.len() > self.history_limit {
            if let Some(e) = self.history.pop_front() {
                self.history_floor = e.rv;
            }
        }
        if type_id == "apiextensions.k8s.io/customresourcedefinitions" {
            if kind == EventType::Deleted {
                // A deleted CRD takes its objects with it (no events: their watches end with the kind).
                let served = format!(
                    "{}/{}",
                    event.object["spec"]["group"].as_str().unwrap_or_default(),
                    event.object["spec"]["names"]["plural"].as_str().unwrap_or_default()
                );
                self.objects.remove(&served);
            }
            self.refresh_crd_types();
        }
        let _ = self.tx.send(event);
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
