//! The embedded state store: one SQLite file in WAL mode, worked on by a thread of its own.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::worker::Worker;
use super::{
    Binding, CursorRecord, JournalEntry, JournalOutcome, Lease, NewIntent, QuarantineEntry, RunRecord,
    StateStore, WriteCompletion, WriteOp,
};
use crate::error::{Error, Result};
use crate::flows::Flow;
use crate::model::Kind;

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
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

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
pub struct SqliteStore {
    worker: Worker,
    path: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

fn db_err(e: rusqlite::Error) -> Error {
    Error::internal(format!("state store: {e}"))
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

fn conv_err(msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(std::io::Error::other(msg)),
    )
}

fn parse_kind(s: &str) -> rusqlite::Result<Kind> {
    Kind::parse(s).ok_or_else(|| conv_err(format!("unknown kind {s:?}")))
}

fn parse_flow(s: &str) -> rusqlite::Result<Flow> {
    Flow::parse(s).ok_or_else(|| conv_err(format!("unknown flow {s:?}")))
}

fn parse_json(s: &str) -> rusqlite::Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| conv_err(format!("bad JSON in state: {e}")))
}

fn json_text(v: &serde_json::Value) -> String {
    v.to_string()
}

fn ttl_delta(ttl: Duration) -> Result<chrono::TimeDelta> {
    chrono::TimeDelta::from_std(ttl).map_err(|e| Error::internal(format!("lease ttl: {e}")))
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
        let version = synced(&mut conn, |tx| {
            let version: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version <= SCHEMA_VERSION {
                for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                    tx.execute_batch(sql)?;
                    tx.pragma_update(None, "user_version", (i + 1) as u32)?;
                }
            }
            Ok(version)
        })
        .map_err(db_err)?;
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

/// Runs `f` in an IMMEDIATE transaction (the write lock is taken before the first read, so a
/// second process makes it wait instead of failing it mid-way) committed with the connection's
/// `synchronous` setting (NORMAL).
fn write_tx<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let v = f(&tx)?;
    tx.commit()?;
    Ok(v)
}

/// Like [`write_tx`], but the commit is fsynced before it returns (`synchronous=FULL` for this
/// transaction, NORMAL again after it whatever happened).
fn synced<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.pragma_update(None, "synchronous", "FULL")?;
    let r = write_tx(conn, f);
    let back = conn.pragma_update(None, "synchronous", "NORMAL");
    let v = r?;
    back?;
    Ok(v)
}

const RUN_COLS: &str =
    "run_id, pair, flow, mode, started_at, finished_at, status, read, created, updated, unchanged, quarantined, error, report";

fn run_row(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        run_id: r.get(0)?,
        pair: r.get(1)?,
        flow: parse_flow(&r.get::<_, String>(2)?)?,
        mode: r.get(3)?,
        started_at: parse_ts(&r.get::<_, String>(4)?)?,
        finished_at: parse_ts(&r.get::<_, String>(5)?)?,
        status: r.get(6)?,
        read: r.get::<_, i64>(7)? as u64,
        created: r.get::<_, i64>(8)? as u64,
        updated: r.get::<_, i64>(9)? as u64,
        unchanged: r.get::<_, i64>(10)? as u64,
        quarantined: r.get::<_, i64>(11)? as u64,
        error: r.get(12)?,
        report: parse_json(&r.get::<_, String>(13)?)?,
    })
}

const BINDING_COLS: &str = "pair, kind, key, target_id, source_id, hash, payload, updated_at";

fn binding_row(r: &Row<'_>) -> rusqlite::Result<Binding> {
    Ok(Binding {
        pair: r.get(0)?,
        kind: parse_kind(&r.get::<_, String>(1)?)?,
        key: r.get(2)?,
        target_id: r.get(3)?,
        source_id: r.get(4)?,
        hash: r.get(5)?,
        payload: parse_json(&r.get::<_, String>(6)?)?,
        updated_at: parse_ts(&r.get::<_, String>(7)?)?,
    })
}

