//! One reconcile of one Escalation: read, decide (the pure core), apply.
//!
//! Order of writes, which is what makes crashes harmless: status naming the
//! planned bindings is written (with the resourceVersion read, so a stale
//! view loses with a 409 rather than overwriting) before any binding is
//! created; outcomes are recorded after. A crash in between leaves a PENDING
//! ref whose binding may exist: the next reconcile adopts it if it is exactly
//! kudo's, and reclaims are idempotent (absent counts as reclaimed).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use jiff::Timestamp;
use k8s_openapi::api::authorization::v1::{SubjectAccessReview, SubjectAccessReviewSpec};
use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams, PostParams},
    runtime::{controller::Action, reflector::ObjectRef},
};
use serde_json::json;

use super::{Context, ahead::Pass, context::View};
use crate::{
    api::{
        AfterReview, Escalation, EscalationPolicy, EscalationReview, EscalationState, EscalationStatus, FIELD_MANAGER,
        FINALIZER, GrantRef, GrantStatus,
    },
    audit::{self, Record},
    engine::{
        self, Observation, admission,
        binding::{self, binding},
        checks,
        freshness::{self, PolicyView},
        writes::Step,
    },
    grants::GrantError,
};

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Grant(#[from] GrantError),
    #[error("{action}: {source}")]
    Kube { action: String, source: kube::Error },
    /// A conditioned status write lost: the escalation changed since it was
    /// read. Decided again from a current view, without backoff.
    #[error("escalation {0} changed while it was being decided")]
    Stale(String),
}

fn kube_err(action: impl Into<String>) -> impl FnOnce(kube::Error) -> ReconcileError {
    let action = action.into();
    move |source| ReconcileError::Kube { action, source }
}

pub async fn reconcile(escalation: Arc<Escalation>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    ctx.metrics.reconciles.inc();
    // A settled escalation is cached slimmed down (see engine::cache): what
    // little is done with it (retire it, clean up, record a review, send a
    // notice) needs the whole object, read fresh; until then, nothing.
    let slim = engine::cache::is_slim(&escalation);
    if slim && let Some(at) = settled_until(&ctx, &escalation) {
        return Ok(Action::requeue(until(at)));
    }
    // Never decide from a view older than our own last write (the watch
    // cache lags the writes; a binding's event can trigger a reconcile
    // before the status write that preceded it is cached). The watch's
    // delivery of that write reconciles it again: wait for that, and read
    // fresh only when the write is overdue or the view's age is unknown.
    let view = if slim { View::ReadFresh } else { ctx.judge_view(&escalation) };
    let escalation = match view {
        View::Decide => escalation,
        View::AwaitWrite(at_most) => {
            ctx.metrics.stale_views.inc();
            return Ok(Action::requeue(at_most));
        }
        View::ReadFresh => {
            if !slim {
                ctx.metrics.stale_views.inc();
            }
            let name = escalation.name_any();
            match ctx.escalations.get_opt(&name).await.map_err(kube_err(format!("reading escalation {name}")))? {
                Some(fresh) => Arc::new(fresh),
                None => return Ok(Action::await_change()),
            }
        }
    };
    let ours = escalation.finalizers().iter().any(|f| f == FINALIZER);
    match (escalation.metadata.deletion_timestamp.is_some(), ours) {
        (true, true) => {
            let action = cleanup(&escalation, &ctx).await?;
            release(&ctx, &escalation).await?;
            Ok(action)
        }
        // Being deleted, and nothing of ours holds it: nothing to do.
        (true, false) => Ok(Action::await_change()),
        // The finalizer first (nothing may be granted that a deletion could
        // leave behind), then on at once from what that write returned,
        // rather than a round trip through the watch later.
        (false, false) => apply(&hold(&ctx, &escalation).await?, &ctx).await,
        (false, true) => apply(&escalation, &ctx).await,
    }
}

/// When a settled (slim) escalation next needs a full reconcile, if not now.
fn settled_until(ctx: &Context, esc: &Escalation) -> Option<Timestamp> {
    if !ctx.reviews_ready() {
        return None;
    }
    let reviews = ctx.reviews.state();
    let reviews: Vec<&EscalationReview> = reviews.iter().map(|r| &**r).collect();
    let policy = ctx.policies.get(&ObjectRef::new(&esc.spec.policy_name));
    let notify = policy.as_ref().and_then(|p| p.spec.notify.as_ref());
    engine::cache::settled_until(esc, &reviews, notify, ctx.retain_finished, Timestamp::now())
}

