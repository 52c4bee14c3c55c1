//! The dashboard's HTTP endpoints as users and attackers reach them: the
//! built `kubectl-kudo dashboard` run as alice and as bob on the cluster,
//! spoken to with hand-written HTTP/1.1 requests. Nothing but the browser
//! that opened this run's URL gets data or may change anything.

mod support;

use kube::{Api, ResourceExt, api::ListParams};
use kudo::api::{Escalation, EscalationReview};
use serde_json::json;
use support::{Cluster, dashboard::Dashboard, pod_reader_policy};

async fn escalations(cluster: &Cluster) -> Vec<Escalation> {
    let api: Api<Escalation> = Api::all(cluster.client("admin").await);
    api.list(&ListParams::default()).await.unwrap().items
}

/// Every answer, refusals too, keeps out of frames, caches and other
/// origins' referrers, and grants no other origin anything (no CORS).
fn assert_guarded(r: &support::dashboard::Response) {
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'self'"), "{r:?}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{r:?}");
    let referrers = r.header("referrer-policy").unwrap_or_default();
    assert!(["no-referrer", "same-origin"].contains(&referrers), "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
    assert!(r.headers.iter().all(|(k, _)| !k.starts_with("access-control-")), "no CORS: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_printed_url_logs_in_and_only_its_cookie_gets_data() {
    let cluster = Cluster::new().await;
    let ctl = cluster.start_controller("a").await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]);
    cluster.policy(pod_reader_policy("read-pods", "10m", review)).await;
    let mut esc =
        cluster.escalate("alice", &["squad-a"], "read-pods", json!({"reason": "<b>bold</b> #1"})).await.unwrap();
    let name = esc.name_any();
    esc = cluster.wait_state(&name, "PENDING").await;
    let (alice, bob) = (Dashboard::start(&cluster, "alice").await, Dashboard::start(&cluster, "bob").await);

    // No token, no cookie: nothing but how to log in.
    for path in ["/", "/reviews", "/request", &format!("/escalations/{name}"), "/live?view=mine", "/static/app.js"] {
        let r = alice.get(path, &[]).await;
        assert_eq!(r.status, 401, "{path}: {r:?}");
        assert!(!r.body.contains(&name) && !r.body.contains("bold"), "{path}: {r:?}");
        assert_guarded(&r);
    }
    // A wrong token, none, or bob's on alice's dashboard: refused, no cookie.
    for path in ["/login", "/login?token=", "/login?token=0000", &format!("/login?token={}", bob.token)] {
        let r = alice.get(path, &[]).await;
        assert_eq!(r.status, 403, "{path}: {r:?}");
        assert!(r.header("set-cookie").is_none(), "{path}: {r:?}");
    }
    // The printed URL: a session cookie for this port, then a URL without the token.
    let r = alice.get(&format!("/login?token={}", alice.token), &[]).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/")), "{r:?}");
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "the token's URL is nobody's referrer: {r:?}");
    let set = r.header("set-cookie").unwrap_or_default();
    assert!(set.starts_with(&format!("kudo-dashboard-{}=", alice.port)), "{set}");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    assert!(!set.contains(&alice.token), "the cookie is not the token: {set}");
    let cookie = alice.cookie().await;
    let page = alice.get("/", &[("Cookie", &cookie)]).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_guarded(&page);
    assert!(page.body.contains(&name), "{page:?}");
    assert!(page.body.contains("&lt;b&gt;bold&lt;/b&gt;") && !page.body.contains("<b>bold"), "escaped: {page:?}");

    // Another dashboard's cookie: bob's session is not alice's, under either name.
    let bobs = bob.cookie().await;
    let (_, bob_value) = bobs.split_once('=').unwrap();
    let r = alice.get("/", &[("Cookie", &bobs)]).await;
    assert_eq!(r.status, 401, "bob's cookie is named for bob's port: {r:?}");
    let r = alice.get("/", &[("Cookie", &format!("kudo-dashboard-{}={bob_value}", alice.port))]).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert!(!r.body.contains(&name), "{r:?}");

    // DNS rebinding: any other Host, even with the right cookie and token, is refused.
    for host in ["evil.example".to_string(), format!("evil.example:{}", alice.port), format!("127.0.0.1:{}", bob.port)]
    {
        let r = alice.get("/", &[("Host", &host), ("Cookie", &cookie)]).await;
        assert_eq!(r.status, 421, "{host}: {r:?}");
        assert!(!r.body.contains(&name), "{r:?}");
        let r = alice.get(&format!("/login?token={}", alice.token), &[("Host", &host)]).await;
        assert_eq!(r.status, 421, "{host}: {r:?}");
        assert!(r.header("set-cookie").is_none(), "{r:?}");
    }
    let r = alice.get("/", &[("Host", &format!("localhost:{}", alice.port)), ("Cookie", &cookie)]).await;
    assert_eq!(r.status, 200, "localhost is this machine too");

    // CSRF: a POST from another origin, or saying none, changes nothing.
    let before = escalations(&cluster).await.len();
    let body = support::dashboard::form_body(&[("policy", "read-pods"), ("reason", "forged #2")]);
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    for forged in [
        vec![("Origin", "http://evil.example")],
        vec![("Origin", "null")],
        vec![("Origin", &format!("http://127.0.0.1:{}", bob.port) as &str)],
        vec![("Referer", "http://evil.example/page")],
        vec![],
    ] {
        let mut headers = vec![("Cookie", cookie.as_str()), form];
        headers.extend(forged.iter().copied());
        let r = alice.request("POST", "/request", &headers, &body).await;
        assert_eq!(r.status, 403, "{forged:?}: {r:?}");
        assert_guarded(&r);
        let r = alice.request("POST", &format!("/escalations/{name}/revoke"), &headers, "").await;
        assert_eq!(r.status, 403, "{forged:?}: {r:?}");
    }
    // A preflight gets no CORS answer either.
    let r = alice
        .request(
            "OPTIONS",
            "/request",
            &[("Origin", "http://evil.example"), ("Access-Control-Request-Method", "POST")],
            "",
        )
        .await;
    assert_guarded(&r);
    assert_eq!(escalations(&cluster).await.len(), before, "nothing was created");
    assert!(!cluster.get(&name).await.unwrap().spec.revoked, "nothing was revoked");

    // The same request from the dashboard's own page does it.
    let r = alice.post_form(&cookie, "/request", &[("policy", "read-pods"), ("reason", "from the page #3")]).await;
    assert_eq!(r.status, 303, "{r:?}");
    let created = r.header("location").unwrap_or_default().trim_start_matches("/escalations/").to_string();
    let mine = cluster.get(&created).await.unwrap_or_else(|| panic!("{r:?}"));
    assert_eq!((mine.spec.requestor.as_str(), mine.spec.reason.as_str()), ("alice", "from the page #3"));

    // A body beyond the limit is refused before anything reads it.
    let huge = "x".repeat(64 * 1024);
    let r = alice.post_form(&cookie, "/request", &[("policy", "read-pods"), ("reason", &huge)]).await;
    assert_eq!(r.status, 413, "{:?}", (r.status, &r.headers));

    // alice may not review her own request: the CLI's words, and no review is made.
    let r = alice.post_form(&cookie, &format!("/escalations/{name}/approve"), &[("message", "me")]).await;
    assert_eq!(r.status, 400, "{r:?}");
    let words = format!("you cannot approve escalation {name}: alice requested the escalation and cannot review it");
    assert!(r.body.contains(&words), "{}", r.body);
    let reviews: Api<EscalationReview> = Api::all(cluster.client("admin").await);
    let uid = esc.uid().unwrap();
    assert!(reviews.list(&ListParams::default()).await.unwrap().items.iter().all(|r| r.spec.escalation_uid != uid));

    // bob, an eligible reviewer, may; his review is made in his name.
    let bobs_page = bob.get("/reviews", &[("Cookie", &bobs)]).await;
    assert!(bobs_page.body.contains(&name), "{bobs_page:?}");
    let r = bob.post_form(&bobs, &format!("/escalations/{name}/approve"), &[("message", "ok <i>go</i>")]).await;
    assert_eq!(r.status, 303, "{r:?}");
    cluster.wait_state(&name, "ACCEPTED").await;
    let made = reviews.list(&ListParams::default()).await.unwrap().items;
    let made: Vec<_> = made.iter().filter(|r| r.spec.escalation_uid == uid).collect();
    assert_eq!(made.len(), 1);
    assert_eq!((made[0].spec.reviewer.as_str(), made[0].spec.message.as_str()), ("bob", "ok <i>go</i>"));
    let detail = alice.get(&format!("/escalations/{name}"), &[("Cookie", &cookie)]).await;
    assert!(detail.body.contains("ok &lt;i&gt;go&lt;/i&gt;") && detail.body.contains("ACCEPTED"), "{detail:?}");
    ctl.stop().await;
}
