//! The read side of the desktop views: pure, blocking functions from a
//! [`Store`] to the flat views of [`super::views`], names already resolved.
//!
//! Call them off the async threads (`spawn_blocking`): every one reads a redb
//! snapshot. They never write and never reach amoCRM.

use std::collections::{BTreeMap, HashMap};

use amo::models::{CustomFieldValues, Note, Pipeline, STATUS_LOST, STATUS_WON, StatusKey, User};
use amosync_store::{
    ChannelCount, ContactRecord, LeadRecord, LeadsQuery, StatusKind, Store, TalkRecord, TalksQuery,
};
use serde_json::Value;

use super::views::{
    AccountView, ChatsQuery, ChatsView, ContactCard, FieldValue, HistoryStep, LeadCard, LeadRow,
    LeadsPage, Named, NoteView, PipelineRef, StatusRef, TalkRow, TalkState,
};
use super::zone::AccountZone;
use crate::{AppError, ErrorCode, Source};

/// How many talks the chats view lists when the query says nothing.
pub const DEFAULT_CHATS_LIMIT: usize = 200;

/// The account header and every choice the filters offer. `source` is
/// [`Source::Account`]; the session sets [`Source::Demo`] for the demo.
///
/// Pipelines: the main one first, then by amoCRM's `sort`; statuses in board
/// order (open by `sort`, then 142 won, 143 lost). Users by name.
///
/// Reads only what it shows (the window's first request: no full status,
/// which would decode every company).
pub fn account_view(store: &Store) -> Result<AccountView, AppError> {
    let Some(account) = store.binding()? else {
        return Err(AppError::new(
            ErrorCode::NotConnected,
            "the local store is not bound to an amoCRM account yet; connect an account (or try the demo) first",
        ));
    };
    let mut pipelines: Vec<PipelineRef> = store.pipelines()?.iter().map(pipeline_ref).collect();
    // `Store::pipelines` sorts by (sort, id); a stable sort keeps that after the main one.
    pipelines.sort_by_key(|p| !p.is_main);
    let mut users: Vec<Named> = store
        .users()?
        .iter()
        .map(|u| Named {
            id: u.id,
            name: u.name.clone(),
        })
        .collect();
    users.sort_by_cached_key(|u| (u.name.to_lowercase(), u.id));
    Ok(AccountView {
        source: Source::Account,
        account_name: account.name,
        subdomain: account.subdomain,
        base_url: account.base_url.trim_end_matches('/').to_string(),
        currency: account
            .currency
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| "RUB".into()),
        time_zone: AccountZone::of(account.timezone.as_deref())
            .account_name()
            .map(str::to_owned),
        pipelines,
        users,
        leads: store.lead_count()?,
        talks: store.talk_count()?,
    })
}

/// A window of the leads table: [`Store::leads`] (filters, search, order,
/// offset and limit as in `query`), each row with its status, responsible
/// user and main contact resolved.
pub fn leads_page(store: &Store, query: &LeadsQuery) -> Result<LeadsPage, AppError> {
    let page = store.leads(query)?;
    let names = Names::load(store)?;
    let wanted: Vec<u64> = page.items.iter().filter_map(main_contact_id).collect();
    let contacts = by_id(store.contact_records(&wanted)?);
    let rows = page
        .items
        .iter()
        .map(|l| {
            let contact = main_contact_id(l).and_then(|c| contacts.get(&c));
            lead_row(l, &names, contact)
        })
        .collect();
    Ok(LeadsPage {
        total: page.total as u64,
        offset: query.offset as u64,
        rows,
    })
}