/// Adds kudo's finalizer, conditioned on the resourceVersion read (a stale
/// view loses with a 409 and is decided again), and returns the escalation
/// as written.
async fn hold(ctx: &Context, esc: &Escalation) -> Result<Escalation, ReconcileError> {
    let name = esc.name_any();
    let mut finalizers = esc.finalizers().to_vec();
    finalizers.push(FINALIZER.to_string());
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": esc.resource_version()}});
    match ctx.escalations.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(written) => {
            ctx.wrote(&written);
            Ok(written)
        }
        Err(kube::Error::Api(s)) if s.code == 409 => Err(ReconcileError::Stale(name)),
        Err(e) => Err(kube_err(format!("adding the finalizer to escalation {name}"))(e)),
    }
}

/// Removes kudo's finalizer once everything is reclaimed, letting the
/// deletion finish.
async fn release(ctx: &Context, esc: &Escalation) -> Result<(), ReconcileError> {
    let name = esc.name_any();
    let finalizers: Vec<&String> = esc.finalizers().iter().filter(|f| *f != FINALIZER).collect();
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": esc.resource_version()}});
    match ctx.escalations.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Err(ReconcileError::Stale(name)),
        Err(e) => Err(kube_err(format!("removing the finalizer of escalation {name}"))(e)),
    }
}

