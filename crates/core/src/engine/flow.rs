//! The generic flow pipeline: one record kind from a source to a sink.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use serde_json::Value;

use super::diff::{diff_json, record_hash, record_json};
use super::{
    ChangeAction, FaultPoint, Flow, FlowOptions, FlowReport, FlowStatus, Pair, PlannedChange, Progress,
    RunOptions,
};
use crate::connector::{Connector, Dependency, ReadRequest, Routed, Sink, WriteItem, WriteOutcome};
use crate::error::{Error, Rejection};
use crate::model::{Customer, Kind, Record};
use crate::state::{Binding, JournalOutcome, NewIntent, QuarantineEntry, StateStore, WriteOp};

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
    /// Plan mode: customers already planned for creation.
    planned_customers: HashSet<String>,
}

/// A record ready to be written.
struct Prepared<T> {
    idx: usize,
    key: String,
    label: String,
    json: Value,
    hash: String,
    op: WriteOp,
    item: WriteItem<T>,
    before: Option<Value>,
}

/// What became of one write.
enum ItemOutcome {
    Written(WriteOutcome),
    Failed { line: String },
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
                class: e.class().into(),
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
    fn quarantine_line(&mut self, ctx: &Ctx<'_>, key: &str, label: &str, line: String) {
        self.report.quarantined += 1;
        self.quarantined.insert(key.to_owned());
        if ctx.plan {
            self.report.plan.push(PlannedChange {
                flow: ctx.flow,
                kind: ctx.flow.kind(),
                key: key.to_owned(),
                label: label.to_owned(),
                action: ChangeAction::Quarantine,
                target_id: None,
                changes: Vec::new(),
                after: None,
                reason: Some(line.clone()),
            });
        }
        self.report.errors.push(line);
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
        planned_customers: HashSet::new(),
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
    let mut tracker = Tracker::default();
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
                checkpoint(ctx, &tracker, stored).await?;
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
        let records = dedupe(records);
        let n = records.len();
        let order: Vec<Option<DateTime<Utc>>> = records.iter().map(Record::modified).collect();
        let done = process::<R>(ctx, st, sink.as_ref(), records).await?;
        tracker.advance(&order[..done]);
        st.progress(ctx, false);
        if done < n || (page.next.is_some() && ctx.cancelled()) {
            ctx.check_lease()?;
            let stored_at = checkpoint(ctx, &tracker, stored).await?;
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

/// Tracks how far the read is done in change-time order, for a checkpoint when a run stops
/// in the middle. Only a source that returns records in non-decreasing change time gives a
/// safe mid-read checkpoint; otherwise the cursor stays where it was.
#[derive(Default)]
struct Tracker {
    last: Option<DateTime<Utc>>,
    unordered: bool,
}

impl Tracker {
    fn advance(&mut self, done: &[Option<DateTime<Utc>>]) {
        for m in done {
            match (m, self.last) {
                (Some(m), Some(l)) if *m >= l => self.last = Some(*m),
                (Some(m), None) => self.last = Some(*m),
                _ => self.unordered = true,
            }
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

/// Validates, compares, resolves dependencies and writes `records` (in read order). Returns
/// how many leading records are done (written, unchanged or quarantined): all of them unless
/// the run was cancelled.
async fn process<R: Routed>(
    ctx: &Ctx<'_>,
    st: &mut FlowState,
    sink: &dyn Sink<R>,
    records: Vec<R>,
) -> StopResult<usize> {
    let n = records.len();
    let mut done = vec![false; n];
    let mut ready: Vec<Prepared<R>> = Vec::new();
    for (idx, record) in records.into_iter().enumerate() {
        if ctx.cancelled() {
            break;
        }
        if let Some(p) = prepare(ctx, st, sink, idx, record).await? {
            ready.push(p);
        } else {
            done[idx] = true;
        }
    }

    if ctx.plan {
        for p in ready {
            done[p.idx] = true;
            let (action, changes, after) = match (&p.op, &p.before) {
                (WriteOp::Update, Some(before)) => {
                    st.report.updated += 1;
                    (ChangeAction::Update, diff_json(before, &p.json), None)
                }
                _ => {
                    st.report.created += 1;
                    (ChangeAction::Create, Vec::new(), Some(p.json.clone()))
                }
            };
            st.report.plan.push(PlannedChange {
                flow: ctx.flow,
                kind: R::KIND,
                key: p.key,
                label: p.label,
                action,
                target_id: p.item.target_id,
                changes,
                after,
                reason: None,
            });
        }
        return Ok(done.iter().take_while(|d| **d).count());
    }

    // Exactly once: before creating what the target cannot deduplicate, look it up.
    let mut to_write = Vec::with_capacity(ready.len());
    for mut p in ready {
        if p.op == WriteOp::Create && sink.needs_exactly_once() {
            match sink.lookup(&p.item.record).await {
                Ok(Some(id)) => {
                    p.item.target_id = Some(id);
                    p.op = WriteOp::Update;
                }
                Ok(None) => {}
                Err(e) if e.is_connector_fault() => return Err(Stop::Fatal(e)),
                Err(e) => {
                    let f = Failure::from_error(&e);
                    let line = park(ctx, R::KIND, &p.key, &p.label, Some(&p.json), &f).await?;
                    st.quarantine_line(ctx, &p.key, &p.label, line);
                    done[p.idx] = true;
                    continue;
                }
            }
        }
        to_write.push(p);
    }

    let size = sink.batch_size().max(1);
    let mut batches: Vec<Vec<Prepared<R>>> = Vec::new();
    let mut it = to_write.into_iter().peekable();
    while it.peek().is_some() {
        batches.push(it.by_ref().take(size).collect());
    }
    let concurrency = ctx.fopts.concurrency.max(1);
    // Set when a batch reports an error that stops the flow: launch no further batches.
    let halted = AtomicBool::new(false);
    let mut stream = futures::stream::iter(
        batches
            .into_iter()
            .take_while(|_| !ctx.cancelled() && !halted.load(Ordering::SeqCst))
            .map(|batch| write_batch::<R>(ctx, sink, batch, true)),
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
                for (idx, key, outcome) in results {
                    done[idx] = true;
                    apply(st, &key, outcome);
                }
                if let Some(e) = batch_fatal {
                    halted.store(true, Ordering::SeqCst);
                    fatal.get_or_insert(e);
                }
            }
        }
    }
    if let Some(e) = fatal {
        return Err(Stop::Fatal(e));
    }
    Ok(done.iter().take_while(|d| **d).count())
}

fn apply(st: &mut FlowState, key: &str, outcome: ItemOutcome) {
    match outcome {
        ItemOutcome::Written(w) => {
            match w {
                WriteOutcome::Created { .. } => st.report.created += 1,
                WriteOutcome::Updated { .. } => st.report.updated += 1,
                WriteOutcome::Unchanged { .. } => st.report.unchanged += 1,
            }
            if st.quarantined.remove(key) {
                st.report.released += 1;
            }
        }
        ItemOutcome::Failed { line, .. } => {
            st.report.quarantined += 1;
            st.quarantined.insert(key.to_owned());
            st.report.errors.push(line);
        }
    }
}

/// Checks one record; `None` when it is done without a write (unchanged or quarantined).
async fn prepare<R: Routed>(
    ctx: &Ctx<'_>,
    st: &mut FlowState,
    sink: &dyn Sink<R>,
    idx: usize,
    record: R,
) -> StopResult<Option<Prepared<R>>> {
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
    let binding = ctx.store.binding(&ctx.pair.name, R::KIND, &key).await?;
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
                st.report.plan.push(PlannedChange {
                    flow: ctx.flow,
                    kind: R::KIND,
                    key,
                    label,
                    action: ChangeAction::Unchanged,
                    target_id: Some(b.target_id.clone()),
                    changes: Vec::new(),
                    after: None,
                    reason: None,
                });
            }
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
                if let Some(b) = ctx
                    .store
                    .binding(&ctx.pair.name, Kind::Product, sku.as_str())
                    .await?
                {
                    // The products flow writes to the shop: its target ids are shop ids and its
                    // source ids accounting ids.
                    let id = if ctx.flow.from_accounting() {
                        Some(b.target_id)
                    } else {
                        b.source_id
                    };
                    if let Some(id) = id {
                        item.refs.insert(format!("sku:{sku}"), id);
                    }
                }
            }
        }
    }
    let (op, before) = match binding {
        Some(b) => {
            item.target_id = Some(b.target_id);
            item.previous = serde_json::from_value(b.payload.clone()).ok();
            (WriteOp::Update, Some(b.payload))
        }
        None => (WriteOp::Create, None),
    };
    Ok(Some(Prepared {
        idx,
        key,
        label,
        json,
        hash,
        op,
        item,
        before,
    }))
}

