//! PostgreSQL storage through tokio-postgres on a deadpool pool.
//!
//! The same behaviour as the SQLite store. What differs is how writers are kept apart: SQLite's
//! IMMEDIATE transactions serialise every writer, here an append locks its chain's head row
//! (`FOR UPDATE`), and a write that checks a rule before it writes takes that lock first.

mod audit_triggers;
#[macro_use]
mod rows;
mod issues;
mod measures;
mod notifications;
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
use deadpool_postgres::{Client, GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::json;
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
/// stored), with the names of the people who acted in them (joined, not asked for afterwards).
pub(crate) async fn recent_event_lines(
    c: &impl GenericClient,
    chain: Uuid,
    before_position: Option<i64>,
    limit: u32,
) -> R<(Vec<EventLine>, Vec<(Uuid, String)>)> {
    let select = "SELECT e.position, e.occurred_at, e.actor_id, e.party_id, e.kind, e.subject, e.summary, e.hash, u.name
        FROM audit_event e LEFT JOIN user_account u ON u.user_id = e.actor_id";
    let rows = recent(c, select, chain, before_position, limit, |r| {
        let line = EventLine {
            position: r.try_get(0)?,
            time: r.try_get(1)?,
            actor: r.try_get(2)?,
            party: r.try_get(3)?,
            kind: r.try_get(4)?,
            subject: r.try_get(5)?,
            summary: r.try_get(6)?,
            hash: r.try_get(7)?,
        };
        Ok((line, r.try_get::<_, Option<String>>(8)?))
    })
    .await?;
    let mut actors: Vec<(Uuid, String)> = rows.iter().filter_map(|(line, name)| Some((line.actor?, name.clone()?))).collect();
    actors.sort_unstable();
    actors.dedup();
    Ok((rows.into_iter().map(|(line, _)| line).collect(), actors))
}

/// The events of `chain` before a position, newest first, each read by `row` from `select`.
async fn recent<T>(
    c: &impl GenericClient,
    select: &str,
    chain: Uuid,
    before_position: Option<i64>,
    limit: u32,
    row: fn(&Row) -> R<T>,
) -> R<Vec<T>> {
    let sql = format!("{select} WHERE relationship_id = $1 AND position < $2 ORDER BY position DESC LIMIT $3");
    let before = before_position.unwrap_or(i64::MAX);
    query_all(c, &sql, &[&chain, &before, &i64::from(limit)], row).await
}

pub(crate) async fn chain_head(c: &impl GenericClient, chain: Uuid) -> R<Option<ChainHead>> {
    query_opt(c, "SELECT position, hash FROM audit_head WHERE relationship_id = $1 AND position > 0", &[&chain], head_row).await
}

/// Who is asking, the relationship and their membership in it, in one statement: `$2` is the
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
            LEFT JOIN relationship r ON r.relationship_id = $2
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
    "c.session_hash = $1 AND c.idle_expires_at > $3 AND c.absolute_expires_at > $3"
);
const VIEWER_BY_TOKEN: &str =
    viewer_sql!("NULL::timestamptz, NULL::timestamptz", "api_token", "c.token_hash = $1 AND c.revoked_at IS NULL");

