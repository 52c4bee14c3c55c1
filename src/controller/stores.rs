//! The watch caches the controller decides from: each kept by a watch of
//! its own, holding only what decisions read (see `engine::cache`).

use std::{
    collections::HashMap,
    hash::RandomState,
    sync::{Mutex, PoisonError},
};

use futures::StreamExt;
use k8s_openapi::{
    api::rbac::v1::{ClusterRoleBinding, RoleBinding, RoleRef, Subject},
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{
    Api,
    runtime::{
        WatchStreamExt,
        reflector::{self, ObjectRef, Store},
        watcher,
    },
};

use crate::{
    api::{ESCALATION_LABEL, Escalation, GrantKind, valid_name},
    engine::binding::{self, Binding},
};

pub(super) fn owner_of(labels: &std::collections::BTreeMap<String, String>) -> Option<ObjectRef<Escalation>> {
    labels.get(ESCALATION_LABEL).filter(|n| valid_name(n)).map(|n| ObjectRef::new(n))
}

/// Server-side apply bookkeeping is often the larger part of an object and
/// the controller never reads it: caches hold objects without it.
fn forget_managed_fields<K: kube::Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
}

/// The task keeping a store, ended when this is dropped: a store lives
/// as long as the controller's run that holds it, however that run ends.
pub(super) struct Watching(tokio::task::JoinHandle<()>);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(super) fn spawn_store<K>(api: Api<K>, config: watcher::Config) -> (Store<K>, Watching)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    spawn_store_notifying(api, config, |_: &K, _| ())
}

/// A cache kept by a watch; `notify` is called with each object the watch
/// sees written (`false`) or deleted (`true`), after the cache holds that
/// (so whatever it triggers decides on a cache at least that new).
pub(super) fn spawn_store_notifying<K>(
    api: Api<K>,
    config: watcher::Config,
    notify: impl Fn(&K, bool) + Send + 'static,
) -> (Store<K>, Watching)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    let stream = watcher(api, config).default_backoff().modify(forget_managed_fields).reflect(writer);
    let task = tokio::spawn(stream.for_each(move |r| {
        match r {
            Ok(watcher::Event::Apply(object) | watcher::Event::InitApply(object)) => notify(&object, false),
            Ok(watcher::Event::Delete(object)) => notify(&object, true),
            Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
            Err(e) => tracing::warn!(error = %e, "watch failed; retrying"),
        }
        futures::future::ready(())
    }));
    (store, Watching(task))
}

/// Bindings recorded at most; beyond, new ones are not (their reconciles
/// read them instead). A namespace admin can create any number of
/// kudo-labelled bindings: this keeps what they cost here to a few MB.
const MAX_SEEN_BINDINGS: usize = 100_000;

/// The kudo-labelled bindings as their watches last saw them, each as the
/// fingerprint of what `engine::binding::observe` compares (24 bytes and a
/// map slot each), so that a reconcile knows a binding is still exactly
/// the one kudo created without reading it. Anything else (not seen yet,
/// changed, gone, beyond the cap) is read from the API server as before.
pub(super) struct SeenBindings {
    /// The process's random SipHash key: nobody can craft a collision.
    keys: RandomState,
    seen: Mutex<[Seen; 2]>,
}

#[derive(Default)]
struct Seen {
    /// By place: (fingerprint, the listing it was last seen in).
    by_place: HashMap<u64, (u64, u64)>,
    /// The watch's listing under way or last done: a relist (after a
    /// watch gap) forgets what it no longer finds.
    listing: u64,
    /// The watch failed, or is relisting: nothing here is trusted until it
    /// delivers again (a resumed watch misses nothing; a relist's end
    /// purges what is gone).
    unsure: bool,
}

/// A binding kind as its watch delivers it.
pub(super) trait WatchedBinding {
    const KIND: GrantKind;
    fn parts(&self) -> (&ObjectMeta, &[Subject], &RoleRef);
}

impl WatchedBinding for RoleBinding {
    const KIND: GrantKind = GrantKind::KubernetesRoleBinding;
    fn parts(&self) -> (&ObjectMeta, &[Subject], &RoleRef) {
        (&self.metadata, self.subjects.as_deref().unwrap_or_default(), &self.role_ref)
    }
}

