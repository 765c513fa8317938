//! The authorize page a user sees at `www.amocrm.ru/oauth` (here on the
//! emulator's own address) and its form's target, `POST /oauth/decision`,
//! which redirects back to the integration with a code or `access_denied`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::{AppState, lock};

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Escapes text for HTML content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A 400 page in both languages.
fn refusal(ru: &str, en: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        format!(
            "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Ошибка / Error</title></head>\n<body><h1>Ошибка / Error</h1>\n<p>{}</p>\n<p>{}</p>\n</body></html>\n",
            escape(ru),
            escape(en)
        ),
    )
}

fn unknown_client() -> Response {
    refusal(
        "Интеграция не найдена: проверьте client_id в ссылке.",
        "Unknown integration: the link's client_id matches no integration of this account.",
    )
}

/// The first value of each parameter of a query string or form body.
fn params(raw: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(raw) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// `GET /oauth?client_id=…&state=…&mode=…`: the consent page.
pub async fn authorize(State(s): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let p = params(query.unwrap_or_default().as_bytes());
    let client_id = p.get("client_id").map(String::as_str).unwrap_or_default();
    if client_id.is_empty() {
        return refusal(
            "В ссылке нет параметра client_id.",
            "The link lacks the client_id parameter.",
        );
    }
    let Some(integration) = lock(&s.inner.oauth).get(client_id).map(|i| i.name.clone()) else {
        return unknown_client();
    };
    let (account, subdomain) = {
        let world = s.world();
        (world.account.name.clone(), world.account.subdomain.clone())
    };
    let state = p.get("state").map(String::as_str).unwrap_or_default();
    let mode = p.get("mode").map(String::as_str).unwrap_or("popup");
    let (name, account, subdomain) = (escape(&integration), escape(&account), escape(&subdomain));
    html(
        StatusCode::OK,
        format!(
            r#"<!DOCTYPE html>
<html lang="ru">
<head><meta charset="utf-8"><title>Предоставить доступ / Grant access — amoCRM</title></head>
<body>
<h1>Предоставить доступ / Grant access</h1>
<p>Интеграция «{name}» запрашивает доступ к аккаунту «{account}» ({subdomain}.amocrm.ru).</p>
<p>The integration “{name}” asks for access to the account “{account}” ({subdomain}.amocrm.ru).</p>
<form method="post" action="/oauth/decision">
<input type="hidden" name="client_id" value="{client_id}">
<input type="hidden" name="state" value="{state}">
<input type="hidden" name="mode" value="{mode}">
<button type="submit" name="decision" value="approve" id="approve">Разрешить / Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Отклонить / Deny</button>
</form>
</body>
</html>
"#,
            client_id = escape(client_id),
            state = escape(state),
            mode = escape(mode),
        ),
    )
}

/// `uri` with `pairs` appended to its query (before any `#fragment`).
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let (base, fragment) = match uri.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (uri, None),
    };
    let separator = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let mut out = format!("{base}{separator}{query}");
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// `POST /oauth/decision` (form: `client_id`, `state`, `decision`): 302 to
/// the integration's redirect URI with a fresh code, or `error=access_denied`.
pub async fn decision(State(s): State<AppState>, body: Bytes) -> Response {
    let p = params(&body);
    let client_id = p.get("client_id").map(String::as_str).unwrap_or_default();
    let state = p.get("state").map(String::as_str).unwrap_or_default();
    let approve = match p.get("decision").map(String::as_str) {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return refusal(
                "Нужно выбрать «Разрешить» или «Отклонить» (decision=approve или deny).",
                "Choose Allow or Deny (decision=approve or deny).",
            );
        }
    };
    let now = s.clock().now();
    let location = {
        let mut oauth = lock(&s.inner.oauth);
        let Some(redirect_uri) = oauth.get(client_id).map(|i| i.redirect_uri.clone()) else {
            return unknown_client();
        };
        if approve {
            let code = match oauth.issue_code(client_id, now) {
                Ok(code) => code,
                Err(e) => return refusal("Слишком много неиспользованных кодов.", &e),
            };
            let referer = s.referer();
            with_query(
                &redirect_uri,
                &[
                    ("code", code.expose()),
                    ("state", state),
                    ("referer", &referer),
                    ("client_id", client_id),
                ],
            )
        } else {
            with_query(
                &redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("state", state),
                    ("client_id", client_id),
                ],
            )
        }
    };
    let Ok(value) = HeaderValue::from_str(&location) else {
        return refusal(
            "Адрес перенаправления интеграции нельзя передать в заголовке Location.",
            "The integration's redirect_uri cannot be sent in a Location header; register it percent-encoded.",
        );
    };
    tracing::info!(%client_id, approve, "authorization decided");
    let mut response = StatusCode::FOUND.into_response();
    response.headers_mut().insert(header::LOCATION, value);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_appended_where_it_belongs() {
        let pairs = [("code", "a b&c"), ("state", "é")];
        assert_eq!(
            with_query("https://x/cb", &pairs),
            "https://x/cb?code=a+b%26c&state=%C3%A9"
        );
        assert_eq!(
            with_query("https://x/cb?v=1", &pairs[..1]),
            "https://x/cb?v=1&code=a+b%26c"
        );
        assert_eq!(
            with_query("https://x/cb?", &pairs[..1]),
            "https://x/cb?code=a+b%26c"
        );
        assert_eq!(
            with_query("https://x/cb#top", &pairs[..1]),
            "https://x/cb?code=a+b%26c#top"
        );
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
