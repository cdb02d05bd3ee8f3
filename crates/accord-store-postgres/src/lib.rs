//! PostgreSQL storage through tokio-postgres on a deadpool pool.
//!
//! The same behaviour as the SQLite store. What differs is how writers are kept apart: SQLite's
//! IMMEDIATE transactions serialise every writer, here an append locks its chain's head row
//! (`FOR UPDATE`), and a write that checks a rule before it writes takes that lock first.

mod actions;
mod audit_trail;
mod audit_triggers;
mod cells;
use cells::RowCells;
#[macro_use]
mod rows;
mod idempotency;
mod issues;
mod measures;
mod notifications;
mod people;
mod records;
mod relationships;
mod reviews;
mod views;

use people::viewer;
use rows::*;

use accord_domain::audit::{self, ChainHead, Draft, Event, GENESIS_HASH};
use accord_domain::id::{new_id, parse_id};
use accord_domain::measure::Thresholds;
use accord_domain::membership::{CurrentMember, Role};
use accord_domain::text::{Email, Name};
use accord_store::sql::{EVENT, MEMBER_ORDER, RELATIONSHIP, USER};
use accord_store::*;
use async_trait::async_trait;
use deadpool_postgres::{Client, GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use jiff::Timestamp;
use jiff::civil::Date;
use std::error::Error as _;
use std::future::Future;
use std::pin::Pin;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Connections per server unless `ACCORD_PG_POOL` says otherwise: the cores, and one. A page
/// sends all its statements at once on one connection, so a connection in use is mostly one
/// PostgreSQL process at work: more only queue inside PostgreSQL, as processes competing for the
/// cores, instead of in the pool. On this 2-core machine 16 took the relationship home's p99 past
/// 100 ms; 5 against 3 (medians of rounds, same build): home 2,504 -> 2,780 req/s and p99 20.1 ->
/// 11.6 ms, scorecard 1,543 -> 1,882 and 17.0 -> 13.4 ms; 2 did less than 3.
pub fn default_pool_size() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) + 1
}

/// Planner settings for every connection, ahead of any the URL's `options` give (which win):
/// - generic plans: every statement is a prepared, tenant-scoped index lookup, but PostgreSQL
///   re-planned those with `LIMIT $n` or `= ANY($1)` on every call (the relationship home spent
///   120 and 76 µs planning its events and names, per request);
/// - random reads cost as cached ones: a relationship's rows are read from memory, and at the
///   default cost of 4 the planner joined three parties to their organisations by hashing all
///   303 organisations instead of looking up three (150 µs a page).
const SESSION_SETTINGS: &str = "-c plan_cache_mode=force_generic_plan -c random_page_cost=1.1";

pub struct PostgresStore {
    pool: Pool,
    /// Migrations run on a connection of their own, outside the pool.
    config: tokio_postgres::Config,
}

/// The error inside a store call: `?` works on tokio-postgres's errors and on ours alike.
struct Fail(StoreError);

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Fail {
        Fail(StoreError::Backend(describe(&e)))
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        Fail(e)
    }
}

type R<T> = Result<T, Fail>;
type Params<'a> = &'a [&'a (dyn ToSql + Sync)];
/// The work of one read or write: a future that borrows the connection or transaction.
type Work<'c, T> = Pin<Box<dyn Future<Output = R<T>> + Send + 'c>>;

/// tokio-postgres shows only "db error"; the reason is in the source.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.source() {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

/// An error and its sources, as one line (refinery, like tokio-postgres, keeps the reason in a source).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn backend(e: impl std::fmt::Display) -> Fail {
    Fail(StoreError::Backend(e.to_string()))
}

fn not_found(what: &'static str) -> Fail {
    Fail(StoreError::NotFound(what))
}

fn invalid(field: &str, message: impl Into<String>) -> Fail {
    Fail(StoreError::invalid(field, message))
}

/// Maps a unique-key violation to a field error; anything else stays a database error.
fn unique_as(field: &'static str, message: &'static str) -> impl Fn(tokio_postgres::Error) -> Fail {
    move |e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) { invalid(field, message) } else { Fail::from(e) }
    }
}

/// `now` as stored: timestamptz keeps microseconds, and the driver would round, not truncate
/// (the audit chain truncates, and SQLite stores truncated microseconds).
fn micros(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}

async fn query_all<T>(c: &impl GenericClient, sql: &str, params: Params<'_>, map: fn(&Row) -> R<T>) -> R<Vec<T>> {
    let statement = c.prepare_cached(sql).await?;
    c.query(&statement, params).await?.iter().map(map).collect()
}

async fn query_opt<T>(c: &impl GenericClient, sql: &str, params: Params<'_>, map: fn(&Row) -> R<T>) -> R<Option<T>> {
    let statement = c.prepare_cached(sql).await?;
    c.query_opt(&statement, params).await?.as_ref().map(map).transpose()
}

/// Returns the raw error, so that the caller can map a unique violation to a field.
async fn execute(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<u64, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.execute(&statement, params).await
}