async fn viewer(c: &impl GenericClient, credential: &Credential, relationship_id: Option<Uuid>, now: Timestamp) -> R<Viewer> {
    let row = match credential {
        Credential::Session(hash) => {
            let statement = c.prepare_cached(VIEWER_BY_SESSION).await?;
            c.query_opt(&statement, &[hash, &relationship_id, &micros(now)]).await?.ok_or(not_found("session"))?
        }
        Credential::Token(hash) => {
            let statement = c.prepare_cached(VIEWER_BY_TOKEN).await?;
            c.query_opt(&statement, &[hash, &relationship_id]).await?.ok_or(not_found("token"))?
        }
    };
    let user = user_row(&row)?;
    let session = match row.try_get::<_, Option<Timestamp>>(8)? {
        Some(idle_expires_at) => Some(Session { user: user.clone(), idle_expires_at, absolute_expires_at: row.try_get(9)? }),
        None => None,
    };
    let relationship = if row.try_get::<_, Option<Uuid>>(10)?.is_some() { Some(relationship_at(&row, 10)?) } else { None };
    let member = if row.try_get::<_, Option<Uuid>>(19)?.is_some() { Some(member_at(&row, 19)?) } else { None };
    Ok(Viewer { user, session, relationship, member })
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
                fill_name_skeletons(tx).await?;
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

#[async_trait]
impl PeopleStore for PostgresStore {
    async fn create_organisation(&self, name: Name, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Organisation> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let skeleton = name.skeleton();
                let like = "SELECT name FROM organisation WHERE name_skeleton = $1";
                if let Some(existing) = query_opt(tx, like, &[&skeleton], |r| Ok(r.try_get::<_, String>(0)?)).await? {
                    return Err(Fail(StoreError::organisation_looks_like(&existing)));
                }
                let id = new_id(now);
                execute(
                    tx,
                    "INSERT INTO organisation (organisation_id, name, name_skeleton, created_at) VALUES ($1, $2, $3, $4)",
                    &[&id, &name.as_str(), &skeleton, &now],
                )
                .await
                .map_err(unique_as("name", "an organisation with this name exists already"))?;
                append(
                    tx,
                    SITE_CHAIN,
                    Draft::new(actor, EventKind::OrganisationCreated, "organisation", id, json!({"name": name.as_str()})),
                    now,
                )
                .await?;
                Ok(Organisation { id, name: name.into_string(), created_at: now })
            })
        })
        .await
    }

    async fn organisation(&self, id: Uuid, visible: Visibility) -> StoreResult<Organisation> {
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{ORGANISATION} WHERE {VISIBLE} AND o.organisation_id = $2");
                query_opt(c, &sql, &[&visible.user(), &id], organisation_row).await?.ok_or(not_found("organisation"))
            })
        })
        .await
    }

    async fn find_organisation(&self, name_or_id: &str) -> StoreResult<Organisation> {
        let key = name_or_id.to_owned();
        self.read(move |c| {
            Box::pin(async move { by_name_or_id(c, ORGANISATION, "o", "organisation_id", &key, organisation_row, "organisation").await })
        })
        .await
    }

    async fn list_organisations(&self, visible: Visibility, page: PageRequest) -> StoreResult<Page<Organisation>> {
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{ORGANISATION} WHERE {VISIBLE} AND o.organisation_id > $2 ORDER BY o.organisation_id LIMIT $3");
                let after = page.after.unwrap_or_default();
                let rows = query_all(c, &sql, &[&visible.user(), &after, &page.fetch()], organisation_row).await?;
                Ok(Page::from_rows(rows, page, |o| o.id))
            })
        })
        .await
    }

    async fn create_user(&self, user: NewUser, actor: Option<Uuid>, now: Timestamp) -> StoreResult<User> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let id = insert_user(tx, &user, actor, now).await?;
                get_user(tx, id).await
            })
        })
        .await
    }

    async fn user(&self, id: Uuid) -> StoreResult<User> {
        self.read(move |c| Box::pin(get_user(c, id))).await
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<User> {
        let email = email.clone();
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{USER} WHERE u.email = $1");
                query_opt(c, &sql, &[&email.as_str()], user_row).await?.ok_or(not_found("user"))
            })
        })
        .await
    }

    async fn list_users(&self, page: PageRequest) -> StoreResult<Page<User>> {
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{USER} WHERE u.user_id > $1 ORDER BY u.user_id LIMIT $2");
                let after = page.after.unwrap_or_default();
                let rows = query_all(c, &sql, &[&after, &page.fetch()], user_row).await?;
                Ok(Page::from_rows(rows, page, |u| u.id))
            })
        })
        .await
    }

    async fn password_hash(&self, user_id: Uuid) -> StoreResult<Option<String>> {
        self.read(move |c| {
            Box::pin(async move {
                query_opt(c, "SELECT secret FROM credential WHERE user_id = $1 AND kind = 'password'", &[&user_id], |r| Ok(r.try_get(0)?))
                    .await
            })
        })
        .await
    }

    async fn create_token(&self, user_id: Uuid, name: Name, token_hash: &str, now: Timestamp) -> StoreResult<ApiToken> {
        let token_hash = token_hash.to_owned();
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                get_user(tx, user_id).await?;
                let id = new_id(now);
                execute(
                    tx,
                    "INSERT INTO api_token (api_token_id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                    &[&id, &user_id, &name.as_str(), &token_hash, &now],
                )
                .await?;
                let summary = json!({"name": name.as_str()});
                append(tx, SITE_CHAIN, Draft::new(Some(user_id), EventKind::TokenCreated, "token", id, summary), now).await?;
                Ok(ApiToken { id, name: name.into_string(), created_at: now, revoked_at: None })
            })
        })
        .await
    }

    async fn user_by_token(&self, token_hash: &str) -> StoreResult<User> {
        // A token has no expiry: the time is not read.
        let credential = Credential::Token(token_hash.to_owned());
        self.read(move |c| Box::pin(async move { Ok(viewer(c, &credential, None, Timestamp::UNIX_EPOCH).await?.user) })).await
    }

    async fn list_tokens(&self, user_id: Uuid) -> StoreResult<Vec<ApiToken>> {
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{TOKEN} WHERE user_id = $1 ORDER BY api_token_id");
                query_all(c, &sql, &[&user_id], token_row).await
            })
        })
        .await
    }

    async fn revoke_token(&self, user_id: Uuid, token_id: Uuid, now: Timestamp) -> StoreResult<()> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let n = execute(
                    tx,
                    "UPDATE api_token SET revoked_at = $3 WHERE api_token_id = $1 AND user_id = $2 AND revoked_at IS NULL",
                    &[&token_id, &user_id, &now],
                )
                .await?;
                if n == 0 {
                    return Err(not_found("token"));
                }
                append(tx, SITE_CHAIN, Draft::new(Some(user_id), EventKind::TokenRevoked, "token", token_id, json!({})), now).await?;
                Ok(())
            })
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
        let (now, idle_until, absolute_until) = (micros(now), micros(idle_until), micros(absolute_until));
        self.write(move |tx| {
            Box::pin(async move {
                // Shared lock: a concurrent disabling either waits for this session (and ends it)
                // or has committed already (and the session is refused).
                if lock_user(tx, user_id, true).await?.disabled {
                    return Err(not_found("user"));
                }
                // The user's expired sessions go as a new one comes, so the table does not grow forever.
                execute(
                    tx,
                    "DELETE FROM session WHERE user_id = $1 AND (idle_expires_at <= $2 OR absolute_expires_at <= $2)",
                    &[&user_id, &now],
                )
                .await?;
                execute(
                    tx,
                    "INSERT INTO session (session_hash, user_id, created_at, idle_expires_at, absolute_expires_at) VALUES ($1, $2, $3, $4, $5)",
                    &[&session_hash, &user_id, &now, &idle_until, &absolute_until],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn session(&self, session_hash: &str, now: Timestamp) -> StoreResult<Session> {
        let credential = Credential::Session(session_hash.to_owned());
        self.read(move |c| Box::pin(async move { viewer(c, &credential, None, now).await?.session.ok_or(not_found("session")) })).await
    }

    async fn viewer(&self, credential: Credential, relationship_id: Option<Uuid>, now: Timestamp) -> StoreResult<Viewer> {
        self.read(move |c| Box::pin(async move { viewer(c, &credential, relationship_id, now).await })).await
    }

    async fn touch_session(&self, session_hash: &str, idle_until: Timestamp) -> StoreResult<()> {
        let session_hash = session_hash.to_owned();
        let idle_until = micros(idle_until);
        self.write(move |tx| {
            Box::pin(async move {
                execute(
                    tx,
                    "UPDATE session SET idle_expires_at = LEAST($2, absolute_expires_at) WHERE session_hash = $1",
                    &[&session_hash, &idle_until],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn end_session(&self, session_hash: &str) -> StoreResult<()> {
        let session_hash = session_hash.to_owned();
        self.write(move |tx| {
            Box::pin(async move {
                execute(tx, "DELETE FROM session WHERE session_hash = $1", &[&session_hash]).await?;
                Ok(())
            })
        })
        .await
    }

    async fn sign_in_failures(&self, email: &str, since: Timestamp) -> StoreResult<u32> {
        let email = email.to_owned();
        let since = micros(since);
        self.read(move |c| {
            Box::pin(async move {
                let n: i64 =
                    query_opt(c, "SELECT count(*) FROM sign_in_failure WHERE email = $1 AND failed_at > $2", &[&email, &since], |r| {
                        Ok(r.try_get(0)?)
                    })
                    .await?
                    .unwrap_or(0);
                u32::try_from(n).map_err(backend)
            })
        })
        .await
    }

    async fn record_sign_in_failure(&self, email: &str, now: Timestamp, forget_before: Timestamp) -> StoreResult<()> {
        let email = email.to_owned();
        let (now, forget_before) = (micros(now), micros(forget_before));
        self.write(move |tx| {
            Box::pin(async move {
                execute(tx, "DELETE FROM sign_in_failure WHERE email = $1 AND failed_at <= $2", &[&email, &forget_before]).await?;
                execute(tx, "INSERT INTO sign_in_failure (email, failed_at) VALUES ($1, $2)", &[&email, &now]).await?;
                Ok(())
            })
        })
        .await
    }

    async fn clear_sign_in_failures(&self, email: &str) -> StoreResult<()> {
        let email = email.to_owned();
        self.write(move |tx| {
            Box::pin(async move {
                execute(tx, "DELETE FROM sign_in_failure WHERE email = $1", &[&email]).await?;
                Ok(())
            })
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
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_user(tx, user_id, false).await?;
                write_password(tx, user_id, &password_hash, actor, now).await?;
                end_other_sessions(tx, user_id, keep_session.as_deref()).await
            })
        })
        .await
    }

    async fn set_user_disabled(&self, user_id: Uuid, disabled: bool, actor: Option<Uuid>, now: Timestamp) -> StoreResult<User> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // Locked, so that two admins who both see the account enabled do not both disable it.
                let before = lock_user(tx, user_id, false).await?;
                if before.disabled != disabled {
                    execute(tx, "UPDATE user_account SET disabled_at = $2 WHERE user_id = $1", &[&user_id, &disabled.then_some(now)])
                        .await?;
                    end_sessions(tx, user_id).await?;
                    let kind = if disabled { EventKind::UserDisabled } else { EventKind::UserEnabled };
                    append(tx, SITE_CHAIN, Draft::new(actor, kind, "user", user_id, json!({})), now).await?;
                }
                get_user(tx, user_id).await
            })
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
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // Locked, so that two links issued at once cannot both stay live.
                lock_user(tx, user_id, false).await?;
                // A new link replaces any earlier one not yet used.
                execute(tx, "UPDATE password_reset SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL", &[&user_id, &now]).await?;
                execute(
                    tx,
                    "INSERT INTO password_reset (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                    &[&token_hash, &user_id, &now, &micros(expires_at)],
                )
                .await?;
                let summary = json!({"expires_at": expires_at.to_string()});
                append(tx, SITE_CHAIN, Draft::new(actor, EventKind::UserPasswordResetIssued, "user", user_id, summary), now).await?;
                Ok(())
            })
        })
        .await
    }

    async fn password_reset_user(&self, token_hash: &str, now: Timestamp) -> StoreResult<User> {
        let token_hash = token_hash.to_owned();
        let now = micros(now);
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!(
                    "{USER} JOIN password_reset t ON t.user_id = u.user_id
                     WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND u.disabled_at IS NULL"
                );
                query_opt(c, &sql, &[&token_hash, &now], user_row).await?.ok_or(not_found("password reset link"))
            })
        })
        .await
    }

    async fn use_password_reset(&self, token_hash: &str, password_hash: &str, now: Timestamp) -> StoreResult<User> {
        let (token_hash, password_hash) = (token_hash.to_owned(), password_hash.to_owned());
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // One statement finds and uses the link: of two uses at once, the second waits for
                // the first, then finds the link used.
                let user_id: Uuid = query_opt(
                    tx,
                    "UPDATE password_reset t SET used_at = $2 FROM user_account u
                     WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND u.user_id = t.user_id AND u.disabled_at IS NULL
                     RETURNING t.user_id",
                    &[&token_hash, &now],
                    |r| Ok(r.try_get(0)?),
                )
                .await?
                .ok_or(not_found("password reset link"))?;
                write_password(tx, user_id, &password_hash, Some(user_id), now).await?;
                end_sessions(tx, user_id).await?;
                get_user(tx, user_id).await
            })
        })
        .await
    }
}

