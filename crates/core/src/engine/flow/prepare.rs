//! Preparing: the engine's own checks of a record (validation, comparison, dependencies) before the sink's prepare.

use super::{
    flush, park, process_batch, Bound, Buffer, Ctx, Failure, FlowState, Gate, ItemOutcome, Staged, Stop,
    StopResult,
};
use crate::connector::{Dependency, Routed, Sink, Verdict, WriteItem, WriteOutcome};
use crate::diff::{record_hash, record_json};
use crate::engine::{ChangeAction, PlannedChange};
use crate::error::Rejection;
use crate::model::{Customer, Kind, Record};

/// Validates, compares, resolves dependencies and writes `records` at once (retries of
/// quarantined records); stops early only when the run is cancelled.
pub(super) async fn process<R: Routed>(
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
pub(super) async fn stage<R: Routed>(
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
pub(super) async fn check<R: Routed>(
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
    let binding =
        crate::engine::succession::binding_or_predecessor(ctx.store, &ctx.pair.name, &record, &key).await?;
    if let Some(reason) = crate::engine::succession::skip_reason(&record, binding.as_ref()) {
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
pub(super) async fn bound(ctx: &Ctx<'_>, kind: Kind, key: &str) -> StopResult<Option<Bound>> {
    if let Some(b) = ctx.store.binding(&ctx.pair.name, kind, key).await? {
        return Ok(Some((b.target_id, b.source_id)));
    }
    Ok(if ctx.plan { ctx.book.get(kind, key) } else { None })
}

/// The target id of an order's buyer: from the customer binding, or written through the
/// target's customer sink (prepare, then apply, as any record; when allowed). In a plan,
/// prepare only. `Ok(Err(reason))` when it cannot be had.
pub(super) async fn resolve_customer(
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
    let gate = Gate::for_sink(ctx, csink.as_ref());
    let (mut out, fatal) = process_batch::<Customer>(ctx, csink.as_ref(), &gate, vec![staged], false).await?;
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
            let id = p
                .target_id
                .clone()
                .unwrap_or_else(|| crate::connector::planned_id(&label));
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

pub(super) fn action_of(v: Verdict) -> ChangeAction {
    match v {
        Verdict::Create => ChangeAction::Create,
        Verdict::Update => ChangeAction::Update,
        Verdict::Unchanged => ChangeAction::Unchanged,
    }
}
