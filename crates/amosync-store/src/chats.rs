//! Talks and chat messages: newest-wins talk upserts that keep the
//! message-derived activity, message dedupe, and the chat queries.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use amo::models::Talk;
use redb::{ReadTransaction, ReadableMultimapTable, ReadableTable};

use crate::codec::{from_json, to_json};
use crate::error::{StoreError, StoreResult};
use crate::model::{ChatMessage, Confirm, Direction, Origin, SyncMeta, TalkRecord};
use crate::query::{ChannelCount, ChatActivity, TalksQuery};
use crate::tables::*;
use crate::write::{Applied, WriteTx};

/// Newest activity of a talk (for ordering).
pub(crate) fn activity(t: &TalkRecord) -> i64 {
    t.last_message_at.unwrap_or(i64::MIN).max(t.talk.updated_at)
}

/// Newest activity first, then talk id descending.
pub(crate) fn sort_talks(talks: &mut [TalkRecord]) {
    talks.sort_by_key(|t| std::cmp::Reverse((activity(t), t.talk.talk_id)));
}

pub(crate) fn lead_of(t: &Talk) -> Option<u64> {
    match t.entity_type.as_deref() {
        None | Some("lead") | Some("leads") => t.entity_id,
        _ => None,
    }
}

impl WriteTx<'_> {
    /// A talk as stored.
    pub fn talk(&self, talk_id: u64) -> StoreResult<Option<TalkRecord>> {
        match self.t.talks.get(talk_id)? {
            Some(v) => Ok(Some(from_json(v.value(), "a stored talk")?)),
            None => Ok(None),
        }
    }

    fn put_talk(&mut self, old: Option<&TalkRecord>, new: &TalkRecord) -> StoreResult<()> {
        let id = new.talk.talk_id;
        let bytes = to_json(new)?;
        self.t.talks.insert(id, bytes.as_slice())?;
        if let Some(o) = old {
            self.t.talks_by_activity.remove((activity(o), id))?;
        }
        self.t.talks_by_activity.insert((activity(new), id), ())?;
        let (old_lead, old_contact) =
            old.map_or((None, None), |o| (lead_of(&o.talk), o.talk.contact_id));
        if old_lead != lead_of(&new.talk) {
            if let Some(l) = old_lead {
                self.t.talks_by_lead.remove(l, id)?;
            }
            if let Some(l) = lead_of(&new.talk) {
                self.t.talks_by_lead.insert(l, id)?;
            }
        }
        if old_contact != new.talk.contact_id {
            if let Some(c) = old_contact {
                self.t.talks_by_contact.remove(c, id)?;
            }
            if let Some(c) = new.talk.contact_id {
                self.t.talks_by_contact.insert(c, id)?;
            }
        }
        Ok(())
    }

    /// Newest wins (by `updated_at`); message-derived activity is kept.
    ///
    /// Keeps the durable "to confirm" list in step: an API read (whatever it
    /// changed) removes the talk from it; a webhook version that is stored
    /// adds it, so a talk is re-read until the API has confirmed it.
    pub fn upsert_talk(&mut self, talk: &Talk, origin: Origin) -> StoreResult<Applied> {
        let applied = self.upsert_talk_inner(talk, origin)?;
        match origin {
            Origin::Api => self.unqueue_confirm(Confirm::Talk, talk.talk_id)?,
            Origin::Webhook if matches!(applied, Applied::Inserted | Applied::Updated) => {
                self.queue_confirm(Confirm::Talk, talk.talk_id)?;
            }
            Origin::Webhook => {}
        }
        Ok(applied)
    }

    fn upsert_talk_inner(&mut self, talk: &Talk, origin: Origin) -> StoreResult<Applied> {
        let old = self.talk(talk.talk_id)?;
        let sync = SyncMeta {
            origin,
            stored_at_ms: self.now_ms,
            confirmed_at_ms: (origin == Origin::Api).then_some(self.now_ms),
            deleted_at: None,
        };
        let Some(o) = old else {
            let rec = TalkRecord {
                talk: talk.clone(),
                last_message_at: None,
                last_incoming_at: None,
                last_outgoing_at: None,
                waiting_messages: 0,
                last_text: None,
                sync,
            };
            self.put_talk(None, &rec)?;
            return Ok(Applied::Inserted);
        };
        let read_after_hint = crate::newest::read_replaces_hint(
            origin,
            self.now_ms,
            o.sync.origin,
            o.sync.stored_at_ms,
        );
        // An API read made after a webhook hint was stored is the truth,
        // whatever the hint's time (see `newest`): it ranks as a same-time
        // version, so different content replaces and equal content confirms.
        let by_time = if read_after_hint {
            Ordering::Equal
        } else {
            talk.updated_at.cmp(&o.talk.updated_at)
        };
        let ord = match by_time {
            Ordering::Equal => {
                let a = to_json(talk)?;
                let b = to_json(&o.talk)?;
                if a == b {
                    if origin == Origin::Api {
                        let mut same = o.clone();
                        same.sync.origin = Origin::Api;
                        same.sync.confirmed_at_ms = Some(
                            o.sync
                                .confirmed_at_ms
                                .map_or(self.now_ms, |c| c.max(self.now_ms)),
                        );
                        let bytes = to_json(&same)?;
                        self.t.talks.insert(talk.talk_id, bytes.as_slice())?;
                    }
                    return Ok(Applied::Unchanged);
                }
                crate::newest::tie(
                    origin,
                    &a,
                    self.now_ms,
                    o.sync.origin,
                    &b,
                    o.sync.confirmed_at_ms,
                )
            }
            other => other,
        };
        if ord != Ordering::Greater {
            return Ok(Applied::Stale);
        }
        let rec = TalkRecord {
            talk: talk.clone(),
            sync,
            ..o.clone()
        };
        self.put_talk(Some(&o), &rec)?;
        Ok(Applied::Updated)
    }

    /// Records a chat message once (by id) and updates its talk's activity
    /// (creating a placeholder talk record when the talk is not known yet).
    ///
    /// A message reported again (the events API carries no text, the webhook
    /// does; either may land first) is **merged**: fields the stored copy
    /// lacks (`text`, `author_name`, `talk_id`, `chat_id`, `contact_id`,
    /// `lead_id`, `origin`) are filled from the new report, and the talk's
    /// `last_text` follows when this is its newest message — so both arrival
    /// orders end in the same message and talk.
    pub fn record_message(&mut self, message: &ChatMessage) -> StoreResult<Applied> {
        let id = message.id.as_str();
        let stored: Option<ChatMessage> = match self.t.messages.get(id)? {
            Some(v) => Some(from_json(v.value(), "a stored chat message")?),
            None => None,
        };
        let (msg, linked_lead, linked_talk) = match &stored {
            None => (message.clone(), message.lead_id, message.talk_id),
            Some(old) => {
                let merged = merge_message(old, message);
                if merged == *old {
                    return Ok(Applied::Unchanged);
                }
                let lead = merged.lead_id.filter(|_| old.lead_id.is_none());
                let talk = merged.talk_id.filter(|_| old.talk_id.is_none());
                (merged, lead, talk)
            }
        };
        let bytes = to_json(&msg)?;
        self.t.messages.insert(id, bytes.as_slice())?;
        if let Some(l) = linked_lead {
            self.t.msg_by_lead.insert(l, id)?;
        }
        let applied = if stored.is_some() {
            Applied::Updated
        } else {
            Applied::Inserted
        };
        match (linked_talk, msg.talk_id) {
            // First time this message counts for its talk.
            (Some(talk_id), _) => {
                self.t.msg_by_talk.insert(talk_id, id)?;
                self.count_message(talk_id, &msg)?;
            }
            // Counted already: only what the merge added may show.
            (None, Some(talk_id)) => self.refresh_talk(talk_id, &msg)?,
            (None, None) => {}
        }
        Ok(applied)
    }

    /// Records a chat message a **webhook** reported ([`WriteTx::record_message`]);
    /// a message the store did not hold yet is marked a hint: the events
    /// API confirms it ([`WriteTx::confirm_message`]) or a catch-up pass that
    /// covered its time drops it ([`WriteTx::drop_message_hints_before`]).
    pub fn record_message_hint(&mut self, message: &ChatMessage) -> StoreResult<Applied> {
        let applied = self.record_message(message)?;
        if applied == Applied::Inserted {
            self.t
                .message_hints
                .insert(message.id.as_str(), message.created_at)?;
        }
        Ok(applied)
    }

    /// Records a chat message the **events API** reported: the truth. A
    /// webhook's hint of it is confirmed, and where the hint said another
    /// time or direction, amoCRM's replace it (the talk's activity is
    /// counted again); then the report is merged like
    /// [`WriteTx::record_message`].
    pub fn confirm_message(&mut self, message: &ChatMessage) -> StoreResult<Applied> {
        let id = message.id.as_str();
        let hinted = self.t.message_hints.remove(id)?.is_some();
        let mut corrected = false;
        let stored: Option<ChatMessage> = match self.t.messages.get(id)? {
            Some(v) if hinted => Some(from_json(v.value(), "a stored chat message")?),
            _ => None,
        };
        if let Some(mut stored) = stored
            && (stored.created_at, stored.direction) != (message.created_at, message.direction)
        {
            stored.created_at = message.created_at;
            stored.direction = message.direction;
            let bytes = to_json(&stored)?;
            self.t.messages.insert(id, bytes.as_slice())?;
            if let Some(talk_id) = stored.talk_id {
                self.recount_talk(talk_id)?;
            }
            corrected = true;
        }
        let applied = self.record_message(message)?;
        Ok(if corrected && applied == Applied::Unchanged {
            Applied::Updated
        } else {
            applied
        })
    }

    /// Drops every hinted message dated at or before `covered_s`: a
    /// catch-up's events read covered that time and did not report it.
    /// Returns how many were dropped.
    pub fn drop_message_hints_before(&mut self, covered_s: i64) -> StoreResult<u64> {
        let mut ids = Vec::new();
        for row in self.t.message_hints.iter()? {
            let (k, at) = row?;
            if at.value() <= covered_s {
                ids.push(k.value().to_owned());
            }
        }
        let mut talks = std::collections::BTreeSet::new();
        for id in &ids {
            self.t.message_hints.remove(id.as_str())?;
            let stored: Option<ChatMessage> = match self.t.messages.remove(id.as_str())? {
                Some(v) => Some(from_json(v.value(), "a stored chat message")?),
                None => None,
            };
            let Some(m) = stored else { continue };
            if let Some(l) = m.lead_id {
                self.t.msg_by_lead.remove(l, id.as_str())?;
            }
            if let Some(t) = m.talk_id {
                self.t.msg_by_talk.remove(t, id.as_str())?;
                talks.insert(t);
            }
        }
        for t in talks {
            self.recount_talk(t)?;
        }
        if !ids.is_empty() {
            tracing::info!(
                messages = ids.len(),
                "chat messages a webhook reported and amoCRM does not confirm were dropped"
            );
        }
        Ok(ids.len() as u64)
    }

    /// Counts a talk's activity again from the messages it holds (after a
    /// message was dropped or its time corrected).
    fn recount_talk(&mut self, talk_id: u64) -> StoreResult<()> {
        let Some(old) = self.talk(talk_id)? else {
            return Ok(());
        };
        let mut messages = Vec::new();
        for id in self.t.msg_by_talk.get(talk_id)? {
            let id = id?;
            if let Some(v) = self.t.messages.get(id.value())? {
                messages.push(from_json::<ChatMessage>(
                    v.value(),
                    "a stored chat message",
                )?);
            }
        }
        let last_at = |d: Direction| {
            messages
                .iter()
                .filter(|m| m.direction == d)
                .map(|m| m.created_at)
                .max()
        };
        let mut rec = old.clone();
        rec.last_message_at = messages.iter().map(|m| m.created_at).max();
        rec.last_text = messages
            .iter()
            .filter(|m| Some(m.created_at) == rec.last_message_at && m.text.is_some())
            .max_by(|a, b| a.id.cmp(&b.id))
            .and_then(|m| m.text.clone());
        rec.last_incoming_at = last_at(Direction::Incoming);
        rec.last_outgoing_at = last_at(Direction::Outgoing);
        let waiting = messages
            .iter()
            .filter(|m| {
                m.direction == Direction::Incoming && Some(m.created_at) > rec.last_outgoing_at
            })
            .count();
        rec.waiting_messages = u32::try_from(waiting).unwrap_or(u32::MAX);
        if rec != old {
            self.put_talk(Some(&old), &rec)?;
        }
        Ok(())
    }

    /// Adds a message to its talk's activity.
    fn count_message(&mut self, talk_id: u64, message: &ChatMessage) -> StoreResult<()> {
        let old = self.talk(talk_id)?;
        if old.is_none() {
            // Known only from a message: read it from the API until confirmed.
            self.queue_confirm(Confirm::Talk, talk_id)?;
        }
        let mut rec = match &old {
            Some(r) => r.clone(),
            None => TalkRecord {
                talk: placeholder_talk(message)?,
                last_message_at: None,
                last_incoming_at: None,
                last_outgoing_at: None,
                waiting_messages: 0,
                last_text: None,
                sync: SyncMeta {
                    origin: Origin::Webhook,
                    stored_at_ms: self.now_ms,
                    confirmed_at_ms: None,
                    deleted_at: None,
                },
            },
        };
        fill_placeholder(&mut rec.talk, message);
        let at = message.created_at;
        match rec.last_message_at {
            Some(last) if at < last => {}
            Some(last) if at == last => {
                if message.text.is_some() {
                    rec.last_text = message.text.clone();
                }
            }
            _ => {
                rec.last_message_at = Some(at);
                rec.last_text = message.text.clone();
            }
        }
        // `waiting_messages` = incoming messages newer than the last outgoing
        // one, whatever order the messages arrive in.
        match message.direction {
            Direction::Incoming => {
                rec.last_incoming_at = rec.last_incoming_at.max(Some(at));
                if Some(at) > rec.last_outgoing_at {
                    rec.waiting_messages = rec.waiting_messages.saturating_add(1);
                }
            }
            Direction::Outgoing if Some(at) > rec.last_outgoing_at => {
                rec.last_outgoing_at = Some(at);
                rec.waiting_messages = self.incoming_after(talk_id, at)?;
            }
            Direction::Outgoing => {}
        }
        self.put_talk(old.as_ref(), &rec)
    }

    /// After a merge filled a message already counted: the talk's
    /// `last_text` (when it is the newest message) and a placeholder talk's
    /// unknown fields.
    fn refresh_talk(&mut self, talk_id: u64, message: &ChatMessage) -> StoreResult<()> {
        let Some(old) = self.talk(talk_id)? else {
            return Ok(());
        };
        let mut rec = old.clone();
        fill_placeholder(&mut rec.talk, message);
        if rec.last_message_at == Some(message.created_at) && message.text.is_some() {
            rec.last_text = message.text.clone();
        }
        if rec != old {
            self.put_talk(Some(&old), &rec)?;
        }
        Ok(())
    }
}