#[async_trait]
impl RelationshipStore for PostgresStore {
    async fn create_relationship(&self, new: NewRelationship, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Relationship> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                for organisation_id in &new.parties {
                    require_organisation(tx, *organisation_id, "parties").await?;
                }
                let id = new_id(now);
                execute(
                    tx,
                    "INSERT INTO relationship (relationship_id, name, purpose, start_date, status, time_zone, version, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, 'active', $5, 1, $6, $6)",
                    &[&id, &new.name.as_str(), &new.purpose, &new.start_date, &new.time_zone, &now],
                )
                .await
                .map_err(unique_as("name", "a relationship with this name exists already"))?;
                execute(
                    tx,
                    "INSERT INTO audit_head (relationship_id, position, hash) VALUES ($1, 0, $2)",
                    &[&id, &GENESIS_HASH],
                )
                .await?;
                for organisation_id in &new.parties {
                    execute(
                        tx,
                        "INSERT INTO party (relationship_id, party_id, organisation_id, joined_at) VALUES ($1, $2, $3, $4)",
                        &[&id, &new_id(now), organisation_id, &now],
                    )
                    .await?;
                }
                let summary = json!({
                    "name": new.name.as_str(), "purpose": new.purpose, "start_date": new.start_date.to_string(),
                    "time_zone": new.time_zone, "parties": new.parties,
                });
                append(tx, id, Draft::new(actor, EventKind::RelationshipCreated, "relationship", id, summary), now).await?;
                get_relationship(tx, id).await
            })
        })
        .await
    }

    async fn relationship(&self, id: Uuid) -> StoreResult<Relationship> {
        self.read(move |c| Box::pin(get_relationship(c, id))).await
    }

    async fn find_relationship(&self, name_or_id: &str) -> StoreResult<Relationship> {
        let key = name_or_id.to_owned();
        self.read(move |c| {
            Box::pin(async move { by_name_or_id(c, RELATIONSHIP, "r", "relationship_id", &key, relationship_row, "relationship").await })
        })
        .await
    }

    async fn update_relationship(
        &self,
        id: Uuid,
        expected_version: i64,
        change: RelationshipChange,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<Relationship> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // Locked, so that two writers who read the same version cannot both pass. NO KEY:
                // inserts that reference the relationship (their foreign-key checks take KEY SHARE)
                // need not wait, so one that already holds the chain cannot deadlock with this.
                let sql = format!("{RELATIONSHIP} WHERE r.relationship_id = $1 FOR NO KEY UPDATE");
                let before = query_opt(tx, &sql, &[&id], relationship_row)
                    .await?
                    .ok_or(not_found("relationship"))?;
                if before.version != expected_version {
                    return Err(Fail(StoreError::Stale { current: before.version }));
                }
                let name = change.name.as_ref().map_or(before.name.as_str(), Name::as_str);
                let purpose = change.purpose.as_deref().unwrap_or(&before.purpose);
                let status = change.status.unwrap_or(before.status);
                execute(
                    tx,
                    "UPDATE relationship SET name = $2, purpose = $3, status = $4, version = version + 1, updated_at = $5 WHERE relationship_id = $1",
                    &[&id, &name, &purpose, &status.as_str(), &now],
                )
                .await
                .map_err(unique_as("name", "a relationship with this name exists already"))?;
                let summary = json!({
                    "before": {"name": before.name, "purpose": before.purpose, "status": before.status},
                    "after": {"name": name, "purpose": purpose, "status": status},
                });
                append(tx, id, Draft::new(actor, EventKind::RelationshipUpdated, "relationship", id, summary), now).await?;
                get_relationship(tx, id).await
            })
        })
        .await
    }

    async fn list_relationships(&self, member: Option<Uuid>, page: PageRequest) -> StoreResult<Page<Relationship>> {
        self.read(move |c| {
            Box::pin(async move {
                let after = page.after.unwrap_or_default();
                let rows = match member {
                    None => {
                        let sql = format!("{RELATIONSHIP} WHERE r.relationship_id > $1 ORDER BY r.relationship_id LIMIT $2");
                        query_all(c, &sql, &[&after, &page.fetch()], relationship_row).await?
                    }
                    Some(user_id) => {
                        let sql = format!(
                            "{RELATIONSHIP} JOIN membership m ON m.relationship_id = r.relationship_id AND m.user_id = $3 AND m.left_at IS NULL
                             WHERE r.relationship_id > $1 ORDER BY r.relationship_id LIMIT $2"
                        );
                        query_all(c, &sql, &[&after, &page.fetch(), &user_id], relationship_row).await?
                    }
                };
                Ok(Page::from_rows(rows, page, |r| r.id))
            })
        })
        .await
    }

    async fn parties(&self, relationship_id: Uuid) -> StoreResult<Vec<Party>> {
        self.read(move |c| Box::pin(parties(c, relationship_id))).await
    }

    async fn add_member(
        &self,
        relationship_id: Uuid,
        user_id: Uuid,
        role: Role,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<Member> {
        let now = micros(now);
        self.write(move |tx| Box::pin(add_member(tx, relationship_id, user_id, role, actor, now))).await
    }

    async fn change_role(
        &self,
        relationship_id: Uuid,
        user_id: Uuid,
        role: Role,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<Member> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_chain(tx, relationship_id).await?;
                let current = current_members(tx, relationship_id).await?;
                let member = find_current(&current, user_id)?;
                if let Some(actor) = actor {
                    require_party_writer(tx, &current, actor, member.party_id, true).await?;
                }
                membership::check_role_change(&current, user_id, role).map_err(membership_refused)?;
                if member.role != role {
                    end_period(tx, relationship_id, &member, Some(role), now).await?;
                    let summary = json!({"user": user_id, "party": member.party_id, "before": member.role, "after": role});
                    append(tx, relationship_id, Draft::new(actor, EventKind::MemberRoleChanged, "user", user_id, summary), now).await?;
                }
                current_membership(tx, relationship_id, user_id).await?.ok_or(not_found("member"))
            })
        })
        .await
    }

    async fn remove_member(&self, relationship_id: Uuid, user_id: Uuid, actor: Option<Uuid>, now: Timestamp) -> StoreResult<()> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_chain(tx, relationship_id).await?;
                let current = current_members(tx, relationship_id).await?;
                let member = find_current(&current, user_id)?;
                // Anyone may leave; removing someone else is a write for their party.
                if let Some(actor) = actor.filter(|a| *a != user_id) {
                    require_party_writer(tx, &current, actor, member.party_id, true).await?;
                }
                membership::check_leave(&current, user_id).map_err(membership_refused)?;
                // Recorded before the period ends: a member who leaves acts for their party still.
                let summary = json!({"user": user_id, "party": member.party_id, "role": member.role});
                append(tx, relationship_id, Draft::new(actor, EventKind::MemberLeft, "user", user_id, summary), now).await?;
                end_period(tx, relationship_id, &member, None, now).await?;
                Ok(())
            })
        })
        .await
    }

    async fn succeed_ser(&self, relationship_id: Uuid, successor: Uuid, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Member> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_chain(tx, relationship_id).await?;
                let current = current_members(tx, relationship_id).await?;
                let succession = membership::check_succession(&current, successor).map_err(membership_refused)?;
                if let Some(predecessor) = succession.predecessor {
                    end_period(tx, relationship_id, &find_current(&current, predecessor)?, Some(Role::Jmt), now).await?;
                }
                end_period(tx, relationship_id, &find_current(&current, successor)?, Some(Role::Ser), now).await?;
                let summary = json!({"party": succession.party_id, "predecessor": succession.predecessor, "successor": successor});
                append(tx, relationship_id, Draft::new(actor, EventKind::SerSucceeded, "user", successor, summary), now).await?;
                current_membership(tx, relationship_id, successor).await?.ok_or(not_found("member"))
            })
        })
        .await
    }

    async fn members(&self, relationship_id: Uuid) -> StoreResult<Vec<Member>> {
        self.read(move |c| Box::pin(members_now(c, relationship_id))).await
    }

    async fn membership_history(&self, relationship_id: Uuid) -> StoreResult<Vec<Member>> {
        self.read(move |c| Box::pin(membership_history(c, relationship_id))).await
    }

    async fn membership(&self, relationship_id: Uuid, user_id: Uuid) -> StoreResult<Option<Member>> {
        self.read(move |c| Box::pin(current_membership(c, relationship_id, user_id))).await
    }

    async fn create_invitation(&self, new: NewInvitation, actor: Uuid, now: Timestamp) -> StoreResult<Invitation> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                get_relationship(tx, new.relationship_id).await?;
                lock_chain(tx, new.relationship_id).await?;
                let organisation_id: Uuid = query_opt(
                    tx,
                    "SELECT organisation_id FROM party WHERE relationship_id = $1 AND party_id = $2",
                    &[&new.relationship_id, &new.party_id],
                    |r| Ok(r.try_get(0)?),
                )
                .await?
                .ok_or(not_found("party"))?;
                let sql = format!("{USER} WHERE u.email = $1");
                let existing = query_opt(tx, &sql, &[&new.email.as_str()], user_row).await?;
                let current = current_members(tx, new.relationship_id).await?;
                require_party_writer(tx, &current, actor, new.party_id, false).await?;
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
                execute(
                    tx,
                    "INSERT INTO invitation (relationship_id, invitation_id, party_id, email, role, token_hash, invited_by, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    &[
                        &new.relationship_id,
                        &id,
                        &new.party_id,
                        &new.email.as_str(),
                        &new.role.as_str(),
                        &new.token_hash,
                        &actor,
                        &now,
                        &micros(new.expires_at),
                    ],
                )
                .await?;
                let summary = json!({"invitation": id, "party": new.party_id, "role": new.role});
                let draft = Draft::new(Some(actor), EventKind::InvitationCreated, "invitation", id, summary);
                append(tx, new.relationship_id, draft, now).await?;
                pending_invitation(tx, &new.token_hash, now).await
            })
        })
        .await
    }

    async fn invitation(&self, token_hash: &str, now: Timestamp) -> StoreResult<Invitation> {
        let token_hash = token_hash.to_owned();
        let now = micros(now);
        self.read(move |c| Box::pin(async move { pending_invitation(c, &token_hash, now).await })).await
    }

    async fn pending_invitations(&self, relationship_id: Uuid, now: Timestamp) -> StoreResult<Vec<Invitation>> {
        let now = micros(now);
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!(
                    "{INVITATION} WHERE i.relationship_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2
                     ORDER BY i.invitation_id"
                );
                query_all(c, &sql, &[&relationship_id, &now], invitation_row).await
            })
        })
        .await
    }

    async fn accept_invitation(&self, token_hash: &str, account: InvitationAccount, now: Timestamp) -> StoreResult<Member> {
        let token_hash = token_hash.to_owned();
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // The chain first, then the invitation: of two acceptances at once, the second
                // waits for the first and then finds the invitation used up.
                let relationship_id: Uuid =
                    query_opt(tx, "SELECT relationship_id FROM invitation WHERE token_hash = $1", &[&token_hash], |r| Ok(r.try_get(0)?))
                        .await?
                        .ok_or(not_found("invitation"))?;
                lock_chain(tx, relationship_id).await?;
                let invitation = pending_invitation(tx, &token_hash, now).await?;
                let user_id = match account {
                    InvitationAccount::Existing(user_id) => {
                        let user = get_user(tx, user_id).await?;
                        if user.email != invitation.email {
                            return Err(invalid(
                                "email",
                                format!("this invitation is for {}; sign in with that address", invitation.email),
                            ));
                        }
                        if user.organisation_id != invitation.organisation_id {
                            return Err(invalid(
                                "email",
                                format!("belongs to an account of {}, not of this party", user.organisation_name),
                            ));
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
                        insert_user(tx, &user, None, now).await.map_err(|Fail(e)| match e {
                            StoreError::Invalid(_) => invalid("email", "an account with this address exists already: sign in to accept"),
                            e => Fail(e),
                        })?
                    }
                };
                execute(
                    tx,
                    "UPDATE invitation SET accepted_at = $3 WHERE relationship_id = $1 AND invitation_id = $2",
                    &[&invitation.relationship_id, &invitation.id, &now],
                )
                .await?;
                // The membership first: the acceptance is then recorded for the party the person joined.
                let member = add_member(tx, invitation.relationship_id, user_id, invitation.role, Some(invitation.invited_by), now).await?;
                let draft = Draft::new(Some(user_id), EventKind::InvitationAccepted, "invitation", invitation.id, json!({"user": user_id}));
                append(tx, invitation.relationship_id, draft, now).await?;
                Ok(member)
            })
        })
        .await
    }

    async fn revoke_invitation(&self, relationship_id: Uuid, invitation_id: Uuid, actor: Uuid, now: Timestamp) -> StoreResult<()> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // Locked first, so that an acceptance under way finishes before this looks.
                lock_chain(tx, relationship_id).await?;
                let party_id: Uuid = query_opt(
                    tx,
                    "SELECT party_id FROM invitation WHERE relationship_id = $1 AND invitation_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
                    &[&relationship_id, &invitation_id],
                    |r| Ok(r.try_get(0)?),
                )
                .await?
                .ok_or(not_found("invitation"))?;
                require_party_writer(tx, &current_members(tx, relationship_id).await?, actor, party_id, false).await?;
                execute(
                    tx,
                    "UPDATE invitation SET revoked_at = $3 WHERE relationship_id = $1 AND invitation_id = $2",
                    &[&relationship_id, &invitation_id, &now],
                )
                .await?;
                let draft = Draft::new(Some(actor), EventKind::InvitationRevoked, "invitation", invitation_id, json!({"party": party_id}));
                append(tx, relationship_id, draft, now).await?;
                Ok(())
            })
        })
        .await
    }
}

