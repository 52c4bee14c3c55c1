//! The fake through the real kube-rs client: verbs, conflicts, status,
//! finalizers, garbage collection, selectors, server-side apply.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::{
    Api, Client, Error,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions},
    core::{ApiResource, DynamicObject, GroupVersionKind},
};
use memory_apiserver::{Account, MemoryApiServer};
use serde_json::json;

async fn cluster() -> (MemoryApiServer, Client) {
    let fake = MemoryApiServer::start(vec![Account::new("alice", &["squad-a"])]).await.unwrap();
    let client = fake.client("admin").await;
    (fake, client)
}

fn code(e: Error) -> u16 {
    match e {
        Error::Api(s) => s.code,
        other => panic!("not an API error: {other}"),
    }
}

fn cm(name: &str, data: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": "kudo"}}, "data": {"k": data}})).unwrap()
}

#[tokio::test]
async fn crud_with_conflicts_and_preconditions() {
    let (_fake, client) = cluster().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let created = cms.create(&PostParams::default(), &cm("one", "a")).await.unwrap();
    let rv1: u64 = created.metadata.resource_version.clone().unwrap().parse().unwrap();
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    assert_eq!(code(cms.create(&PostParams::default(), &cm("one", "a")).await.unwrap_err()), 409);

    // generateName.
    let mut g = cm("", "b");
    g.metadata.name = None;
    g.metadata.generate_name = Some("gen-".into());
    let gen_obj = cms.create(&PostParams::default(), &g).await.unwrap();
    let gen_name = gen_obj.metadata.name.clone().unwrap();
    assert!(gen_name.starts_with("gen-") && gen_name.len() == 9, "{gen_name}");

    // Update with the current rv succeeds and bumps it; a stale one conflicts.
    let mut changed = created.clone();
    changed.data = Some([("k".to_string(), "b".to_string())].into());
    let updated = cms.replace("one", &PostParams::default(), &changed).await.unwrap();
    let rv2: u64 = updated.metadata.resource_version.clone().unwrap().parse().unwrap();
    assert!(rv2 > rv1);
    assert_eq!(code(cms.replace("one", &PostParams::default(), &changed).await.unwrap_err()), 409);

    // Merge patch and JSON patch (a failing `test` op is rejected).
    let p = cms.patch("one", &PatchParams::default(), &Patch::Merge(json!({"data": {"k": "c"}}))).await.unwrap();
    assert_eq!(p.data.unwrap()["k"], "c");
    let ops: json_patch::Patch = serde_json::from_value(
        json!([{"op": "test", "path": "/data/k", "value": "zzz"}, {"op": "replace", "path": "/data/k", "value": "d"}]),
    )
    .unwrap();
    assert_eq!(code(cms.patch("one", &PatchParams::default(), &Patch::<()>::Json(ops)).await.unwrap_err()), 422);

    // Label and field selectors, pagination.
    let all = cms.list(&ListParams::default().labels("app=kudo")).await.unwrap();
    assert_eq!(all.items.len(), 2);
    let one = cms.list(&ListParams::default().fields("metadata.name=one")).await.unwrap();
    assert_eq!(one.items.len(), 1);
    let page = cms.list(&ListParams::default().limit(1)).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.metadata.remaining_item_count, Some(all.items.len() as i64 - 1));
    let next = cms
        .list(&ListParams::default().limit(1).continue_token(page.metadata.continue_.as_deref().unwrap()))
        .await
        .unwrap();
    assert_eq!(next.items.len(), 1);
    assert_eq!(next.metadata.continue_, None, "the last page");
    assert_ne!(page.items[0].metadata.name, next.items[0].metadata.name);

    // Delete with a wrong UID precondition conflicts; the right one deletes.
    let wrong = DeleteParams {
        preconditions: Some(Preconditions { uid: Some("nope".into()), resource_version: None }),
        ..Default::default()
    };
    assert_eq!(code(cms.delete("one", &wrong).await.unwrap_err()), 409);
    let right = DeleteParams {
        preconditions: Some(Preconditions { uid: created.metadata.uid.clone(), resource_version: None }),
        ..Default::default()
    };
    cms.delete("one", &right).await.unwrap();
    assert_eq!(code(cms.get("one").await.unwrap_err()), 404);

    // Namespaced objects need their namespace.
    let missing: Api<ConfigMap> = Api::namespaced(client, "nowhere");
    assert_eq!(code(missing.create(&PostParams::default(), &cm("x", "y")).await.unwrap_err()), 404);
}

