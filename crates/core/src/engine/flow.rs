//! The generic flow pipeline: one record kind from a source to a sink.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use serde_json::Value;

use super::diff::{record_hash, record_json};
use super::{
    ChangeAction, FaultPoint, Flow, FlowOptions, FlowReport, FlowStatus, Pair, PlannedChange, Progress,
    RunOptions,
};
use crate::connector::{
    Connector, Dependency, Prepared, ReadRequest, Routed, Sink, Verdict, WriteItem, WriteOutcome,
    CHANGED_AFTER_EXPORT,
};
use crate::error::{Error, Rejection};
use crate::model::{Customer, Kind, Record};
use crate::state::{
    Binding, JournalOutcome, NewIntent, QuarantineEntry, StateStore, WriteCompletion, WriteOp,
};

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

struct Failure {
    class: String,
    field: Option<String>,
    code: Option<String>,
    message: String,
}

impl Failure {
    fn from_error(e: &Error) -> Self {
        match e {
            Error::Rejected(r) => Failure {
                class: if r.code.as_deref() == Some(CHANGED_AFTER_EXPORT) {
                    CHANGED_AFTER_EXPORT.into()
                } else {
                    e.class().into()
                },
                field: r.field.clone(),
                code: r.code.clone(),
                message: r.message.clone(),
            },
            other => Failure {
                class: other.class().into(),
                field: None,
                code: None,
                message: other.to_string(),
            },
        }
    }

    fn from_rejection(class: &str, r: &Rejection) -> Self {
        Failure {
            class: class.into(),
            field: r.field.clone(),
            code: r.code.clone(),
            message: r.message.clone(),
        }
    }

    fn plain(class: &str, message: String) -> Self {
        Failure {
            class: class.into(),
            field: None,
            code: None,
            message,
        }
    }

