//! amoCRM API v4 over HTTP: routes under `/api/v4`, behind the [`gate`].

mod catalog;
mod chats;
mod contacts;
mod events;
pub mod gate;
pub mod hal;
mod leads;
mod notes;
pub mod render;
mod tasks;
mod webhooks;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::get;

use crate::problem::Problem;
use crate::query::Query;
use crate::state::AppState;

pub use leads::LeadFilter;

/// The `/api/v4` routes (to be nested under `/api/v4`).
pub fn router(state: AppState) -> Router<AppState> {
    let routes = Router::new()
        .route("/account", get(catalog::account))
        .route("/users", get(catalog::users))
        .route("/users/{id}", get(catalog::user))
        .route("/leads", get(leads::list))
        .route("/leads/{id}", get(leads::one))
        .route("/leads/pipelines", get(catalog::pipelines))
        .route("/leads/pipelines/{id}", get(catalog::pipeline))
        .route("/leads/pipelines/{id}/statuses", get(catalog::statuses))
        .route("/leads/pipelines/{pid}/statuses/{id}", get(catalog::status))
        .route("/leads/loss_reasons", get(catalog::loss_reasons))
        .route("/leads/loss_reasons/{id}", get(catalog::loss_reason))
        .route("/leads/unsorted", get(chats::unsorted_list))
        .route("/leads/unsorted/{uid}", get(chats::unsorted_one))
        .route("/contacts", get(contacts::list))
        .route("/contacts/chats", get(contacts::chats))
        .route("/contacts/{id}", get(contacts::one))
        .route("/companies", get(contacts::companies))
        .route("/companies/{id}", get(contacts::company))
        .route("/events", get(events::list))
        .route("/events/{id}", get(events::one))
        .route("/tasks", get(tasks::list))
        .route("/tasks/{id}", get(tasks::one))
        .route("/talks/{id}", get(chats::talk))
        .route(
            "/webhooks",
            get(webhooks::list)
                .post(webhooks::register)
                .delete(webhooks::unregister),
        );
    notes::routes(routes)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(state, gate::gate))
}

pub async fn not_found() -> Problem {
    Problem::not_found("Not Found")
}

pub async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        "Method not allowed for this resource",
    )
}

/// A numeric id from the path; anything else names no entity: 404 problem+json.
pub fn path_id(raw: &str) -> Result<u64, Problem> {
    raw.parse::<u64>()
        .map_err(|_| Problem::not_found("Not Found"))
}

/// `order[field]=asc|desc`, checked against the fields an endpoint sorts by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub field: Option<String>,
    pub desc: bool,
}

impl Order {
    /// No `order` keeps storage order (ascending id).
    pub fn parse(q: &Query, allowed: &[&str]) -> Result<Order, Problem> {
        let pairs = q.order();
        let Some((field, dir)) = pairs.first() else {
            return Ok(Order {
                field: None,
                desc: false,
            });
        };
        if !allowed.contains(&field.as_str()) {
            return Err(Problem::bad_request(format!(
                "order[{field}] is not supported; use one of: {}",
                allowed.join(", ")
            )));
        }
        let desc = match dir.as_str() {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(Problem::bad_request(format!(
                    "order[{field}] must be asc or desc, got {other:?}"
                )));
            }
        };
        Ok(Order {
            field: Some(field.clone()),
            desc,
        })
    }

    /// Like [`Order::parse`], with a default when no `order` is given.
    pub fn parse_with_default(
        q: &Query,
        allowed: &[&str],
        default: (&str, bool),
    ) -> Result<Order, Problem> {
        let order = Order::parse(q, allowed)?;
        Ok(if order.field.is_none() {
            Order {
                field: Some(default.0.to_string()),
                desc: default.1,
            }
        } else {
            order
        })
    }

    /// Sorts stably by `key(item, field)`; ties keep storage order (reversed when descending).
    pub fn sort<T>(&self, items: &mut [&T], key: impl Fn(&T, &str) -> i64) {
        let Some(field) = self.field.as_deref() else {
            return;
        };
        if self.desc {
            items.reverse();
            items.sort_by_key(|item| std::cmp::Reverse(key(item, field)));
        } else {
            items.sort_by_key(|item| key(item, field));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_parsing() {
        let q = |s: &str| Query::parse(Some(s));
        assert_eq!(
            Order::parse(&q(""), &["id"]).ok(),
            Some(Order {
                field: None,
                desc: false
            })
        );
        assert_eq!(
            Order::parse(&q("order[id]=desc"), &["id"]).ok(),
            Some(Order {
                field: Some("id".into()),
                desc: true
            })
        );
        assert!(Order::parse(&q("order[name]=asc"), &["id"]).is_err());
        assert!(Order::parse(&q("order[id]=up"), &["id"]).is_err());
        let mut items = [&3, &1, &2];
        Order {
            field: Some("x".into()),
            desc: true,
        }
        .sort(&mut items, |v: &i32, _| i64::from(*v));
        assert_eq!(items, [&3, &2, &1]);
    }
}