async fn apply(esc: &Escalation, ctx: &Context) -> Result<Action, ReconcileError> {
    if !ctx.reviews_ready() {
        return Ok(Action::requeue(Duration::from_millis(200)));
    }
    let now = Timestamp::now();
    let name = esc.name_any();
    // A state reached without its audit record (a crash, or a status write
    // whose answer was lost) is recorded now, and the mark is written with
    // the decision's status. The cache may simply lag the mark: confirm
    // with a fresh read first, so a healthy run records each state once.
    let fresh;
    let esc = if esc.status.as_ref().is_some_and(|s| s.audited_state != Some(s.state)) {
        let Some(read) =
            ctx.escalations.get_opt(&name).await.map_err(kube_err(format!("reading escalation {name}")))?
        else {
            return Ok(Action::await_change());
        };
        if let Some(s) = read.status.as_ref().filter(|s| s.audited_state != Some(s.state)) {
            let from = s.audited_state;
            ctx.auditor.record(Record::new(now, audit::Action::Transition, &read, from), Some(&read)).await;
        }
        fresh = read;
        &fresh
    } else {
        esc
    };
    // What the decision starts from: the stored status, its state marked as
    // audited (the difference is written with the decision's status).
    let mut marked = esc.clone();
    if let Some(s) = marked.status.as_mut() {
        s.audited_state = Some(s.state);
    }

    let state = esc.state();
    if engine::retention_due(esc, ctx.retain_finished).is_some_and(|due| now >= due) {
        retire(ctx, esc).await?;
        return Ok(Action::await_change());
    }
    // A final escalation needs its policy only while it owes a break-glass after-review.
    let owes_after_review = esc.status.as_ref().is_some_and(|s| s.after_review == Some(AfterReview::Pending));
    let wants_policy = !state.is_some_and(EscalationState::is_final) || owes_after_review;
    // The policy from the watch cache, unless engine::freshness says that
    // view may be older than what this escalation saw, or it would deny.
    let cached = if wants_policy {
        ctx.policies.get(&ObjectRef::new(&esc.spec.policy_name)).map(|p| (*p).clone())
    } else {
        None
    };
    let recorded = esc.status.as_ref().map_or((None, None), |s| (s.policy_uid.as_deref(), s.policy_generation));
    let ids = |p: &EscalationPolicy| (p.metadata.uid.clone(), p.metadata.generation);
    let cached_ids = cached.as_ref().map(ids);
    let cached_view =
        |denies| freshness::policy_view(cached_ids.as_ref().map(|(u, g)| (u.as_deref(), *g)), recorded, denies);
    let mut view = if wants_policy { cached_view(false) } else { PolicyView::Cached };
    let mut policy = cached;
    let reviews = ctx.reviews_of(&name);
    let guard_problems = ctx.guard_problems();
    // Ending (revoked or past expiresAt) needs no look at the bindings: they go.
    let ending =
        esc.spec.revoked || esc.status.as_ref().and_then(|s| s.expires_at.as_ref()).is_some_and(|e| now >= e.0);
    let observed =
        if state == Some(EscalationState::Accepted) && !ending { observe(ctx, esc).await? } else { BTreeMap::new() };
    let (mut decision, chain) = loop {
        if view == PolicyView::Fresh && wants_policy {
            let api: Api<EscalationPolicy> = Api::all(ctx.client.clone());
            policy = api
                .get_opt(&esc.spec.policy_name)
                .await
                .map_err(kube_err(format!("reading policy {}", esc.spec.policy_name)))?;
        }
        // The open-escalation limit is a scan of the cache: only for a new
        // escalation whose policy exists (one naming none is denied for
        // that), and only when the requestor holds enough escalations of
        // that policy, in any state, to reach it.
        let open = match &policy {
            Some(p) if state.is_none() && ctx.index.may_reach(esc, p.spec.max_open_per_requestor()) => {
                checks::open_escalations(esc, ctx.escalation_store.state().iter().map(|e| &**e))
            }
            _ => Vec::new(),
        };
        // Asked at creation and again while PENDING (so at acceptance): a `use`
        // right withdrawn meanwhile counts.
        let rbac_use_allowed = match (&policy, state) {
            (Some(p), None | Some(EscalationState::Pending))
                if admission::needs_rbac_use(&p.spec, &esc.spec.requestor()) =>
            {
                may_use(ctx, esc).await?
            }
            _ => false,
        };
        let chain = extension_inputs(ctx, esc, policy.as_ref()).await?;
        let decision = engine::decide(&engine::Inputs {
            now,
            escalation: &marked,
            policy: policy.as_ref(),
            reviews: &reviews,
            rbac_use_allowed,
            missing_guards: &guard_problems,
            open_escalations: &open,
            observed: &observed,
            extension: engine::extension::View {
                extended: chain.extended.as_ref(),
                rivals: &chain.rivals,
                superseded_by: chain.superseded_by.as_deref(),
            },
        });
        let denies = decision.transition.is_some_and(|(_, to)| to == EscalationState::Denied);
        if view == PolicyView::Cached && wants_policy && cached_view(denies) == PolicyView::Fresh {
            ctx.metrics.stale_views.inc();
            view = PolicyView::Fresh;
            continue;
        }
        break (decision, chain);
    };
    let ends = decision.transition.is_some_and(|(_, to)| to.is_final());
    // Many ending at once: the bindings go first (see `super::ahead`).
    let reclaims: Vec<GrantRef> = decision
        .actions
        .iter()
        .filter_map(|a| match a {
            engine::Action::Reclaim(i) => decision.status.grant_refs.get(*i).cloned(),
            engine::Action::Create(_) => None,
        })
        .collect();
    // Only an ending nothing can undo: the second pass must end it too.
    let final_anyway =
        esc.spec.revoked || esc.status.as_ref().and_then(|s| s.expires_at.as_ref()).is_some_and(|at| at.0 <= now);
    let _ending = match esc.uid() {
        Some(uid) if ends && final_anyway && !reclaims.is_empty() && reclaims.len() == decision.actions.len() => {
            let (ending, crowded) = ctx.ahead.enter();
            match ctx.ahead.pass(&uid) {
                Pass::Waiting => return Ok(Action::requeue(super::ahead::BACKSTOP)),
                Pass::First if crowded && ctx.ahead.hand_over(esc, &uid, reclaims) => {
                    return Ok(Action::requeue(super::ahead::BACKSTOP));
                }
                Pass::First | Pass::Second => Some(ending),
            }
        }
        _ => None,
    };
    // Reviewers see what they would grant: computed once, while they are
    // asked, and kept with the status.
    if let Some(p) =
        policy.as_ref().filter(|_| decision.status.grant_preview.is_none() && super::preview::wanted(&decision.status))
    {
        decision.status.grant_preview = super::preview::compute(ctx, esc, p).await;
    }
    let requeue_at = decision.requeue_at;
    let (current, outcome) = execute(ctx, esc, decision, now).await?;
    if ends && let Some(uid) = esc.uid() {
        // Its status records them now.
        ctx.ahead.forget(&uid);
    }
    // An escalation that ended ends the hopes of its open extensions: they
    // are decided again now, not at their next review.
    if ends && chain.extensions_allowed {
        nudge_extensions(ctx, &name);
    }
    // Judged against the state the decision started from: the approval that
    // completes a review is counted, not "already ACCEPTED".
    audit_reviews(ctx, esc, policy.as_ref(), &reviews).await;
    let (current, outcome) = match outcome {
        Outcome::Permanent(i, why) => {
            let status = current.status.clone().unwrap_or_else(|| EscalationStatus::new(EscalationState::Denied));
            let decision = engine::grant_failed(status, i, &why, Timestamp::now());
            execute(ctx, &current, decision, now).await?
        }
        other => (current, other),
    };
    // Notifications go from the status as written (the grant preview in it).
    let remind_at = super::notify::announce(ctx, &current, policy.as_ref());
    match outcome {
        Outcome::Failed(e) => Err(e.into()),
        Outcome::AdoptConflict => Ok(Action::requeue(Duration::ZERO)),
        // The cache has not caught up, or expiry came while acting: decide again shortly.
        Outcome::Stale => Ok(Action::requeue(Duration::from_millis(200))),
        Outcome::Done | Outcome::Permanent(..) => {
            let next = [requeue_at, remind_at].into_iter().flatten().min();
            let next = next.or_else(|| engine::retention_due(&current, ctx.retain_finished));
            Ok(next.map_or_else(Action::await_change, |at| Action::requeue(until(at))))
        }
    }
}