const JOURNAL_COLS: &str =
    "id, run_id, pair, kind, key, op, target_id, payload, intent_at, outcome, outcome_target_id, detail, outcome_at";

fn journal_row(r: &Row<'_>) -> rusqlite::Result<JournalEntry> {
    let op: String = r.get(5)?;
    let outcome: Option<String> = r.get(9)?;
    let outcome_at: Option<String> = r.get(12)?;
    Ok(JournalEntry {
        id: r.get(0)?,
        run_id: r.get(1)?,
        pair: r.get(2)?,
        kind: parse_kind(&r.get::<_, String>(3)?)?,
        key: r.get(4)?,
        op: match op.as_str() {
            "create" => WriteOp::Create,
            "update" => WriteOp::Update,
            other => return Err(conv_err(format!("unknown journal op {other:?}"))),
        },
        target_id: r.get(6)?,
        payload: parse_json(&r.get::<_, String>(7)?)?,
        intent_at: parse_ts(&r.get::<_, String>(8)?)?,
        outcome: match outcome {
            None => None,
            Some(o) => {
                Some(JournalOutcome::parse(&o).ok_or_else(|| conv_err(format!("unknown outcome {o:?}")))?)
            }
        },
        outcome_target_id: r.get(10)?,
        detail: r.get(11)?,
        outcome_at: outcome_at.as_deref().map(parse_ts).transpose()?,
    })
}

const QUARANTINE_COLS: &str = "pair, flow, kind, key, label, field, code, reason, error_class, payload, attempts, first_at, last_at, next_attempt";

fn quarantine_row(r: &Row<'_>) -> rusqlite::Result<QuarantineEntry> {
    let payload: Option<String> = r.get(9)?;
    Ok(QuarantineEntry {
        pair: r.get(0)?,
        flow: parse_flow(&r.get::<_, String>(1)?)?,
        kind: parse_kind(&r.get::<_, String>(2)?)?,
        key: r.get(3)?,
        label: r.get(4)?,
        field: r.get(5)?,
        code: r.get(6)?,
        reason: r.get(7)?,
        error_class: r.get(8)?,
        payload: payload.as_deref().map(parse_json).transpose()?,
        attempts: r.get(10)?,
        first_at: parse_ts(&r.get::<_, String>(11)?)?,
        last_at: parse_ts(&r.get::<_, String>(12)?)?,
        next_attempt: parse_ts(&r.get::<_, String>(13)?)?,
    })
}

fn lease_row(r: &Row<'_>) -> rusqlite::Result<Lease> {
    Ok(Lease {
        pair: r.get(0)?,
        holder: r.get(1)?,
        acquired_at: parse_ts(&r.get::<_, String>(2)?)?,
        expires_at: parse_ts(&r.get::<_, String>(3)?)?,
    })
}

fn get_lease(conn: &Connection, pair: &str) -> rusqlite::Result<Option<Lease>> {
    conn.query_row(
        "SELECT pair, holder, acquired_at, expires_at FROM leases WHERE pair = ?1",
        [pair],
        lease_row,
    )
    .optional()
}

fn busy_message(l: &Lease) -> String {
    format!(
        "pair {} is being synced by {} since {}, lease expires at {}",
        l.pair,
        l.holder,
        ts(&l.acquired_at),
        ts(&l.expires_at)
    )
}

