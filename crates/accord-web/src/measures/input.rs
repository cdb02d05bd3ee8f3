//! What people and programs send about objectives, KPIs, measurements and obligations, parsed
//! into domain values (every bad field named). Pages and the API share all of it.

use crate::fields::{self, number, whole};
use crate::input::{Known, id_in, long, optional_id, title, version};
use accord_domain::Invalid;
use accord_domain::measure::{Cadence, Direction, Period, Recordable, Thresholds, parse_measured};
use accord_domain::relationship::parse_date;
use accord_domain::text::parse_long_text;
use accord_store::*;
use jiff::civil::Date;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ObjectiveInput {
    #[schema(required, schema_with = fields::name)]
    pub title: String,
    #[schema(schema_with = fields::long_text)]
    pub description: String,
    /// Ids of the owning parties (at least one).
    #[schema(required, value_type = Vec<uuid::Uuid>, min_items = 1)]
    pub parties: Vec<String>,
    /// Months between relevance reviews (1 to 60; default 6).
    #[serde(deserialize_with = "whole")]
    #[schema(value_type = i32, minimum = 1, maximum = 60)]
    pub review_months: String,
    #[schema(schema_with = fields::first_review)]
    pub next_review: String,
}

fn months(text: &str) -> Result<i32, String> {
    if text.trim().is_empty() {
        return Ok(6);
    }
    match text.trim().parse::<i32>() {
        Ok(m) if (1..=60).contains(&m) => Ok(m),
        _ => Err("must be a whole number of months from 1 to 60".into()),
    }
}

fn review_date(text: &str, months: i32, today: Date) -> Result<Date, String> {
    if text.trim().is_empty() { Ok(today.checked_add(jiff::Span::new().months(months)).unwrap_or(today)) } else { parse_date(text) }
}