    fn line(&self, label: &str) -> String {
        let mut s = format!("{label}: ");
        if let Some(f) = &self.field {
            s.push_str(f);
            s.push_str(": ");
        }
        if let Some(c) = &self.code {
            s.push_str(&format!("[{c}] "));
        }
        s.push_str(&self.message);
        s
    }
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

/// Parks a record in quarantine (not in a plan); returns the report line.
#[allow(clippy::too_many_arguments)]
async fn park(
    ctx: &Ctx<'_>,
    kind: Kind,
    key: &str,
    label: &str,
    payload: Option<&Value>,
    failure: &Failure,
) -> StopResult<String> {
    let line = failure.line(label);
    if ctx.plan {
        return Ok(line);
    }
    let existing = ctx.store.quarantine_entry(&ctx.pair.name, kind, key).await?;
    let attempts = existing.as_ref().map_or(0, |e| e.attempts) + 1;
    let now = Utc::now();
    let entry = QuarantineEntry {
        pair: ctx.pair.name.clone(),
        flow: ctx.flow,
        kind,
        key: key.to_owned(),
        label: label.to_owned(),
        field: failure.field.clone(),
        code: failure.code.clone(),
        reason: failure.message.clone(),
        error_class: failure.class.clone(),
        payload: payload.cloned(),
        attempts,
        first_at: existing.as_ref().map_or(now, |e| e.first_at),
        last_at: now,
        next_attempt: now + ctx.backoff(attempts),
    };
    ctx.store.put_quarantine(&entry).await?;
    tracing::warn!(pair = %ctx.pair.name, flow = %ctx.flow, record = %label, class = %failure.class, attempts, "quarantined: {}", line);
    Ok(line)
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

async fn flow_inner<R: Routed>(ctx: &Ctx<'_>, scope: Scope<'_>, st: &mut FlowState) -> StopResult<()> {
    let sink = R::sink_of(&ctx.sink_conn().endpoints()).ok_or_else(|| {
        Error::config(
            format!("pairs.{}.flows.{}", ctx.pair.name, ctx.flow),
            format!("{} cannot write {}", ctx.sink_conn().name(), R::KIND),
        )
    })?;
    let entries = ctx.store.quarantined(&ctx.pair.name, Some(ctx.flow)).await?;
    for e in &entries {
        st.quarantined.insert(e.key.clone());
    }

    // 1. Intents left open by a crash or an uncertain write: resolve them before writing.
    if ctx.plan {
        let open = ctx.store.open_intents(&ctx.pair.name, R::KIND).await?;
        if !open.is_empty() {
            st.report.errors.push(format!(
                "{} earlier write(s) with unknown outcome will be resolved by lookup before writing",
                open.len()
            ));
        }
    } else {
        resolve_intents::<R>(ctx, st, sink.as_ref()).await?;
        if ctx.flow == Flow::Orders {
            if let Some(csink) = Customer::sink_of(&ctx.sink_conn().endpoints()) {
                resolve_intents::<Customer>(ctx, st, csink.as_ref()).await?;
            }
        }
    }

    // 2. Quarantined records that are due (or asked for).
    let now = ctx.now;
    let mut retry: Vec<R> = Vec::new();
    for e in entries.iter().filter(|e| e.kind == R::KIND) {
        let wanted = match scope {
            Scope::Normal => ctx.fopts.retry_quarantined && e.next_attempt <= now,
            Scope::Retry(None) => true,
            Scope::Retry(Some(k)) => e.key == k || e.label == k,
        };
        if !wanted {
            continue;
        }
        match &e.payload {
            Some(p) => match serde_json::from_value::<R>(p.clone()) {
                Ok(r) => retry.push(r),
                Err(err) => st
                    .report
                    .errors
                    .push(format!("{}: stored payload cannot be read back: {err}", e.label)),
            },
            None => {
                if let Scope::Retry(_) = scope {
                    st.report.errors.push(format!(
                        "{}: cannot be retried from the quarantine: the source could not read it ({}); fix it at the source, it is read again when it changes",
                        e.label, e.reason
                    ));
                }
            }
        }
    }
    if !retry.is_empty() {
        st.report.retried += retry.len() as u64;
        process::<R>(ctx, st, sink.as_ref(), retry).await?;
    }
    if let Scope::Retry(_) = scope {
        return Ok(());
    }
    if ctx.cancelled() {
        ctx.check_lease()?;
        st.report.status = FlowStatus::Cancelled;
        return Ok(());
    }

    // 3. Read after the cursor, up to the cap taken at the start of the run.
    let source = R::source_of(&ctx.source_conn().endpoints()).ok_or_else(|| {
        Error::config(
            format!("pairs.{}.flows.{}", ctx.pair.name, ctx.flow),
            format!("{} cannot read {}", ctx.source_conn().name(), R::KIND),
        )
    })?;
    let stored = if ctx.fopts.full {
        None
    } else {
        ctx.store.cursor(&ctx.pair.name, ctx.flow).await?
    };
    let overlap = TimeDelta::from_std(ctx.fopts.overlap).unwrap_or(TimeDelta::zero());
    let since = stored.map(|c| c - overlap);
    st.report.since = since;
    st.report.until = Some(ctx.until);
    // Records to write wait in one buffer across pages until a full batch of the sink is
    // ready (small source pages still give full batches); the ledger says how far the read is
    // done for a checkpoint.
    let mut buf: Buffer<R> = Buffer::default();
    let mut page_token: Option<String> = None;
    loop {
        let req = ReadRequest {
            since,
            until: Some(ctx.until),
            page: page_token.clone(),
        };
        let page = match source.read(&req).await {
            Ok(p) => p,
            Err(e) => {
                // Write what is prepared (unless cancelled), then stop as before.
                flush::<R>(ctx, st, sink.as_ref(), &mut buf, true)
                    .await
                    .map_err(|stop| also_failed(st, stop, &e))?;
                checkpoint(ctx, &buf.ledger.tracker, stored).await?;
                return Err(Stop::Fatal(e));
            }
        };
        st.report.read += page.items.len() as u64;
        let mut records: Vec<R> = Vec::with_capacity(page.items.len());
        for item in page.items {
            match item {
                Ok(r) => records.push(r),
                Err(rej) => {
                    let key = if rej.record.is_empty() {
                        format!("unreadable {}", R::KIND.noun())
                    } else {
                        rej.record.clone()
                    };
                    let f = Failure::from_rejection("unreadable", &rej);
                    let line = park(ctx, R::KIND, &key, &key, None, &f).await?;
                    st.quarantine_line(ctx, &key, &key, line);
                }
            }
        }
        let last = page.next.is_none();
        let staged = match stage::<R>(ctx, st, sink.as_ref(), &mut buf, dedupe(records)).await {
            Ok(staged) => staged,
            Err(Stop::Fatal(e)) => {
                // What earlier pages prepared is written before stopping, as without the buffer.
                flush::<R>(ctx, st, sink.as_ref(), &mut buf, true)
                    .await
                    .map_err(|stop| also_failed(st, stop, &e))?;
                return Err(Stop::Fatal(e));
            }
            Err(fault) => return Err(fault),
        };
        // Full batches now; the rest at the end (a plan batches the same way, and only prepares).
        flush::<R>(ctx, st, sink.as_ref(), &mut buf, last).await?;
        st.progress(ctx, false);
        // Cancelled: what is still buffered is not written; the checkpoint stops before it.
        if !staged || (last && !buf.ledger.all_done()) || (!last && ctx.cancelled()) {
            ctx.check_lease()?;
            let stored_at = checkpoint(ctx, &buf.ledger.tracker, stored).await?;
            st.report.cursor = stored_at.or(stored);
            st.report.status = FlowStatus::Cancelled;
            return Ok(());
        }
        match page.next {
            Some(next) => page_token = Some(next),
            None => break,
        }
    }
    ctx.check_lease()?;
    if !ctx.plan {
        ctx.store.set_cursor(&ctx.pair.name, ctx.flow, ctx.until).await?;
        st.report.cursor = Some(ctx.until);
    }
    Ok(())
}

/// Keeps the last occurrence of each key (a record changed while paging), in read order.
fn dedupe<R: Record>(records: Vec<R>) -> Vec<R> {
    let mut last: HashMap<String, usize> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        last.insert(r.key(), i);
    }
    records
        .into_iter()
        .enumerate()
        .filter(|(i, r)| last.get(&r.key()) == Some(i))
        .map(|(_, r)| r)
        .collect()
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

/// Tracks how far the read is done in change-time order, for a checkpoint when a run stops
/// in the middle. Only a source that returns records in non-decreasing change time gives a
/// safe mid-read checkpoint; otherwise the cursor stays where it was.
#[derive(Default, Clone, Copy)]
struct Tracker {
    last: Option<DateTime<Utc>>,
    unordered: bool,
}

impl Tracker {
    fn advance(&mut self, m: Option<DateTime<Utc>>) {
        match (m, self.last) {
            (Some(m), Some(l)) if m >= l => self.last = Some(m),
            (Some(m), None) => self.last = Some(m),
            _ => self.unordered = true,
        }
    }

    /// Continues with a run of records whose first changed at `first` and that `run` tracked
    /// from its start: the same as advancing over each of them.
    fn absorb(&mut self, first: Option<DateTime<Utc>>, run: &Tracker) {
        self.advance(first);
        self.unordered |= run.unordered;
        if run.last.is_some() {
            self.last = run.last;
        }
    }

    fn of(m: Option<DateTime<Utc>>) -> Tracker {
        let mut t = Tracker::default();
        t.advance(m);
        t
    }
}

/// One place in the read order after the leading done records.
enum Slot {
    /// A record waiting in the buffer: its sequence number and change time.
    Waiting(usize, Option<DateTime<Utc>>),
    /// Done records (written, unchanged or quarantined): the first one's change time and a
    /// tracker over all of them.
    Done(Option<DateTime<Utc>>, Tracker),
}

/// The read, in read order, as far as a checkpoint needs it: a tracker over the leading done
/// records, then the records waiting in the buffer with runs of done records between them (a
/// record counts as done only once its batch was written or it was quarantined). Its size is
/// bounded by the buffer's.
#[derive(Default)]
struct Ledger {
    tracker: Tracker,
    rest: VecDeque<Slot>,
    next: usize,
}

impl Ledger {
    /// Notes a record that waits in the buffer; returns its sequence number.
    fn waiting(&mut self, m: Option<DateTime<Utc>>) -> usize {
        let seq = self.next;
        self.next += 1;
        self.rest.push_back(Slot::Waiting(seq, m));
        seq
    }

    /// Marks a waiting record done.
    fn done(&mut self, seq: usize) {
        for slot in self.rest.iter_mut() {
            if let Slot::Waiting(s, m) = *slot {
                if s == seq {
                    *slot = Slot::Done(m, Tracker::of(m));
                    break;
                }
            }
        }
    }

    /// Forgets a waiting record that a newer version of it replaces.
    fn forget(&mut self, seq: usize) {
        self.rest
            .retain(|s| !matches!(s, Slot::Waiting(x, _) if *x == seq));
        self.settle();
    }

    /// Merges neighbouring done runs, the leading ones into the tracker.
    fn settle(&mut self) {
        let mut out: VecDeque<Slot> = VecDeque::with_capacity(self.rest.len());
        for slot in std::mem::take(&mut self.rest) {
            if let Slot::Done(first, run) = &slot {
                match out.back_mut() {
                    None => {
                        self.tracker.absorb(*first, run);
                        continue;
                    }
                    Some(Slot::Done(_, prev)) => {
                        prev.absorb(*first, run);
                        continue;
                    }
                    Some(Slot::Waiting(..)) => {}
                }
            }
            out.push_back(slot);
        }
        self.rest = out;
    }

    /// Whether every record noted is done.
    fn all_done(&self) -> bool {
        self.rest.is_empty()
    }
}

/// Staged records waiting for the sink, oldest first, and the ledger of the read.
struct Buffer<R> {
    items: Vec<Staged<R>>,
    ledger: Ledger,
}

impl<R> Default for Buffer<R> {
    fn default() -> Self {
        Buffer {
            items: Vec::new(),
            ledger: Ledger::default(),
        }
    }
}

async fn checkpoint(
    ctx: &Ctx<'_>,
    tracker: &Tracker,
    stored: Option<DateTime<Utc>>,
) -> StopResult<Option<DateTime<Utc>>> {
    if ctx.plan || tracker.unordered || ctx.lease_lost.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let Some(last) = tracker.last else {
        return Ok(None);
    };
    // Records with exactly `last` may still be unread (since is exclusive): step back a bit.
    let at = (last - TimeDelta::milliseconds(1)).min(ctx.until);
    if stored.is_some_and(|s| s >= at) {
        return Ok(None);
    }
    ctx.store.set_cursor(&ctx.pair.name, ctx.flow, at).await?;
    Ok(Some(at))
}

/// Resolves intents without outcome (a crash, or an uncertain write) by looking the record up.
async fn resolve_intents<T: Routed>(ctx: &Ctx<'_>, st: &mut FlowState, sink: &dyn Sink<T>) -> StopResult<()> {
    for e in ctx.store.open_intents(&ctx.pair.name, T::KIND).await? {
        if e.op == WriteOp::Update {
            ctx.store
                .journal_outcome(
                    e.id,
                    JournalOutcome::Failed,
                    None,
                    Some("interrupted update; written again when the record is next processed"),
                )
                .await?;
            continue;
        }
        let record: T = match serde_json::from_value(e.payload.clone()) {
            Ok(r) => r,
            Err(err) => {
                ctx.store
                    .journal_outcome(
                        e.id,
                        JournalOutcome::Failed,
                        None,
                        Some(&format!("payload cannot be read back: {err}")),
                    )
                    .await?;
                continue;
            }
        };
        match sink.lookup(&record).await {
            Ok(Some(target_id)) => {
                let hash = record_hash(&e.payload);
                let b = binding_for(ctx, T::KIND, &e.key, &target_id, &e.payload, &hash);
                ctx.store
                    .complete_write(Some(e.id), JournalOutcome::ResolvedFound, &b, &record.label())
                    .await?;
                tracing::info!(pair = %ctx.pair.name, record = %record.label(), %target_id, "open write intent resolved: found on target");
                st.report.intents_resolved += 1;
                if st.quarantined.remove(&e.key) && T::KIND == ctx.flow.kind() {
                    st.report.released += 1;
                }
            }
            Ok(None) => {
                ctx.store
                    .journal_outcome(
                        e.id,
                        JournalOutcome::ResolvedAbsent,
                        None,
                        Some("not found on target; written again when next processed"),
                    )
                    .await?;
                st.report.intents_resolved += 1;
            }
            Err(err) if err.is_connector_fault() => return Err(Stop::Fatal(err)),
            Err(err) => {
                st.report.errors.push(format!(
                    "{}: earlier write has an unknown outcome and the lookup failed: {err}",
                    record.label()
                ));
                st.blocked.insert((T::KIND, e.key.clone()));
            }
        }
    }
    Ok(())
}

/// Validates, compares, resolves dependencies and writes `records` at once (retries of
/// quarantined records); stops early only when the run is cancelled.
async fn process<R: Routed>(
    ctx: &Ctx<'_>,
    st: &mut FlowState,
    sink: &dyn Sink<R>,
    records: Vec<R>,
) -> StopResult<()> {
    let mut buf = Buffer::default();
    stage::<R>(ctx, st, sink, &mut buf, records).await?;
    flush::<R>(ctx, st, sink, &mut buf, true).await
}

/// Validates, compares with the bindings and resolves dependencies of `records` (in read
/// order, keys unique) and adds the ones for the sink to the buffer; a buffered older version
/// of the same key is dropped (the newest is compared and written, never both). Returns false
/// when a cancel stopped it before the end. The same in a plan and a run.
async fn stage<R: Routed>(
    ctx: &Ctx<'_>,
    st: &mut FlowState,
    sink: &dyn Sink<R>,
    buf: &mut Buffer<R>,
    records: Vec<R>,
) -> StopResult<bool> {
    for record in records {
        if ctx.cancelled() {
            buf.ledger.settle();
            return Ok(false);
        }
        let key = record.key();
        if let Some(pos) = buf.items.iter().position(|p| p.key == key) {
            let older = buf.items.remove(pos);
            buf.ledger.forget(older.seq);
        }
        let modified = record.modified();
        let seq = buf.ledger.waiting(modified);
        match check::<R>(ctx, st, sink, seq, record).await? {
            Some(p) => buf.items.push(p),
            None => {
                buf.ledger.done(seq);
                buf.ledger.settle();
            }
        }
    }
    buf.ledger.settle();
    Ok(true)
}

/// The engine's own checks of one record; `None` when it is done without the sink
/// (unchanged by its binding, or quarantined).
async fn check<R: Routed>(
    ctx: &Ctx<'_>,
    st: &mut FlowState,
    sink: &dyn Sink<R>,
    seq: usize,
    record: R,
) -> StopResult<Option<Staged<R>>> {
    let key = record.key();
    let label = record.label();
    let json = record_json(&record)?;
    let hash = record_hash(&json);
    if st.blocked.contains(&(R::KIND, key.clone())) {
        let f = Failure::plain(
            "uncertain",
            "an earlier write of this record has an unknown outcome that could not be resolved yet; retried later"
                .into(),
        );
        let line = park(ctx, R::KIND, &key, &label, Some(&json), &f).await?;
        st.quarantine_line(ctx, &key, &label, line);
        return Ok(None);
    }
    if let Err(v) = record.validate() {
        let f = Failure::from_rejection("invalid", &Rejection::from(v));
        let line = park(ctx, R::KIND, &key, &label, Some(&json), &f).await?;
        st.quarantine_line(ctx, &key, &label, line);
        return Ok(None);
    }
    let binding = super::succession::binding_or_predecessor(ctx.store, &ctx.pair.name, &record, &key).await?;
    if let Some(reason) = super::succession::skip_reason(&record, binding.as_ref()) {
        st.report.skipped += 1;
        st.list(
            ctx,
            PlannedChange {
                flow: ctx.flow,
                kind: R::KIND,
                key,
                label,
                action: ChangeAction::Skip,
                target_id: None,
                changes: Vec::new(),
                after: None,
                reason: Some(reason),
            },
        );
        return Ok(None);
    }
    if let Some(b) = &binding {
        if b.hash == hash {
            st.report.unchanged += 1;
            if st.quarantined.remove(&key) || st.quarantined.remove(&label) {
                if !ctx.plan {
                    ctx.store
                        .release_quarantine(&ctx.pair.name, R::KIND, &key)
                        .await?;
                    ctx.store
                        .release_quarantine(&ctx.pair.name, R::KIND, &label)
                        .await?;
                }
                st.report.released += 1;
            }
            if ctx.plan {
                ctx.book
                    .note(R::KIND, &key, b.target_id.clone(), b.source_id.clone());
            }
            st.list(
                ctx,
                PlannedChange {
                    flow: ctx.flow,
                    kind: R::KIND,
                    key,
                    label,
                    action: ChangeAction::Unchanged,
                    target_id: Some(b.target_id.clone()),
                    changes: Vec::new(),
                    after: None,
                    reason: None,
                },
            );
            return Ok(None);
        }
    }

    let mut item = WriteItem::new(record);
    for dep in sink.dependencies(&item.record) {
        match dep {
            Dependency::Customer(c) => match resolve_customer(ctx, st, &c).await? {
                Ok(id) => {
                    item.refs.insert("customer".into(), id);
                }
                Err(reason) => {
                    let f = Failure {
                        class: "dependency".into(),
                        field: Some("customer".into()),
                        code: None,
                        message: reason,
                    };
                    let line = park(ctx, R::KIND, &key, &label, Some(&json), &f).await?;
                    st.quarantine_line(ctx, &key, &label, line);
                    return Ok(None);
                }
            },
            Dependency::Product(sku) => {
                if let Some((target_id, source_id)) = bound(ctx, Kind::Product, sku.as_str()).await? {
                    // The products flow writes to the shop: its target ids are shop ids and its
                    // source ids accounting ids.
                    let id = if ctx.flow.from_accounting() {
                        Some(target_id)
                    } else {
                        source_id
                    };
                    if let Some(id) = id {
                        item.refs.insert(format!("sku:{sku}"), id);
                    }
                }
            }
        }
    }
    if let Some(b) = binding {
        item.target_id = Some(b.target_id);
        item.previous = serde_json::from_value(b.payload).ok();
    }
    Ok(Some(Staged {
        seq,
        key,
        label,
        json,
        hash,
        item,
    }))
}

/// The binding of a dependency (target id, source id): stored, or in a plan, one the run
/// would have made by now.
async fn bound(ctx: &Ctx<'_>, kind: Kind, key: &str) -> StopResult<Option<Bound>> {
    if let Some(b) = ctx.store.binding(&ctx.pair.name, kind, key).await? {
        return Ok(Some((b.target_id, b.source_id)));
    }
    Ok(if ctx.plan { ctx.book.get(kind, key) } else { None })
}

/// The target id of an order's buyer: from the customer binding, or written through the
/// target's customer sink (prepare, then apply, as any record; when allowed). In a plan,
/// prepare only. `Ok(Err(reason))` when it cannot be had.
async fn resolve_customer(
    ctx: &Ctx<'_>,
    st: &mut FlowState,
    c: &Customer,
) -> StopResult<std::result::Result<String, String>> {
    let label = c.label();
    if ctx.flow.from_accounting() {
        return Ok(Err(format!(
            "{label}: customer dependencies are only supported for flows that write to the accounting side"
        )));
    }
    if let Some((id, _)) = bound(ctx, Kind::Customer, &c.key).await? {
        return Ok(Ok(id));
    }
    if !ctx.fopts.create_customers {
        return Ok(Err(format!(
            "{label} is not synced yet; run the customers flow first or allow create_customers"
        )));
    }
    if st.blocked.contains(&(Kind::Customer, c.key.clone())) {
        return Ok(Err(format!(
            "{label}: an earlier create has an unknown outcome that could not be resolved yet"
        )));
    }
    let Some(csink) = Customer::sink_of(&ctx.sink_conn().endpoints()) else {
        return Ok(Err(format!(
            "{label} is not synced and {} cannot create customers",
            ctx.sink_conn().name()
        )));
    };
    if let Err(v) = c.validate() {
        return Ok(Err(v.to_string()));
    }
    let json = record_json(c)?;
    let hash = record_hash(&json);
    let staged = Staged {
        seq: 0,
        key: c.key.clone(),
        label: label.clone(),
        json,
        hash,
        item: WriteItem::new(c.clone()),
    };
    let (mut out, fatal) = process_batch::<Customer>(ctx, csink.as_ref(), vec![staged], false).await?;
    if let Some(e) = fatal {
        return Err(Stop::Fatal(e));
    }
    let Some(entry) = out.pop() else {
        return Ok(Err(format!("{label}: the sink returned no result")));
    };
    let change = |action: ChangeAction, target_id: Option<String>, changes, after| PlannedChange {
        flow: ctx.flow,
        kind: Kind::Customer,
        key: c.key.clone(),
        label: label.clone(),
        action,
        target_id,
        changes,
        after,
        reason: None,
    };
    match entry.outcome {
        ItemOutcome::Planned(p) => {
            let id = p.target_id.clone().unwrap_or_else(|| format!("(new {label})"));
            ctx.book.note(Kind::Customer, &c.key, id.clone(), None);
            let action = action_of(p.verdict);
            if p.verdict == Verdict::Create {
                st.report.dependencies_created += 1;
            }
            st.list(ctx, change(action, p.target_id, p.changes, p.after));
            Ok(Ok(id))
        }
        ItemOutcome::Written(w, changes) => {
            if matches!(w, WriteOutcome::Created { .. }) {
                st.report.dependencies_created += 1;
            }
            let action = match &w {
                WriteOutcome::Created { .. } => ChangeAction::Create,
                WriteOutcome::Updated { .. } => ChangeAction::Update,
                WriteOutcome::Unchanged { .. } => ChangeAction::Unchanged,
            };
            st.list(ctx, change(action, Some(w.target_id().to_owned()), changes, None));
            Ok(Ok(w.target_id().to_owned()))
        }
        ItemOutcome::Failed { line } => Ok(Err(format!("could not create the customer: {line}"))),
    }
}

fn action_of(v: Verdict) -> ChangeAction {
    match v {
        Verdict::Create => ChangeAction::Create,
        Verdict::Update => ChangeAction::Update,
        Verdict::Unchanged => ChangeAction::Unchanged,
    }
}

/// How many batches run at once: the flow's `concurrency`, capped by what the sink allows
/// ([`Sink::concurrency`]); never less than one.
fn batches_in_flight(flow: usize, sink: usize) -> usize {
    flow.min(sink).max(1)
}

/// Hands the buffered records to the sink, oldest first, in batches of its size: all of
/// them, or (`all` false) only as many full batches as there are, the rest waiting for the
/// next page. Batches run with bounded concurrency; none is started once the run is cancelled
/// (those records stay not done). The same in a plan, which only prepares.
async fn flush<R: Routed>(
    ctx: &Ctx<'_>,
    st: &mut FlowState,
    sink: &dyn Sink<R>,
    buf: &mut Buffer<R>,
    all: bool,
) -> StopResult<()> {
    let size = sink.batch_size().max(1);
    let n = if all {
        buf.items.len()
    } else {
        buf.items.len() - buf.items.len() % size
    };
    if n == 0 {
        return Ok(());
    }
    let mut batches: Vec<Vec<Staged<R>>> = Vec::new();
    let mut it = buf.items.drain(..n).peekable();
    while it.peek().is_some() {
        batches.push(it.by_ref().take(size).collect());
    }
    drop(it);
    let concurrency = batches_in_flight(ctx.fopts.concurrency, sink.concurrency());
    // Set when a batch reports an error that stops the flow: launch no further batches.
    let halted = AtomicBool::new(false);
    let mut stream = futures::stream::iter(
        batches
            .into_iter()
            .take_while(|_| !ctx.cancelled() && !halted.load(Ordering::SeqCst))
            .map(|batch| process_batch::<R>(ctx, sink, batch, true)),
    )
    .buffered(concurrency);
    let mut fatal: Option<Error> = None;
    while let Some(res) = stream.next().await {
        match res {
            Err(Stop::Fault(p)) => return Err(Stop::Fault(p)),
            Err(Stop::Fatal(e)) => {
                halted.store(true, Ordering::SeqCst);
                fatal.get_or_insert(e);
            }
            Ok((results, batch_fatal)) => {
                for entry in results {
                    buf.ledger.done(entry.seq);
                    account::<R>(ctx, st, entry);
                }
                if let Some(e) = batch_fatal {
                    halted.store(true, Ordering::SeqCst);
                    fatal.get_or_insert(e);
                }
            }
        }
    }
    buf.ledger.settle();
    match fatal {
        Some(e) => Err(Stop::Fatal(e)),
        None => Ok(()),
    }
}

/// Counts and lists one record's outcome.
fn account<R: Routed>(ctx: &Ctx<'_>, st: &mut FlowState, entry: Entry) {
    let Entry {
        key, label, outcome, ..
    } = entry;
    let (action, target_id, changes, after) = match outcome {
        ItemOutcome::Planned(p) => {
            let action = action_of(p.verdict);
            (action, p.target_id, p.changes, p.after)
        }
        ItemOutcome::Written(w, changes) => {
            let action = match &w {
                WriteOutcome::Created { .. } => ChangeAction::Create,
                WriteOutcome::Updated { .. } => ChangeAction::Update,
                WriteOutcome::Unchanged { .. } => ChangeAction::Unchanged,
            };
            let changes = if action == ChangeAction::Update {
                changes
            } else {
                Vec::new()
            };
            (action, Some(w.target_id().to_owned()), changes, None)
        }
        ItemOutcome::Failed { line } => {
            st.report.quarantined += 1;
            st.quarantined.insert(key.clone());
            st.list(
                ctx,
                PlannedChange {
                    flow: ctx.flow,
                    kind: R::KIND,
                    key,
                    label,
                    action: ChangeAction::Quarantine,
                    target_id: None,
                    changes: Vec::new(),
                    after: None,
                    reason: Some(line.clone()),
                },
            );
            if st.report.errors.len() < ctx.ropts.record_limit {
                st.report.errors.push(line);
            }
            return;
        }
    };
    match action {
        ChangeAction::Create => st.report.created += 1,
        ChangeAction::Update => st.report.updated += 1,
        _ => st.report.unchanged += 1,
    }
    if st.quarantined.remove(&key) {
        st.report.released += 1;
    }
    st.list(
        ctx,
        PlannedChange {
            flow: ctx.flow,
            kind: R::KIND,
            key,
            label,
            action,
            target_id,
            changes,
            after,
            reason: None,
        },
    );
}

/// The outcomes of a batch, and the error that stops the flow if one came back.
type BatchResult = (Vec<Entry>, Option<Error>);

/// One batch through the sink: [`Sink::prepare`] for every record (plan and run alike), then
/// in a run [`write_batch`] of what prepare decided. With `park_failures`, a failed record
/// goes to quarantine; otherwise (a dependency) the caller parks the dependant record.
async fn process_batch<T: Routed>(
    ctx: &Ctx<'_>,
    sink: &dyn Sink<T>,
    batch: Vec<Staged<T>>,
    park_failures: bool,
) -> StopResult<BatchResult> {
    ctx.check_lease()?;
    let items: Vec<WriteItem<T>> = batch.iter().map(|p| p.item.clone()).collect();
    let mut prepared = sink.prepare(&items).await;
    drop(items);
    if prepared.len() != batch.len() {
        let msg = format!(
            "sink prepared {} results for {} records",
            prepared.len(),
            batch.len()
        );
        prepared.truncate(batch.len());
        prepared.resize_with(batch.len(), || Err(Error::protocol(msg.clone())));
    }
    let mut out = Vec::with_capacity(batch.len());
    let mut fatal: Option<Error> = None;
    let mut ready: Vec<(Staged<T>, Prepared)> = Vec::new();
    for (p, res) in batch.into_iter().zip(prepared) {
        match res {
            Ok(mut prep) => {
                if prep.verdict == Verdict::Create && prep.after.is_none() {
                    prep.after = Some(p.json.clone());
                }
                if ctx.plan {
                    let id = prep
                        .target_id
                        .clone()
                        .unwrap_or_else(|| format!("(new {})", p.label));
                    ctx.book.note(T::KIND, &p.key, id, source_id_of(&p.json));
                    // the plan keeps no carried state: it is never applied
                    prep.carry = None;
                    out.push(Entry {
                        seq: p.seq,
                        key: p.key,
                        label: p.label,
                        outcome: ItemOutcome::Planned(prep),
                    });
                } else {
                    ready.push((p, prep));
                }
            }
            Err(e) => {
                if e.is_connector_fault() {
                    fatal.get_or_insert(e);
                    continue;
                }
                let f = Failure::from_error(&e);
                let line = if park_failures {
                    park(ctx, T::KIND, &p.key, &p.label, Some(&p.json), &f).await?
                } else {
                    f.line(&p.label)
                };
                out.push(Entry {
                    seq: p.seq,
                    key: p.key,
                    label: p.label,
                    outcome: ItemOutcome::Failed { line },
                });
            }
        }
    }
    if !ready.is_empty() {
        let (written, write_fatal) = write_batch::<T>(ctx, sink, ready, park_failures).await?;
        out.extend(written);
        if let Some(e) = write_fatal {
            fatal.get_or_insert(e);
        }
    }
    Ok((out, fatal))
}

/// Writes what prepare decided for one batch: binds the unchanged records; journals the
/// intents of the others, applies them, journals outcomes and bindings. With
/// `park_failures`, a failed record goes to quarantine.
async fn write_batch<T: Routed>(
    ctx: &Ctx<'_>,
    sink: &dyn Sink<T>,
    ready: Vec<(Staged<T>, Prepared)>,
    park_failures: bool,
) -> StopResult<BatchResult> {
    ctx.check_lease()?;
    let mut out = Vec::with_capacity(ready.len());
    let mut batch: Vec<(Staged<T>, Prepared)> = Vec::with_capacity(ready.len());
    for (p, prep) in ready {
        if prep.verdict != Verdict::Unchanged {
            batch.push((p, prep));
            continue;
        }
        // Unchanged on the target: bind it, so the next run skips it by its hash.
        let target_id = prep.target_id.clone().unwrap_or_default();
        let b = binding_for(ctx, T::KIND, &p.key, &target_id, &p.json, &p.hash);
        ctx.store
            .complete_write(None, JournalOutcome::Unchanged, &b, &p.label)
            .await?;
        out.push(Entry {
            seq: p.seq,
            key: p.key,
            label: p.label,
            outcome: ItemOutcome::Written(WriteOutcome::Unchanged { target_id }, Vec::new()),
        });
    }
    if batch.is_empty() {
        return Ok((out, None));
    }
    let keys: Vec<String> = batch.iter().map(|(p, _)| p.key.clone()).collect();
    // One durable transaction for the batch's intents, committed before the call.
    let intents: Vec<NewIntent> = batch
        .iter()
        .map(|(p, prep)| NewIntent {
            run_id: ctx.run_id.to_owned(),
            pair: ctx.pair.name.clone(),
            kind: T::KIND,
            key: p.key.clone(),
            op: if prep.verdict == Verdict::Create {
                WriteOp::Create
            } else {
                WriteOp::Update
            },
            target_id: prep.target_id.clone(),
            payload: p.json.clone(),
        })
        .collect();
    let ids = ctx.store.journal_intents(&intents).await?;
    if ids.len() != batch.len() {
        return Err(Error::internal(format!(
            "state store journalled {} intents for {} records",
            ids.len(),
            batch.len()
        ))
        .into());
    }
    ctx.fault(FaultPoint::BeforeCall, T::KIND, &keys)?;
    let items: Vec<WriteItem<T>> = batch.iter().map(|(p, _)| p.item.clone()).collect();
    let prepared: Vec<Prepared> = batch.iter().map(|(_, prep)| prep.clone()).collect();
    let mut results = sink.apply(&items, &prepared).await;
    drop((items, prepared));
    ctx.fault(FaultPoint::AfterCallBeforeOutcome, T::KIND, &keys)?;
    // The batch's outcomes and bindings, stored in one transaction before anything is parked.
    let mut done = Vec::with_capacity(batch.len());
    let mut failed = Vec::new();
    let mut fatal: Option<Error> = None;
    if results.len() != batch.len() {
        let msg = format!(
            "sink returned {} results for {} records",
            results.len(),
            batch.len()
        );
        results.truncate(batch.len());
        results.resize_with(batch.len(), || Err(Error::protocol(msg.clone())));
    }
    for (((p, prep), id), res) in batch.into_iter().zip(ids).zip(results) {
        match res {
            Ok(w) => {
                let o = match &w {
                    WriteOutcome::Created { .. } => JournalOutcome::Created,
                    WriteOutcome::Updated { .. } => JournalOutcome::Updated,
                    WriteOutcome::Unchanged { .. } => JournalOutcome::Unchanged,
                };
                let binding = binding_for(ctx, T::KIND, &p.key, w.target_id(), &p.json, &p.hash);
                done.push(WriteCompletion::Bound {
                    journal_id: Some(id),
                    outcome: o,
                    binding,
                    label: p.label.clone(),
                });
                out.push(Entry {
                    seq: p.seq,
                    key: p.key,
                    label: p.label,
                    outcome: ItemOutcome::Written(w, prep.changes),
                });
            }
            Err(e) => {
                let f = Failure::from_error(&e);
                // Unknown outcome: the intent stays open, resolved by lookup before a rewrite.
                let uncertain = matches!(
                    e,
                    Error::Uncertain { .. } | Error::Protocol { .. } | Error::Internal { .. }
                );
                if !uncertain {
                    let o = if e.is_record_fault() {
                        JournalOutcome::Rejected
                    } else {
                        JournalOutcome::Failed
                    };
                    done.push(WriteCompletion::Outcome {
                        journal_id: id,
                        outcome: o,
                        target_id: None,
                        detail: Some(f.line(&p.label)),
                    });
                }
                if e.is_connector_fault() {
                    fatal.get_or_insert(e);
                    continue;
                }
                failed.push((p, f));
            }
        }
    }
    ctx.store.complete_writes(&done).await?;
    for (p, f) in failed {
        let line = if park_failures {
            park(ctx, T::KIND, &p.key, &p.label, Some(&p.json), &f).await?
        } else {
            f.line(&p.label)
        };
        out.push(Entry {
            seq: p.seq,
            key: p.key,
            label: p.label,
            outcome: ItemOutcome::Failed { line },
        });
    }
    ctx.fault(FaultPoint::AfterOutcome, T::KIND, &keys)?;
    Ok((out, fatal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_in_flight_is_the_smaller_limit() {
        assert_eq!(batches_in_flight(4, usize::MAX), 4);
        assert_eq!(batches_in_flight(4, 1), 1);
        assert_eq!(batches_in_flight(2, 3), 2);
        assert_eq!(batches_in_flight(0, 0), 1);
    }

    /// The ledger's tracker equals a tracker fed, in read order, the leading records that are
    /// done, whatever the order records are done or forgotten in.
    #[test]
    fn ledger_tracks_the_done_prefix() {
        let t0 = Utc::now();
        let times = [
            None,
            Some(t0),
            Some(t0 + TimeDelta::seconds(1)),
            Some(t0 + TimeDelta::seconds(2)),
        ];
        let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        for _ in 0..5000 {
            let len = 1 + next(8);
            // mostly ordered change times, sometimes not
            let mut ms: Vec<Option<DateTime<Utc>>> = (0..len).map(|_| times[next(4)]).collect();
            if next(3) > 0 {
                ms.sort();
            }
            let mut ledger = Ledger::default();
            // per record: done (true), waiting (false) or forgotten (None)
            let mut state: Vec<Option<bool>> = Vec::new();
            let mut seqs = Vec::new();
            for m in &ms {
                let seq = ledger.waiting(*m);
                seqs.push(seq);
                if next(2) == 0 {
                    ledger.done(seq);
                    state.push(Some(true));
                } else {
                    state.push(Some(false));
                }
                ledger.settle();
            }
            for _ in 0..len {
                let i = next(len);
                match (state[i], next(4)) {
                    (Some(false), 0) => {
                        ledger.forget(seqs[i]);
                        state[i] = None;
                    }
                    (Some(false), _) => {
                        ledger.done(seqs[i]);
                        state[i] = Some(true);
                    }
                    _ => {}
                }
                if next(2) == 0 {
                    ledger.settle();
                }
                let mut expect = Tracker::default();
                let mut all = true;
                for (m, s) in ms.iter().zip(&state) {
                    match s {
                        Some(true) => expect.advance(*m),
                        None => {}
                        Some(false) => {
                            all = false;
                            break;
                        }
                    }
                }
                let mut copy = Ledger {
                    tracker: ledger.tracker,
                    rest: ledger
                        .rest
                        .iter()
                        .map(|s| match s {
                            Slot::Waiting(a, b) => Slot::Waiting(*a, *b),
                            Slot::Done(a, b) => Slot::Done(*a, *b),
                        })
                        .collect(),
                    next: ledger.next,
                };
                copy.settle();
                let got = copy.tracker;
                assert_eq!(copy.all_done(), all, "{ms:?} {state:?}");
                assert_eq!(got.unordered, expect.unordered, "{ms:?} {state:?}");
                if !expect.unordered {
                    assert_eq!(got.last, expect.last, "{ms:?} {state:?}");
                }
                assert!(copy.rest.len() <= 2 * state.iter().filter(|s| **s == Some(false)).count() + 1);
            }
        }
    }
}