/// What a decision needs to know of an escalation's chain of extensions.
#[derive(Default)]
struct Chain {
    extended: Option<Escalation>,
    rivals: Vec<String>,
    superseded_by: Option<String>,
    /// The policy allows extensions (else nothing extends anything).
    extensions_allowed: bool,
}

async fn extension_inputs(
    ctx: &Context,
    esc: &Escalation,
    policy: Option<&EscalationPolicy>,
) -> Result<Chain, ReconcileError> {
    let mut chain =
        Chain { extensions_allowed: policy.is_some_and(|p| p.spec.target.max_extensions() > 0), ..Chain::default() };
    // Only the escalations that extend the same one, or this one, concern
    // its chain: found in the index, read from the cache.
    let extending = |target: &str| -> Vec<Arc<Escalation>> {
        let names = ctx.index.extensions_of(target);
        names.iter().filter_map(|n| ctx.escalation_store.get(&ObjectRef::new(n))).collect()
    };
    match (esc.state(), esc.extends()) {
        // Checked against the current object: a revocation or an end the
        // cache has not seen yet must count.
        (None | Some(EscalationState::Pending), Some(target)) => {
            chain.extended = if crate::api::valid_name(target) {
                ctx.escalations.get_opt(target).await.map_err(kube_err(format!("reading escalation {target}")))?
            } else {
                None
            };
            chain.rivals = engine::extension::rivals(esc, extending(target).iter().map(|e| &**e));
        }
        (Some(EscalationState::Accepted), target) => {
            chain.extended = target.and_then(|t| ctx.escalation_store.get(&ObjectRef::new(t))).map(|e| (*e).clone());
            if chain.extensions_allowed {
                let name = esc.name_any();
                chain.superseded_by = engine::extension::superseding(esc, extending(&name).iter().map(|e| &**e));
            }
        }
        _ => {}
    }
    Ok(chain)
}

/// Reconciles the open extensions of `name` soon.
fn nudge_extensions(ctx: &Context, name: &str) {
    for extension in ctx.index.extensions_of(name) {
        let Some(e) = ctx.escalation_store.get(&ObjectRef::new(&extension)) else { continue };
        if e.extends() == Some(name) && !e.state().is_some_and(EscalationState::is_final) {
            let _ = ctx.nudge.send(ObjectRef::from_obj(&*e));
        }
    }
}

