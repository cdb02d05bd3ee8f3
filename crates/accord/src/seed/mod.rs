//! `accord seed`: fills an empty database with years of realistic history at scale, through the
//! same store calls the site makes, so that `scripts/bench` measures pages over data that looks
//! like a real site's.
//!
//! Every relationship's history is planned first as dated steps (people join, KPIs are defined and
//! reported, actions and obligations move, issues are raised, discussed, escalated and resolved);
//! the steps are then played day by day, oldest first, with the escalation sweep run at the end of
//! each simulated day, as a server would have. Ids are UUIDv7 stamped with those dates. A fixed
//! random seed makes every run the same.
//!
//! The hidden options build the fixtures of the batch timings: `--profile import` (1,000 daily
//! KPIs and a 1,000,000-row CSV to import), `--profile sweep` (100,000 open issues, 1,000 of them
//! due), `--time-sweep` (one timed sweep) and `--audit-events N` (an export of N chained events).

use crate::import::thousands;
use accord_domain::EventKind;
use accord_domain::Invalid;
use accord_domain::audit::{self, ChainHead, Draft};
use accord_domain::escalation::Limit;
use accord_domain::measure::{Cadence, Direction, Period, Rag, Thresholds};
use accord_domain::membership::Role;
use accord_domain::relationship::{NewRelationship, RelationshipInput};
use accord_domain::text::{Email, Name};
use accord_store::{
    ActionChange, ActionSource, ActionStatus, LadderLevel, MeasurementInput, NewAction, NewIssue, NewKpi, NewObjective, NewObligation,
    NewUser, ObjectiveReview, ObligationChange, ObligationStatus, PageRequest, Store, Verdict, Visibility,
};
use accord_web::secrets;
use anyhow::{Context, anyhow, bail};
use clap::{Args, ValueEnum};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

mod fixtures;
mod progress;
mod words;

use fixtures::*;
use progress::*;
use words::*;

/// The password of every seeded account unless `--password` names another.
pub const DEFAULT_PASSWORD: &str = "accord-bench-password";

#[derive(Args)]
pub struct SeedArgs {
    /// `large`: 500 relationships of ordinary size and one heavy one (80 members, 40 KPIs over 60
    /// months, 10,000 issues, 5,000 actions); `small`: the same shapes at about 1/20; `tiny`: a
    /// smoke test.
    #[arg(long, value_enum, default_value_t = Profile::Large)]
    pub profile: Profile,
    /// The password of every seeded account (one hash, shared).
    #[arg(long, env = "ACCORD_SEED_PASSWORD", default_value = DEFAULT_PASSWORD)]
    pub password: String,
    /// Relationships played at once. Default: 1 on SQLite (it has one writer: more only queue),
    /// 8 on PostgreSQL.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,
    /// Also write what was seeded (ids, sign-in, counts) as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// The CSV that `--profile import` writes; the export that `--audit-events` writes.
    #[arg(long, hide = true, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write a chain of this many audit events to `--out` (JSON Lines, as `audit export`).
    #[arg(long, hide = true, requires = "out")]
    pub audit_events: Option<u64>,
    /// Run one escalation sweep now on an already seeded database and print how long it took.
    #[arg(long, hide = true)]
    pub time_sweep: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    Large,
    Small,
    Tiny,
    /// 1,000 daily KPIs in one relationship and a CSV of 1,000 days of them (`--out`).
    #[value(hide = true)]
    Import,
    /// The same with 50 days.
    #[value(hide = true)]
    ImportSmall,
    /// 100,000 open issues, 1,000 of them past their deadline.
    #[value(hide = true)]
    Sweep,
    /// 5,000 open issues, 50 of them past their deadline.
    #[value(hide = true)]
    SweepSmall,
}

impl SeedArgs {
    /// Work that needs no database.
    pub fn offline(&self) -> bool {
        self.audit_events.is_some()
    }
}

