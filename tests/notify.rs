//! Notifications routed by policy (DESIGN §6), end to end on the real
//! control plane (or the fake, `KUDO_TEST_APISERVER=fake`): a policy routes
//! requests to two reviewer targets and decisions and reminders to the
//! requestor's; targets that answer 500 or never answer delay no other; a
//! restarted controller resends what was not delivered everywhere, under
//! the same idempotency key; no URL reaches a log line.

mod support;

use std::{
    io,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt, api::PostParams};
use kudo::api::{EscalationPolicy, Notice};
use serde_json::{Value, json};
use support::{Cluster, pod_reader_policy};
use tokio::net::TcpListener;

/// What one receiver got: (Idempotency-Key header, body), in order.
type Got = Arc<Mutex<Vec<(String, Value)>>>;

/// A webhook receiver on 127.0.0.1 answering `status`; its URL carries a token.
async fn receiver(name: &str, status: u16) -> (String, Got) {
    let got: Got = Arc::default();
    let store = got.clone();
    let path = format!("/services/{name}/XXXXtoken{name}XXXX");
    let app = axum::Router::new().route(
        &path,
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            store.lock().unwrap().push((key, serde_json::from_str(&body).unwrap_or(Value::String(body))));
            async move { axum::http::StatusCode::from_u16(status).unwrap() }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{path}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

/// Accepts connections and never answers.
async fn hanging() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/services/hang/XXXXtokenhangXXXX", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, accepted)
}

/// Every log line of the test process.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The process's logs, captured: installed first thing by every test of
/// this file (the harness's own subscriber would otherwise take the place).
fn capture_logs() -> Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber =
            tracing_subscriber::fmt().with_writer(move || writer.clone()).with_env_filter("info,kudo=debug").finish();
        tracing::subscriber::set_global_default(subscriber).expect("no subscriber before this one");
        logs
    })
    .clone()
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn keys(got: &Got) -> Vec<String> {
    got.lock().unwrap().iter().map(|(k, _)| k.clone()).collect()
}

fn body(got: &Got, key: &str) -> Value {
    got.lock().unwrap().iter().find(|(k, _)| k == key).map(|(_, b)| b.clone()).unwrap_or(Value::Null)
}

async fn secret(cluster: &Cluster, name: &str, url: &str) {
    let api: Api<Secret> = Api::namespaced(cluster.client("admin").await, "kudo-system");
    let secret = serde_json::from_value(json!({"metadata": {"name": name}, "stringData": {"url": url}})).unwrap();
    api.create(&PostParams::default(), &secret).await.unwrap();
}