fn widget_crd() -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com", "scope": "Cluster",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "integer", "minimum": 1},
                        "color": {"type": "string", "enum": ["red", "blue"]},
                    }, "x-kubernetes-validations": [{"rule": "self.size <= 10", "message": "size is at most 10"}]},
                    "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                }}},
            }],
        },
    })
}

async fn widgets(client: &Client) -> Api<DynamicObject> {
    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "customresourcedefinitions",
        ),
    );
    crds.create(&PostParams::default(), &serde_json::from_value(widget_crd()).unwrap()).await.unwrap();
    Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("example.com", "v1", "Widget"), "widgets"),
    )
}

fn widget(name: &str, size: i64) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"size": size}, "status": {"phase": "forged"}})).unwrap()
}

#[tokio::test]
async fn custom_resources_status_generation_and_validation() {
    let (_fake, client) = cluster().await;
    let api = widgets(&client).await;
    let w = api.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    assert_eq!(w.metadata.generation, Some(1));
    assert!(w.data.get("status").is_none(), "status is not written on create when the subresource exists");

    // Schema and CEL validation.
    for (bad, why) in [
        (json!({"size": 0}), "greater than or equal to 1"),
        (json!({"size": 11}), "size is at most 10"),
        (json!({"color": "green", "size": 1}), "Unsupported value"),
        (json!({}), "Required value"),
    ] {
        let mut o = widget("bad", 1);
        o.data["spec"] = bad;
        match api.create(&PostParams::default(), &o).await.unwrap_err() {
            Error::Api(s) => {
                assert_eq!(s.code, 422);
                assert!(s.message.contains(why), "{}", s.message);
            }
            e => panic!("{e}"),
        }
    }

    // Status writes go through /status only; spec changes bump generation.
    let s = api
        .patch_status(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}, "spec": {"size": 5}})),
        )
        .await
        .unwrap();
    assert_eq!(s.data["status"]["phase"], "Ready");
    assert_eq!(s.data["spec"]["size"], 1, "spec is ignored on /status");
    assert_eq!(s.metadata.generation, Some(1), "status does not bump generation");
    let m = api
        .patch("w", &PatchParams::default(), &Patch::Merge(json!({"spec": {"size": 2}, "status": {"phase": "x"}})))
        .await
        .unwrap();
    assert_eq!(m.data["status"]["phase"], "Ready", "status is ignored on the main resource");
    assert_eq!(m.metadata.generation, Some(2));
    let l = api
        .patch("w", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})))
        .await
        .unwrap();
    assert_eq!(l.metadata.generation, Some(2), "metadata does not bump generation");

    // PUT needs a resourceVersion for custom resources.
    let mut no_rv = l.clone();
    no_rv.metadata.resource_version = None;
    assert_eq!(code(api.replace("w", &PostParams::default(), &no_rv).await.unwrap_err()), 422);

    // Strategic merge patch is refused for custom resources, as on a real server.
    assert_eq!(
        code(
            api.patch("w", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"size": 3}}))).await.unwrap_err()
        ),
        415
    );
}

#[tokio::test]
async fn finalizers_and_owner_garbage_collection() {
    let (_fake, client) = cluster().await;
    let api = widgets(&client).await;
    let mut owner = widget("owner", 1);
    owner.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    let owner = api.create(&PostParams::default(), &owner).await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut child = cm("child", "x");
    child.metadata.owner_references = Some(vec![serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Widget", "name": "owner", "uid": owner.metadata.uid.clone().unwrap(),
    })).unwrap()]);
    cms.create(&PostParams::default(), &child).await.unwrap();

    // Delete: held by the finalizer, marked with a deletionTimestamp.
    api.delete("owner", &DeleteParams::default()).await.unwrap();
    let held = api.get("owner").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    assert!(cms.get("child").await.is_ok(), "the owner still exists");
    // No new finalizers while deleting.
    let add = Patch::Merge(json!({"metadata": {"finalizers": ["example.com/hold", "another"]}}));
    assert_eq!(code(api.patch("owner", &PatchParams::default(), &add).await.unwrap_err()), 422);
    // Removing the last finalizer deletes it, and the dependent goes with it.
    api.patch("owner", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}})))
        .await
        .unwrap();
    assert_eq!(code(api.get("owner").await.unwrap_err()), 404);
    assert_eq!(code(cms.get("child").await.unwrap_err()), 404);

    // A dependent whose owner never existed is collected too.
    let mut orphan = cm("orphan", "x");
    orphan.metadata.owner_references = Some(vec![serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Widget", "name": "ghost", "uid": "00000000-0000-0000-0000-000000000000",
    })).unwrap()]);
    cms.create(&PostParams::default(), &orphan).await.unwrap();
    assert_eq!(code(cms.get("orphan").await.unwrap_err()), 404);
}