/// `--audit-events N --out FILE`.
pub fn run_offline(args: &SeedArgs) -> anyhow::Result<ExitCode> {
    let (Some(count), Some(out)) = (args.audit_events, &args.out) else { bail!("--audit-events needs --out FILE") };
    let started = Instant::now();
    write_audit_export(count, out)?;
    eprintln!("wrote {} audit events to {} in {:.1} s", thousands(count as usize), out.display(), started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

pub async fn run(store: Arc<dyn Store>, args: SeedArgs, now: Timestamp) -> anyhow::Result<ExitCode> {
    if args.time_sweep {
        let started = Instant::now();
        let report = store.sweep(now).await?;
        let seconds = started.elapsed().as_secs_f64();
        println!("{}", json!({"seconds": seconds, "escalated": report.escalated, "reminded": report.reminded}));
        return Ok(ExitCode::SUCCESS);
    }
    let empty = store.list_organisations(Visibility::All, PageRequest::first(1)).await?.items.is_empty()
        && store.list_users(PageRequest::first(1)).await?.items.is_empty()
        && store.list_relationships(None, PageRequest::first(1)).await?.items.is_empty();
    if !empty {
        bail!(
            "the database already holds organisations, accounts or relationships: `accord seed` fills only an empty database \
             (give a new SQLite file or an empty PostgreSQL database)"
        );
    }
    secrets::check_password(&args.password).map_err(|m| anyhow!("--password {m}"))?;
    let password = args.password.clone();
    let password_hash = tokio::task::spawn_blocking(move || secrets::hash_password(&password)).await?.map_err(|e| anyhow!(e))?;
    let jobs = args.jobs.map(usize::from).unwrap_or(if store.backend() == "sqlite" { 1 } else { 8 });
    let started = Instant::now();
    let mut summary = match args.profile {
        Profile::Large => history(store.clone(), "large", Shape::LARGE, &password_hash, jobs, now).await?,
        Profile::Small => history(store.clone(), "small", Shape::SMALL, &password_hash, jobs, now).await?,
        Profile::Tiny => history(store.clone(), "tiny", Shape::TINY, &password_hash, jobs, now).await?,
        Profile::Import | Profile::ImportSmall => {
            let days = if args.profile == Profile::Import { IMPORT_DAYS } else { 50 };
            let out = args.out.as_deref().ok_or_else(|| anyhow!("--profile import needs --out FILE (the CSV to write)"))?;
            import_fixture(store.as_ref(), &password_hash, IMPORT_KPIS, days, out, now).await?
        }
        Profile::Sweep | Profile::SweepSmall => {
            let (open, due) = if args.profile == Profile::Sweep { (100_000, 1_000) } else { (5_000, 50) };
            sweep_fixture(store.as_ref(), &password_hash, open, due, now).await?
        }
    };
    store.settle().await.context("settling the database after the load")?;
    let seconds = started.elapsed().as_secs_f64();
    summary["seconds"] = json!(seconds);
    summary["password"] = json!(args.password);
    summary["backend"] = json!(store.backend());
    summary["jobs"] = json!(jobs);
    eprintln!("seeded in {seconds:.1} s");
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if let Some(path) = &args.summary {
        std::fs::write(path, serde_json::to_vec_pretty(&summary)?).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// How much of everything a profile seeds.
#[derive(Clone, Copy)]
struct Shape {
    organisations: usize,
    people_per_organisation: usize,
    ordinary: usize,
    ordinary_kpis: usize,
    ordinary_issues: usize,
    ordinary_actions: usize,
    heavy_people_per_party: usize,
    heavy_kpis: usize,
    heavy_periods: usize,
    heavy_months: usize,
    heavy_issues: usize,
    heavy_actions: usize,
    heavy_obligations: usize,
}

impl Shape {
    const LARGE: Shape = Shape {
        organisations: 300,
        people_per_organisation: 12,
        ordinary: 500,
        ordinary_kpis: 4,
        ordinary_issues: 6,
        ordinary_actions: 24,
        heavy_people_per_party: 27,
        heavy_kpis: 40,
        heavy_periods: 60,
        heavy_months: 48,
        heavy_issues: 10_000,
        heavy_actions: 5_000,
        heavy_obligations: 60,
    };
    const SMALL: Shape = Shape {
        organisations: 15,
        people_per_organisation: 12,
        ordinary: 25,
        ordinary_kpis: 4,
        ordinary_issues: 6,
        ordinary_actions: 24,
        heavy_people_per_party: 9,
        heavy_kpis: 10,
        heavy_periods: 60,
        heavy_months: 48,
        heavy_issues: 500,
        heavy_actions: 250,
        heavy_obligations: 15,
    };
    const TINY: Shape = Shape {
        organisations: 6,
        people_per_organisation: 8,
        ordinary: 2,
        ordinary_kpis: 2,
        ordinary_issues: 4,
        ordinary_actions: 4,
        heavy_people_per_party: 5,
        heavy_kpis: 3,
        heavy_periods: 12,
        heavy_months: 6,
        heavy_issues: 30,
        heavy_actions: 15,
        heavy_obligations: 3,
    };
}

// ---------------------------------------------------------------------------------------------
// Randomness and time.

/// SplitMix64: small, fast and the same everywhere, so every seeded database is alike.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn days(d: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(d * 86_400.0)
}

fn hours(h: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(h * 3_600.0)
}

fn days_between(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64() / 86_400.0
}

fn date_of(t: Timestamp) -> Date {
    t.to_zoned(TimeZone::UTC).date()
}

/// `date` at `hour` o'clock UTC (fractions are minutes).
fn at(date: Date, hour: f64) -> Timestamp {
    let midnight = date.to_zoned(TimeZone::UTC).map(|z| z.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH);
    midnight + hours(hour)
}

/// `t` if it falls in working hours (a weekday, 08:00 to 18:00 UTC), else a moment in the next
/// working hours. Never earlier than `t`: a step planned after another stays after it.
fn working(t: Timestamp, rng: &mut Rng) -> Timestamp {
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

fn months_ago(now: Timestamp, months: usize) -> Date {
    date_of(now).checked_sub((months as i32).months()).unwrap_or(date_of(now))
}

// ---------------------------------------------------------------------------------------------
// The plan: each relationship's history as dated steps.

#[derive(Clone, Copy)]
struct Person {
    id: Uuid,
    role: Role,
}

/// The members of a relationship, by party.
struct Team {
    parties: Vec<Vec<Person>>,
}

impl Team {
    fn ser(&self, party: usize) -> Uuid {
        self.parties[party].iter().find(|p| p.role == Role::Ser).map_or(Uuid::nil(), |p| p.id)
    }

    fn with_role(&self, party: usize, roles: &[Role]) -> Vec<Uuid> {
        self.parties[party].iter().filter(|p| roles.contains(&p.role)).map(|p| p.id).collect()
    }

    /// Someone who manages for the party (a JMT member, else the SER).
    fn manager(&self, rng: &mut Rng, party: usize) -> Uuid {
        let jmt = self.with_role(party, &[Role::Jmt]);
        if jmt.is_empty() { self.ser(party) } else { rng.pick(&jmt) }
    }

    /// Someone who does the work (a contributor or JMT member).
    fn worker(&self, rng: &mut Rng, party: usize) -> Uuid {
        let people = self.with_role(party, &[Role::Contributor, Role::Jmt]);
        if people.is_empty() { self.ser(party) } else { rng.pick(&people) }
    }

    fn any(&self, rng: &mut Rng, party: usize) -> Uuid {
        let people = self.with_role(party, &[Role::Contributor, Role::Jmt, Role::Ser]);
        rng.pick(&people)
    }
}

enum Op {
    Create,
    Member { user: Uuid, role: Role, by: Option<Uuid> },
    Ladder { coordinators: Vec<Uuid>, by: Uuid },
    Holidays { party: usize, days: Vec<(Date, String)>, by: Uuid },
    Objective { slot: usize, title: &'static str, description: &'static str, parties: Vec<usize>, review_months: i32, by: Uuid },
    Review { slot: usize, verdict: Verdict, next_review: Date, by: Uuid },
    Kpi { slot: usize, spec: usize, name: String, party: Option<usize>, reporter: Uuid, objective: usize, from: Date, by: Uuid },
    Import { rows: Vec<(usize, Date, f64)>, by: Uuid },
    Record { kpi: usize, period: Date, value: f64, comment: &'static str, by: Uuid },
    Obligation { slot: usize, party: usize, title: &'static str, recurrence: &'static str, due: Date, by: Uuid },
    ObligationUpdate { slot: usize, status: ObligationStatus, evidence: &'static str, due: Date, by: Uuid },
    Action { slot: usize, title: &'static str, party: usize, owner: Uuid, due: Date, source: Option<(usize, Date)>, by: Uuid },
    ActionUpdate { slot: usize, status: ActionStatus, owner: Uuid, due: Date, by: Uuid },
    Raise { slot: usize, title: &'static str, category: &'static str, severity: &'static str, kpi: Option<usize>, by: Uuid },
    Comment { slot: usize, body: &'static str, private: bool, by: Uuid },
    Escalate { slot: usize, by: Uuid },
    Propose { slot: usize, body: &'static str, by: Uuid },
    Respond { slot: usize, accept: bool, reason: &'static str, by: Uuid },
    Withdraw { slot: usize, by: Uuid },
}

impl Op {
    /// The store call the step makes.
    fn kind(&self) -> &'static str {
        match self {
            Op::Create => "create_relationship",
            Op::Member { .. } => "add_member",
            Op::Ladder { .. } => "save_ladder",
            Op::Holidays { .. } => "set_holidays",
            Op::Objective { .. } => "create_objective",
            Op::Review { .. } => "review_objective",
            Op::Kpi { .. } => "create_kpi",
            Op::Import { .. } => "import_measurements",
            Op::Record { .. } => "record_measurement",
            Op::Obligation { .. } => "create_obligation",
            Op::ObligationUpdate { .. } => "update_obligation",
            Op::Action { .. } => "create_action",
            Op::ActionUpdate { .. } => "update_action",
            Op::Raise { .. } => "create_issue",
            Op::Comment { .. } => "comment_issue",
            Op::Escalate { .. } => "escalate_issue",
            Op::Propose { .. } => "propose_resolution",
            Op::Respond { .. } => "respond_to_proposal",
            Op::Withdraw { .. } => "withdraw_issue",
        }
    }
}

struct Step {
    at: Timestamp,
    op: Op,
}

/// Calls and time spent per store method, to say where seeding spends its time.
#[derive(Default)]
struct Timings(std::collections::BTreeMap<&'static str, (u64, Duration)>);

impl Timings {
    fn add(&mut self, kind: &'static str, took: Duration) {
        let entry = self.0.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += took;
    }

    fn merge(&mut self, other: &Timings) {
        for (kind, (calls, took)) in &other.0 {
            let entry = self.0.entry(kind).or_default();
            entry.0 += calls;
            entry.1 += *took;
        }
    }

    /// The `n` methods that took longest: `create_issue 4.2 s (420 µs each), ...`.
    fn top(&self, n: usize) -> String {
        let mut rows: Vec<_> = self.0.iter().collect();
        rows.sort_by_key(|row| std::cmp::Reverse(row.1.1));
        let each = |(calls, took): &(u64, Duration)| took.as_secs_f64() * 1e6 / (*calls).max(1) as f64;
        let rows: Vec<String> =
            rows.iter().take(n).map(|(k, v)| format!("{k} {:.1} s ({:.0} µs each)", v.1.as_secs_f64(), each(v))).collect();
        rows.join(", ")
    }

    /// `{"create_issue": {"calls": 10000, "seconds": 4.2, "mean_us": 420}, ...}`.
    fn to_json(&self) -> serde_json::Value {
        let map = self
            .0
            .iter()
            .map(|(kind, (calls, took))| {
                let mean = took.as_secs_f64() * 1e6 / (*calls).max(1) as f64;
                (
                    kind.to_string(),
                    json!({"calls": calls, "seconds": (took.as_secs_f64() * 1000.0).round() / 1000.0, "mean_us": mean.round()}),
                )
            })
            .collect::<serde_json::Map<_, _>>();
        serde_json::Value::Object(map)
    }
}

/// One relationship's plan and, while it is played, what the store gave back.
struct Run {
    name: String,
    purpose: String,
    start: Date,
    time_zone: &'static str,
    organisations: Vec<Uuid>,
    steps: Vec<Step>,
    next: usize,
    id: Uuid,
    parties: Vec<Uuid>,
    objectives: Vec<(Uuid, i64)>,
    kpis: Vec<Uuid>,
    obligations: Vec<(Uuid, i64)>,
    actions: Vec<(Uuid, i64)>,
    issues: Vec<Uuid>,
    timings: Timings,
}

impl Run {
    fn new(name: String, start: Date, time_zone: &'static str, organisations: Vec<Uuid>) -> Run {
        Run {
            purpose: format!("{name}: plan and deliver the works jointly, share risks and resolve problems early."),
            name,
            start,
            time_zone,
            organisations,
            steps: Vec::new(),
            next: 0,
            id: Uuid::nil(),
            parties: Vec::new(),
            objectives: Vec::new(),
            kpis: Vec::new(),
            obligations: Vec::new(),
            actions: Vec::new(),
            issues: Vec::new(),
            timings: Timings::default(),
        }
    }

    fn push(&mut self, at: Timestamp, op: Op) {
        self.steps.push(Step { at, op });
    }

    /// Orders the plan by time (stable: steps planned at the same moment keep their order) and
    /// drops what lies in the future.
    fn finish_plan(&mut self, now: Timestamp) {
        self.steps.retain(|s| s.at <= now);
        self.steps.sort_by_key(|s| s.at);
    }

    fn pending_before(&self, until: Timestamp) -> bool {
        self.steps.get(self.next).is_some_and(|s| s.at < until)
    }

    /// Plays every step before `until`.
    async fn advance(&mut self, store: &dyn Store, until: Timestamp, done: &AtomicU64) -> anyhow::Result<()> {
        while self.next < self.steps.len() && self.steps[self.next].at < until {
            let step = std::mem::replace(&mut self.steps[self.next], Step { at: Timestamp::UNIX_EPOCH, op: Op::Create });
            let started = Instant::now();
            self.apply(store, step.at, &step.op).await.with_context(|| format!("{} at {}", self.name, step.at))?;
            self.timings.add(step.op.kind(), started.elapsed());
            // What was played is no longer needed: keep only the time.
            self.steps[self.next].at = step.at;
            self.next += 1;
            done.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn apply(&mut self, store: &dyn Store, now: Timestamp, op: &Op) -> anyhow::Result<()> {
        let rid = self.id;
        match op {
            Op::Create => {
                let input = RelationshipInput {
                    name: &self.name,
                    purpose: &self.purpose,
                    start_date: &self.start.to_string(),
                    time_zone: self.time_zone,
                };
                let new =
                    NewRelationship::parse(input, Some(self.organisations.clone()), Invalid::default()).map_err(|e| anyhow!("{e}"))?;
                let r = store.create_relationship(new, None, now).await?;
                self.id = r.id;
                let parties = store.parties(r.id).await?;
                // In the order of `organisations`, which the plan's party numbers follow.
                self.parties = self
                    .organisations
                    .iter()
                    .map(|o| parties.iter().find(|p| p.organisation_id == *o).map(|p| p.id).ok_or_else(|| anyhow!("party missing")))
                    .collect::<anyhow::Result<_>>()?;
            }
            Op::Member { user, role, by } => {
                store.add_member(rid, *user, *role, *by, now).await?;
            }
            Op::Ladder { coordinators, by } => {
                let level = |name: &str, roles: Vec<Role>, members: Vec<Uuid>, days| LadderLevel {
                    name: name.into(),
                    roles,
                    members,
                    limit: Limit::WorkingDays(days),
                };
                let levels = vec![
                    level("Working level", vec![], coordinators.clone(), 5),
                    level("Joint Management Team", vec![Role::Jmt], vec![], 10),
                    level("Senior Executives", vec![Role::Ser], vec![], 10),
                    level("Mediation", vec![Role::Ser], vec![], 20),
                ];
                store.save_ladder(rid, levels, 0, *by, now).await?;
            }
            Op::Holidays { party, days, by } => {
                store.set_holidays(rid, self.parties[*party], days.clone(), *by, now).await?;
            }
            Op::Objective { slot, title, description, parties, review_months, by } => {
                let new = NewObjective {
                    relationship_id: rid,
                    title: (*title).into(),
                    description: (*description).into(),
                    parties: parties.iter().map(|p| self.parties[*p]).collect(),
                    review_months: *review_months,
                    next_review: date_of(now).checked_add((*review_months).months())?,
                };
                let o = store.create_objective(new, *by, now).await?;
                set(&mut self.objectives, *slot, (o.id, o.version));
            }
            Op::Review { slot, verdict, next_review, by } => {
                let (id, version) = self.objectives[*slot];
                let review = ObjectiveReview {
                    verdict: *verdict,
                    reason: match verdict {
                        Verdict::Revised => "Reworded after the annual review of the relationship management plan.".into(),
                        _ => "Still what the parties want to achieve together.".into(),
                    },
                    title: None,
                    description: (*verdict == Verdict::Revised).then(|| "Reworded at the annual review; the intent is unchanged.".into()),
                    next_review: *next_review,
                };
                let o = store.review_objective(rid, id, review, version, *by, now).await?;
                self.objectives[*slot] = (o.id, o.version);
            }
            Op::Kpi { slot, spec, name, party, reporter, objective, from, by } => {
                let spec = &KPIS[*spec];
                let thresholds = Thresholds::new(spec.direction, spec.t.0, spec.t.1, spec.t.2).map_err(|(f, m)| anyhow!("{f}: {m}"))?;
                let new = NewKpi {
                    relationship_id: rid,
                    name: name.clone(),
                    definition: format!("{} as reported each month by the responsible party", spec.name),
                    unit: spec.unit.into(),
                    cadence: Cadence::Monthly,
                    party_id: party.map(|p| self.parties[p]),
                    reporter_id: Some(*reporter),
                    objectives: self.objectives.get(*objective).map(|o| o.0).into_iter().collect(),
                    thresholds,
                    effective_from: *from,
                };
                let k = store.create_kpi(new, *by, now).await?;
                set(&mut self.kpis, *slot, k.id);
            }
            Op::Import { rows, by } => {
                let rows = rows
                    .iter()
                    .map(|(kpi, period, value)| MeasurementInput {
                        kpi_id: self.kpis[*kpi],
                        period_start: *period,
                        value: *value,
                        comment: String::new(),
                    })
                    .collect();
                store.import_measurements(rid, rows, "seeded-history", Some(*by), now).await?;
            }
            Op::Record { kpi, period, value, comment, by } => {
                let input = MeasurementInput { kpi_id: self.kpis[*kpi], period_start: *period, value: *value, comment: (*comment).into() };
                store.record_measurement(rid, input, *by, now).await?;
            }
            Op::Obligation { slot, party, title, recurrence, due, by } => {
                let new = NewObligation {
                    relationship_id: rid,
                    party_id: self.parties[*party],
                    title: (*title).into(),
                    description: String::new(),
                    recurrence: (*recurrence).into(),
                    due_date: *due,
                };
                let o = store.create_obligation(new, *by, now).await?;
                set(&mut self.obligations, *slot, (o.id, o.version));
            }
            Op::ObligationUpdate { slot, status, evidence, due, by } => {
                let (id, version) = self.obligations[*slot];
                let change = ObligationChange { status: *status, evidence: (*evidence).into(), due_date: *due };
                let o = store.update_obligation(rid, id, change, version, *by, now).await?;
                self.obligations[*slot] = (o.id, o.version);
            }
            Op::Action { slot, title, party, owner, due, source, by } => {
                let new = NewAction {
                    relationship_id: rid,
                    title: (*title).into(),
                    description: String::new(),
                    owner_id: Some(*owner),
                    party_id: self.parties[*party],
                    due_date: *due,
                    source: source.map(|(kpi, period)| ActionSource {
                        kind: "kpi_period".into(),
                        id: self.kpis[kpi],
                        period: Some(period),
                    }),
                };
                let a = store.create_action(new, *by, now).await?;
                set(&mut self.actions, *slot, (a.id, a.version));
            }
            Op::ActionUpdate { slot, status, owner, due, by } => {
                let (id, version) = self.actions[*slot];
                let change = ActionChange { status: *status, owner_id: Some(*owner), due_date: *due };
                let a = store.update_action(rid, id, change, version, *by, now).await?;
                self.actions[*slot] = (a.id, a.version);
            }
            Op::Raise { slot, title, category, severity, kpi, by } => {
                let new = NewIssue {
                    relationship_id: rid,
                    title: (*title).into(),
                    description: format!("{title}. Raised by the team on site; details and photos in the project record."),
                    category: (*category).into(),
                    severity: (*severity).into(),
                    links: kpi.map(|k| accord_store::IssueLink { kind: "kpi".into(), id: self.kpis[k] }).into_iter().collect(),
                };
                let issue = store.create_issue(new, *by, now).await?;
                set(&mut self.issues, *slot, issue.id);
            }
            Op::Comment { slot, body, private, by } => {
                store.comment_issue(rid, self.issues[*slot], (*body).into(), *private, *by, now).await?;
            }
            Op::Escalate { slot, by } => {
                let reason = "Needs a decision above the site team".to_owned();
                store.escalate_issue(rid, self.issues[*slot], reason, *by, now).await?;
            }
            Op::Propose { slot, body, by } => {
                store.propose_resolution(rid, self.issues[*slot], (*body).into(), *by, now).await?;
            }
            Op::Respond { slot, accept, reason, by } => {
                store.respond_to_proposal(rid, self.issues[*slot], *accept, (*reason).into(), *by, now).await?;
            }
            Op::Withdraw { slot, by } => {
                let reason = "Resolved on site without needing the ladder.".to_owned();
                store.withdraw_issue(rid, self.issues[*slot], reason, *by, now).await?;
            }
        }
        Ok(())
    }
}

fn set<T: Copy + Default>(items: &mut Vec<T>, slot: usize, value: T) {
    if items.len() <= slot {
        items.resize(slot + 1, T::default());
    }
    items[slot] = value;
}

/// What the plan of one relationship is made of.
struct Sizes {
    kpis: usize,
    periods: usize,
    issues: usize,
    actions: usize,
    obligations: usize,
    objectives: usize,
}

/// Plans a relationship: members join, then years of measures, actions, obligations and issues.
fn plan(rng: &mut Rng, run: &mut Run, team: &Team, sizes: &Sizes, heavy: bool, now: Timestamp) -> usize {
    let created = at(run.start, 9.0);
    let parties = team.parties.len();
    run.push(created, Op::Create);
    // Each party's SER joins first and brings in the rest of the party.
    let mut minute = 1.0;
    for party in 0..parties {
        let ser = team.ser(party);
        run.push(created + hours(minute / 60.0), Op::Member { user: ser, role: Role::Ser, by: None });
        minute += 1.0;
    }
    for (party, people) in team.parties.iter().enumerate() {
        for p in people.iter().filter(|p| p.role != Role::Ser) {
            run.push(created + hours(minute / 60.0), Op::Member { user: p.id, role: p.role, by: Some(team.ser(party)) });
            minute += 1.0;
        }
    }
    let setup = created + hours(3.0);
    let lead = team.manager(rng, 0);
    if heavy {
        // A big team names its working-level coordinators rather than alerting every contributor.
        let coordinators: Vec<Uuid> = (0..parties).flat_map(|p| team.with_role(p, &[Role::Jmt]).into_iter().take(2)).collect();
        run.push(setup, Op::Ladder { coordinators, by: team.ser(0) });
        let years = run.start.year()..=date_of(now).year() + 1;
        for party in 0..parties {
            let mut list = Vec::new();
            for year in years.clone() {
                let mut add = |m: i8, d: i8, name: &str| {
                    if let Ok(date) = Date::new(year, m, d) {
                        list.push((date, name.to_owned()));
                    }
                };
                add(1, 1, "New Year's Day");
                add(12, 25, "Christmas Day");
                add(12, 26, "Boxing Day");
                if party == 2 {
                    add(5, 1, "Labour Day");
                }
            }
            run.push(setup + hours(0.1 * party as f64), Op::Holidays { party, days: list, by: team.ser(party) });
        }
    }

    // Objectives, reviewed for relevance every 6 or 12 months.
    let day1 = created + days(1.0);
    for slot in 0..sizes.objectives {
        let (title, description) = OBJECTIVES[slot % OBJECTIVES.len()];
        let review_months = if slot % 2 == 0 { 12 } else { 6 };
        let owners: Vec<usize> = if slot % 3 == 0 { (0..parties).collect() } else { vec![slot % parties, (slot + 1) % parties] };
        run.push(day1, Op::Objective { slot, title, description, parties: owners, review_months, by: lead });
        let mut review = run.start.checked_add(review_months.months()).unwrap_or(run.start);
        while at(review, 11.0) < now {
            let next_review = review.checked_add(review_months.months()).unwrap_or(review);
            let verdict = if rng.chance(0.15) { Verdict::Revised } else { Verdict::Relevant };
            run.push(working(at(review, 11.0), rng), Op::Review { slot, verdict, next_review, by: team.ser(slot % parties) });
            review = next_review;
        }
    }

    // KPIs: monthly, with a year or more of history imported when the relationship began, then
    // reported each month by their reporter, sometimes corrected.
    let this_month = Period::containing(Cadence::Monthly, date_of(now));
    let periods = this_month.previous().last_n(sizes.periods);
    let first_live = Period::containing(Cadence::Monthly, run.start);
    let mut import = Vec::new();
    let offset = rng.below(KPIS.len());
    for slot in 0..sizes.kpis {
        // Distinct names: a spec each while there are enough, then the specs again per zone.
        let (spec, name) = if sizes.kpis > KPIS.len() {
            (slot % KPIS.len(), format!("{} – {}", KPIS[slot % KPIS.len()].name, ZONES[slot / KPIS.len() % ZONES.len()]))
        } else {
            let spec = (offset + slot * 5) % KPIS.len();
            (spec, KPIS[spec].name.to_owned())
        };
        let party = (slot % 4 != 3).then_some(slot % parties);
        let reporter = team.worker(rng, party.unwrap_or(0));
        let kpi =
            Op::Kpi { slot, spec, name, party, reporter, objective: slot % sizes.objectives.max(1), from: periods[0].start, by: lead };
        run.push(day1 + hours(0.5), kpi);
        let s = &KPIS[spec];
        let drift = rng.range(-0.3, 0.3) * s.swing / periods.len() as f64;
        for (m, period) in periods.iter().enumerate() {
            let mut value = s.base + drift * m as f64 + rng.range(-1.0, 1.0) * s.swing;
            if s.unit == "%" {
                value = value.min(100.0);
            }
            let value = ((value.max(0.0)) * 100.0).round() / 100.0;
            if period.start < first_live.start {
                import.push((slot, period.start, value));
            } else {
                let entered = working(at(period.end(), 10.0) + days(rng.range(1.0, 8.0)), rng);
                run.push(entered, Op::Record { kpi: slot, period: period.start, value, comment: "", by: reporter });
                if rng.chance(0.03) {
                    let corrected = ((value * 1.02) * 100.0).round() / 100.0;
                    let comment = "Corrected after checking the source data.";
                    run.push(entered + days(2.0), Op::Record { kpi: slot, period: period.start, value: corrected, comment, by: reporter });
                }
            }
        }
    }
    if !import.is_empty() {
        run.push(day1 + hours(1.0), Op::Import { rows: import, by: lead });
    }

    // Obligations of every party, their status reported every month or two.
    for slot in 0..sizes.obligations {
        let party = slot % parties;
        let (title, recurrence) = OBLIGATIONS[slot % OBLIGATIONS.len()];
        let created_at = created + days(2.0 + rng.range(0.0, 60.0));
        let mut due = date_of(created_at).checked_add(30.days()).unwrap_or(run.start);
        let by = team.manager(rng, party);
        run.push(created_at, Op::Obligation { slot, party, title, recurrence, due, by });
        let mut t = created_at + days(rng.range(20.0, 60.0));
        while t < now {
            let roll = rng.unit();
            let (status, evidence) = match roll {
                r if r < 0.45 => (ObligationStatus::Delivered, "Delivered as agreed; record in the project file."),
                r if r < 0.75 => (ObligationStatus::OnTrack, ""),
                r if r < 0.92 => (ObligationStatus::AtRisk, "Resources stretched this month."),
                _ => (ObligationStatus::Missed, "Missed: see the recovery action."),
            };
            if status == ObligationStatus::Delivered {
                due = due.checked_add(if recurrence == "weekly" { 7.days() } else { 30.days() }).unwrap_or(due);
            }
            run.push(working(t, rng), Op::ObligationUpdate { slot, status, evidence, due, by });
            t += days(rng.range(30.0, 75.0));
        }
    }

    // Actions: most done by their due date, some late, some cancelled, the recent ones open.
    let span = days_between(created + days(7.0), now);
    for slot in 0..sizes.actions {
        let created_at = working(created + days(7.0 + rng.range(0.0, span - 1.0)), rng);
        let party = rng.below(parties);
        let owner = team.worker(rng, party);
        let by = team.manager(rng, party);
        let due = date_of(created_at + days(rng.range(7.0, 60.0)));
        let source = (rng.chance(0.2) && sizes.kpis > 0).then(|| {
            let period = Period::containing(Cadence::Monthly, date_of(created_at)).previous().start;
            (rng.below(sizes.kpis), period.max(periods[0].start))
        });
        run.push(created_at, Op::Action { slot, title: rng.pick(&ACTIONS), party, owner, due, source, by });
        if rng.chance(0.4) {
            let started = created_at + days(rng.range(0.5, 5.0));
            run.push(started, Op::ActionUpdate { slot, status: ActionStatus::InProgress, owner, due, by });
        }
        let due_at = at(due, 12.0);
        if due_at < now - days(14.0) {
            let roll = rng.unit();
            let closed = working((due_at + days(rng.range(-8.0, 8.0))).max(created_at + days(5.5)), rng);
            if roll < 0.85 {
                run.push(closed, Op::ActionUpdate { slot, status: ActionStatus::Done, owner, due, by: owner });
            } else if roll < 0.9 {
                run.push(closed, Op::ActionUpdate { slot, status: ActionStatus::Cancelled, owner, due, by });
            }
        }
    }

    // Issues, raised evenly over the relationship's life.
    let mut busiest = (0, 0);
    for slot in 0..sizes.issues {
        // Never after `now`: early on a Monday the next working hours are still to come.
        let raised = working(created + days(7.0 + rng.range(0.0, span - 0.5)), rng).min(now);
        let before = run.steps.len();
        plan_issue(rng, run, team, slot, raised, sizes.kpis, now);
        let steps = run.steps.iter().skip(before).filter(|s| s.at <= now).count();
        if steps > busiest.1 {
            busiest = (slot, steps);
        }
    }
    run.finish_plan(now);
    busiest.0
}

/// An issue's life: raised, discussed, perhaps escalated early; then resolved at some level of
/// the ladder (the daily sweep escalates it until then), withdrawn, or still open.
fn plan_issue(rng: &mut Rng, run: &mut Run, team: &Team, slot: usize, raised: Timestamp, kpis: usize, now: Timestamp) {
    let parties = team.parties.len();
    let party = rng.below(parties);
    let raiser = team.worker(rng, party);
    let (title, category) = rng.pick(&ISSUE_TITLES);
    let kpi = (kpis > 0 && rng.chance(0.15)).then(|| rng.below(kpis));
    run.push(raised, Op::Raise { slot, title, category, severity: rng.pick(&SEVERITIES), kpi, by: raiser });
    let age = days_between(raised, now);
    enum Fate {
        Resolved(usize),
        Withdrawn,
        Open,
    }
    let level = |rng: &mut Rng| match rng.unit() {
        r if r < 0.45 => 0,
        r if r < 0.70 => 1,
        r if r < 0.87 => 2,
        _ => 3,
    };
    let roll = rng.unit();
    let fate = if age > 60.0 {
        if roll < 0.86 {
            Fate::Resolved(level(rng))
        } else if roll < 0.95 {
            Fate::Withdrawn
        } else {
            Fate::Open
        }
    } else if roll < 0.4 {
        Fate::Resolved(level(rng))
    } else if roll < 0.5 {
        Fate::Withdrawn
    } else {
        Fate::Open
    };
    // When the resolution is proposed, in days after raising: inside the window of the level
    // (5 working days, then 10, 10 and 20, escalated by the next midnight sweep).
    let propose_after = match fate {
        Fate::Resolved(0) => rng.range(0.8, 4.0),
        Fate::Resolved(1) => rng.range(9.0, 19.0),
        Fate::Resolved(2) => rng.range(24.0, 33.0),
        Fate::Resolved(_) => rng.range(40.0, 70.0),
        Fate::Withdrawn => rng.range(0.5, 10.0),
        Fate::Open => age,
    };
    let comments = rng.below(3);
    for _ in 0..comments {
        let commenter = rng.below(parties);
        let t = raised + days(rng.range(0.05, propose_after.clamp(0.1, 6.0) * 0.9));
        run.push(t, Op::Comment { slot, body: rng.pick(&COMMENTS), private: false, by: team.any(rng, commenter) });
    }
    if rng.chance(0.08) {
        let p = rng.below(parties);
        run.push(
            raised + hours(rng.range(1.0, 20.0)),
            Op::Comment { slot, body: rng.pick(&NOTES), private: true, by: team.manager(rng, p) },
        );
    }
    if rng.chance(0.04) && propose_after > 1.5 {
        run.push(raised + hours(rng.range(2.0, 30.0)), Op::Escalate { slot, by: team.manager(rng, party) });
    }
    match fate {
        Fate::Resolved(level) => {
            let mut t = working(raised + days(propose_after), rng);
            let proposer_party = rng.below(parties);
            let senior = level >= 2;
            let answer = |rng: &mut Rng, p: usize| if senior { team.ser(p) } else { team.manager(rng, p) };
            if rng.chance(0.12) {
                run.push(t, Op::Propose { slot, body: rng.pick(&PROPOSALS), by: answer(rng, proposer_party) });
                let other = (proposer_party + 1 + rng.below(parties - 1)) % parties;
                t += hours(rng.range(2.0, 8.0));
                run.push(t, Op::Respond { slot, accept: false, reason: rng.pick(&REJECTIONS), by: answer(rng, other) });
                t += hours(rng.range(16.0, 30.0));
            }
            run.push(t, Op::Propose { slot, body: rng.pick(&PROPOSALS), by: answer(rng, proposer_party) });
            for p in (0..parties).filter(|p| *p != proposer_party) {
                t += hours(rng.range(1.0, 20.0));
                run.push(t, Op::Respond { slot, accept: true, reason: "", by: answer(rng, p) });
            }
        }
        Fate::Withdrawn => run.push(working(raised + days(propose_after), rng), Op::Withdraw { slot, by: raiser }),
        Fate::Open => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Playing the plans.

struct Org {
    id: Uuid,
    people: Vec<Uuid>,
}

/// Organisations and their people: created first, before any relationship.
async fn people(
    store: &dyn Store, names: &[String], per_organisation: &[usize], password_hash: &str, from: Timestamp, done: &AtomicU64,
) -> anyhow::Result<Vec<Org>> {
    let mut rng = Rng(7);
    let mut t = from;
    let mut everyone = Vec::new();
    for (i, (name, count)) in names.iter().zip(per_organisation).enumerate() {
        let org = store.create_organisation(Name::parse(name).map_err(|m| anyhow!("{name}: {m}"))?, None, t).await?;
        let domain: String = name.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect();
        let mut ids = Vec::new();
        for n in 0..*count {
            t += SignedDuration::from_secs(20);
            let first = FIRST_NAMES[rng.below(FIRST_NAMES.len())];
            let last = LAST_NAMES[rng.below(LAST_NAMES.len())];
            let local: String =
                format!("{first}.{last}").to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
            let email = format!("{local}.{n}@{domain}{i}.example");
            let user = NewUser {
                email: Email::parse(&email).map_err(|m| anyhow!("{email}: {m}"))?,
                name: Name::parse(&format!("{first} {last}")).map_err(|m| anyhow!(m))?,
                organisation_id: org.id,
                is_admin: false,
                password_hash: Some(password_hash.to_owned()),
            };
            ids.push(store.create_user(user, None, t).await?.id);
            done.fetch_add(1, Ordering::Relaxed);
        }
        everyone.push(Org { id: org.id, people: ids });
        t += SignedDuration::from_secs(60);
    }
    Ok(everyone)
}

/// Plays every plan day by day, with the escalation sweep at each midnight, then sweeps at `now`.
async fn play(
    store: Arc<dyn Store>, runs: &mut [Option<Run>], jobs: usize, now: Timestamp, done: Arc<AtomicU64>, sweeps: &mut Timings,
) -> anyhow::Result<()> {
    let first = runs.iter().flatten().filter_map(|r| r.steps.first()).map(|s| s.at).min().unwrap_or(now);
    let mut midnight = at(date_of(first), 0.0) + days(1.0);
    loop {
        let until = midnight.min(now + SignedDuration::from_secs(1));
        play_until(&store, runs, jobs, until, &done).await?;
        if until > now {
            break;
        }
        let started = Instant::now();
        store.sweep(until).await.context("the sweep")?;
        sweeps.add("sweep", started.elapsed());
        done.fetch_add(1, Ordering::Relaxed);
        midnight += days(1.0);
    }
    store.sweep(now).await.context("the last sweep")?;
    Ok(())
}

async fn play_until(
    store: &Arc<dyn Store>, runs: &mut [Option<Run>], jobs: usize, until: Timestamp, done: &Arc<AtomicU64>,
) -> anyhow::Result<()> {
    if jobs <= 1 {
        for run in runs.iter_mut().flatten() {
            if run.pending_before(until) {
                run.advance(store.as_ref(), until, done).await?;
            }
        }
        return Ok(());
    }
    // Relationships are independent within a day: up to `jobs` of them play at once.
    let permits = Arc::new(tokio::sync::Semaphore::new(jobs));
    let mut set = tokio::task::JoinSet::new();
    for (i, slot) in runs.iter_mut().enumerate() {
        if !slot.as_ref().is_some_and(|r| r.pending_before(until)) {
            continue;
        }
        let Some(mut run) = slot.take() else { continue };
        let permit = permits.clone().acquire_owned().await?;
        let (store, done) = (store.clone(), done.clone());
        set.spawn(async move {
            let result = run.advance(store.as_ref(), until, &done).await;
            drop(permit);
            (i, run, result)
        });
    }
    let mut failed = None;
    while let Some(joined) = set.join_next().await {
        let (i, run, result) = joined?;
        runs[i] = Some(run);
        if let Err(e) = result {
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Seeds the large, small or tiny history.
async fn history(
    store: Arc<dyn Store>, profile: &str, shape: Shape, password_hash: &str, jobs: usize, now: Timestamp,
) -> anyhow::Result<serde_json::Value> {
    let mut rng = Rng(2026);
    // Organisations: a pool shared by the ordinary relationships, and the heavy one's three.
    let mut names: Vec<String> =
        (0..shape.organisations).map(|i| format!("{} {}", PLACES[i % PLACES.len()], TRADES[(i / PLACES.len()) % TRADES.len()])).collect();
    let mut counts = vec![shape.people_per_organisation; shape.organisations];
    names.extend(["Metro Transit Authority", "Crossrail Civil Partners", "Signalworks Systems"].map(String::from));
    counts.extend([shape.heavy_people_per_party, shape.heavy_people_per_party, shape.heavy_people_per_party - 1]);
    let heavy_start = months_ago(now, shape.heavy_months);
    let site_from = at(heavy_start, 8.0) - days(30.0);

    let done = Arc::new(AtomicU64::new(0));
    let users: usize = counts.iter().sum();
    let bar = Bar::start("accounts", users as u64, done.clone());
    let everyone = people(store.as_ref(), &names, &counts, password_hash, site_from, &done).await?;
    bar.finish();

    // The plans.
    let mut runs: Vec<Option<Run>> = Vec::new();
    let mut teams = Vec::new();
    for i in 0..shape.ordinary {
        let mut orgs: Vec<usize> = Vec::new();
        while orgs.len() < 3 {
            let o = rng.below(shape.organisations);
            if !orgs.contains(&o) {
                orgs.push(o);
            }
        }
        let mut parties = Vec::new();
        for (p, o) in orgs.iter().enumerate() {
            let mut pool = everyone[*o].people.clone();
            let mut take = |rng: &mut Rng| pool.remove(rng.below(pool.len()));
            let mut people = vec![Person { id: take(&mut rng), role: Role::Ser }, Person { id: take(&mut rng), role: Role::Jmt }];
            let contributors = if p == 0 { 2 } else { 1 + rng.below(2) };
            for _ in 0..contributors {
                people.push(Person { id: take(&mut rng), role: Role::Contributor });
            }
            if rng.chance(0.3) {
                people.push(Person { id: take(&mut rng), role: Role::Observer });
            }
            parties.push(people);
        }
        let name = format!(
            "{} {} {}",
            PLACES[i % PLACES.len()],
            WORKS[(i / PLACES.len()) % WORKS.len()],
            KINDS[(i / (PLACES.len() * WORKS.len())) % KINDS.len()]
        );
        let name = if i >= PLACES.len() * WORKS.len() * KINDS.len() { format!("{name} {i}") } else { name };
        let start = date_of(now - days(rng.range(180.0, 1_460.0)));
        let zone = rng.pick(&["Europe/London", "Europe/London", "Europe/Paris", "America/New_York"]);
        runs.push(Some(Run::new(name, start, zone, orgs.iter().map(|o| everyone[*o].id).collect())));
        teams.push(Team { parties });
    }
    // The heavy relationship: 3 parties of about 27 people each.
    let heavy_orgs: Vec<usize> = (shape.organisations..shape.organisations + 3).collect();
    let mut heavy_team = Team { parties: Vec::new() };
    for o in &heavy_orgs {
        let ids = &everyone[*o].people;
        let people = ids
            .iter()
            .enumerate()
            .map(|(n, id)| Person {
                id: *id,
                role: match n {
                    0 => Role::Ser,
                    n if n <= 4 => Role::Jmt,
                    n if n * 10 < ids.len() * 7 => Role::Contributor,
                    _ => Role::Observer,
                },
            })
            .collect();
        heavy_team.parties.push(people);
    }
    runs.push(Some(Run::new(
        "Metro Line Extension Alliance".into(),
        heavy_start,
        "Europe/London",
        heavy_orgs.iter().map(|o| everyone[*o].id).collect(),
    )));
    teams.push(heavy_team);
    let heavy = runs.len() - 1;

    let ordinary = Sizes {
        kpis: shape.ordinary_kpis,
        periods: 0,
        issues: shape.ordinary_issues,
        actions: shape.ordinary_actions,
        obligations: 3,
        objectives: 2,
    };
    let mut busiest = 0;
    for (i, (run, team)) in runs.iter_mut().zip(&teams).enumerate() {
        let run = run.as_mut().expect("planned");
        if i == heavy {
            let sizes = Sizes {
                kpis: shape.heavy_kpis,
                periods: shape.heavy_periods,
                issues: shape.heavy_issues,
                actions: shape.heavy_actions,
                obligations: shape.heavy_obligations,
                objectives: 10.min(shape.heavy_kpis),
            };
            busiest = plan(&mut rng, run, team, &sizes, true, now);
        } else {
            // A year of history before the relationship began, then every month since.
            let months = (days_between(at(run.start, 0.0), now) / 30.4) as usize + 12;
            plan(&mut rng, run, team, &Sizes { periods: months, ..ordinary }, false, now);
        }
    }
    let steps: usize = runs.iter().flatten().map(|r| r.steps.len()).sum();
    let sweeps = days_between(at(heavy_start, 0.0), now) as u64 + 2;
    eprintln!(
        "planned {} relationships, {} steps; playing them day by day from {} ({} at once)",
        thousands(runs.len()),
        thousands(steps),
        heavy_start,
        jobs
    );
    done.store(0, Ordering::Relaxed);
    let bar = Bar::start("steps", steps as u64 + sweeps, done.clone());
    let mut timings = Timings::default();
    play(store.clone(), &mut runs, jobs, now, done, &mut timings).await?;
    bar.finish();
    for run in runs.iter().flatten() {
        timings.merge(&run.timings);
    }
    eprintln!("time in the store: {}", timings.top(6));
    let timings = timings.to_json();

    let heavy_run = runs[heavy].as_ref().expect("played");
    let heavy_team = &teams[heavy];
    let login = heavy_team.with_role(0, &[Role::Jmt])[0];
    let login = store.user(login).await?;
    let mut events = 0;
    for chain in store.audit_chains().await? {
        events += store.chain_head(chain).await?.map_or(0, |h| h.position);
    }
    let heavy_events = store.chain_head(heavy_run.id).await?.map_or(0, |h| h.position);
    Ok(json!({
        "profile": profile,
        "organisations": names.len(),
        "users": users,
        "relationships": runs.len(),
        "audit_events": events,
        "store_calls": timings,
        "heavy": {
            "id": heavy_run.id,
            "name": heavy_run.name,
            "members": heavy_team.parties.iter().map(Vec::len).sum::<usize>(),
            "kpis": heavy_run.kpis.len(),
            "kpi": heavy_run.kpis.first(),
            "issues": heavy_run.issues.len(),
            "issue": heavy_run.issues.get(busiest),
            "actions": heavy_run.actions.len(),
            "audit_events": heavy_events,
            "login": login.email,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The benchmark's million rows are inside every limit of an import.
    #[test]
    fn the_benchmark_import_is_within_the_limits() {
        let mut csv = Vec::new();
        import_csv(&mut csv, IMPORT_KPIS, IMPORT_DAYS, Date::constant(2023, 1, 1)).unwrap();
        assert!(csv.len() <= accord_sheets::MAX_BYTES, "{} bytes", csv.len());
        let rows = accord_sheets::read_measurements(accord_sheets::Format::Csv, &csv).unwrap_or_else(|p| panic!("{:?}", p.listed));
        assert_eq!(rows.len(), 1_000_000);
    }
}