fn target(name: &str, format: &str) -> Value {
    json!({"secretRef": {"name": name, "key": "url"}, "format": format})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reach_every_reviewer_target_and_the_requestor_hears_the_decision_and_the_reminder() {
    let logs = capture_logs();
    let (a_url, team_a) = receiver("team-a", 200).await;
    let (b_url, team_b) = receiver("team-b", 200).await;
    let (requests_url, requests) = receiver("requests", 200).await;
    let (failing_url, failing) = receiver("failing", 500).await;
    let (hang_url, hang_accepted) = hanging().await;

    let cluster = Cluster::new().await;
    for (name, url) in [
        ("team-a", a_url.as_str()),
        ("team-b", b_url.as_str()),
        ("requests", requests_url.as_str()),
        ("failing", failing_url.as_str()),
        ("hang", hang_url.as_str()),
        ("bad-url", "hooks.example/services/XXXXtokenbadXXXX"),
    ] {
        secret(&cluster, name, url).await;
    }
    let mut options = Cluster::controller_options("a");
    // An attempt at the hanging target never ends within the test: were
    // any other target behind it, its messages would never arrive.
    options.notify = kudo::notify::DeliveryConfig {
        queue: 16,
        attempts: 3,
        backoff: Duration::from_millis(50),
        timeout: Duration::from_secs(3600),
    };
    let ctl = cluster.start_controller_with(options.clone()).await;

    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]);
    let mut policy = pod_reader_policy("announced", "8s", review.clone());
    // The failing and hanging targets first: they must delay neither of the others.
    policy["spec"]["notify"] = json!({
        "reviewers": [target("failing", "json"), target("hang", "slack"), target("team-a", "slack"), target("team-b", "json")],
        "requestor": target("requests", "json"),
        "remindBefore": "5s",
    });
    cluster.policy(policy).await;
    let mut misrouted = pod_reader_policy("misrouted", "8s", review);
    misrouted["spec"]["notify"] = json!({"reviewers": [target("no-such-secret", "slack"), target("bad-url", "json")]});
    cluster.policy(misrouted).await;

    let esc = cluster
        .escalate("alice", &["squad-a"], "announced", json!({"reason": "<!channel> debug & fix <script>"}))
        .await
        .unwrap();
    let name = esc.name_any();
    let uid = esc.uid().unwrap();
    let requested = format!("{uid}/requested");
    until("the request at both reviewer targets", || {
        keys(&team_a).contains(&requested) && keys(&team_b).contains(&requested)
    })
    .await;
    let approve = format!("kubectl kudo approve {name}");
    let slack = body(&team_a, &requested)["text"].as_str().unwrap_or_default().to_string();
    assert!(slack.contains(&format!("`{approve}`")) && slack.contains("*alice*"), "{slack}");
    assert!(
        slack.contains("&lt;!channel&gt; debug &amp; fix &lt;script&gt;") && !slack.contains("<!channel>"),
        "{slack}"
    );
    assert!(slack.contains("ClusterRole/pod-reader in namespace app"), "the grant preview: {slack}");
    let json_body = body(&team_b, &requested);
    assert_eq!(json_body["approveCommand"], approve.as_str(), "{json_body}");
    assert_eq!(
        (json_body["requestor"].as_str(), json_body["idempotencyKey"].as_str()),
        (Some("alice"), Some(requested.as_str()))
    );
    assert!(json_body["grantPreview"]["scopes"][0]["role"] == "ClusterRole/pod-reader", "{json_body}");
    // The others were tried, and the hanging one still holds its first attempt.
    until("the failing target tried", || !failing.lock().unwrap().is_empty()).await;
    until("the hanging target connected", || hang_accepted.load(Ordering::SeqCst) > 0).await;
    assert!(keys(&requests).is_empty(), "nothing decided yet: {:?}", keys(&requests));

    // The misrouted policy says what to fix, and never the URL.
    let policies: Api<EscalationPolicy> = Api::all(cluster.client("admin").await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let message = loop {
        let found = policies.get("misrouted").await.unwrap();
        let condition = found.status.into_iter().flat_map(|s| s.conditions).find(|c| c.type_ == "NotifyReady");
        if let Some(c) = condition.filter(|c| c.status == "False") {
            break c.message;
        }
        assert!(tokio::time::Instant::now() < deadline, "no NotifyReady=False on the misrouted policy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(message.contains("notify.reviewers[0]: Secret kudo-system/no-such-secret does not exist"), "{message}");
    assert!(
        message.contains("notify.reviewers[1]: key url of Secret kudo-system/bad-url is not a webhook URL"),
        "{message}"
    );
    assert!(!message.contains("XXXXtokenbadXXXX"), "{message}");
    let announced = policies.get("announced").await.unwrap();
    let ready = announced.status.unwrap().conditions.into_iter().find(|c| c.type_ == "NotifyReady");
    assert_eq!(ready.map(|c| c.status).as_deref(), Some("True"));

    // Not every reviewer target has it (one hangs), so it is not marked:
    // a restarted controller sends it again, under the same key.
    assert!(!cluster.get(&name).await.unwrap().status.unwrap().notified.contains(&Notice::Requested));
    ctl.stop().await;
    let ctl = cluster.start_controller_with(options).await;
    until("the request sent again after the restart", || {
        keys(&team_a).iter().filter(|k| **k == requested).count() == 2
    })
    .await;

    cluster.review("bob", &["admins"], &esc, "APPROVED").await;
    let (decided, reminder) = (format!("{uid}/decided"), format!("{uid}/reminder"));
    until("the decision and the reminder at the requestor's target", || {
        let got = keys(&requests);
        got.contains(&decided) && got.contains(&reminder)
    })
    .await;
    let decision = body(&requests, &decided);
    assert_eq!(
        (decision["state"].as_str(), decision["notice"].as_str()),
        (Some("ACCEPTED"), Some("Decided")),
        "{decision}"
    );
    assert!(decision["text"].as_str().unwrap().contains(&format!("kubectl kudo revoke {name}")), "{decision}");
    let reminded = body(&requests, &reminder);
    assert!(reminded["text"].as_str().unwrap().contains("expires at"), "{reminded}");
    assert_eq!(keys(&requests), [decided.clone(), reminder.clone()], "each once, in order");
    let esc = cluster
        .wait(&name, "marked", |e| {
            e.and_then(|e| e.status.as_ref())
                .is_some_and(|s| s.notified.contains(&Notice::Decided) && s.notified.contains(&Notice::Reminder))
        })
        .await
        .unwrap();
    assert!(!esc.status.unwrap().notified.contains(&Notice::Requested));
    // The failing target was tried every time and given up on, counted.
    let failed = |ctl: &support::RunningController| {
        ctl.metrics.notify.failed.get_or_create(&vec![("target".into(), "failing/url".into())]).get()
    };
    until("the failing target given up on", || failed(&ctl) == 1).await;
    let delivered = ctl.metrics.notify.delivered.get_or_create(&vec![("target".into(), "requests/url".into())]).get();
    assert_eq!(delivered, 2);
    assert!(ctl.metrics.encode().contains("kudo_notify_failed_total{target=\"failing/url\"} 1"));
    ctl.stop().await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("notification delivery failed; retrying") && text.contains("failing/url"), "{text}");
    for url in [&a_url, &b_url, &requests_url, &failing_url, &hang_url] {
        let token = url.rsplit('/').next().unwrap();
        assert!(!text.contains(token), "{token} in the logs");
    }
    assert!(!text.contains("XXXXtokenbadXXXX"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_notify_specs_are_refused_with_a_message() {
    capture_logs();
    let cluster = Cluster::new().await;
    // Sent as written (not through the typed API, which would drop unknown
    // fields itself), dry-run: the API server's schema and CEL judge.
    let admin = cluster.client("admin").await;
    let create = |notify: Value| {
        let admin = admin.clone();
        async move {
            let mut policy = pod_reader_policy("hostile", "10m", json!([]));
            policy["apiVersion"] = json!("k8s.kudo.dev/v1alpha1");
            policy["kind"] = json!("EscalationPolicy");
            policy["spec"]["notify"] = notify;
            let (obj, api) = kudo::manifests::apply::dynamic(&admin, policy).await.unwrap();
            let params = PostParams { dry_run: true, ..PostParams::default() };
            api.create(&params, &obj).await.map(|o| serde_json::to_value(o).unwrap()).map_err(|e| e.to_string())
        }
    };
    let nine: Vec<Value> = (0..9).map(|i| target(&format!("t{i}"), "slack")).collect();
    let refused = [
        (json!({"reviewers": nine}), "must have at most 8 items"),
        (json!({"reviewers": [target("../etc", "slack")]}), "should match"),
        (json!({"reviewers": [target(&"a".repeat(254), "slack")]}), "may not be more than 253"),
        (json!({"reviewers": [{"secretRef": {"name": "s", "key": "url"}, "format": "html"}]}), "Unsupported value"),
        (json!({"requestor": {"secretRef": {"name": "s", "key": "url/../x"}, "format": "json"}}), "should match"),
        (json!({"remindBefore": "-5m"}), "should match"),
        (json!({"remindBefore": "9000h"}), "notify.remindBefore is at most 8760h"),
    ];
    for (notify, why) in refused {
        let e = create(notify.clone()).await.expect_err(&format!("{notify} was accepted"));
        assert!(e.contains(why), "{notify}: {e}");
    }
    // A Secret in another namespace cannot even be named: the field does not
    // exist (refused, or pruned so that what is stored names none).
    let elsewhere =
        json!({"requestor": {"secretRef": {"name": "s", "key": "url", "namespace": "default"}, "format": "json"}});
    match create(elsewhere).await {
        Err(e) => assert!(e.contains("namespace"), "{e}"),
        Ok(stored) => {
            assert_eq!(stored["spec"]["notify"]["requestor"]["secretRef"], json!({"name": "s", "key": "url"}))
        }
    }
    let fine = create(json!({"reviewers": [target("team-b", "slack")], "remindBefore": "30m"})).await;
    assert!(fine.is_ok(), "{fine:?}");
}