/// Everything the lead panel shows; [`ErrorCode::NotFound`] when the store
/// does not hold the lead.
pub fn lead_card(store: &Store, id: u64) -> Result<LeadCard, AppError> {
    let detail = store.lead(id)?.ok_or_else(|| {
        AppError::new(
            ErrorCode::NotFound,
            format!(
                "lead {id} is not in the local store: it was not synced yet or was deleted in amoCRM; wait for the sync (or press \"Sync now\") and open it again"
            ),
        )
    })?;
    let names = Names::load(store)?;
    let zone = store_zone(store)?;
    let lead = &detail.lead.lead;
    let main = main_contact_id(&detail.lead);
    let contacts: HashMap<u64, &ContactRecord> =
        detail.contacts.iter().map(|c| (c.contact.id, c)).collect();
    let row = lead_row(
        &detail.lead,
        &names,
        main.and_then(|m| contacts.get(&m).copied()),
    );
    let contact_cards = detail
        .contacts
        .iter()
        .map(|c| contact_card(c, main == Some(c.contact.id), &zone))
        .collect();
    let companies = detail
        .companies
        .iter()
        .map(|c| Named {
            id: c.company.id,
            name: c.company.name.clone(),
        })
        .collect();
    let mut notes: Vec<NoteView> = detail
        .notes
        .iter()
        .map(|n| NoteView {
            id: n.note.id,
            note_type: n.note.note_type.clone(),
            text: note_text(&n.note),
            created_at: n.note.created_at,
            author: names.user(n.note.created_by),
        })
        .collect();
    notes.sort_by_key(|n| std::cmp::Reverse((n.created_at, n.id)));
    let mut history: Vec<HistoryStep> = Vec::with_capacity(detail.history.len());
    let mut previous: Option<(i64, StatusKey)> = None;
    for change in &detail.history {
        // The lead entered `from` at the previous move when that move went there.
        let seconds_in_previous = match (previous, change.from) {
            (Some((at, to)), Some(from)) if to == from && change.at >= at => Some(change.at - at),
            _ => None,
        };
        history.push(HistoryStep {
            at: change.at,
            from_status: change.from.map(|k| names.status_name(k)),
            to_status: names.status_name(change.to),
            by: change.by.and_then(|u| names.user(u)),
            seconds_in_previous,
        });
        previous = Some((change.at, change.to));
    }
    let missing: Vec<u64> = detail
        .talks
        .iter()
        .filter_map(|t| t.talk.contact_id)
        .filter(|c| !contacts.contains_key(c))
        .collect();
    let more = by_id(store.contact_records(&missing)?);
    let talks = detail
        .talks
        .iter()
        .map(|t| {
            let contact_name = t.talk.contact_id.and_then(|c| {
                contacts
                    .get(&c)
                    .copied()
                    .or_else(|| more.get(&c))
                    .map(|r| r.contact.name.clone())
            });
            talk_row(t, Some(lead.name.clone()), contact_name)
        })
        .collect();
    let base = store
        .binding()?
        .map(|b| b.base_url.trim_end_matches('/').to_string())
        .unwrap_or_default();
    Ok(LeadCard {
        amocrm_url: format!("{base}/leads/detail/{id}"),
        lead: row,
        custom_fields: fields(lead.custom_fields_values.as_deref(), &zone, |_| true),
        contacts: contact_cards,
        companies,
        notes,
        history,
        talks,
    })
}

/// What a talk needs from the office. The first rule that holds:
///
/// 1. [`TalkState::Missed`]: amoCRM marked the reply deadline missed
///    (`missed_at`) and no outgoing message was seen since then.
/// 2. [`TalkState::Unread`]: amoCRM says the talk is not read (`is_read`
///    false), or an unanswered incoming message (`waiting_messages` > 0)
///    arrived after the talk's last version from amoCRM (`last_incoming_at`
///    > `updated_at`), so its read flag predates it.
/// 3. [`TalkState::InWork`]: amoCRM says it is in work (`is_in_work`).
/// 4. [`TalkState::Closed`] otherwise.
pub fn talk_state(t: &TalkRecord) -> TalkState {
    let talk = &t.talk;
    if let Some(missed) = talk.missed_at
        && t.last_outgoing_at.is_none_or(|out| out < missed)
    {
        return TalkState::Missed;
    }
    let newer_incoming = t.waiting_messages > 0
        && t.last_incoming_at
            .is_some_and(|incoming| incoming > talk.updated_at);
    if !talk.is_read || newer_incoming {
        TalkState::Unread
    } else if talk.is_in_work {
        TalkState::InWork
    } else {
        TalkState::Closed
    }
}

/// Since when the client waits for a reply: the last incoming message when
/// no outgoing one came after it; `None` for a closed talk (nobody is
/// expected to answer a "thank you" in a closed chat).
pub fn waiting_since(t: &TalkRecord, state: TalkState) -> Option<i64> {
    if state == TalkState::Closed {
        return None;
    }
    let incoming = t.last_incoming_at?;
    t.last_outgoing_at
        .is_none_or(|out| incoming > out)
        .then_some(incoming)
}

