//! `Status` error bodies with the reasons and codes Kubernetes uses.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Value,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn new(code: u16, reason: &'static str, message: String) -> Self {
        Self { code, reason, message, details: Value::Null }
    }

    fn with_details(mut self, group: &str, kind: &str, name: &str) -> Self {
        self.details = json!({"name": name, "group": group, "kind": kind});
        self
    }

    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        let what = if group.is_empty() { plural.to_string() } else { format!("{plural}.{group}") };
        Self::new(404, "NotFound", format!("{what} \"{name}\" not found")).with_details(group, plural, name)
    }

    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        let what = if group.is_empty() { plural.to_string() } else { format!("{plural}.{group}") };
        Self::new(409, "AlreadyExists", format!("{what} \"{name}\" already exists")).with_details(group, plural, name)
    }

    pub fn conflict(group: &str, plural: &str, name: &str, why: &str) -> Self {
        let what = if group.is_empty() { plural.to_string() } else { format!("{plural}.{group}") };
        Self::new(409, "Conflict", format!("Operation cannot be fulfilled on {what} \"{name}\": {why}"))
            .with_details(group, plural, name)
    }

    pub fn forbidden(user: &str, verb: &str, resource: &str, group: &str, scope: &str) -> Self {
        let group = if group.is_empty() { "\"\"".to_string() } else { format!("\"{group}\"") };
        Self::new(
            403,
            "Forbidden",
            format!(
                "{resource} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group {group} {scope}"
            ),
        )
    }

    pub fn forbidden_message(message: String) -> Self {
        Self::new(403, "Forbidden", message)
    }

    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<(String, String)>) -> Self {
        let text: Vec<String> = causes.iter().map(|(f, m)| format!("{f}: {m}")).collect();
        let mut e = Self::new(422, "Invalid", format!("{kind}.{group} \"{name}\" is invalid: {}", text.join(", ")));
        e.details = json!({
            "name": name, "group": group, "kind": kind,
            "causes": causes.iter().map(|(f, m)| json!({"reason": "FieldValueInvalid", "message": m, "field": f})).collect::<Vec<_>>(),
        });
        e
    }

    pub fn invalid_message(message: String) -> Self {
        Self::new(422, "Invalid", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message.into())
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized".into())
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message.into())
    }

    pub fn unsupported_media_type(accepted: &str, content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {accepted}; got {content_type}"
            ),
        )
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message.into())
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message.into())
    }

    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": self.message, "reason": self.reason, "code": self.code,
        });
        if !self.details.is_null() {
            s["details"] = self.details.clone();
        }
        s
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, axum::Json(self.status())).into_response()
    }
}
