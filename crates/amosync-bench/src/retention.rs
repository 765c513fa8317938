//! The bounded event log and the chats index.
//!
//! * **Retention**: a store file gets `entries` real webhook bodies (the
//!   ingest part's `leads[status]` bodies), half received 40 days ago and
//!   half one day ago, all applied; the engine's retention rule (30 days,
//!   batches of [`RetentionConfig::batch`]) prunes the old half, then the
//!   file is compacted. Figures: store bytes per retained event (the file
//!   after compaction / entries kept), against the entries' own bytes in
//!   the same run (the overhead ratio), the file before and after, the
//!   longest prune transaction (what a webhook may wait for), the
//!   compaction time.
//! * **Chats**: a store with `talks` talks (several messages each); the talk
//!   list's first 200 read through the activity index (`Store::talks`)
//!   against the old full decode and sort (`Store::talks_by_scan`), same
//!   store, same run: medians of 7 after a warm-up, and the ratio.

use std::path::Path;
use std::time::{Duration, Instant};

use amo::models::Talk;
use amosync_store::{
    ChatMessage, Compaction, Direction, EventOutcome, Origin, RawEvent, Store, TalksQuery,
};
use amosync_sync::retention::{RetentionConfig, rule_at};
use axum::body::Bytes;
use serde_json::{Map, Value, json};

use crate::funnel::round;
use crate::log;

const DAY_MS: i64 = 86_400_000;
const BUILD_BATCH: usize = 10_000;
/// Talks listed per read (the notification pump's window).
const CHATS_LIMIT: usize = 200;

/// Sizes of the part.
pub struct Sizes {
    /// Log entries written (half pruned).
    pub entries: u64,
    /// Talks in the chats store.
    pub talks: u64,
}

fn ms(d: Duration) -> f64 {
    round(d.as_secs_f64() * 1000.0, 3)
}

fn mb(bytes: u64) -> f64 {
    round(bytes as f64 / 1_048_576.0, 2)
}