/// How running a decision's actions ended.
enum Outcome {
    Done,
    /// A foreign binding holds kudo's name: the next reconcile observes it and denies.
    AdoptConflict,
    /// The decision is out of date: the cached escalation was not the
    /// current one, or it expired while the decision was carried out.
    /// Nothing more is created.
    Stale,
    /// Creating grant `index` failed for a reason retrying will not fix.
    Permanent(usize, String),
    /// Failed; retried with backoff.
    Failed(GrantError),
}

/// Applies a decision in the order `engine::writes::plan` gives (which says
/// why that order makes crashes and stale views harmless).
async fn execute(
    ctx: &Context,
    esc: &Escalation,
    decision: engine::Decision,
    now: Timestamp,
) -> Result<(Escalation, Outcome), ReconcileError> {
    let name = esc.name_any();
    let steps = engine::writes::plan(esc.status.as_ref(), &decision);
    let mut status = decision.status;
    // An after-review decided is recorded before it is written: should the
    // write be lost, the next decision records it again (at least once).
    let owed = esc.status.as_ref().is_some_and(|s| s.after_review == Some(AfterReview::Pending));
    if owed && status.after_review != Some(AfterReview::Pending) {
        let mut shown = esc.clone();
        shown.status = Some(status.clone());
        ctx.auditor.record(Record::new(now, audit::Action::AfterReviewed, &shown, None), Some(&shown)).await;
    }
    let mut current = esc.clone();
    let mut outcome = Outcome::Done;
    for step in steps {
        let i = match step {
            Step::WriteStatus => {
                current = write_status(ctx, esc, &status).await?;
                continue;
            }
            Step::ConfirmCurrent => {
                // Creating with no write before it: only from the current
                // object, or a cache that lags could re-create a binding its
                // escalation has since reclaimed.
                let fresh =
                    ctx.escalations.get_opt(&name).await.map_err(kube_err(format!("reading escalation {name}")))?;
                if fresh.as_ref().and_then(|f| f.resource_version()) != esc.resource_version() {
                    return Ok((current, Outcome::Stale));
                }
                continue;
            }
            Step::AuditTransition => {
                // The status decided, written or (an ending) about to be.
                let mut shown = current.clone();
                shown.status = Some(status.clone());
                if audit_transition(ctx, &shown, decision.transition, now).await {
                    status.audited_state = Some(status.state);
                }
                continue;
            }
            Step::WriteOutcomes | Step::WriteMark => {
                if current.status.as_ref() != Some(&status) {
                    current = write_status(ctx, &current, &status).await?;
                }
                continue;
            }
            Step::Act(i) => i,
        };
        if !matches!(outcome, Outcome::Done | Outcome::AdoptConflict) {
            continue;
        }
        let Some(&action) = decision.actions.get(i) else { continue };
        let done = match action {
            engine::Action::Create(i) => {
                // The decision was made at `now`; the clock has moved since
                // (a slow write, a fresh read). Never send a create past expiry.
                if status.expires_at.as_ref().is_some_and(|e| Timestamp::now() >= e.0) {
                    outcome = Outcome::Stale;
                    continue;
                }
                let grant = status.grant_refs[i].clone();
                match ctx.grants.create(&current, &grant).await {
                    Ok(Ok(written)) => {
                        engine::mark(&mut status, i, GrantStatus::Created, written.uid, written.resource_version);
                        Ok(Some((audit::Action::GrantCreated, i)))
                    }
                    Ok(Err(observation)) => {
                        tracing::warn!(escalation = %name, binding = %grant.reference.name, ?observation, "binding name taken by an object kudo did not write");
                        outcome = Outcome::AdoptConflict;
                        Ok(None)
                    }
                    Err(e) if e.is_permanent() => {
                        tracing::warn!(escalation = %name, binding = %grant.reference.name, error = %e, "binding cannot be created; denying");
                        outcome = Outcome::Permanent(i, e.reason());
                        continue;
                    }
                    Err(e) => Err(e),
                }
            }
            engine::Action::Reclaim(i) => {
                let grant = status.grant_refs[i].clone();
                let ahead = esc.uid().and_then(|uid| ctx.ahead.deleted_at(&uid, &grant));
                let deleted = match ahead {
                    Some(at) => Ok(at),
                    None => ctx.grants.reclaim(esc, &grant).await.map(|()| Timestamp::now()),
                };
                deleted.map(|at| {
                    engine::mark(&mut status, i, GrantStatus::Reclaimed, None, None);
                    if let Some(expires) = status.expires_at.as_ref().map(|t| t.0)
                        && status.state == EscalationState::Expired
                        && grant.status == GrantStatus::Created
                    {
                        let lag = at.duration_since(expires).as_secs_f64().max(0.0);
                        ctx.metrics.revocation_lag.observe(lag);
                    }
                    Some((audit::Action::GrantReclaimed, i))
                })
            }
        };
        match done {
            Ok(Some((kind, i))) => {
                let mut shown = current.clone();
                shown.status = Some(status.clone());
                let record = Record::new(Timestamp::now(), kind, &shown, None).about_grant(&status.grant_refs[i]);
                ctx.auditor.record(record, Some(&shown)).await;
            }
            Ok(None) => {}
            // The steps left still write what was done.
            Err(e) => outcome = Outcome::Failed(e),
        }
    }
    Ok((current, outcome))
}