impl WatchedBinding for ClusterRoleBinding {
    const KIND: GrantKind = GrantKind::KubernetesClusterRoleBinding;
    fn parts(&self) -> (&ObjectMeta, &[Subject], &RoleRef) {
        (&self.metadata, self.subjects.as_deref().unwrap_or_default(), &self.role_ref)
    }
}

/// The watch of kudo-labelled bindings of one kind, recording each event in
/// `seen` before it triggers a reconcile.
pub(super) fn binding_triggers<B>(
    client: &kube::Client,
    seen: std::sync::Arc<SeenBindings>,
) -> impl futures::Stream<Item = Result<B, watcher::Error>> + Send + 'static
where
    B: WatchedBinding + kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    B: Send + Sync + 'static,
{
    let config = watcher::Config::default().labels(&binding::managed_selector());
    watcher(Api::<B>::all(client.clone()), config)
        .default_backoff()
        .inspect(move |event| match event {
            Ok(event) => seen.record(event),
            Err(_) => seen.failed(B::KIND),
        })
        .touched_objects()
}

impl SeenBindings {
    pub(super) fn new() -> Self {
        Self { keys: RandomState::new(), seen: Mutex::default() }
    }

    fn kind_slot(kind: GrantKind) -> usize {
        match kind {
            GrantKind::KubernetesRoleBinding => 0,
            GrantKind::KubernetesClusterRoleBinding => 1,
        }
    }

    /// Takes in one event of a bindings watch.
    pub(super) fn record<B: WatchedBinding>(&self, event: &watcher::Event<B>) {
        let place_of = |b: &B| {
            let (meta, ..) = b.parts();
            binding::place(B::KIND, meta.namespace.as_deref(), meta.name.as_deref().unwrap_or_default(), &self.keys)
        };
        let mut all = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = &mut all[Self::kind_slot(B::KIND)];
        match event {
            watcher::Event::Init => {
                seen.listing = seen.listing.wrapping_add(1);
                seen.unsure = true;
            }
            watcher::Event::Apply(b) | watcher::Event::InitApply(b) => {
                if matches!(event, watcher::Event::Apply(_)) {
                    seen.unsure = false;
                }
                let (meta, subjects, role) = b.parts();
                let print = binding::fingerprint_of(B::KIND, meta, subjects, role, meta.uid.as_deref(), &self.keys);
                let at = place_of(b);
                if seen.by_place.len() < MAX_SEEN_BINDINGS || seen.by_place.contains_key(&at) {
                    let listing = seen.listing;
                    seen.by_place.insert(at, (print, listing));
                }
            }
            watcher::Event::Delete(b) => {
                seen.unsure = false;
                seen.by_place.remove(&place_of(b));
            }
            watcher::Event::InitDone => {
                let listing = seen.listing;
                seen.by_place.retain(|_, (_, at)| *at == listing);
                seen.unsure = false;
            }
        }
    }