#[async_trait]
impl StateStore for SqliteStore {
    async fn record_run(&self, run: &RunRecord) -> Result<()> {
        let run = run.clone();
        self.run(move |c| {
            c.execute(
                &format!("INSERT OR REPLACE INTO runs ({RUN_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
                params![
                    run.run_id,
                    run.pair,
                    run.flow.as_str(),
                    run.mode,
                    ts(&run.started_at),
                    ts(&run.finished_at),
                    run.status,
                    run.read as i64,
                    run.created as i64,
                    run.updated as i64,
                    run.unchanged as i64,
                    run.quarantined as i64,
                    run.error,
                    json_text(&run.report),
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn recent_runs(&self, pair: &str, flow: Option<Flow>, limit: usize) -> Result<Vec<RunRecord>> {
        let pair = pair.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {RUN_COLS} FROM runs WHERE pair = ?1 AND (?2 IS NULL OR flow = ?2)
                 ORDER BY started_at DESC, rowid DESC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![pair, flow.map(|f| f.as_str()), limit as i64], run_row)?;
            rows.collect()
        })
        .await
    }

    async fn cursor(&self, pair: &str, flow: Flow) -> Result<Option<DateTime<Utc>>> {
        let pair = pair.to_owned();
        self.run(move |c| {
            let s: Option<String> = c
                .query_row(
                    "SELECT cursor FROM cursors WHERE pair = ?1 AND flow = ?2",
                    params![pair, flow.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            s.as_deref().map(parse_ts).transpose()
        })
        .await
    }

    async fn set_cursor(&self, pair: &str, flow: Flow, cursor: DateTime<Utc>) -> Result<()> {
        let pair = pair.to_owned();
        self.run(move |c| {
            c.prepare_cached(
                "INSERT OR REPLACE INTO cursors (pair, flow, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![pair, flow.as_str(), ts(&cursor), ts(&Utc::now())])?;
            Ok(())
        })
        .await
    }

    async fn cursors(&self, pair: &str) -> Result<Vec<CursorRecord>> {
        let pair = pair.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT pair, flow, cursor, updated_at FROM cursors WHERE pair = ?1 ORDER BY flow",
            )?;
            let rows = stmt.query_map([pair], |r| {
                Ok(CursorRecord {
                    pair: r.get(0)?,
                    flow: parse_flow(&r.get::<_, String>(1)?)?,
                    cursor: parse_ts(&r.get::<_, String>(2)?)?,
                    updated_at: parse_ts(&r.get::<_, String>(3)?)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn binding(&self, pair: &str, kind: Kind, key: &str) -> Result<Option<Binding>> {
        let (pair, key) = (pair.to_owned(), key.to_owned());
        self.run(move |c| {
            c.prepare_cached(&format!(
                "SELECT {BINDING_COLS} FROM bindings WHERE pair = ?1 AND kind = ?2 AND key = ?3"
            ))?
            .query_row(params![pair, kind.as_str(), key], binding_row)
            .optional()
        })
        .await
    }

    async fn bindings(&self, pair: &str, kind: Kind) -> Result<Vec<Binding>> {
        let pair = pair.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {BINDING_COLS} FROM bindings WHERE pair = ?1 AND kind = ?2 ORDER BY key"
            ))?;
            let rows = stmt.query_map(params![pair, kind.as_str()], binding_row)?;
            rows.collect()
        })
        .await
    }

    async fn put_binding(&self, b: &Binding) -> Result<()> {
        let b = b.clone();
        self.run(move |c| put_binding(c, &b)).await
    }

    async fn journal_intent(&self, i: &NewIntent) -> Result<i64> {
        let ids = self.journal_intents(std::slice::from_ref(i)).await?;
        ids.first()
            .copied()
            .ok_or_else(|| Error::internal("state store: no journal row for the intent"))
    }

    async fn journal_intents(&self, intents: &[NewIntent]) -> Result<Vec<i64>> {
        if intents.is_empty() {
            return Ok(Vec::new());
        }
        let intents = intents.to_vec();
        self.run(move |c| {
            synced(c, |tx| {
                let now = ts(&Utc::now());
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO journal (run_id, pair, kind, key, op, target_id, payload, intent_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                let mut ids = Vec::with_capacity(intents.len());
                for i in &intents {
                    ids.push(stmt.insert(params![
                        i.run_id,
                        i.pair,
                        i.kind.as_str(),
                        i.key,
                        i.op.as_str(),
                        i.target_id,
                        json_text(&i.payload),
                        now
                    ])?);
                }
                Ok(ids)
            })
        })
        .await
    }

    async fn journal_outcome(
        &self,
        id: i64,
        outcome: JournalOutcome,
        target_id: Option<&str>,
        detail: Option<&str>,
    ) -> Result<()> {
        self.complete_writes(&[WriteCompletion::Outcome {
            journal_id: id,
            outcome,
            target_id: target_id.map(str::to_owned),
            detail: detail.map(str::to_owned),
        }])
        .await
    }

    async fn complete_write(
        &self,
        journal_id: Option<i64>,
        outcome: JournalOutcome,
        binding: &Binding,
        label: &str,
    ) -> Result<()> {
        self.complete_writes(&[WriteCompletion::Bound {
            journal_id,
            outcome,
            binding: binding.clone(),
            label: label.to_owned(),
        }])
        .await
    }

    async fn complete_writes(&self, completions: &[WriteCompletion]) -> Result<()> {
        if completions.is_empty() {
            return Ok(());
        }
        let completions = completions.to_vec();
        self.run(move |c| {
            write_tx(c, |tx| {
                for done in &completions {
                    match done {
                        WriteCompletion::Bound {
                            journal_id,
                            outcome,
                            binding,
                            label,
                        } => {
                            if let Some(id) = journal_id {
                                set_outcome(tx, *id, *outcome, Some(&binding.target_id), None)?;
                            }
                            put_binding(tx, binding)?;
                            tx.prepare_cached(
                                "DELETE FROM quarantine WHERE pair = ?1 AND kind = ?2 AND key IN (?3, ?4)",
                            )?
                            .execute(params![
                                binding.pair,
                                binding.kind.as_str(),
                                binding.key,
                                label
                            ])?;
                        }
                        WriteCompletion::Outcome {
                            journal_id,
                            outcome,
                            target_id,
                            detail,
                        } => set_outcome(tx, *journal_id, *outcome, target_id.as_deref(), detail.as_deref())?,
                    }
                }
                Ok(())
            })
        })
        .await
    }

    async fn open_intents(&self, pair: &str, kind: Kind) -> Result<Vec<JournalEntry>> {
        let pair = pair.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {JOURNAL_COLS} FROM journal WHERE pair = ?1 AND kind = ?2 AND outcome IS NULL ORDER BY id"
            ))?;
            let rows = stmt.query_map(params![pair, kind.as_str()], journal_row)?;
            rows.collect()
        })
        .await
    }

    async fn journal(&self, pair: &str, limit: usize) -> Result<Vec<JournalEntry>> {
        let pair = pair.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {JOURNAL_COLS} FROM journal WHERE pair = ?1 ORDER BY id DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![pair, limit as i64], journal_row)?;
            rows.collect()
        })
        .await
    }

