//! The sync engine: runs the flows of a pair, incrementally, exactly once where it matters,
//! parking what cannot be written and reporting what it did.
//!
//! One run of a pair: take the pair's lease (not for a plan), then per flow: resolve write
//! intents left open by a crash (by [`Sink::lookup`](crate::Sink::lookup)), retry due
//! quarantined records, read pages after the stored cursor (minus an overlap window, capped at
//! the run's start), validate, compare with the bindings, resolve dependencies, write in
//! batches with bounded concurrency, journal intent and outcome, and store the cursor once
//! everything before it is written or quarantined. Records to write are buffered across
//! pages until they fill a batch of the sink (the rest is written at the end of the read), so
//! small source pages still give full batches.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::connector::Connector;
use crate::model::Kind;
use crate::state::StateStore;

mod flow;
mod run;
mod succession;

pub use crate::diff::{diff_json, record_hash, record_json};
pub use crate::flows::Flow;

/// Per-flow options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowOptions {
    /// Re-read this much before the stored cursor (clock skew, late commits at the source);
    /// bindings absorb the duplicates. Default 5 minutes.
    pub overlap: Duration,
    /// How many sink calls (a batch's lookup, a write) run at once, capped by the sink's own
    /// [`crate::Sink::concurrency`] (the engine runs the smaller). Default 4.
    pub concurrency: usize,
    /// Whether the orders flow may create a buyer that is not synced yet through the target's
    /// customer sink. Default true.
    pub create_customers: bool,
    /// Wait before the first retry of a quarantined record; doubles per attempt. Default 5 min.
    pub quarantine_backoff: Duration,
    /// Longest wait between retries of a quarantined record. Default 24 hours.
    pub quarantine_backoff_max: Duration,
    /// Retry quarantined records that are due at the start of each run. Default true.
    pub retry_quarantined: bool,
    /// Ignore the stored cursor and read everything (bindings still skip unchanged records).
    pub full: bool,
}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowOptions {
            overlap: Duration::from_secs(300),
            concurrency: 4,
            create_customers: true,
            quarantine_backoff: Duration::from_secs(300),
            quarantine_backoff_max: Duration::from_secs(24 * 3600),
            retry_quarantined: true,
            full: false,
        }
    }
}

/// Write, or only plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Read, write, and store state.
    #[default]
    Run,
    /// Dry run: the same pipeline, writes replaced by a recorder; nothing written anywhere.
    Plan,
}

/// A SnelStart administration and a shop, synced together.
#[derive(Clone)]
pub struct Pair {
    /// The pair's name (state key, lease key, log field).
    pub name: String,
    /// The accounting connector (SnelStart).
    pub accounting: Arc<dyn Connector>,
    /// The shop connector.
    pub shop: Arc<dyn Connector>,
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("name", &self.name)
            .field("accounting", &self.accounting.name())
            .field("shop", &self.shop.name())
            .finish()
    }
}

/// Where an injected fault kills a write (tests of exactly-once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultPoint {
    /// Intents journalled, remote call not made.
    BeforeCall,
    /// Remote call made, outcome not journalled.
    AfterCallBeforeOutcome,
    /// Outcome and binding journalled, cursor not stored.
    AfterOutcome,
}

/// A fault-injection hook: called at each [`FaultPoint`] of each write batch with the kind and
/// the natural keys in the batch; returning true aborts the run on the spot, as if the process
/// died (no further state is written, the lease is not given back).
pub type FaultHook = Arc<dyn Fn(FaultPoint, Kind, &[String]) -> bool + Send + Sync>;

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// How many records per flow a report lists by default ([`RunOptions::record_limit`]).
pub const DEFAULT_RECORD_LIMIT: usize = 1000;

/// How to run.
#[derive(Clone)]
pub struct RunOptions {
    /// Run or plan.
    pub mode: Mode,
    /// Set to stop: the current batches finish, the checkpoint is stored, the run stops.
    /// Records still waiting for a batch are not written; the checkpoint stays before them.
    pub cancel: Arc<AtomicBool>,
    /// Called after every page and at the end of each flow.
    pub progress: Option<ProgressFn>,
    /// How long the pair's lease lasts without renewal (renewed every third of it while
    /// running). Default 2 minutes.
    pub lease_ttl: Duration,
    /// Fault injection for tests; `None` in production.
    pub fault: Option<FaultHook>,
    /// At most this many records per flow are listed in [`FlowReport::records`] (the rest is
    /// counted in [`FlowReport::records_omitted`]), so a plan of any size holds bounded
    /// memory. Default 1000.
    pub record_limit: usize,
    /// Also list records found unchanged (they always count in [`FlowReport::unchanged`]).
    pub list_unchanged: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            mode: Mode::Run,
            cancel: Arc::new(AtomicBool::new(false)),
            progress: None,
            lease_ttl: Duration::from_secs(120),
            fault: None,
            record_limit: DEFAULT_RECORD_LIMIT,
            list_unchanged: false,
        }
    }
}