    /// The watch of `kind` failed: what it saw may be stale until it
    /// delivers again.
    pub(super) fn failed(&self, kind: GrantKind) {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)[Self::kind_slot(kind)].unsure = true;
    }

    /// Whether the watch last saw `desired`'s binding exactly as kudo
    /// wrote it, as the object `uid` (what kudo's create returned).
    pub(super) fn intact(&self, desired: &Binding, uid: &str) -> bool {
        let meta = desired.metadata();
        let at = binding::place(
            desired.grant_kind(),
            meta.namespace.as_deref(),
            meta.name.as_deref().unwrap_or_default(),
            &self.keys,
        );
        let want = binding::fingerprint(desired, Some(uid), &self.keys);
        let all = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = &all[Self::kind_slot(desired.grant_kind())];
        !seen.unsure && seen.by_place.get(&at).is_some_and(|(print, _)| *print == want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{EscalationState, EscalationStatus, GrantObjectRef, GrantRef, GrantStatus, RBAC_GROUP, RoleKind};

    /// An accepted escalation, the binding kudo wrote for it, and that
    /// binding as the API server stored it (uid "b-1").
    fn granted() -> (Binding, RoleBinding) {
        let mut e: Escalation = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "e1", "uid": "uid-e1"},
            "spec": {"policyName": "p", "requestor": "alice", "requestorGroups": [], "reason": "r"},
        }))
        .unwrap();
        let grant = GrantRef {
            status: GrantStatus::Created,
            reference: GrantObjectRef {
                kind: GrantKind::KubernetesRoleBinding,
                name: "kudo-e1-0".into(),
                namespace: Some("app".into()),
                uid: Some("b-1".into()),
                resource_version: Some("7".into()),
            },
            role_ref: crate::api::RoleRef {
                kind: RoleKind::ClusterRole,
                name: "view".into(),
                api_group: RBAC_GROUP.into(),
            },
        };
        let mut status = EscalationStatus::new(EscalationState::Accepted);
        status.grant_refs = vec![grant.clone()];
        e.status = Some(status);
        let desired = binding::binding(&e, &grant).unwrap();
        let Binding::Namespaced(mut stored) = desired.clone() else { unreachable!() };
        stored.metadata.uid = Some("b-1".into());
        stored.metadata.resource_version = Some("7".into());
        (desired, stored)
    }

    #[test]
    fn a_binding_is_intact_while_the_watch_last_saw_it_as_kudo_wrote_it() {
        let seen = SeenBindings::new();
        let (desired, stored) = granted();
        assert!(!seen.intact(&desired, "b-1"), "not seen yet: read it");
        seen.record(&watcher::Event::Apply(stored.clone()));
        assert!(seen.intact(&desired, "b-1"));
        assert!(!seen.intact(&desired, "b-2"), "another object of that name");
        let mut widened = stored.clone();
        widened.subjects.get_or_insert_default().push(Subject {
            kind: "User".into(),
            name: "mallory".into(),
            ..Default::default()
        });
        seen.record(&watcher::Event::Apply(widened));
        assert!(!seen.intact(&desired, "b-1"), "changed: read it");
        seen.record(&watcher::Event::Apply(stored.clone()));
        seen.record(&watcher::Event::Delete(stored.clone()));
        assert!(!seen.intact(&desired, "b-1"), "gone: read it");
        // A ClusterRoleBinding of that name is another object.
        let cluster = ClusterRoleBinding {
            metadata: ObjectMeta { namespace: None, ..stored.metadata.clone() },
            subjects: stored.subjects.clone(),
            role_ref: stored.role_ref.clone(),
        };
        seen.record(&watcher::Event::Apply(cluster));
        assert!(!seen.intact(&desired, "b-1"));
    }

    #[test]
    fn a_relist_forgets_what_it_no_longer_finds() {
        let seen = SeenBindings::new();
        let (desired, stored) = granted();
        seen.record(&watcher::Event::Apply(stored.clone()));
        seen.record(&watcher::Event::<RoleBinding>::Init);
        assert!(!seen.intact(&desired, "b-1"), "not while relisting: it may be gone");
        seen.record(&watcher::Event::<RoleBinding>::InitDone);
        assert!(!seen.intact(&desired, "b-1"), "deleted during the gap");
        seen.record(&watcher::Event::<RoleBinding>::Init);
        seen.record(&watcher::Event::InitApply(stored));
        seen.record(&watcher::Event::<RoleBinding>::InitDone);
        assert!(seen.intact(&desired, "b-1"));
    }

    #[test]
    fn nothing_is_trusted_after_the_watch_failed_until_it_delivers_again() {
        let seen = SeenBindings::new();
        let (desired, stored) = granted();
        seen.record(&watcher::Event::Apply(stored.clone()));
        seen.failed(GrantKind::KubernetesRoleBinding);
        assert!(!seen.intact(&desired, "b-1"), "widened while the watch was down?");
        seen.failed(GrantKind::KubernetesClusterRoleBinding);
        let mut other = stored.clone();
        other.metadata.name = Some("other".into());
        seen.record(&watcher::Event::Apply(other));
        assert!(seen.intact(&desired, "b-1"), "a resumed watch misses nothing");
    }

    #[test]
    fn junk_bindings_beyond_the_cap_are_not_recorded() {
        let seen = SeenBindings::new();
        let (desired, stored) = granted();
        for i in 0..MAX_SEEN_BINDINGS {
            let mut junk = stored.clone();
            junk.metadata.name = Some(format!("junk-{i}"));
            seen.record(&watcher::Event::Apply(junk));
        }
        seen.record(&watcher::Event::Apply(stored));
        assert!(!seen.intact(&desired, "b-1"), "beyond the cap: read, never trusted");
        assert_eq!(seen.seen.lock().unwrap()[0].by_place.len(), MAX_SEEN_BINDINGS);
    }
}
