//! Measures: periods, RAG status against thresholds, and target versions.
//!
//! A KPI's thresholds change over time; each change is a version effective from a period. A
//! measurement's RAG is computed once, under the version in force for its period, and stored:
//! history never changes when targets do.

use jiff::civil::{Date, Weekday};
use jiff::{Span, ToSpan};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Cadence {
    Daily,
    Weekly,
    Monthly,
    Quarterly,
}

impl Cadence {
    pub const ALL: [Cadence; 4] = [Cadence::Daily, Cadence::Weekly, Cadence::Monthly, Cadence::Quarterly];

    pub fn parse(text: &str) -> Result<Cadence, String> {
        match text.trim().to_lowercase().as_str() {
            "daily" => Ok(Cadence::Daily),
            "weekly" => Ok(Cadence::Weekly),
            "monthly" => Ok(Cadence::Monthly),
            "quarterly" => Ok(Cadence::Quarterly),
            _ => Err("must be one of daily, weekly, monthly, quarterly".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Daily => "daily",
            Cadence::Weekly => "weekly",
            Cadence::Monthly => "monthly",
            Cadence::Quarterly => "quarterly",
        }
    }

    fn step(self) -> Span {
        match self {
            Cadence::Daily => 1.day(),
            Cadence::Weekly => 1.week(),
            Cadence::Monthly => 1.month(),
            Cadence::Quarterly => 3.months(),
        }
    }

    /// Days after a period ends by which its value is due.
    pub fn grace_days(self) -> i64 {
        match self {
            Cadence::Daily => 1,
            Cadence::Weekly => 3,
            Cadence::Monthly => 10,
            Cadence::Quarterly => 15,
        }
    }
}

/// One reporting period of a cadence, named by its first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub cadence: Cadence,
    pub start: Date,
}

impl Period {
    /// The period of `cadence` that contains `date`.
    pub fn containing(cadence: Cadence, date: Date) -> Period {
        let start = match cadence {
            Cadence::Daily => date,
            Cadence::Weekly => date.checked_sub((date.weekday().to_monday_zero_offset() as i64).days()).unwrap_or(date),
            Cadence::Monthly => date.first_of_month(),
            Cadence::Quarterly => Date::new(date.year(), ((date.month() - 1) / 3) * 3 + 1, 1).unwrap_or(date),
        };
        Period { cadence, start }
    }

    /// Parses what a person or a spreadsheet writes: `2026-03-02` (any cadence: the period that
    /// contains the day), `2026-03` (monthly), `2026-Q1` (quarterly) or `2026-W09` (weekly).
    pub fn parse(cadence: Cadence, text: &str) -> Result<Period, String> {
        let text = text.trim();
        let bad = || {
            format!(
                "{} is not a {} period (write e.g. {})",
                crate::text::quoted(text),
                cadence.as_str(),
                Period::containing(cadence, Date::constant(2026, 3, 2)).label()
            )
        };
        if let Ok(date) = text.parse::<Date>() {
            return Ok(Period::containing(cadence, date));
        }
        let (year, rest) = text.split_once('-').ok_or_else(bad)?;
        let year: i16 = year.parse().map_err(|_| bad())?;
        let date = match (cadence, rest.as_bytes().first()) {
            (Cadence::Quarterly, Some(b'Q' | b'q')) => {
                let q: i8 = rest[1..].parse().map_err(|_| bad())?;
                if !(1..=4).contains(&q) {
                    return Err(bad());
                }
                Date::new(year, (q - 1) * 3 + 1, 1).map_err(|_| bad())?
            }
            (Cadence::Weekly, Some(b'W' | b'w')) => {
                let week: i8 = rest[1..].parse().map_err(|_| bad())?;
                jiff::civil::ISOWeekDate::new(year, week, Weekday::Monday).map_err(|_| bad())?.date()
            }
            (Cadence::Monthly | Cadence::Quarterly, _) => {
                let month: i8 = rest.parse().map_err(|_| bad())?;
                Date::new(year, month, 1).map_err(|_| bad())?
            }
            _ => return Err(bad()),
        };
        Ok(Period::containing(cadence, date))
    }