#[async_trait]
impl MeasureStore for PostgresStore {
    async fn create_objective(&self, new: NewObjective, actor: Uuid, now: Timestamp) -> StoreResult<Objective> {
        let now = micros(now);
        self.write(move |tx| Box::pin(async move { measures::create_objective(tx, &new, actor, now).await })).await
    }

    async fn objectives(&self, relationship_id: Uuid) -> StoreResult<Vec<Objective>> {
        self.read(move |c| Box::pin(measures::objectives(c, relationship_id))).await
    }

    async fn objective(&self, relationship_id: Uuid, objective_id: Uuid) -> StoreResult<Objective> {
        self.read(move |c| Box::pin(measures::objective(c, relationship_id, objective_id))).await
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
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(
                async move { measures::review_objective(tx, relationship_id, objective_id, &review, expected_version, actor, now).await },
            )
        })
        .await
    }

    async fn objective_reviews(&self, relationship_id: Uuid, objective_id: Uuid) -> StoreResult<Vec<ObjectiveReviewRecord>> {
        self.read(move |c| Box::pin(measures::objective_reviews(c, relationship_id, objective_id))).await
    }

    async fn create_kpi(&self, new: NewKpi, actor: Uuid, now: Timestamp) -> StoreResult<Kpi> {
        let now = micros(now);
        self.write(move |tx| Box::pin(async move { measures::create_kpi(tx, &new, actor, now).await })).await
    }

    async fn kpis(&self, relationship_id: Uuid) -> StoreResult<Vec<Kpi>> {
        self.read(move |c| Box::pin(measures::kpis(c, relationship_id))).await
    }

    async fn kpi(&self, relationship_id: Uuid, kpi_id: Uuid) -> StoreResult<Kpi> {
        self.read(move |c| Box::pin(measures::kpi(c, relationship_id, kpi_id))).await
    }

    async fn kpi_versions(&self, relationship_id: Uuid, kpi_id: Uuid) -> StoreResult<Vec<KpiVersion>> {
        self.read(move |c| Box::pin(measures::kpi_versions(c, relationship_id, kpi_id))).await
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
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                measures::add_kpi_version(tx, relationship_id, kpi_id, effective_from, &thresholds, expected_version, actor, now).await
            })
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
        let now = micros(now);
        self.write(move |tx| Box::pin(async move { measures::record_measurement(tx, relationship_id, &input, actor, now).await })).await
    }

    async fn measurements(&self, relationship_id: Uuid, kpi_id: Uuid, before: Option<Date>, limit: u32) -> StoreResult<Vec<Measurement>> {
        self.read(move |c| Box::pin(measures::measurements(c, relationship_id, kpi_id, before, limit))).await
    }

    async fn measurement_history(&self, relationship_id: Uuid, kpi_id: Uuid, period_start: Date) -> StoreResult<Vec<Measurement>> {
        self.read(move |c| Box::pin(measures::measurement_history(c, relationship_id, kpi_id, period_start))).await
    }

    async fn recent_measurements(&self, relationship_id: Uuid, per_kpi: u32) -> StoreResult<Vec<Measurement>> {
        self.read(move |c| Box::pin(measures::recent_measurements(c, relationship_id, per_kpi))).await
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
        let now = micros(now);
        self.write(move |tx| Box::pin(async move { measures::import_measurements(tx, relationship_id, &rows, &sha, actor, now).await }))
            .await
    }

    async fn create_obligation(&self, new: NewObligation, actor: Uuid, now: Timestamp) -> StoreResult<Obligation> {
        let now = micros(now);
        self.write(move |tx| Box::pin(async move { measures::create_obligation(tx, &new, actor, now).await })).await
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
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(
                async move { measures::update_obligation(tx, relationship_id, obligation_id, &change, expected_version, actor, now).await },
            )
        })
        .await
    }

    async fn obligations(&self, relationship_id: Uuid) -> StoreResult<Vec<Obligation>> {
        self.read(move |c| Box::pin(measures::obligations(c, relationship_id))).await
    }

    async fn obligation(&self, relationship_id: Uuid, obligation_id: Uuid) -> StoreResult<Obligation> {
        self.read(move |c| Box::pin(measures::obligation(c, relationship_id, obligation_id))).await
    }
}

