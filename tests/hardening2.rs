//! Issue 17 (Hardening II): volume, timing and neighbouring objects. One
//! test per item, named by it (`item00_…`, `item05_…`, `item09_…`,
//! `item10_…`), each failing before its fix; those that need fault
//! injection run on the fake and say so, the others on the backend
//! `KUDO_TEST_APISERVER` names (a real kube-apiserver by default).

mod support;

use std::time::Duration;

use kube::ResourceExt;
use kudo::api::EscalationState;
use serde_json::json;
use support::{Cluster, granted, pod_reader_policy};

/// 0. A reconcile never decides from a view older than the controller's own
/// last write. The fake delivers the escalation watch 400 ms late (the
/// bindings' watch on time), so a binding's event triggers a reconcile
/// while the cache still holds the escalation from before its status write:
/// the view a load run once saw accepted twice and denied as tampered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item00_a_stale_cache_never_decides_twice_on_the_fake() {
    let cluster = Cluster::fake_only().await;
    cluster.fake().lag_watches("escalations", Some(Duration::from_millis(400)));
    let ctl = cluster.start_controller("a").await;
    cluster.policy(pod_reader_policy("read-pods", "10m", json!([]))).await;
    let mut names = Vec::new();
    for _ in 0..10 {
        names.push(cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap().name_any());
    }
    for name in &names {
        let esc = cluster.wait(name, "granted", granted).await.unwrap();
        let status = esc.status.unwrap();
        assert_eq!(status.state, EscalationState::Accepted, "{name}: {}", status.state_details);
    }
    assert_eq!(ctl.metrics.status_conflicts.get(), 0, "a decision was made from a view older than a write");
    assert!(ctl.metrics.stale_views.get() > 0, "the stale view was never met: the test proves nothing");
    // Still true once the lagging events have all arrived.
    tokio::time::sleep(Duration::from_millis(800)).await;
    for name in &names {
        let esc = cluster.get(name).await.unwrap();
        assert!(granted(Some(&esc)), "{name}: {:?}", esc.status);
    }
    ctl.stop().await;
}

/// A local webhook receiver: every JSON body POSTed to `/hook`, in order.
async fn webhook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    use std::sync::{Arc, Mutex};
    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            store.lock().unwrap().push(serde_json::from_str(&body).unwrap());
            async { "ok" }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