    pub fn label(&self) -> String {
        match self.cadence {
            Cadence::Daily => self.start.to_string(),
            Cadence::Weekly => {
                let iso = self.start.iso_week_date();
                format!("{}-W{:02}", iso.year(), iso.week())
            }
            Cadence::Monthly => format!("{}-{:02}", self.start.year(), self.start.month()),
            Cadence::Quarterly => format!("{}-Q{}", self.start.year(), (self.start.month() - 1) / 3 + 1),
        }
    }

    pub fn next(&self) -> Period {
        Period { cadence: self.cadence, start: self.start.checked_add(self.cadence.step()).unwrap_or(self.start) }
    }

    pub fn previous(&self) -> Period {
        // Months and quarters start on the 1st: counted directly, as span arithmetic is slow for
        // a scorecard that steps back through twelve periods of every KPI.
        let months_back = match self.cadence {
            Cadence::Monthly => 1,
            Cadence::Quarterly => 3,
            _ => 0,
        };
        let counted = (months_back > 0 && self.start.day() == 1)
            .then(|| {
                let month = i32::from(self.start.year()) * 12 + i32::from(self.start.month()) - 1 - months_back;
                Date::new(i16::try_from(month.div_euclid(12)).ok()?, (month.rem_euclid(12) + 1) as i8, 1).ok()
            })
            .flatten();
        let start = counted.or_else(|| self.start.checked_sub(self.cadence.step()).ok()).unwrap_or(self.start);
        Period { cadence: self.cadence, start }
    }

    /// The last day of the period.
    pub fn end(&self) -> Date {
        self.next().start.yesterday().unwrap_or(self.start)
    }

    /// The day by which the period's value is due.
    pub fn due(&self) -> Date {
        self.end().checked_add(self.cadence.grace_days().days()).unwrap_or(self.start)
    }

    /// The `n` periods ending with this one, oldest first.
    pub fn last_n(&self, n: usize) -> Vec<Period> {
        let mut periods = Vec::with_capacity(n);
        let mut p = *self;
        for _ in 0..n {
            periods.push(p);
            p = p.previous();
        }
        periods.reverse();
        periods
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// More is better (availability, on-time deliveries).
    Higher,
    /// Less is better (defects, days late).
    Lower,
}

impl Direction {
    pub fn parse(text: &str) -> Result<Direction, String> {
        match text.trim().to_lowercase().as_str() {
            "higher" | "higher is better" => Ok(Direction::Higher),
            "lower" | "lower is better" => Ok(Direction::Lower),
            _ => Err("must be higher or lower (which is better)".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Higher => "higher",
            Direction::Lower => "lower",
        }
    }

    /// Is `a` better than `b`?
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::Higher => a > b,
            Direction::Lower => a < b,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rag {
    Red,
    Amber,
    Green,
}

impl Rag {
    pub fn as_str(self) -> &'static str {
        match self {
            Rag::Red => "red",
            Rag::Amber => "amber",
            Rag::Green => "green",
        }
    }

    pub fn parse(text: &str) -> Result<Rag, String> {
        match text {
            "red" => Ok(Rag::Red),
            "amber" => Ok(Rag::Amber),
            "green" => Ok(Rag::Green),
            _ => Err("must be red, amber or green".into()),
        }
    }
}

/// A KPI's target and the two thresholds that turn it amber and red.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Thresholds {
    pub direction: Direction,
    pub target: f64,
    /// Worse than this is at best amber.
    pub amber: f64,
    /// Worse than this is red.
    pub red: f64,
}

impl Thresholds {
    /// Checks the order: for "higher is better" red ≤ amber ≤ target; for "lower", the reverse.
    pub fn new(direction: Direction, target: f64, amber: f64, red: f64) -> Result<Thresholds, (&'static str, String)> {
        for (field, v) in [("target", target), ("amber", amber), ("red", red)] {
            if !v.is_finite() {
                return Err((field, "must be a number".into()));
            }
        }
        let ordered = match direction {
            Direction::Higher => red <= amber && amber <= target,
            Direction::Lower => red >= amber && amber >= target,
        };
        if !ordered {
            let order = if direction == Direction::Higher { "red ≤ amber ≤ target" } else { "red ≥ amber ≥ target" };
            return Err(("amber", format!("thresholds must be ordered {order} when {} is better", direction.as_str())));
        }
        Ok(Thresholds { direction, target, amber, red })
    }

