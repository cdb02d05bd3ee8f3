//! Joint reviews: series of meetings (a JMT each month, an SER review each quarter…), when one is
//! due or overdue, where a meeting's agenda items come from, and a meeting's local time in its
//! zone. Pure: the agenda's choice over loaded facts lives in `accord_store::reviews::agenda`.

use crate::Invalid;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Defines a small enum with its stored strings (never changed once shipped: they are hashed into
/// chains and records), `ALL`, `as_str`, `label` and `parse`.
macro_rules! named {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub const fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }

            pub fn parse(text: &str) -> Result<$name, String> {
                Self::ALL.iter().copied().find(|k| k.as_str() == text.trim()).ok_or_else(|| {
                    let names: Vec<_> = Self::ALL.iter().map(|k| k.as_str()).collect();
                    format!("must be {} or {}", names[..names.len() - 1].join(", "), names[names.len() - 1])
                })
            }
        }
    };
}

named! {
    /// What a series reviews.
    ReviewKind, "kind" {
        Jmt = "jmt", "Joint management team";
        Ser = "ser", "SER review";
        ExitStrategy = "exit_strategy", "Exit strategy";
        Rmp = "rmp", "Relationship management plan";
        Other = "other", "Other";
    }
}

named! {
    /// Where a meeting stands. `signing` and `sealed` belong to the signed record (set once every
    /// party's chair signs); a meeting is *held* from the moment its minuting starts.
    MeetingStatus, "status" {
        Scheduled = "scheduled", "Scheduled";
        Minuting = "minuting", "Minutes being written";
        Signing = "signing", "Waiting for signatures";
        Sealed = "sealed", "Sealed";
        Cancelled = "cancelled", "Cancelled";
    }
}

impl MeetingStatus {
    /// Minuting started: the meeting took place, and its agenda's data is frozen.
    pub fn held(self) -> bool {
        matches!(self, MeetingStatus::Minuting | MeetingStatus::Signing | MeetingStatus::Sealed)
    }
}

named! {
    /// A member's attendance at a meeting, per party.
    Presence, "presence" {
        Present = "present", "Present";
        Apologies = "apologies", "Apologies";
        Absent = "absent", "Absent";
    }
}

named! {
    /// Where an agenda item comes from: each names the kind of record its `source_id` is, so the
    /// item links to it. **The next modules add theirs here** (`Rmp` for the plan's reviews,
    /// `Survey` for a survey's results, `Risk` for the register, `ExitStrategy`), with the facts
    /// that choose them in `accord_store::reviews::agenda::AgendaFacts` and their link in the web
    /// layer's `reviews::source_link`.
    AgendaSource, "source" {
        /// A KPI red, amber or worsening.
        Kpi = "kpi", "KPI";
        /// A party's obligation at risk, missed, or past due and undelivered.
        Obligation = "obligation", "Obligation";
        /// An open issue (by level), or one escalated since the previous meeting.
        Issue = "issue", "Issue";
        /// An overdue action, or one raised at the previous meeting and still open.
        Action = "action", "Action";
        /// An objective due its relevance review.
        Objective = "objective", "Objective";
        /// Added by a member.
        Member = "member", "Added";
    }
}

/// How often a series meets: every `count` weeks or months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReviewCadence)]
pub struct Cadence {
    pub count: u8,
    pub unit: CadenceUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CadenceUnit {
    Weeks,
    Months,
}

impl Cadence {
    pub const MONTHLY: Cadence = Cadence { count: 1, unit: CadenceUnit::Months };
    pub const QUARTERLY: Cadence = Cadence { count: 3, unit: CadenceUnit::Months };

    /// `monthly`, `quarterly`, `weekly`, or `N weeks` / `N months` (N from 1 to 24).
    pub fn parse(text: &str) -> Result<Cadence, String> {
        let text = text.trim().to_ascii_lowercase();
        let refused = || "must be weekly, monthly, quarterly, or a number of weeks or months from 1 to 24 (e.g. 2 weeks)".to_owned();
        match text.as_str() {
            "weekly" => return Ok(Cadence { count: 1, unit: CadenceUnit::Weeks }),
            "monthly" => return Ok(Cadence::MONTHLY),
            "quarterly" => return Ok(Cadence::QUARTERLY),
            _ => {}
        }
        let (count, unit) = text.split_once(' ').ok_or_else(refused)?;
        let count: u8 = count.parse().map_err(|_| refused())?;
        let unit = match unit.trim() {
            "week" | "weeks" => CadenceUnit::Weeks,
            "month" | "months" => CadenceUnit::Months,
            _ => return Err(refused()),
        };
        if !(1..=24).contains(&count) {
            return Err(refused());
        }
        Ok(Cadence { count, unit })
    }

