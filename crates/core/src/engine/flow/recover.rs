//! Recovery: intents without outcome (a crash, an uncertain write) resolved by lookup.

use super::{binding_for, Ctx, FlowState, Stop, StopResult};
use crate::connector::{Routed, Sink};
use crate::diff::record_hash;
use crate::state::{JournalOutcome, WriteOp};

/// Resolves intents without outcome (a crash, or an uncertain write) by looking the record up.
pub(super) async fn resolve_intents<T: Routed>(
    ctx: &Ctx<'_>,
    st: &mut FlowState,
    sink: &dyn Sink<T>,
) -> StopResult<()> {
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