impl RunOptions {
    /// Default options in plan mode.
    pub fn plan() -> Self {
        RunOptions {
            mode: Mode::Plan,
            ..Default::default()
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("mode", &self.mode)
            .field("cancel", &self.cancel)
            .field("progress", &self.progress.is_some())
            .field("lease_ttl", &self.lease_ttl)
            .field("fault", &self.fault.is_some())
            .field("record_limit", &self.record_limit)
            .field("list_unchanged", &self.list_unchanged)
            .finish()
    }
}

/// Progress of one flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The pair.
    pub pair: String,
    /// The flow.
    pub flow: Flow,
    /// Records read so far.
    pub read: u64,
    /// Records created so far.
    pub created: u64,
    /// Records updated so far.
    pub updated: u64,
    /// Records found unchanged so far.
    pub unchanged: u64,
    /// Records quarantined so far.
    pub quarantined: u64,
    /// The flow is finished.
    pub done: bool,
}

/// How a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowStatus {
    /// Everything read was written or unchanged.
    Ok,
    /// Finished, but some records are in quarantine.
    Partial,
    /// Stopped by an error (see `fatal`).
    Failed,
    /// Stopped on request after storing the checkpoint.
    Cancelled,
}

impl FlowStatus {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            FlowStatus::Ok => "ok",
            FlowStatus::Partial => "partial",
            FlowStatus::Failed => "failed",
            FlowStatus::Cancelled => "cancelled",
        }
    }
}

/// Requests made per connector during a flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requests {
    /// Requests to the accounting connector.
    pub accounting: u64,
    /// Requests to the shop connector.
    pub shop: u64,
}

/// What a planned (in a run: done) change to one record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    /// The record would be created.
    Create,
    /// The record would be updated (see `changes`).
    Update,
    /// The target already has it; no write.
    Unchanged,
    /// The record would be quarantined (see `reason`).
    Quarantine,
    /// The record is not written (see `reason`): withdrawn at the source before it was
    /// ever written, e.g. an order cancelled in the shop before export.
    Skip,
}

pub use crate::connector::FieldChange;

/// One record in a plan (what would happen) or a run (what happened).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedChange {
    /// The flow.
    pub flow: Flow,
    /// The record kind (a customer created for an order has kind `customer` in flow `orders`).
    pub kind: Kind,
    /// The natural key.
    pub key: String,
    /// `order 100023`.
    pub label: String,
    /// What would happen.
    pub action: ChangeAction,
    /// The target id, for updates and unchanged records.
    pub target_id: Option<String>,
    /// For updates: the fields that change, the target's current value -> the new value.
    pub changes: Vec<FieldChange>,
    /// For creates: the record that would be written.
    pub after: Option<serde_json::Value>,
    /// For quarantines: why.
    pub reason: Option<String>,
}

/// What one flow did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowReport {
    /// The flow.
    pub flow: Flow,
    /// How it ended.
    pub status: FlowStatus,
    /// Records read from the source (including unreadable ones).
    pub read: u64,
    /// Quarantined records tried again.
    pub retried: u64,
    /// Records created (in a plan: that would be).
    pub created: u64,
    /// Records updated (in a plan: that would be).
    pub updated: u64,
    /// Records skipped as unchanged.
    pub unchanged: u64,
    /// Records quarantined.
    pub quarantined: u64,
    /// Records not written because they were withdrawn at the source before they were ever
    /// written (an order cancelled before export).
    #[serde(default)]
    pub skipped: u64,
    /// Dependencies (customers) created for records of this flow.
    pub dependencies_created: u64,
    /// Open intents from an earlier run resolved by lookup.
    pub intents_resolved: u64,
    /// Quarantined records released (written, or found unchanged).
    pub released: u64,
    /// Requests per connector.
    pub requests: Requests,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The read window: since (exclusive).
    pub since: Option<DateTime<Utc>>,
    /// The read window: until (the cap taken at the start of the run).
    pub until: Option<DateTime<Utc>>,
    /// The cursor stored at the end (runs only).
    pub cursor: Option<DateTime<Utc>>,
    /// Record-level problems, one line each (`order 100023: lines[2].sku: [ART-1] unknown`).
    pub errors: Vec<String>,
    /// The error that stopped the flow (auth, config, a failed read), if any.
    pub fatal: Option<String>,
    /// The class of `fatal` (`auth`, `config`, `transient`, ...).
    pub fatal_class: Option<String>,
    /// Per record, what would happen (plan) or happened (run), in the order decided: up to
    /// [`RunOptions::record_limit`] records; unchanged ones only with
    /// [`RunOptions::list_unchanged`]. Not kept in the stored run history.
    pub records: Vec<PlannedChange>,
    /// Records not listed in `records` because of the limit.
    pub records_omitted: u64,
}