/// 5. User text reaches chat escaped as Slack's formatting rules require
/// (`&` `<` `>` as entities), so a reason or review message cannot ping a
/// channel or a user, nor dress a link up as something else. The record's
/// data fields (`reason`, `review.message`) keep the text as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item05_chat_text_cannot_ping_or_phish() {
    const HOSTILE: &str = "<!channel> <@U123> <https://x|label> &";
    const ESCAPED: &str = "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x|label&gt; &amp;";
    let (url, received) = webhook_receiver().await;
    let cluster = Cluster::new().await;
    let mut options = Cluster::controller_options("a");
    options.audit_webhook = Some(kudo::audit::SinkConfig {
        url: kudo::audit::WebhookUrl::parse(&url).unwrap(),
        queue: 100,
        attempts: 3,
        backoff: Duration::from_millis(50),
    });
    let ctl = cluster.start_controller_with(options).await;
    let review = json!([{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}]);
    cluster.policy(pod_reader_policy("reviewed", "10m", review)).await;
    let esc = cluster.escalate("alice", &["squad-a"], "reviewed", json!({"reason": HOSTILE})).await.unwrap();
    let name = esc.name_any();
    cluster.wait_state(&name, "PENDING").await;
    let reviews: kube::Api<kudo::api::EscalationReview> = kube::Api::all(cluster.client("bob").await);
    let body = json!({
        "metadata": {"generateName": format!("{name}-")},
        "spec": {
            "escalationName": name, "escalationUID": esc.uid().unwrap(), "reviewer": "bob",
            "reviewerGroups": ["admins", "system:authenticated"], "decision": "APPROVED", "message": HOSTILE,
        },
    });
    reviews.create(&Default::default(), &serde_json::from_value(body).unwrap()).await.unwrap();
    cluster.wait(&name, "granted", granted).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let records = loop {
        let records = received.lock().unwrap().clone();
        let has = |action: &str, state: &str| records.iter().any(|r| r["action"] == action && r["state"] == state);
        if has("transition", "PENDING") && has("reviewReceived", "PENDING") && has("grantCreated", "ACCEPTED") {
            break records;
        }
        assert!(tokio::time::Instant::now() < deadline, "records: {records:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for r in &records {
        let text = r["text"].as_str().unwrap();
        assert!(!text.contains(['<', '>']), "{text}");
        assert!(!text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").contains('&'), "{text}");
    }
    let pending = records.iter().find(|r| r["action"] == "transition" && r["state"] == "PENDING").unwrap();
    assert!(pending["text"].as_str().unwrap().contains(&format!("({ESCAPED})")), "{pending}");
    assert_eq!(pending["reason"], HOSTILE, "the data field keeps the reason as written");
    let reviewed = records.iter().find(|r| r["action"] == "reviewReceived").unwrap();
    assert!(
        reviewed["text"].as_str().unwrap().contains(&format!("bob approved escalation {name} of alice ({ESCAPED})")),
        "{reviewed}"
    );
    assert_eq!(reviewed["review"]["message"], HOSTILE);
    // The Events carry the same text.
    let events = cluster.events(&name).await;
    assert!(events.iter().any(|(_, note, _)| note.contains(ESCAPED)), "{events:?}");
    assert!(events.iter().all(|(_, note, _)| !note.contains(['<', '>'])), "{events:?}");
    ctl.stop().await;
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// 9. The webhook URL is a secret (whoever holds a Slack webhook URL may
/// post as kudo): it comes from the environment only, and no log line or
/// error carries it, not even at debug level when every delivery fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item09_the_webhook_url_is_in_no_log_line() {
    use std::io::Read;
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
        }
    }
    let cluster = Cluster::new().await;
    cluster.policy(pod_reader_policy("read-pods", "30m", json!([]))).await;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let marker = format!("s3cr3t{nanos:x}{}", std::process::id());
    let url = format!("http://127.0.0.1:{}/services/T0/B0/{marker}?token={marker}", free_port());
    let mut child = Killed(
        std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-kudo"))
            .arg("--kubeconfig")
            .arg(cluster.kubeconfig_path())
            .args(["--context", support::SA, "controller", "--log-format", "json", "--log", "debug"])
            .args(["--listen", "127.0.0.1:0", "--audit-attempts", "2"])
            .env("KUDO_AUDIT_WEBHOOK", &url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Both pipes drained as they fill, so that the controller never blocks on a log line.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = text.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        text
    };
    let stdout = drain(Box::new(child.0.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.0.stderr.take().unwrap()));
    let esc = cluster.escalate("alice", &["squad-a"], "read-pods", json!({})).await.unwrap();
    cluster.wait(&esc.name_any(), "granted", granted).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !stderr.lock().unwrap().contains("failed for good") {
        assert!(std::time::Instant::now() < deadline, "no delivery failed: {}", stderr.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = child.0.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.0.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the controller ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (stdout, stderr) = (stdout.lock().unwrap().clone(), stderr.lock().unwrap().clone());
    assert!(stderr.contains("retrying"), "the test proves nothing unless deliveries failed: {stderr}");
    for (what, text) in [("stderr", &stderr), ("stdout", &stdout)] {
        let leaked: Vec<&str> = text.lines().filter(|l| l.contains(&marker)).collect();
        assert!(leaked.is_empty(), "the webhook URL is on the controller's {what}: {leaked:#?}");
    }
}

/// One GET on a fresh connection, with its own deadline.
async fn get(port: u16, path: &str) -> Result<String, String> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    let response = client.get(format!("http://127.0.0.1:{port}{path}")).send().await.map_err(|e| e.to_string())?;
    response.text().await.map_err(|e| e.to_string())
}

/// How a slow client ended: whether it dribbled its head, and how long the
/// server let it hold its connection.
struct SlowEnd {
    dribbled: bool,
    held: Duration,
}

/// A client that connects (and says so on `connected`), then sends its
/// request head one byte every 200 ms (`dribble`) or nothing at all. It
/// reports when the server ended the connection: a read that returns (EOF,
/// a reset or any bytes: no valid response answers an unfinished head) or
/// a write that fails.
async fn slow_client(
    port: u16,
    dribble: bool,
    connected: tokio::sync::mpsc::UnboundedSender<()>,
    ended: tokio::sync::mpsc::UnboundedSender<SlowEnd>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let since = tokio::time::Instant::now();
    let _ = connected.send(());
    let head = b"GET /healthz HTTP/1.1\r\nHost: kudo\r\nX-Slow: ".iter().chain(std::iter::repeat(&b'a'));
    let mut buf = [0u8; 64];
    for byte in head {
        if dribble && stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        if tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await.is_ok() {
            break;
        }
    }
    let _ = ended.send(SlowEnd { dribbled: dribble, held: since.elapsed() });
}

/// 10. The health and metrics server drops a client that does not send its
/// request head in time (whether it sends nothing or dribbles it byte by
/// byte), and holds no more than its connection limit however many
/// connect: while three times the limit of slow clients hang on, the
/// server holds at most the limit (so memory does not grow with them) and
/// a probe is still answered at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item10_slow_clients_are_dropped_and_cannot_crowd_out_a_probe() {
    use tokio::sync::mpsc::unbounded_channel;
    let cluster = Cluster::new().await;
    let port = free_port();
    let mut options = Cluster::controller_options("a");
    options.listen = Some(([127, 0, 0, 1], port).into());
    // The shipped limits, as the Deployment runs them.
    let (header_timeout, limit) = (options.http.header_read_timeout, options.http.max_connections);
    let ctl = cluster.start_controller_with(options).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while get(port, "/healthz").await.as_deref() != Ok("ok") {
        assert!(tokio::time::Instant::now() < deadline, "the server never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let slow = 3 * limit;
    let ((connected_tx, mut connected), (ended_tx, mut ended)) = (unbounded_channel(), unbounded_channel());
    for i in 0..slow {
        tokio::spawn(slow_client(port, i % 2 == 0, connected_tx.clone(), ended_tx.clone()));
    }
    drop((connected_tx, ended_tx));
    for _ in 0..slow {
        tokio::time::timeout(Duration::from_secs(3), connected.recv()).await.expect("slow clients connect").unwrap();
    }
    // While they hang on, probes are answered at once, and the server
    // holds no more connections than its limit.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..5 {
        let asked = tokio::time::Instant::now();
        assert_eq!(get(port, "/healthz").await.as_deref(), Ok("ok"), "a probe went unanswered");
        assert!(asked.elapsed() < Duration::from_secs(1), "a probe waited {:?}", asked.elapsed());
        let held = ctl.metrics.http_connections.get();
        assert!(held <= limit as i64, "the server holds {held} connections; its limit is {limit}");
    }
    // Every one ends: those beyond the limit at once, the others, silent or
    // dribbling, once the header timeout has passed.
    let mut ends = Vec::new();
    let deadline = tokio::time::Instant::now() + header_timeout + Duration::from_secs(3);
    while ends.len() < slow {
        match tokio::time::timeout_at(deadline, ended.recv()).await {
            Ok(Some(end)) => ends.push(end),
            Ok(None) => break,
            Err(_) => panic!("{} of {slow} slow clients are still connected", slow - ends.len()),
        }
    }
    assert_eq!(ends.len(), slow);
    let (early, late): (Vec<SlowEnd>, Vec<SlowEnd>) = ends.into_iter().partition(|e| e.held < header_timeout / 2);
    assert!(
        early.len() >= slow - limit,
        "{} of {slow} slow clients were let go early; the limit is {limit}",
        early.len()
    );
    assert!(ctl.metrics.http_connections_evicted.get() >= (slow - limit) as u64);
    for dribbled in [true, false] {
        let timed_out: Vec<Duration> = late.iter().filter(|e| e.dribbled == dribbled).map(|e| e.held).collect();
        assert!(
            !timed_out.is_empty(),
            "no {} client outlived the evictions",
            if dribbled { "dribbling" } else { "silent" }
        );
        for held in timed_out {
            assert!(held >= header_timeout - Duration::from_millis(500), "dropped after {held:?}, before the timeout");
        }
    }
    // The server counts a connection just after closing it.
    let counted = tokio::time::Instant::now() + Duration::from_secs(2);
    while ctl.metrics.http_timeouts.get() < late.len() as u64 || ctl.metrics.http_connections.get() != 0 {
        assert!(
            tokio::time::Instant::now() < counted,
            "{} timeouts counted for {} clients; {} connections held",
            ctl.metrics.http_timeouts.get(),
            late.len(),
            ctl.metrics.http_connections.get()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(get(port, "/healthz").await.as_deref(), Ok("ok"));
    ctl.stop().await;
}
