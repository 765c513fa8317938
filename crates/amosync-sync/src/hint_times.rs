//! A webhook cannot outvote amoCRM: the times a body carries are capped
//! before anything is planned from it (pure).
//!
//! A body's `updated_at`, `last_modified`, `created_at`, … are whatever its
//! sender wrote. amoCRM sends a webhook within a second or two of the change
//! it reports, so no genuine body dates an event later than the moment it
//! was received plus the difference between amoCRM's clock and this
//! computer's. Every time in a body is therefore capped at the event log
//! entry's `received_at_ms` plus [`WEBHOOK_CLOCK_SKEW_S`]: a body dated in
//! the year 2100 is planned as if dated a minute after receipt, and the
//! fetcher's API read made because of it replaces it (the store's
//! "read after hint" rule, `amosync_store::newest`).
//!
//! Capping a genuine time too low costs nothing: the webhook version then
//! ranks lower, and the API read (which the webhook always triggers)
//! carries amoCRM's own time.

use amo::webhook::WebhookEvent;
use amo::webhook::events::CrmDate;

/// How far (seconds) a webhook body may date an event after its receipt.
///
/// 60 s: amoCRM sends within seconds of the change (and gives up on a
/// delivery after 2 s); an NTP-synced computer agrees with amoCRM's clock
/// within a second, so a minute leaves room for a computer clock that
/// drifted, while a forged time can lead the truth by one minute at most,
/// and only until the API read that the webhook itself triggers.
pub const WEBHOOK_CLOCK_SKEW_S: i64 = 60;

/// How much longer than a status move a webhook-only chat message waits
/// for the events API before a covering catch-up drops it: 15 minutes.
/// A message's text exists only in its webhook (amoCRM's API has none), so
/// dropping a real one because amoCRM's events list lagged would lose the
/// words for good; a forged message stands at most this much longer.
pub const MESSAGE_HINT_GRACE_S: i64 = 15 * 60;

/// The latest time (unix seconds) a body received at `received_at_ms` may
/// carry.
pub fn latest_time_s(received_at_ms: i64) -> i64 {
    received_at_ms
        .div_euclid(1000)
        .saturating_add(WEBHOOK_CLOCK_SKEW_S)
}

fn cap(v: &mut Option<i64>, limit: i64) {
    if let Some(t) = v
        && *t > limit
    {
        *t = limit;
    }
}

fn cap_date(d: &mut Option<CrmDate>, limit: i64) {
    if let Some(d) = d {
        cap(&mut d.unix, limit);
    }
}

/// `event` with every time it carries capped at `limit` (unix seconds).
pub fn capped(event: &WebhookEvent, limit: i64) -> WebhookEvent {
    let mut e = event.clone();
    match &mut e {
        WebhookEvent::Lead { lead, .. } => {
            cap(&mut lead.updated_at, limit);
            cap(&mut lead.last_modified, limit);
            cap(&mut lead.created_at, limit);
            cap(&mut lead.date_create, limit);
        }
        WebhookEvent::Contact { contact, .. } => {
            cap(&mut contact.updated_at, limit);
            cap(&mut contact.last_modified, limit);
            cap(&mut contact.created_at, limit);
            cap(&mut contact.date_create, limit);
        }
        WebhookEvent::Note { note, .. } => {
            cap(&mut note.updated_at, limit);
            cap(&mut note.created_at, limit);
            cap_date(&mut note.date_create, limit);
            cap_date(&mut note.timestamp_x, limit);
        }
        WebhookEvent::Message { message } => cap(&mut message.created_at, limit),
        WebhookEvent::Talk { talk, .. } => {
            cap(&mut talk.updated_at, limit);
            cap(&mut talk.created_at, limit);
        }
        // Not applied with their times (ids only, or not applied at all).
        WebhookEvent::UnsortedAdd { .. }
        | WebhookEvent::UnsortedUpdate { .. }
        | WebhookEvent::UnsortedDelete { .. }
        | WebhookEvent::Task { .. }
        | WebhookEvent::Unknown { .. } => {}
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: &str) -> WebhookEvent {
        let body = format!("{body}&account[subdomain]=office&account[id]=1");
        amo::webhook::decode(body.as_bytes())
            .expect("decodes")
            .events
            .remove(0)
    }

    /// (name, body, field read back, expected after capping at 1_000_060).
    #[test]
    fn every_time_a_body_carries_is_capped() {
        let limit = latest_time_s(1_000_000_999);
        assert_eq!(limit, 1_000_060);
        let lead_times = |e: &WebhookEvent| match e {
            WebhookEvent::Lead { lead, .. } => vec![
                lead.updated_at,
                lead.last_modified,
                lead.created_at,
                lead.date_create,
            ],
            _ => panic!("not a lead"),
        };
        type Read = fn(&WebhookEvent) -> Vec<Option<i64>>;
        let cases: Vec<(&str, &str, Read, Vec<Option<i64>>)> = vec![
            (
                "lead dated 2100",
                "leads[update][0][id]=5&leads[update][0][updated_at]=4102444800&leads[update][0][last_modified]=4102444800&leads[update][0][created_at]=4102444800&leads[update][0][date_create]=4102444800",
                lead_times,
                vec![Some(1_000_060); 4],
            ),
            (
                "lead in the past is kept",
                "leads[update][0][id]=5&leads[update][0][updated_at]=999000",
                lead_times,
                vec![Some(999_000), None, None, None],
            ),
            (
                "contact",
                "contacts[update][0][id]=7&contacts[update][0][type]=contact&contacts[update][0][updated_at]=4102444800&contacts[update][0][last_modified]=1000000061",
                |e| match e {
                    WebhookEvent::Contact { contact, .. } => {
                        vec![contact.updated_at, contact.last_modified]
                    }
                    _ => panic!("not a contact"),
                },
                vec![Some(1_000_060), Some(1_000_060)],
            ),
            (
                "message",
                "message[add][0][id]=m1&message[add][0][talk_id]=3&message[add][0][created_at]=4102444800",
                |e| match e {
                    WebhookEvent::Message { message } => vec![message.created_at],
                    _ => panic!("not a message"),
                },
                vec![Some(1_000_060)],
            ),
            (
                "talk",
                "talk[update][0][talk_id]=3&talk[update][0][updated_at]=4102444800&talk[update][0][created_at]=4102444800",
                |e| match e {
                    WebhookEvent::Talk { talk, .. } => vec![talk.updated_at, talk.created_at],
                    _ => panic!("not a talk"),
                },
                vec![Some(1_000_060), Some(1_000_060)],
            ),
            (
                "note",
                "leads[note][0][note][id]=9&leads[note][0][note][element_id]=5&leads[note][0][note][updated_at]=4102444800&leads[note][0][note][created_at]=4102444800",
                |e| match e {
                    WebhookEvent::Note { note, .. } => vec![note.updated_at, note.created_at],
                    _ => panic!("not a note"),
                },
                vec![Some(1_000_060), Some(1_000_060)],
            ),
        ];
        for (name, body, read, want) in cases {
            let e = event(body);
            assert_eq!(read(&capped(&e, limit)), want, "{name}");
        }
    }
}
