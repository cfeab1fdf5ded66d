//! The generic flow pipeline: one record kind from a source to a sink.
//!
//! Rooms: [`read`] (the loop over the source's pages), [`ledger`] (how far the read is done, for
//! checkpoints), [`prepare`] (the engine's checks before the sink's prepare), [`write`] (batches
//! to the sink and their accounting), [`recover`] (intents without outcome), [`quarantine`]
//! (failures parked). This file holds the shared context and state and [`run_flow`].

mod ledger;
mod prepare;
mod quarantine;
mod read;
mod recover;
mod write;

use ledger::{checkpoint, Buffer};
use prepare::{process, stage};
use quarantine::{park, Failure};
use read::flow_inner;
use recover::resolve_intents;
use write::{flush, process_batch, Gate};

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::{
    ChangeAction, FaultPoint, Flow, FlowOptions, FlowReport, FlowStatus, Pair, PlannedChange, Progress,
    RunOptions,
};
use crate::connector::{Connector, Prepared, Routed, WriteItem, WriteOutcome};
use crate::error::Error;
use crate::model::Kind;
use crate::state::{Binding, StateStore};

/// Why a flow stopped early.
pub(crate) enum Stop {
    /// An injected fault: the run ends as if the process died.
    Fault(FaultPoint),
    /// An error that stops the flow (auth, config, failed read, state store).
    Fatal(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Fatal(e)
    }
}

type StopResult<T> = std::result::Result<T, Stop>;

/// What a flow run does besides the normal read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'k> {
    /// Resolve intents, retry due quarantined records, read after the cursor.
    Normal,
    /// Only retry quarantined records now (all, or the one with this key or label).
    Retry(Option<&'k str>),
}

/// Everything a flow needs to know.
pub(crate) struct Ctx<'a> {
    pub store: &'a dyn StateStore,
    pub pair: &'a Pair,
    pub flow: Flow,
    pub fopts: &'a FlowOptions,
    pub ropts: &'a RunOptions,
    pub run_id: &'a str,
    pub until: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub plan: bool,
    pub lease_lost: &'a AtomicBool,
    /// In a plan: what the run would have bound so far, for the flows after.
    pub book: &'a PlanBook,
}

/// In a plan, the bindings the run would have made by now, for the record kinds other flows
/// depend on (products for stock and orders, customers for orders): natural key -> (target
/// id, or a placeholder for a record the run would create; source id). A later flow of the
/// same plan resolves its dependencies against it as the run would against the bindings the
/// earlier flows stored. Holds two short strings per such record, nothing else.
#[derive(Default)]
pub(crate) struct PlanBook {
    bound: Mutex<HashMap<(Kind, String), Bound>>,
}

/// A binding as a later flow needs it: (target id, source id).
type Bound = (String, Option<String>);

impl PlanBook {
    fn wanted(kind: Kind) -> bool {
        matches!(kind, Kind::Product | Kind::Customer)
    }

    fn note(&self, kind: Kind, key: &str, target_id: String, source_id: Option<String>) {
        if Self::wanted(kind) {
            self.bound
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert((kind, key.to_owned()), (target_id, source_id));
        }
    }

    fn get(&self, kind: Kind, key: &str) -> Option<Bound> {
        self.bound
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(kind, key.to_owned()))
            .cloned()
    }
}

impl Ctx<'_> {
    pub(crate) fn source_conn(&self) -> &Arc<dyn Connector> {
        if self.flow.from_accounting() {
            &self.pair.accounting
        } else {
            &self.pair.shop
        }
    }

    pub(crate) fn sink_conn(&self) -> &Arc<dyn Connector> {
        if self.flow.from_accounting() {
            &self.pair.shop
        } else {
            &self.pair.accounting
        }
    }

    fn cancelled(&self) -> bool {
        self.ropts.cancel.load(Ordering::SeqCst) || self.lease_lost.load(Ordering::SeqCst)
    }

    fn check_lease(&self) -> StopResult<()> {
        if self.lease_lost.load(Ordering::SeqCst) {
            return Err(Stop::Fatal(Error::Conflict {
                message: format!(
                    "lease on pair {} was lost (another process took over); stopped",
                    self.pair.name
                ),
            }));
        }
        Ok(())
    }

    fn fault(&self, point: FaultPoint, kind: Kind, keys: &[String]) -> StopResult<()> {
        match &self.ropts.fault {
            Some(hook) if !self.plan && hook(point, kind, keys) => Err(Stop::Fault(point)),
            _ => Ok(()),
        }
    }

    fn backoff(&self, attempts: u32) -> TimeDelta {
        let base = self.fopts.quarantine_backoff.as_secs_f64();
        let max = self.fopts.quarantine_backoff_max.as_secs_f64();
        let exp = attempts.saturating_sub(1).min(40) as i32;
        let secs = (base * 2f64.powi(exp)).min(max).max(0.0);
        TimeDelta::milliseconds((secs * 1000.0) as i64)
    }
}

