//! Live pages: one kube watch on escalations, as the user, bumps a
//! generation counter on every change; each open page's event stream
//! re-renders its changing part when the counter moves and sends it as a
//! server-sent event, which the page's script puts in place (no reload).
//! A `watch` channel keeps only the latest generation, so a burst of
//! changes costs one render per page, not one per change.

use std::{convert::Infallible, sync::Arc};

use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use tokio::sync::watch;

use super::{App, pages::View, routes};
use crate::operations::{
    Session,
    list::{self, Scope, Selection},
};

/// Runs the watch until aborted. Every change counts, whoever's: the
/// pages select what they show when they render.
pub async fn feed(session: Arc<Session>, generation: watch::Sender<u64>) {
    let everything = match Selection::new(&session, Scope::All).await {
        Ok(s) => s,
        Err(e) => return tracing::warn!(error = %e, "dashboard: live updates off"),
    };
    let mut changes = list::changes(&session, everything).boxed();
    while let Some(change) = changes.next().await {
        match change {
            Ok(_) => generation.send_modify(|g| *g = g.wrapping_add(1)),
            // kube's own words, no user text; the watch retries, a second apart.
            Err(e) => {
                tracing::warn!(error = %e, "dashboard: watching escalations");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// The stream of one page: its part now, then again after every change.
pub fn stream(app: App, view: View) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = app.changes.clone();
    let updates = futures::stream::unfold((app, view, changes, true), |(app, view, mut changes, first)| async move {
        // The sender is gone when the dashboard stops: the stream ends.
        if !first && changes.changed().await.is_err() {
            return None;
        }
        changes.borrow_and_update();
        let html = routes::fragment(&app, &view).await.into_string();
        Some((Ok(Event::default().event("update").data(html)), (app, view, changes, false)))
    });
    Sse::new(updates).keep_alive(KeepAlive::default())
}
