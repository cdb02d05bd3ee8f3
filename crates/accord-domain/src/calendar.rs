//! iCalendar (RFC 5545) text for calendar feeds: a VCALENDAR of events, each at its own IANA
//! zone. Pure: the caller gives the events and its clock's time; the feeds and their secret URLs
//! are the web layer's.
//!
//! Times are written with `TZID=` and a VTIMEZONE generated from jiff's bundled tz database,
//! not in UTC: a client then shows a meeting in the zone it was set in ("09:30 London" stays
//! 09:30 for a reader abroad who checks it against the agenda), and a repeating reader such as
//! Outlook keeps the zone when an event is copied. Each VTIMEZONE lists the zone's actual
//! transitions over the span of the events (one observance per transition, no RRULE), so it says
//! exactly what the tz database says, including rule changes between years. A zone without an
//! IANA name (a fixed offset) is written in UTC with `Z`, which is always right.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use std::collections::BTreeMap;

/// What a calendar client shows of an event's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    Tentative,
    Confirmed,
    Cancelled,
}

impl EventStatus {
    fn as_str(self) -> &'static str {
        match self {
            EventStatus::Tentative => "TENTATIVE",
            EventStatus::Confirmed => "CONFIRMED",
            EventStatus::Cancelled => "CANCELLED",
        }
    }
}

/// One VEVENT.
#[derive(Debug, Clone)]
pub struct CalendarEvent {
    /// Stable for the life of the meeting (e.g. `meeting-<id>@<host>`): clients match updates by it.
    pub uid: String,
    /// Raised each time the meeting moves or is cancelled, so clients take the new version.
    pub sequence: u32,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The meeting's zone (from `TimeZone::get("Europe/London")`).
    pub zone: TimeZone,
    pub summary: String,
    /// A place or a call link; empty when there is none.
    pub location: String,
    /// The meeting page's address.
    pub url: Option<String>,
    pub description: String,
    pub status: EventStatus,
    /// When the meeting last changed.
    pub last_modified: Timestamp,
}

/// The feed: `name` (X-WR-CALNAME) and its events, stamped `now` (DTSTAMP, the caller's clock).
pub fn write_calendar(name: &str, events: &[CalendarEvent], now: Timestamp) -> String {
    let mut out = Lines::default();
    out.line("BEGIN:VCALENDAR");
    out.line("VERSION:2.0");
    out.line("PRODID:-//Accord//Accord joint reviews//EN");
    out.line("CALSCALE:GREGORIAN");
    out.line("METHOD:PUBLISH");
    // Not a standard property: readers take its value as it stands (Python's icalendar, Apple's
    // and Google's clients show `\,` as typed), so it is written unescaped, on one line.
    out.line(&format!("X-WR-CALNAME:{}", one_line(name)));
    // Each named zone once, over the span of all its events.
    let mut spans: BTreeMap<&str, (TimeZone, Timestamp, Timestamp)> = BTreeMap::new();
    for e in events {
        if let Some(name) = e.zone.iana_name() {
            let span = spans.entry(name).or_insert_with(|| (e.zone.clone(), e.start, e.end));
            span.1 = span.1.min(e.start).min(e.end);
            span.2 = span.2.max(e.start).max(e.end);
        }
    }
    for (name, (zone, from, until)) in &spans {
        vtimezone(&mut out, name, zone, *from, *until);
    }
    for e in events {
        out.line("BEGIN:VEVENT");
        out.line(&format!("UID:{}", escape_text(&e.uid)));
        out.line(&format!("SEQUENCE:{}", e.sequence));
        out.line(&format!("DTSTAMP:{}", utc(now)));
        out.line(&format!("LAST-MODIFIED:{}", utc(e.last_modified)));
        out.line(&format!("DTSTART{}", at(e.start, &e.zone)));
        out.line(&format!("DTEND{}", at(e.end, &e.zone)));
        out.line(&format!("SUMMARY:{}", escape_text(&e.summary)));
        if !e.location.is_empty() {
            out.line(&format!("LOCATION:{}", escape_text(&e.location)));
        }
        if let Some(url) = &e.url {
            // A URI, not TEXT: nothing to escape, but no line break may get in.
            out.line(&format!("URL:{}", without_controls(url)));
        }
        if !e.description.is_empty() {
            out.line(&format!("DESCRIPTION:{}", escape_text(&e.description)));
        }
        out.line(&format!("STATUS:{}", e.status.as_str()));
        out.line("END:VEVENT");
    }
    out.line("END:VCALENDAR");
    out.0
}

