//! The watch caches the controller decides from: each kept by a watch of
//! its own, holding only what decisions read (see `engine::cache`).

use futures::StreamExt;
use kube::{
    Api,
    runtime::{
        WatchStreamExt,
        reflector::{self, ObjectRef, Store},
        watcher,
    },
};

use crate::api::{ESCALATION_LABEL, Escalation, valid_name};

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
