//! The controller's HTTP endpoints: `/healthz` and `/readyz` (the process
//! answers and is not shutting down), `/metrics`.
//!
//! Anyone who can reach the port can connect, so no client may hold the
//! server: a request head must arrive within [`HttpLimits::header_read_timeout`],
//! a connection serves one request and lives no longer than the head's
//! timeout plus [`HttpLimits::request_timeout`], and at most
//! [`HttpLimits::max_connections`] are held (see `connections`). Who may
//! connect at all is the NetworkPolicy's business (README, Security model).

mod connections;

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use hyper::{Method, Request, Response, StatusCode, body::Incoming, header};
use hyper_util::rt::{TokioIo, TokioTimer};

use self::connections::{Admitted, Connections};
use super::{Metrics, RunError};

/// What one client may cost the server.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// A client must send its whole request head within this after connecting.
    pub header_read_timeout: Duration,
    /// After that, the answer must be written within this; then the connection closes.
    pub request_timeout: Duration,
    /// Connections held at once; a newcomer beyond it takes the place of the
    /// oldest one not being answered.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        // Probes and scrapers send their head at once and read a few kB.
        Self {
            header_read_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_connections: 64,
        }
    }
}

/// A request head larger than this is refused; it bounds each connection's
/// buffer (hyper's minimum is 8 KiB).
const MAX_BUFFER: usize = 16 * 1024;

struct Endpoints {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

pub(super) async fn serve(
    addr: SocketAddr,
    limits: HttpLimits,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| RunError::Listen { addr, source })?;
    let connections = Connections::new(limits.max_connections, metrics.clone());
    let endpoints = Arc::new(Endpoints { metrics, ready });
    tokio::spawn(async move {
        tokio::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, most likely: give others time to close.
                        tracing::warn!(error = %e, "health/metrics server cannot accept; retrying");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            // None: every held connection is being answered; this one is closed unanswered.
            if let Some(admitted) = connections.admit() {
                tokio::spawn(connection(stream, admitted, limits.clone(), endpoints.clone()));
            }
        }
        connections.close_all();
    });
    Ok(())
}

/// One connection, until it is answered, times out, or must make room.
async fn connection(stream: tokio::net::TcpStream, admitted: Admitted, limits: HttpLimits, endpoints: Arc<Endpoints>) {
    let slot = admitted.slot.clone();
    let metrics = endpoints.metrics.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let _answering = slot.answering();
        std::future::ready(Ok::<_, Infallible>(respond(&endpoints, &request)))
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(false)
        .max_buf_size(MAX_BUFFER);
    let served = http.serve_connection(TokioIo::new(stream), service);
    let deadline = limits.header_read_timeout + limits.request_timeout;
    // Dropping the connection closes the socket.
    tokio::select! {
        served = tokio::time::timeout(deadline, served) => match served {
            Ok(Ok(())) => {}
            Ok(Err(e)) if e.is_timeout() => {
                metrics.http_timeouts.inc();
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "health/metrics connection failed"),
            Err(_) => {
                metrics.http_timeouts.inc();
            }
        },
        () = admitted.slot.closed() => {}
    }
}

fn respond(endpoints: &Endpoints, request: &Request<Incoming>) -> Response<String> {
    let reply = |status: StatusCode, body: &str| {
        let mut response = Response::new(body.to_string());
        *response.status_mut() = status;
        response
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
    }
    match request.uri().path() {
        "/healthz" => reply(StatusCode::OK, "ok"),
        "/readyz" if endpoints.ready.load(Ordering::Relaxed) => reply(StatusCode::OK, "ok"),
        "/readyz" => reply(StatusCode::SERVICE_UNAVAILABLE, "starting"),
        "/metrics" => {
            let mut response = Response::new(endpoints.metrics.encode());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            );
            response
        }
        _ => reply(StatusCode::NOT_FOUND, "not found\n"),
    }
}
