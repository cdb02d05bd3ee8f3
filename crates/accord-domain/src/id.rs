//! Ids are UUIDv7: not guessable, sortable by creation, safe to merge across databases.

use jiff::Timestamp;
use std::sync::Mutex;
use uuid::{Builder, Uuid};

/// The state behind `new_id`: ids made within one millisecond carry a counter (RFC 9562, method 1:
/// 42 bits, started at a random value below half its range), and the random bits come from a
/// buffer filled 4 KiB at a time (a system call per id was 5% of a million-row import).
struct Ids {
    millis: u64,
    counter: u64,
    random: [u8; 4096],
    used: usize,
}

const COUNTER_BITS: u32 = 42;

static IDS: Mutex<Ids> = Mutex::new(Ids { millis: 0, counter: 0, random: [0; 4096], used: 4096 });

impl Ids {
    fn random_u64(&mut self) -> u64 {
        if self.used + 8 > self.random.len() {
            // Without randomness ids are still unique and ordered (the counter), only guessable.
            let _ = getrandom::fill(&mut self.random);
            self.used = 0;
        }
        let bytes: [u8; 8] = self.random[self.used..self.used + 8].try_into().unwrap_or_default();
        self.used += 8;
        u64::from_le_bytes(bytes)
    }

    fn restart_counter(&mut self) {
        self.counter = self.random_u64() & ((1 << (COUNTER_BITS - 1)) - 1);
    }
}

/// A new id stamped with `now` (from the caller's clock, never the wall clock directly). Ids keep
/// the order they were made in, even when `now` stands still or goes back.
pub fn new_id(now: Timestamp) -> Uuid {
    let millis = u64::try_from(now.as_millisecond()).unwrap_or(0);
    let mut ids = IDS.lock().unwrap_or_else(|e| e.into_inner());
    if millis > ids.millis {
        ids.millis = millis;
        ids.restart_counter();
    } else {
        ids.counter += 1;
        if ids.counter >> COUNTER_BITS != 0 {
            ids.millis += 1;
            ids.restart_counter();
        }
    }
    // The 10 bytes after the timestamp: the version nibble, then the counter's top 12 bits
    // (rand_a), the variant's 2 bits, the counter's low 30 bits and 32 random bits (rand_b).
    let (counter, random) = (ids.counter as u128, ids.random_u64() as u128 & 0xffff_ffff);
    let bits = ((counter >> 30) << 64) | ((counter & ((1 << 30) - 1)) << 32) | random;
    let bytes: [u8; 10] = bits.to_be_bytes()[6..].try_into().unwrap_or_default();
    Builder::from_unix_timestamp_millis(ids.millis, &bytes).into_uuid()
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
        let ids: Vec<Uuid> = (0..10_000).map(|_| new_id(now)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ids[0].get_version_num(), 7);
        assert_eq!(ids[0].get_variant(), uuid::Variant::RFC4122);
        // Stamped with the time given, to the millisecond.
        let (secs, _) = ids[0].get_timestamp().unwrap().to_unix();
        assert_eq!(secs, 1_800_000_000);
    }

    #[test]
    fn ids_stay_in_order_when_the_clock_goes_back() {
        // Both before the other test's time, so that it still finds its own (tests share the state).
        let later = new_id(Timestamp::from_second(1_750_000_000).unwrap());
        let earlier = new_id(Timestamp::from_second(1_700_000_000).unwrap());
        assert!(earlier > later);
    }
}