    /// Green when the value reaches the amber threshold, amber down to the red threshold, red
    /// beyond it.
    pub fn rag(&self, value: f64) -> Rag {
        let d = self.direction;
        if d.better(self.red, value) {
            Rag::Red
        } else if d.better(self.amber, value) {
            Rag::Amber
        } else {
            Rag::Green
        }
    }
}

/// A version of a KPI's thresholds, in force from the period starting `effective_from`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Version {
    pub effective_from: Date,
    pub thresholds: Thresholds,
}

/// The version in force for a period starting `start`: the latest that took effect by then (the
/// first version also covers periods before it, such as history loaded later).
pub fn version_in_force(versions: &[Version], start: Date) -> Option<&Version> {
    versions
        .iter()
        .filter(|v| v.effective_from <= start)
        .max_by_key(|v| v.effective_from)
        .or_else(|| versions.iter().min_by_key(|v| v.effective_from))
}

/// Which way the latest value moved against the one before, judged by the direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    Better,
    Worse,
    Level,
}

impl Trend {
    /// The scorecard's arrow, and the word that reads it.
    pub fn arrow(self) -> (&'static str, &'static str) {
        match self {
            Trend::Better => ("▲", "improving"),
            Trend::Worse => ("▼", "worsening"),
            Trend::Level => ("▶", "level"),
        }
    }
}

pub fn trend(direction: Direction, previous: f64, latest: f64) -> Trend {
    if direction.better(latest, previous) {
        Trend::Better
    } else if direction.better(previous, latest) {
        Trend::Worse
    } else {
        Trend::Level
    }
}

/// A measured value: finite, written with a point (`12.5`, `-3`, `97%`). A comma is refused, not
/// guessed at: "92,5" is 92.5 in half the world and 925 in the other half.
pub fn parse_value(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    if trimmed.contains(',') {
        // One comma and no point is a decimal comma; otherwise the commas group thousands.
        let suggested =
            if trimmed.matches(',').count() == 1 && !trimmed.contains('.') { trimmed.replace(',', ".") } else { trimmed.replace(',', "") };
        return Err(format!("{} has a comma: use a point: {}", crate::text::quoted(trimmed), suggested.trim_end_matches('%')));
    }
    let cleaned = trimmed.strip_suffix('%').unwrap_or(trimmed).trim();
    match cleaned.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{} is not a number", crate::text::quoted(trimmed))),
    }
}

/// Whether a KPI's unit is a percentage, whose values lie between 0 and 100.
fn percentage(unit: &str) -> bool {
    matches!(unit.trim().to_lowercase().as_str(), "%" | "percent" | "per cent")
}

/// Checks a value against what its unit allows: a percentage lies between 0 and 100.
pub fn within_unit(unit: &str, value: f64) -> Result<f64, String> {
    if percentage(unit) && !(0.0..=100.0).contains(&value) {
        return Err(format!("{} is not a percentage: it must lie between 0 and 100", format_value(value)));
    }
    Ok(value)
}

