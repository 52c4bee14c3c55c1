//! The dashboard in a real browser (Debian's chromium, headless, through
//! chromedriver and WebDriver): alice requests from her dashboard, bob sees
//! what it grants (a Secret-reading rule marked dangerous) and approves
//! from his, and alice's page turns ACCEPTED by itself, without a reload.
//! A reason with `<script>` in it shows as text. The screenshots it takes
//! are the README's (KUDO_UPDATE_SCREENSHOTS=1 refreshes docs/screenshots).

mod support;

use kube::ResourceExt;
use serde_json::json;
use support::{
    Cluster,
    dashboard::{Browser, Dashboard},
    pod_reader_policy,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_requests_bob_approves_and_alices_page_updates_live() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let admin = cluster.client("admin").await;
    support::create_json(
        &admin,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "ops"},
            "rules": [
                {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]},
            ],
        }),
    )
    .await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]);
    let mut ops = pod_reader_policy("ops", "30m", review);
    ops["spec"]["target"]["grants"][0]["roleRef"]["name"] = json!("ops");
    cluster.policy(ops).await;
    // One granted at once, so that alice's list shows more than one state.
    cluster.policy(pod_reader_policy("read-pods", "15m", json!([]))).await;
    let earlier =
        cluster.escalate("alice", &["squad-a"], "read-pods", json!({"reason": "look at app's pods, #12"})).await;
    cluster.wait(&earlier.unwrap().name_any(), "granted", support::granted).await;

    let (alice, bob) = (Dashboard::start(&cluster, "alice").await, Dashboard::start(&cluster, "bob").await);
    let (a, b) = (Browser::start().await, Browser::start().await);

    // alice logs in with the printed URL, lands on a URL without the token, and asks.
    a.client.goto(&alice.login_url()).await.unwrap();
    let landed = a.client.current_url().await.unwrap();
    assert_eq!(landed.as_str(), format!("{}/", alice.origin()), "the token leaves the address bar");
    a.client.goto(&format!("{}/request", alice.origin())).await.unwrap();
    let asks = a.text("article[data-policy=ops] dl").await;
    assert!(asks.contains("1 approval(s) from group admins") && asks.contains("30m by default"), "{asks}");
    let reason = "<script>window.pwned = 1</script> rotate the app's DB password, #7";
    a.type_into("article[data-policy=ops] input[name=reason]", reason).await;
    a.click("article[data-policy=ops] button[type=submit]").await;
    a.until("alice's escalation page", "return location.pathname.startsWith('/escalations/')").await;
    let name = a.client.current_url().await.unwrap().path().trim_start_matches("/escalations/").to_string();
    let esc = cluster.get(&name).await.unwrap_or_else(|| panic!("{name} was created"));
    assert_eq!((esc.spec.requestor.as_str(), esc.spec.reason.as_str()), ("alice", reason));
    // The reason is text on the page, not a script that ran.
    assert_eq!(a.text(".summary + .reason q").await, reason);
    assert_eq!(a.eval("return typeof window.pwned").await, json!("undefined"));
    assert_eq!(a.eval("return document.querySelectorAll('main script').length").await, json!(0));
    // Live: a marker that a reload would wipe out.
    a.until("the live stream", "return document.body.dataset.live === 'open'").await;
    a.eval("window.kudoMarker = 42; return true").await;

    // bob sees it waiting for him, with what it would grant.
    cluster
        .wait(&name, "previewed", |e| e.and_then(|e| e.status.as_ref()).is_some_and(|s| s.grant_preview.is_some()))
        .await;
    b.client.goto(&bob.login_url()).await.unwrap();
    b.client.goto(&format!("{}/reviews", bob.origin())).await.unwrap();
    let card = format!("article[data-name='{name}']");
    b.until("alice's request among bob's reviews", &format!("return !!document.querySelector(\"{card}\")")).await;
    let dangerous = b.text(&format!("{card} li.danger")).await;
    assert!(dangerous.contains("secrets") && dangerous.contains("DANGEROUS"), "{dangerous}");
    assert!(dangerous.contains("Secrets"), "says why: {dangerous}");
    let permissions = b.texts(&format!("{card} ul.permissions li")).await;
    assert_eq!(permissions.len(), 2, "pods and secrets: {permissions:?}");
    assert!(!permissions[0].contains("DANGEROUS"), "reading pods is not marked: {permissions:?}");
    assert_eq!(b.text(&format!("{card} .reason q")).await, reason, "bob reads the reason as text too");
    assert_eq!(b.eval("return typeof window.pwned").await, json!("undefined"));
    b.screenshot("bob-review").await;

    b.type_into(&format!("{card} input[name=message]"), "ok, rotate it and tell #ops").await;
    b.click(&format!("{card} button.approve")).await;
    b.until("bob's page on the escalation", &format!("return location.pathname === '/escalations/{name}'")).await;

    // alice's page turns ACCEPTED by itself: same page (the marker), new content.
    a.until("ACCEPTED on alice's page", "return !!document.querySelector('#live .state.accepted')").await;
    assert_eq!(a.eval("return window.kudoMarker").await, json!(42), "updated without a reload");
    a.until("the grants on alice's page", "return document.querySelector('#live').innerText.includes('CREATED')").await;
    let page = a.text("#live").await;
    assert!(page.contains("bob") && page.contains("ok, rotate it and tell #ops"), "{page}");
    assert!(page.contains("left"), "time left: {page}");
    assert!(support::granted(cluster.get(&name).await.as_ref()));

    a.client.goto(&format!("{}/", alice.origin())).await.unwrap();
    let rows = a.texts("table.escalations tbody tr").await;
    assert_eq!(rows.len(), 2, "both of alice's escalations: {rows:?}");
    a.screenshot("alice-list").await;
    a.close().await;
    b.close().await;
    ctl.stop().await;
}
