//! Listing escalations: mine, everyone's, those awaiting my review, those
//! owing an after-review; once, or as a stream of changes (`list -w`, the
//! dashboard's live page).

use futures::{Stream, StreamExt};
use jiff::Timestamp;
use kube::{
    ResourceExt,
    api::ListParams,
    runtime::watcher::{self, watcher},
};

use super::{Error, Me, Session, error::doing};
use crate::{
    api::{
        AfterReview, ChallengeKind, Escalation, EscalationPolicy, EscalationReview, EscalationReviewSpec,
        EscalationState, ReviewDecision,
    },
    engine::review,
};

/// Which escalations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Mine,
    All,
    /// PENDING ones I may review and have not reviewed yet.
    PendingReview,
    /// Break-glass ones (anyone's, active or ended) still owing their after-review.
    AfterReview,
}

/// A scope with what deciding it needs (policies and reviews for
/// [`Scope::PendingReview`], as read when it was made).
#[derive(Clone, Debug)]
pub struct Selection {
    pub scope: Scope,
    me: Me,
    policies: Vec<EscalationPolicy>,
    reviews: Vec<EscalationReview>,
}

impl Selection {
    pub async fn new(session: &Session, scope: Scope) -> Result<Self, Error> {
        let (policies, reviews) = if scope == Scope::PendingReview {
            let p = session.api::<EscalationPolicy>();
            let r = session.api::<EscalationReview>();
            (
                p.list(&ListParams::default()).await.map_err(doing("listing policies"))?.items,
                r.list(&ListParams::default()).await.map_err(doing("listing reviews"))?.items,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Self { scope, me: session.me.clone(), policies, reviews })
    }

    /// Whether `e` is in the selection (pure).
    pub fn keeps(&self, e: &Escalation) -> bool {
        match self.scope {
            Scope::All => true,
            Scope::Mine => e.spec.requestor == self.me.username,
            Scope::AfterReview => e.status.as_ref().is_some_and(|s| s.after_review == Some(AfterReview::Pending)),
            Scope::PendingReview => self.awaits_my_review(e),
        }
    }

    fn awaits_my_review(&self, e: &Escalation) -> bool {
        if e.state() != Some(EscalationState::Pending) {
            return false;
        }
        let uid = e.uid().unwrap_or_default();
        if self.reviews.iter().any(|r| r.spec.escalation_uid == uid && r.spec.reviewer == self.me.username) {
            return false;
        }
        let probe = EscalationReview::new(
            "",
            EscalationReviewSpec {
                escalation_name: e.name_any(),
                escalation_uid: uid,
                reviewer: self.me.username.clone(),
                reviewer_groups: self.me.groups.clone(),
                decision: ReviewDecision::Approved,
                message: String::new(),
            },
        );
        self.policies.iter().filter(|p| p.name_any() == e.spec.policy_name).any(|p| {
            p.spec
                .challenges
                .iter()
                .filter(|c| c.kind == ChallengeKind::PeerReview)
                .any(|c| review::ineligibility(c, e, &probe).is_none())
        })
    }
}

/// The selected escalations, oldest first.
pub async fn list(session: &Session, selection: &Selection) -> Result<Vec<Escalation>, Error> {
    let mut items =
        session.api::<Escalation>().list(&ListParams::default()).await.map_err(doing("listing escalations"))?.items;
    items.retain(|e| selection.keeps(e));
    items.sort_by(|a, b| a.creation_timestamp().cmp(&b.creation_timestamp()).then(a.name_any().cmp(&b.name_any())));
    Ok(items)
}

/// A change to the selection.
#[derive(Clone, Debug)]
pub enum Change {
    /// Created or changed (and every one there is, when the watch (re)starts).
    Applied(Box<Escalation>),
    Deleted(String),
}

/// The selection's changes, for as long as the caller reads them.
pub fn changes(session: &Session, selection: Selection) -> impl Stream<Item = Result<Change, Error>> + Send + use<> {
    watcher(session.api::<Escalation>(), watcher::Config::default()).filter_map(move |event| {
        let change = match event {
            Ok(watcher::Event::Apply(e) | watcher::Event::InitApply(e)) if selection.keeps(&e) => {
                Some(Ok(Change::Applied(Box::new(e))))
            }
            Ok(watcher::Event::Delete(e)) if selection.keeps(&e) => Some(Ok(Change::Deleted(e.name_any()))),
            Ok(_) => None,
            Err(e) => Some(Err(Error::WatchList(e))),
        };
        std::future::ready(change)
    })
}

/// One escalation as a table row or a card shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    pub name: String,
    pub policy: String,
    pub requestor: String,
    /// `None`: not yet seen by the controller (NEW).
    pub state: Option<EscalationState>,
    /// Where it grants: as asked, or where its first namespaced grant went.
    pub namespace: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub created: Option<Timestamp>,
    pub reason: String,
    pub details: String,
}

