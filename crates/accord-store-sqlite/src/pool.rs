//! An r2d2 manager for rusqlite connections, set up the way Accord needs them.

use std::path::{Path, PathBuf};

/// What the connections are for: serving, or one long job that writes a lot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Workload {
    /// The server: small page caches, every commit durable once the WAL is synced.
    #[default]
    Serve,
    /// One long job (an import): one connection with a large page cache, and fewer, larger
    /// checkpoints. One connection, because a connection drops its cache whenever another one
    /// has written: with several, a long series of writes kept re-reading the same pages.
    Batch,
    /// Filling a new database that can be made again (`accord seed`): one connection, without
    /// syncing or the WAL, and locked for the whole job.
    Fill,
}

/// Calls at once when serving: a few more than this machine's 2 cores, so that one waiting on the
/// disk or the write lock leaves the others work.
const SERVE_CONNECTIONS: u32 = 4;

impl Workload {
    /// How many connections the pool keeps, and so how many calls run at once.
    pub fn connections(self) -> u32 {
        if self == Workload::Serve { SERVE_CONNECTIONS } else { 1 }
    }
}

pub struct Manager {
    path: PathBuf,
    workload: Workload,
}

impl Manager {
    pub fn new(path: &Path, workload: Workload) -> Manager {
        Manager { path: path.to_owned(), workload }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = rusqlite::Connection;
    type Error = rusqlite::Error;

    fn connect(&self) -> Result<rusqlite::Connection, rusqlite::Error> {
        let conn = rusqlite::Connection::open(&self.path)?;
        // WAL lets readers run beside the one writer; the busy timeout makes writers queue
        // instead of failing; NORMAL sync is safe with WAL (a crash loses at most the last commits).
        // Each pooled connection keeps a page cache of its own: 4 MB each holds what a page reads,
        // and the operating system's file cache holds the rest (8 x 16 MB pushed RSS past 150 MB).
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 10000;
             PRAGMA cache_size = -4000;
             PRAGMA temp_store = MEMORY;",
        )?;
        // Plans never depend on the values bound: SQLite otherwise marks a statement to be
        // prepared again whenever a parameter it compared with a constant gets another value,
        // which re-parsed the issue queries on nearly every call.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        match self.workload {
            Workload::Serve => {}
            Workload::Batch => conn.execute_batch("PRAGMA cache_size = -131072; PRAGMA wal_autocheckpoint = 16384;")?,
            // A database being filled is made again if anything fails: no syncing, the rollback
            // journal in memory instead of the WAL (each page is written once, not to the WAL and
            // again at the checkpoint), and the file locked once for the whole job instead of at
            // every transaction; the next connection that serves it turns the WAL on again. A
            // 16 MB cache, not 128: every commit walks the cache's hash table to drop pages past
            // the end of the file (`pcache1TruncateUnsafe`), a third of the seed with 128 MB.
            Workload::Fill => conn.execute_batch(
                "PRAGMA cache_size = -16000; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY;",
            )?,
        }
        conn.set_prepared_statement_cache_capacity(128);
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut rusqlite::Connection) -> Result<(), rusqlite::Error> {
        conn.execute_batch("")
    }

    fn has_broken(&self, _conn: &mut rusqlite::Connection) -> bool {
        false
    }
}
