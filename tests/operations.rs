//! The operations layer as a front end other than the CLI (the dashboard)
//! calls it: plain structs in and out, errors that say what happened,
//! against the real API server (or the fake) with the controller running.

mod support;

use std::time::Duration;

use futures::StreamExt;
use kube::{Api, ResourceExt, api::ListParams};
use kudo::{
    api::{EscalationReview, EscalationState, ReviewDecision},
    engine::Observation,
    operations::{
        Error, Session,
        list::{self, Change, Scope, Selection},
        policies, request, review, revoke, status, wait, which,
    },
};
use serde_json::json;
use support::{Cluster, pod_reader_policy};

/// Guards against a hang only: every wait below ends on an event long before.
const HANG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_review_watch_status_revoke_through_the_operations_layer() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let review_by_admins = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]);
    cluster.policy(pod_reader_policy("read-pods", "30m", review_by_admins)).await;
    let alice = Session::new(cluster.client("alice").await).await.unwrap();
    let bob = Session::new(cluster.client("bob").await).await.unwrap();
    let admin = Session::new(cluster.client("admin").await).await.unwrap();
    assert_eq!((alice.me.username.as_str(), alice.me.groups.contains(&"squad-a".to_string())), ("alice", true));

    // The request form: the policies alice may use and what each asks first.
    let offers = policies::policies(&alice, false).await.unwrap();
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0].challenges[0].description, "1 approval(s) from group admins");
    assert_eq!(offers[0].grants[0].namespaces, ["app", "other"]);
    assert!(policies::policies(&bob, false).await.unwrap().is_empty(), "bob is not a subject");

    // A request bound to be denied is refused before anything is created.
    let mut asked = request::Request {
        policy: "read-pods".into(),
        reason: "ticket #11".into(),
        duration: Some("3h".into()),
        ..Default::default()
    };
    let e = request::create(&alice, &asked).await.unwrap_err();
    assert!(matches!(e, Error::WouldDeny { .. }) && e.to_string().contains("longer than"), "{e}");
    assert!(list::list(&admin, &Selection::new(&admin, Scope::All).await.unwrap()).await.unwrap().is_empty());

    asked.duration = None;
    let name = request::create(&alice, &asked).await.unwrap().name_any();
    let first = tokio::time::timeout(HANG, wait::taken_up(&alice, &name, HANG)).await.unwrap().unwrap().unwrap();
    assert_eq!(first.state(), Some(EscalationState::Pending));
    let mine = Selection::new(&alice, Scope::Mine).await.unwrap();
    let mut changes = list::changes(&alice, mine).boxed();

    // Reviewing one's own request is refused before the server is asked.
    let e = review::review(&alice, &name, ReviewDecision::Approved, "").await.unwrap_err();
    assert!(matches!(e, Error::OwnRequest { .. }), "{e}");
    assert!(e.hint().is_some());
    let reviews: Api<EscalationReview> = Api::all(cluster.client("admin").await);
    assert!(reviews.list(&ListParams::default()).await.unwrap().items.is_empty(), "no review was created");

    let pending = list::list(&bob, &Selection::new(&bob, Scope::PendingReview).await.unwrap()).await.unwrap();
    let pending: Vec<String> = pending.iter().map(ResourceExt::name_any).collect();
    assert_eq!(pending, [name.as_str()]);
    let (prepared, created) = review::review(&bob, &name, ReviewDecision::Approved, "ok").await.unwrap();
    assert!(!prepared.after_review && created.name_any().starts_with(&name), "{}", created.name_any());

    let decided = tokio::time::timeout(HANG, wait::decision(&alice, &name, HANG, |_| {})).await.unwrap().unwrap();
    let granted = wait::accepted(decided).unwrap();
    assert_eq!(list::row(&granted).namespace.as_deref(), Some("app"));
    // `kubectl kudo list` reads a server-side Table, whose rows are the objects' rows.
    let list::Answer::Rows(rows) = list::table(&admin).await.unwrap() else { panic!("the server answered no Table") };
    let all = Selection::new(&admin, Scope::All).await.unwrap();
    let objects: Vec<list::Row> = list::list(&admin, &all)
        .await
        .unwrap()
        .iter()
        .map(|e| list::Row { reason: String::new(), details: String::new(), ..list::row(e) })
        .collect();
    assert_eq!(rows, objects);
    assert_eq!(list::rows(&alice, &Selection::new(&alice, Scope::Mine).await.unwrap(), false).await.unwrap(), objects);
    // alice's live list saw it granted, without asking again.
    let live = tokio::time::timeout(HANG, async {
        while let Some(change) = changes.next().await {
            if let Change::Applied(e) = change.unwrap()
                && e.state() == Some(EscalationState::Accepted)
            {
                return *e;
            }
        }
        unreachable!("the watch does not end")
    })
    .await
    .unwrap();
    assert_eq!(live.name_any(), name);

    // The detail page: reviews, grants with their live state, time left, timeline.
    let detail = status::status(&admin, &name, jiff::Timestamp::now()).await.unwrap();
    let reviewers: Vec<String> = detail.reviews.unwrap().into_iter().map(|r| r.spec.reviewer).collect();
    assert_eq!(reviewers, ["bob"]);
    assert_eq!(detail.grants.len(), 1);
    assert_eq!(detail.grants[0].live, status::Live::Seen(Observation::Intact));
    assert!(detail.time_left.is_some_and(|d| d.is_positive()), "{:?}", detail.time_left);
    let timeline = detail.timeline.unwrap();
    assert!(timeline.iter().any(|e| e.reason == "GrantCreated"), "{timeline:?}");

    // The finder agrees with what was granted.
    let permission = which::Permission::parse("get pods -n app", None).unwrap();
    let finding = which::find(&alice, &permission).await.unwrap();
    assert_eq!(finding.found.iter().map(|f| f.policy.as_str()).collect::<Vec<_>>(), ["read-pods"]);

    revoke::revoke(&alice, &name).await.unwrap();
    assert!(tokio::time::timeout(HANG, wait::reclaimed(&alice, &name, HANG)).await.unwrap().unwrap());
    assert!(!cluster.can_list_pods("alice", "app").await);
    let e = revoke::revoke(&alice, &name).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyFinal { .. }), "{e}");
    ctl.stop().await;
}