/// Content lines, each folded and ended with CRLF.
#[derive(Default)]
struct Lines(String);

impl Lines {
    fn line(&mut self, line: &str) {
        self.0.push_str(&fold(line));
    }
}

/// `20260709T083000Z`.
fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// A DTSTART/DTEND's parameter and value: local time with `TZID=` in a named zone, else UTC.
fn at(t: Timestamp, zone: &TimeZone) -> String {
    match zone.iana_name() {
        Some(name) => format!(";TZID={name}:{}", local(zone.to_datetime(t))),
        None => format!(":{}", utc(t)),
    }
}

fn local(t: DateTime) -> String {
    t.strftime("%Y%m%dT%H%M%S").to_string()
}

/// `+0100`, `-0330`, with seconds when a historical offset has them.
fn offset(o: Offset) -> String {
    let s = o.seconds();
    let (sign, s) = if s < 0 { ('-', -s) } else { ('+', s) };
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 { format!("{sign}{h:02}{m:02}") } else { format!("{sign}{h:02}{m:02}{sec:02}") }
}

/// The VTIMEZONE of `zone` from the observance in force at `from` to the last transition before
/// `until`: one STANDARD or DAYLIGHT per transition, its DTSTART the local time it took effect
/// (in the offset before it, as RFC 5545 counts it).
fn vtimezone(out: &mut Lines, name: &str, zone: &TimeZone, from: Timestamp, until: Timestamp) {
    out.line("BEGIN:VTIMEZONE");
    out.line(&format!("TZID:{name}"));
    let before = |t: Timestamp| zone.to_offset(t.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap_or(t));
    let mut observance = |at: Timestamp, starts: DateTime| {
        let info = zone.to_offset_info(at);
        let kind = if info.dst().is_dst() { "DAYLIGHT" } else { "STANDARD" };
        out.line(&format!("BEGIN:{kind}"));
        out.line(&format!("DTSTART:{}", local(starts)));
        out.line(&format!("TZOFFSETFROM:{}", offset(before(at))));
        out.line(&format!("TZOFFSETTO:{}", offset(info.offset())));
        out.line(&format!("TZNAME:{}", escape_text(info.abbreviation())));
        out.line(&format!("END:{kind}"));
    };
    // What is in force at the first event: from its transition, or (a zone that never changed)
    // from the start of 1970.
    match zone.preceding(from.checked_add(jiff::SignedDuration::from_secs(1)).unwrap_or(from)).next() {
        Some(t) => observance(t.timestamp(), before(t.timestamp()).to_datetime(t.timestamp())),
        None => observance(from, DateTime::constant(1970, 1, 1, 0, 0, 0, 0)),
    }
    for t in zone.following(from).take_while(|t| t.timestamp() <= until) {
        observance(t.timestamp(), before(t.timestamp()).to_datetime(t.timestamp()));
    }
    out.line("END:VTIMEZONE");
}

/// A TEXT value (RFC 5545 §3.3.11): `\`, `;` and `,` escaped, every line break written `\n`,
/// other control characters (which TEXT may not hold) left out.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn without_controls(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// `text` with each line break (and any other control character) made a space.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Longest a content line may be, in octets, without its CRLF.
const FOLD_AT: usize = 75;