    /// As stored: `1 months`, `2 weeks` (read back by [`Cadence::parse`]).
    pub fn as_stored(self) -> String {
        let unit = match self.unit {
            CadenceUnit::Weeks => "weeks",
            CadenceUnit::Months => "months",
        };
        format!("{} {unit}", self.count)
    }

    /// `Monthly`, `Quarterly`, `Every 2 weeks`.
    pub fn label(self) -> String {
        match (self.count, self.unit) {
            (1, CadenceUnit::Weeks) => "Weekly".into(),
            (1, CadenceUnit::Months) => "Monthly".into(),
            (3, CadenceUnit::Months) => "Quarterly".into(),
            (n, CadenceUnit::Weeks) => format!("Every {n} weeks"),
            (n, CadenceUnit::Months) => format!("Every {n} months"),
        }
    }

    /// The day one cadence after `day` (31 January + 1 month is 28 or 29 February).
    pub fn after(self, day: Date) -> Date {
        let span = match self.unit {
            CadenceUnit::Weeks => i64::from(self.count).weeks(),
            CadenceUnit::Months => i64::from(self.count).months(),
        };
        day.checked_add(span).unwrap_or(day)
    }
}

/// When a series is next due: one cadence after its last held meeting (none before its first).
pub fn next_due(cadence: Cadence, last_held: Option<Date>) -> Option<Date> {
    last_held.map(|day| cadence.after(day))
}

/// Is a series overdue on `today`? When its last held meeting plus its cadence has passed and no
/// meeting is held or scheduled since (`scheduled` is whether one is). A series that has never
/// met is not overdue: it has no previous meeting to count from.
pub fn overdue(cadence: Cadence, last_held: Option<Date>, scheduled: bool, today: Date) -> bool {
    !scheduled && next_due(cadence, last_held).is_some_and(|due| due < today)
}

/// A meeting's start: a local date and time in an IANA zone, and the instant it names.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingTime {
    pub local: DateTime,
    pub time_zone: String,
    pub starts_at: Timestamp,
    pub duration_minutes: i32,
}

impl MeetingTime {
    /// From a date (`YYYY-MM-DD`), a time (`HH:MM`), a zone (empty: `default_zone`) and a duration
    /// in minutes; each refused by its field. A local time a daylight-saving change skips is
    /// moved forward by the gap, as calendars do.
    pub fn parse(date: &str, time: &str, zone: &str, duration: &str, default_zone: &str) -> Result<MeetingTime, Invalid> {
        let mut invalid = Invalid::default();
        let date = invalid.check("date", date.trim().parse::<Date>().map_err(|_| "must be a date (YYYY-MM-DD)".to_owned()));
        let time = invalid
            .check("time", time.trim().parse::<jiff::civil::Time>().map_err(|_| "must be a time of day (HH:MM, 24-hour)".to_owned()));
        let zone_name = if zone.trim().is_empty() { default_zone.trim() } else { zone.trim() };
        let tz = invalid.check(
            "time_zone",
            TimeZone::get(zone_name).map_err(|_| "must be a time zone of the IANA database (e.g. Europe/London)".to_owned()),
        );
        let duration = invalid.check(
            "duration_minutes",
            duration
                .trim()
                .parse::<i32>()
                .ok()
                .filter(|m| (5..=720).contains(m))
                .ok_or_else(|| "must be a whole number of minutes from 5 to 720".to_owned()),
        );
        invalid.finish()?;
        let (Some(date), Some(time), Some(tz), Some(duration_minutes)) = (date, time, tz, duration) else {
            return Err(Invalid::one("date", "incomplete"));
        };
        let local = date.to_datetime(time);
        let starts_at = tz.to_ambiguous_zoned(local).compatible().map_err(|_| Invalid::one("date", "is out of range"))?.timestamp();
        Ok(MeetingTime { local, time_zone: zone_name.to_owned(), starts_at, duration_minutes })
    }

