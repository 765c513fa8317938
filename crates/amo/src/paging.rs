//! Lists that span pages: follow `_links.next.href`, never compute page counts.

use std::collections::HashSet;
use std::pin::Pin;

use futures::{Stream, TryStreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::client::Client;
use crate::decode::{decode, decode_value};
use crate::error::ApiError;
use crate::request::Answer;

/// A stream of pages; each item is one page's entities. Ends after the page
/// without `_links.next`, on an empty page, or on a 204; fails with a
/// `Decode` error after [`crate::ClientConfig::max_pages`] pages. Use [`collect_all`] or
/// `futures::TryStreamExt::try_concat` to gather everything.
pub type PageStream<T> = Pin<Box<dyn Stream<Item = Result<Vec<T>, ApiError>> + Send>>;

/// Gathers every entity of every page.
pub async fn collect_all<T>(pages: PageStream<T>) -> Result<Vec<T>, ApiError> {
    pages.try_concat().await
}

/// Flattens pages into a stream of single entities.
pub fn items<T: Send + 'static>(
    pages: PageStream<T>,
) -> Pin<Box<dyn Stream<Item = Result<T, ApiError>> + Send>> {
    Box::pin(
        pages
            .map_ok(|page| futures::stream::iter(page.into_iter().map(Ok)))
            .try_flatten(),
    )
}

/// One decoded page.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next: Option<String>,
}

/// Decodes `_embedded.<key>` and `_links.next.href` of a HAL list answer.
/// `_links`/`_embedded` may be `[]` (PHP's empty object); a missing list is an
/// error (a misnamed key must not read as "no data").
pub(crate) fn parse_page<T: DeserializeOwned>(
    answer: &Answer,
    key: &str,
) -> Result<Page<T>, ApiError> {
    let root: Value = decode(answer)?;
    let next = root
        .pointer("/_links/next/href")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let items = match root.get("_embedded") {
        Some(Value::Object(embedded)) => match embedded.get(key) {
            Some(Value::Null) => Vec::new(),
            Some(list) => decode_value(list.clone(), &format!("_embedded.{key}"), answer)?,
            None => return Err(missing(key, answer)),
        },
        Some(Value::Array(a)) if a.is_empty() => Vec::new(),
        _ => return Err(missing(key, answer)),
    };
    Ok(Page { items, next })
}

fn missing(key: &str, answer: &Answer) -> ApiError {
    ApiError::Decode {
        detail: format!("the list answer has no `_embedded.{key}`"),
        excerpt: crate::decode::body_excerpt(answer),
    }
}

impl Client {
    /// Resolves a `_links.next.href` against the account host. A link to any
    /// other origin is re-based onto the account host: the token is only ever
    /// sent to the configured `base_url`.
    pub(crate) fn follow(&self, href: &str) -> Result<Url, ApiError> {
        let base = &self.inner.config.base_url;
        let url = base.join(href).map_err(|e| ApiError::Decode {
            detail: format!("bad `_links.next.href`: {e}"),
            // Not the link itself: its query may carry search text.
            excerpt: String::new(),
        })?;
        if url.origin() == base.origin() {
            return Ok(url);
        }
        tracing::debug!(next = %url.path(), "next link points at another origin; re-basing onto the account host");
        let mut rebased = base.clone();
        rebased.set_path(url.path());
        rebased.set_query(url.query());
        Ok(rebased)
    }

