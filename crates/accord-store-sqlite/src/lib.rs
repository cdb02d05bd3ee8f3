//! SQLite storage through rusqlite, on a small r2d2 pool; every call runs in `spawn_blocking` so
//! a query never stalls the async workers.

mod audit_triggers;
#[macro_use]
mod rows;
mod issues;
mod measures;
mod notifications;
mod pool;
pub use pool::Workload;
mod views;

use rows::*;

use accord_domain::EventKind;
use accord_domain::audit::{self, ChainHead, Draft, Event, GENESIS_HASH};
use accord_domain::id::{new_id, parse_id};
use accord_domain::measure::Thresholds;
use accord_domain::membership::{self, CurrentMember, MembershipError, Role};
use accord_domain::relationship::{NewRelationship, Status};
use accord_domain::text::{Email, Name};
use accord_store::*;
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde_json::json;
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
    c: &Connection,
    select: &str,
    chain: Uuid,
    before_position: Option<i64>,
    limit: u32,
    row: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> R<Vec<T>> {
    let mut stmt = c.prepare_cached(&format!("{select} WHERE relationship_id = ?1 AND position < ?2 ORDER BY position DESC LIMIT ?3"))?;
    Ok(stmt.query_map(params![chain, before_position.unwrap_or(i64::MAX), limit], row)?.collect::<Result<_, _>>()?)
}

pub(crate) fn chain_head(c: &Connection, chain: Uuid) -> R<Option<ChainHead>> {
    Ok(c.prepare_cached("SELECT position, hash FROM audit_head WHERE relationship_id = ?1 AND position > 0")?
        .query_row([chain], |r| Ok(ChainHead { position: r.get(0)?, hash: r.get(1)? }))
        .optional()?)
}

/// Who is asking, the relationship and their membership in it, in one statement: `?2` is the
/// relationship (NULL for none), whose columns and the membership's follow the caller's; `c` is
/// the credential's row (a session or a token).
macro_rules! viewer_sql {
    ($expiry:literal, $credential:literal, $valid:literal) => {
        concat!(
            "SELECT ",
            user_columns!(),
            ", ",
            $expiry,
            ",
            r.relationship_id, r.name, r.purpose, r.start_date, r.status, r.time_zone, r.version, r.created_at, r.updated_at,
            m.membership_id, m.relationship_id, m.party_id, mo.name, m.user_id, u.name, u.email, m.role, m.joined_at, m.left_at
            FROM ",
            $credential,
            " c JOIN user_account u ON u.user_id = c.user_id JOIN organisation o ON o.organisation_id = u.organisation_id
            LEFT JOIN relationship r ON r.relationship_id = ?2
            LEFT JOIN membership m ON m.relationship_id = r.relationship_id AND m.user_id = u.user_id AND m.left_at IS NULL
            LEFT JOIN party p ON p.relationship_id = m.relationship_id AND p.party_id = m.party_id
            LEFT JOIN organisation mo ON mo.organisation_id = p.organisation_id
            WHERE u.disabled_at IS NULL AND ",
            $valid
        )
    };
}

const VIEWER_BY_SESSION: &str = viewer_sql!(
    "c.idle_expires_at, c.absolute_expires_at",
    "session",
    "c.session_hash = ?1 AND c.idle_expires_at > ?3 AND c.absolute_expires_at > ?3"
);
const VIEWER_BY_TOKEN: &str = viewer_sql!("NULL, NULL", "api_token", "c.token_hash = ?1 AND c.revoked_at IS NULL");

