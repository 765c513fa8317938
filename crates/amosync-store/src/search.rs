//! Search text: Unicode-lowercased names, tags and e-mails, and phone
//! numbers reduced to digits; the lead and contact list queries.

use std::collections::HashSet;

use amo::models::{Contact, Lead};
use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata};

use crate::codec::{Facts, decode_contact_search, from_json};
use crate::error::StoreResult;
use crate::leads::is_closed;
use crate::model::{ContactRecord, LeadRecord};
use crate::query::{ContactsQuery, LeadsOrder, LeadsQuery, Page};
use crate::tables::*;

/// Separates the text part from the phone digits in a contact's row.
const PHONES: char = '\u{1}';

/// Case-folds for search: Unicode lowercase, `ё` read as `е`.
pub(crate) fn fold(s: &str) -> String {
    s.to_lowercase().replace('ё', "е")
}

/// The digits of a phone number; a Russian trunk `8` is read as `7`.
pub(crate) fn phone_digits(s: &str) -> String {
    let mut d: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    if d.len() == 11 && d.starts_with('8') {
        d.replace_range(0..1, "7");
    }
    d
}

/// A lead's search text: name and tags.
pub(crate) fn lead_text(lead: &Lead) -> String {
    let mut t = fold(&lead.name);
    for tag in lead.tags() {
        t.push('\n');
        t.push_str(&fold(&tag.name));
    }
    t
}

/// A contact's search text: names and e-mails, then phone digits.
pub(crate) fn contact_text(c: &Contact) -> String {
    let mut t = fold(&c.name);
    for part in [&c.first_name, &c.last_name].into_iter().flatten() {
        t.push('\n');
        t.push_str(&fold(part));
    }
    for (_, e) in c.emails() {
        t.push('\n');
        t.push_str(&fold(&e));
    }
    t.push(PHONES);
    for (_, p) in c.phones() {
        t.push(' ');
        t.push_str(&phone_digits(&p));
    }
    t
}

/// A prepared search.
pub(crate) struct Needle {
    text: String,
    digits: Option<String>,
}

impl Needle {
    /// `None` for an empty search.
    pub(crate) fn new(q: Option<&str>) -> Option<Needle> {
        let q = q?.trim();
        if q.is_empty() {
            return None;
        }
        let phone_like = q
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        let d = phone_digits(q);
        Some(Needle {
            text: fold(q),
            digits: (phone_like && d.len() >= 3).then_some(d),
        })
    }

    /// Matches a lead row.
    pub(crate) fn lead(&self, text: &str) -> bool {
        text.contains(&self.text)
    }

    /// Matches a contact row.
    pub(crate) fn contact(&self, row: &str) -> bool {
        let (text, phones) = row.split_once(PHONES).unwrap_or((row, ""));
        text.contains(&self.text)
            || self
                .digits
                .as_ref()
                .is_some_and(|d| phones.contains(d.as_str()))
    }
}

fn limit_of(l: Option<usize>) -> usize {
    l.unwrap_or(100).min(100_000)
}

fn in_range(r: Option<crate::query::TimeRange>, t: i64) -> bool {
    r.is_none_or(|r| r.from.is_none_or(|f| t >= f) && r.to.is_none_or(|e| t < e))
}

type TextRange = redb::Range<'static, u64, &'static str>;
type TextRow = Option<(u64, redb::AccessGuard<'static, &'static str>)>;

fn next_text(it: &mut TextRange) -> StoreResult<TextRow> {
    match it.next() {
        Some(r) => {
            let (k, v) = r?;
            Ok(Some((k.value(), v)))
        }
        None => Ok(None),
    }
}

/// Sorts `rows` (sort key, id) and keeps the first `want` (a partial sort
/// when only a page is needed).
pub(crate) fn top(rows: &mut Vec<(i64, u64)>, want: usize, descending: bool) {
    let cmp = |a: &(i64, u64), b: &(i64, u64)| if descending { b.cmp(a) } else { a.cmp(b) };
    if want < rows.len() {
        if want == 0 {
            rows.clear();
            return;
        }
        rows.select_nth_unstable_by(want - 1, cmp);
        rows.truncate(want);
    }
    rows.sort_unstable_by(cmp);
}

