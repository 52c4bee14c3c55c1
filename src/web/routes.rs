//! URLs → the cluster (as the user) → HTML. Every route but `/login`
//! sits behind `guard::check`; every answer gets `guard::headers`.

use axum::{
    Form, Router,
    extract::{DefaultBodyLimit, Path, Query, State},
    http::{StatusCode, header},
    middleware::{from_fn, from_fn_with_state},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use maud::Markup;
use serde::Deserialize;

use super::{App, MAX_BODY, backend, guard, live, pages, pages::View};
use crate::{api::ReviewDecision, operations::Error};

pub fn router(app: App) -> Router {
    let guard = app.guard.clone();
    Router::new()
        .route("/", get(mine))
        .route("/request", get(request_form).post(request))
        .route("/reviews", get(reviews))
        .route("/escalations/{name}", get(detail))
        .route("/escalations/{name}/approve", post(approve))
        .route("/escalations/{name}/deny", post(deny))
        .route("/escalations/{name}/revoke", post(revoke))
        .route("/live", get(stream))
        .route("/login", get(login))
        .route("/static/style.css", get(|| async { ([(header::CONTENT_TYPE, "text/css")], pages::CSS) }))
        .route("/static/app.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], pages::JS) }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(app)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(from_fn_with_state(guard, guard::check))
        .layer(from_fn(guard::headers))
}

/// A page that could not be made: the status and what the user should know.
pub struct Failed(StatusCode, Error);

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        (self.0, pages::failed(&self.1)).into_response()
    }
}

/// A refusal from the cluster or from kudo's checks: 403 when RBAC said
/// no, 404 for what is not there, 400 for anything else the user can correct.
fn failed(e: Error) -> Failed {
    let status = match &e {
        _ if e.is_forbidden() => StatusCode::FORBIDDEN,
        Error::EscalationNotFound(_) | Error::PolicyNotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    Failed(status, e)
}

/// An escalation name from the path, checked before it reaches the API server.
fn escalation_name(name: String) -> Result<String, Failed> {
    if crate::api::valid_name(&name) {
        Ok(name)
    } else {
        Err(Failed(StatusCode::NOT_FOUND, Error::invalid("the escalation's name", "not a Kubernetes object name")))
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    token: Option<String>,
}

/// Trades the printed token for the session cookie, then drops it from the URL.
async fn login(State(app): State<App>, Query(q): Query<LoginQuery>) -> Response {
    match q.token {
        Some(token) if app.guard.token.matches(&token) => {
            ([(header::SET_COOKIE, app.guard.set_cookie())], Redirect::to("/")).into_response()
        }
        _ => (StatusCode::FORBIDDEN, "wrong token: open the URL that this run of `kubectl kudo dashboard` printed\n")
            .into_response(),
    }
}

/// A page's changing part, as the page shows it and the event stream sends it.
pub async fn fragment(app: &App, view: &View) -> Markup {
    let session = &app.session;
    let result = match view {
        View::Mine => backend::mine(session).await.map(|mine| pages::mine(&mine)),
        View::Reviews => backend::to_review(session).await.map(|r| pages::reviews(&r)),
        View::Escalation(name) => backend::detail(session, name).await.map(|d| pages::detail(&session.me, &d)),
    };
    result.unwrap_or_else(|e| pages::problem(&e))
}

async fn page(app: &App, view: View) -> Markup {
    let body = fragment(app, &view).await;
    pages::live_page(&app.session.me, &view, body)
}

async fn mine(State(app): State<App>) -> Markup {
    page(&app, View::Mine).await
}

async fn reviews(State(app): State<App>) -> Markup {
    page(&app, View::Reviews).await
}

async fn detail(State(app): State<App>, Path(name): Path<String>) -> Result<Markup, Failed> {
    Ok(page(&app, View::Escalation(escalation_name(name)?)).await)
}

#[derive(Deserialize)]
struct StreamQuery {
    view: String,
    name: Option<String>,
}

async fn stream(State(app): State<App>, Query(q): Query<StreamQuery>) -> Result<Response, Failed> {
    let view = match (q.view.as_str(), q.name) {
        ("mine", _) => View::Mine,
        ("reviews", _) => View::Reviews,
        ("escalation", Some(name)) => View::Escalation(escalation_name(name)?),
        _ => return Err(Failed(StatusCode::BAD_REQUEST, Error::invalid("view", "unknown"))),
    };
    Ok(live::stream(app, view).into_response())
}

async fn request_form(State(app): State<App>) -> Result<Markup, Failed> {
    let policies = backend::policies(&app.session).await.map_err(failed)?;
    Ok(pages::request_form(&app.session.me, &policies))
}

#[derive(Deserialize)]
struct RequestForm {
    policy: String,
    reason: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    duration: String,
    /// A checkbox: present when ticked.
    break_glass: Option<String>,
}

/// Blank fields are left to the policy's defaults.
fn given(text: String) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

async fn request(State(app): State<App>, Form(form): Form<RequestForm>) -> Result<Redirect, Failed> {
    let name = backend::request(
        &app.session,
        backend::Request {
            policy: form.policy,
            reason: form.reason,
            namespace: given(form.namespace),
            duration: given(form.duration),
            break_glass: form.break_glass.is_some(),
            start_at: None,
        },
    )
    .await
    .map_err(failed)?;
    Ok(Redirect::to(&format!("/escalations/{name}")))
}

#[derive(Deserialize)]
struct ReviewForm {
    #[serde(default)]
    message: String,
}

async fn approve(state: State<App>, name: Path<String>, form: Form<ReviewForm>) -> Result<Redirect, Failed> {
    review(state, name, form, ReviewDecision::Approved).await
}

async fn deny(state: State<App>, name: Path<String>, form: Form<ReviewForm>) -> Result<Redirect, Failed> {
    review(state, name, form, ReviewDecision::Rejected).await
}

async fn review(
    State(app): State<App>,
    Path(name): Path<String>,
    Form(form): Form<ReviewForm>,
    decision: ReviewDecision,
) -> Result<Redirect, Failed> {
    let name = escalation_name(name)?;
    backend::review(&app.session, &name, decision, form.message.trim()).await.map_err(failed)?;
    Ok(Redirect::to(&format!("/escalations/{name}")))
}

async fn revoke(State(app): State<App>, Path(name): Path<String>) -> Result<Redirect, Failed> {
    let name = escalation_name(name)?;
    backend::revoke(&app.session, &name).await.map_err(failed)?;
    Ok(Redirect::to(&format!("/escalations/{name}")))
}