fn text_as<T>(r: &Row, column: usize, parse: fn(&str) -> Result<T, String>) -> R<T> {
    parse(r.try_get(column)?).map_err(|e| backend(format!("column {column}: {e}")))
}

/// The events of `chain` before a position, newest first, as pages list them (their summaries as
/// stored); the names of what they touch are read after them (`views::event_names`).
pub(crate) async fn recent_event_lines(c: &impl GenericClient, chain: Uuid, before_position: Option<i64>, limit: u32) -> R<Vec<EventLine>> {
    let select = "SELECT position, occurred_at, actor_id, party_id, kind, subject, summary, hash FROM audit_event";
    recent(c, select, chain, before_position, limit, |r| {
        Ok(EventLine {
            position: r.try_get(0)?,
            time: r.try_get(1)?,
            actor: r.try_get(2)?,
            party: r.try_get(3)?,
            kind: r.try_get(4)?,
            subject: r.try_get(5)?,
            summary: r.try_get(6)?,
            hash: r.try_get(7)?,
        })
    })
    .await
}

/// The events of `chain` before a position, newest first, each read by `row` from `select`.
async fn recent<T>(
    c: &impl GenericClient, select: &str, chain: Uuid, before_position: Option<i64>, limit: u32, row: fn(&Row) -> R<T>,
) -> R<Vec<T>> {
    let sql = format!("{select} WHERE relationship_id = $1 AND position < $2 ORDER BY position DESC LIMIT $3");
    let before = before_position.unwrap_or(i64::MAX);
    query_all(c, &sql, &[&chain, &before, &i64::from(limit)], row).await
}

pub(crate) async fn chain_head(c: &impl GenericClient, chain: Uuid) -> R<Option<ChainHead>> {
    query_opt(c, "SELECT position, hash FROM audit_head WHERE relationship_id = $1 AND position > 0", &[&chain], head_row).await
}

impl PostgresStore {
    /// A pool of connections to the database at `url` (`postgres://user@host/db`), checked by
    /// connecting once: `ACCORD_PG_POOL` of them, by default [`default_pool_size`].
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        let options = match config.get_options() {
            Some(given) => format!("{SESSION_SETTINGS} {given}"),
            None => SESSION_SETTINGS.to_owned(),
        };
        config.options(options);
        let manager = Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let size =
            match std::env::var("ACCORD_PG_POOL") {
                Ok(v) => v.trim().parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    StoreError::Backend(format!("ACCORD_PG_POOL must be a whole number of connections above 0, not {v:?}"))
                })?,
                Err(_) => default_pool_size(),
            };
        let pool = Pool::builder(manager).max_size(size).build().map_err(|e| StoreError::Backend(e.to_string()))?;
        let store = PostgresStore { pool, config };
        store.ping().await.map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(store)
    }

    async fn client(&self) -> R<Client> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => Fail::from(e),
            e => backend(e),
        })
    }

    async fn read<T>(&self, f: impl for<'c> FnOnce(&'c Client) -> Work<'c, T> + Send) -> StoreResult<T> {
        let out = async {
            let client = self.client().await?;
            f(&client).await
        };
        out.await.map_err(|Fail(e)| e)
    }

    /// Runs `f` in one transaction: all of it is written, or none (a transaction dropped
    /// without commit rolls back).
    async fn write<T>(&self, f: impl for<'t> FnOnce(&'t Transaction<'t>) -> Work<'t, T> + Send) -> StoreResult<T> {
        let out = async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let out = f(&tx).await?;
            tx.commit().await?;
            Ok(out)
        };
        out.await.map_err(|Fail(e)| e)
    }
}
#[async_trait]
impl DatabaseStore for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> StoreResult<Vec<&'static str>> {
        let out = async {
            let (mut client, connection) = self.config.connect(NoTls).await?;
            let connection = tokio::spawn(connection);
            // Servers starting together take turns; the lock ends with the session.
            client.execute("SELECT pg_advisory_lock(4216001)", &[]).await?;
            let report = embedded::migrations::runner()
                .run_async(&mut client)
                .await
                .map(|_| ())
                .map_err(|e| backend(format!("migration failed: {}", chain(&e))));
            drop(client);
            let _ = connection.await;
            report
        };
        out.await.map_err(|Fail(e)| e)?;
        self.write(|tx| {
            Box::pin(async move {
                // One server at a time, after any other's migrations: the same lock, held until commit.
                tx.execute("SELECT pg_advisory_xact_lock(4216001)", &[]).await?;
                measures::keep_recent_where_missing(tx).await?;
                people::fill_name_skeletons(tx).await?;
                audit_triggers::restore(tx).await
            })
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| Box::pin(async move { Ok(c.simple_query("SELECT 1").await.map(|_| ())?) })).await
    }

    async fn settle(&self) -> StoreResult<()> {
        // VACUUM cannot run in a transaction: a pooled connection runs it on its own.
        self.read(|c| Box::pin(async move { Ok(c.batch_execute("VACUUM (ANALYZE)").await?) })).await
    }
}
