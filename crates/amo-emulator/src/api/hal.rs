//! HAL responses the way amoCRM shapes them: `application/hal+json`,
//! absolute `_links`, lists under `_embedded.<name>` with `_page` and
//! `_links.next` while more pages exist, and 204 with no body for nothing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::query::{Paging, Query};

pub const HAL_JSON: &str = "application/hal+json";

/// A HAL JSON answer.
pub fn hal(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HAL_JSON));
    response
}

/// 204, no body, no content type: amoCRM's "nothing found".
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `{"href": "<base><path>"}`.
pub fn href(base: &str, path: &str) -> Value {
    json!({"href": format!("{base}{path}")})
}

/// `{"self": {"href": …}}`.
pub fn self_link(base: &str, path: &str) -> Value {
    json!({"self": href(base, path)})
}

fn page_href(base: &str, path: &str, query: &Query, page: u64, limit: u64) -> Value {
    let rest = query.encode_without(&["page", "limit"]);
    let sep = if rest.is_empty() { "" } else { "&" };
    json!({"href": format!("{base}{path}?{rest}{sep}page={page}&limit={limit}")})
}

/// One page of a list. Empty → 204.
pub struct ListPage<'a> {
    pub base: &'a str,
    pub path: &'a str,
    pub query: &'a Query,
    pub paging: Paging,
    pub key: &'a str,
    pub items: Vec<Value>,
    pub has_next: bool,
    /// `_total_items` for endpoints that report it (webhooks, pipelines).
    pub total: Option<usize>,
}

impl ListPage<'_> {
    pub fn respond(self) -> Response {
        if self.items.is_empty() {
            return no_content();
        }
        let Paging { page, limit } = self.paging;
        let mut links = serde_json::Map::new();
        links.insert(
            "self".into(),
            page_href(self.base, self.path, self.query, page, limit),
        );
        if self.has_next {
            links.insert(
                "next".into(),
                page_href(self.base, self.path, self.query, page + 1, limit),
            );
        }
        if page > 1 {
            links.insert(
                "first".into(),
                page_href(self.base, self.path, self.query, 1, limit),
            );
            links.insert(
                "prev".into(),
                page_href(self.base, self.path, self.query, page - 1, limit),
            );
        }
        let mut embedded = serde_json::Map::new();
        embedded.insert(self.key.to_string(), Value::Array(self.items));
        let mut body = json!({"_page": page, "_links": links, "_embedded": embedded});
        if let Some(total) = self.total {
            body["_total_items"] = json!(total);
        }
        hal(StatusCode::OK, &body)
    }
}

/// A full (unpaged) collection: `{_total_items, _links.self, _embedded.<key>}`; empty → 204.
pub fn collection(base: &str, path: &str, key: &str, items: Vec<Value>) -> Response {
    if items.is_empty() {
        return no_content();
    }
    let mut embedded = serde_json::Map::new();
    let total = items.len();
    embedded.insert(key.to_string(), Value::Array(items));
    hal(
        StatusCode::OK,
        &json!({"_total_items": total, "_links": self_link(base, path), "_embedded": embedded}),
    )
}