/// A value of a KPI measured in `unit`, from text: [`parse_value`], then [`within_unit`].
pub fn parse_measured(unit: &str, text: &str) -> Result<f64, String> {
    parse_value(text).and_then(|v| within_unit(unit, v))
}

/// The periods that may be recorded: from the one containing the relationship's start to the one
/// containing today (in the relationship's zone). A mistyped year is refused, not kept as the
/// latest value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recordable {
    pub started: Date,
    pub today: Date,
}

impl Recordable {
    pub fn check(&self, period: Period) -> Result<Period, String> {
        let (first, current) = (Period::containing(period.cadence, self.started), Period::containing(period.cadence, self.today));
        if period < first {
            Err(format!("{} is before the relationship began: its first period is {}", period.label(), first.label()))
        } else if period > current {
            Err(format!("{} has not begun: the current period is {}", period.label(), current.label()))
        } else {
            Ok(period)
        }
    }
}

/// A new action's due date: today (in the relationship's zone) or later. A change of an existing
/// action may keep the past date it had, so only creation asks this.
pub fn new_due_date(due: Date, today: Date) -> Result<Date, String> {
    if due < today { Err(format!("{due} has passed: an action is due today ({today}) or later")) } else { Ok(due) }
}

impl Thresholds {
    /// Green by the thresholds yet short of the target (below it, or above it when lower is
    /// better): a cue that a colour alone would hide.
    pub fn short_of_target(&self, value: f64) -> bool {
        self.rag(value) == Rag::Green && self.direction.better(self.target, value)
    }
}

/// A value as text, without float noise (`12.5`, `3`, `0.3333`).
/// A value with its unit, as people write it: `97.5%`, `12 days`.
pub fn with_unit(value: impl std::borrow::Borrow<f64>, unit: &str) -> String {
    let mut text = format_value(*value.borrow());
    if !unit.is_empty() {
        if unit != "%" {
            text.push(' ');
        }
        text.push_str(unit);
    }
    text
}

pub fn format_value(value: f64) -> String {
    let mut text = String::with_capacity(24);
    if value == value.trunc() && value.abs() < 1e15 {
        // A whole number, its digits only (`+ 0.0` turns -0 into 0).
        let _ = write_fixed(&mut text, value + 0.0, 0);
        return text;
    }
    let _ = write_fixed(&mut text, value, 4);
    text.truncate(text.trim_end_matches('0').trim_end_matches('.').len());
    text
}