/// `line` ended with CRLF, folded (CRLF and a space) so that no line passes 75 octets, never
/// inside a UTF-8 character.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut rest = line;
    // The first line holds 75 octets; each continuation, after its leading space, 74.
    let mut room = FOLD_AT;
    while rest.len() > room {
        let mut cut = room;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        room = FOLD_AT - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a reader does: every CRLF followed by a space or tab is taken out.
    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "").replace("\r\n\t", "")
    }

    fn unescape(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n' | 'N') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    fn event(zone: &str, start: &str, minutes: i64) -> CalendarEvent {
        let zone = TimeZone::get(zone).unwrap();
        let start: Timestamp = start.parse::<DateTime>().unwrap().to_zoned(zone.clone()).unwrap().timestamp();
        CalendarEvent {
            uid: "meeting-1@accord.example".into(),
            sequence: 0,
            start,
            end: start + jiff::SignedDuration::from_mins(minutes),
            zone,
            summary: "JMT, July; \"monthly\"\nsecond line".into(),
            location: "Harbour House, room 3".into(),
            url: Some("https://accord.example/relationships/x/meetings/y".into()),
            description: String::new(),
            status: EventStatus::Confirmed,
            last_modified: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_london_meeting_is_written_in_its_zone_with_both_observances() {
        let july = event("Europe/London", "2026-07-09T09:30", 90);
        let january = CalendarEvent { uid: "meeting-2@accord.example".into(), ..event("Europe/London", "2027-01-14T09:30", 60) };
        let text = write_calendar("Harbour, joint reviews", &[july, january], "2026-06-01T12:00:00Z".parse().unwrap());
        assert!(text.split_inclusive('\n').all(|l| l.ends_with("\r\n")), "every line ends CRLF");
        let text = unfold(&text);
        assert!(text.contains("DTSTART;TZID=Europe/London:20260709T093000\r\n"), "{text}");
        assert!(text.contains("DTEND;TZID=Europe/London:20260709T110000\r\n"));
        assert!(text.contains("DTSTART;TZID=Europe/London:20270114T093000\r\n"));
        assert!(text.contains("X-WR-CALNAME:Harbour, joint reviews\r\n"));
        assert!(text.contains("SUMMARY:JMT\\, July\\; \"monthly\"\\nsecond line\r\n"));
        assert!(text.contains("DTSTAMP:20260601T120000Z\r\n"));
        // In force at the first meeting: BST since 29 March 2026 01:00 UTC; then GMT from 25 October.
        let vtimezone = &text[text.find("BEGIN:VTIMEZONE").unwrap()..text.find("END:VTIMEZONE").unwrap()];
        assert!(
            vtimezone.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T010000\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\nTZNAME:BST\r\n"),
            "{vtimezone}"
        );
        assert!(
            vtimezone.contains("BEGIN:STANDARD\r\nDTSTART:20261025T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nTZNAME:GMT\r\n"),
            "{vtimezone}"
        );
        assert_eq!(vtimezone.matches("BEGIN:").count(), 3, "one zone, two observances: {vtimezone}");
        assert_eq!(text.matches("BEGIN:VTIMEZONE").count(), 1, "each zone once");
    }

    #[test]
    fn a_zone_without_a_name_is_written_in_utc() {
        let mut e = event("Europe/London", "2026-07-09T09:30", 30);
        e.zone = TimeZone::fixed(jiff::tz::offset(2));
        e.status = EventStatus::Cancelled;
        e.location.clear();
        let text = write_calendar("x", &[e], Timestamp::UNIX_EPOCH);
        assert!(text.contains("DTSTART:20260709T083000Z\r\n"), "{text}");
        assert!(text.contains("STATUS:CANCELLED\r\n"));
        assert!(!text.contains("VTIMEZONE") && !text.contains("LOCATION"));
    }

    #[test]
    fn folding_keeps_characters_whole() {
        let line = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&line);
        for part in folded.split("\r\n") {
            assert!(part.len() <= FOLD_AT, "{}", part.len());
        }
        assert_eq!(unfold(&folded), format!("{line}\r\n"));
        assert_eq!(fold("SHORT"), "SHORT\r\n");
    }

    proptest! {
        /// No folded line passes 75 octets, and unfolding gives the line back.
        #[test]
        fn folded_lines_fit_and_unfold_to_the_original(line in "[^\r\n]{0,400}") {
            let folded = fold(&line);
            prop_assert!(folded.ends_with("\r\n"));
            for part in folded[..folded.len() - 2].split("\r\n") {
                prop_assert!(part.len() <= FOLD_AT);
            }
            prop_assert_eq!(unfold(&folded), format!("{line}\r\n"));
        }

        /// Escaped text reads back as written (line breaks as `\n`, control characters left out),
        /// and holds no bare `;`, `,` or line break.
        #[test]
        fn escaped_text_round_trips(text in "[a-z;,\\\\\n\r\t é😀\u{1}]{0,80}") {
            let escaped = escape_text(&text);
            prop_assert!(!escaped.contains('\n') && !escaped.contains('\r'));
            let expected: String = text.replace("\r\n", "\n").replace('\r', "\n").chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect();
            prop_assert_eq!(unescape(&escaped), expected);
        }
    }
}