/// `old` with the fields it lacks taken from `new` (the message's identity,
/// direction and time stay as first recorded).
fn merge_message(old: &ChatMessage, new: &ChatMessage) -> ChatMessage {
    fn fill<T: Clone>(a: &Option<T>, b: &Option<T>) -> Option<T> {
        a.clone().or_else(|| b.clone())
    }
    ChatMessage {
        talk_id: fill(&old.talk_id, &new.talk_id),
        chat_id: fill(&old.chat_id, &new.chat_id),
        contact_id: fill(&old.contact_id, &new.contact_id),
        lead_id: fill(&old.lead_id, &new.lead_id),
        origin: fill(&old.origin, &new.origin),
        text: fill(&old.text, &new.text),
        author_name: fill(&old.author_name, &new.author_name),
        ..old.clone()
    }
}

/// A placeholder talk (`updated_at` 0, known only from messages) learns what
/// a message says and it lacks; a talk read from amoCRM is left alone.
fn fill_placeholder(t: &mut Talk, m: &ChatMessage) {
    if t.updated_at != 0 {
        return;
    }
    if t.chat_id.is_empty()
        && let Some(c) = &m.chat_id
    {
        t.chat_id = c.clone();
    }
    if t.contact_id.is_none() {
        t.contact_id = m.contact_id;
    }
    if t.entity_id.is_none() && m.lead_id.is_some() {
        t.entity_id = m.lead_id;
        t.entity_type = Some("lead".into());
    }
    if t.origin.is_none() {
        t.origin = m.origin.clone();
    }
}

