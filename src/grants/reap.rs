//! The reaper (DESIGN §4): the second line of defence. One pass deletes
//! every kudo-labelled binding past its end — the earliest of its own
//! `k8s.kudo.dev/expires-at` annotation and its escalation's
//! `status.expiresAt`, revocation or deletion — or whose escalation is
//! gone, final, or another instance. It reads escalations as untyped JSON,
//! so no object a user can write, however malformed, can make it fail.
//!
//! A namespace admin can create any number of kudo-labelled bindings in
//! their namespace, so a pass must not be starved by them: it deletes the
//! most dangerous first (see [`crate::engine::binding::Urgency`]), many at
//! once, and stops at its time budget, before the Job's deadline kills it.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, ListParams},
};
use tokio::time::Instant;

use super::{GrantError, Grants, pages};
use crate::{
    api::{Escalation, GrantKind},
    engine::binding::{Found, MostUrgent, Reap, Seen, awaits_newer_escalation, reap_decision, reap_order},
};

/// How one pass spends its time.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// From the start of the pass to the last request; what is not
    /// reached by then is left to the next pass.
    pub budget: Duration,
    /// Deletions in flight at once.
    pub concurrency: usize,
}

/// The CronJob's budget: its Job is killed at 55 s (`activeDeadlineSeconds`),
/// which leaves 10 s to start, connect and exit.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(45);
pub const DEFAULT_CONCURRENCY: usize = 16;

impl Default for Options {
    fn default() -> Self {
        Self { budget: DEFAULT_BUDGET, concurrency: DEFAULT_CONCURRENCY }
    }
}

/// At most this many due bindings are held in a pass, the most urgent:
/// about 300 bytes each. More than a pass can delete within its budget (in
/// 45 s a real API server on 2 shared cores took 4 800 to 9 000 of a
/// namespace admin's junk bindings, the fake about 12 000), so none it
/// could have reached is lost.
pub const MAX_DUE: usize = 20_000;

/// What one pass did.
#[derive(Debug, Default)]
pub struct Pass {
    /// kudo-labelled bindings listed.
    pub listed: usize,
    /// Bindings deleted.
    pub reaped: usize,
    /// Due bindings whose deletion failed.
    pub failed: usize,
    /// Due bindings not reached: beyond the budget, or beyond [`MAX_DUE`]
    /// (the next pass starts again from the most urgent).
    pub left: usize,
    /// How long listing the bindings and escalations took, and the whole pass.
    pub listing: Duration,
    pub elapsed: Duration,
}

/// One binding dealt with, as it happens (a pass killed at the Job's
/// deadline still tells what it did).
#[derive(Debug)]
pub enum Done<'a> {
    Reaped { binding: &'a Found, why: &'a str },
    Failed { binding: &'a Found, why: &'a str, error: &'a GrantError },
}