/// The chats view: talks by last activity (newest first), each with its
/// state ([`talk_state`]), lead and contact names.
///
/// * `talks`: those of `query.channel` (all when `None`) in `query.state`
///   (all when `None`), at most `query.limit` (default
///   [`DEFAULT_CHATS_LIMIT`]).
/// * `channels`: every channel, with its talks, unread (state `Unread`) and
///   in work (state `InWork`) — not narrowed by the query.
/// * `total`, `unread`, `in_work`, `missed`: talks of `query.channel` (all
///   channels when `None`), whatever `query.state` says — the counts the
///   state chips show.
pub fn chats_view(store: &Store, query: &ChatsQuery) -> Result<ChatsView, AppError> {
    let all = store.talks(&TalksQuery {
        limit: Some(usize::MAX),
        ..TalksQuery::default()
    })?;
    let limit = query.limit.unwrap_or(DEFAULT_CHATS_LIMIT);
    let mut channels: BTreeMap<String, ChannelCount> = BTreeMap::new();
    let (mut total, mut unread, mut in_work, mut missed) = (0u64, 0u64, 0u64, 0u64);
    let mut listed: Vec<(&TalkRecord, TalkState)> = Vec::new();
    for t in &all {
        let state = talk_state(t);
        let origin = channel_of(t);
        let c = channels.entry(origin.clone()).or_insert(ChannelCount {
            origin: origin.clone(),
            talks: 0,
            unread: 0,
            in_work: 0,
        });
        c.talks += 1;
        match state {
            TalkState::Unread => c.unread += 1,
            TalkState::InWork => c.in_work += 1,
            _ => {}
        }
        if query.channel.as_ref().is_some_and(|ch| *ch != origin) {
            continue;
        }
        total += 1;
        match state {
            TalkState::Unread => unread += 1,
            TalkState::InWork => in_work += 1,
            TalkState::Missed => missed += 1,
            TalkState::Closed => {}
        }
        if query.state.is_none_or(|s| s == state) && listed.len() < limit {
            listed.push((t, state));
        }
    }
    let listed: Vec<&TalkRecord> = listed.into_iter().map(|(t, _)| t).collect();
    Ok(ChatsView {
        talks: talk_rows(store, &listed)?,
        channels: channels.into_values().collect(),
        total,
        unread,
        in_work,
        missed,
    })
}

/// The newest talks by last activity (newest first), at most `limit`, with
/// their lead and contact names: the chats view's list without its counts.
/// Read through the store's activity index, so it costs `limit` talks, not
/// every talk (the notification pump asks for it every second).
pub fn newest_talks(store: &Store, limit: usize) -> Result<Vec<TalkRow>, AppError> {
    let talks = store.talks(&TalksQuery {
        limit: Some(limit),
        ..TalksQuery::default()
    })?;
    let listed: Vec<&TalkRecord> = talks.iter().collect();
    talk_rows(store, &listed)
}

// ---- building blocks ----

/// Rows for `listed`, with lead and contact names (one read of each kind).
fn talk_rows(store: &Store, listed: &[&TalkRecord]) -> Result<Vec<TalkRow>, AppError> {
    let lead_ids: Vec<u64> = listed.iter().filter_map(|t| lead_of(t)).collect();
    let leads: HashMap<u64, LeadRecord> = store
        .lead_records(&lead_ids)?
        .into_iter()
        .map(|l| (l.lead.id, l))
        .collect();
    let contact_ids: Vec<u64> = listed.iter().filter_map(|t| t.talk.contact_id).collect();
    let contacts = by_id(store.contact_records(&contact_ids)?);
    Ok(listed
        .iter()
        .map(|t| {
            let lead_name = lead_of(t)
                .and_then(|l| leads.get(&l))
                .map(|l| l.lead.name.clone());
            let contact_name = t
                .talk
                .contact_id
                .and_then(|c| contacts.get(&c))
                .map(|c| c.contact.name.clone());
            talk_row(t, lead_name, contact_name)
        })
        .collect())
}

/// Status and user names for resolving ids.
struct Names {
    pipelines: HashMap<u64, PipelineRef>,
    users: HashMap<u64, String>,
}

impl Names {
    fn load(store: &Store) -> Result<Names, AppError> {
        Ok(Names::new(&store.pipelines()?, &store.users()?))
    }

    fn new(pipelines: &[Pipeline], users: &[User]) -> Names {
        Names {
            pipelines: pipelines.iter().map(|p| (p.id, pipeline_ref(p))).collect(),
            users: users.iter().map(|u| (u.id, u.name.clone())).collect(),
        }
    }

    fn user(&self, id: u64) -> Option<String> {
        self.users.get(&id).cloned()
    }