/// Whether `q` is the plain list (no search, no filter, live leads, newest
/// `updated_at` first), which `leads_by_updated` answers without a scan.
fn plain_list(q: &LeadsQuery, needle: &Option<Needle>) -> bool {
    needle.is_none()
        && q.pipeline_id.is_none()
        && q.status_id.is_none()
        && q.responsible_user_ids.is_empty()
        && q.created.is_none()
        && q.closed.is_none()
        && !q.include_deleted
        && q.order == LeadsOrder::UpdatedDesc
}

/// The plain list from `leads_by_updated`: the total is the table's length,
/// and the page is walked from whichever end is nearer to it.
fn plain_page(tx: &ReadTransaction, q: &LeadsQuery) -> StoreResult<Page<LeadRecord>> {
    let order = tx.open_table(LEADS_BY_UPDATED)?;
    let total = usize::try_from(order.len()?).unwrap_or(usize::MAX);
    let limit = limit_of(q.limit).min(total.saturating_sub(q.offset));
    let mut ids: Vec<u64> = Vec::with_capacity(limit);
    if limit > 0 {
        if q.offset <= total / 2 {
            for row in order.iter()?.rev().skip(q.offset).take(limit) {
                ids.push(row?.0.value().1);
            }
        } else {
            // From the oldest end: skip what lies beyond the page, then reverse.
            let beyond = total - q.offset - limit;
            for row in order.iter()?.skip(beyond).take(limit) {
                ids.push(row?.0.value().1);
            }
            ids.reverse();
        }
    }
    let leads_t = tx.open_table(LEADS)?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(v) = leads_t.get(id)? {
            items.push(from_json(v.value(), "a stored lead")?);
        }
    }
    Ok(Page { total, items })
}

/// The lead list. The plain list (see [`plain_list`]) reads the
/// `leads_by_updated` order; any other query makes one pass over the facts
/// (joined in id order with the search text) and a partial sort. Either
/// way only the page's JSON is read.
pub(crate) fn leads(tx: &ReadTransaction, q: &LeadsQuery) -> StoreResult<Page<LeadRecord>> {
    if plain_list(q, &Needle::new(q.search.as_deref())) {
        return plain_page(tx, q);
    }
    let keep = |f: &Facts| {
        !f.placeholder
            && !f.absent
            && (q.include_deleted || !f.deleted)
            && q.pipeline_id.is_none_or(|p| f.pipeline == p)
            && q.status_id.is_none_or(|s| f.status == s)
            && (q.responsible_user_ids.is_empty()
                || q.responsible_user_ids.contains(&f.responsible))
            && in_range(q.created, f.created_at)
            && q.closed.is_none_or(|_| {
                is_closed(f.status) && f.closed_at.is_some_and(|t| in_range(q.closed, t))
            })
    };
    let needle = Needle::new(q.search.as_deref());
    // Leads linked to a matching contact.
    let mut via_contact: HashSet<u64> = HashSet::new();
    if let Some(n) = &needle {
        let links = tx.open_multimap_table(CONTACT_LEADS)?;
        for row in tx.open_table(CONTACT_SEARCH)?.iter()? {
            let (k, v) = row?;
            let (_, _, text) = decode_contact_search(v.value());
            if n.contact(text) {
                for l in links.get(k.value())? {
                    via_contact.insert(l?.value());
                }
            }
        }
    }
    let mut texts: TextRange = tx.open_table(LEAD_SEARCH)?.range::<u64>(..)?;
    let mut cur = match needle {
        Some(_) => next_text(&mut texts)?,
        None => None,
    };
    let mut rows: Vec<(i64, u64)> = Vec::new();
    for row in tx.open_table(LEAD_FACTS)?.iter()? {
        let (k, v) = row?;
        let id = k.value();
        let f = Facts::decode(v.value());
        if !keep(&f) {
            continue;
        }
        if let Some(n) = &needle
            && !via_contact.contains(&id)
        {
            while cur.as_ref().is_some_and(|(sid, _)| *sid < id) {
                cur = next_text(&mut texts)?;
            }
            let hit = cur
                .as_ref()
                .is_some_and(|(sid, t)| *sid == id && n.lead(t.value()));
            if !hit {
                continue;
            }
        }
        let key = match q.order {
            LeadsOrder::UpdatedDesc => f.updated_at,
            LeadsOrder::CreatedDesc => f.created_at,
            LeadsOrder::PriceDesc => f.price,
            LeadsOrder::IdAsc => 0,
        };
        rows.push((key, id));
    }
    let total = rows.len();
    let want = q.offset.saturating_add(limit_of(q.limit));
    top(&mut rows, want, q.order != LeadsOrder::IdAsc);
    let leads_t = tx.open_table(LEADS)?;
    let mut items = Vec::new();
    for (_, id) in rows.into_iter().skip(q.offset) {
        if let Some(v) = leads_t.get(id)? {
            items.push(from_json(v.value(), "a stored lead")?);
        }
    }
    Ok(Page { total, items })
}

