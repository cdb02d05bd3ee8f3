//! Ids are UUIDv7: not guessable, sortable by creation, safe to merge across databases.

use jiff::Timestamp;
use std::sync::Mutex;
use uuid::{ContextV7, Uuid};

// The context keeps ids made within one millisecond in creation order.
static CONTEXT: Mutex<ContextV7> = Mutex::new(ContextV7::new());

/// A new id stamped with `now` (from the caller's clock, never the wall clock directly).
pub fn new_id(now: Timestamp) -> Uuid {
    let secs = u64::try_from(now.as_second()).unwrap_or(0);
    let nanos = u32::try_from(now.subsec_nanosecond()).unwrap_or(0);
    let context = CONTEXT.lock().unwrap_or_else(|e| e.into_inner());
    Uuid::new_v7(uuid::Timestamp::from_unix(&*context, secs, nanos))
}

/// Parses an id given by a person or a URL; anything else is "not found", never an error page.
pub fn parse_id(text: &str) -> Option<Uuid> {
    Uuid::try_parse(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_in_one_millisecond_keep_their_order() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let ids: Vec<Uuid> = (0..1000).map(|_| new_id(now)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ids[0].get_version_num(), 7);
    }
}