/// Records a transition; whether there was one.
async fn audit_transition(
    ctx: &Context,
    current: &Escalation,
    transition: Option<(Option<EscalationState>, EscalationState)>,
    now: Timestamp,
) -> bool {
    let Some((from, to)) = transition else { return false };
    if to.is_final() {
        ctx.finished.notify_one();
    }
    let details = current.status.as_ref().map(|s| s.state_details.as_str()).unwrap_or_default();
    tracing::info!(escalation = %current.name_any(), from = ?from, to = ?to, details = %details, "transition");
    ctx.auditor.record(Record::new(now, audit::Action::Transition, current, from), Some(current)).await;
    true
}

/// Each review is audited once, when kudo first sees it (and takes
/// ownership of it, so it goes when its escalation goes): counted or not, and why.
async fn audit_reviews(
    ctx: &Context,
    esc: &Escalation,
    policy: Option<&EscalationPolicy>,
    reviews: &[EscalationReview],
) {
    let (Some(uid), Some(owner)) = (esc.uid(), esc.controller_owner_ref(&())) else { return };
    let api: Api<EscalationReview> = Api::all(ctx.client.clone());
    for review in reviews {
        if review.owner_references().iter().any(|o| o.uid == uid) {
            continue;
        }
        let verdict = engine::review::assess(policy.map(|p| &p.spec), esc, review);
        let record = Record::review(Timestamp::now(), esc, review, &verdict);
        ctx.auditor.record(record, Some(esc)).await;
        // Every review naming this escalation goes with it, counted or not;
        // owning it is also what marks it audited.
        let mut owner = owner.clone();
        owner.controller = Some(false);
        let patch = json!({"metadata": {"ownerReferences": [owner]}});
        if let Err(e) = api.patch(&review.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
            tracing::debug!(error = %e, review = %review.name_any(), "could not own review");
        }
    }
}

/// Retention: a final escalation whose time is up is recorded whole, then deleted.
pub(super) async fn retire(ctx: &Context, esc: &Escalation) -> Result<(), ReconcileError> {
    let name = esc.name_any();
    let record = Record::new(Timestamp::now(), audit::Action::RetentionDeleted, esc, None).with_object(esc);
    ctx.auditor.record(record, Some(esc)).await;
    // On the UID only: a final escalation no longer changes in any way that matters.
    let mut params = kube::api::DeleteParams::background();
    params.preconditions = Some(kube::api::Preconditions { uid: esc.metadata.uid.clone(), resource_version: None });
    match ctx.escalations.delete(&name, &params).await {
        Ok(_) => {
            ctx.forget(esc);
            Ok(())
        }
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(kube_err(format!("deleting finished escalation {name}"))(e)),
    }
}

/// Longest timer the controller sets. Timers are recomputed from status on
/// every reconcile, so waking early costs one read; and the runtime's delay
/// queue panics on delays beyond about two years.
const MAX_REQUEUE: Duration = Duration::from_secs(3600);

/// Time until `at`, rounded up to the millisecond so a timer never fires
/// just before the instant it waits for; at most [`MAX_REQUEUE`].
fn until(at: Timestamp) -> Duration {
    let d = at.duration_since(Timestamp::now());
    if d.is_negative() {
        return Duration::ZERO;
    }
    let millis = u64::try_from(d.as_millis()).unwrap_or(u64::MAX).saturating_add(1);
    Duration::from_millis(millis).min(MAX_REQUEUE)
}

