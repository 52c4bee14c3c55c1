//! Listing escalations: mine, everyone's, those awaiting my review, those
//! owing an after-review; once, or as a stream of changes (`list -w`, the
//! dashboard's live page).

use futures::{Stream, StreamExt};
use jiff::Timestamp;
use kube::{
    Resource, ResourceExt,
    api::ListParams,
    runtime::watcher::{self, watcher},
};

use super::{
    Error, Me, Session,
    error::{KubeProblem, doing},
};
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

/// The selected escalations as table rows, oldest first; `wide` with their
/// reason and details.
///
/// Mine and everyone's, narrow, are read as a server-side Table (what
/// `kubectl get` reads): the CRD's printer columns and no objects. At
/// 10 000 escalations that is 2.8 MB where the objects, managedFields and
/// all, are 31 MB, and the server answers in a fifth of the time. A server
/// that answers with objects instead (one without Tables), or with a Table
/// that lacks a column (a CRD from an older kudo), is read the object
/// way: the rows are the same.
pub async fn rows(session: &Session, selection: &Selection, wide: bool) -> Result<Vec<Row>, Error> {
    let mut rows = match selection.scope {
        Scope::Mine | Scope::All if !wide => match table(session).await? {
            Answer::Rows(rows) => rows,
            Answer::Objects(items) => items.iter().map(row).collect(),
            Answer::Unusable => list(session, selection).await?.iter().map(row).collect(),
        },
        _ => return Ok(list(session, selection).await?.iter().map(row).collect()),
    };
    rows.retain(|r| selection.scope == Scope::All || r.requestor == selection.me.username);
    rows.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)));
    Ok(rows)
}

/// What the server answered to a Table request.
#[derive(Debug)]
pub enum Answer {
    /// A Table: its rows, unsorted, without reason and details.
    Rows(Vec<Row>),
    /// Objects: a server without Tables.
    Objects(Vec<Escalation>),
    /// A Table without the columns a row needs.
    Unusable,
}

/// Every escalation, asked for as a server-side Table.
pub async fn table(session: &Session) -> Result<Answer, Error> {
    let path = format!("{}?includeObject=None", Escalation::url_path(&(), None));
    let request = http::Request::get(path)
        // As kubectl asks: a Table, or the list when the server has none.
        .header(http::header::ACCEPT, "application/json;as=Table;v=v1;g=meta.k8s.io, application/json")
        .body(Vec::new())
        .map_err(|e| Error::Kube { doing: "listing escalations".into(), problem: KubeProblem::Other(e.to_string()) })?;
    let text = session.client.request_text(request).await.map_err(doing("listing escalations"))?;
    if let Ok(table) = serde_json::from_str::<Table>(&text)
        && table.kind == "Table"
    {
        return Ok(table.rows().map_or(Answer::Unusable, Answer::Rows));
    }
    let list: kube::core::ObjectList<Escalation> = serde_json::from_str(&text).map_err(|e| Error::Kube {
        doing: "listing escalations".into(),
        problem: KubeProblem::Other(format!("the cluster's answer is neither a Table nor a list: {e}")),
    })?;
    Ok(Answer::Objects(list.items))
}

/// A meta.k8s.io/v1 Table, as much of it as a row needs.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Table {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    column_definitions: Vec<Column>,
    #[serde(default)]
    rows: Vec<TableRow>,
}

#[derive(serde::Deserialize)]
struct Column {
    name: String,
}

#[derive(serde::Deserialize)]
struct TableRow {
    cells: Vec<Cell>,
}

/// A Table cell as a row reads it: text, empty, or something else (a
/// number, a list) that no column kudo reads holds. Decoded as such, not
/// as a JSON value: 10 000 rows of them were a fifth of `list --all`'s CPU.
#[derive(Debug, PartialEq)]
enum Cell {
    Text(String),
    Null,
    Other,
}

