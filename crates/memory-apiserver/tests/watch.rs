//! Watches: from a resourceVersion, with selectors, bookmarks, and 410 Gone
//! after compaction, which kube-runtime's watcher survives by relisting.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api,
    api::{DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams},
    runtime::{WatchStreamExt, watcher},
};
use memory_apiserver::MemoryApiServer;
use serde_json::json;

fn cm(name: &str, app: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": app}}})).unwrap()
}

#[tokio::test]
async fn raw_watch_from_a_resource_version_with_a_selector() {
    let fake = MemoryApiServer::start(vec![]).await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(fake.client("admin").await, "default");
    let first = cms.create(&PostParams::default(), &cm("a", "kudo")).await.unwrap();
    let rv = first.metadata.resource_version.unwrap();
    cms.create(&PostParams::default(), &cm("b", "other")).await.unwrap();
    cms.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"x": "1"}}))).await.unwrap();
    // Leaving the selector is a DELETED event for this watch.
    cms.patch("a", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"app": "gone"}}})))
        .await
        .unwrap();

    let stream = cms.watch(&WatchParams::default().labels("app=kudo").timeout(2), &rv).await.unwrap();
    let events: Vec<_> = stream.try_collect().await.unwrap();
    let kinds: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Added(o) => Some(format!("ADDED {}", o.metadata.name.clone().unwrap())),
            WatchEvent::Modified(o) => Some(format!("MODIFIED {}", o.metadata.name.clone().unwrap())),
            WatchEvent::Deleted(o) => Some(format!("DELETED {}", o.metadata.name.clone().unwrap())),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["MODIFIED a", "DELETED a"]);
}

#[tokio::test]
async fn watch_from_a_compacted_version_is_gone() {
    let fake = MemoryApiServer::start(vec![]).await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(fake.client("admin").await, "default");
    let first = cms.create(&PostParams::default(), &cm("a", "kudo")).await.unwrap();
    cms.create(&PostParams::default(), &cm("b", "kudo")).await.unwrap();
    fake.compact();
    let mut stream =
        cms.watch(&WatchParams::default().timeout(1), &first.metadata.resource_version.unwrap()).await.unwrap().boxed();
    match stream.next().await {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!(e.code, 410),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
}

#[tokio::test]
async fn runtime_watcher_survives_410_and_sees_everything() {
    let fake = MemoryApiServer::start_with_history(vec![], 4).await.unwrap();
    let client = fake.client("admin").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(&PostParams::default(), &cm("before", "kudo")).await.unwrap();

    // No bookmarks: the watcher's resourceVersion stays at its initial list.
    let config = watcher::Config::default().labels("app=kudo").timeout(1).disable_bookmarks();
    let mut seen = watcher(cms.clone(), config).applied_objects().boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), seen.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("before"));

    // Churn past the 4-event history, and let the watch time out (1 s) so it
    // reconnects from a compacted resourceVersion.
    for i in 0..20 {
        cms.create(&PostParams::default(), &cm(&format!("c{i}"), "other")).await.unwrap();
    }
    fake.compact();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cms.create(&PostParams::default(), &cm("after", "kudo")).await.unwrap();
    let (mut names, mut gone) = (Vec::new(), 0);
    while !names.contains(&"after".to_string()) {
        match tokio::time::timeout(Duration::from_secs(10), seen.next()).await.expect("watcher keeps going").unwrap() {
            Ok(o) => names.push(o.metadata.name.unwrap()),
            Err(watcher::Error::WatchError(status)) if status.code == 410 => gone += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(gone >= 1, "the reconnect must have hit 410 Gone");
    assert!(names.iter().all(|n| n == "before" || n == "after"), "only kudo-labelled objects: {names:?}");
    cms.delete("after", &DeleteParams::default()).await.unwrap();
}
