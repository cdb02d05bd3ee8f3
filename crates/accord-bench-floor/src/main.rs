//! The floor `scripts/bench` compares Accord with: the least a signed-in page could cost on this
//! machine. One axum handler reads 25 rows of a 10,000-row SQLite table through rusqlite on a
//! small r2d2 pool inside `spawn_blocking` (the design Accord's SQLite store uses) and renders them
//! as an HTML table. No sessions, no templates, no joins: Accord's pages are judged as a share of it.
//!
//! Usage: `accord-bench-floor DATABASE_FILE [ADDR]`; prints `listening on http://ADDR` when ready.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const ROWS: i64 = 10_000;

/// One row of the table: id, title, status, amount, created.
type Item = (i64, String, String, f64, i64);
const PAGE: i64 = 25;

struct Manager(PathBuf);

impl r2d2::ManageConnection for Manager {
    type Connection = rusqlite::Connection;
    type Error = rusqlite::Error;

    fn connect(&self) -> Result<rusqlite::Connection, rusqlite::Error> {
        let conn = rusqlite::Connection::open(&self.0)?;
        // The same settings as Accord's pool, so that the comparison is fair.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA cache_size = -16000;",
        )?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut rusqlite::Connection) -> Result<(), rusqlite::Error> {
        conn.execute_batch("")
    }

    fn has_broken(&self, _conn: &mut rusqlite::Connection) -> bool {
        false
    }
}

#[derive(Clone)]
struct Floor {
    pool: r2d2::Pool<Manager>,
    // Each request starts somewhere else, so that the same page is not read over and over.
    next: Arc<AtomicU64>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: accord-bench-floor DATABASE_FILE [ADDR]")?);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let pool = r2d2::Pool::builder().max_size(8).build(Manager(path))?;
    fill(&mut *pool.get()?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        let app = Router::new().route("/", get(page)).with_state(Floor { pool, next: Arc::new(AtomicU64::new(0)) });
        axum::serve(listener, app).await?;
        Ok(())
    })
}

/// Creates the table with 10,000 rows unless it is there already.
fn fill(conn: &mut rusqlite::Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS item (item_id INTEGER PRIMARY KEY, title TEXT NOT NULL, status TEXT NOT NULL, amount REAL NOT NULL, created_at INTEGER NOT NULL)",
    )?;
    let count: i64 = tx.query_row("SELECT count(*) FROM item", [], |r| r.get(0))?;
    {
        let mut insert = tx.prepare("INSERT INTO item (item_id, title, status, amount, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for i in count + 1..=ROWS {
            let status = ["open", "in progress", "done"][(i % 3) as usize];
            insert.execute(rusqlite::params![
                i,
                format!("Item number {i} of the floor table"),
                status,
                i as f64 * 1.25,
                1_700_000_000 + i
            ])?;
        }
    }
    tx.commit()
}

async fn page(State(floor): State<Floor>) -> impl IntoResponse {
    let after = (floor.next.fetch_add(PAGE as u64, Ordering::Relaxed) as i64) % (ROWS - PAGE);
    let pool = floor.pool.clone();
    let rows = tokio::task::spawn_blocking(move || -> Result<Vec<Item>, String> {
        let conn = pool.get().map_err(|e| e.to_string())?;
        let mut stmt = conn
            .prepare_cached("SELECT item_id, title, status, amount, created_at FROM item WHERE item_id > ?1 ORDER BY item_id LIMIT ?2")
            .map_err(|e| e.to_string())?;
        let rows =
            stmt.query_map([after, PAGE], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))).map_err(|e| e.to_string())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
    })
    .await;
    let rows = match rows {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => return (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let mut html = String::with_capacity(4096);
    html.push_str("<!doctype html><html><head><meta charset=\"utf-8\"><title>Floor</title></head><body><table>");
    html.push_str("<tr><th>Id</th><th>Title</th><th>Status</th><th>Amount</th><th>Created</th></tr>");
    for (id, title, status, amount, created) in rows {
        let _ = write!(
            html,
            "<tr><td>{id}</td><td>{}</td><td>{}</td><td>{amount:.2}</td><td>{created}</td></tr>",
            escape(&title),
            escape(&status)
        );
    }
    html.push_str("</table></body></html>");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// HTML-escapes text, as a template engine would.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