fn viewer(c: &Connection, credential: &Credential, relationship_id: Option<Uuid>, now: Timestamp) -> R<Viewer> {
    let read = |r: &Row| {
        let user = user_row(r)?;
        let session = match r.get::<_, Option<i64>>(8)? {
            Some(idle) => Some(Session { user: user.clone(), idle_expires_at: ts(idle), absolute_expires_at: ts(r.get(9)?) }),
            None => None,
        };
        let relationship = if r.get_ref(10)?.data_type() == rusqlite::types::Type::Null { None } else { Some(relationship_at(r, 10)?) };
        let member = if r.get_ref(19)?.data_type() == rusqlite::types::Type::Null { None } else { Some(member_at(r, 19)?) };
        Ok(Viewer { user, session, relationship, member })
    };
    Ok(match credential {
        Credential::Session(hash) => c
            .prepare_cached(VIEWER_BY_SESSION)?
            .query_row(params![hash, relationship_id, micros(now)], read)
            .optional()?
            .ok_or(not_found("session"))?,
        Credential::Token(hash) => {
            c.prepare_cached(VIEWER_BY_TOKEN)?.query_row(params![hash, relationship_id], read).optional()?.ok_or(not_found("token"))?
        }
    })
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
            embedded::migrations::runner().run(conn).map_err(|e| Fail(StoreError::Backend(format!("migration failed: {e}"))))?;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            measures::keep_recent_where_missing(&tx)?;
            fill_name_skeletons(&tx)?;
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

#[async_trait]
impl PeopleStore for SqliteStore {
    async fn create_organisation(&self, name: Name, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Organisation> {
        self.write(move |tx| {
            let skeleton = name.skeleton();
            let like: Option<String> = tx
                .prepare_cached("SELECT name FROM organisation WHERE name_skeleton = ?1")?
                .query_row([&skeleton], |r| r.get(0))
                .optional()?;
            if let Some(existing) = like {
                return Err(Fail(StoreError::organisation_looks_like(&existing)));
            }
            let id = new_id(now);
            tx.execute(
                "INSERT INTO organisation (organisation_id, name, name_skeleton, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, name.as_str(), skeleton, micros(now)],
            )
            .map_err(unique_as("name", "an organisation with this name exists already"))?;
            append(
                tx,
                SITE_CHAIN,
                Draft::new(actor, EventKind::OrganisationCreated, "organisation", id, json!({"name": name.as_str()})),
                now,
            )?;
            Ok(Organisation { id, name: name.into_string(), created_at: ts(micros(now)) })
        })
        .await
    }

    async fn organisation(&self, id: Uuid, visible: Visibility) -> StoreResult<Organisation> {
        self.run(move |c| {
            c.prepare_cached(&format!("{ORGANISATION} WHERE {VISIBLE} AND organisation_id = ?2"))?
                .query_row(params![visible.user(), id], organisation_row)
                .optional()?
                .ok_or(not_found("organisation"))
        })
        .await
    }

    async fn find_organisation(&self, name_or_id: &str) -> StoreResult<Organisation> {
        let key = name_or_id.to_owned();
        self.run(move |c| by_name_or_id(c, ORGANISATION, "organisation_id", &key, organisation_row, "organisation")).await
    }

    async fn list_organisations(&self, visible: Visibility, page: PageRequest) -> StoreResult<Page<Organisation>> {
        self.run(move |c| {
            let mut stmt =
                c.prepare_cached(&format!("{ORGANISATION} WHERE {VISIBLE} AND organisation_id > ?2 ORDER BY organisation_id LIMIT ?3"))?;
            let rows = stmt
                .query_map(params![visible.user(), page.after.unwrap_or_default(), page.fetch()], organisation_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(rows, page, |o| o.id))
        })
        .await
    }

    async fn create_user(&self, user: NewUser, actor: Option<Uuid>, now: Timestamp) -> StoreResult<User> {
        self.write(move |tx| {
            let id = insert_user(tx, &user, actor, now)?;
            get_user(tx, id)
        })
        .await
    }

    async fn user(&self, id: Uuid) -> StoreResult<User> {
        self.run(move |c| get_user(c, id)).await
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<User> {
        let email = email.clone();
        self.run(move |c| {
            c.prepare_cached(&format!("{USER} WHERE u.email = ?1"))?
                .query_row([email.as_str()], user_row)
                .optional()?
                .ok_or(not_found("user"))
        })
        .await
    }

    async fn list_users(&self, page: PageRequest) -> StoreResult<Page<User>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&format!("{USER} WHERE u.user_id > ?1 ORDER BY u.user_id LIMIT ?2"))?;
            let rows = stmt.query_map(params![page.after.unwrap_or_default(), page.fetch()], user_row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(rows, page, |u| u.id))
        })
        .await
    }

    async fn password_hash(&self, user_id: Uuid) -> StoreResult<Option<String>> {
        self.run(move |c| {
            Ok(c.prepare_cached("SELECT secret FROM credential WHERE user_id = ?1 AND kind = 'password'")?
                .query_row([user_id], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn create_token(&self, user_id: Uuid, name: Name, token_hash: &str, now: Timestamp) -> StoreResult<ApiToken> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            get_user(tx, user_id)?;
            let id = new_id(now);
            tx.execute(
                "INSERT INTO api_token (api_token_id, user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, user_id, name.as_str(), token_hash, micros(now)],
            )?;
            append(tx, SITE_CHAIN, Draft::new(Some(user_id), EventKind::TokenCreated, "token", id, json!({"name": name.as_str()})), now)?;
            Ok(ApiToken { id, name: name.into_string(), created_at: ts(micros(now)), revoked_at: None })
        })
        .await
    }

    async fn user_by_token(&self, token_hash: &str) -> StoreResult<User> {
        // A token has no expiry: the time is not read.
        let credential = Credential::Token(token_hash.to_owned());
        self.run(move |c| Ok(viewer(c, &credential, None, Timestamp::UNIX_EPOCH)?.user)).await
    }

    async fn list_tokens(&self, user_id: Uuid) -> StoreResult<Vec<ApiToken>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT api_token_id, name, created_at, revoked_at FROM api_token WHERE user_id = ?1 ORDER BY api_token_id",
            )?;
            let rows = stmt.query_map([user_id], |r| {
                Ok(ApiToken { id: r.get(0)?, name: r.get(1)?, created_at: ts(r.get(2)?), revoked_at: r.get::<_, Option<i64>>(3)?.map(ts) })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn revoke_token(&self, user_id: Uuid, token_id: Uuid, now: Timestamp) -> StoreResult<()> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE api_token SET revoked_at = ?3 WHERE api_token_id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
                params![token_id, user_id, micros(now)],
            )?;
            if n == 0 {
                return Err(not_found("token"));
            }
            append(tx, SITE_CHAIN, Draft::new(Some(user_id), EventKind::TokenRevoked, "token", token_id, json!({})), now)?;
            Ok(())
        })
        .await
    }

    async fn create_session(
        &self,
        session_hash: &str,
        user_id: Uuid,
        now: Timestamp,
        idle_until: Timestamp,
        absolute_until: Timestamp,
    ) -> StoreResult<()> {
        let session_hash = session_hash.to_owned();
        self.write(move |tx| {
            // A disabled account gets none: one made now would come back when it is enabled again.
            if get_user(tx, user_id)?.disabled {
                return Err(not_found("user"));
            }
            // The user's expired sessions go as a new one comes, so the table does not grow forever.
            tx.prepare_cached("DELETE FROM session WHERE user_id = ?1 AND (idle_expires_at <= ?2 OR absolute_expires_at <= ?2)")?
                .execute(params![user_id, micros(now)])?;
            tx.prepare_cached(
                "INSERT INTO session (session_hash, user_id, created_at, idle_expires_at, absolute_expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![session_hash, user_id, micros(now), micros(idle_until), micros(absolute_until)])?;
            Ok(())
        })
        .await
    }

    async fn session(&self, session_hash: &str, now: Timestamp) -> StoreResult<Session> {
        let credential = Credential::Session(session_hash.to_owned());
        self.run(move |c| viewer(c, &credential, None, now)?.session.ok_or(not_found("session"))).await
    }

    async fn viewer(&self, credential: Credential, relationship_id: Option<Uuid>, now: Timestamp) -> StoreResult<Viewer> {
        self.run(move |c| viewer(c, &credential, relationship_id, now)).await
    }

    async fn touch_session(&self, session_hash: &str, idle_until: Timestamp) -> StoreResult<()> {
        let session_hash = session_hash.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("UPDATE session SET idle_expires_at = MIN(?2, absolute_expires_at) WHERE session_hash = ?1")?
                .execute(params![session_hash, micros(idle_until)])?;
            Ok(())
        })
        .await
    }

    async fn end_session(&self, session_hash: &str) -> StoreResult<()> {
        let session_hash = session_hash.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM session WHERE session_hash = ?1")?.execute([session_hash])?;
            Ok(())
        })
        .await
    }

    async fn sign_in_failures(&self, email: &str, since: Timestamp) -> StoreResult<u32> {
        let email = email.to_owned();
        self.run(move |c| {
            Ok(c.prepare_cached("SELECT count(*) FROM sign_in_failure WHERE email = ?1 AND failed_at > ?2")?
                .query_row(params![email, micros(since)], |r| r.get(0))?)
        })
        .await
    }

    async fn record_sign_in_failure(&self, email: &str, now: Timestamp, forget_before: Timestamp) -> StoreResult<()> {
        let email = email.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM sign_in_failure WHERE email = ?1 AND failed_at <= ?2")?
                .execute(params![email, micros(forget_before)])?;
            tx.prepare_cached("INSERT INTO sign_in_failure (email, failed_at) VALUES (?1, ?2)")?.execute(params![email, micros(now)])?;
            Ok(())
        })
        .await
    }

    async fn clear_sign_in_failures(&self, email: &str) -> StoreResult<()> {
        let email = email.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM sign_in_failure WHERE email = ?1")?.execute([email])?;
            Ok(())
        })
        .await
    }

    async fn set_password(
        &self,
        user_id: Uuid,
        password_hash: &str,
        keep_session: Option<&str>,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let password_hash = password_hash.to_owned();
        let keep_session = keep_session.map(str::to_owned);
        self.write(move |tx| {
            get_user(tx, user_id)?;
            write_password(tx, user_id, &password_hash, actor, now)?;
            end_other_sessions(tx, user_id, keep_session.as_deref())
        })
        .await
    }

    async fn set_user_disabled(&self, user_id: Uuid, disabled: bool, actor: Option<Uuid>, now: Timestamp) -> StoreResult<User> {
        self.write(move |tx| {
            let before = get_user(tx, user_id)?;
            if before.disabled != disabled {
                tx.prepare_cached("UPDATE user_account SET disabled_at = ?2 WHERE user_id = ?1")?
                    .execute(params![user_id, disabled.then_some(micros(now))])?;
                end_sessions(tx, user_id)?;
                let kind = if disabled { EventKind::UserDisabled } else { EventKind::UserEnabled };
                append(tx, SITE_CHAIN, Draft::new(actor, kind, "user", user_id, json!({})), now)?;
            }
            get_user(tx, user_id)
        })
        .await
    }

    async fn create_password_reset(
        &self,
        user_id: Uuid,
        token_hash: &str,
        expires_at: Timestamp,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            get_user(tx, user_id)?;
            // A new link replaces any earlier one not yet used.
            tx.prepare_cached("UPDATE password_reset SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL")?
                .execute(params![user_id, micros(now)])?;
            tx.prepare_cached("INSERT INTO password_reset (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![token_hash, user_id, micros(now), micros(expires_at)])?;
            let summary = json!({"expires_at": expires_at.to_string()});
            append(tx, SITE_CHAIN, Draft::new(actor, EventKind::UserPasswordResetIssued, "user", user_id, summary), now)?;
            Ok(())
        })
        .await
    }

    async fn password_reset_user(&self, token_hash: &str, now: Timestamp) -> StoreResult<User> {
        let token_hash = token_hash.to_owned();
        self.run(move |c| {
            c.prepare_cached(&format!(
                "{USER} JOIN password_reset t ON t.user_id = u.user_id
                 WHERE t.token_hash = ?1 AND t.used_at IS NULL AND t.expires_at > ?2 AND u.disabled_at IS NULL"
            ))?
            .query_row(params![token_hash, micros(now)], user_row)
            .optional()?
            .ok_or(not_found("password reset link"))
        })
        .await
    }

    async fn use_password_reset(&self, token_hash: &str, password_hash: &str, now: Timestamp) -> StoreResult<User> {
        let (token_hash, password_hash) = (token_hash.to_owned(), password_hash.to_owned());
        self.write(move |tx| {
            let user_id: Uuid = tx
                .prepare_cached(
                    "SELECT t.user_id FROM password_reset t JOIN user_account u ON u.user_id = t.user_id
                     WHERE t.token_hash = ?1 AND t.used_at IS NULL AND t.expires_at > ?2 AND u.disabled_at IS NULL",
                )?
                .query_row(params![token_hash, micros(now)], |r| r.get(0))
                .optional()?
                .ok_or(not_found("password reset link"))?;
            tx.prepare_cached("UPDATE password_reset SET used_at = ?2 WHERE token_hash = ?1")?.execute(params![token_hash, micros(now)])?;
            write_password(tx, user_id, &password_hash, Some(user_id), now)?;
            end_sessions(tx, user_id)?;
            get_user(tx, user_id)
        })
        .await
    }
}