/// Writes `value` as `{:.decimals$}` does, without the float formatter's exact mode (pages that
/// show hundreds of numbers spent a sixth of their time in it): the value is counted in units of
/// its last decimal as a whole number. Values within reach of a tie (where that rounding could
/// differ), huge ones, NaN and more than 12 decimals still go through the formatter.
pub fn write_fixed(out: &mut impl std::fmt::Write, value: f64, decimals: usize) -> std::fmt::Result {
    const UNITS: [f64; 13] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12];
    let Some(unit) = UNITS.get(decimals) else { return write!(out, "{value:.decimals$}") };
    let scaled = value.abs() * unit;
    // Whole units and the rest by a cast (floor and round are library calls on this target).
    let whole = if (0.0..1e15).contains(&scaled) { scaled as u64 } else { return write!(out, "{value:.decimals$}") };
    let rest = scaled - whole as f64;
    if (rest - 0.5).abs() < 1e-6 {
        return write!(out, "{value:.decimals$}");
    }
    // The digits, written backwards into a buffer and handed over in one piece: through
    // `write!` each number cost two passes of the formatting machinery.
    let mut units = whole + u64::from(rest > 0.5);
    let mut text = [0u8; 48];
    let mut at = text.len();
    let mut push = |byte: u8| {
        at -= 1;
        text[at] = byte;
    };
    for _ in 0..decimals {
        push(b'0' + (units % 10) as u8);
        units /= 10;
    }
    if decimals > 0 {
        push(b'.');
    }
    loop {
        push(b'0' + (units % 10) as u8);
        units /= 10;
        if units == 0 {
            break;
        }
    }
    if value.is_sign_negative() {
        push(b'-');
    }
    out.write_str(std::str::from_utf8(&text[at..]).map_err(|_| std::fmt::Error)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn periods_parse_and_label() {
        let cases = [
            (Cadence::Monthly, "2026-03", "2026-03", "2026-03-01"),
            (Cadence::Monthly, "2026-03-17", "2026-03", "2026-03-01"),
            (Cadence::Quarterly, "2026-Q2", "2026-Q2", "2026-04-01"),
            (Cadence::Quarterly, "2026-05-17", "2026-Q2", "2026-04-01"),
            (Cadence::Weekly, "2026-W10", "2026-W10", "2026-03-02"),
            (Cadence::Weekly, "2026-03-05", "2026-W10", "2026-03-02"),
            (Cadence::Daily, "2026-03-05", "2026-03-05", "2026-03-05"),
        ];
        for (cadence, text, label, start) in cases {
            let p = Period::parse(cadence, text).unwrap();
            assert_eq!((p.label(), p.start.to_string()), (label.to_owned(), start.to_owned()), "{text}");
            assert_eq!(Period::parse(cadence, &p.label()).unwrap(), p, "labels parse back");
        }
        for (cadence, bad) in [
            (Cadence::Monthly, "2026-13"),
            (Cadence::Quarterly, "2026-Q5"),
            (Cadence::Daily, "2026-03"),
            (Cadence::Weekly, "2026-W60"),
            (Cadence::Monthly, "March"),
        ] {
            assert!(Period::parse(cadence, bad).is_err(), "{bad}");
        }
        let march = Period::parse(Cadence::Monthly, "2026-03").unwrap();
        assert_eq!(march.end().to_string(), "2026-03-31");
        assert_eq!(march.due().to_string(), "2026-04-10");
        assert_eq!(march.last_n(3).iter().map(Period::label).collect::<Vec<_>>(), ["2026-01", "2026-02", "2026-03"]);
    }

    #[test]
    fn rag_at_the_edges() {
        let up = Thresholds::new(Direction::Higher, 98.0, 95.0, 90.0).unwrap();
        assert_eq!(
            [up.rag(99.0), up.rag(95.0), up.rag(94.9), up.rag(90.0), up.rag(89.9)],
            [Rag::Green, Rag::Green, Rag::Amber, Rag::Amber, Rag::Red]
        );
        let down = Thresholds::new(Direction::Lower, 2.0, 5.0, 10.0).unwrap();
        assert_eq!(
            [down.rag(1.0), down.rag(5.0), down.rag(5.1), down.rag(10.0), down.rag(10.1)],
            [Rag::Green, Rag::Green, Rag::Amber, Rag::Amber, Rag::Red]
        );
        assert!(Thresholds::new(Direction::Higher, 90.0, 95.0, 80.0).is_err());
        assert!(Thresholds::new(Direction::Lower, 2.0, 1.0, 10.0).is_err());
        assert!(Thresholds::new(Direction::Higher, f64::NAN, 1.0, 0.0).is_err());
    }

    #[test]
    fn values() {
        assert_eq!(parse_value(" 1234.5 ").unwrap(), 1234.5);
        assert_eq!(parse_value("97%").unwrap(), 97.0);
        assert_eq!(parse_value("92,5").unwrap_err(), "\"92,5\" has a comma: use a point: 92.5");
        assert!(parse_value("1,234.5").unwrap_err().ends_with("use a point: 1234.5"));
        assert!(parse_value("12,5%").unwrap_err().ends_with("use a point: 12.5"));
        assert!(parse_value("n/a").is_err() && parse_value("inf").is_err());
        for i in -200_000..200_000i64 {
            for v in [i as f64 * 0.000137, i as f64 * 0.731, i as f64 * 1e-7, (i as f64).sqrt()] {
                let slow = format!("{v:.4}");
                let slow = if v == v.trunc() && v.abs() < 1e15 {
                    format!("{}", v as i64)
                } else {
                    slow.trim_end_matches('0').trim_end_matches('.').to_owned()
                };
                assert_eq!(format_value(v), slow, "{v}");
            }
        }
        assert_eq!(format_value(12.0), "12");
        assert_eq!([format_value(-0.0), format_value(-12.0), format_value(1e14)], ["0", "-12", "100000000000000"]);
        assert_eq!(format_value(12.5), "12.5");
        assert_eq!(format_value(1.0 / 3.0), "0.3333");
    }

    #[test]
    fn percentages_lie_between_0_and_100() {
        assert_eq!(parse_measured("%", "100"), Ok(100.0));
        assert_eq!(parse_measured("%", "0"), Ok(0.0));
        assert_eq!(parse_measured("%", "-5").unwrap_err(), "-5 is not a percentage: it must lie between 0 and 100");
        assert!(parse_measured("%", "100000").unwrap_err().contains("between 0 and 100"));
        assert_eq!(parse_measured("NCRs", "-5"), Ok(-5.0));
    }

    #[test]
    fn recordable_periods_run_from_the_start_to_today() {
        let r = Recordable { started: Date::constant(2024, 4, 15), today: Date::constant(2026, 12, 7) };
        let month = |text| Period::parse(Cadence::Monthly, text).unwrap();
        assert!(r.check(month("2024-04")).is_ok() && r.check(month("2026-12")).is_ok());
        assert_eq!(r.check(month("2024-03")).unwrap_err(), "2024-03 is before the relationship began: its first period is 2024-04");
        assert_eq!(r.check(month("2031-01")).unwrap_err(), "2031-01 has not begun: the current period is 2026-12");
        let quarter = Period::parse(Cadence::Quarterly, "2024-Q2").unwrap();
        assert!(
            r.check(quarter).is_ok()
                && r.check(quarter.previous()).is_err()
                && r.check(Period::parse(Cadence::Quarterly, "2027-Q1").unwrap()).is_err()
        );
    }

    #[test]
    fn a_new_action_is_due_today_or_later() {
        let today = Date::constant(2026, 3, 2);
        assert_eq!(new_due_date(today, today), Ok(today));
        assert_eq!(new_due_date(Date::constant(2031, 1, 1), today), Ok(Date::constant(2031, 1, 1)));
        assert_eq!(
            new_due_date(Date::constant(2026, 3, 1), today).unwrap_err(),
            "2026-03-01 has passed: an action is due today (2026-03-02) or later"
        );
    }

    proptest! {
        #[test]
        fn a_comma_is_never_read_as_a_number(whole in 0u32..100_000, part in 0u32..1000) {
            let error = parse_value(&format!("{whole},{part}")).unwrap_err();
            prop_assert!(error.ends_with(&format!("use a point: {whole}.{part}")), "{}", error);
        }

        #[test]
        fn short_of_target_only_when_green_and_missing_it(
            higher in any::<bool>(), a in -1e6..1e6f64, b in -1e6..1e6f64, c in -1e6..1e6f64, value in -1e6..1e6f64,
        ) {
            let mut sorted = [a, b, c];
            sorted.sort_by(f64::total_cmp);
            let [low, mid, high] = sorted;
            let t = if higher {
                Thresholds::new(Direction::Higher, high, mid, low).unwrap()
            } else {
                Thresholds::new(Direction::Lower, low, mid, high).unwrap()
            };
            let short = t.short_of_target(value);
            let misses = if higher { value < t.target } else { value > t.target };
            prop_assert_eq!(short, t.rag(value) == Rag::Green && misses);
            // At the amber threshold a value is green, and short of the target unless it is the target.
            prop_assert_eq!(t.short_of_target(t.amber), t.amber != t.target);
            prop_assert!(!t.short_of_target(t.target));
        }
    }

    #[track_caller]
    fn fixed_as_formatted(v: f64, decimals: usize) {
        let mut fast = String::new();
        write_fixed(&mut fast, v, decimals).unwrap();
        assert_eq!(fast, format!("{v:.decimals$}"), "{v} to {decimals} decimals");
    }

    #[test]
    fn fixed_decimals_as_the_formatter_writes_them() {
        for v in [0.0, -0.0, -0.01, 0.05, 0.95, 9.96, -9.96, 99.99, 1e14, 123456789.123, f64::NAN, f64::INFINITY, -1e300, 5e-324] {
            for decimals in 0..16 {
                fixed_as_formatted(v, decimals);
            }
        }
    }

    proptest! {
        #[test]
        fn fixed_decimals_for_any_value(v in any::<f64>(), small in -1e6..1e6f64, decimals in 0usize..16) {
            fixed_as_formatted(v, decimals);
            fixed_as_formatted(small, decimals);
        }
    }

    fn thresholds() -> impl Strategy<Value = Thresholds> {
        (any::<bool>(), -1000.0..1000.0f64, 0.0..100.0f64, 0.0..100.0f64).prop_map(|(higher, target, a, b)| {
            if higher {
                Thresholds::new(Direction::Higher, target, target - a, target - a - b).unwrap()
            } else {
                Thresholds::new(Direction::Lower, target, target + a, target + a + b).unwrap()
            }
        })
    }

    proptest! {
        #[test]
        fn a_better_value_never_has_a_worse_rag(t in thresholds(), x in -2000.0..2000.0f64, y in -2000.0..2000.0f64) {
            let (better, worse) = if t.direction.better(x, y) { (x, y) } else { (y, x) };
            prop_assert!(t.rag(better) >= t.rag(worse));
        }

        #[test]
        fn meeting_the_target_is_green_and_passing_red_is_red(t in thresholds(), slack in 0.001..100.0f64) {
            let beyond = |v: f64, by: f64| if t.direction == Direction::Higher { v - by } else { v + by };
            prop_assert_eq!(t.rag(t.target), Rag::Green);
            prop_assert_eq!(t.rag(beyond(t.red, slack)), Rag::Red);
        }

        #[test]
        fn the_version_in_force_is_the_latest_started(offsets in prop::collection::btree_set(0i64..1000, 1..8), probe in -100i64..1100) {
            let base = Date::constant(2024, 1, 1);
            let t = Thresholds::new(Direction::Higher, 1.0, 1.0, 1.0).unwrap();
            let versions: Vec<Version> = offsets.iter().map(|d| Version { effective_from: base.checked_add(d.days()).unwrap(), thresholds: t }).collect();
            let day = base.checked_add(probe.days()).unwrap();
            let v = version_in_force(&versions, day).unwrap();
            let started: Vec<&Version> = versions.iter().filter(|v| v.effective_from <= day).collect();
            match started.last() {
                Some(latest) => prop_assert_eq!(v.effective_from, latest.effective_from),
                None => prop_assert_eq!(v.effective_from, versions[0].effective_from),
            }
        }

        #[test]
        fn periods_tile_the_calendar(days in 0i64..3000, c in prop::sample::select(Cadence::ALL.to_vec())) {
            let date = Date::constant(2020, 1, 1).checked_add(days.days()).unwrap();
            let p = Period::containing(c, date);
            prop_assert!(p.start <= date && date <= p.end());
            prop_assert_eq!(p.next().start, p.end().tomorrow().unwrap());
            prop_assert_eq!(p.next().previous(), p);
            prop_assert_eq!(p.previous().start, p.start.checked_sub(c.step()).unwrap(), "counted as the calendar counts");
            prop_assert_eq!(Period::parse(c, &p.label()).unwrap(), p);
        }
    }
}
