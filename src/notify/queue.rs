//! Delivery: one bounded queue and one worker per target, so a target that
//! fails or hangs holds up only its own messages. Each message is tried
//! until delivered or `attempts` run out, with backoff, each attempt
//! bounded by `timeout` (reading the URL and the POST together). A message
//! a full queue cannot take is dropped and counted, and its completion says
//! so (the caller sends it again later). Logs name the target by its
//! Secret and key, never by its URL.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::future::BoxFuture;
use prometheus_client::metrics::{counter::Counter, family::Family};
use tokio::sync::mpsc;

use super::message::Message;
use crate::{
    api::SecretKeyRef,
    audit::{self, WebhookUrl},
};

#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Messages waiting per target before new ones are dropped.
    pub queue: usize,
    /// Attempts per message and target.
    pub attempts: u32,
    /// First retry delay; doubles per attempt, at most a minute.
    pub backoff: Duration,
    /// One attempt, from reading the Secret to the answer.
    pub timeout: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self { queue: 256, attempts: 6, backoff: Duration::from_secs(1), timeout: Duration::from_secs(10) }
    }
}

/// Per target (`secret/key`): delivered, failed after every attempt, dropped.
#[derive(Clone, Default)]
pub struct NotifyCounters {
    pub delivered: Family<Vec<(String, String)>, Counter>,
    pub failed: Family<Vec<(String, String)>, Counter>,
    pub dropped: Family<Vec<(String, String)>, Counter>,
}

/// Where a target's URL comes from (its Secret, in the controller); the
/// error says what to fix and never holds the URL.
pub type Resolve = Arc<dyn Fn(SecretKeyRef) -> BoxFuture<'static, Result<WebhookUrl, String>> + Send + Sync>;

type OnDone = Box<dyn FnOnce(bool) + Send>;

/// Told once every target has finished with a message: `true` when each
/// took it (delivered, or gave up after every attempt), `false` when a
/// full queue dropped it somewhere.
pub struct Completion {
    on_done: Mutex<Option<OnDone>>,
    dropped: AtomicBool,
}

impl Completion {
    pub fn new(on_done: impl FnOnce(bool) + Send + 'static) -> Arc<Self> {
        Arc::new(Self { on_done: Mutex::new(Some(Box::new(on_done))), dropped: AtomicBool::new(false) })
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        let on_done = self.on_done.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(f) = on_done {
            f(!self.dropped.load(Ordering::Relaxed));
        }
    }
}

struct Job {
    message: Message,
    /// Dropped (with the job) when this target is done with it.
    done: Arc<Completion>,
}

pub struct Queues {
    config: DeliveryConfig,
    http: reqwest::Client,
    resolve: Resolve,
    counters: NotifyCounters,
    targets: Mutex<HashMap<SecretKeyRef, mpsc::Sender<Job>>>,
}

fn label(target: &SecretKeyRef) -> Vec<(String, String)> {
    vec![("target".into(), format!("{}/{}", target.name, target.key))]
}

impl Queues {
    pub fn new(config: DeliveryConfig, resolve: Resolve, counters: NotifyCounters) -> Result<Self, reqwest::Error> {
        let http = audit::http_client(config.timeout)?;
        Ok(Self { config, http, resolve, counters, targets: Mutex::default() })
    }

    /// Queues `message` for `target`; never waits.
    pub fn send(&self, target: &SecretKeyRef, message: Message, done: Arc<Completion>) {
        let tx = {
            let mut targets = self.targets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            targets.entry(target.clone()).or_insert_with(|| self.start(target.clone())).clone()
        };
        if let Err(e) = tx.try_send(Job { message, done }) {
            let job = match e {
                mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job) => job,
            };
            job.done.dropped.store(true, Ordering::Relaxed);
            self.counters.dropped.get_or_create(&label(target)).inc();
            tracing::warn!(target = %format!("{}/{}", target.name, target.key), key = %job.message.idempotency_key, "notification queue full: message dropped (sent again at the escalation's next reconcile)");
        }
    }

    fn start(&self, target: SecretKeyRef) -> mpsc::Sender<Job> {
        let (tx, mut rx) = mpsc::channel::<Job>(self.config.queue.max(1));
        let (config, http, resolve, counters) =
            (self.config.clone(), self.http.clone(), self.resolve.clone(), self.counters.clone());
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                deliver(&config, &http, &resolve, &counters, &target, &job.message).await;
                drop(job);
            }
        });
        tx
    }
}

