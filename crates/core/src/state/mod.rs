//! The state store: runs, cursors, bindings, the write journal, the quarantine and the leases
//! that keep two processes from syncing one pair at once.
//!
//! [`StateStore`] is the small trait the engine and the runner use; [`SqliteStore`] is the
//! embedded implementation (one SQLite file, WAL mode, versioned migrations, run on a thread of
//! its own so no blocking SQLite call runs on an async worker). A server database can be added
//! later behind the same trait.
//!
//! The engine journals per batch: [`StateStore::journal_intents`] makes a batch's intents durable
//! in one transaction before the remote call, [`StateStore::complete_writes`] stores the batch's
//! outcomes, bindings and quarantine releases in one transaction after it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::flows::Flow;
use crate::model::Kind;

mod sqlite;
mod worker;

pub use sqlite::SqliteStore;

/// One flow of one run, as stored in the `runs` table (one row per run and flow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id (shared by all flows of one run).
    pub run_id: String,
    /// The pair.
    pub pair: String,
    /// The flow.
    pub flow: Flow,
    /// `run` or `retry` (plans are never stored).
    pub mode: String,
    /// When the flow started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// `ok`, `partial` (some records quarantined), `failed`, `cancelled`.
    pub status: String,
    /// Records read from the source (including unreadable ones).
    pub read: u64,
    /// Records created on the target.
    pub created: u64,
    /// Records updated on the target.
    pub updated: u64,
    /// Records skipped because the target already had them.
    pub unchanged: u64,
    /// Records quarantined in this run.
    pub quarantined: u64,
    /// The error that stopped the flow, if any.
    pub error: Option<String>,
    /// The full flow report as JSON.
    pub report: serde_json::Value,
}

/// Where the next incremental read of a flow starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorRecord {
    /// The pair.
    pub pair: String,
    /// The flow.
    pub flow: Flow,
    /// Records changed after this were not read yet.
    pub cursor: DateTime<Utc>,
    /// When it was stored.
    pub updated_at: DateTime<Utc>,
}

/// A record written before: (pair, kind, natural key) -> id on the target, with what was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    /// The pair.
    pub pair: String,
    /// The record kind.
    pub kind: Kind,
    /// The record's natural key at the source (SKU, shop order number, customer key).
    pub key: String,
    /// The record's id on the target.
    pub target_id: String,
    /// The record's id at the source, when it has one (e.g. the SnelStart article GUID).
    pub source_id: Option<String>,
    /// Hash of what was last written (record JSON without `modified` and `source_id`).
    pub hash: String,
    /// The record JSON last written, for plan diffs and change-only writes.
    pub payload: serde_json::Value,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

/// Whether a journalled write creates or updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOp {
    /// No binding: the write creates the record (unless the sink finds it by natural key).
    Create,
    /// A binding exists: the write updates `target_id`.
    Update,
}

impl WriteOp {
    /// `create` / `update`.
    pub fn as_str(&self) -> &'static str {
        match self {
            WriteOp::Create => "create",
            WriteOp::Update => "update",
        }
    }
}

/// How a journalled write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalOutcome {
    /// The target created the record.
    Created,
    /// The target updated the record.
    Updated,
    /// The target already held it.
    Unchanged,
    /// The target refused the record (it is in quarantine).
    Rejected,
    /// The call failed without being applied (transient, auth, config).
    Failed,
    /// After a crash or an uncertain write, a lookup found the record: it is now bound.
    ResolvedFound,
    /// After a crash or an uncertain write, a lookup did not find the record: it will be
    /// written again.
    ResolvedAbsent,
}

