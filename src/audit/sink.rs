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
        // reqwest is built without a TLS provider of its own: use ring, as kube does.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| e.without_url())?;
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

async fn deliver(http: &reqwest::Client, config: &SinkConfig, counters: &SinkCounters, line: String) {
    let mut delay = config.backoff;
    for attempt in 1..=config.attempts.max(1) {
        let sent = http
            .post(config.url.url().clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(line.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        match sent {
            Ok(_) => {
                counters.delivered.inc();
                return;
            }
            Err(e) if attempt < config.attempts => {
                let error = describe(e);
                tracing::warn!(%error, attempt, webhook = %config.url, "audit sink delivery failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            Err(e) => {
                counters.failed.inc();
                let error = describe(e);
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