#[tokio::test]
async fn server_side_apply_tracks_managers() {
    let (_fake, client) = cluster().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let apply = |data: serde_json::Value| {
        Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": data}))
    };
    let a = cms.patch("ssa", &PatchParams::apply("ctl-a"), &apply(json!({"x": "1", "y": "1"}))).await.unwrap();
    assert_eq!(a.data.as_ref().unwrap()["x"], "1");
    let err = cms.patch("ssa", &PatchParams::apply("ctl-b"), &apply(json!({"x": "2"}))).await.unwrap_err();
    match err {
        Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert!(s.message.contains("conflict with \"ctl-a\""), "{}", s.message);
        }
        e => panic!("{e}"),
    }
    let forced = cms.patch("ssa", &PatchParams::apply("ctl-b").force(), &apply(json!({"x": "2"}))).await.unwrap();
    assert_eq!(forced.data.as_ref().unwrap()["x"], "2");
    // ctl-a stops applying y: it is removed; x now belongs to ctl-b and stays.
    let a2 = cms.patch("ssa", &PatchParams::apply("ctl-a"), &apply(json!({}))).await.unwrap();
    let data = a2.data.unwrap_or_default();
    assert_eq!(data.get("x").map(String::as_str), Some("2"));
    assert!(!data.contains_key("y"));
    // Apply without a field manager is a bad request.
    let no_manager = PatchParams { field_manager: None, ..Default::default() };
    assert_eq!(code(cms.patch("ssa", &no_manager, &apply(json!({}))).await.unwrap_err()), 400);
}

#[tokio::test]
async fn namespaces_delete_their_contents() {
    let (_fake, client) = cluster().await;
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "tmp"}})).unwrap())
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "tmp");
    cms.create(&PostParams::default(), &cm("a", "b")).await.unwrap();
    nss.delete("tmp", &DeleteParams::default()).await.unwrap();
    assert_eq!(code(cms.get("a").await.unwrap_err()), 404);
    assert_eq!(code(nss.get("tmp").await.unwrap_err()), 404);
}

/// As the real collector and authorizer do: a dependent whose owner UID
/// never existed is collected, and a terminating binding still grants.
#[tokio::test]
async fn dangling_owners_are_collected_and_terminating_bindings_still_grant() {
    use k8s_openapi::api::rbac::v1::RoleBinding;
    let (fake, client) = cluster().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut orphan = cm("orphan", "x");
    orphan.metadata.owner_references = Some(vec![
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "name": "never", "uid": "00000000-0000-0000-0000-000000000000",
        }))
        .unwrap(),
    ]);
    cms.create(&PostParams::default(), &orphan).await.unwrap();
    assert!(cms.get_opt("orphan").await.unwrap().is_none(), "an object owned by no live UID is collected");

    let rbs: Api<RoleBinding> = Api::namespaced(client.clone(), "default");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
    }))
    .unwrap();
    rbs.create(&PostParams::default(), &binding).await.unwrap();
    rbs.delete("held", &DeleteParams::default()).await.unwrap();
    assert!(rbs.get("held").await.unwrap().metadata.deletion_timestamp.is_some());
    let as_alice: Api<ConfigMap> = Api::namespaced(fake.client("alice").await, "default");
    as_alice.list(&ListParams::default()).await.expect("a terminating binding still grants");
    rbs.patch("held", &PatchParams::default(), &Patch::Merge(&json!({"metadata": {"finalizers": null}})))
        .await
        .unwrap();
    assert_eq!(code(as_alice.list(&ListParams::default()).await.unwrap_err()), 403);
}
