//! The iCalendar writer (`accord_domain::calendar`) read back by a real parser: Python's
//! `icalendar` (pinned, installed by ./scripts/test), both through its own time zone database and
//! through the VTIMEZONE we wrote.

use accord_domain::calendar::{CalendarEvent, EventStatus, write_calendar};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

/// Reads the feed on stdin; prints the calendar's name and each event as JSON, its start and end
/// in UTC as icalendar resolves the TZID, and again through our VTIMEZONE alone.
const READ: &str = r#"
import json, sys
from datetime import timezone
import icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
ours = {str(z["TZID"]): z.to_tz(lookup_tzid=False) for z in cal.walk("VTIMEZONE")}
def utc(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
def through_ours(prop):
    tzid = prop.params.get("TZID")
    if tzid is None:
        return None
    return utc(prop.dt.replace(tzinfo=None).replace(tzinfo=ours[tzid]))
events = []
for e in cal.walk("VEVENT"):
    events.append({
        "uid": str(e["UID"]),
        "sequence": int(e["SEQUENCE"]),
        "status": str(e["STATUS"]),
        "summary": str(e["SUMMARY"]),
        "location": str(e.get("LOCATION", "")),
        "description": str(e.get("DESCRIPTION", "")),
        "url": str(e.get("URL", "")),
        "tzid": e["DTSTART"].params.get("TZID"),
        "start": utc(e.decoded("DTSTART")),
        "end": utc(e.decoded("DTEND")),
        "start_by_our_vtimezone": through_ours(e["DTSTART"]),
        "end_by_our_vtimezone": through_ours(e["DTEND"]),
        "stamp": utc(e.decoded("DTSTAMP")),
    })
print(json.dumps({"name": str(cal["X-WR-CALNAME"]), "method": str(cal["METHOD"]), "version": str(cal["VERSION"]), "events": events}))
"#;

fn parsed(feed: &str) -> Value {
    let mut child = Command::new("python3")
        .args(["-c", READ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for the calendar test");
    child.stdin.take().unwrap().write_all(feed.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "icalendar refused the feed (is it installed? ./scripts/test installs it): {stderr}\n{feed}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn meeting(uid: &str, zone: &str, local: &str, minutes: i64) -> CalendarEvent {
    let zone = TimeZone::get(zone).unwrap();
    let start = local.parse::<DateTime>().unwrap().to_zoned(zone.clone()).unwrap().timestamp();
    CalendarEvent {
        uid: format!("{uid}@accord.example"),
        sequence: 0,
        start,
        end: start + SignedDuration::from_mins(minutes),
        zone,
        summary: String::new(),
        location: String::new(),
        url: None,
        description: String::new(),
        status: EventStatus::Confirmed,
        last_modified: "2026-05-01T08:00:00Z".parse().unwrap(),
    }
}

#[test]
fn a_feed_reads_back_in_a_real_icalendar_parser() {
    let summary = "JMT, July: berths; cranes\\tugs\nsecond line, with commas";
    let description = "Agenda: https://accord.example/relationships/1/meetings/2 — KPIs red, amber or worsening; obligations at risk; é è ü ✓ and more text to pass the fold.";
    let mut july = meeting("meeting-july", "Europe/London", "2026-07-09T09:30", 90);
    july.summary = summary.into();
    july.sequence = 2;
    july.location = "Harbour House, room 3; or the call".into();
    july.url = Some("https://accord.example/relationships/1/meetings/2".into());
    july.description = description.into();
    let mut january = meeting("meeting-january", "Europe/London", "2027-01-14T09:30", 60);
    january.summary = "SER quarterly".into();
    january.status = EventStatus::Cancelled;
    january.sequence = 1;
    let new_york = meeting("meeting-ny", "America/New_York", "2026-11-02T10:00", 30);
    let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
    let feed = write_calendar("Harbour, joint reviews", &[july, january, new_york], now);

    let cal = parsed(&feed);
    assert_eq!(
        (cal["name"].as_str(), cal["method"].as_str(), cal["version"].as_str()),
        (Some("Harbour, joint reviews"), Some("PUBLISH"), Some("2.0"))
    );
    let events = cal["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    let (july, january, ny) = (&events[0], &events[1], &events[2]);
    assert_eq!(july["uid"], "meeting-july@accord.example");
    assert_eq!(july["sequence"], 2);
    assert_eq!(july["status"], "CONFIRMED");
    assert_eq!(july["summary"], summary, "commas, semicolons, backslashes and the line break intact");
    assert_eq!(july["location"], "Harbour House, room 3; or the call");
    assert_eq!(july["description"], description, "folded across lines and read back whole");
    assert_eq!(july["url"], "https://accord.example/relationships/1/meetings/2");
    assert_eq!(july["stamp"], "2026-06-01T12:00:00Z");
    assert_eq!(january["status"], "CANCELLED");
    assert_eq!(january["sequence"], 1);
    // 09:30 in London is 08:30 UTC in July (BST) and 09:30 UTC in January (GMT), both through the
    // parser's own zone database and through the VTIMEZONE the feed carries.
    assert_eq!(july["tzid"], "Europe/London");
    for key in ["start", "start_by_our_vtimezone"] {
        assert_eq!(july[key], "2026-07-09T08:30:00Z", "{key}");
        assert_eq!(january[key], "2027-01-14T09:30:00Z", "{key}");
        assert_eq!(ny[key], "2026-11-02T15:00:00Z", "{key}: New York is back on EST from 1 November");
    }
    assert_eq!((july["end"].as_str(), july["end_by_our_vtimezone"].as_str()), (Some("2026-07-09T10:00:00Z"), Some("2026-07-09T10:00:00Z")));
    assert!(feed.split("\r\n").all(|line| line.len() <= 75), "every line folded at 75 octets");
}
