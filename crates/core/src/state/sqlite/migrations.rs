//! The schema: its migrations, applied in order, and the version this build writes.

use rusqlite::Connection;

use super::tx::synced;

/// Schema migrations, applied in order; `PRAGMA user_version` holds how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema
    "CREATE TABLE runs (
        run_id TEXT NOT NULL,
        pair TEXT NOT NULL,
        flow TEXT NOT NULL,
        mode TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        status TEXT NOT NULL,
        read INTEGER NOT NULL,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        unchanged INTEGER NOT NULL,
        quarantined INTEGER NOT NULL,
        error TEXT,
        report TEXT NOT NULL,
        PRIMARY KEY (run_id, flow)
    );
    CREATE INDEX runs_by_pair ON runs (pair, flow, started_at);
    CREATE TABLE cursors (
        pair TEXT NOT NULL,
        flow TEXT NOT NULL,
        cursor TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (pair, flow)
    );
    CREATE TABLE bindings (
        pair TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        target_id TEXT NOT NULL,
        source_id TEXT,
        hash TEXT NOT NULL,
        payload TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (pair, kind, key)
    );
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        pair TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        op TEXT NOT NULL,
        target_id TEXT,
        payload TEXT NOT NULL,
        intent_at TEXT NOT NULL,
        outcome TEXT,
        outcome_target_id TEXT,
        detail TEXT,
        outcome_at TEXT
    );
    CREATE INDEX journal_open ON journal (pair, kind, key) WHERE outcome IS NULL;
    CREATE INDEX journal_by_pair ON journal (pair, id);
    CREATE TABLE quarantine (
        pair TEXT NOT NULL,
        flow TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        label TEXT NOT NULL,
        field TEXT,
        code TEXT,
        reason TEXT NOT NULL,
        error_class TEXT NOT NULL,
        payload TEXT,
        attempts INTEGER NOT NULL,
        first_at TEXT NOT NULL,
        last_at TEXT NOT NULL,
        next_attempt TEXT NOT NULL,
        PRIMARY KEY (pair, kind, key)
    );
    CREATE TABLE leases (
        pair TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        acquired_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );",
];

/// The schema version this build writes.
pub(super) const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Applies the migrations the file lacks, in one transaction synced like an intent (a schema
/// must not be lost behind data). Returns the version the file had; a version above
/// [`SCHEMA_VERSION`] is left alone for the caller to refuse.
pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<u32> {
    synced(conn, |tx| {
        let version: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version <= SCHEMA_VERSION {
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", (i + 1) as u32)?;
            }
        }
        Ok(version)
    })
}
