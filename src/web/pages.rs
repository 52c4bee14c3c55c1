//! The HTML. maud escapes every interpolated value for HTML; user-written
//! text (reasons, names, messages, Event notes) also goes through
//! `printable`, so control and bidi characters show as escapes, as on a
//! terminal. No inline script or style: the CSP runs only `/static/*`.

use jiff::Timestamp;
use kube::ResourceExt;
use maud::{DOCTYPE, Markup, html};

use super::backend::{Detail, Error, Live, Offer, ToReview};
use crate::{
    api::{AfterReview, Escalation, EscalationState, GrantKind, GrantPreview, ReviewDecision, RoleKind},
    cli::format::{age, relative},
    operations::Me,
};

/// Vendored here, pinned by the binary: no CDN, no build step.
pub const CSS: &str = include_str!("static/style.css");
pub const JS: &str = include_str!("static/app.js");

/// The pages that update live, and what their stream is called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum View {
    Mine,
    Reviews,
    Escalation(String),
}

impl View {
    fn title(&self) -> String {
        match self {
            Self::Mine => "My escalations".into(),
            Self::Reviews => "Reviews".into(),
            Self::Escalation(name) => format!("Escalation {name}"),
        }
    }

    fn stream(&self) -> String {
        match self {
            Self::Mine => "/live?view=mine".into(),
            Self::Reviews => "/live?view=reviews".into(),
            Self::Escalation(name) => format!("/live?view=escalation&name={name}"),
        }
    }

    fn nav(&self) -> Nav {
        match self {
            Self::Mine | Self::Escalation(_) => Nav::Mine,
            Self::Reviews => Nav::Reviews,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Nav {
    Mine,
    Request,
    Reviews,
    None,
}

/// User-written text, with control and formatting characters escaped.
fn t(text: &str) -> String {
    crate::printable::printable(text).into_owned()
}

fn layout(me: Option<&Me>, title: &str, nav: Nav, body: Markup) -> Markup {
    let current = |n: Nav| if n == nav { Some("current") } else { None };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (t(title)) " · kudo" }
                link rel="stylesheet" href="/static/style.css";
                script src="/static/app.js" defer {}
            }
            body {
                header {
                    a.brand href="/" { "kudo" }
                    nav {
                        a href="/" class=[current(Nav::Mine)] { "My escalations" }
                        a href="/request" class=[current(Nav::Request)] { "Request" }
                        a href="/reviews" class=[current(Nav::Reviews)] { "Reviews" }
                    }
                    @if let Some(me) = me {
                        span.me { "signed in as " strong { (t(&me.username)) } }
                    }
                }
                main {
                    h1 { (t(title)) }
                    (body)
                }
            }
        }
    }
}

/// A page whose main part the event stream keeps up to date.
pub fn live_page(me: &Me, view: &View, body: Markup) -> Markup {
    let content = html! {
        p.live-status #live-status { "connecting for live updates…" }
        div #live data-stream=(view.stream()) { (body) }
    };
    layout(Some(me), &view.title(), view.nav(), content)
}

/// A whole page for a request that failed.
pub fn failed(e: &Error) -> Markup {
    layout(None, "Not done", Nav::None, html! { (problem(e)) p { a href="/" { "Back to my escalations" } } })
}

/// What went wrong, and the hint, inside a page.
pub fn problem(e: &Error) -> Markup {
    html! {
        div.problem role="alert" {
            p.message { (t(&e.to_string())) }
            @if let Some(hint) = e.hint() { p.hint { "hint: " (t(&hint)) } }
        }
    }
}

fn state_of(esc: &Escalation) -> (&'static str, &'static str) {
    match esc.state() {
        None => ("NEW", "new"),
        Some(EscalationState::Pending) => ("PENDING", "pending"),
        Some(EscalationState::Accepted) => ("ACCEPTED", "accepted"),
        Some(EscalationState::Denied) => ("DENIED", "denied"),
        Some(EscalationState::Expired) => ("EXPIRED", "expired"),
    }
}

fn state_badge(esc: &Escalation) -> Markup {
    let (text, class) = state_of(esc);
    html! { span class={ "state " (class) } { (text) } }
}

fn namespace_of(esc: &Escalation) -> String {
    esc.spec
        .namespace
        .clone()
        .or_else(|| esc.status.as_ref().and_then(|s| s.grant_refs.iter().find_map(|r| r.reference.namespace.clone())))
        .unwrap_or_else(|| "-".into())
}

fn expires(esc: &Escalation, now: Timestamp) -> String {
    esc.status.as_ref().and_then(|s| s.expires_at.as_ref()).map(|t| relative(t.0, now)).unwrap_or_else(|| "-".into())
}

