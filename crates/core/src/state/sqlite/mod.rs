//! The embedded state store: one SQLite file in WAL mode, worked on by a thread of its own.
//!
//! This file opens the store (pragmas, migration) and runs calls on its thread; one file per
//! table holds that table's queries, and `state_store` the [`StateStore`] impl that routes
//! each call to them.
//!
//! [`StateStore`]: crate::state::StateStore

mod bindings;
mod convert;
mod cursors;
mod journal;
mod leases;
mod migrations;
mod quarantine;
mod runs;
mod state_store;
mod tx;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use self::convert::db_err;
use self::migrations::SCHEMA_VERSION;
use super::worker::Worker;
use crate::error::{Error, Result};

/// The SQLite state store. One connection, owned by a thread of its own (see the `worker`
/// module): every call runs there, so the async runtime never blocks on SQLite.
///
/// # Durability: which commits are synced
///
/// The file is in WAL mode. A commit is written to the WAL before the call returns, so a
/// process crash (SIGKILL, panic) loses no committed transaction whatever the `synchronous`
/// setting; the setting only decides what survives a power loss or an OS crash.
///
/// - Intents ([`StateStore::journal_intents`]) commit with `synchronous=FULL`: the WAL is
///   fsynced before the commit returns, so an intent is on disk before the remote call it
///   announces. Without that, a power loss after the call could leave a write on the target
///   that no intent records, and the next run would write it a second time.
/// - Everything else (outcomes, bindings, quarantine, cursors, runs, leases) commits with
///   `synchronous=NORMAL`: the WAL is synced at checkpoints only. This is safe because the WAL
///   is one sequential file and recovery keeps its frames up to the first one that did not
///   reach the disk: what a power loss can take is a tail of the commits after the last synced
///   one, never a commit from the middle. Every intent sync therefore also makes every earlier
///   commit durable, so at the moment of any remote call the whole state up to its intent is
///   on disk. The tail a power loss can take holds only things a later run redoes without
///   writing twice: an outcome and its binding (one transaction) lost leave their intent open,
///   and the open intent is resolved by looking the record up on the target before anything is
///   written again; a cursor lost moves back, so records are read again and their bindings (or
///   open intents) absorb them; a quarantine entry lost goes with every later cursor, so its
///   record is read and judged again; a run record or a lease release lost only shows an older
///   run in `status`, or a lease that lapses at its expiry, as after a SIGKILL.
///
/// One transaction per batch (not per record) holds the intents of a batch, and another its
/// outcomes: one fsync per batch instead of one per record.
///
/// [`StateStore::journal_intents`]: crate::state::StateStore::journal_intents
pub struct SqliteStore {
    worker: Worker,
    path: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

impl SqliteStore {
    /// Opens (creating it on first use) the state file at `path` and migrates it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let p = path.as_ref();
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::internal(format!("state store: cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(p).map_err(db_err)?;
        Self::init(conn, p.display().to_string(), true)
    }

    /// A private in-memory store (tests, plans).
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(db_err)?;
        Self::init(conn, ":memory:".into(), false)
    }

    fn init(mut conn: Connection, path: String, wal: bool) -> Result<Self> {
        conn.busy_timeout(Duration::from_secs(10)).map_err(db_err)?;
        if wal {
            let mode: String = conn
                .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
                .map_err(db_err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::internal(format!(
                    "state store {path}: cannot switch to WAL mode (got {mode})"
                )));
            }
        }
        // NORMAL for every commit but the intents' (see the type's docs: why that is safe).
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
            .map_err(db_err)?;
        // The migration is synced like an intent: a schema must not be lost behind data.
        let version = migrations::migrate(&mut conn).map_err(db_err)?;
        if version > SCHEMA_VERSION {
            return Err(Error::internal(format!(
                "state store {path} has schema version {version}, this koppel knows up to {SCHEMA_VERSION}: upgrade koppel"
            )));
        }
        Ok(SqliteStore {
            worker: Worker::start(conn)?,
            path,
        })
    }

    /// The schema version of the open file. Blocks the calling thread until the store thread
    /// answers: call it outside async code (or where a short block is fine).
    pub fn schema_version(&self) -> Result<u32> {
        self.worker.run_blocking(|c| {
            c.query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(db_err)
        })
    }

    /// Runs `f` on the store thread (see the `worker` module), mapping SQLite errors.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.worker.run(move |c| f(c).map_err(db_err)).await
    }
}
