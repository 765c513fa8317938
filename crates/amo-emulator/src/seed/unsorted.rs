//! Fresh requests waiting in "Неразобранное".

use crate::model::Timestamp;
use crate::world::{NewUnsorted, World};

/// A few requests waiting in "Неразобранное", created in the last half hour.
pub(super) fn pending_unsorted(world: &mut World, now: Timestamp) {
    let requests = [
        (
            "Нино Абашидзе",
            "Здравствуйте! Нужна машина в аэропорту Кутаиси на 3 дня",
            "chats",
            "waba",
            "+995 599 12 34 56",
        ),
        (
            "Алексей Морозов",
            "Добрый день, интересует Toyota RAV4 на неделю",
            "chats",
            "telegram",
            "+7 916 555 12 34",
        ),
        (
            "Ольга Лебедева",
            "Заявка с сайта: Hyundai Tucson, 12–19 числа",
            "forms",
            "site",
            "+995 577 98 76 54",
        ),
    ];
    for (i, (name, text, category, origin, phone)) in requests.into_iter().enumerate() {
        let input = NewUnsorted {
            name: name.into(),
            text: text.into(),
            category: Some(category.into()),
            origin: Some(origin.into()),
            phone: Some(phone.into()),
        };
        // Created through the world (so they look like any request), then back-dated.
        if let Ok((unsorted, _)) = world.add_unsorted(input) {
            let when = now - (30 - 10 * i as i64) * 60;
            backdate(world, unsorted.lead_id, unsorted.contact_id, when);
        }
    }
}

/// Moves the timestamps of a just-created unsorted request back to `when`.
fn backdate(world: &mut World, lead_id: u64, contact_id: Option<u64>, when: Timestamp) {
    if let Some(l) = world.leads.get_mut(&lead_id) {
        l.created_at = when;
        l.updated_at = when;
    }
    if let Some(c) = contact_id.and_then(|id| world.contacts.get_mut(&id)) {
        c.created_at = when;
        c.updated_at = when;
    }
    if let Some(u) = world.unsorted.iter_mut().find(|u| u.lead_id == lead_id) {
        u.created_at = when;
    }
    for t in world.talks.values_mut().filter(|t| t.entity_id == lead_id) {
        t.created_at = when;
        t.updated_at = when;
    }
    for m in world.messages.iter_mut().filter(|m| m.entity_id == lead_id) {
        m.created_at = when;
    }
    for e in world
        .events
        .iter_mut()
        .filter(|e| e.entity_id == lead_id && e.entity_type == "lead")
    {
        e.created_at = when;
    }
}