    /// Whether `other` starts at another time or zone, or lasts differently: a move, which
    /// raises the meeting's `sequence` (iCalendar's SEQUENCE).
    pub fn moved(&self, other: &MeetingTime) -> bool {
        self.local != other.local || self.time_zone != other.time_zone || self.duration_minutes != other.duration_minutes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn stored_strings_round_trip_and_refusals_name_every_choice() {
        for k in ReviewKind::ALL {
            assert_eq!(ReviewKind::parse(k.as_str()), Ok(*k));
        }
        for s in MeetingStatus::ALL {
            assert_eq!(MeetingStatus::parse(s.as_str()), Ok(*s));
        }
        for s in AgendaSource::ALL {
            assert_eq!(AgendaSource::parse(s.as_str()), Ok(*s));
        }
        assert_eq!(Presence::parse("late"), Err("must be present, apologies or absent".into()));
        assert!(MeetingStatus::Minuting.held() && MeetingStatus::Sealed.held() && !MeetingStatus::Scheduled.held());
    }

    #[test]
    fn a_cadence_reads_as_people_write_it_and_counts_months_by_the_calendar() {
        assert_eq!(Cadence::parse(" Monthly "), Ok(Cadence::MONTHLY));
        assert_eq!(Cadence::parse("quarterly"), Ok(Cadence::QUARTERLY));
        assert_eq!(Cadence::parse("2 weeks"), Ok(Cadence { count: 2, unit: CadenceUnit::Weeks }));
        assert_eq!(Cadence::parse("1 month"), Ok(Cadence::MONTHLY));
        for bad in ["", "0 weeks", "25 months", "fortnightly", "2 days", "-1 months"] {
            assert!(Cadence::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Cadence::parse(&Cadence::QUARTERLY.as_stored()), Ok(Cadence::QUARTERLY));
        assert_eq!(Cadence::QUARTERLY.label(), "Quarterly");
        assert_eq!(Cadence::MONTHLY.after(d("2026-01-31")), d("2026-02-28"));
        assert_eq!(Cadence { count: 2, unit: CadenceUnit::Weeks }.after(d("2026-12-28")), d("2027-01-11"));
    }

    #[test]
    fn a_series_is_overdue_once_its_cadence_has_passed_with_nothing_scheduled() {
        let held = Some(d("2026-03-10"));
        assert!(!overdue(Cadence::MONTHLY, held, false, d("2026-04-10")), "due that day, not yet overdue");
        assert!(overdue(Cadence::MONTHLY, held, false, d("2026-04-11")));
        assert!(!overdue(Cadence::MONTHLY, held, true, d("2026-06-01")), "a meeting is scheduled");
        assert!(!overdue(Cadence::MONTHLY, None, false, d("2030-01-01")), "never met: nothing to count from");
        assert!(!overdue(Cadence::QUARTERLY, held, false, d("2026-06-10")));
        assert!(overdue(Cadence::QUARTERLY, held, false, d("2026-06-11")));
    }

    #[test]
    fn a_meeting_time_is_read_in_its_zone_with_daylight_saving() {
        let summer = MeetingTime::parse("2026-07-01", "10:00", "", "60", "Europe/London").unwrap();
        assert_eq!(summer.starts_at.to_string(), "2026-07-01T09:00:00Z");
        assert_eq!(summer.time_zone, "Europe/London");
        let winter = MeetingTime::parse("2026-12-01", "10:00", "Europe/London", "60", "UTC").unwrap();
        assert_eq!(winter.starts_at.to_string(), "2026-12-01T10:00:00Z");
        // 01:30 on 29 March 2026 does not exist in London: it moves forward by the gap.
        let gap = MeetingTime::parse("2026-03-29", "01:30", "Europe/London", "30", "UTC").unwrap();
        assert_eq!(gap.starts_at.to_string(), "2026-03-29T01:30:00Z");
        let refused = MeetingTime::parse("1 May", "25:00", "Mars/Olympus", "0", "UTC").unwrap_err();
        let fields: Vec<_> = refused.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["date", "time", "time_zone", "duration_minutes"]);
        assert!(summer.moved(&winter) && !summer.moved(&summer.clone()));
    }

    proptest! {
        /// Overdue exactly when nothing is scheduled, the series has met, and today is past one
        /// cadence after that meeting.
        #[test]
        fn overdue_is_past_due_with_nothing_scheduled(
            offset in 0i64..400, today_offset in 0i64..800, scheduled in any::<bool>(), met in any::<bool>(),
            count in 1u8..6, weeks in any::<bool>(),
        ) {
            let cadence = Cadence { count, unit: if weeks { CadenceUnit::Weeks } else { CadenceUnit::Months } };
            let held = met.then(|| d("2025-01-01").checked_add(offset.days()).unwrap());
            let today = d("2025-01-01").checked_add(today_offset.days()).unwrap();
            let is = overdue(cadence, held, scheduled, today);
            prop_assert_eq!(is, !scheduled && held.is_some_and(|h| cadence.after(h) < today));
            if let Some(h) = held {
                prop_assert!(cadence.after(h) > h);
            }
        }
    }
}