impl WriteTx<'_> {
    /// Incoming messages of a talk newer than `at`.
    fn incoming_after(&self, talk_id: u64, at: i64) -> StoreResult<u32> {
        let mut n = 0u32;
        for id in self.t.msg_by_talk.get(talk_id)? {
            let id = id?;
            if let Some(v) = self.t.messages.get(id.value())? {
                let m: ChatMessage = from_json(v.value(), "a stored chat message")?;
                if m.direction == Direction::Incoming && m.created_at > at {
                    n = n.saturating_add(1);
                }
            }
        }
        Ok(n)
    }
}

/// A talk known only from a message: what the message says, `updated_at` 0
/// so that any API read of the talk replaces it.
fn placeholder_talk(m: &ChatMessage) -> StoreResult<Talk> {
    let v = serde_json::json!({
        "talk_id": m.talk_id,
        "chat_id": m.chat_id.clone().unwrap_or_default(),
        "contact_id": m.contact_id,
        "entity_id": m.lead_id,
        "entity_type": m.lead_id.map(|_| "lead"),
        "origin": m.origin,
        "is_in_work": false,
        "is_read": m.direction == Direction::Outgoing,
        "created_at": m.created_at,
        "updated_at": 0,
    });
    serde_json::from_value(v)
        .map_err(|e| StoreError::Record(format!("cannot build a talk placeholder: {e}")))
}

