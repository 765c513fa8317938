//! PHP-style bracket query strings, the way amoCRM reads them:
//! `filter[id][]=1&filter[id][]=2`, `filter[statuses][0][pipeline_id]=8580102`,
//! `order[updated_at]=asc`, `with=contacts,loss_reason`.
//!
//! The raw query is split into (key, value) pairs with `form_urlencoded`
//! (so `+` and `%D0%9F…` decode to UTF-8), then keys are split into a base
//! name and bracket segments. Nothing here panics on any input.

use std::collections::BTreeMap;

use crate::problem::Problem;

/// A decoded query string, pairs kept in their original order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

/// Splits `filter[statuses][0][pipeline_id]` into `("filter", ["statuses", "0", "pipeline_id"])`.
/// A key with unbalanced brackets is kept whole, with no segments.
pub fn split_key(key: &str) -> (String, Vec<String>) {
    let Some(open) = key.find('[') else {
        return (key.to_string(), Vec::new());
    };
    let base = key[..open].to_string();
    let mut segments = Vec::new();
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            return (key.to_string(), Vec::new());
        };
        segments.push(stripped[..close].to_string());
        rest = &stripped[close + 1..];
    }
    if !rest.is_empty() {
        return (key.to_string(), Vec::new());
    }
    (base, segments)
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|raw| {
                form_urlencoded::parse(raw.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Query { pairs }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The first value of exactly `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a list parameter given as `key`, `key[]` or `key[N]`,
    /// with comma-separated values split (`filter[id]=1,2` = `filter[id][]=1&filter[id][]=2`).
    pub fn list(&self, key: &str) -> Vec<String> {
        let (base, segments) = split_key(key);
        let mut out = Vec::new();
        for (k, v) in &self.pairs {
            let (kb, ks) = split_key(k);
            if kb != base || ks.len() < segments.len() || ks[..segments.len()] != segments[..] {
                continue;
            }
            let extra = &ks[segments.len()..];
            let is_item = extra.is_empty()
                || (extra.len() == 1 && (extra[0].is_empty() || extra[0].parse::<u64>().is_ok()));
            if is_item {
                out.extend(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
            }
        }
        out
    }

    /// Groups indexed objects: `filter[statuses][0][pipeline_id]=1&filter[statuses][0][status_id]=2`
    /// under prefix `filter[statuses]` gives `{"0": {"pipeline_id": "1", "status_id": "2"}}`.
    pub fn indexed(&self, prefix: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        let (base, segments) = split_key(prefix);
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (k, v) in &self.pairs {
            let (kb, ks) = split_key(k);
            if kb != base || ks.len() != segments.len() + 2 || ks[..segments.len()] != segments[..]
            {
                continue;
            }
            let index = ks[segments.len()].clone();
            let field = ks[segments.len() + 1].clone();
            out.entry(index).or_default().insert(field, v.clone());
        }
        out
    }

    /// `with=a,b` (also `with[]=a`): the set of requested extras.
    pub fn with(&self) -> Vec<String> {
        self.list("with")
    }

    /// `order[field]=asc|desc` pairs, in order.
    pub fn order(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter_map(|(k, v)| {
                let (base, segs) = split_key(k);
                (base == "order" && segs.len() == 1)
                    .then(|| (segs[0].clone(), v.to_ascii_lowercase()))
            })
            .collect()
    }

    /// The query re-encoded without `drop` keys, for building `_links` hrefs.
    pub fn encode_without(&self, drop: &[&str]) -> String {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if !drop.contains(&k.as_str()) {
                ser.append_pair(k, v);
            }
        }
        ser.finish()
    }
}

/// Parses an unsigned id/number parameter or answers 400.
pub fn parse_u64(name: &str, value: &str) -> Result<u64, Problem> {
    value.trim().parse::<u64>().map_err(|_| {
        Problem::bad_request(format!(
            "{name} must be a non-negative integer, got {value:?}"
        ))
    })
}

/// Parses a signed number (timestamps) or answers 400.
pub fn parse_i64(name: &str, value: &str) -> Result<i64, Problem> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| Problem::bad_request(format!("{name} must be an integer, got {value:?}")))
}

/// Parses a list of ids or answers 400.
pub fn parse_ids(name: &str, values: &[String]) -> Result<Vec<u64>, Problem> {
    values.iter().map(|v| parse_u64(name, v)).collect()
}

/// `filter[<field>][from]` / `[to]` as an inclusive range.
pub fn time_range(query: &Query, field: &str) -> Result<(Option<i64>, Option<i64>), Problem> {
    let from_key = format!("filter[{field}][from]");
    let to_key = format!("filter[{field}][to]");
    let from = query
        .get(&from_key)
        .map(|v| parse_i64(&from_key, v))
        .transpose()?;
    let to = query
        .get(&to_key)
        .map(|v| parse_i64(&to_key, v))
        .transpose()?;
    Ok((from, to))
}

/// A page request: `page` from 1, `limit` in `1..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u64,
    pub limit: u64,
}

impl Paging {
    pub fn from_query(
        query: &Query,
        default_limit: u64,
        max_limit: u64,
    ) -> Result<Paging, Problem> {
        let limit = match query.get("limit") {
            None => default_limit,
            Some(v) => parse_u64("limit", v)?,
        };
        if limit == 0 || limit > max_limit {
            return Err(Problem::bad_request(format!("limit must be between 1 and {max_limit}, got {limit}"))
                .with_extra(serde_json::json!({"validation-errors": [{"request_id": "0", "errors": [{"code": "NotSupportedChoice", "path": "limit", "detail": format!("Limit must be at most {max_limit}")}]}]})));
        }
        let page = match query.get("page") {
            None => 1,
            Some(v) => parse_u64("page", v)?,
        };
        if page == 0 {
            return Err(Problem::bad_request("page must start from 1"));
        }
        Ok(Paging { page, limit })
    }

    /// The slice bounds of this page over `total` items, and whether a next page exists.
    pub fn window(&self, total: usize) -> (usize, usize, bool) {
        let start = usize::try_from((self.page - 1).saturating_mul(self.limit))
            .unwrap_or(usize::MAX)
            .min(total);
        let end = start
            .saturating_add(usize::try_from(self.limit).unwrap_or(usize::MAX))
            .min(total);
        (start, end, end < total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_key_handles_brackets() {
        assert_eq!(split_key("limit"), ("limit".into(), vec![]));
        assert_eq!(
            split_key("filter[id][]"),
            ("filter".into(), vec!["id".into(), "".into()])
        );
        assert_eq!(
            split_key("filter[statuses][0][pipeline_id]"),
            (
                "filter".into(),
                vec!["statuses".into(), "0".into(), "pipeline_id".into()]
            )
        );
        assert_eq!(split_key("bad[x"), ("bad[x".into(), vec![]));
        assert_eq!(split_key("bad[x]y"), ("bad[x]y".into(), vec![]));
    }

    #[test]
    fn list_reads_all_spellings() {
        let q = Query::parse(Some(
            "filter%5Bid%5D%5B%5D=1&filter[id][]=2&filter[id][5]=3&filter[id]=4,5&filter[idx]=9",
        ));
        assert_eq!(q.list("filter[id]"), vec!["1", "2", "3", "4", "5"]);
        let q = Query::parse(Some("with=contacts,loss_reason&with[]=only_deleted"));
        assert_eq!(q.with(), vec!["contacts", "loss_reason", "only_deleted"]);
    }

    #[test]
    fn indexed_groups_objects() {
        let q = Query::parse(Some(
            "filter[statuses][0][pipeline_id]=1&filter[statuses][0][status_id]=2&filter[statuses][1][pipeline_id]=3",
        ));
        let m = q.indexed("filter[statuses]");
        assert_eq!(m.len(), 2);
        assert_eq!(m["0"]["status_id"], "2");
        assert_eq!(m["1"]["pipeline_id"], "3");
    }

    #[test]
    fn decodes_utf8_and_plus() {
        let q = Query::parse(Some("query=%D0%90%D0%BD%D0%BD%D0%B0+%D0%9A"));
        assert_eq!(q.get("query"), Some("Анна К"));
        let re = Query::parse(Some(&q.encode_without(&[])));
        assert_eq!(re.get("query"), Some("Анна К"));
    }

    #[test]
    fn order_and_ranges() {
        let q = Query::parse(Some(
            "order[updated_at]=ASC&filter[updated_at][from]=10&filter[updated_at][to]=x",
        ));
        assert_eq!(
            q.order(),
            vec![("updated_at".to_string(), "asc".to_string())]
        );
        assert!(time_range(&q, "updated_at").is_err());
        assert_eq!(time_range(&q, "created_at").ok(), Some((None, None)));
    }

    #[test]
    fn paging_bounds() {
        let p = |s: &str| Paging::from_query(&Query::parse(Some(s)), 50, 250);
        assert_eq!(p("").ok(), Some(Paging { page: 1, limit: 50 }));
        assert!(p("limit=0").is_err());
        assert!(p("limit=251").is_err());
        assert!(p("limit=abc").is_err());
        assert!(p("page=0").is_err());
        assert!(p("limit=99999999999999999999999").is_err());
        let page = Paging { page: 3, limit: 2 };
        assert_eq!(page.window(5), (4, 5, false));
        assert_eq!(page.window(7), (4, 6, true));
        assert_eq!(
            Paging {
                page: u64::MAX,
                limit: 250
            }
            .window(3),
            (3, 3, false)
        );
    }
}
