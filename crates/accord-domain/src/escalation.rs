//! The issue procedure: an ordered ladder of levels, each with a time limit; an issue not
//! resolved in time climbs one level. Deadlines and escalations are pure functions of (ladder
//! version, history, now), so every server computes the same thing.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How long a level has before the issue climbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "unit", content = "amount", rename_all = "snake_case")]
pub enum Limit {
    Minutes(u32),
    Hours(u32),
    /// Days that are working days for every party handling the level, in the relationship's zone.
    WorkingDays(u32),
}

impl Limit {
    /// Parses `5 working days`, `48 hours`, `30 minutes` (also `5wd`, `48h`, `30m`).
    pub fn parse(text: &str) -> Result<Limit, String> {
        let text = text.trim().to_lowercase();
        let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
        let unit = text[digits.len()..].trim();
        let amount: u32 = digits.parse().map_err(|_| format!("{text:?} needs a number, e.g. 5 working days"))?;
        if amount == 0 || amount > 10_000 {
            return Err("must be between 1 and 10000".into());
        }
        match unit {
            "m" | "min" | "mins" | "minute" | "minutes" => Ok(Limit::Minutes(amount)),
            "h" | "hour" | "hours" => Ok(Limit::Hours(amount)),
            "wd" | "working day" | "working days" | "day" | "days" => Ok(Limit::WorkingDays(amount)),
            _ => Err(format!("{unit:?} is not minutes, hours or working days")),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Limit::Minutes(n) => format!("{n} minute{}", if *n == 1 { "" } else { "s" }),
            Limit::Hours(n) => format!("{n} hour{}", if *n == 1 { "" } else { "s" }),
            Limit::WorkingDays(n) => format!("{n} working day{}", if *n == 1 { "" } else { "s" }),
        }
    }
}

/// A level is handled by someone: roles from every party, or named members, or both.
pub fn check_handlers<R, M>(roles: &[R], members: &[M]) -> Result<(), String> {
    if roles.is_empty() && members.is_empty() { Err("name the roles or the members who handle this level".into()) } else { Ok(()) }
}

/// Which days are working days: weekdays in the zone, less the holidays of the parties involved.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub time_zone: TimeZone,
    pub holidays: BTreeSet<Date>,
}

impl Calendar {
    pub fn new(time_zone: TimeZone, holidays: impl IntoIterator<Item = Date>) -> Calendar {
        Calendar { time_zone, holidays: holidays.into_iter().collect() }
    }

    pub fn is_working(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && !self.holidays.contains(&date)
    }

    /// When a level started at `start` with `limit` runs out. Working days keep the time of day:
    /// raised Monday 10:00 with 5 working days, the deadline is the next Monday 10:00 (the days
    /// counted are the working days after the start day). Raised on a day off, the clock starts
    /// at midnight of the next working day: raised Sunday with 1 working day, the deadline is
    /// Tuesday 00:00, so that a later start never has an earlier deadline (Friday 00:01 gets
    /// Monday 00:01).
    pub fn deadline(&self, start: Timestamp, limit: Limit) -> Timestamp {
        match limit {
            Limit::Minutes(n) => start.saturating_add(SignedDuration::from_mins(n as i64)).unwrap_or(start),
            Limit::Hours(n) => start.saturating_add(SignedDuration::from_hours(n as i64)).unwrap_or(start),
            Limit::WorkingDays(n) => {
                let local = start.to_zoned(self.time_zone.clone());
                let (mut date, time) = if self.is_working(local.date()) {
                    (Some(local.date()), local.time())
                } else {
                    (self.next_working_day(local.date()), Time::midnight())
                };
                for _ in 0..n {
                    date = date.and_then(|d| self.next_working_day(d));
                }
                // The same local time on the last day (the zone resolves daylight-saving gaps).
                date.and_then(|d| d.to_datetime(time).to_zoned(self.time_zone.clone()).ok()).map_or(start, |z| z.timestamp())
            }
        }
    }

    /// The first working day after `date` (none past the calendar's end).
    fn next_working_day(&self, mut date: Date) -> Option<Date> {
        loop {
            date = date.tomorrow().ok()?;
            if self.is_working(date) {
                return Some(date);
            }
        }
    }