/// Reads talks by id.
pub(crate) fn talks_by_ids(
    tx: &ReadTransaction,
    ids: impl IntoIterator<Item = u64>,
) -> StoreResult<Vec<TalkRecord>> {
    let t = tx.open_table(TALKS)?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(v) = t.get(id)? {
            out.push(from_json(v.value(), "a stored talk")?);
        }
    }
    sort_talks(&mut out);
    Ok(out)
}

/// Talk ids in a multimap under `key`.
pub(crate) fn linked(
    tx: &ReadTransaction,
    def: redb::MultimapTableDefinition<u64, u64>,
    key: u64,
) -> StoreResult<Vec<u64>> {
    let t = tx.open_multimap_table(def)?;
    let mut out = Vec::new();
    for v in t.get(key)? {
        out.push(v?.value());
    }
    Ok(out)
}

/// Every talk by decoding the whole table (the chat summary counts them all).
fn all_talks(tx: &ReadTransaction) -> StoreResult<Vec<TalkRecord>> {
    let mut out = Vec::new();
    for row in tx.open_table(TALKS)?.iter()? {
        let (_, v) = row?;
        out.push(from_json(v.value(), "a stored talk")?);
    }
    sort_talks(&mut out);
    Ok(out)
}

/// Talks newest activity first through `talks_by_activity`, decoding only
/// until `limit` of them pass `keep`.
fn newest_talks(
    tx: &ReadTransaction,
    limit: usize,
    keep: impl Fn(&TalkRecord) -> bool,
) -> StoreResult<Vec<TalkRecord>> {
    let index = tx.open_table(TALKS_BY_ACTIVITY)?;
    let t = tx.open_table(TALKS)?;
    let mut out = Vec::new();
    for row in index.iter()?.rev() {
        if out.len() >= limit {
            break;
        }
        let (at, id) = row?.0.value();
        let Some(v) = t.get(id)? else {
            tracing::warn!(
                talk = id,
                at,
                "the talk index names a talk that is not stored"
            );
            continue;
        };
        let rec: TalkRecord = from_json(v.value(), "a stored talk")?;
        if keep(&rec) {
            out.push(rec);
        }
    }
    Ok(out)
}

