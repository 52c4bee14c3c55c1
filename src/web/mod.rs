//! The dashboard (`kubectl kudo dashboard`): a web UI on 127.0.0.1 acting
//! as the user who runs it, with their own kubeconfig identity. There is
//! no server-side component and no permission beyond the user's own.
//!
//! Thin: `routes` (HTTP, forms) → `backend` (`crate::operations`, as the user) →
//! `pages` (HTML, rendered by maud, which escapes every value). `guard`
//! keeps other users, other pages and other hosts out; `live` turns a kube
//! watch into server-sent events so pages update without a reload. The
//! CSS and the few lines of script are compiled into the binary.

mod backend;
mod guard;
mod live;
mod pages;
mod routes;

use std::sync::Arc;

use tokio::{net::TcpListener, sync::watch};

use crate::operations::Session;

/// Largest form a page sends (a reason, a message): anything bigger is refused (413).
pub const MAX_BODY: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no random token: the operating system's RNG failed ({0})")]
    Random(getrandom::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What every handler reaches: the user's session, the watch's generation, the guard.
#[derive(Clone)]
pub struct App {
    session: Arc<Session>,
    changes: watch::Receiver<u64>,
    guard: guard::Guard,
}

pub struct Dashboard {
    app: App,
    listener: TcpListener,
    feed: watch::Sender<u64>,
}

impl Dashboard {
    /// A dashboard acting as `session`'s user, on `listener` (bound to
    /// 127.0.0.1 by the caller), with a fresh token.
    pub fn new(session: Session, listener: TcpListener) -> Result<Self, Error> {
        let port = listener.local_addr()?.port();
        let guard = guard::Guard::new(port).map_err(Error::Random)?;
        let (feed, changes) = watch::channel(0);
        Ok(Self { app: App { session: Arc::new(session), changes, guard }, listener, feed })
    }

    /// The URL with the token, to print and open once.
    pub fn login_url(&self) -> String {
        self.app.guard.login_url()
    }

    /// Serves until `shutdown` completes; the watch feeding live pages runs alongside.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
        let feed = tokio::spawn(live::feed(self.app.session.clone(), self.feed));
        let router = routes::router(self.app);
        // Ending the feed drops its sender, which ends every open event
        // stream: graceful shutdown does not wait on pages left open.
        let stop = async move {
            shutdown.await;
            feed.abort();
        };
        Ok(axum::serve(self.listener, router).with_graceful_shutdown(stop).await?)
    }
}
