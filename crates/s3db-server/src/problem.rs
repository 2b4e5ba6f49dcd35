//! Errors as RFC 9457 `application/problem+json` bodies.
//!
//! Every failure the server answers — a core [`Error`], a malformed body, an unknown query
//! parameter, a failed authentication, a rate limit — becomes an [`ApiError`], rendered as
//! `{type, title, status, detail, kind, errors?, requestId}`. The status follows the error's
//! [`ErrorKind`] (the table is in `docs/server.md`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use s3db_core::{Error, ErrorKind};
use serde_json::{Value, json};

tokio::task_local! {
    /// The request id of the request being served (set by the request-id middleware).
    pub(crate) static REQUEST_ID: String;
}

/// The request id of the current request, when served by this crate's router.
pub(crate) fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// A failed request: status, kind name, detail and (for validation) the failing fields.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    detail: String,
    errors: Vec<Value>,
    headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    /// A problem of `status` with a kind name and a detail message.
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// A 400 `InvalidInput` problem.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "InvalidInput", detail)
    }

    /// Adds a response header (`Retry-After`, `WWW-Authenticate`).
    pub(crate) fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// The status and kind name of a core error kind.
fn status_of(error: &Error) -> (StatusCode, &'static str) {
    if matches!(error, Error::VersionMismatch { .. }) {
        return (StatusCode::PRECONDITION_FAILED, "Conflict");
    }
    match error.kind() {
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "NotFound"),
        ErrorKind::AlreadyExists => (StatusCode::CONFLICT, "AlreadyExists"),
        ErrorKind::Conflict => (StatusCode::CONFLICT, "Conflict"),
        ErrorKind::UniqueViolation => (StatusCode::CONFLICT, "UniqueViolation"),
        ErrorKind::Validation => (StatusCode::UNPROCESSABLE_ENTITY, "Validation"),
        ErrorKind::InvalidInput => (StatusCode::BAD_REQUEST, "InvalidInput"),
        ErrorKind::Refused => (StatusCode::CONFLICT, "Refused"),
        // The server's own credentials were refused by the backend: not the client's fault.
        ErrorKind::PermissionDenied => (StatusCode::SERVICE_UNAVAILABLE, "PermissionDenied"),
        ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Unavailable"),
        ErrorKind::Corrupt => (StatusCode::INTERNAL_SERVER_ERROR, "Corrupt"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "Internal"),
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let (status, kind) = status_of(&error);
        let mut problem = ApiError::new(status, kind, error.to_string());
        if let Error::Validation { source, .. } = &error {
            problem.errors = source
                .failures
                .iter()
                .map(|f| json!({"field": f.path, "rule": f.rule, "message": f.message}))
                .collect();
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            problem = problem.with_header(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if status.is_server_error() {
            tracing::error!(%error, "request failed");
        }
        problem
    }
}

/// The `type` URI of a kind: `urn:s3db:problem:<kind>`.
fn type_uri(kind: &str) -> String {
    format!("urn:s3db:problem:{kind}")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": type_uri(self.kind),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
            "kind": self.kind,
        });
        if !self.errors.is_empty() {
            body["errors"] = Value::Array(self.errors);
        }
        if let Some(id) = current_request_id() {
            body["requestId"] = Value::String(id);
        }
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}
