//! Randomness and time: the seeded generator and the calendar arithmetic of the plans.

use super::*;

/// SplitMix64: small, fast and the same everywhere, so every seeded database is alike.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(super) fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

pub(super) fn days(d: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(d * 86_400.0)
}

pub(super) fn hours(h: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(h * 3_600.0)
}

pub(super) fn days_between(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64() / 86_400.0
}

pub(super) fn date_of(t: Timestamp) -> Date {
    t.to_zoned(TimeZone::UTC).date()
}

/// `date` at `hour` o'clock UTC (fractions are minutes).
pub(super) fn at(date: Date, hour: f64) -> Timestamp {
    let midnight = date.to_zoned(TimeZone::UTC).map(|z| z.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH);
    midnight + hours(hour)
}

/// `t` if it falls in working hours (a weekday, 08:00 to 18:00 UTC), else a moment in the next
/// working hours. Never earlier than `t`: a step planned after another stays after it.
pub(super) fn working(t: Timestamp, rng: &mut Rng) -> Timestamp {
    let mut day = date_of(t);
    let hour = t.duration_since(at(day, 0.0)).as_secs_f64() / 3_600.0;
    let weekday = |d: Date| d.weekday().to_monday_zero_offset() < 5;
    if weekday(day) && (8.0..18.0).contains(&hour) {
        return t;
    }
    if !weekday(day) || hour >= 18.0 {
        day = day.tomorrow().unwrap_or(day);
        while !weekday(day) {
            day = day.tomorrow().unwrap_or(day);
        }
    }
    at(day, rng.range(8.0, 18.0))
}

pub(super) fn months_ago(now: Timestamp, months: usize) -> Date {
    date_of(now).checked_sub((months as i32).months()).unwrap_or(date_of(now))
}