    async fn put_quarantine(&self, q: &QuarantineEntry) -> Result<()> {
        let q = q.clone();
        self.run(move |c| {
            c.prepare_cached(&format!(
                "INSERT OR REPLACE INTO quarantine ({QUARANTINE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ))?
            .execute(params![
                q.pair,
                q.flow.as_str(),
                q.kind.as_str(),
                q.key,
                q.label,
                q.field,
                q.code,
                q.reason,
                q.error_class,
                q.payload.as_ref().map(json_text),
                q.attempts,
                ts(&q.first_at),
                ts(&q.last_at),
                ts(&q.next_attempt),
            ])?;
            Ok(())
        })
        .await
    }

    async fn quarantine_entry(&self, pair: &str, kind: Kind, key: &str) -> Result<Option<QuarantineEntry>> {
        let (pair, key) = (pair.to_owned(), key.to_owned());
        self.run(move |c| {
            c.prepare_cached(&format!(
                "SELECT {QUARANTINE_COLS} FROM quarantine WHERE pair = ?1 AND kind = ?2 AND key = ?3"
            ))?
            .query_row(params![pair, kind.as_str(), key], quarantine_row)
            .optional()
        })
        .await
    }

    async fn quarantined(&self, pair: &str, flow: Option<Flow>) -> Result<Vec<QuarantineEntry>> {
        let pair = pair.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {QUARANTINE_COLS} FROM quarantine WHERE pair = ?1 AND (?2 IS NULL OR flow = ?2)
                 ORDER BY first_at, key"
            ))?;
            let rows = stmt.query_map(params![pair, flow.map(|f| f.as_str())], quarantine_row)?;
            rows.collect()
        })
        .await
    }

    async fn release_quarantine(&self, pair: &str, kind: Kind, key: &str) -> Result<bool> {
        let (pair, key) = (pair.to_owned(), key.to_owned());
        self.run(move |c| {
            let n = c.execute(
                "DELETE FROM quarantine WHERE pair = ?1 AND kind = ?2 AND key = ?3",
                params![pair, kind.as_str(), key],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn acquire_lease(
        &self,
        pair: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease> {
        let expires_at = now + ttl_delta(ttl)?;
        let (pair, holder) = (pair.to_owned(), holder.to_owned());
        // The write lock is taken before reading (IMMEDIATE, in `write_tx`), so two processes
        // cannot both see the lease free.
        self.worker
            .run(move |c| {
                let busy = write_tx(c, |tx| {
                    if let Some(l) = get_lease(tx, &pair)? {
                        if l.holder != holder && l.expires_at > now {
                            return Ok(Some(l));
                        }
                    }
                    tx.execute(
                        "INSERT OR REPLACE INTO leases (pair, holder, acquired_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                        params![pair, holder, ts(&now), ts(&expires_at)],
                    )?;
                    Ok(None)
                })
                .map_err(db_err)?;
                match busy {
                    Some(l) => Err(Error::Conflict {
                        message: busy_message(&l),
                    }),
                    None => Ok(Lease {
                        pair,
                        holder,
                        acquired_at: now,
                        expires_at,
                    }),
                }
            })
            .await
    }

    async fn renew_lease(
        &self,
        pair: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease> {
        let expires_at = now + ttl_delta(ttl)?;
        let (pair, holder) = (pair.to_owned(), holder.to_owned());
        self.worker
            .run(move |c| {
                let renewed = write_tx(c, |tx| {
                    let current = get_lease(tx, &pair)?;
                    let Some(mut lease) = current.filter(|l| l.holder == holder) else {
                        return Ok(None);
                    };
                    tx.execute(
                        "UPDATE leases SET expires_at = ?3 WHERE pair = ?1 AND holder = ?2",
                        params![pair, holder, ts(&expires_at)],
                    )?;
                    lease.expires_at = expires_at;
                    Ok(Some(lease))
                })
                .map_err(db_err)?;
                renewed.ok_or_else(|| Error::Conflict {
                    message: format!("lease on pair {pair} was lost by {holder}"),
                })
            })
            .await
    }

    async fn release_lease(&self, pair: &str, holder: &str) -> Result<()> {
        let (pair, holder) = (pair.to_owned(), holder.to_owned());
        self.run(move |c| {
            c.execute(
                "DELETE FROM leases WHERE pair = ?1 AND holder = ?2",
                params![pair, holder],
            )?;
            Ok(())
        })
        .await
    }

    async fn lease(&self, pair: &str) -> Result<Option<Lease>> {
        let pair = pair.to_owned();
        self.run(move |c| get_lease(c, &pair)).await
    }
}

fn put_binding(conn: &Connection, b: &Binding) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO bindings ({BINDING_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))?
    .execute(params![
        b.pair,
        b.kind.as_str(),
        b.key,
        b.target_id,
        b.source_id,
        b.hash,
        json_text(&b.payload),
        ts(&b.updated_at)
    ])?;
    Ok(())
}

/// Stores an intent's outcome; a journal row that does not exist is an error (an outcome
/// never goes nowhere silently).
fn set_outcome(
    conn: &Connection,
    id: i64,
    outcome: JournalOutcome,
    target_id: Option<&str>,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE journal SET outcome = ?2, outcome_target_id = ?3, detail = ?4, outcome_at = ?5 WHERE id = ?1",
        )?
        .execute(params![id, outcome.as_str(), target_id, detail, ts(&Utc::now())])?;
    if n == 0 {
        return Err(conv_err(format!("journal row {id} does not exist")));
    }
    Ok(())
}
