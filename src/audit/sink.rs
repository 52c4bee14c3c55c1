//! The optional HTTP sink: a bounded queue drained by one task that POSTs
//! each record, retrying with backoff. Reconciliation never waits on it; a
//! record it cannot take or deliver is logged (with the record) and counted.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;

use super::WebhookUrl;

/// Debug shows the URL's scheme and host only (see [`WebhookUrl`]).
#[derive(Clone, Debug)]
pub struct SinkConfig {
    pub url: WebhookUrl,
    /// Records waiting for delivery before new ones are refused.
    pub queue: usize,
    /// Delivery attempts per record.
    pub attempts: u32,
    /// First retry delay; doubles per attempt up to 30 s.
    pub backoff: Duration,
}

#[derive(Clone, Default)]
pub struct SinkCounters {
    pub delivered: Counter,
    pub failed: Counter,
    pub dropped: Counter,
}

pub struct Sink {
    tx: mpsc::Sender<String>,
    counters: SinkCounters,
}

impl Sink {
    pub fn start(config: SinkConfig, counters: SinkCounters) -> Result<Self, reqwest::Error> {
        let http = http_client(Duration::from_secs(10))?;
        let (tx, mut rx) = mpsc::channel::<String>(config.queue.max(1));
        let task_counters = counters.clone();
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                deliver(&http, &config, &task_counters, line).await;
            }
        });
        Ok(Self { tx, counters })
    }

    /// Queues a record; never waits.
    pub fn send(&self, line: String) {
        if let Err(e) = self.tx.try_send(line) {
            self.counters.dropped.inc();
            let line = match e {
                mpsc::error::TrySendError::Full(l) | mpsc::error::TrySendError::Closed(l) => l,
            };
            tracing::error!(record = %line, "audit sink queue is full; record not sent to the sink (it is on stdout)");
        }
    }
}

/// The HTTP client of every webhook kudo posts to (the audit sink, the
/// notification targets): `timeout` bounds each attempt, connect to answer.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    // reqwest is built without a TLS provider of its own: use ring, as kube does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(timeout).build().map_err(|e| e.without_url())
}

/// One POST of a JSON `body`; a non-2xx answer is an error. The error
/// never names the URL (see [`describe`]).
pub(crate) async fn post(
    http: &reqwest::Client,
    url: &WebhookUrl,
    headers: &[(&str, &str)],
    body: String,
) -> Result<(), String> {
    let mut request = http.post(url.url().clone()).header(reqwest::header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(body).send().await.and_then(reqwest::Response::error_for_status).map(|_| ()).map_err(describe)
}

async fn deliver(http: &reqwest::Client, config: &SinkConfig, counters: &SinkCounters, line: String) {
    let mut delay = config.backoff;
    for attempt in 1..=config.attempts.max(1) {
        match post(http, &config.url, &[], line.clone()).await {
            Ok(()) => {
                counters.delivered.inc();
                return;
            }
            Err(error) if attempt < config.attempts => {
                tracing::warn!(%error, attempt, webhook = %config.url, "audit sink delivery failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            Err(error) => {
                counters.failed.inc();
                tracing::error!(%error, webhook = %config.url, record = %line, "audit sink delivery failed for good (the record is on stdout)");
            }
        }
    }
}

/// The error and its causes, without the URL: reqwest's own message names
/// the URL it was sending to, which is the secret. Its causes (connect,
/// TLS, status) are what an operator needs and name at most the host.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