impl FlowReport {
    pub(crate) fn new(flow: Flow) -> Self {
        FlowReport {
            flow,
            status: FlowStatus::Ok,
            read: 0,
            retried: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            quarantined: 0,
            skipped: 0,
            dependencies_created: 0,
            intents_resolved: 0,
            released: 0,
            requests: Requests::default(),
            duration_ms: 0,
            since: None,
            until: None,
            cursor: None,
            errors: Vec::new(),
            fatal: None,
            fatal_class: None,
            records: Vec::new(),
            records_omitted: 0,
        }
    }

    /// True when an auth or config error stopped the flow (the connector is unusable).
    pub fn is_connector_fault(&self) -> bool {
        matches!(self.fatal_class.as_deref(), Some("auth") | Some("config"))
    }
}

/// What a run did, per flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The run's id.
    pub run_id: String,
    /// The pair.
    pub pair: String,
    /// Run or plan.
    pub mode: Mode,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// One report per flow, in run order.
    pub flows: Vec<FlowReport>,
}

impl RunReport {
    /// True when every flow finished without a fatal error.
    pub fn ok(&self) -> bool {
        self.flows.iter().all(|f| f.fatal.is_none())
    }

    /// The report of a flow.
    pub fn flow(&self, flow: Flow) -> Option<&FlowReport> {
        self.flows.iter().find(|f| f.flow == flow)
    }

    /// Total records quarantined.
    pub fn quarantined(&self) -> u64 {
        self.flows.iter().map(|f| f.quarantined).sum()
    }
}

/// The engine. Cheap to share; one engine can run many pairs (each under its own lease).
pub struct Engine {
    store: Arc<dyn StateStore>,
    holder: String,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("holder", &self.holder).finish()
    }
}

impl Engine {
    /// An engine over a state store. Its lease holder name is `host[/pidns]:pid:<random>`.
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.trim().is_empty())
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_owned())
                    .filter(|h| !h.is_empty())
            })
            .unwrap_or_else(|| "localhost".into());
        // The PID namespace, where the OS shows it: two containers with the same host name
        // are told apart, so a lease is only ever taken over from a process we can see.
        let host = match std::fs::read_link("/proc/self/ns/pid") {
            Ok(ns) => {
                let digits: String = ns
                    .to_string_lossy()
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                format!("{host}/{digits}")
            }
            Err(_) => host,
        };
        let host = host.replace(':', "_");
        let rand = uuid::Uuid::new_v4().simple().to_string();
        let holder = format!("{host}:{}:{}", std::process::id(), &rand[..8]);
        Engine { store, holder }
    }

    /// The same engine with an explicit lease holder name.
    pub fn with_holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    /// The lease holder name this engine uses.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The state store.
    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }
}

/// Whether the lease holder `theirs` was a process that has ended, as far as this process can
/// tell: same host and PID namespace as `ours`, and no such process in `/proc`. Anything it
/// cannot tell (another host, no `/proc`, e.g. Windows) is taken as alive: the lease then
/// simply expires.
pub(crate) fn holder_is_dead(theirs: &str, ours: &str) -> bool {
    let split = |h: &str| {
        let mut it = h.rsplitn(3, ':');
        let (_rand, pid, host) = (it.next(), it.next(), it.next());
        Some((host?.to_owned(), pid?.parse::<u32>().ok()?))
    };
    let (Some((their_host, pid)), Some((our_host, _))) = (split(theirs), split(ours)) else {
        return false;
    };
    let proc = std::path::Path::new("/proc");
    their_host == our_host && proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}