/// Deletion: reclaim everything the escalation holds (by status, and by label
/// in case status lags), then let the finalizer go.
async fn cleanup(esc: &Escalation, ctx: &Context) -> Result<Action, ReconcileError> {
    let name = esc.name_any();
    let mut status = esc.status.clone().unwrap_or_else(|| EscalationStatus::new(EscalationState::Expired));
    for i in 0..status.grant_refs.len() {
        let grant = status.grant_refs[i].clone();
        if grant.status == GrantStatus::Reclaimed {
            continue;
        }
        ctx.grants.reclaim(esc, &grant).await?;
        engine::mark(&mut status, i, GrantStatus::Reclaimed, None, None);
        let mut shown = esc.clone();
        shown.status = Some(status.clone());
        let record = Record::new(Timestamp::now(), audit::Action::GrantReclaimed, &shown, None).about_grant(&grant);
        ctx.auditor.record(record, Some(&shown)).await;
    }
    for found in ctx.grants.list_managed_for(&name).await? {
        if ctx.grants.delete_found(&crate::engine::binding::Found::of(&found)).await? {
            tracing::info!(escalation = %name, binding = ?found.metadata().name, "reclaimed a labelled binding on deletion");
        }
    }
    tracing::info!(escalation = %name, "deleted; all grants reclaimed");
    let mut shown = esc.clone();
    shown.status = Some(status);
    let record = Record::new(Timestamp::now(), audit::Action::Deleted, &shown, None).with_object(&shown);
    ctx.auditor.record(record, Some(&shown)).await;
    ctx.forget(esc);
    Ok(Action::await_change())
}

/// Status by server-side apply, conditional on the resourceVersion read.
async fn write_status(
    ctx: &Context,
    esc: &Escalation,
    status: &EscalationStatus,
) -> Result<Escalation, ReconcileError> {
    let name = esc.name_any();
    let patch = json!({
        "apiVersion": Escalation::api_version(&()),
        "kind": Escalation::kind(&()),
        "metadata": {"name": name, "resourceVersion": esc.resource_version()},
        "status": status,
    });
    match ctx.escalations.patch_status(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch)).await {
        Ok(written) => {
            ctx.wrote(&written);
            Ok(written)
        }
        Err(kube::Error::Api(s)) if s.code == 409 => {
            ctx.metrics.status_conflicts.inc();
            Err(ReconcileError::Stale(name))
        }
        Err(e) => Err(kube_err(format!("writing the status of escalation {name}"))(e)),
    }
}

/// RBAC's answer to "may the requestor `use` this policy" (DESIGN §1).
async fn may_use(ctx: &Context, esc: &Escalation) -> Result<bool, ReconcileError> {
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(esc.spec.requestor.clone()),
            groups: Some(esc.spec.requestor_groups.clone()),
            resource_attributes: Some(admission::rbac_use(&esc.spec.policy_name)),
            ..Default::default()
        },
        ..Default::default()
    };
    let api: Api<SubjectAccessReview> = Api::all(ctx.client.clone());
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .map_err(kube_err("asking RBAC whether the requestor may use the policy"))?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// Looks at every binding status names that should exist or may exist.
async fn observe(ctx: &Context, esc: &Escalation) -> Result<BTreeMap<String, Observation>, ReconcileError> {
    let mut observed = BTreeMap::new();
    let refs = esc.status.iter().flat_map(|s| s.grant_refs.iter());
    for grant in refs.filter(|r| r.status != GrantStatus::Reclaimed) {
        let desired = binding(esc, grant).ok_or(GrantError::Unidentified)?;
        // As the watch last saw it, when that is exactly what kudo created
        // (a later change reaches the watch, which reconciles again).
        let created = grant.reference.uid.as_deref().filter(|_| grant.status == GrantStatus::Created);
        let observation = match created {
            Some(uid) if ctx.seen_bindings.intact(&desired, uid) => Observation::Intact,
            _ => binding::observe(&desired, ctx.grants.get(grant).await?.as_ref()),
        };
        observed.insert(grant.reference.name.clone(), observation);
    }
    Ok(observed)
}