#[async_trait]
impl RelationshipStore for SqliteStore {
    async fn create_relationship(&self, new: NewRelationship, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Relationship> {
        self.write(move |tx| {
            for organisation_id in &new.parties {
                require_organisation(tx, *organisation_id, "parties")?;
            }
            let id = new_id(now);
            tx.execute(
                "INSERT INTO relationship (relationship_id, name, purpose, start_date, status, time_zone, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'active', ?5, 1, ?6, ?6)",
                params![id, new.name.as_str(), new.purpose, new.start_date.to_string(), new.time_zone, micros(now)],
            )
            .map_err(unique_as("name", "a relationship with this name exists already"))?;
            tx.execute("INSERT INTO audit_head (relationship_id, position, hash) VALUES (?1, 0, ?2)", params![id, GENESIS_HASH])?;
            for organisation_id in &new.parties {
                tx.execute(
                    "INSERT INTO party (relationship_id, party_id, organisation_id, joined_at) VALUES (?1, ?2, ?3, ?4)",
                    params![id, new_id(now), organisation_id, micros(now)],
                )?;
            }
            let summary = json!({
                "name": new.name.as_str(), "purpose": new.purpose, "start_date": new.start_date.to_string(),
                "time_zone": new.time_zone, "parties": new.parties,
            });
            append(tx, id, Draft::new(actor, EventKind::RelationshipCreated, "relationship", id, summary), now)?;
            get_relationship(tx, id)
        })
        .await
    }

    async fn relationship(&self, id: Uuid) -> StoreResult<Relationship> {
        self.run(move |c| get_relationship(c, id)).await
    }

    async fn find_relationship(&self, name_or_id: &str) -> StoreResult<Relationship> {
        let key = name_or_id.to_owned();
        self.run(move |c| by_name_or_id(c, RELATIONSHIP, "relationship_id", &key, relationship_row, "relationship")).await
    }

    async fn update_relationship(
        &self,
        id: Uuid,
        expected_version: i64,
        change: RelationshipChange,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<Relationship> {
        self.write(move |tx| {
            let before = get_relationship(tx, id)?;
            if before.version != expected_version {
                return Err(Fail(StoreError::Stale { current: before.version }));
            }
            let name = change.name.as_ref().map_or(before.name.as_str(), Name::as_str);
            let purpose = change.purpose.as_deref().unwrap_or(&before.purpose);
            let status = change.status.unwrap_or(before.status);
            tx.execute(
                "UPDATE relationship SET name = ?2, purpose = ?3, status = ?4, version = version + 1, updated_at = ?5 WHERE relationship_id = ?1",
                params![id, name, purpose, status.as_str(), micros(now)],
            )
            .map_err(unique_as("name", "a relationship with this name exists already"))?;
            let summary = json!({
                "before": {"name": before.name, "purpose": before.purpose, "status": before.status},
                "after": {"name": name, "purpose": purpose, "status": status},
            });
            append(tx, id, Draft::new(actor, EventKind::RelationshipUpdated, "relationship", id, summary), now)?;
            get_relationship(tx, id)
        })
        .await
    }

    async fn list_relationships(&self, member: Option<Uuid>, page: PageRequest) -> StoreResult<Page<Relationship>> {
        self.run(move |c| {
            let after = page.after.unwrap_or_default();
            let rows = match member {
                None => c
                    .prepare_cached(&format!("{RELATIONSHIP} WHERE r.relationship_id > ?1 ORDER BY r.relationship_id LIMIT ?2"))?
                    .query_map(params![after, page.fetch()], relationship_row)?
                    .collect::<Result<Vec<_>, _>>()?,
                Some(user_id) => c
                    .prepare_cached(&format!(
                        "{RELATIONSHIP} JOIN membership m ON m.relationship_id = r.relationship_id AND m.user_id = ?3 AND m.left_at IS NULL
                         WHERE r.relationship_id > ?1 ORDER BY r.relationship_id LIMIT ?2"
                    ))?
                    .query_map(params![after, page.fetch(), user_id], relationship_row)?
                    .collect::<Result<Vec<_>, _>>()?,
            };
            Ok(Page::from_rows(rows, page, |r| r.id))
        })
        .await
    }

    async fn parties(&self, relationship_id: Uuid) -> StoreResult<Vec<Party>> {
        self.run(move |c| parties(c, relationship_id)).await
    }

    async fn add_member(
        &self,
        relationship_id: Uuid,
        user_id: Uuid,
        role: Role,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<Member> {
        self.write(move |tx| add_member(tx, relationship_id, user_id, role, actor, now)).await
    }

    async fn change_role(
        &self,
        relationship_id: Uuid,
        user_id: Uuid,
        role: Role,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<Member> {
        self.write(move |tx| {
            let current = current_members(tx, relationship_id)?;
            let member = find_current(&current, user_id)?;
            if let Some(actor) = actor {
                require_party_writer(tx, &current, actor, member.party_id, true)?;
            }
            membership::check_role_change(&current, user_id, role).map_err(membership_refused)?;
            if member.role != role {
                end_period(tx, relationship_id, &member, Some(role), now)?;
                let summary = json!({"user": user_id, "party": member.party_id, "before": member.role, "after": role});
                append(tx, relationship_id, Draft::new(actor, EventKind::MemberRoleChanged, "user", user_id, summary), now)?;
            }
            current_membership(tx, relationship_id, user_id)?.ok_or(not_found("member"))
        })
        .await
    }

    async fn remove_member(&self, relationship_id: Uuid, user_id: Uuid, actor: Option<Uuid>, now: Timestamp) -> StoreResult<()> {
        self.write(move |tx| {
            let current = current_members(tx, relationship_id)?;
            let member = find_current(&current, user_id)?;
            // Anyone may leave; removing someone else is a write for their party.
            if let Some(actor) = actor.filter(|a| *a != user_id) {
                require_party_writer(tx, &current, actor, member.party_id, true)?;
            }
            membership::check_leave(&current, user_id).map_err(membership_refused)?;
            // Recorded before the period ends: a member who leaves acts for their party still.
            let summary = json!({"user": user_id, "party": member.party_id, "role": member.role});
            append(tx, relationship_id, Draft::new(actor, EventKind::MemberLeft, "user", user_id, summary), now)?;
            end_period(tx, relationship_id, &member, None, now)?;
            Ok(())
        })
        .await
    }

    async fn succeed_ser(&self, relationship_id: Uuid, successor: Uuid, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Member> {
        self.write(move |tx| {
            let current = current_members(tx, relationship_id)?;
            let succession = membership::check_succession(&current, successor).map_err(membership_refused)?;
            if let Some(predecessor) = succession.predecessor {
                end_period(tx, relationship_id, &find_current(&current, predecessor)?, Some(Role::Jmt), now)?;
            }
            end_period(tx, relationship_id, &find_current(&current, successor)?, Some(Role::Ser), now)?;
            let summary = json!({"party": succession.party_id, "predecessor": succession.predecessor, "successor": successor});
            append(tx, relationship_id, Draft::new(actor, EventKind::SerSucceeded, "user", successor, summary), now)?;
            current_membership(tx, relationship_id, successor)?.ok_or(not_found("member"))
        })
        .await
    }

    async fn members(&self, relationship_id: Uuid) -> StoreResult<Vec<Member>> {
        self.run(move |c| members_now(c, relationship_id)).await
    }

    async fn membership_history(&self, relationship_id: Uuid) -> StoreResult<Vec<Member>> {
        self.run(move |c| membership_history(c, relationship_id)).await
    }

    async fn membership(&self, relationship_id: Uuid, user_id: Uuid) -> StoreResult<Option<Member>> {
        self.run(move |c| current_membership(c, relationship_id, user_id)).await
    }

    async fn create_invitation(&self, new: NewInvitation, actor: Uuid, now: Timestamp) -> StoreResult<Invitation> {
        self.write(move |tx| {
            get_relationship(tx, new.relationship_id)?;
            let organisation_id: Uuid = tx
                .prepare_cached("SELECT organisation_id FROM party WHERE relationship_id = ?1 AND party_id = ?2")?
                .query_row([new.relationship_id, new.party_id], |r| r.get(0))
                .optional()?
                .ok_or(not_found("party"))?;
            let existing = tx.prepare_cached(&format!("{USER} WHERE u.email = ?1"))?.query_row([new.email.as_str()], user_row).optional()?;
            let current = current_members(tx, new.relationship_id)?;
            require_party_writer(tx, &current, actor, new.party_id, false)?;
            if let Some(user) = &existing {
                if user.organisation_id != organisation_id {
                    return Err(invalid("email", format!("belongs to an account of {}, not of this party", user.organisation_name)));
                }
                if current.iter().any(|m| m.user_id == user.id) {
                    return Err(invalid("email", "is already a member of this relationship"));
                }
            }
            if new.role == Role::Ser && current.iter().any(|m| m.party_id == new.party_id && m.role == Role::Ser) {
                return Err(membership_refused(MembershipError::SecondSer));
            }
            let id = new_id(now);
            tx.prepare_cached(
                "INSERT INTO invitation (relationship_id, invitation_id, party_id, email, role, token_hash, invited_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                new.relationship_id,
                id,
                new.party_id,
                new.email.as_str(),
                new.role.as_str(),
                new.token_hash,
                actor,
                micros(now),
                micros(new.expires_at)
            ])?;
            let summary = json!({"invitation": id, "party": new.party_id, "role": new.role});
            append(tx, new.relationship_id, Draft::new(Some(actor), EventKind::InvitationCreated, "invitation", id, summary), now)?;
            pending_invitation(tx, &new.token_hash, now)
        })
        .await
    }

    async fn invitation(&self, token_hash: &str, now: Timestamp) -> StoreResult<Invitation> {
        let token_hash = token_hash.to_owned();
        self.run(move |c| pending_invitation(c, &token_hash, now)).await
    }

    async fn pending_invitations(&self, relationship_id: Uuid, now: Timestamp) -> StoreResult<Vec<Invitation>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "{INVITATION} WHERE i.relationship_id = ?1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?2
                 ORDER BY i.invitation_id"
            ))?;
            Ok(stmt.query_map(params![relationship_id, micros(now)], invitation_row)?.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn accept_invitation(&self, token_hash: &str, account: InvitationAccount, now: Timestamp) -> StoreResult<Member> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            let invitation = pending_invitation(tx, &token_hash, now)?;
            let user_id = match account {
                InvitationAccount::Existing(user_id) => {
                    let user = get_user(tx, user_id)?;
                    if user.email != invitation.email {
                        return Err(invalid("email", format!("this invitation is for {}; sign in with that address", invitation.email)));
                    }
                    // An account made for the address since, in another organisation, would join its own party.
                    if user.organisation_id != invitation.organisation_id {
                        return Err(invalid("email", format!("belongs to an account of {}, not of this party", user.organisation_name)));
                    }
                    user_id
                }
                InvitationAccount::New { name, password_hash } => {
                    let email = Email::parse(&invitation.email).map_err(|m| invalid("email", m))?;
                    let user = NewUser {
                        email,
                        name,
                        organisation_id: invitation.organisation_id,
                        is_admin: false,
                        password_hash: Some(password_hash),
                    };
                    insert_user(tx, &user, None, now).map_err(|Fail(e)| match e {
                        StoreError::Invalid(_) => invalid("email", "an account with this address exists already: sign in to accept"),
                        e => Fail(e),
                    })?
                }
            };
            tx.prepare_cached("UPDATE invitation SET accepted_at = ?3 WHERE relationship_id = ?1 AND invitation_id = ?2")?
                .execute(params![invitation.relationship_id, invitation.id, micros(now)])?;
            // The membership first: the acceptance is then recorded for the party the person joined.
            let member = add_member(tx, invitation.relationship_id, user_id, invitation.role, Some(invitation.invited_by), now)?;
            let draft = Draft::new(Some(user_id), EventKind::InvitationAccepted, "invitation", invitation.id, json!({"user": user_id}));
            append(tx, invitation.relationship_id, draft, now)?;
            Ok(member)
        })
        .await
    }

