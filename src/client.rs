//! The Kubernetes client every part of kudo talks through: kube's, built as
//! kube builds it, with `TCP_NODELAY` on its sockets. kube leaves Nagle's
//! algorithm on (kube-rs/kube#2056, open): the first request on a fresh
//! connection, written right after the TLS handshake, waited for the API
//! server's delayed ACK, 40 ms every time. That was a sixth of `kubectl kudo
//! list --all` with 10 000 escalations, and it delayed every connection the
//! controller opens under a burst. kube's per-request trace spans are left
//! out: each costs CPU on every request, and kudo logs each failed request
//! itself, with what it was for.

use hyper_util::{
    client::legacy::{Client as HyperClient, connect::HttpConnector},
    rt::TokioExecutor,
};
use kube::client::{Body, ClientBuilder, ConfigExt, retry::RetryPolicy};
use tower::{BoxError, ServiceBuilder, retry::RetryLayer};

/// A client for `config`. Through a proxy, kube's own (it speaks the proxy
/// protocols); anything else as kube builds it, sockets without Nagle.
pub fn client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    if config.proxy_url.is_some() {
        return kube::Client::try_from(config);
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let mut connector = hyper_timeout::TimeoutConnector::new(config.rustls_https_connector_with_connector(http)?);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http: HyperClient<_, Body> = HyperClient::builder(TokioExecutor::new()).build(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.default_retry.then(|| RetryLayer::new(RetryPolicy::server_retry())))
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(http);
    Ok(ClientBuilder::new(service, config.default_namespace.clone()).build())
}
