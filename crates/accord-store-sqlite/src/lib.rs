//! SQLite storage through rusqlite, on a small r2d2 pool; every call runs in `spawn_blocking` so
//! a query never stalls the async workers.

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
mod pool;
mod records;
mod relationships;
mod reviews;
pub use pool::Workload;
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
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::path::Path;
use uuid::Uuid;

mod embedded {
    refinery::embed_migrations!("migrations");
}

pub struct SqliteStore {
    pool: r2d2::Pool<pool::Manager>,
    /// Calls waiting for a connection queue here, first come first served, without a thread
    /// each: more blocking threads than cores only made requests take turns on the CPU, and the
    /// slowest of them much slower.
    turns: tokio::sync::Semaphore,
}

/// The error inside a blocking call: `?` works on rusqlite's errors and on ours alike.
struct Fail(StoreError);

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Fail {
        Fail(StoreError::Backend(e.to_string()))
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        Fail(e)
    }
}

type R<T> = Result<T, Fail>;

fn not_found(what: &'static str) -> Fail {
    Fail(StoreError::NotFound(what))
}

fn invalid(field: &str, message: impl Into<String>) -> Fail {
    Fail(StoreError::invalid(field, message))
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// Maps a unique-key violation to a field error; anything else stays a database error.
fn unique_as(field: &'static str, message: &'static str) -> impl Fn(rusqlite::Error) -> Fail {
    move |e| {
        if is_unique_violation(&e) { invalid(field, message) } else { Fail::from(e) }
    }
}

fn ts(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn conversion<E: std::error::Error + Send + Sync + 'static>(column: usize, e: E) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
}

fn text_as<T>(row: &Row, column: usize, parse: fn(&str) -> Result<T, String>) -> rusqlite::Result<T> {
    let text: String = row.get(column)?;
    parse(&text).map_err(|e| conversion(column, std::io::Error::other(e)))
}

/// A `YYYY-MM-DD` column. Read straight from its bytes: pages that show hundreds of periods spent
/// a noticeable share of their time in the general date parser.
fn date(row: &Row, column: usize) -> rusqlite::Result<Date> {
    let text = row.get_ref(column)?.as_str()?;
    let b = text.as_bytes();
    let digits =
        |range: std::ops::Range<usize>| b[range].iter().try_fold(0i16, |n, d| d.is_ascii_digit().then(|| n * 10 + i16::from(d - b'0')));
    if b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10))
        && let Ok(date) = Date::new(y, m as i8, d as i8)
    {
        return Ok(date);
    }
    text.parse::<Date>().map_err(|e| conversion(column, e))
}