/// The target id of an order's buyer: from the customer binding, or created through the
/// target's customer sink (when allowed). `Ok(Err(reason))` when it cannot be had.
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
    if let Some(b) = ctx.store.binding(&ctx.pair.name, Kind::Customer, &c.key).await? {
        return Ok(Ok(b.target_id));
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
    if ctx.plan {
        if st.planned_customers.insert(c.key.clone()) {
            st.report.dependencies_created += 1;
            st.report.plan.push(PlannedChange {
                flow: ctx.flow,
                kind: Kind::Customer,
                key: c.key.clone(),
                label: label.clone(),
                action: ChangeAction::Create,
                target_id: None,
                changes: Vec::new(),
                after: Some(json),
                reason: None,
            });
        }
        return Ok(Ok(format!("(new {label})")));
    }
    let mut item = WriteItem::new(c.clone());
    let mut op = WriteOp::Create;
    if csink.needs_exactly_once() {
        match csink.lookup(c).await {
            Ok(Some(id)) => {
                item.target_id = Some(id);
                op = WriteOp::Update;
            }
            Ok(None) => {}
            Err(e) if e.is_connector_fault() => return Err(Stop::Fatal(e)),
            Err(e) => return Ok(Err(format!("{label}: lookup failed: {e}"))),
        }
    }
    let p = Prepared {
        idx: 0,
        key: c.key.clone(),
        label: label.clone(),
        json,
        hash,
        op,
        item,
        before: None,
    };
    let (mut out, fatal) = write_batch::<Customer>(ctx, csink.as_ref(), vec![p], false).await?;
    if let Some(e) = fatal {
        return Err(Stop::Fatal(e));
    }
    match out.pop() {
        Some((_, _, ItemOutcome::Written(w))) => {
            if matches!(w, WriteOutcome::Created { .. }) {
                st.report.dependencies_created += 1;
            }
            Ok(Ok(w.target_id().to_owned()))
        }
        Some((_, _, ItemOutcome::Failed { line, .. })) => {
            Ok(Err(format!("could not create the customer: {line}")))
        }
        None => Ok(Err(format!("{label}: the sink returned no result"))),
    }
}