    /// The status, `None` when its pipeline is not known.
    fn status(&self, key: StatusKey) -> Option<StatusRef> {
        let p = self.pipelines.get(&key.pipeline_id)?;
        if let Some(s) = p.statuses.iter().find(|s| s.id == key.status_id) {
            return Some(s.clone());
        }
        // amoCRM always has 142 and 143; a stored pipeline may lack them.
        let kind = kind_of(key.status_id);
        let name = match kind {
            StatusKind::Won => "Успешно реализовано",
            StatusKind::Lost => "Закрыто и не реализовано",
            StatusKind::Open => return None,
        };
        Some(StatusRef {
            id: key.status_id,
            name: name.into(),
            color: default_color(kind).into(),
            sort: if kind == StatusKind::Won {
                10000
            } else {
                11000
            },
            kind,
        })
    }

    fn status_name(&self, key: StatusKey) -> String {
        self.status(key)
            .map_or_else(|| format!("? ({})", key.status_id), |s| s.name)
    }
}

fn kind_of(status_id: u64) -> StatusKind {
    match status_id {
        STATUS_WON => StatusKind::Won,
        STATUS_LOST => StatusKind::Lost,
        _ => StatusKind::Open,
    }
}

fn default_color(kind: StatusKind) -> &'static str {
    match kind {
        StatusKind::Won => "#ccff66",
        StatusKind::Lost => "#d5d8db",
        StatusKind::Open => "#c1c1c1",
    }
}

/// A pipeline's statuses in board order (`Store::pipelines` orders them:
/// open by sort, then 142, 143).
fn pipeline_ref(p: &Pipeline) -> PipelineRef {
    PipelineRef {
        id: p.id,
        name: p.name.clone(),
        is_main: p.is_main,
        statuses: p
            .statuses()
            .iter()
            .map(|s| {
                let kind = kind_of(s.id);
                StatusRef {
                    id: s.id,
                    name: s.name.clone(),
                    color: s
                        .color
                        .clone()
                        .filter(|c| !c.is_empty())
                        .unwrap_or_else(|| default_color(kind).into()),
                    sort: s.sort,
                    kind,
                }
            })
            .collect(),
    }
}

fn by_id(records: Vec<ContactRecord>) -> HashMap<u64, ContactRecord> {
    records.into_iter().map(|c| (c.contact.id, c)).collect()
}

/// The main contact, else the first linked one.
fn main_contact_id(rec: &LeadRecord) -> Option<u64> {
    rec.lead
        .main_contact_id()
        .or_else(|| rec.lead.contact_ids().first().copied())
}

fn lead_row(rec: &LeadRecord, names: &Names, contact: Option<&ContactRecord>) -> LeadRow {
    let l = &rec.lead;
    let status = names.status(l.status_key());
    let kind = kind_of(l.status_id);
    let first = |v: Vec<(Option<&str>, String)>| v.into_iter().map(|(_, t)| t).next();
    LeadRow {
        id: l.id,
        name: l.name.clone(),
        price: l.price,
        pipeline_id: l.pipeline_id,
        status_id: l.status_id,
        status_name: status
            .as_ref()
            .map_or_else(|| "?".into(), |s| s.name.clone()),
        status_color: status
            .as_ref()
            .map_or_else(|| default_color(kind).into(), |s| s.color.clone()),
        status_kind: kind,
        responsible_user_id: l.responsible_user_id,
        responsible_name: names.user(l.responsible_user_id),
        created_at: l.created_at,
        updated_at: l.updated_at,
        closed_at: l.closed_at,
        tags: l.tags().iter().map(|t| t.name.clone()).collect(),
        contact_name: contact.map(|c| c.contact.name.clone()),
        phone: contact.and_then(|c| first(c.contact.phones())),
        email: contact.and_then(|c| first(c.contact.emails())),
        deleted: rec.sync.deleted_at.is_some() || l.is_deleted,
    }
}

fn is_code(f: &CustomFieldValues, code: &str) -> bool {
    f.field_code
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case(code))
}

fn contact_card(rec: &ContactRecord, is_main: bool, zone: &AccountZone) -> ContactCard {
    let c = &rec.contact;
    let texts = |v: Vec<(Option<&str>, String)>| v.into_iter().map(|(_, t)| t).collect();
    ContactCard {
        id: c.id,
        name: c.name.clone(),
        is_main,
        phones: texts(c.phones()),
        emails: texts(c.emails()),
        fields: fields(c.custom_fields_values.as_deref(), zone, |f| {
            !is_code(f, "PHONE") && !is_code(f, "EMAIL")
        }),
    }
}