impl Row {
    pub fn state_text(&self) -> &'static str {
        self.state.map_or("NEW", EscalationState::as_str)
    }
}

/// (pure)
pub fn row(e: &Escalation) -> Row {
    let status = e.status.as_ref();
    Row {
        name: e.name_any(),
        policy: e.spec.policy_name.clone(),
        requestor: e.spec.requestor.clone(),
        state: status.map(|s| s.state),
        namespace: e
            .spec
            .namespace
            .clone()
            .or_else(|| status.and_then(|s| s.grant_refs.iter().find_map(|r| r.reference.namespace.clone()))),
        expires_at: status.and_then(|s| s.expires_at.as_ref()).map(|t| t.0),
        created: e.creation_timestamp().map(|t| t.0),
        reason: e.spec.reason.clone(),
        details: status.map(|s| s.state_details.clone()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn escalation(name: &str, requestor: &str, status: serde_json::Value) -> Escalation {
        serde_json::from_value(json!({
            "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "Escalation",
            "metadata": {"name": name, "uid": format!("uid-{name}")},
            "spec": {"policyName": "p", "requestor": requestor, "requestorGroups": [], "reason": "r"},
            "status": status,
        }))
        .unwrap()
    }

    fn selection(scope: Scope, user: &str, reviews: Vec<EscalationReview>) -> Selection {
        let policy: EscalationPolicy = serde_json::from_value(json!({
            "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "EscalationPolicy", "metadata": {"name": "p"},
            "spec": {"subjects": [], "challenges": [{"kind": "PeerReview", "reviewers": [{"kind": "Group", "name": "admins"}]}],
                     "target": {"defaultDuration": "1h", "maxDuration": "1h", "grants": []}},
        }))
        .unwrap();
        Selection {
            scope,
            me: Me { username: user.into(), groups: vec!["admins".into()] },
            policies: vec![policy],
            reviews,
        }
    }

    #[test]
    fn pending_review_is_what_i_may_still_review() {
        let pending = escalation("a", "alice", json!({"state": "PENDING"}));
        let s = selection(Scope::PendingReview, "bob", vec![]);
        assert!(s.keeps(&pending));
        assert!(!s.keeps(&escalation("b", "alice", json!({"state": "ACCEPTED"}))));
        assert!(!selection(Scope::PendingReview, "alice", vec![]).keeps(&pending), "not my own");
        let reviewed = EscalationReview::new(
            "r",
            EscalationReviewSpec {
                escalation_name: "a".into(),
                escalation_uid: "uid-a".into(),
                reviewer: "bob".into(),
                reviewer_groups: vec![],
                decision: ReviewDecision::Approved,
                message: String::new(),
            },
        );
        assert!(!selection(Scope::PendingReview, "bob", vec![reviewed]).keeps(&pending), "already reviewed");
        assert!(selection(Scope::Mine, "alice", vec![]).keeps(&pending));
        assert!(!selection(Scope::Mine, "bob", vec![]).keeps(&pending));
        let owed = escalation("c", "alice", json!({"state": "EXPIRED", "afterReview": "PENDING"}));
        assert!(selection(Scope::AfterReview, "bob", vec![]).keeps(&owed));
    }

    #[test]
    fn a_row_says_new_before_the_controller_and_where_it_went() {
        let new = row(&escalation("a", "alice", json!(null)));
        assert_eq!((new.state_text(), new.namespace.clone()), ("NEW", None));
        let granted = row(&escalation(
            "a",
            "alice",
            json!({"state": "ACCEPTED", "grantRefs": [{"status": "CREATED",
            "ref": {"kind": "KubernetesRoleBinding", "name": "b", "namespace": "app"},
            "roleRef": {"kind": "ClusterRole", "name": "r", "apiGroup": "rbac.authorization.k8s.io"}}]}),
        ));
        assert_eq!((granted.state_text(), granted.namespace.as_deref()), ("ACCEPTED", Some("app")));
    }
}