async fn deliver(
    config: &DeliveryConfig,
    http: &reqwest::Client,
    resolve: &Resolve,
    counters: &NotifyCounters,
    target: &SecretKeyRef,
    message: &Message,
) {
    let name = format!("{}/{}", target.name, target.key);
    let key = message.idempotency_key.as_str();
    let attempts = config.attempts.max(1);
    let mut delay = config.backoff;
    for attempt in 1..=attempts {
        let once = async {
            let url = resolve(target.clone()).await?;
            audit::post(http, &url, &[("Idempotency-Key", key)], message.body.clone()).await
        };
        let result = match tokio::time::timeout(config.timeout, once).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {:?}", config.timeout)),
        };
        match result {
            Ok(()) => {
                counters.delivered.get_or_create(&label(target)).inc();
                tracing::debug!(target = %name, %key, "notification delivered");
                return;
            }
            Err(error) if attempt < attempts => {
                tracing::warn!(target = %name, %key, attempt, %error, "notification delivery failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
            Err(error) => {
                counters.failed.get_or_create(&label(target)).inc();
                tracing::error!(target = %name, %key, attempts, %error, "notification not delivered after every attempt; given up");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{io, sync::atomic::AtomicUsize};

    use tokio::{net::TcpListener, sync::mpsc::UnboundedReceiver};

    use super::*;

    const TOKEN: &str = "XXXXsecretXXXX";

    /// A receiver answering `status` to every POST, reporting each body.
    async fn receiver(status: u16) -> (String, UnboundedReceiver<(String, String)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let app = axum::Router::new().route(
            &format!("/hook/{TOKEN}"),
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                let _ = tx.send((key, body));
                async move { axum::http::StatusCode::from_u16(status).unwrap() }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/hook/{TOKEN}"), rx)
    }

    /// Accepts connections and never answers; counts them.
    async fn hanging() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                held.push(socket);
            }
        });
        (format!("http://{addr}/hook/{TOKEN}"), accepted)
    }

    fn resolve(urls: HashMap<String, String>) -> Resolve {
        Arc::new(move |target: SecretKeyRef| {
            let url = urls.get(&target.name).cloned();
            Box::pin(async move {
                let url = url.ok_or_else(|| format!("Secret {} does not exist", target.name))?;
                WebhookUrl::parse(&url).map_err(|e| e.to_string())
            })
        })
    }

    fn target(name: &str) -> SecretKeyRef {
        SecretKeyRef { name: name.into(), key: "url".into() }
    }

    fn message(key: &str) -> Message {
        Message { idempotency_key: key.into(), body: format!("{{\"text\":\"{key}\"}}") }
    }

    fn count(family: &Family<Vec<(String, String)>, Counter>, target: &str) -> u64 {
        family.get_or_create(&label(&self::target(target))).get()
    }

    #[tokio::test]
    async fn a_hanging_target_delays_no_other_and_a_full_queue_drops_and_counts() {
        let (hang_url, accepted) = hanging().await;
        let (ok_url, mut ok) = receiver(200).await;
        let urls = [("hang".to_string(), hang_url), ("ok".to_string(), ok_url)].into();
        // An attempt that never ends within the test: if the other target
        // waited on it, the test would never see its message.
        let config =
            DeliveryConfig { queue: 1, attempts: 1, backoff: Duration::ZERO, timeout: Duration::from_secs(3600) };
        let counters = NotifyCounters::default();
        let queues = Queues::new(config, resolve(urls), counters.clone()).unwrap();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        let completion = |key: &'static str| {
            let tx = done_tx.clone();
            Completion::new(move |taken| {
                let _ = tx.send((key, taken));
            })
        };
        queues.send(&target("hang"), message("h1"), completion("h1"));
        while accepted.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // h1 is in flight; h2 fills the queue of one; h3 is dropped.
        queues.send(&target("hang"), message("h2"), completion("h2"));
        queues.send(&target("hang"), message("h3"), completion("h3"));
        assert_eq!(done_rx.recv().await, Some(("h3", false)), "the dropped one completes at once, as not taken");
        assert_eq!(count(&counters.dropped, "hang"), 1);
        for key in ["o1", "o2", "o3"] {
            queues.send(&target("ok"), message(key), completion(key));
            let (got_key, body) = ok.recv().await.unwrap();
            assert_eq!((got_key.as_str(), body), (key, format!("{{\"text\":\"{key}\"}}")));
            assert_eq!(done_rx.recv().await, Some((key, true)));
        }
        assert_eq!(count(&counters.delivered, "ok"), 3);
        assert_eq!((count(&counters.delivered, "hang"), count(&counters.dropped, "ok")), (0, 0));
    }

    /// Log lines, captured.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn failures_are_retried_counted_and_logged_without_the_url() {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .finish();
        // The test's runtime is one thread: every task logs through this.
        let _guard = tracing::subscriber::set_default(subscriber);
        let (failing_url, mut failing) = receiver(500).await;
        let (hang_url, _) = hanging().await;
        let urls = [("failing".to_string(), failing_url), ("hang".to_string(), hang_url)].into();
        let config = DeliveryConfig {
            queue: 8,
            attempts: 3,
            backoff: Duration::from_millis(1),
            timeout: Duration::from_millis(200),
        };
        let counters = NotifyCounters::default();
        let queues = Queues::new(config, resolve(urls), counters.clone()).unwrap();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        for name in ["failing", "hang", "missing"] {
            let tx = done_tx.clone();
            queues.send(
                &target(name),
                message(name),
                Completion::new(move |taken| {
                    let _ = tx.send((name, taken));
                }),
            );
        }
        let mut finished = Vec::new();
        for _ in 0..3 {
            finished.push(done_rx.recv().await.unwrap());
        }
        finished.sort();
        assert_eq!(finished, [("failing", true), ("hang", true), ("missing", true)], "given up after every attempt");
        for name in ["failing", "hang", "missing"] {
            assert_eq!(count(&counters.failed, name), 1, "{name}");
        }
        let mut tries = 0;
        while failing.try_recv().is_ok() {
            tries += 1;
        }
        assert_eq!(tries, 3, "every attempt reached the failing target");
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("retrying") && text.contains("given up") && text.contains("failing/url"), "{text}");
        assert!(text.contains("500"), "the status is said: {text}");
        assert!(!text.contains(TOKEN) && !text.contains("/hook"), "no URL in the logs: {text}");
    }
}