/// The talk list.
pub(crate) fn talks(tx: &ReadTransaction, q: &TalksQuery) -> StoreResult<Vec<TalkRecord>> {
    let keep = |t: &TalkRecord| {
        q.origin
            .as_ref()
            .is_none_or(|o| t.talk.origin.as_ref() == Some(o))
            && (!q.unread_only || !t.talk.is_read)
    };
    let limit = q.limit.unwrap_or(100);
    match q.lead_id {
        Some(l) => Ok(talks_by_ids(tx, linked(tx, TALKS_BY_LEAD, l)?)?
            .into_iter()
            .filter(|t| keep(t))
            .take(limit)
            .collect()),
        None => newest_talks(tx, limit, keep),
    }
}

/// The talk list the old way (decode every talk, sort, filter): the
/// reference the index is compared with in tests and benchmarks.
pub(crate) fn talks_by_scan(tx: &ReadTransaction, q: &TalksQuery) -> StoreResult<Vec<TalkRecord>> {
    let list = match q.lead_id {
        Some(l) => talks_by_ids(tx, linked(tx, TALKS_BY_LEAD, l)?)?,
        None => all_talks(tx)?,
    };
    Ok(list
        .into_iter()
        .filter(|t| {
            q.origin
                .as_ref()
                .is_none_or(|o| t.talk.origin.as_ref() == Some(o))
        })
        .filter(|t| !q.unread_only || !t.talk.is_read)
        .take(q.limit.unwrap_or(100))
        .collect())
}