/// Custom fields with a value, as `name: values joined by ", "`.
fn fields(
    values: Option<&[CustomFieldValues]>,
    zone: &AccountZone,
    keep: impl Fn(&CustomFieldValues) -> bool,
) -> Vec<FieldValue> {
    values
        .unwrap_or_default()
        .iter()
        .filter(|f| keep(f))
        .filter_map(|f| {
            let texts: Vec<String> = f
                .values
                .iter()
                .filter_map(|v| value_text(f.field_type.as_deref(), &v.value, zone))
                .filter(|t| !t.trim().is_empty())
                .collect();
            if texts.is_empty() {
                return None;
            }
            let name = f
                .field_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .or_else(|| f.field_code.clone())
                .unwrap_or_else(|| format!("#{}", f.field_id));
            Some(FieldValue {
                name,
                value: texts.join(", "),
            })
        })
        .collect()
}

/// The zone the store's account keeps its dates in ([`AccountZone`]).
pub fn store_zone(store: &Store) -> Result<AccountZone, AppError> {
    Ok(AccountZone::of(
        store.binding()?.and_then(|b| b.timezone).as_deref(),
    ))
}

/// One custom field value as text: dates (unix seconds) as `YYYY-MM-DD`
/// in the account's zone (`date_time`: `YYYY-MM-DD HH:MM`), checkboxes as
/// ✓/✗, objects by their `name`/`value` or as JSON.
fn value_text(field_type: Option<&str>, v: &Value, zone: &AccountZone) -> Option<String> {
    match (field_type, v) {
        (Some("date" | "birthday"), Value::Number(n)) => {
            n.as_i64().map(|t| zone.date_text(t, false))
        }
        (Some("date_time"), Value::Number(n)) => n.as_i64().map(|t| zone.date_text(t, true)),
        (_, Value::Bool(b)) => Some(if *b { "✓" } else { "✗" }.into()),
        (_, Value::String(s)) => Some(s.clone()),
        (_, Value::Number(n)) => Some(n.to_string()),
        (_, Value::Null) => None,
        (_, Value::Object(o)) => ["name", "value", "text"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_owned))
            .or_else(|| Some(v.to_string())),
        (_, Value::Array(_)) => Some(v.to_string()),
    }
}

/// A note's text: `params.text`, or for calls the phone and duration.
fn note_text(n: &Note) -> Option<String> {
    if let Some(t) = n.text().filter(|t| !t.trim().is_empty()) {
        return Some(t.to_string());
    }
    let extra = &n.params.extra;
    let phone = extra.get("phone").and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let duration = extra.get("duration").and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    });
    let service = extra
        .get("service")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut parts: Vec<String> = Vec::new();
    parts.extend(phone);
    if let Some(d) = duration.filter(|d| *d > 0) {
        parts.push(format!("{}:{:02}", d / 60, d % 60));
    }
    if parts.is_empty() {
        return service;
    }
    Some(parts.join(" · "))
}