/// Mutable state of one flow run.
struct FlowState {
    report: FlowReport,
    /// Keys (and labels) currently in quarantine for this flow.
    quarantined: HashSet<String>,
    /// Keys whose earlier write has an unknown outcome that a lookup could not resolve.
    blocked: HashSet<(Kind, String)>,
}

/// A record the engine's own checks passed, ready for the sink's prepare.
struct Staged<T> {
    /// Its sequence number in the ledger of the read (0 outside a read).
    seq: usize,
    key: String,
    label: String,
    json: Value,
    hash: String,
    item: WriteItem<T>,
}

/// What became of one record of a batch.
enum ItemOutcome {
    /// Plan: what the sink's prepare decided.
    Planned(Prepared),
    /// Run: what the write did, with the changes prepare found.
    Written(WriteOutcome, Vec<crate::connector::FieldChange>),
    /// Quarantined (or, for a dependency, failed): the report line.
    Failed { line: String },
}

/// One record's line in the report.
struct Entry {
    seq: usize,
    key: String,
    label: String,
    outcome: ItemOutcome,
}

fn source_id_of(json: &Value) -> Option<String> {
    match json.get("source_id") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn binding_for(ctx: &Ctx<'_>, kind: Kind, key: &str, target_id: &str, json: &Value, hash: &str) -> Binding {
    Binding {
        pair: ctx.pair.name.clone(),
        kind,
        key: key.to_owned(),
        target_id: target_id.to_owned(),
        source_id: source_id_of(json),
        hash: hash.to_owned(),
        payload: json.clone(),
        updated_at: Utc::now(),
    }
}

impl FlowState {
    /// Lists one record in the report, within the limit.
    fn list(&mut self, ctx: &Ctx<'_>, change: PlannedChange) {
        if change.action == ChangeAction::Unchanged && !ctx.ropts.list_unchanged {
            return;
        }
        if self.report.records.len() < ctx.ropts.record_limit {
            self.report.records.push(change);
        } else {
            self.report.records_omitted += 1;
        }
    }

    fn quarantine_line(&mut self, ctx: &Ctx<'_>, key: &str, label: &str, line: String) {
        self.report.quarantined += 1;
        self.quarantined.insert(key.to_owned());
        self.list(
            ctx,
            PlannedChange {
                flow: ctx.flow,
                kind: ctx.flow.kind(),
                key: key.to_owned(),
                label: label.to_owned(),
                action: ChangeAction::Quarantine,
                target_id: None,
                changes: Vec::new(),
                after: None,
                reason: Some(line.clone()),
            },
        );
        if self.report.errors.len() < ctx.ropts.record_limit {
            self.report.errors.push(line);
        }
    }

    fn progress(&self, ctx: &Ctx<'_>, done: bool) {
        if let Some(p) = &ctx.ropts.progress {
            p(Progress {
                pair: ctx.pair.name.clone(),
                flow: ctx.flow,
                read: self.report.read,
                created: self.report.created,
                updated: self.report.updated,
                unchanged: self.report.unchanged,
                quarantined: self.report.quarantined,
                done,
            });
        }
    }
}

/// Runs one flow for record kind `R`. `Err` only for an injected fault; every other stop is
/// recorded in the report.
pub(crate) async fn run_flow<R: Routed>(ctx: &Ctx<'_>, scope: Scope<'_>) -> StopResult<FlowReport> {
    let mut st = FlowState {
        report: FlowReport::new(ctx.flow),
        quarantined: HashSet::new(),
        blocked: HashSet::new(),
    };
    match flow_inner::<R>(ctx, scope, &mut st).await {
        Ok(()) => {}
        Err(Stop::Fault(p)) => return Err(Stop::Fault(p)),
        Err(Stop::Fatal(e)) => {
            tracing::error!(pair = %ctx.pair.name, flow = %ctx.flow, class = e.class(), "flow stopped: {e}");
            st.report.fatal = Some(e.to_string());
            st.report.fatal_class = Some(e.class().to_owned());
            st.report.status = FlowStatus::Failed;
        }
    }
    if st.report.status == FlowStatus::Ok && st.report.quarantined > 0 {
        st.report.status = FlowStatus::Partial;
    }
    st.progress(ctx, true);
    Ok(st.report)
}

/// When writing the buffer fails while the flow is stopping because of `first` (a failed read
/// or preparation): keeps `first` in the report and stops with the write's error.
fn also_failed(st: &mut FlowState, stop: Stop, first: &Error) -> Stop {
    if let Stop::Fatal(_) = &stop {
        st.report
            .errors
            .push(format!("the flow was stopping because of: {first}"));
    }
    stop
}