impl JournalOutcome {
    /// The snake_case name stored in the journal.
    pub fn as_str(&self) -> &'static str {
        match self {
            JournalOutcome::Created => "created",
            JournalOutcome::Updated => "updated",
            JournalOutcome::Unchanged => "unchanged",
            JournalOutcome::Rejected => "rejected",
            JournalOutcome::Failed => "failed",
            JournalOutcome::ResolvedFound => "resolved_found",
            JournalOutcome::ResolvedAbsent => "resolved_absent",
        }
    }

    /// Parses [`JournalOutcome::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        use JournalOutcome::*;
        [
            Created,
            Updated,
            Unchanged,
            Rejected,
            Failed,
            ResolvedFound,
            ResolvedAbsent,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// A write intent, journalled before the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewIntent {
    /// The run making the write.
    pub run_id: String,
    /// The pair.
    pub pair: String,
    /// The record kind.
    pub kind: Kind,
    /// The record's natural key.
    pub key: String,
    /// Create or update.
    pub op: WriteOp,
    /// The target id, for an update.
    pub target_id: Option<String>,
    /// The record JSON to be written.
    pub payload: serde_json::Value,
}

/// How one journalled write ended, for [`StateStore::complete_writes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WriteCompletion {
    /// The target holds the record: the intent's outcome (if there is an intent), the binding,
    /// and removal of the record from quarantine (by key and by `label`).
    Bound {
        /// The intent's journal row, if the write was journalled.
        journal_id: Option<i64>,
        /// Created, updated, unchanged or resolved-found.
        outcome: JournalOutcome,
        /// The binding to store (its `target_id` is the outcome's target id).
        binding: Binding,
        /// How messages name the record (a record the source could not read was parked under it).
        label: String,
    },
    /// The write bound nothing (rejected, failed, resolved-absent): the outcome only.
    Outcome {
        /// The intent's journal row.
        journal_id: i64,
        /// The outcome.
        outcome: JournalOutcome,
        /// The target id the outcome reported, if any.
        target_id: Option<String>,
        /// Error text or resolution note.
        detail: Option<String>,
    },
}

/// One journal row: an intent and, once known, its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Row id, increasing.
    pub id: i64,
    /// The run that made the write.
    pub run_id: String,
    /// The pair.
    pub pair: String,
    /// The record kind.
    pub kind: Kind,
    /// The record's natural key.
    pub key: String,
    /// Create or update.
    pub op: WriteOp,
    /// The target id known at intent time (updates).
    pub target_id: Option<String>,
    /// The record JSON that was to be written.
    pub payload: serde_json::Value,
    /// When the intent was journalled.
    pub intent_at: DateTime<Utc>,
    /// The outcome; `None` while open (crashed, or the write's outcome is uncertain).
    pub outcome: Option<JournalOutcome>,
    /// The target id the outcome reported.
    pub outcome_target_id: Option<String>,
    /// Error text or resolution note.
    pub detail: Option<String>,
    /// When the outcome was journalled.
    pub outcome_at: Option<DateTime<Utc>>,
}

/// A record parked because it could not be written, with why and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    /// The pair.
    pub pair: String,
    /// The flow the record was in.
    pub flow: Flow,
    /// The record kind.
    pub kind: Kind,
    /// The record's natural key (for a record the source could not read: its label).
    pub key: String,
    /// How messages name the record (`order 100023`).
    pub label: String,
    /// The field at fault, if known.
    pub field: Option<String>,
    /// The remote error code, if any.
    pub code: Option<String>,
    /// Why.
    pub reason: String,
    /// The error class (`rejected`, `uncertain`, `transient`, `invalid`, `unreadable`, `dependency`).
    pub error_class: String,
    /// The record JSON; `None` when the source could not read the record (fix it at the source:
    /// it is read again when it changes).
    pub payload: Option<serde_json::Value>,
    /// How many times it failed.
    pub attempts: u32,
    /// First failure.
    pub first_at: DateTime<Utc>,
    /// Latest failure.
    pub last_at: DateTime<Utc>,
    /// When a run retries it next (exponential backoff).
    pub next_attempt: DateTime<Utc>,
}

/// Who holds a pair and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The pair.
    pub pair: String,
    /// The holder (`host:pid:run`).
    pub holder: String,
    /// When it was taken.
    pub acquired_at: DateTime<Utc>,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// Where koppel keeps what it knows between runs.