/// The contact list, newest `updated_at` first.
pub(crate) fn contacts(
    tx: &ReadTransaction,
    q: &ContactsQuery,
) -> StoreResult<Page<ContactRecord>> {
    let needle = Needle::new(q.search.as_deref());
    let mut rows: Vec<(i64, u64)> = Vec::new();
    for row in tx.open_table(CONTACT_SEARCH)?.iter()? {
        let (k, v) = row?;
        let (updated, live, text) = decode_contact_search(v.value());
        if (live || q.include_deleted) && needle.as_ref().is_none_or(|n| n.contact(text)) {
            rows.push((updated, k.value()));
        }
    }
    let total = rows.len();
    let want = q.offset.saturating_add(limit_of(q.limit));
    let mut rows: Vec<(i64, u64)> = rows;
    top(&mut rows, want, true);
    let t = tx.open_table(CONTACTS)?;
    let mut items = Vec::new();
    for (_, id) in rows.into_iter().skip(q.offset) {
        if let Some(v) = t.get(id)? {
            items.push(from_json(v.value(), "a stored contact")?);
        }
    }
    Ok(Page { total, items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_and_phones() {
        assert_eq!(fold("ИВАНОВ Ёлка"), "иванов елка");
        assert_eq!(phone_digits("+7 (999) 123-45-67"), "79991234567");
        assert_eq!(phone_digits("8 999 123 45 67"), "79991234567");
        let n = Needle::new(Some("9991234567")).expect("needle");
        assert!(n.contact("петр\u{1} 79991234567"));
        let n = Needle::new(Some("  Иванов ")).expect("needle");
        assert!(n.lead("сделка иванова"));
        assert!(Needle::new(Some("   ")).is_none());
    }

    fn lead(id: u64, updated_at: i64, status: u64) -> amo::models::Lead {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": format!("Сделка {id}"), "price": id * 10, "status_id": status,
            "pipeline_id": 7, "created_at": 1_700_000_000, "updated_at": updated_at,
            "_embedded": {"tags": [{"id": 1, "name": "сайт"}]}
        }))
        .expect("lead")
    }

    /// `closed`: only leads won or lost in the range (open leads left out,
    /// as in the funnel), whatever the order; never the ordered fast path.
    #[test]
    fn a_closed_range_keeps_only_leads_closed_in_it() {
        use crate::model::Origin;
        use crate::query::TimeRange;
        let dir = tempfile::tempdir().expect("tempdir");
        let s = crate::Store::open(&dir.path().join("s.redb")).expect("open");
        // (id, status, closed_at)
        let rows: [(u64, u64, Option<i64>); 6] = [
            (1, 11, None),
            (2, 142, Some(100)),
            (3, 143, Some(200)),
            (4, 142, Some(300)),
            (5, 11, Some(150)), // reopened: an open lead with a stale closed_at
            (6, 143, Some(99)),
        ];
        s.write(|w| {
            for (id, status, closed_at) in rows {
                let mut l = lead(id, 1_700_000_000 + id as i64, status);
                l.closed_at = closed_at;
                w.upsert_lead(&l, Origin::Api)?;
            }
            Ok(())
        })
        .expect("write");
        let ids = |q: LeadsQuery| {
            let mut ids: Vec<u64> = s
                .leads(&q)
                .expect("leads")
                .items
                .iter()
                .map(|l| l.lead.id)
                .collect();
            ids.sort_unstable();
            ids
        };
        let range = |from, to| {
            Some(TimeRange {
                from: Some(from),
                to: Some(to),
            })
        };
        for order in [
            LeadsOrder::UpdatedDesc,
            LeadsOrder::CreatedDesc,
            LeadsOrder::IdAsc,
            LeadsOrder::PriceDesc,
        ] {
            let q = |closed| LeadsQuery {
                closed,
                order,
                ..LeadsQuery::default()
            };
            assert_eq!(ids(q(range(100, 300))), vec![2, 3], "{order:?}");
            assert_eq!(ids(q(range(0, 1_000))), vec![2, 3, 4, 6], "{order:?}");
            // An open range still leaves the open leads out.
            assert_eq!(
                ids(q(Some(TimeRange::default()))),
                vec![2, 3, 4, 6],
                "{order:?}"
            );
            assert_eq!(ids(q(None)), vec![1, 2, 3, 4, 5, 6], "{order:?}");
        }
        let page = s
            .leads(&LeadsQuery {
                closed: range(100, 300),
                limit: Some(1),
                ..LeadsQuery::default()
            })
            .expect("page");
        assert_eq!(page.total, 2, "the total counts the range only");
        assert_eq!(page.items[0].lead.id, 3, "newest updated first");
        // Older clients send no `closed`.
        let q: LeadsQuery = serde_json::from_value(serde_json::json!({
            "search": null, "pipeline_id": null, "status_id": null,
            "responsible_user_ids": [], "created": null, "include_deleted": false,
            "order": "updated_desc", "offset": 0, "limit": null
        }))
        .expect("a query without `closed`");
        assert_eq!(q.closed, None);
    }

    /// The plain list (read from `leads_by_updated`) equals the same list
    /// computed by the facts scan, at every offset, after moves, deletes,
    /// restores and a rebuild.
    #[test]
    fn the_ordered_list_matches_the_scan() {
        use crate::model::Origin;
        use crate::query::TimeRange;
        let dir = tempfile::tempdir().expect("tempdir");
        let s = crate::Store::open(&dir.path().join("s.redb")).expect("open");
        let check = |s: &crate::Store, want_total: usize| {
            for (offset, limit) in [
                (0, None),
                (0, Some(7)),
                (5, Some(10)),
                (29, Some(3)),
                (33, Some(100)),
                (59, Some(5)),
                (60, Some(5)),
                (500, Some(5)),
                (0, Some(0)),
            ] {
                let plain = LeadsQuery {
                    offset,
                    limit,
                    ..LeadsQuery::default()
                };
                // An empty range keeps every lead but takes the scan.
                let scan = LeadsQuery {
                    created: Some(TimeRange::default()),
                    ..plain.clone()
                };
                let a = s.leads(&plain).expect("plain");
                let b = s.leads(&scan).expect("scan");
                let ids =
                    |p: &Page<LeadRecord>| p.items.iter().map(|l| l.lead.id).collect::<Vec<_>>();
                assert_eq!(a.total, want_total, "offset {offset}");
                assert_eq!(a.total, b.total, "offset {offset}");
                assert_eq!(ids(&a), ids(&b), "offset {offset} limit {limit:?}");
            }
        };
        s.write(|w| {
            for id in 1..=60u64 {
                // Equal `updated_at` in pairs: the id breaks the tie.
                w.upsert_lead(&lead(id, 1_700_000_000 + (id / 2) as i64, 11), Origin::Api)?;
            }
            Ok(())
        })
        .expect("write");
        check(&s, 60);
        s.write(|w| {
            w.upsert_lead(&lead(3, 1_800_000_000, 142), Origin::Api)?;
            w.upsert_lead(&lead(4, 1_600_000_000, 11), Origin::Api)?; // stale: ignored
            w.delete_lead(10, 1_700_000_100)?;
            w.delete_lead(11, 1_700_000_100)?;
            w.delete_lead(999, 1_700_000_100)?; // a tombstone of an unknown lead
            Ok(())
        })
        .expect("write");
        check(&s, 58);
        let first = s.leads(&LeadsQuery::default()).expect("list");
        assert_eq!(first.items[0].lead.id, 3);
        s.write(|w| w.restore_lead(10, 1_700_000_200).map(|_| ()))
            .expect("restore");
        check(&s, 59);
        s.rebuild_derived().expect("rebuild");
        check(&s, 59);
    }
}