fn created_ago(esc: &Escalation, now: Timestamp) -> String {
    esc.creation_timestamp().map(|t| format!("{} ago", age(t.0, now))).unwrap_or_default()
}

/// My escalations, newest first.
pub fn mine(mine: &[Escalation]) -> Markup {
    let now = Timestamp::now();
    html! {
        @if mine.is_empty() {
            p.empty { "No escalations of yours yet. " a href="/request" { "Request one." } }
        } @else {
            table.escalations {
                thead { tr { th { "Name" } th { "Policy" } th { "State" } th { "Namespace" } th { "Expires" } th { "Created" } th { "Reason" } } }
                tbody {
                    @for e in mine {
                        tr data-name=(e.name_any()) {
                            td { a href={ "/escalations/" (e.name_any()) } { (e.name_any()) } }
                            td { (t(&e.spec.policy_name)) }
                            td { (state_badge(e)) }
                            td { (t(&namespace_of(e))) }
                            td { (expires(e, now)) }
                            td { (created_ago(e, now)) }
                            td.reason { (t(&e.spec.reason)) }
                        }
                    }
                }
            }
        }
    }
}

/// Who asks for what, why, for how long.
fn summary(esc: &Escalation) -> Markup {
    let now = Timestamp::now();
    let spec = &esc.spec;
    html! {
        p.summary {
            strong { (t(&spec.requestor)) } " asks for policy " strong { (t(&spec.policy_name)) }
            @if let Some(ns) = &spec.namespace { " in namespace " strong { (t(ns)) } }
            @match &spec.duration {
                Some(d) => { " for " strong { (t(&d.to_string())) } }
                None => { " for the policy's default duration" }
            }
            ", " (created_ago(esc, now))
            @if spec.break_glass { " " span.badge.glass { "break-glass" } }
        }
        p.reason { "Reason: " q { (t(&spec.reason)) } }
    }
}

/// Every permission the grants add, dangerous ones marked.
pub fn preview(preview: Option<&GrantPreview>) -> Markup {
    html! {
        section.preview {
            h3 { "What it grants" }
            @match preview {
                None => p.muted { "No grant preview yet: the controller adds one while the escalation waits for a review." },
                Some(p) => {
                    @for scope in &p.scopes {
                        h4 {
                            (t(&scope.role)) " "
                            @match &scope.namespace { Some(ns) => { "in namespace " (t(ns)) }, None => { "cluster-wide" } }
                        }
                        @if scope.missing { p.muted { "The role does not exist: nothing would be granted until it does." } }
                        ul.permissions {
                            @for perm in &scope.permissions {
                                li class=[perm.dangerous.as_ref().map(|_| "danger")] {
                                    code { (t(&perm.verbs.join(", "))) } " "
                                    code { (t(&perm.resources.join(", "))) }
                                    @if !perm.resource_names.is_empty() { " named " code { (t(&perm.resource_names.join(", "))) } }
                                    @if perm.held { " " span.badge.held { "already held" } }
                                    @if let Some(why) = &perm.dangerous { " " span.badge.dangerous { "DANGEROUS" } " " span.why { (t(why)) } }
                                }
                            }
                        }
                    }
                    @if p.truncated { p.muted { "… and more: the preview is cut to keep it small; read the roles for the rest." } }
                }
            }
        }
    }
}

fn review_buttons(esc: &Escalation) -> Markup {
    let name = esc.name_any();
    html! {
        form.review method="post" action={ "/escalations/" (name) "/approve" } {
            label { "Message " input type="text" name="message" maxlength="1024" placeholder="optional note for the requestor and the audit log"; }
            button.approve type="submit" { "Approve" }
            button.deny type="submit" formaction={ "/escalations/" (name) "/deny" } { "Deny" }
        }
    }
}

/// Escalations waiting for my review, and after-reviews owed.
pub fn reviews(r: &ToReview) -> Markup {
    let card = |e: &Escalation| {
        html! {
            article.review-card data-name=(e.name_any()) {
                h2 { a href={ "/escalations/" (e.name_any()) } { (e.name_any()) } " " (state_badge(e)) }
                (summary(e))
                (preview(e.status.as_ref().and_then(|s| s.grant_preview.as_ref())))
                (review_buttons(e))
            }
        }
    };
    html! {
        h2 { "Waiting for your review" }
        @if r.pending.is_empty() { p.empty { "Nothing waits for your review." } }
        @for e in &r.pending { (card(e)) }
        h2 { "After-reviews owed (break-glass)" }
        @if r.after_review.is_empty() { p.empty { "No break-glass escalation owes an after-review." } }
        @for e in &r.after_review { (card(e)) }
    }
}

