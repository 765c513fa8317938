//! `application/problem+json` errors, the way amoCRM answers a bad request.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API error as amoCRM renders it: `{title, type, status, detail[, hint]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
    pub hint: Option<String>,
    /// Extra fields merged into the body (e.g. `validation-errors`).
    pub extra: Option<serde_json::Value>,
}

impl Problem {
    pub fn new(status: StatusCode, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem {
            status,
            title: title.into(),
            detail: detail.into(),
            hint: None,
            extra: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_extra(mut self, extra: serde_json::Value) -> Self {
        self.extra = Some(extra);
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "Bad Request", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "Forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "Not Found", detail)
    }

    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "title": self.title,
            "type": "https://httpstatus.es/".to_string() + self.status.as_str(),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some(hint) = &self.hint {
            body["hint"] = json!(hint);
        }
        if let (Some(serde_json::Value::Object(extra)), serde_json::Value::Object(map)) =
            (&self.extra, &mut body)
        {
            for (k, v) in extra {
                map.insert(k.clone(), v.clone());
            }
        }
        body
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body().to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