#[derive(Debug, thiserror::Error)]
pub enum ReapError {
    #[error(transparent)]
    Grants(#[from] GrantError),
    #[error("listing the bindings and escalations took longer than the whole budget ({0:?})")]
    OutOfTime(Duration),
}

/// One reaper pass at `now`; `report` hears of each binding dealt with.
pub async fn reap(
    client: &Client,
    now: Timestamp,
    options: Options,
    mut report: impl FnMut(Done<'_>),
) -> Result<Pass, ReapError> {
    let started = Instant::now();
    let deadline = started + options.budget;
    let grants = Grants::new(client.clone());
    let (listed, passed_over, due) = tokio::time::timeout_at(deadline, due(client, &grants, now))
        .await
        .map_err(|_| ReapError::OutOfTime(options.budget))??;
    let mut pass = Pass { listed, left: passed_over + due.len(), listing: started.elapsed(), ..Pass::default() };
    let mut done = futures::stream::iter(due)
        // Checked as each deletion is about to start, not once up front.
        .take_while(|_| std::future::ready(Instant::now() < deadline))
        .map(|(found, reap): (Found, Reap)| {
            let grants = grants.clone();
            async move {
                let outcome = tokio::time::timeout_at(deadline, grants.delete_found(&found)).await;
                (found, reap, outcome)
            }
        })
        .buffer_unordered(options.concurrency.max(1));
    while let Some((found, reap, outcome)) = done.next().await {
        match outcome {
            Ok(Ok(true)) => {
                pass.reaped += 1;
                report(Done::Reaped { binding: &found, why: &reap.why });
            }
            // Gone since the list (its controller reclaimed it): nothing reaped.
            Ok(Ok(false)) => {}
            // No retry within the pass: a binding that keeps failing must
            // not hold up the others; the next pass tries it again.
            Ok(Err(error)) => {
                tracing::warn!(binding = %found.describe(), reason = %reap.why, error = %error, "could not reap");
                pass.failed += 1;
                report(Done::Failed { binding: &found, why: &reap.why, error: &error });
            }
            Err(_) => continue,
        }
        pass.left -= 1;
    }
    pass.elapsed = started.elapsed();
    if pass.left > 0 {
        tracing::warn!(left = pass.left, budget = ?options.budget, "due bindings left; the next pass goes on from the most urgent");
    }
    Ok(pass)
}

/// How many kudo-labelled bindings there are, how many due ones gave way
/// to more urgent ones, and the most urgent due ones, in order, with why.
///
/// Escalations are listed first, so each binding is decided as it is
/// listed and only the most urgent are held. A binding whose escalation is
/// missing from that list, or another instance there, may belong to one
/// created since (the controller creates a binding only once its
/// escalation's status names it); those are decided again from a second
/// list taken after the bindings, which then holds their escalation unless
/// it is gone. So a binding never costs a read of its own, however many
/// name escalations that do not exist.
async fn due(
    client: &Client,
    grants: &Grants,
    now: Timestamp,
) -> Result<(usize, usize, Vec<(Found, Reap)>), GrantError> {
    let before = list_escalations(client, |_| true).await?;
    let mut top = MostUrgent::new(MAX_DUE);
    let mut listed = 0;
    for kind in [GrantKind::KubernetesClusterRoleBinding, GrantKind::KubernetesRoleBinding] {
        let mut pages = grants.managed_pages(kind);
        while let Some(page) = pages.try_next().await? {
            listed += page.len();
            for found in page.iter().map(Found::of) {
                if let Some(reap) = reap_decision(&found, &before, now) {
                    top.push(found, reap);
                }
            }
        }
    }
    let passed_over = top.passed_over;
    let mut due = top.into_sorted();
    let unsure: HashSet<String> = due
        .iter()
        .filter(|(f, _)| awaits_newer_escalation(f, &before, now))
        .filter_map(|(f, _)| f.escalation.clone())
        .collect();
    drop(before);
    if !unsure.is_empty() {
        let after = list_escalations(client, |name| unsure.contains(name)).await?;
        let mut kept = 0;
        due.retain_mut(|(found, reap)| {
            if !found.escalation.as_ref().is_some_and(|n| unsure.contains(n)) {
                return true;
            }
            match reap_decision(found, &after, now) {
                Some(again) => {
                    *reap = again;
                    true
                }
                None => {
                    kept += 1;
                    false
                }
            }
        });
        reap_order(&mut due);
        tracing::debug!(kept, "bindings of escalations created during the pass kept");
    }
    Ok((listed, passed_over, due))
}

/// Escalations as untyped objects: a malformed spec cannot fail the read.
fn escalations_api(client: &Client) -> Api<DynamicObject> {
    use kube::Resource;
    let gvk = GroupVersionKind::gvk(&Escalation::group(&()), &Escalation::version(&()), &Escalation::kind(&()));
    Api::all_with(client.clone(), &ApiResource::from_gvk_with_plural(&gvk, "escalations"))
}

/// What the reaper knows of every escalation `wanted` names.
async fn list_escalations(client: &Client, wanted: impl Fn(&str) -> bool) -> Result<HashMap<String, Seen>, GrantError> {
    let mut out = HashMap::new();
    let mut pages = std::pin::pin!(pages(escalations_api(client), ListParams::default().limit(super::PAGE)));
    while let Some(page) = pages.try_next().await.map_err(|source| GrantError::Api {
        action: "listing",
        kind: "Escalations",
        name: String::new(),
        source,
    })? {
        out.extend(page.into_iter().filter_map(|e| {
            let (name, uid) = (e.metadata.name?, e.metadata.uid?);
            wanted(&name).then(|| {
                let seen = Seen::read(uid, e.metadata.deletion_timestamp.is_some(), &e.data);
                (name, seen)
            })
        }));
    }
    Ok(out)
}