/// One escalation: state, time left, challenges, reviews, grants, preview, timeline.
pub fn detail(me: &Me, d: &Detail) -> Markup {
    let now = Timestamp::now();
    let esc = &d.escalation;
    let name = esc.name_any();
    let status = esc.status.as_ref();
    let open = !esc.state().is_some_and(EscalationState::is_final);
    let owes = status.is_some_and(|s| s.after_review == Some(AfterReview::Pending));
    let reviewable = esc.spec.requestor != me.username && (esc.state() == Some(EscalationState::Pending) || owes);
    html! {
        (summary(esc))
        dl.facts {
            dt { "State" } dd { (state_badge(esc)) " " (t(&status.map(|s| s.state_details.clone()).unwrap_or_default())) }
            @if let Some(at) = status.and_then(|s| s.accepted_at.as_ref()) {
                dt { "Accepted" } dd { (at.0.to_string()) " (" (relative(at.0, now)) ")" }
            }
            @if let Some(at) = status.and_then(|s| s.expires_at.as_ref()) {
                dt { "Expires" }
                dd {
                    (at.0.to_string())
                    @match d.time_left {
                        Some(left) if !left.is_negative() => { " — " strong.time-left { (crate::api::duration::human(left)) " left" } }
                        _ => { " (over)" }
                    }
                }
            }
            @if let Some(at) = &esc.spec.start_at { dt { "Starts" } dd { (at.0.to_string()) " (" (relative(at.0, now)) ")" } }
            @if esc.spec.break_glass {
                dt { "After-review" }
                dd { @match status.and_then(|s| s.after_review) {
                    None | Some(AfterReview::Pending) => "PENDING: an eligible reviewer must approve or deny it",
                    Some(AfterReview::Approved) => "APPROVED",
                    Some(AfterReview::Rejected) => "REJECTED",
                } }
            }
            @if esc.spec.revoked { dt { "Revoked by" } dd { (t(&esc.spec.revoked_by)) } }
        }
        @if open && esc.spec.requestor == me.username && !esc.spec.revoked {
            form.revoke method="post" action={ "/escalations/" (name) "/revoke" } { button.deny type="submit" { "Revoke now" } }
        }
        @if reviewable { (review_buttons(esc)) }
        @if let Some(s) = status.filter(|s| !s.challenges.is_empty()) {
            section { h3 { "Challenges" }
                table { thead { tr { th { "Kind" } th { "State" } th { "Approved by" } th { "Message" } } }
                    tbody { @for c in &s.challenges { tr {
                        td { (format!("{:?}", c.kind)) } td { (format!("{:?}", c.state).to_uppercase()) }
                        td { (t(&c.approved_by.join(", "))) } td { (t(&c.message)) }
                    } } } }
            }
        }
        section { h3 { "Reviews" }
            @match &d.reviews {
                None => p.muted { "Not shown: you may not list reviews." },
                Some(reviews) if reviews.is_empty() => p.empty { "No reviews yet." },
                Some(reviews) => table { thead { tr { th { "Reviewer" } th { "Decision" } th { "Message" } th { "When" } } }
                    tbody { @for r in reviews { tr {
                        td { (t(&r.spec.reviewer)) }
                        td { @if r.spec.decision == ReviewDecision::Approved { "approved" } @else { "denied" } }
                        td { (t(&r.spec.message)) }
                        td { (r.creation_timestamp().map(|at| format!("{} ago", age(at.0, now))).unwrap_or_default()) }
                    } } } },
            }
        }
        @if !d.grants.is_empty() {
            section { h3 { "Grants" }
                table { thead { tr { th { "Binding" } th { "Where" } th { "Role" } th { "Status" } th { "Live" } } }
                    tbody { @for g in &d.grants { tr {
                        td { (match g.grant.reference.kind { GrantKind::KubernetesRoleBinding => "RoleBinding", GrantKind::KubernetesClusterRoleBinding => "ClusterRoleBinding" }) " " (t(&g.grant.reference.name)) }
                        td { (g.grant.reference.namespace.as_deref().map_or("cluster-wide".to_string(), |n| format!("namespace {}", t(n)))) }
                        td { (match g.grant.role_ref.kind { RoleKind::ClusterRole => "ClusterRole", RoleKind::Role => "Role" }) " " (t(&g.grant.role_ref.name)) }
                        td { (format!("{:?}", g.grant.status).to_uppercase()) }
                        td { (match &g.live {
                            Live::Seen(crate::engine::Observation::Intact) => "present".to_string(),
                            Live::Seen(other) => format!("{other:?}"),
                            Live::Absent => "absent".into(),
                            Live::Unknown => "unknown".into(),
                            Live::Unreadable => "not shown (you may not read bindings)".into(),
                        }) }
                    } } } }
            }
        }
        (preview(status.and_then(|s| s.grant_preview.as_ref())))
        section.timeline { h3 { "Timeline" }
            @match &d.timeline {
                None => p.muted { "Not shown: you may not list events in namespace default." },
                Some(events) if events.is_empty() => p.empty { "No events yet." },
                Some(events) => ol { @for e in events { li {
                    span.when { (e.at.map(|at| format!("{} ago", age(at, now))).unwrap_or_default()) } " "
                    strong { (t(&e.reason)) } " " (t(&e.note))
                } } },
            }
        }
    }
}

