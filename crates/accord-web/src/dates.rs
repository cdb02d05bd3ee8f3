//! Dates and moments as the pages read and show them.

use crate::AppState;
use accord_store::Relationship;
use jiff::Timestamp;
use jiff::civil::Date;

/// Today in the relationship's time zone.
pub fn today(state: &AppState, relationship: &Relationship) -> Date {
    state.now().to_zoned(relationship.zone()).date()
}

/// A duration in words: "3 hours", "2 days".
pub fn hours_text(hours: i64) -> String {
    match hours {
        h if h < 48 => format!("{h} hours"),
        h if h < 24 * 14 => format!("{} days", h / 24),
        h if h < i64::MAX / 2 => format!("{} weeks", h / (24 * 7)),
        _ => "over 3 months".into(),
    }
}

/// A moment in `zone`, as people read it: "Mon 2 Mar 2026, 09:00" (`%a %-d %b %Y, %H:%M`,
/// written directly: strftime parsed its pattern again for every row of a log).
pub fn when(zone: &jiff::tz::TimeZone, at: &Timestamp) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let t = zone.to_datetime(*at);
    let (day, month) = (DAYS[t.weekday().to_monday_zero_offset() as usize], MONTHS[t.month() as usize - 1]);
    format!("{day} {} {month} {}, {:02}:{:02}", t.day(), t.year(), t.hour(), t.minute())
}

/// A meeting's start as people read it: `3 April 2026, 10:00 (Europe/London)`.
pub fn meeting_start(m: &accord_store::MeetingLine) -> String {
    format!("{} {}, {} ({})", m.local_start.day(), m.local_start.strftime("%B %Y"), m.local_start.strftime("%H:%M"), m.time_zone)
}

/// A review series as the reviews page and the overview list it: its next meeting, and whether
/// it is overdue (its cadence passed since it last met, with nothing scheduled).
pub struct SeriesRow {
    pub line: accord_store::SeriesLine,
    pub next: Option<String>,
    pub overdue: bool,
}

pub fn series_rows(lines: Vec<accord_store::SeriesLine>, today: Date, zone: &jiff::tz::TimeZone) -> Vec<SeriesRow> {
    lines
        .into_iter()
        .map(|line| {
            let last = line.last_held.map(|t| t.to_zoned(zone.clone()).date());
            let overdue = accord_domain::review::overdue(line.cadence, last, line.next.is_some(), today);
            SeriesRow { next: line.next.as_ref().map(meeting_start), overdue, line }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_read_as_strftime_writes_them() {
        for name in ["UTC", "Europe/London", "America/Los_Angeles", "Asia/Kolkata"] {
            let zone = jiff::tz::TimeZone::get(name).unwrap();
            for i in 0..2000i64 {
                let at = Timestamp::from_second(1_600_000_000 + i * 7_919_311).unwrap();
                assert_eq!(when(&zone, &at), at.to_zoned(zone.clone()).strftime("%a %-d %b %Y, %H:%M").to_string(), "{at} in {name}");
            }
        }
    }
}

/// The periods the relationship may record values for: from its start to today's.
pub fn recordable(state: &AppState, relationship: &Relationship) -> accord_domain::measure::Recordable {
    relationship.recordable(state.now())
}
