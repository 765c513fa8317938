//! `GET/POST/DELETE /api/v4/webhooks` (admin rights; some plans only).

use reqwest::Method;
use serde_json::{Value, json};

use crate::client::Client;
use crate::decode::{decode, decode_value};
use crate::error::ApiError;
use crate::models::Webhook;

impl Client {
    /// Registered webhooks, optionally only the one(s) for `destination`.
    pub async fn webhooks(
        &self,
        filter_destination: Option<&str>,
    ) -> Result<Vec<Webhook>, ApiError> {
        let pairs: Vec<(String, String)> = filter_destination
            .map(|d| vec![("filter[destination]".to_owned(), d.to_owned())])
            .unwrap_or_default();
        self.get_all(self.url("/api/v4/webhooks", &pairs), "webhooks")
            .await
    }

    /// Registers (or, for a known destination, updates) a webhook and returns
    /// it as amoCRM accepted it (200 and 201 both mean success). Read
    /// `settings` back: accounts drop codes they do not support.
    pub async fn register_webhook<S: AsRef<str>>(
        &self,
        destination: &str,
        settings: &[S],
        sort: Option<i64>,
    ) -> Result<Webhook, ApiError> {
        check_destination(destination)?;
        if settings.is_empty() {
            return Err(ApiError::invalid("a webhook needs at least one setting"));
        }
        let settings: Vec<&str> = settings.iter().map(AsRef::as_ref).collect();
        let mut body = json!({ "destination": destination, "settings": settings });
        if let Some(sort) = sort {
            body["sort"] = json!(sort);
        }
        let request =
            self.build_request(Method::POST, self.url("/api/v4/webhooks", &[]), Some(&body))?;
        let answer = self
            .execute(request)
            .await?
            .ok_or_else(|| ApiError::Decode {
                detail: "amoCRM answered the webhook registration with no body".into(),
                excerpt: String::new(),
            })?;
        let value: Value = decode(&answer)?;
        match value.pointer("/_embedded/webhooks/0") {
            Some(inner) if value.get("destination").is_none() => {
                decode_value(inner.clone(), "_embedded.webhooks[0]", &answer)
            }
            _ => decode_value(value, "", &answer),
        }
    }

    /// Removes the webhook for `destination` (`DELETE` with a JSON body; 204).
    pub async fn delete_webhook(&self, destination: &str) -> Result<(), ApiError> {
        check_destination(destination)?;
        let body = json!({ "destination": destination });
        let request = self.build_request(
            Method::DELETE,
            self.url("/api/v4/webhooks", &[]),
            Some(&body),
        )?;
        self.execute(request).await.map(|_| ())
    }
}

/// Checks that `destination` is an http(s) URL. The error never repeats the
/// destination: its path is the webhook's secret.
fn check_destination(destination: &str) -> Result<(), ApiError> {
    match url::Url::parse(destination) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(()),
        Ok(url) => Err(ApiError::invalid(format!(
            "webhook destination must be an http(s) URL with a host, got a {}: URL",
            url.scheme()
        ))),
        Err(e) => Err(ApiError::invalid(format!(
            "webhook destination must be an http(s) URL ({e}; {} characters, not shown)",
            destination.chars().count()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_must_be_a_url() {
        assert!(check_destination("https://abc.trycloudflare.com/hook/secret/").is_ok());
        assert!(check_destination("not a url").is_err());
        assert!(check_destination("ftp://x/").is_err());
        for bad in ["ftp://host/hook/s3cr3t/", "s3cr3t path", "mailto:s3cr3t@x"] {
            let e = check_destination(bad).expect_err(bad);
            let text = format!("{e} {e:?}");
            assert!(!text.contains("s3cr3t"), "{text}");
        }
    }
}