/// What a grant gives and where, in one line.
fn grant_line(g: &crate::operations::policies::GrantOffer) -> String {
    let role = match g.role_kind {
        RoleKind::ClusterRole => "ClusterRole",
        RoleKind::Role => "Role",
    };
    if g.namespaces.is_empty() {
        format!("{role} {} cluster-wide", g.role_name)
    } else {
        format!("{role} {} in {}", g.role_name, g.namespaces.join(" or "))
    }
}

/// One form per policy I may use, each saying first what it asks.
pub fn request_form(me: &Me, offers: &[Offer]) -> Markup {
    let body = html! {
        @if offers.is_empty() {
            p.empty { "No policy admits you (" (t(&me.username)) "), as a subject or by RBAC " code { "use" } ". Ask an admin which policy to use." }
        }
        @for p in offers {
            @let places: Vec<String> = p.grants.iter().find(|g| !g.namespaces.is_empty()).map(|g| g.namespaces.clone()).unwrap_or_default();
            @let glass = p.challenges.iter().any(|c| c.break_glass);
            article.policy data-policy=(p.name) {
                h2 { (t(&p.name)) }
                dl.facts {
                    dt { "Grants" } dd { @for g in &p.grants { div { (t(&grant_line(g))) } } }
                    dt { "Duration" } dd { (t(&p.default_duration)) " by default, at most " (t(&p.max_duration)) }
                    dt { "Asks first" } dd {
                        @if p.challenges.is_empty() { "nothing: granted at once" }
                        @for c in &p.challenges { div { (t(&c.description)) } }
                    }
                    @for w in &p.warnings { dt { "Warning" } dd.danger { (t(w)) } }
                }
                form.request method="post" action="/request" {
                    input type="hidden" name="policy" value=(p.name);
                    label { "Reason " input type="text" name="reason" required maxlength="1024" placeholder="what for, ticket #…"; }
                    label { "Duration " input type="text" name="duration" maxlength="16" placeholder=(p.default_duration); }
                    @if places.len() > 1 {
                        label { "Namespace " select name="namespace" { @for ns in &places { option value=(ns) { (t(ns)) } } } }
                    }
                    @if glass { label.glass { input type="checkbox" name="break_glass" value="1"; " break-glass (emergency: granted at once, reviewed after)" } }
                    button type="submit" { "Request" }
                }
            }
        }
    };
    layout(Some(me), "Request an escalation", Nav::Request, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn escalation(reason: &str) -> Escalation {
        serde_json::from_value(json!({
            "apiVersion": "k8s.kudo.dev/v1alpha1", "kind": "Escalation", "metadata": {"name": "e"},
            "spec": {"policyName": "p<b>", "requestor": "alice", "requestorGroups": [], "reason": reason},
            "status": {"state": "PENDING", "grantPreview": {"scopes": [{"namespace": "app", "role": "ClusterRole/ops",
                "permissions": [{"verbs": ["get"], "resources": ["secrets"], "dangerous": "can read <Secrets>"}]}]}},
        }))
        .unwrap()
    }

    #[test]
    fn user_text_is_escaped_never_markup() {
        let html = mine(&[escalation("<script>alert(1)</script>\u{202e}")]).into_string();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;\\u{202e}"), "{html}");
        assert!(!html.contains("<script>") && html.contains("p&lt;b&gt;"), "{html}");
    }

    #[test]
    fn the_preview_marks_dangerous_permissions() {
        let e = escalation("r");
        let html = preview(e.status.as_ref().and_then(|s| s.grant_preview.as_ref())).into_string();
        assert!(html.contains(r#"<li class="danger">"#) && html.contains("can read &lt;Secrets&gt;"), "{html}");
        assert!(html.contains("ClusterRole/ops") && html.contains("in namespace app"), "{html}");
    }
}