/// Chat activity summary.
pub(crate) fn chat_activity(tx: &ReadTransaction, limit: usize) -> StoreResult<ChatActivity> {
    let list = all_talks(tx)?;
    let mut channels: BTreeMap<String, ChannelCount> = BTreeMap::new();
    let (mut unread, mut in_work, mut missed) = (0, 0, 0);
    for t in &list {
        let origin = t.talk.origin.clone().unwrap_or_else(|| "unknown".into());
        let c = channels.entry(origin.clone()).or_insert(ChannelCount {
            origin,
            talks: 0,
            unread: 0,
            in_work: 0,
        });
        c.talks += 1;
        if !t.talk.is_read {
            c.unread += 1;
            unread += 1;
        }
        if t.talk.is_in_work {
            c.in_work += 1;
            in_work += 1;
        }
        if t.talk.missed_at.is_some() {
            missed += 1;
        }
    }
    Ok(ChatActivity {
        talks: list.into_iter().take(limit).collect(),
        channels: channels.into_values().collect(),
        unread,
        in_work,
        missed,
    })
}

/// Messages by ids, oldest first, deduplicated.
pub(crate) fn messages(tx: &ReadTransaction, ids: Vec<String>) -> StoreResult<Vec<ChatMessage>> {
    let t = tx.open_table(MESSAGES)?;
    let mut ids = ids;
    ids.sort();
    ids.dedup();
    let mut out: Vec<ChatMessage> = Vec::new();
    for id in ids {
        if let Some(v) = t.get(id.as_str())? {
            out.push(from_json(v.value(), "a stored chat message")?);
        }
    }
    out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(out)
}