/// The events of `chain` before a position, newest first, each read by `row` from `select`.
fn recent<T>(
    c: &Connection, select: &str, chain: Uuid, before_position: Option<i64>, limit: u32, row: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> R<Vec<T>> {
    let mut stmt = c.prepare_cached(&format!("{select} WHERE relationship_id = ?1 AND position < ?2 ORDER BY position DESC LIMIT ?3"))?;
    Ok(stmt.query_map(params![chain, before_position.unwrap_or(i64::MAX), limit], row)?.collect::<Result<_, _>>()?)
}

pub(crate) fn chain_head(c: &Connection, chain: Uuid) -> R<Option<ChainHead>> {
    Ok(c.prepare_cached("SELECT position, hash FROM audit_head WHERE relationship_id = ?1 AND position > 0")?
        .query_row([chain], |r| Ok(ChainHead { position: r.get(0)?, hash: r.get(1)? }))
        .optional()?)
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path`, to serve.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        SqliteStore::open_for(path, Workload::Serve)
    }

    /// Opens the database file at `path` for `workload`.
    pub fn open_for(path: &Path, workload: Workload) -> StoreResult<SqliteStore> {
        // SQLite counts every allocation under one global mutex unless told not to; with several
        // connections reading at once that mutex was a hot spot. It must be set before SQLite
        // starts; a later call changes nothing and is harmless.
        static NO_MEMSTATUS: std::sync::Once = std::sync::Once::new();
        NO_MEMSTATUS.call_once(|| {
            // SAFETY: sqlite3_config is called with a valid option and argument, before any
            // connection of this process is opened.
            unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0) };
        });
        let pool = r2d2::Pool::builder()
            .max_size(workload.connections())
            .min_idle(Some(1))
            // A checkout test runs a statement on every call; a broken file fails the query anyway.
            .test_on_check_out(false)
            .build(pool::Manager::new(path, workload))
            .map_err(|e| StoreError::Backend(format!("cannot open SQLite database {}: {e}", path.display())))?;
        let turns = tokio::sync::Semaphore::new(workload.connections() as usize);
        Ok(SqliteStore { pool, turns })
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce(&mut Connection) -> R<T> + Send + 'static) -> StoreResult<T> {
        let _turn = self.turns.acquire().await.map_err(|e| StoreError::Backend(e.to_string()))?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| StoreError::Backend(e.to_string()))?;
            f(&mut conn).map_err(|Fail(e)| e)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }

    /// Runs the reads of `f` in one transaction, so that they see one snapshot. BEGIN and COMMIT
    /// are cached statements: `Connection::transaction` would parse them again on every call.
    async fn read<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> R<T> + Send + 'static) -> StoreResult<T> {
        self.run(move |conn| {
            // A read that panicked left its transaction open on this pooled connection.
            if !conn.is_autocommit() {
                conn.execute_batch("ROLLBACK")?;
            }
            conn.prepare_cached("BEGIN")?.execute([])?;
            let out = f(conn);
            conn.prepare_cached(if out.is_ok() { "COMMIT" } else { "ROLLBACK" })?.execute([])?;
            out
        })
        .await
    }

    /// Runs `f` in one IMMEDIATE transaction: all of it is written, or none.
    async fn write<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> R<T> + Send + 'static) -> StoreResult<T> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}
#[async_trait]
impl DatabaseStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> StoreResult<Vec<&'static str>> {
        self.run(|conn| {
            // A migration that rebuilds a table others refer to (V13) needs foreign keys off,
            // which SQLite ignores inside a transaction: so off around the runner, on again
            // whatever happened, and every reference checked before anything else runs, when
            // a migration ran (the check reads every table: on a large database, most of a
            // start's time).
            conn.execute_batch("PRAGMA foreign_keys = OFF")?;
            let migrated = embedded::migrations::runner().run(conn);
            conn.execute_batch("PRAGMA foreign_keys = ON")?;
            let report = migrated.map_err(|e| Fail(StoreError::Backend(format!("migration failed: {e}"))))?;
            if !report.applied_migrations().is_empty()
                && let Some(table) = conn.prepare("PRAGMA foreign_key_check")?.query_row([], |r| r.get::<_, String>(0)).optional()?
            {
                return Err(Fail(StoreError::Backend(format!("migration failed: a row of {table} refers to one that is missing"))));
            }
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            measures::keep_recent_where_missing(&tx)?;
            people::fill_name_skeletons(&tx)?;
            let restored = audit_triggers::restore(&tx)?;
            tx.commit()?;
            Ok(restored)
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.run(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    async fn settle(&self) -> StoreResult<()> {
        // Nothing to do: SQLite keeps no visibility map, and without statistics (no ANALYZE) its
        // planner plans the same whatever the data, which is what the pages' reads were measured
        // and tuned with (the ones that need it name their index: INDEXED BY).
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// V13 rebuilds `user_account` (its organisation may be none): on a database migrated to V12
    /// that holds accounts, sessions, tokens and memberships, every row survives, every
    /// reference still holds and is still enforced, and both indexes are there again.
    #[tokio::test]
    async fn the_account_table_rebuild_keeps_every_row_and_reference() {
        let dir = std::env::temp_dir().join(format!("accord-v13-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("old.db");
        let mut old = Connection::open(&file).unwrap();
        embedded::migrations::runner().set_target(refinery::Target::Version(12)).run(&mut old).unwrap();
        old.execute_batch(
            "PRAGMA foreign_keys = ON;
             INSERT INTO organisation (organisation_id, name, name_skeleton, created_at) VALUES (x'01', 'Northshore', 'northshore', 1);
             INSERT INTO user_account (user_id, email, name, organisation_id, is_admin, disabled_at, created_at)
                 VALUES (x'0a', 'ann@north.example', 'Ann', x'01', 1, NULL, 2), (x'0b', 'bo@north.example', 'Bo', x'01', 0, 5, 3);
             INSERT INTO credential (user_id, kind, secret, updated_at) VALUES (x'0a', 'password', 'phc', 2);
             INSERT INTO session (session_hash, user_id, created_at, idle_expires_at, absolute_expires_at) VALUES ('s', x'0a', 1, 2, 3);
             INSERT INTO api_token (api_token_id, user_id, name, token_hash, created_at) VALUES (x'0c', x'0b', 't', 'h', 4);
             INSERT INTO relationship (relationship_id, name, purpose, start_date, status, time_zone, version, created_at, updated_at)
                 VALUES (x'0d', 'Harbour', '', '2026-01-05', 'active', 'UTC', 1, 1, 1);
             INSERT INTO party (relationship_id, party_id, organisation_id, joined_at) VALUES (x'0d', x'0e', x'01', 1);
             INSERT INTO membership (relationship_id, membership_id, party_id, user_id, role, joined_at) VALUES (x'0d', x'0f', x'0e', x'0a', 'ser', 1);",
        )
        .unwrap();
        drop(old);

        let store = SqliteStore::open(&file).unwrap();
        store.migrate().await.unwrap();
        drop(store);
        // The ids written above are short blobs, not UUIDs: the rows are read raw.
        let c = Connection::open(&file).unwrap();
        c.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        /// An account's e-mail, organisation, administrator flag and disabling time.
        type Account = (String, Option<Vec<u8>>, bool, Option<i64>);
        let users: Vec<Account> = c
            .prepare("SELECT email, organisation_id, is_admin, disabled_at FROM user_account ORDER BY created_at")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            users,
            [("ann@north.example".into(), Some(vec![1]), true, None), ("bo@north.example".into(), Some(vec![1]), false, Some(5))]
        );
        let count = |table: &str| c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!([count("credential"), count("session"), count("api_token"), count("membership")], [1, 1, 1, 1]);
        // An account of no organisation is allowed now; references are still enforced both ways.
        c.execute(
            "INSERT INTO user_account (user_id, email, name, organisation_id, created_at) VALUES (x'10', 'root@host', 'Root', NULL, 9)",
            [],
        )
        .unwrap();
        assert!(c.execute("INSERT INTO session (session_hash, user_id, created_at, idle_expires_at, absolute_expires_at) VALUES ('t', x'99', 1, 2, 3)", []).is_err());
        assert!(
            c.execute(
                "INSERT INTO user_account (user_id, email, name, organisation_id, created_at) VALUES (x'11', 'x@host', 'X', x'99', 9)",
                []
            )
            .is_err()
        );
        assert!(
            c.execute("INSERT INTO user_account (user_id, email, name, created_at) VALUES (x'12', 'ann@north.example', 'A', 9)", [])
                .is_err()
        );
        let references: Vec<String> = c
            .prepare("SELECT m.name FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE f.\"table\" = 'user_account' ORDER BY 1")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for table in ["api_token", "credential", "membership", "password_reset", "session"] {
            assert!(references.iter().any(|t| t == table), "{table} still refers to user_account: {references:?}");
        }
        let indexes: Vec<String> = c
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'user_account' AND sql IS NOT NULL ORDER BY 1")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(indexes, ["user_account_names", "user_account_organisation"]);
        assert_eq!(c.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
        let _ = std::fs::remove_dir_all(dir);
    }
}