#[async_trait]
impl ActionStore for PostgresStore {
    async fn create_action(&self, new: NewAction, actor: Uuid, now: Timestamp) -> StoreResult<Action> {
        let now = micros(now);
        self.write(move |tx| Box::pin(async move { measures::create_action(tx, &new, actor, now).await })).await
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
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move { measures::update_action(tx, relationship_id, action_id, &change, expected_version, actor, now).await })
        })
        .await
    }

    async fn action(&self, relationship_id: Uuid, action_id: Uuid) -> StoreResult<Action> {
        self.read(move |c| Box::pin(measures::action(c, relationship_id, action_id))).await
    }

    async fn actions(
        &self,
        relationship_id: Uuid,
        filter: ActionFilter,
        after: Option<(Date, Uuid)>,
        limit: u32,
    ) -> StoreResult<Vec<Action>> {
        self.read(move |c| Box::pin(measures::actions(c, relationship_id, filter, after, limit))).await
    }
}

#[async_trait]
impl ViewStore for PostgresStore {
    async fn viewer_with_view(
        &self,
        credential: Credential,
        relationship_id: Uuid,
        now: Timestamp,
        request: ViewRequest,
    ) -> StoreResult<(Viewer, StoreResult<View>)> {
        self.read(move |c| {
            Box::pin(async move {
                // Both at once, on one connection: the view is dropped unless it may be shown.
                let (viewer, view) =
                    tokio::join!(viewer(c, &credential, Some(relationship_id), now), views::view(c, relationship_id, request));
                let viewer = viewer?;
                let view = match view {
                    Ok(view) if shown_views(&viewer) => Ok(view),
                    Ok(_) => Err(StoreError::NotFound("relationship")),
                    Err(Fail(e)) => Err(e),
                };
                Ok((viewer, view))
            })
        })
        .await
    }