impl ObjectiveInput {
    pub fn parse(&self, relationship_id: Uuid, parties: &[Uuid], today: Date) -> Result<NewObjective, Invalid> {
        let mut invalid = Invalid::default();
        let title = invalid.check("title", title(&self.title));
        let description = invalid.check("description", long(&self.description));
        let mut owners: Vec<Uuid> = self.parties.iter().filter_map(|p| invalid.check("parties", id_in("parties", p, parties))).collect();
        owners.sort();
        owners.dedup();
        if self.parties.is_empty() {
            invalid.check::<()>("parties", Err("name at least one owning party".into()));
        }
        let review_months = invalid.check("review_months", months(&self.review_months));
        let next_review = invalid.check("next_review", review_date(&self.next_review, review_months.unwrap_or(6), today));
        invalid.finish()?;
        Ok(NewObjective {
            relationship_id,
            title: title.unwrap_or_default(),
            description: description.unwrap_or_default(),
            parties: owners,
            review_months: review_months.unwrap_or(6),
            next_review: next_review.unwrap_or(today),
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ReviewInput {
    /// The objective's `version` you read.
    #[serde(deserialize_with = "whole")]
    #[schema(required, value_type = i64, minimum = 1)]
    pub version: String,
    /// `relevant`, `revised` or `retired`.
    #[schema(required, schema_with = fields::verdict)]
    pub verdict: String,
    #[schema(required, schema_with = fields::name)]
    pub reason: String,
    #[schema(schema_with = fields::new_title)]
    pub title: String,
    #[schema(schema_with = fields::long_text)]
    pub description: String,
    #[schema(schema_with = fields::next_review)]
    pub next_review: String,
}

impl ReviewInput {
    pub fn parse(&self, objective: &Objective, today: Date) -> Result<(ObjectiveReview, i64), Invalid> {
        let mut invalid = Invalid::default();
        let version = invalid.check("version", version(&self.version));
        let verdict = invalid.check("verdict", Verdict::parse(&self.verdict));
        let reason = invalid.check("reason", title(&self.reason).map_err(|m| format!("{m}: say why")));
        let revised = verdict == Some(Verdict::Revised);
        // A new wording is checked whenever one is sent, and kept only by a revision.
        let new_title = if revised || !self.title.trim().is_empty() { invalid.check("title", title(&self.title)) } else { None };
        let new_description = if self.description.trim().is_empty() { None } else { invalid.check("description", long(&self.description)) };
        let (new_title, new_description) = if revised { (new_title, new_description) } else { (None, None) };
        let next_review = invalid.check("next_review", review_date(&self.next_review, objective.review_months, today));
        invalid.finish()?;
        let review = ObjectiveReview {
            verdict: verdict.unwrap_or(Verdict::Relevant),
            reason: reason.unwrap_or_default(),
            title: new_title,
            description: new_description,
            next_review: next_review.unwrap_or(today),
        };
        Ok((review, version.unwrap_or_default()))
    }
}

/// Thresholds from text, each within what the KPI's unit allows, naming the field at fault.
fn thresholds(invalid: &mut Invalid, direction: Option<Direction>, unit: &str, target: &str, amber: &str, red: &str) -> Option<Thresholds> {
    let target = invalid.check("target", parse_measured(unit, target));
    let amber = invalid.check("amber", parse_measured(unit, amber));
    let red = invalid.check("red", parse_measured(unit, red));
    match (direction, target, amber, red) {
        (Some(d), Some(t), Some(a), Some(r)) => match Thresholds::new(d, t, a, r) {
            Ok(th) => Some(th),
            Err((field, message)) => invalid.check(field, Err(message)),
        },
        _ => None,
    }
}

fn period_start(cadence: Cadence, text: &str, today: Date) -> Result<Date, String> {
    if text.trim().is_empty() { Ok(Period::containing(cadence, today).start) } else { Period::parse(cadence, text).map(|p| p.start) }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct KpiInput {
    #[schema(required, schema_with = fields::name)]
    pub name: String,
    #[schema(schema_with = fields::long_text)]
    pub definition: String,
    #[schema(schema_with = fields::unit)]
    pub unit: String,
    /// `higher` or `lower` (which is better).
    #[schema(required, schema_with = fields::direction)]
    pub direction: String,
    /// `daily`, `weekly`, `monthly` or `quarterly`.
    #[schema(required, schema_with = fields::cadence)]
    pub cadence: String,
    #[schema(schema_with = fields::kpi_party)]
    pub party: String,
    #[schema(schema_with = fields::reporter)]
    pub reporter: String,
    /// Ids of the objectives it measures.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub objectives: Vec<String>,
    #[serde(deserialize_with = "number")]
    #[schema(required, schema_with = fields::decimal)]
    pub target: String,
    #[serde(deserialize_with = "number")]
    #[schema(required, schema_with = fields::decimal)]
    pub amber: String,
    #[serde(deserialize_with = "number")]
    #[schema(required, schema_with = fields::decimal)]
    pub red: String,
    /// The first period the thresholds apply to (e.g. `2026-03`); default: the current period.
    pub effective_from: String,
}

impl KpiInput {
    pub fn parse(&self, relationship_id: Uuid, known: &Known, today: Date) -> Result<NewKpi, Invalid> {
        let mut invalid = Invalid::default();
        let name = invalid.check("name", title(&self.name));
        let definition = invalid.check("definition", long(&self.definition));
        let unit = invalid.check("unit", parse_long_text(&self.unit, 20));
        let direction = invalid.check("direction", Direction::parse(&self.direction));
        let cadence = invalid.check("cadence", Cadence::parse(&self.cadence));
        let party = invalid.check("party", optional_id(&self.party, &known.parties, "parties"));
        let reporter = invalid.check("reporter", optional_id(&self.reporter, &known.members, "members"));
        let objectives: Vec<Uuid> =
            self.objectives.iter().filter_map(|o| invalid.check("objectives", id_in("objectives", o, &known.objectives))).collect();
        let thresholds = thresholds(&mut invalid, direction, unit.as_deref().unwrap_or_default(), &self.target, &self.amber, &self.red);
        let effective_from = cadence.and_then(|c| invalid.check("effective_from", period_start(c, &self.effective_from, today)));
        invalid.finish()?;
        let (Some(thresholds), Some(cadence), Some(effective_from)) = (thresholds, cadence, effective_from) else {
            return Err(Invalid::one("body", "incomplete"));
        };
        Ok(NewKpi {
            relationship_id,
            name: name.unwrap_or_default(),
            definition: definition.unwrap_or_default(),
            unit: unit.unwrap_or_default(),
            cadence,
            party_id: party.flatten(),
            reporter_id: reporter.flatten(),
            objectives,
            thresholds,
            effective_from,
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct VersionInput {
    /// The KPI's `version` you read.
    #[serde(deserialize_with = "whole")]
    #[schema(required, value_type = i64, minimum = 1)]
    pub version: String,
    /// The first period the new thresholds apply to, e.g. `2026-07`.
    #[schema(required)]
    pub effective_from: String,
    #[serde(deserialize_with = "number")]
    #[schema(required, schema_with = fields::decimal)]
    pub target: String,
    #[serde(deserialize_with = "number")]
    #[schema(required, schema_with = fields::decimal)]
    pub amber: String,
    #[serde(deserialize_with = "number")]
    #[schema(required, schema_with = fields::decimal)]
    pub red: String,
}

impl VersionInput {
    pub fn parse(&self, kpi: &Kpi) -> Result<(Date, Thresholds, i64), Invalid> {
        let mut invalid = Invalid::default();
        let version = invalid.check("version", version(&self.version));
        let from = invalid.check("effective_from", Period::parse(kpi.cadence, &self.effective_from).map(|p| p.start));
        let thresholds = thresholds(&mut invalid, Some(kpi.direction), &kpi.unit, &self.target, &self.amber, &self.red);
        invalid.finish()?;
        match (from, thresholds, version) {
            (Some(f), Some(t), Some(v)) => Ok((f, t, v)),
            _ => Err(Invalid::one("body", "incomplete")),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct MeasurementBody {
    /// The KPI's id (the API; pages take it from the address).
    #[schema(required, format = Uuid)]
    pub kpi_id: String,
    /// The period, as the KPI's cadence names it: `2026-03`, `2026-Q1`, `2026-W09` or a date; from
    /// the period of the relationship's start to the current one.
    #[schema(required)]
    pub period: String,
    #[serde(deserialize_with = "number")]
    #[schema(required, schema_with = fields::decimal)]
    pub value: String,
    #[schema(schema_with = fields::comment)]
    pub comment: String,
}

impl MeasurementBody {
    /// The value as the KPI's unit allows, for a period `recordable` admits.
    pub fn parse(&self, kpi: &Kpi, recordable: Recordable) -> Result<MeasurementInput, Invalid> {
        let mut invalid = Invalid::default();
        let period = invalid.check("period", Period::parse(kpi.cadence, &self.period).and_then(|p| recordable.check(p)));
        let value = invalid.check("value", parse_measured(&kpi.unit, &self.value));
        let comment = invalid.check("comment", parse_long_text(&self.comment, 2000));
        invalid.finish()?;
        match (period, value) {
            (Some(p), Some(v)) => {
                Ok(MeasurementInput { kpi_id: kpi.id, period_start: p.start, value: v, comment: comment.unwrap_or_default() })
            }
            _ => Err(Invalid::one("body", "incomplete")),
        }
    }
}

pub const RECURRENCES: [&str; 5] = ["once", "weekly", "monthly", "quarterly", "yearly"];

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ObligationInput {
    /// The committed party's id.
    #[schema(required, format = Uuid)]
    pub party: String,
    #[schema(required, schema_with = fields::name)]
    pub title: String,
    #[schema(schema_with = fields::long_text)]
    pub description: String,
    /// `once`, `weekly`, `monthly`, `quarterly` or `yearly`.
    #[schema(schema_with = fields::recurrence)]
    pub recurrence: String,
    /// YYYY-MM-DD: the (next) due date.
    #[schema(required, format = Date)]
    pub due_date: String,
}

fn recurrence(text: &str) -> Result<String, String> {
    let text = if text.trim().is_empty() { "once" } else { text.trim() };
    RECURRENCES.contains(&text).then(|| text.to_owned()).ok_or_else(|| format!("must be one of {}", RECURRENCES.join(", ")))
}

impl ObligationInput {
    pub fn parse(&self, relationship_id: Uuid, parties: &[Uuid]) -> Result<NewObligation, Invalid> {
        let mut invalid = Invalid::default();
        let party = invalid.check("party", id_in("parties", &self.party, parties));
        let title = invalid.check("title", title(&self.title));
        let description = invalid.check("description", long(&self.description));
        let recurrence = invalid.check("recurrence", recurrence(&self.recurrence));
        let due = invalid.check("due_date", parse_date(&self.due_date));
        invalid.finish()?;
        match (party, due) {
            (Some(party_id), Some(due_date)) => Ok(NewObligation {
                relationship_id,
                party_id,
                title: title.unwrap_or_default(),
                description: description.unwrap_or_default(),
                recurrence: recurrence.unwrap_or_default(),
                due_date,
            }),
            _ => Err(Invalid::one("body", "incomplete")),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ObligationUpdate {
    #[serde(deserialize_with = "whole")]
    #[schema(required, value_type = i64, minimum = 1)]
    pub version: String,
    /// `not_started`, `on_track`, `at_risk`, `delivered` or `missed`.
    #[schema(required, schema_with = fields::obligation_status)]
    pub status: String,
    #[schema(schema_with = fields::long_text)]
    pub evidence: String,
    #[schema(schema_with = fields::new_due_date)]
    pub due_date: String,
}

impl ObligationUpdate {
    pub fn parse(&self, current: &Obligation) -> Result<(ObligationChange, i64), Invalid> {
        let mut invalid = Invalid::default();
        let version = invalid.check("version", version(&self.version));
        let status = invalid.check("status", ObligationStatus::parse(&self.status));
        let evidence = invalid.check("evidence", long(&self.evidence));
        let due =
            if self.due_date.trim().is_empty() { Some(current.due_date) } else { invalid.check("due_date", parse_date(&self.due_date)) };
        invalid.finish()?;
        match (status, due, version) {
            (Some(status), Some(due_date), Some(v)) => {
                Ok((ObligationChange { status, evidence: evidence.unwrap_or_default(), due_date }, v))
            }
            _ => Err(Invalid::one("body", "incomplete")),
        }
    }
}

/// Why a recorded value is retracted: it stays in history, marked retracted with this reason.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RetractInput {
    /// Why the value was recorded by mistake (up to 2,000 characters).
    #[schema(required, schema_with = reason_schema)]
    pub reason: String,
}

/// A reason: some text besides spaces, without NUL, up to 2,000 characters.
fn reason_schema() -> impl Into<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(2000)).pattern(Some(r"^[^\u0000]*\S[^\u0000]*$"))
}

impl RetractInput {
    pub fn parse(&self) -> Result<String, Invalid> {
        let reason = parse_long_text(&self.reason, 2000).map_err(|m| Invalid::one("reason", m))?;
        if reason.is_empty() {
            return Err(Invalid::one("reason", "say why the value is retracted"));
        }
        Ok(reason)
    }
}
