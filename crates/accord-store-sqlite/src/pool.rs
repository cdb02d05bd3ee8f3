//! An r2d2 manager for rusqlite connections, set up the way Accord needs them.

use std::path::{Path, PathBuf};

pub struct Manager {
    path: PathBuf,
}

impl Manager {
    pub fn new(path: &Path) -> Manager {
        Manager { path: path.to_owned() }
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
