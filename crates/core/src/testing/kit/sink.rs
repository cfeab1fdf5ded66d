//! Checks of every sink: writing the samples twice creates nothing the second time (and a
//! target that cannot deduplicate finds its records by natural key).

use std::sync::Arc;

use super::capture::guarded;
use super::{Conformance, ConformanceReport};
use crate::connector::{Dependency, Endpoints, Routed, Sink, WriteItem, WriteOutcome};
use crate::error::{Error, Result};
use crate::model::{Customer, Record};

impl Conformance {
    pub(super) async fn sink_check<R: Routed>(
        &self,
        report: &mut ConformanceReport,
        dispatch: &tracing::Dispatch,
        e: &Endpoints,
        samples: &[R],
    ) {
        let Some(sink) = R::sink_of(e) else {
            return;
        };
        let name = format!("write_twice({})", R::KIND);
        if samples.is_empty() {
            report.push(name, Err("no sample records given for this sink".into()));
            return;
        }
        let mut items = Vec::new();
        for r in samples {
            let mut item = WriteItem::new(r.clone());
            for dep in sink.dependencies(r) {
                if let Dependency::Customer(c) = dep {
                    let Some(cs) = Customer::sink_of(e) else {
                        report.push(
                            name,
                            Err("order sink needs customers but there is no customer sink".into()),
                        );
                        return;
                    };
                    let ci = WriteItem::new(*c);
                    match guarded(dispatch, async move { cs.write(&ci).await }).await {
                        Ok(Ok(o)) => {
                            item.refs.insert("customer".into(), o.target_id().to_owned());
                        }
                        Ok(Err(err)) => {
                            report.push(name, Err(format!("creating the buyer failed: {err}")));
                            return;
                        }
                        Err(p) => {
                            report.push(name, Err(p));
                            return;
                        }
                    }
                }
            }
            items.push(item);
        }
        let s = sink.clone();
        let batch = items.clone();
        let first = match guarded(dispatch, async move { write_in_batches(s, batch).await }).await {
            Ok(r) => r,
            Err(p) => {
                report.push(name, Err(p));
                return;
            }
        };
        let mut ids = Vec::new();
        for (item, res) in items.iter().zip(&first) {
            match res {
                Ok(o) => ids.push(o.target_id().to_owned()),
                Err(err) => {
                    report.push(
                        name,
                        Err(format!("first write of {} failed: {err}", item.record.label())),
                    );
                    return;
                }
            }
        }
        // a target that cannot deduplicate gets the ids (as the engine does from bindings) and
        // must find its records by natural key; the others must deduplicate by themselves
        let eo = sink.needs_exactly_once();
        let mut second_items = items.clone();
        if eo {
            for (item, id) in second_items.iter_mut().zip(&ids) {
                item.target_id = Some(id.clone());
            }
        }
        let s = sink.clone();
        let second = match guarded(dispatch, async move { write_in_batches(s, second_items).await }).await {
            Ok(r) => r,
            Err(p) => {
                report.push(name, Err(p));
                return;
            }
        };
        let mut problems = Vec::new();
        for (item, res) in items.iter().zip(&second) {
            match res {
                Ok(WriteOutcome::Created { target_id }) => problems.push(format!(
                    "{} was created twice (second id {target_id})",
                    item.record.label()
                )),
                Ok(_) => {}
                Err(err) => problems.push(format!("second write of {} failed: {err}", item.record.label())),
            }
        }
        if eo {
            for (item, id) in items.iter().zip(&ids) {
                let s = sink.clone();
                let r = item.record.clone();
                match guarded(dispatch, async move { s.lookup(&r).await }).await {
                    Ok(Ok(Some(found))) if &found == id => {}
                    Ok(Ok(other)) => problems.push(format!(
                        "lookup of {} found {other:?}, expected {id}",
                        item.record.label()
                    )),
                    Ok(Err(err)) => problems.push(format!("lookup of {} failed: {err}", item.record.label())),
                    Err(p) => problems.push(p),
                }
            }
        }
        report.push(
            name,
            if problems.is_empty() {
                Ok(format!("{} record(s), second write created nothing", items.len()))
            } else {
                Err(problems.join("; "))
            },
        );
    }
}

async fn write_in_batches<R: Record>(
    sink: Arc<dyn Sink<R>>,
    items: Vec<WriteItem<R>>,
) -> Vec<Result<WriteOutcome>> {
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(sink.batch_size().max(1)) {
        let mut res = sink.write_batch(chunk).await;
        res.resize_with(chunk.len(), || {
            Err(Error::protocol("write_batch returned too few results"))
        });
        out.extend(res);
    }
    out
}