fn channel_of(t: &TalkRecord) -> String {
    t.talk
        .origin
        .clone()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The lead a talk is attached to (`entity_type` lead, or none given).
fn lead_of(t: &TalkRecord) -> Option<u64> {
    match t.talk.entity_type.as_deref() {
        None | Some("lead") | Some("leads") => t.talk.entity_id,
        _ => None,
    }
}

fn talk_row(t: &TalkRecord, lead_name: Option<String>, contact_name: Option<String>) -> TalkRow {
    let state = talk_state(t);
    TalkRow {
        talk_id: t.talk.talk_id,
        channel: channel_of(t),
        state,
        lead_id: lead_of(t),
        lead_name,
        contact_id: t.talk.contact_id,
        contact_name,
        last_message_at: t.last_message_at,
        last_incoming_at: t.last_incoming_at,
        waiting_since: waiting_since(t, state),
        waiting_messages: t.waiting_messages,
        last_text: t.last_text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amosync_store::{Origin, SyncMeta};
    use serde_json::json;

    fn record(v: Value, inc: Option<i64>, out: Option<i64>, waiting: u32) -> TalkRecord {
        let mut talk = json!({"talk_id": 1, "chat_id": "c", "origin": "telegram",
            "is_in_work": true, "is_read": true, "created_at": 100, "updated_at": 200});
        for (k, val) in v.as_object().unwrap() {
            talk[k] = val.clone();
        }
        TalkRecord {
            talk: serde_json::from_value(talk).unwrap(),
            last_message_at: inc.max(out),
            last_incoming_at: inc,
            last_outgoing_at: out,
            waiting_messages: waiting,
            last_text: None,
            sync: SyncMeta {
                origin: Origin::Api,
                stored_at_ms: 0,
                confirmed_at_ms: None,
                deleted_at: None,
            },
        }
    }

    #[test]
    fn talk_states_follow_the_documented_rule() {
        // Read, in work, answered.
        let t = record(json!({}), Some(150), Some(160), 0);
        assert_eq!(talk_state(&t), TalkState::InWork);
        assert_eq!(waiting_since(&t, TalkState::InWork), None);
        // amoCRM says unread.
        let t = record(json!({"is_read": false}), Some(150), None, 1);
        assert_eq!(talk_state(&t), TalkState::Unread);
        assert_eq!(waiting_since(&t, TalkState::Unread), Some(150));
        // Read by amoCRM's last word, but a new message came after it.
        let t = record(json!({}), Some(250), Some(160), 1);
        assert_eq!(talk_state(&t), TalkState::Unread);
        // Read, waiting, but the read flag is newer than the message: in work.
        let t = record(json!({}), Some(190), Some(160), 1);
        assert_eq!(talk_state(&t), TalkState::InWork);
        assert_eq!(waiting_since(&t, TalkState::InWork), Some(190));
        // Missed, nobody answered since.
        let t = record(
            json!({"missed_at": 180, "is_read": false}),
            Some(150),
            None,
            1,
        );
        assert_eq!(talk_state(&t), TalkState::Missed);
        // Missed, then answered: back to the other rules.
        let t = record(json!({"missed_at": 180}), Some(150), Some(190), 0);
        assert_eq!(talk_state(&t), TalkState::InWork);
        // Closed.
        let t = record(json!({"is_in_work": false}), Some(150), Some(140), 1);
        assert_eq!(talk_state(&t), TalkState::Closed);
        assert_eq!(waiting_since(&t, TalkState::Closed), None);
    }

    #[test]
    fn custom_field_values_render_as_text() {
        let f: Vec<CustomFieldValues> = serde_json::from_value(json!([
            {"field_id": 1, "field_name": "Марка", "field_type": "multiselect",
             "values": [{"value": "Toyota"}, {"value": "Kia"}]},
            {"field_id": 2, "field_name": "Залог", "field_type": "checkbox", "values": [{"value": true}]},
            {"field_id": 3, "field_name": "Пусто", "values": []},
            {"field_id": 4, "field_name": null, "field_code": "POSITION", "values": [{"value": "Директор"}]},
            {"field_id": 5, "field_name": "Дней", "field_type": "numeric", "values": [{"value": 7}]},
            {"field_id": 6, "field_name": "Юрлицо", "field_type": "legal_entity",
             "values": [{"value": {"name": "ООО «Ромашка»", "vat_id": "123"}}]},
            {"field_id": 7, "field_name": "Выдача", "field_type": "date_time", "values": [{"value": 1_763_762_400}]},
            {"field_id": 8, "field_name": "Возврат", "field_type": "date", "values": [{"value": 1_763_762_400}]}
        ]))
        .unwrap();
        // 2025-11-21 22:00 UTC: already the 22nd in Tbilisi (+04:00).
        let out = fields(Some(&f), &AccountZone::of(Some("Asia/Tbilisi")), |_| true);
        let pairs: Vec<(&str, &str)> = out
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("Марка", "Toyota, Kia"),
                ("Залог", "✓"),
                ("POSITION", "Директор"),
                ("Дней", "7"),
                ("Юрлицо", "ООО «Ромашка»"),
                ("Выдача", "2025-11-22 02:00"),
                ("Возврат", "2025-11-22"),
            ]
        );
    }

    #[test]
    fn call_notes_get_a_text() {
        let n: Note = serde_json::from_value(json!({"id": 1, "note_type": "call_in",
            "params": {"phone": "+79991234567", "duration": 155}}))
        .unwrap();
        assert_eq!(note_text(&n).as_deref(), Some("+79991234567 · 2:35"));
        let n: Note = serde_json::from_value(json!({"id": 2, "note_type": "common",
            "params": {"text": "Перезвонить"}}))
        .unwrap();
        assert_eq!(note_text(&n).as_deref(), Some("Перезвонить"));
    }
}