    async fn view(&self, relationship_id: Uuid, request: ViewRequest) -> StoreResult<View> {
        self.read(move |c| Box::pin(views::view(c, relationship_id, request))).await
    }

    async fn issue_detail(&self, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>) -> StoreResult<IssueDetail> {
        self.read(move |c| Box::pin(views::issue_detail(c, relationship_id, issue_id, viewer_party))).await
    }
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn audit_events(&self, chain: Uuid, after_position: i64, limit: u32) -> StoreResult<Vec<Event>> {
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{EVENT} WHERE relationship_id = $1 AND position > $2 ORDER BY position LIMIT $3");
                query_all(c, &sql, &[&chain, &after_position, &i64::from(limit)], event_row).await
            })
        })
        .await
    }

    async fn recent_audit_events(&self, chain: Uuid, before_position: Option<i64>, limit: u32) -> StoreResult<Vec<Event>> {
        self.read(move |c| Box::pin(recent_audit_events(c, chain, before_position, limit))).await
    }

    async fn chain_head(&self, chain: Uuid) -> StoreResult<Option<ChainHead>> {
        self.read(move |c| Box::pin(chain_head(c, chain))).await
    }

    async fn audit_chains(&self) -> StoreResult<Vec<Uuid>> {
        self.read(|c| {
            Box::pin(async move {
                query_all(c, "SELECT relationship_id FROM audit_head ORDER BY relationship_id", &[], |r| Ok(r.try_get(0)?)).await
            })
        })
        .await
    }
}
