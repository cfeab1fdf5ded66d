//! Writing: batches to the sink at bounded concurrency, and accounting of their outcomes.

use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use tokio::sync::Semaphore;

use super::prepare::action_of;
use super::quarantine::{park, Failure};
use super::{
    binding_for, source_id_of, Buffer, Ctx, Entry, FlowState, ItemOutcome, Staged, Stop, StopResult,
};
use crate::connector::{Prepared, Routed, Sink, Verdict, WriteItem, WriteOutcome};
use crate::engine::{ChangeAction, FaultPoint, PlannedChange};
use crate::error::Error;
use crate::state::{JournalOutcome, NewIntent, WriteCompletion, WriteOp};

/// How many sink calls run at once: the flow's `concurrency`, capped by what the sink allows
/// ([`Sink::concurrency`]); never less than one.
pub(super) fn calls_in_flight(flow: usize, sink: usize) -> usize {
    flow.min(sink).max(1)
}

/// The engine's schedule of one sink's calls: every [`Sink::prepare`] and [`Sink::apply`]
/// holds a permit while it runs, so no more than [`calls_in_flight`] calls are in flight,
/// across all batches of a flush.
pub(super) struct Gate(Semaphore);

impl Gate {
    /// A gate for `sink` under the flow's options.
    pub(super) fn for_sink<R: Routed>(ctx: &Ctx<'_>, sink: &dyn Sink<R>) -> Gate {
        Gate(Semaphore::new(calls_in_flight(
            ctx.fopts.concurrency,
            sink.concurrency(),
        )))
    }

    /// Waits for a free slot; the slot is held until the returned guard is dropped.
    async fn slot(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        // the semaphore is never closed, so this only waits
        self.0.acquire().await.ok()
    }
}

/// Hands the buffered records to the sink, oldest first, in batches of its size: all of
/// them, or (`all` false) only as many full batches as there are, the rest waiting for the
/// next page. Batches run side by side, their sink calls scheduled by a [`Gate`]; none is
/// started once the run is cancelled (those records stay not done). The same in a plan, which
/// only prepares.
pub(super) async fn flush<R: Routed>(
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
    let concurrency = calls_in_flight(ctx.fopts.concurrency, sink.concurrency());
    let gate = Gate::for_sink(ctx, sink);
    // Set when a batch reports an error that stops the flow: launch no further batches.
    let halted = AtomicBool::new(false);
    let mut stream = futures::stream::iter(
        batches
            .into_iter()
            .take_while(|_| !ctx.cancelled() && !halted.load(Ordering::SeqCst))
            .map(|batch| process_batch::<R>(ctx, sink, &gate, batch, true)),
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
pub(super) fn account<R: Routed>(ctx: &Ctx<'_>, st: &mut FlowState, entry: Entry) {
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
pub(super) type BatchResult = (Vec<Entry>, Option<Error>);

/// One batch through the sink: [`Sink::prepare`] for every record (plan and run alike), then
/// in a run [`write_batch`] of what prepare decided, each call through `gate`. With
/// `park_failures`, a failed record goes to quarantine; otherwise (a dependency) the caller
/// parks the dependant record.
pub(super) async fn process_batch<T: Routed>(
    ctx: &Ctx<'_>,
    sink: &dyn Sink<T>,
    gate: &Gate,
    batch: Vec<Staged<T>>,
    park_failures: bool,
) -> StopResult<BatchResult> {
    ctx.check_lease()?;
    let items: Vec<WriteItem<T>> = batch.iter().map(|p| p.item.clone()).collect();
    let mut prepared = {
        let _slot = gate.slot().await;
        sink.prepare(&items).await
    };
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
                        .unwrap_or_else(|| crate::connector::planned_id(&p.label));
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
        let (written, write_fatal) = write_batch::<T>(ctx, sink, gate, ready, park_failures).await?;
        out.extend(written);
        if let Some(e) = write_fatal {
            fatal.get_or_insert(e);
        }
    }
    Ok((out, fatal))
}

/// Writes what prepare decided for one batch: binds the unchanged records; journals the
/// intents of the others, applies them ([`Sink::apply_size`] records per call, the calls side
/// by side through `gate`), journals outcomes and bindings. With `park_failures`, a failed
/// record goes to quarantine.
pub(super) async fn write_batch<T: Routed>(
    ctx: &Ctx<'_>,
    sink: &dyn Sink<T>,
    gate: &Gate,
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
    let results = apply_in_calls(sink, gate, &items, &prepared).await;
    drop((items, prepared));
    ctx.fault(FaultPoint::AfterCallBeforeOutcome, T::KIND, &keys)?;
    // The batch's outcomes and bindings, stored in one transaction before anything is parked.
    let mut done = Vec::with_capacity(batch.len());
    let mut failed = Vec::new();
    let mut fatal: Option<Error> = None;
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

/// [`Sink::apply`] of `items`, [`Sink::apply_size`] per call, the calls side by side as far as
/// `gate` lets them; one result per item, in order (a call that answers for fewer or more
/// records than it was given is a protocol error for the missing ones).
async fn apply_in_calls<T: Routed>(
    sink: &dyn Sink<T>,
    gate: &Gate,
    items: &[WriteItem<T>],
    prepared: &[Prepared],
) -> Vec<crate::Result<WriteOutcome>> {
    let size = sink.apply_size().max(1);
    let calls = items
        .chunks(size)
        .zip(prepared.chunks(size))
        .map(|(items, prepared)| async move {
            let mut results = {
                let _slot = gate.slot().await;
                sink.apply(items, prepared).await
            };
            if results.len() != items.len() {
                let msg = format!(
                    "sink returned {} results for {} records",
                    results.len(),
                    items.len()
                );
                results.truncate(items.len());
                results.resize_with(items.len(), || Err(Error::protocol(msg.clone())));
            }
            results
        });
    futures::future::join_all(calls)
        .await
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_in_flight_is_the_smaller_limit() {
        assert_eq!(calls_in_flight(4, usize::MAX), 4);
        assert_eq!(calls_in_flight(4, 1), 1);
        assert_eq!(calls_in_flight(2, 3), 2);
        assert_eq!(calls_in_flight(0, 0), 1);
    }
}