impl<'de> serde::Deserialize<'de> for Cell {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Cell;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table cell")
            }
            fn visit_str<E>(self, v: &str) -> Result<Cell, E> {
                Ok(Cell::Text(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Cell, E> {
                Ok(Cell::Text(v))
            }
            fn visit_unit<E>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_none<E>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Cell, E> {
                Ok(Cell::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Cell, E> {
                Ok(Cell::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Cell, E> {
                Ok(Cell::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Cell, E> {
                Ok(Cell::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Cell, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Cell::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Cell, A::Error> {
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Ok(Cell::Other)
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Table {
    /// The rows, or `None` when a column is missing or a cell is not what
    /// its column holds (pure).
    fn rows(&self) -> Option<Vec<Row>> {
        let at = |name: &str| self.column_definitions.iter().position(|c| c.name == name);
        let [name, policy, requestor, state, namespace, granted_in, expires_at, created] =
            ["Name", "Policy", "Requestor", "State", "Namespace", GRANTED_IN, EXPIRES_AT, CREATED].map(at);
        let (name, policy, requestor, state) = (name?, policy?, requestor?, state?);
        let (namespace, granted_in, expires_at, created) = (namespace?, granted_in?, expires_at?, created?);
        self.rows
            .iter()
            .map(|r| {
                let cells = r.cells.as_slice();
                Some(Row {
                    name: text(cells, name)??,
                    policy: text(cells, policy)?.unwrap_or_default(),
                    requestor: text(cells, requestor)?.unwrap_or_default(),
                    state: text(cells, state)?.map(|s| serde_json::from_value(s.into())).transpose().ok()?,
                    namespace: text(cells, namespace)?.or(text(cells, granted_in)?),
                    expires_at: text(cells, expires_at)?.map(|t| t.parse()).transpose().ok()?,
                    created: text(cells, created)?.map(|t| t.parse()).transpose().ok()?,
                    reason: String::new(),
                    details: String::new(),
                })
            })
            .collect()
    }
}

/// A cell's text: `Some(None)` when empty, `None` when not text (pure).
fn text(cells: &[Cell], at: usize) -> Option<Option<String>> {
    match cells.get(at) {
        None | Some(Cell::Null) => Some(None),
        Some(Cell::Text(s)) => Some(Some(s.clone())),
        Some(Cell::Other) => None,
    }
}

/// Printer columns beyond DESIGN's (wide only in `kubectl get`), for the
/// rows read as a Table: where an escalation's first namespaced grant went
/// (a row's namespace when the spec names none), and the two times as
/// written (the server prints date columns as ages).
pub const GRANTED_IN: &str = "Granted-In";
pub const EXPIRES_AT: &str = "Expires-At";
pub const CREATED: &str = "Created";

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

    fn table(columns: &[&str], cells: serde_json::Value) -> Table {
        serde_json::from_value(json!({
            "kind": "Table",
            "columnDefinitions": columns.iter().map(|c| json!({"name": c, "type": "string"})).collect::<Vec<_>>(),
            "rows": [{"cells": cells, "object": null}],
        }))
        .unwrap()
    }

    #[test]
    fn a_table_row_is_the_row_of_its_object() {
        let columns =
            ["Name", "Policy", "Requestor", "State", "Namespace", "Expires", "Age", GRANTED_IN, EXPIRES_AT, CREATED];
        let cells = json!([
            "a",
            "p",
            "alice",
            "ACCEPTED",
            null,
            "<invalid>",
            "5m",
            "app",
            "2026-12-02T06:21:39Z",
            "2026-12-02T05:21:39Z"
        ]);
        let object = escalation(
            "a",
            "alice",
            json!({"state": "ACCEPTED", "expiresAt": "2026-12-02T06:21:39Z", "grantRefs": [{"status": "CREATED",
            "ref": {"kind": "KubernetesRoleBinding", "name": "b", "namespace": "app"},
            "roleRef": {"kind": "ClusterRole", "name": "r", "apiGroup": "rbac.authorization.k8s.io"}}]}),
        );
        let mut object = object;
        object.metadata.creation_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time("2026-12-02T05:21:39Z".parse().unwrap()));
        let from_object = Row { reason: String::new(), details: String::new(), ..row(&object) };
        assert_eq!(table(&columns, cells.clone()).rows(), Some(vec![from_object]));

        // The spec's namespace comes first; a NEW one has no state yet.
        let new = json!(["b", "p", "alice", null, "ns", null, "1s", null, null, "2026-12-02T05:21:39Z"]);
        let rows = table(&columns, new).rows().unwrap();
        assert_eq!((rows[0].state, rows[0].namespace.as_deref(), rows[0].expires_at), (None, Some("ns"), None));

        // In any column order.
        let mut reordered = columns;
        reordered.reverse();
        let mut reversed = cells.as_array().unwrap().clone();
        reversed.reverse();
        assert_eq!(table(&reordered, json!(reversed)).rows().unwrap()[0].name, "a");
    }

    #[test]
    fn a_table_that_is_not_what_a_row_needs_is_not_read() {
        let columns =
            ["Name", "Policy", "Requestor", "State", "Namespace", "Expires", "Age", GRANTED_IN, EXPIRES_AT, CREATED];
        let good = ["a", "p", "alice", "ACCEPTED", "", "", "", "app", "2026-12-02T06:21:39Z", "2026-12-02T05:21:39Z"];
        let cells = |at: usize, v: serde_json::Value| {
            let mut c: Vec<serde_json::Value> = good.iter().map(|s| json!(s)).collect();
            c[at] = v;
            json!(c)
        };
        assert!(table(&columns, cells(4, json!("app"))).rows().is_some());
        // A CRD from an older kudo, without the columns kudo list reads.
        assert_eq!(table(&columns[..7], cells(4, json!("app"))).rows(), None);
        assert_eq!(table(&columns, cells(0, json!(null))).rows(), None, "no name");
        assert_eq!(table(&columns, cells(3, json!("HACKED"))).rows(), None, "not a state");
        assert_eq!(table(&columns, cells(8, json!("tomorrow"))).rows(), None, "not a time");
        assert_eq!(table(&columns, cells(1, json!(7))).rows(), None, "not text");
        assert_eq!(table(&columns, cells(2, json!({"name": ["alice"]}))).rows(), None, "not text");
        assert_eq!(table(&columns, cells(5, json!([true, 1.5, null]))).rows().map(|r| r.len()), Some(1), "unread");
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
