//! The `accord` command: serve the site, migrate, administer, import and export.

pub mod cli;
pub mod demo;
pub mod import;
pub mod seed;
pub mod worker;

use accord_store::{Store, StoreError};
use accord_store_postgres::PostgresStore;
use accord_store_sqlite::{SqliteStore, Workload};
use std::path::PathBuf;
use std::sync::Arc;

/// The database a URL names: `postgres://...` is PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a
/// bare path is a SQLite file, created if missing, its connections set up for `workload`
/// (PostgreSQL's are the same for every workload).
pub async fn open_store_for(url: &str, workload: Workload) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::connect(url).await?));
    }
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let path = PathBuf::from(path.split('?').next().unwrap_or(path));
    if path.as_os_str().is_empty() {
        return Err(StoreError::Backend(format!("{url:?} names no database file")));
    }
    Ok(Arc::new(SqliteStore::open_for(&path, workload)?))
}