    /// The working day before `deadline` (for the "one working day before" reminder).
    pub fn one_working_day_before(&self, deadline: Timestamp) -> Timestamp {
        let local = deadline.to_zoned(self.time_zone.clone());
        let mut date = local.date();
        loop {
            date = date.yesterday().unwrap_or(date);
            if self.is_working(date) {
                break;
            }
        }
        date.to_datetime(local.time()).to_zoned(self.time_zone.clone()).map(|z| z.timestamp()).unwrap_or(deadline).min(deadline)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IssueStatus {
    Open,
    ResolutionProposed,
    Resolved,
    Withdrawn,
}

impl IssueStatus {
    pub fn parse(text: &str) -> Result<IssueStatus, String> {
        match text {
            "open" => Ok(IssueStatus::Open),
            "resolution_proposed" => Ok(IssueStatus::ResolutionProposed),
            "resolved" => Ok(IssueStatus::Resolved),
            "withdrawn" => Ok(IssueStatus::Withdrawn),
            _ => Err("must be open, resolution_proposed, resolved or withdrawn".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IssueStatus::Open => "open",
            IssueStatus::ResolutionProposed => "resolution_proposed",
            IssueStatus::Resolved => "resolved",
            IssueStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            IssueStatus::Open => "Open",
            IssueStatus::ResolutionProposed => "Resolution proposed",
            IssueStatus::Resolved => "Resolved",
            IssueStatus::Withdrawn => "Withdrawn",
        }
    }

    /// Still to be resolved: the clock runs.
    pub fn live(self) -> bool {
        matches!(self, IssueStatus::Open | IssueStatus::ResolutionProposed)
    }
}

/// Where an issue stands on its ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 0 is the lowest level.
    pub level: usize,
    pub status: IssueStatus,
    pub level_started_at: Timestamp,
    pub deadline: Timestamp,
}

/// A step up the ladder: to `level`, which started when the previous level ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub level: usize,
    pub started_at: Timestamp,
    pub deadline: Timestamp,
}

/// The escalation due at `now`, if any: one level up, starting when the deadline passed (so a
/// late sweep does not stretch the next level). `None` when resolved, withdrawn, not yet due,
/// or already at the top (which the issue then stays at, flagged as overdue).
pub fn due_step(position: &Position, levels: usize, now: Timestamp, deadline_of: impl Fn(usize, Timestamp) -> Timestamp) -> Option<Step> {
    if !position.status.live() || now < position.deadline || position.level + 1 >= levels {
        return None;
    }
    let level = position.level + 1;
    let started_at = position.deadline;
    Some(Step { level, started_at, deadline: deadline_of(level, started_at) })
}

/// A handler's early escalation, giving a reason: one level up from now.
pub fn early_step(
    position: &Position, levels: usize, now: Timestamp, deadline_of: impl Fn(usize, Timestamp) -> Timestamp,
) -> Result<Step, String> {
    if !position.status.live() {
        return Err("only an open issue escalates".into());
    }
    if position.level + 1 >= levels {
        return Err("the issue is already at the top of the ladder".into());
    }
    Ok(Step { level: position.level + 1, started_at: now, deadline: deadline_of(position.level + 1, now) })
}

/// Upper bounds, in hours, of the buckets resolution times are counted in (the last is open).
pub const RESOLUTION_BUCKETS: [i64; 12] = [1, 4, 8, 24, 48, 72, 120, 168, 336, 720, 2160, i64::MAX];

/// The bucket a resolution time falls in.
pub fn bucket(hours: i64) -> usize {
    RESOLUTION_BUCKETS.iter().position(|b| hours < *b).unwrap_or(RESOLUTION_BUCKETS.len() - 1)
}

/// The median from bucket counts, as the bucket's upper bound in hours (`None` without data).
pub fn median_hours(counts: &[i64]) -> Option<i64> {
    let total: i64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let mut seen = 0;
    for (i, c) in counts.iter().enumerate() {
        seen += c;
        if seen * 2 >= total {
            return RESOLUTION_BUCKETS.get(i).copied();
        }
    }
    None
}

/// Is the issue past its deadline at the top of the ladder?
pub fn overdue_at_top(position: &Position, levels: usize, now: Timestamp) -> bool {
    position.status.live() && position.level + 1 >= levels && now >= position.deadline
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn london() -> Calendar {
        Calendar::new(TimeZone::get("Europe/London").unwrap(), ["2026-12-25".parse().unwrap(), "2026-12-28".parse().unwrap()])
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        let c = london();
        // Monday 10:00 + 5 working days = next Monday 10:00.
        assert_eq!(c.deadline(at("2026-11-23T10:00:00Z"), Limit::WorkingDays(5)), at("2026-11-30T10:00:00Z"));
        // Thursday 24 December + 2: Friday 25 and Monday 28 are holidays, so Tuesday 29 and Wednesday 30.
        assert_eq!(c.deadline(at("2026-12-24T09:00:00Z"), Limit::WorkingDays(2)), at("2026-12-30T09:00:00Z"));
        // Raised on a Saturday: the clock starts when Monday does, and one working day is the
        // whole of Monday (raised Friday 13:00, it is Monday 13:00: earlier raised, earlier due).
        assert_eq!(c.deadline(at("2026-11-28T12:00:00Z"), Limit::WorkingDays(1)), at("2026-12-01T00:00:00Z"));
        assert_eq!(c.deadline(at("2026-11-27T13:00:00Z"), Limit::WorkingDays(1)), at("2026-11-30T13:00:00Z"));
        // Across the clocks going back (25 October 2026): local 10:00 is kept.
        assert_eq!(c.deadline(at("2026-10-23T09:00:00Z"), Limit::WorkingDays(1)), at("2026-10-26T10:00:00Z"));
        assert_eq!(c.deadline(at("2026-11-23T10:00:00Z"), Limit::Hours(48)), at("2026-11-25T10:00:00Z"));
        assert_eq!(c.one_working_day_before(at("2026-11-30T10:00:00Z")), at("2026-11-27T10:00:00Z"));
    }

    #[test]
    fn limits_parse() {
        assert_eq!(Limit::parse("5 working days"), Ok(Limit::WorkingDays(5)));
        assert_eq!(Limit::parse("48h"), Ok(Limit::Hours(48)));
        assert_eq!(Limit::parse("30 minutes"), Ok(Limit::Minutes(30)));
        assert!(Limit::parse("soon").is_err() && Limit::parse("0 hours").is_err() && Limit::parse("3 weeks").is_err());
        assert_eq!(Limit::WorkingDays(1).label(), "1 working day");
    }

    fn limit() -> impl Strategy<Value = Limit> {
        prop_oneof![(1u32..600).prop_map(Limit::Minutes), (1u32..100).prop_map(Limit::Hours), (1u32..30).prop_map(Limit::WorkingDays)]
    }

    fn instant() -> impl Strategy<Value = Timestamp> {
        (0i64..(3 * 365 * 24 * 3600)).prop_map(|s| Timestamp::from_second(1_767_225_600 + s).unwrap())
    }

    proptest! {
        #[test]
        fn deadlines_are_monotone_and_after_the_start(a in instant(), b in instant(), l in limit()) {
            let c = london();
            let (early, late) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(c.deadline(early, l) <= c.deadline(late, l), "{early} {late} {l:?}");
            prop_assert!(c.deadline(early, l) > early);
        }

        #[test]
        fn a_working_day_deadline_falls_on_a_working_day(start in instant(), n in 1u32..30) {
            let c = london();
            let d = c.deadline(start, Limit::WorkingDays(n)).to_zoned(c.time_zone.clone()).date();
            prop_assert!(c.is_working(d));
        }

        #[test]
        fn escalation_climbs_one_level_at_a_time_and_never_past_the_top(
            levels in 1usize..6, limits in prop::collection::vec(limit(), 6), start in instant(), hours in 0i64..2000,
            resolved_at in prop::option::of(0i64..2000),
        ) {
            let c = london();
            let deadline_of = |level: usize, from: Timestamp| c.deadline(from, limits[level]);
            let mut p = Position { level: 0, status: IssueStatus::Open, level_started_at: start, deadline: deadline_of(0, start) };
            let now = start.saturating_add(SignedDuration::from_hours(hours)).unwrap();
            let mut steps = 0;
            loop {
                if let Some(r) = resolved_at
                    && p.deadline >= start.saturating_add(SignedDuration::from_hours(r)).unwrap()
                {
                    p.status = IssueStatus::Resolved;
                }
                let Some(step) = due_step(&p, levels, now, deadline_of) else { break };
                prop_assert_eq!(step.level, p.level + 1, "never skips a level");
                prop_assert!(step.level < levels, "never past the top");
                prop_assert!(step.deadline >= p.deadline, "deadlines only move later");
                prop_assert!(p.status.live(), "never escalates a resolved issue");
                p = Position { level: step.level, status: p.status, level_started_at: step.started_at, deadline: step.deadline };
                steps += 1;
                prop_assert!(steps < levels);
            }
            if p.status.live() && now >= p.deadline {
                prop_assert!(overdue_at_top(&p, levels, now), "a live issue past its deadline is at the top");
            }
            prop_assert!(due_step(&p, levels, now, deadline_of).is_none(), "a sweep is idempotent");
        }
    }
}