/// The outcomes of a batch, and the error that stops the flow if one came back.
type BatchResult = (Vec<(usize, String, ItemOutcome)>, Option<Error>);

/// Writes one batch: intents, the call, outcomes and bindings. With `park_failures`, a failed
/// record goes to quarantine; otherwise (a dependency) the caller parks the dependant record.
async fn write_batch<T: Routed>(
    ctx: &Ctx<'_>,
    sink: &dyn Sink<T>,
    batch: Vec<Prepared<T>>,
    park_failures: bool,
) -> StopResult<BatchResult> {
    ctx.check_lease()?;
    let keys: Vec<String> = batch.iter().map(|p| p.key.clone()).collect();
    let mut ids = Vec::with_capacity(batch.len());
    for p in &batch {
        let id = ctx
            .store
            .journal_intent(&NewIntent {
                run_id: ctx.run_id.to_owned(),
                pair: ctx.pair.name.clone(),
                kind: T::KIND,
                key: p.key.clone(),
                op: p.op,
                target_id: p.item.target_id.clone(),
                payload: p.json.clone(),
            })
            .await?;
        ids.push(id);
    }
    ctx.fault(FaultPoint::BeforeCall, T::KIND, &keys)?;
    let items: Vec<WriteItem<T>> = batch.iter().map(|p| p.item.clone()).collect();
    let mut results = sink.write_batch(&items).await;
    ctx.fault(FaultPoint::AfterCallBeforeOutcome, T::KIND, &keys)?;
    let mut out = Vec::with_capacity(batch.len());
    let mut fatal: Option<Error> = None;
    if results.len() != batch.len() {
        let msg = format!(
            "sink returned {} results for {} records",
            results.len(),
            batch.len()
        );
        results.resize_with(batch.len(), || Err(Error::protocol(msg.clone())));
    }
    for ((p, id), res) in batch.into_iter().zip(ids).zip(results) {
        match res {
            Ok(w) => {
                let o = match &w {
                    WriteOutcome::Created { .. } => JournalOutcome::Created,
                    WriteOutcome::Updated { .. } => JournalOutcome::Updated,
                    WriteOutcome::Unchanged { .. } => JournalOutcome::Unchanged,
                };
                let b = binding_for(ctx, T::KIND, &p.key, w.target_id(), &p.json, &p.hash);
                ctx.store.complete_write(Some(id), o, &b, &p.label).await?;
                out.push((p.idx, p.key, ItemOutcome::Written(w)));
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
                    ctx.store
                        .journal_outcome(id, o, None, Some(&f.line(&p.label)))
                        .await?;
                }
                if e.is_connector_fault() {
                    fatal.get_or_insert(e);
                    continue;
                }
                let line = if park_failures {
                    park(ctx, T::KIND, &p.key, &p.label, Some(&p.json), &f).await?
                } else {
                    f.line(&p.label)
                };
                out.push((p.idx, p.key, ItemOutcome::Failed { line }));
            }
        }
    }
    ctx.fault(FaultPoint::AfterOutcome, T::KIND, &keys)?;
    Ok((out, fatal))
}
