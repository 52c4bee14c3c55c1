//! The fake and a real kube-apiserver (kudo-testenv, v1.36) through the
//! real kube-rs client, with the same assertions on each: the write
//! semantics kudo's controller relies on.

use std::time::{Duration, Instant};

use k8s_openapi::{
    api::core::v1::ConfigMap, apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams},
};
use memory_apiserver::{Account, MemoryApiServer};
use serde_json::json;

async fn servers() -> (MemoryApiServer, testenv::Testenv) {
    let users: &[(&str, &[&str])] = &[("alice", &["squad-a"])];
    let fake = MemoryApiServer::start(users.iter().map(|(n, g)| Account::new(n, g)).collect()).await.unwrap();
    let real = testenv::Testenv::start(users).await.unwrap_or_else(|e| panic!("{e}"));
    (fake, real)
}

async fn clients(fake: &MemoryApiServer, real: &testenv::Testenv, user: &str) -> [(&'static str, Client); 2] {
    [("real", real.client(user).await.unwrap()), ("fake", fake.client(user).await)]
}

fn code<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> u16 {
    match r {
        Err(kube::Error::Api(s)) => s.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// A stale resourceVersion in any write is a precondition that fails: an
/// update, a merge patch, a server-side apply, and the same on `/status`.
#[tokio::test(flavor = "multi_thread")]
async fn a_stale_resource_version_fails_every_kind_of_write() {
    let (fake, real) = servers().await;
    for (server, client) in clients(&fake, &real, "admin").await {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let v1 = cms
            .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap())
            .await
            .unwrap();
        let stale = v1.metadata.resource_version.clone().unwrap();
        cms.patch("c", &PatchParams::default(), &Patch::Merge(json!({"data": {"a": "1"}}))).await.unwrap();

        let merge = json!({"metadata": {"resourceVersion": stale}, "data": {"a": "2"}});
        assert_eq!(code(cms.patch("c", &PatchParams::default(), &Patch::Merge(&merge)).await), 409, "{server}");
        let apply = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": stale}, "data": {"a": "3"}});
        let ssa = PatchParams::apply("test").force();
        assert_eq!(code(cms.patch("c", &ssa, &Patch::Apply(&apply)).await), 409, "{server}: server-side apply");
        let mut put = v1.clone();
        put.data = Some([("a".to_string(), "4".to_string())].into());
        assert_eq!(code(cms.replace("c", &PostParams::default(), &put).await), 409, "{server}: update");
        let now = cms.get("c").await.unwrap();
        assert_eq!(now.data.unwrap()["a"], "1", "{server}: no stale write landed");

        // The status subresource of a custom resource, as kudo's controller writes it.
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        crds.create(&PostParams::default(), &serde_json::from_value(widget_crd()).unwrap()).await.unwrap();
        let widgets = wait_served(&client).await;
        let w1 = widgets
            .create(&PostParams::default(), &serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}})).unwrap())
            .await
            .unwrap();
        let stale = w1.metadata.resource_version.clone().unwrap();
        let status = |rv: Option<&str>, ready: bool| {
            let mut p = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "status": {"ready": ready}});
            if let Some(rv) = rv {
                p["metadata"]["resourceVersion"] = json!(rv);
            }
            p
        };
        widgets.patch_status("w", &ssa, &Patch::Apply(&status(None, true))).await.unwrap();
        assert_eq!(
            code(widgets.patch_status("w", &ssa, &Patch::Apply(&status(Some(&stale), false))).await),
            409,
            "{server}: status apply from a stale view"
        );
        let now = widgets.get("w").await.unwrap();
        assert_eq!(now.data["status"]["ready"], true, "{server}");
    }
}

/// Authorisation comes before the lookup: a user without rights learns
/// nothing about what is served (403), an admin gets 404.
#[tokio::test(flavor = "multi_thread")]
async fn unserved_resources_are_forbidden_before_they_are_not_found() {
    let (fake, real) = servers().await;
    let gvk = GroupVersionKind::gvk("nothing.example.com", "v1", "Thing");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "things");
    for (user, expected) in [("alice", 403), ("admin", 404)] {
        for (server, client) in clients(&fake, &real, user).await {
            let things: Api<DynamicObject> = Api::all_with(client, &resource);
            assert_eq!(code(things.list(&ListParams::default()).await), expected, "{server}: {user}");
        }
    }
}

fn widget_crd() -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com", "scope": "Cluster",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
            "versions": [{
                "name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                    "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
                }}},
            }],
        },
    })
}

/// A real server serves a new CRD a moment after it is created.
async fn wait_served(client: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    let widgets: Api<DynamicObject> =
        Api::all_with(client.clone(), &ApiResource::from_gvk_with_plural(&gvk, "widgets"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while widgets.list(&ListParams::default()).await.is_err() {
        assert!(Instant::now() < deadline, "the Widget CRD is not served");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    widgets
}