fn median(mut f: impl FnMut() -> Result<(), String>) -> Result<Duration, String> {
    f()?;
    let mut v = Vec::with_capacity(7);
    for _ in 0..7 {
        let t = Instant::now();
        f()?;
        v.push(t.elapsed());
    }
    v.sort();
    Ok(v[3])
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Fills the log: `count` entries at `at_ms`, every one applied.
fn fill_log(s: &Store, bodies: &[Bytes], count: u64, at_ms: i64) -> Result<(), String> {
    let mut i = 0u64;
    while i < count {
        let n = (count - i).min(BUILD_BATCH as u64);
        let events: Vec<RawEvent> = (i..i + n)
            .map(|j| RawEvent {
                received_at_ms: at_ms + j as i64,
                body: bodies[j as usize % bodies.len()].to_vec(),
            })
            .collect();
        let seqs = s.append_events(&events).map_err(err)?;
        s.write_relaxed(|w| {
            for seq in &seqs {
                w.mark_event(*seq, &EventOutcome::Applied { events: 1 })?;
            }
            Ok(())
        })
        .map_err(err)?;
        i += n;
    }
    Ok(())
}

fn retention(dir: &Path, bodies: &[Bytes], entries: u64) -> Result<Map<String, Value>, String> {
    let path = dir.join("retention.redb");
    let _ = std::fs::remove_file(&path);
    let s = Store::open(&path).map_err(err)?;
    let now = crate::now_ms();
    let old = entries / 2;
    log(&format!(
        "retention: {entries} log entries, {old} of them 40 days old…"
    ));
    fill_log(&s, bodies, old, now - 40 * DAY_MS)?;
    fill_log(&s, bodies, entries - old, now - DAY_MS)?;
    let file_full = s.file_len().map_err(err)?;
    let config = RetentionConfig::default();
    let rule = rule_at(now, &config);
    let (mut from, mut removed, mut batches) = (0u64, 0u64, 0u64);
    let mut longest = Duration::ZERO;
    let started = Instant::now();
    // Bounded: one batch per `config.batch` entries, and some to spare.
    for _ in 0..entries / config.batch as u64 + 10 {
        let t = Instant::now();
        let b = s.prune_events(rule, from, config.batch).map_err(err)?;
        longest = longest.max(t.elapsed());
        batches += 1;
        removed += b.removed;
        match b.next {
            Some(n) => from = n,
            None => break,
        }
    }
    let prune = started.elapsed();
    if removed != old {
        return Err(format!(
            "retention: pruned {removed} entries, expected {old}"
        ));
    }
    let file_pruned = s.file_len().map_err(err)?;
    let size = s.event_log_size().map_err(err)?;
    let t = Instant::now();
    let Compaction::Done { after, .. } = s.compact().map_err(err)? else {
        return Err("retention: compaction refused with no transaction open".into());
    };
    let compact = t.elapsed();
    let kept = size.entries.max(1);
    let per_event = after as f64 / kept as f64;
    let entry_bytes = size.bytes as f64 / kept as f64;
    let mut out = Map::new();
    out.insert("retention_entries_written".into(), json!(entries));
    out.insert("retention_entries_kept".into(), json!(size.entries));
    out.insert(
        "store_bytes_per_retained_event".into(),
        json!(round(per_event, 1)),
    );
    out.insert(
        "retention_entry_bytes_per_event".into(),
        json!(round(entry_bytes, 1)),
    );
    out.insert(
        "retention_file_overhead_ratio".into(),
        json!(round(per_event / entry_bytes.max(1.0), 2)),
    );
    out.insert("retention_file_mb_full".into(), json!(mb(file_full)));
    out.insert("retention_file_mb_pruned".into(), json!(mb(file_pruned)));
    out.insert("retention_file_mb_compacted".into(), json!(mb(after)));
    out.insert("retention_prune_ms".into(), json!(ms(prune)));
    out.insert("retention_prune_batches".into(), json!(batches));
    out.insert("retention_prune_longest_tx_ms".into(), json!(ms(longest)));
    out.insert("retention_compact_ms".into(), json!(ms(compact)));
    drop(s);
    let _ = std::fs::remove_file(&path);
    Ok(out)
}

fn talk(id: u64, origin: &str, updated_at: i64) -> Result<Talk, String> {
    serde_json::from_value(json!({
        "talk_id": id, "chat_id": format!("chat-{id}"), "contact_id": 100_000 + id,
        "entity_id": 200_000 + id, "entity_type": "lead", "origin": origin,
        "is_in_work": id.is_multiple_of(3), "is_read": !id.is_multiple_of(4), "rate": null, "missed_at": null,
        "created_at": updated_at - 600, "updated_at": updated_at, "account_id": 1
    }))
    .map_err(err)
}

fn chats(dir: &Path, talks: u64) -> Result<Map<String, Value>, String> {
    const ORIGINS: [&str; 4] = ["telegram", "whatsapp", "instagram", "avito"];
    let path = dir.join("chats.redb");
    let _ = std::fs::remove_file(&path);
    let s = Store::open(&path).map_err(err)?;
    log(&format!("chats: {talks} talks with 3 messages each…"));
    let base = crate::now_ms() / 1000 - 90 * 86_400;
    let mut id = 1u64;
    while id <= talks {
        let end = (id + 2_000).min(talks + 1);
        s.write(|w| {
            for t in id..end {
                // Spread over 90 days, not in id order.
                let at = base + ((t * 7_919) % 7_776_000) as i64;
                let tk = talk(t, ORIGINS[(t % 4) as usize], at)
                    .map_err(amosync_store::StoreError::Record)?;
                w.upsert_talk(&tk, Origin::Api)?;
                for k in 0..3u64 {
                    w.record_message(&ChatMessage {
                        id: format!("m-{t}-{k}"),
                        talk_id: Some(t),
                        chat_id: Some(format!("chat-{t}")),
                        contact_id: Some(100_000 + t),
                        lead_id: Some(200_000 + t),
                        direction: if k == 1 {
                            Direction::Outgoing
                        } else {
                            Direction::Incoming
                        },
                        origin: Some(ORIGINS[(t % 4) as usize].into()),
                        text: Some(format!("Здравствуйте! Сообщение {k} в беседе {t}")),
                        author_name: None,
                        created_at: at + 60 * k as i64,
                    })?;
                }
            }
            Ok(())
        })
        .map_err(err)?;
        id = end;
    }
    let q = TalksQuery {
        limit: Some(CHATS_LIMIT),
        ..TalksQuery::default()
    };
    let by_index = s.talks(&q).map_err(err)?;
    let by_scan = s.talks_by_scan(&q).map_err(err)?;
    if by_index != by_scan {
        return Err("chats: the index and the full decode list different talks".into());
    }
    let index = median(|| s.talks(&q).map(drop).map_err(err))?;
    let scan = median(|| s.talks_by_scan(&q).map(drop).map_err(err))?;
    let mut out = Map::new();
    out.insert("chats_talks".into(), json!(talks));
    out.insert("chats_newest_200_index_ms".into(), json!(ms(index)));
    out.insert("chats_newest_200_full_decode_ms".into(), json!(ms(scan)));
    out.insert(
        "chats_index_speedup".into(),
        json!(round(scan.as_secs_f64() / index.as_secs_f64().max(1e-9), 1)),
    );
    drop(s);
    let _ = std::fs::remove_file(&path);
    Ok(out)
}

/// Both measurements.
pub fn run(dir: &Path, bodies: &[Bytes], sizes: &Sizes) -> Result<Map<String, Value>, String> {
    if bodies.is_empty() {
        return Err("retention: no webhook bodies to log".into());
    }
    let mut out = retention(dir, bodies, sizes.entries)?;
    out.extend(chats(dir, sizes.talks)?);
    Ok(out)
}