#[async_trait]
pub trait StateStore: Send + Sync {
    // --- runs ---
    /// Stores (or replaces) one flow of one run.
    async fn record_run(&self, run: &RunRecord) -> Result<()>;
    /// The latest runs of a pair (optionally of one flow), newest first.
    async fn recent_runs(&self, pair: &str, flow: Option<Flow>, limit: usize) -> Result<Vec<RunRecord>>;

    // --- cursors ---
    /// The stored cursor of a flow.
    async fn cursor(&self, pair: &str, flow: Flow) -> Result<Option<DateTime<Utc>>>;
    /// Stores a flow's cursor.
    async fn set_cursor(&self, pair: &str, flow: Flow, cursor: DateTime<Utc>) -> Result<()>;
    /// Every cursor of a pair.
    async fn cursors(&self, pair: &str) -> Result<Vec<CursorRecord>>;

    // --- bindings ---
    /// The binding of one record.
    async fn binding(&self, pair: &str, kind: Kind, key: &str) -> Result<Option<Binding>>;
    /// All bindings of a kind, by key.
    async fn bindings(&self, pair: &str, kind: Kind) -> Result<Vec<Binding>>;
    /// Stores a binding (insert or replace).
    async fn put_binding(&self, binding: &Binding) -> Result<()>;

    // --- journal ---
    /// Journals a write intent; durable before it returns. Returns the row id.
    async fn journal_intent(&self, intent: &NewIntent) -> Result<i64>;
    /// Journals a batch of write intents in one transaction: all of them are durable before it
    /// returns, or (on error) none is. Returns the row ids in the order of `intents`.
    async fn journal_intents(&self, intents: &[NewIntent]) -> Result<Vec<i64>>;
    /// Journals the outcome of an intent (without touching bindings).
    async fn journal_outcome(
        &self,
        id: i64,
        outcome: JournalOutcome,
        target_id: Option<&str>,
        detail: Option<&str>,
    ) -> Result<()>;
    /// In one transaction: the intent's outcome (if any), the binding, and removal of the
    /// record from quarantine (by key and by label).
    async fn complete_write(
        &self,
        journal_id: Option<i64>,
        outcome: JournalOutcome,
        binding: &Binding,
        label: &str,
    ) -> Result<()>;
    /// Stores the ends of a batch of writes in one transaction: every completion (outcome,
    /// binding, quarantine release) is stored, or (on error) none is. A journal id that does not
    /// exist is an error.
    async fn complete_writes(&self, completions: &[WriteCompletion]) -> Result<()>;
    /// Intents without outcome for a kind, oldest first.
    async fn open_intents(&self, pair: &str, kind: Kind) -> Result<Vec<JournalEntry>>;
    /// The latest journal rows of a pair, newest first.
    async fn journal(&self, pair: &str, limit: usize) -> Result<Vec<JournalEntry>>;

    // --- quarantine ---
    /// Parks a record (insert or replace by pair, kind and key).
    async fn put_quarantine(&self, entry: &QuarantineEntry) -> Result<()>;
    /// One quarantined record.
    async fn quarantine_entry(&self, pair: &str, kind: Kind, key: &str) -> Result<Option<QuarantineEntry>>;
    /// Quarantined records of a pair (optionally one flow), oldest first.
    async fn quarantined(&self, pair: &str, flow: Option<Flow>) -> Result<Vec<QuarantineEntry>>;
    /// Removes a record from quarantine; true if it was there.
    async fn release_quarantine(&self, pair: &str, kind: Kind, key: &str) -> Result<bool>;

    // --- leases ---
    /// Takes the pair's lease for `ttl`, or fails with `Error::Conflict` naming the holder
    /// while another holder's lease has not expired at `now`.
    async fn acquire_lease(
        &self,
        pair: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease>;
    /// Extends a lease this holder has; `Error::Conflict` if it was lost.
    async fn renew_lease(&self, pair: &str, holder: &str, now: DateTime<Utc>, ttl: Duration)
        -> Result<Lease>;
    /// Gives a lease back (no-op if this holder does not have it).
    async fn release_lease(&self, pair: &str, holder: &str) -> Result<()>;
    /// The current lease of a pair, expired or not.
    async fn lease(&self, pair: &str) -> Result<Option<Lease>>;
}
