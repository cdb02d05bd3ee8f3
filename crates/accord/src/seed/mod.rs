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
mod plan;
mod play;
mod progress;
mod time;
mod words;

use fixtures::*;
use plan::*;
use play::*;
use progress::*;
use time::*;
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
