//! Reading: the flow loop that pages the source and feeds records to the checks and the sink.

use std::collections::HashMap;

use chrono::TimeDelta;

use super::{
    also_failed, checkpoint, flush, park, process, resolve_intents, stage, Buffer, Ctx, Failure, FlowState,
    Scope, Stop, StopResult,
};
use crate::connector::{ReadRequest, Routed};
use crate::engine::FlowStatus;
use crate::error::Error;
use crate::flows::Flow;
use crate::model::{Customer, Record};

pub(super) async fn flow_inner<R: Routed>(
    ctx: &Ctx<'_>,
    scope: Scope<'_>,
    st: &mut FlowState,
) -> StopResult<()> {
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
pub(super) fn dedupe<R: Record>(records: Vec<R>) -> Vec<R> {
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