    async fn revoke_invitation(&self, relationship_id: Uuid, invitation_id: Uuid, actor: Uuid, now: Timestamp) -> StoreResult<()> {
        self.write(move |tx| {
            let party_id: Uuid = tx
                .prepare_cached(
                    "SELECT party_id FROM invitation WHERE relationship_id = ?1 AND invitation_id = ?2 AND accepted_at IS NULL AND revoked_at IS NULL",
                )?
                .query_row([relationship_id, invitation_id], |r| r.get(0))
                .optional()?
                .ok_or(not_found("invitation"))?;
            require_party_writer(tx, &current_members(tx, relationship_id)?, actor, party_id, false)?;
            tx.prepare_cached("UPDATE invitation SET revoked_at = ?3 WHERE relationship_id = ?1 AND invitation_id = ?2")?
                .execute(params![relationship_id, invitation_id, micros(now)])?;
            let draft = Draft::new(Some(actor), EventKind::InvitationRevoked, "invitation", invitation_id, json!({"party": party_id}));
            append(tx, relationship_id, draft, now)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl MeasureStore for SqliteStore {
    async fn create_objective(&self, new: NewObjective, actor: Uuid, now: Timestamp) -> StoreResult<Objective> {
        self.write(move |tx| measures::create_objective(tx, &new, actor, now)).await
    }

    async fn objectives(&self, relationship_id: Uuid) -> StoreResult<Vec<Objective>> {
        self.run(move |c| measures::objectives(c, relationship_id)).await
    }

    async fn objective(&self, relationship_id: Uuid, objective_id: Uuid) -> StoreResult<Objective> {
        self.run(move |c| measures::objective(c, relationship_id, objective_id)).await
    }

    async fn review_objective(
        &self,
        relationship_id: Uuid,
        objective_id: Uuid,
        review: ObjectiveReview,
        expected_version: i64,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Objective> {
        self.write(move |tx| measures::review_objective(tx, relationship_id, objective_id, &review, expected_version, actor, now)).await
    }

    async fn objective_reviews(&self, relationship_id: Uuid, objective_id: Uuid) -> StoreResult<Vec<ObjectiveReviewRecord>> {
        self.run(move |c| measures::objective_reviews(c, relationship_id, objective_id)).await
    }

    async fn create_kpi(&self, new: NewKpi, actor: Uuid, now: Timestamp) -> StoreResult<Kpi> {
        self.write(move |tx| measures::create_kpi(tx, &new, actor, now)).await
    }

    async fn kpis(&self, relationship_id: Uuid) -> StoreResult<Vec<Kpi>> {
        self.run(move |c| measures::kpis(c, relationship_id)).await
    }

    async fn kpi(&self, relationship_id: Uuid, kpi_id: Uuid) -> StoreResult<Kpi> {
        self.run(move |c| measures::kpi(c, relationship_id, kpi_id)).await
    }

    async fn kpi_versions(&self, relationship_id: Uuid, kpi_id: Uuid) -> StoreResult<Vec<KpiVersion>> {
        self.run(move |c| measures::kpi_versions(c, relationship_id, kpi_id)).await
    }

    async fn add_kpi_version(
        &self,
        relationship_id: Uuid,
        kpi_id: Uuid,
        effective_from: Date,
        thresholds: Thresholds,
        expected_version: i64,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Kpi> {
        self.write(move |tx| {
            measures::add_kpi_version(tx, relationship_id, kpi_id, effective_from, &thresholds, expected_version, actor, now)
        })
        .await
    }

    async fn record_measurement(
        &self,
        relationship_id: Uuid,
        input: MeasurementInput,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Measurement> {
        self.write(move |tx| measures::record_measurement(tx, relationship_id, &input, actor, now)).await
    }

    async fn measurements(&self, relationship_id: Uuid, kpi_id: Uuid, before: Option<Date>, limit: u32) -> StoreResult<Vec<Measurement>> {
        self.run(move |c| measures::measurements(c, relationship_id, kpi_id, before, limit)).await
    }

    async fn measurement_history(&self, relationship_id: Uuid, kpi_id: Uuid, period_start: Date) -> StoreResult<Vec<Measurement>> {
        self.run(move |c| measures::measurement_history(c, relationship_id, kpi_id, period_start)).await
    }

    async fn recent_measurements(&self, relationship_id: Uuid, per_kpi: u32) -> StoreResult<Vec<Measurement>> {
        self.run(move |c| measures::recent_measurements(c, relationship_id, per_kpi)).await
    }

    async fn import_measurements(
        &self,
        relationship_id: Uuid,
        rows: Vec<MeasurementInput>,
        file_sha256: &str,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<ImportSummary> {
        let sha = file_sha256.to_owned();
        self.write(move |tx| measures::import_measurements(tx, relationship_id, &rows, &sha, actor, now)).await
    }

    async fn create_obligation(&self, new: NewObligation, actor: Uuid, now: Timestamp) -> StoreResult<Obligation> {
        self.write(move |tx| measures::create_obligation(tx, &new, actor, now)).await
    }

    async fn update_obligation(
        &self,
        relationship_id: Uuid,
        obligation_id: Uuid,
        change: ObligationChange,
        expected_version: i64,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Obligation> {
        self.write(move |tx| measures::update_obligation(tx, relationship_id, obligation_id, &change, expected_version, actor, now)).await
    }

    async fn obligations(&self, relationship_id: Uuid) -> StoreResult<Vec<Obligation>> {
        self.run(move |c| measures::obligations(c, relationship_id)).await
    }

    async fn obligation(&self, relationship_id: Uuid, obligation_id: Uuid) -> StoreResult<Obligation> {
        self.run(move |c| measures::obligation(c, relationship_id, obligation_id)).await
    }
}

#[async_trait]
impl ActionStore for SqliteStore {
    async fn create_action(&self, new: NewAction, actor: Uuid, now: Timestamp) -> StoreResult<Action> {
        self.write(move |tx| measures::create_action(tx, &new, actor, now)).await
    }

    async fn update_action(
        &self,
        relationship_id: Uuid,
        action_id: Uuid,
        change: ActionChange,
        expected_version: i64,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Action> {
        self.write(move |tx| measures::update_action(tx, relationship_id, action_id, &change, expected_version, actor, now)).await
    }

    async fn action(&self, relationship_id: Uuid, action_id: Uuid) -> StoreResult<Action> {
        self.run(move |c| measures::action(c, relationship_id, action_id)).await
    }

    async fn actions(
        &self,
        relationship_id: Uuid,
        filter: ActionFilter,
        after: Option<(Date, Uuid)>,
        limit: u32,
    ) -> StoreResult<Vec<Action>> {
        self.run(move |c| measures::actions(c, relationship_id, filter, after, limit)).await
    }
}

#[async_trait]
impl ViewStore for SqliteStore {
    async fn viewer_with_view(
        &self,
        credential: Credential,
        relationship_id: Uuid,
        now: Timestamp,
        request: ViewRequest,
    ) -> StoreResult<(Viewer, StoreResult<View>)> {
        self.read(move |c| {
            let viewer = viewer(c, &credential, Some(relationship_id), now)?;
            let view = if shown_views(&viewer) {
                views::view(c, relationship_id, request).map_err(|Fail(e)| e)
            } else {
                Err(StoreError::NotFound("relationship"))
            };
            Ok((viewer, view))
        })
        .await
    }

    async fn view(&self, relationship_id: Uuid, request: ViewRequest) -> StoreResult<View> {
        self.read(move |c| views::view(c, relationship_id, request)).await
    }

    async fn issue_detail(&self, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>) -> StoreResult<IssueDetail> {
        self.read(move |c| views::issue_detail(c, relationship_id, issue_id, viewer_party)).await
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit_events(&self, chain: Uuid, after_position: i64, limit: u32) -> StoreResult<Vec<Event>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&format!("{EVENT} WHERE relationship_id = ?1 AND position > ?2 ORDER BY position LIMIT ?3"))?;
            Ok(stmt.query_map(params![chain, after_position, limit], event_row)?.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn recent_audit_events(&self, chain: Uuid, before_position: Option<i64>, limit: u32) -> StoreResult<Vec<Event>> {
        self.run(move |c| recent_audit_events(c, chain, before_position, limit)).await
    }

    async fn chain_head(&self, chain: Uuid) -> StoreResult<Option<ChainHead>> {
        self.run(move |c| chain_head(c, chain)).await
    }

    async fn audit_chains(&self) -> StoreResult<Vec<Uuid>> {
        self.run(|c| {
            let mut stmt = c.prepare_cached("SELECT relationship_id FROM audit_head ORDER BY relationship_id")?;
            Ok(stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?)
        })
        .await
    }
}
