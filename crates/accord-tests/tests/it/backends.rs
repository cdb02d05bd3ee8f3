//! A fresh, migrated store per test on each backend, and a macro that runs a test on both.

use accord_store::prelude::*;
use accord_store_postgres::PostgresStore;
use accord_store_sqlite::SqliteStore;
use std::path::PathBuf;
use std::sync::Arc;
use uuid::Uuid;

/// Runs each named `async fn name(db: TestDb)` once on SQLite and once on PostgreSQL, as the
/// tests `name::sqlite` and `name::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::backends::TestDb::sqlite().await).await
            }

            #[tokio::test]
            async fn postgres() {
                super::$name($crate::backends::TestDb::postgres().await).await
            }
        }
    )*};
}
pub(crate) use on_both_backends;

/// Where the test's database lives, for a raw connection that goes around the store.
enum Place {
    Sqlite { dir: PathBuf, file: PathBuf },
    Postgres { admin_url: String, url: String, database: String },
}

/// A store on a database of its own, removed when the test passes (kept when it fails, to look at).
pub struct TestDb {
    pub store: Arc<dyn Store>,
    place: Place,
}

impl TestDb {
    /// A new SQLite file in a directory of its own under the system's temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("accord-test-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        let file = dir.join("accord.db");
        let store = SqliteStore::open(&file).expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        TestDb { store: Arc::new(store), place: Place::Sqlite { dir, file } }
    }

    /// A new database on the server named by `ACCORD_TEST_PG` (an administrator's URL).
    pub async fn postgres() -> TestDb {
        let admin_url = std::env::var("ACCORD_TEST_PG")
            .unwrap_or_else(|_| panic!("ACCORD_TEST_PG is not set: run ./scripts/test, which starts PostgreSQL"));
        let database = format!("accord_test_{}", Uuid::now_v7().simple());
        raw_postgres(&admin_url).await.batch_execute(&format!("CREATE DATABASE {database}")).await.expect("create the test database");
        let url = with_database(&admin_url, &database);
        let store = PostgresStore::connect(&url).await.expect("connect to PostgreSQL");
        store.migrate().await.expect("migrate PostgreSQL");
        TestDb { store: Arc::new(store), place: Place::Postgres { admin_url, url, database } }
    }

    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// A second store on the same database, as a second server would open it: connections of its
    /// own, so that its calls run beside the first store's (SQLite: a second pool on the file).
    pub async fn second_store(&self) -> Arc<dyn Store> {
        match &self.place {
            Place::Sqlite { file, .. } => Arc::new(SqliteStore::open(file).expect("open SQLite again")),
            Place::Postgres { url, .. } => Arc::new(PostgresStore::connect(url).await.expect("connect to PostgreSQL again")),
        }
    }

    /// Runs one statement on a connection of its own, as someone with the database's password
    /// could; the error's text when the database refuses it.
    pub async fn raw_execute(&self, sql: &str) -> Result<u64, String> {
        match &self.place {
            Place::Sqlite { file, .. } => {
                let conn = rusqlite::Connection::open(file).map_err(|e| e.to_string())?;
                conn.execute(sql, []).map(|n| n as u64).map_err(|e| e.to_string())
            }
            Place::Postgres { url, .. } => raw_postgres(url).await.execute(sql, &[]).await.map_err(|e| match e.as_db_error() {
                Some(db) => db.to_string(),
                None => e.to_string(),
            }),
        }
    }
}

impl TestDb {
    /// Prepares one statement on a connection of its own; the error's text when the database refuses it.
    pub async fn raw_prepare(&self, sql: &str) -> Result<(), String> {
        match &self.place {
            Place::Sqlite { file, .. } => {
                rusqlite::Connection::open(file).and_then(|c| c.prepare(sql).map(drop)).map_err(|e| e.to_string())
            }
            Place::Postgres { url, .. } => raw_postgres(url).await.prepare(sql).await.map(drop).map_err(|e| e.to_string()),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        match &self.place {
            Place::Sqlite { dir, .. } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Place::Postgres { admin_url, database, .. } => {
                // Drop runs inside the test's runtime, which cannot block on a future: use a
                // thread with a runtime of its own. FORCE ends the pool's connections.
                let admin_url = admin_url.clone();
                let sql = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
                let dropped = std::thread::spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime")
                        .block_on(async { raw_postgres(&admin_url).await.batch_execute(&sql).await })
                })
                .join();
                if let Ok(Err(e)) = dropped {
                    eprintln!("could not drop the test database {database}: {e}");
                }
            }
        }
    }
}

/// A plain tokio-postgres client, its connection driven by a task of the current runtime.
pub async fn raw_postgres(url: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at {url}: {e}"));
    tokio::spawn(connection);
    client
}

/// `postgres://user@host:port/admin_db?options` with `database` in place of `admin_db`.
fn with_database(url: &str, database: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        panic!("ACCORD_TEST_PG must be a URL such as postgres://postgres@127.0.0.1:5433/postgres");
    };
    let (base, query) = match url.find('?') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let authority_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    format!("{}/{database}{query}", &base[..authority_end])
}

#[test]
fn the_database_in_a_url_is_replaced() {
    assert_eq!(with_database("postgres://postgres@127.0.0.1:5433/postgres", "t1"), "postgres://postgres@127.0.0.1:5433/t1");
    assert_eq!(with_database("postgres://u:p@h?sslmode=disable", "t1"), "postgres://u:p@h/t1?sslmode=disable");
}

/// Every statement written once for both databases (`accord_store::sql`) prepares on each, the
/// viewer's with each backend's parameters.
async fn shared_statements_prepare(db: TestDb) {
    use accord_store::sql::{EVENT, MEMBER_ORDER, RELATIONSHIP, USER};
    let members = format!(
        "SELECT m.user_id FROM membership m JOIN user_account u ON u.user_id = m.user_id
         JOIN party p ON p.relationship_id = m.relationship_id AND p.party_id = m.party_id {MEMBER_ORDER}"
    );
    let viewer = match db.backend() {
        "sqlite" => accord_store::viewer_sql!("NULL, NULL", "api_token", "c.token_hash = ?1", "?2"),
        _ => accord_store::viewer_sql!("NULL::timestamptz, NULL::timestamptz", "api_token", "c.token_hash = $1", "$2"),
    };
    for sql in [USER, RELATIONSHIP, EVENT, &members, viewer] {
        if let Err(e) = db.raw_prepare(sql).await {
            panic!("{} refuses {sql}: {e}", db.backend());
        }
    }
}

on_both_backends!(shared_statements_prepare);