    /// Streams the pages of a list starting at `first`.
    pub(crate) fn pages<T>(&self, first: Url, key: &'static str) -> PageStream<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        struct State {
            client: Client,
            next: Option<Url>,
            seen: HashSet<String>,
            read: u32,
        }
        let state = State {
            client: self.clone(),
            next: Some(first),
            seen: HashSet::new(),
            read: 0,
        };
        Box::pin(futures::stream::try_unfold(
            state,
            move |mut state| async move {
                let Some(url) = state.next.take() else {
                    return Ok(None);
                };
                if !state.seen.insert(url.as_str().to_owned()) {
                    return Err(ApiError::Decode {
                        detail: format!(
                            "pagination loops back to an already read page ({})",
                            url.path()
                        ),
                        excerpt: String::new(),
                    });
                }
                let max_pages = state.client.inner.config.max_pages;
                if state.read >= max_pages {
                    return Err(ApiError::Decode {
                        detail: format!(
                            "the list still has a next page after {max_pages} pages; stopped (raise ClientConfig::max_pages if the account really is that large)"
                        ),
                        excerpt: String::new(),
                    });
                }
                state.read += 1;
                let request = state.client.build_request(Method::GET, url, None::<&()>)?;
                let Some(answer) = state.client.execute(request).await? else {
                    return Ok(None);
                };
                let page: Page<T> = parse_page(&answer, key)?;
                if page.items.is_empty() {
                    // An empty page ends the list, whatever `_links.next` says.
                    return Ok(None);
                }
                state.next = page
                    .next
                    .as_deref()
                    .map(|href| state.client.follow(href))
                    .transpose()?;
                Ok(Some((page.items, state)))
            },
        ))
    }

    /// The pages of the list at `path` with `query`, or one error (nothing
    /// sent) when the query did not validate.
    pub(crate) fn list<T>(
        &self,
        path: &str,
        key: &'static str,
        query: Result<Vec<(String, String)>, ApiError>,
    ) -> PageStream<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        match query {
            Ok(pairs) => self.pages(self.url(path, &pairs), key),
            Err(e) => Box::pin(futures::stream::once(async move { Err(e) })),
        }
    }

    /// Every entity of a list, all pages.
    pub(crate) async fn get_all<T>(&self, first: Url, key: &'static str) -> Result<Vec<T>, ApiError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        collect_all(self.pages(first, key)).await
    }

    /// One object; `None` on 204.
    pub(crate) async fn get_one<T: DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<Option<T>, ApiError> {
        let request = self.build_request(Method::GET, url, None::<&()>)?;
        match self.execute(request).await? {
            Some(answer) => decode(&answer).map(Some),
            None => Ok(None),
        }
    }

    /// One object by id; `None` when amoCRM answers 204, or its own
    /// problem+json 404 (no such entity). A 404 with an HTML or other body
    /// (a wrong host or path) is a `NotFound` error, not a deleted entity.
    pub(crate) async fn get_by_id<T: DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<Option<T>, ApiError> {
        let request = self.build_request(Method::GET, url, None::<&()>)?;
        match self.execute_lookup(request).await? {
            Some(answer) => decode(&answer).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientConfig;
    use crate::secret::Secret;
    use crate::token::StaticToken;

    fn answer(body: &str) -> Answer {
        Answer {
            status: 200,
            content_type: Some("application/hal+json".into()),
            body: body.into(),
            token: Secret::from("t"),
        }
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Item {
        id: u64,
    }

    #[test]
    fn parses_items_and_next() {
        let page: Page<Item> = parse_page(
            &answer(r#"{"_page":2,"_links":{"self":{"href":"https://x.amocrm.ru/api/v4/leads?page=2"},"next":{"href":"https://x.amocrm.ru/api/v4/leads?page=3&limit=2"}},"_embedded":{"leads":[{"id":1},{"id":2}]}}"#),
            "leads",
        )
        .expect("page");
        assert_eq!(page.items, [Item { id: 1 }, Item { id: 2 }]);
        assert_eq!(
            page.next.as_deref(),
            Some("https://x.amocrm.ru/api/v4/leads?page=3&limit=2")
        );
    }

    #[test]
    fn last_page_and_php_empty_objects() {
        let page: Page<Item> = parse_page(
            &answer(r#"{"_links":[],"_embedded":{"leads":[{"id":9}]}}"#),
            "leads",
        )
        .expect("page");
        assert_eq!(page.next, None);
        let empty: Page<Item> = parse_page(
            &answer(r#"{"_links":{"self":{"href":"/"}},"_embedded":[]}"#),
            "leads",
        )
        .expect("page");
        assert!(empty.items.is_empty());
    }

    #[test]
    fn misnamed_list_is_an_error() {
        let e = parse_page::<Item>(&answer(r#"{"_embedded":{"contacts":[]}}"#), "leads")
            .expect_err("missing");
        assert_eq!(e.code(), "Decode");
    }

    #[test]
    fn next_links_never_leave_the_account_host() {
        let config = ClientConfig::from_url("https://example.amocrm.ru").expect("url");
        let client = Client::new(config, StaticToken::new("t")).expect("client");
        assert_eq!(
            client
                .follow("https://example.amocrm.ru/api/v4/leads?page=2")
                .expect("same")
                .as_str(),
            "https://example.amocrm.ru/api/v4/leads?page=2"
        );
        assert_eq!(
            client
                .follow("/api/v4/leads?page=3")
                .expect("relative")
                .as_str(),
            "https://example.amocrm.ru/api/v4/leads?page=3"
        );
        assert_eq!(
            client
                .follow("http://evil.example/api/v4/leads?page=4&limit=250")
                .expect("rebased")
                .as_str(),
            "https://example.amocrm.ru/api/v4/leads?page=4&limit=250"
        );
    }
}
