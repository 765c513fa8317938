//! The event log's final ordering.

use crate::world::{World, event_id};

/// Sorts the generated events by time and renumbers them in that order.
pub(super) fn finish_events(world: &mut World) {
    world.events.sort_by_key(|e| e.created_at);
    for (i, e) in world.events.iter_mut().enumerate() {
        e.id = event_id(e.created_at, i as u64 + 1);
    }
    world.ids.event = world.events.len() as u64;
}
