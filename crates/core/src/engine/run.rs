//! Engine entry points: lease, flow dispatch, reports.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use super::flow::{run_flow, Ctx, PlanBook, Scope, Stop};
use super::{Engine, Flow, FlowOptions, FlowReport, Mode, Pair, Requests, RunOptions, RunReport};
use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::flows::Impossible;
use crate::model::{Customer, OpenAmount, Order, PaymentStatus, Product, StockLevel};
use crate::state::RunRecord;

fn side(
    flow: Flow,
    pair: &Pair,
) -> (
    &Arc<dyn Connector>,
    &'static str,
    &Arc<dyn Connector>,
    &'static str,
) {
    if flow.from_accounting() {
        (&pair.accounting, "accounting", &pair.shop, "shop")
    } else {
        (&pair.shop, "shop", &pair.accounting, "accounting")
    }
}

/// Refuses, before any I/O, a flow whose source or sink is missing.
fn check_flows(pair: &Pair, flows: &[(Flow, FlowOptions)], need_source: bool) -> Result<()> {
    let acc = pair.accounting.endpoints();
    let shop = pair.shop.endpoints();
    for (flow, _) in flows {
        let (src_c, src_side, dst_c, dst_side) = side(*flow, pair);
        let (src, dst) = if flow.from_accounting() {
            (&acc, &shop)
        } else {
            (&shop, &acc)
        };
        // Without `need_source` (retrying quarantined records) the source is not read, so
        // only the sink counts. Orders' create_customers is not checked here (the runner
        // refuses it from the descriptors before building the connectors).
        let reads = if need_source {
            src.kinds().0
        } else {
            vec![flow.kind()]
        };
        let writes = dst.kinds().1;
        let path = format!("pairs.{}.flows.{}", pair.name, flow);
        match crate::flows::possible(*flow, &reads, &writes, false) {
            Ok(()) => {}
            Err(Impossible::CannotRead) => {
                return Err(Error::config(
                    path,
                    format!(
                        "flow {flow} reads {} from the {src_side} connector {}, which cannot read them",
                        flow.kind(),
                        src_c.name()
                    ),
                ));
            }
            Err(Impossible::CannotWrite | Impossible::CannotCreateCustomers) => {
                return Err(Error::config(
                    path,
                    format!(
                        "flow {flow} writes {} to the {dst_side} connector {}, which cannot write them",
                        flow.kind(),
                        dst_c.name()
                    ),
                ));
            }
        }
    }
    Ok(())
}

impl Engine {
    /// Runs `flows` of `pair` (in the given order). In [`Mode::Run`] it takes the pair's lease
    /// first (`Error::Conflict` naming the holder if another process has it) and refuses
    /// (`Error::Config`) a flow whose source or sink endpoint is missing, before any I/O.
    ///
    /// A flow stopped by an error (auth, config, a failed read) is reported in its
    /// [`FlowReport::fatal`]; the other flows still run. `Err` means the run as a whole could
    /// not happen (lease taken, config, state store) or was aborted by an injected fault.
    pub async fn run(
        &self,
        pair: &Pair,
        flows: &[(Flow, FlowOptions)],
        opts: &RunOptions,
    ) -> Result<RunReport> {
        check_flows(pair, flows, true)?;
        self.execute(pair, flows, opts, Scope::Normal).await
    }

    /// Retries quarantined records of `pair` now, ignoring their backoff: all, one flow's, or
    /// one record (`key`: its natural key or its label). Takes the lease like [`Engine::run`];
    /// does not read the sources or move cursors. Success removes a record from quarantine.
    pub async fn retry_quarantined(
        &self,
        pair: &Pair,
        flow: Option<Flow>,
        key: Option<&str>,
        opts: &RunOptions,
    ) -> Result<RunReport> {
        self.retry_quarantined_with(pair, flow, key, &[], opts).await
    }

    /// [`Engine::retry_quarantined`] with the flows' own options (backoff, concurrency,
    /// create_customers); flows not listed use [`FlowOptions::default`].
    pub async fn retry_quarantined_with(
        &self,
        pair: &Pair,
        flow: Option<Flow>,
        key: Option<&str>,
        flow_options: &[(Flow, FlowOptions)],
        opts: &RunOptions,
    ) -> Result<RunReport> {
        let entries = self.store.quarantined(&pair.name, flow).await?;
        let mut flows: Vec<Flow> = entries
            .iter()
            .filter(|e| key.is_none_or(|k| e.key == k || e.label == k))
            .map(|e| e.flow)
            .collect();
        flows.sort();
        flows.dedup();
        if let (Some(k), true) = (key, flows.is_empty()) {
            return Err(Error::NotFound {
                what: format!("quarantined record {k:?} of pair {}", pair.name),
            });
        }
        let flows: Vec<(Flow, FlowOptions)> = flows
            .into_iter()
            .map(|f| {
                let o = flow_options
                    .iter()
                    .find(|(g, _)| *g == f)
                    .map(|(_, o)| o.clone())
                    .unwrap_or_default();
                (f, o)
            })
            .collect();
        check_flows(pair, &flows, false)?;
        self.execute(pair, &flows, opts, Scope::Retry(key)).await
    }

    async fn execute(
        &self,
        pair: &Pair,
        flows: &[(Flow, FlowOptions)],
        opts: &RunOptions,
        scope: Scope<'_>,
    ) -> Result<RunReport> {
        let plan = opts.mode == Mode::Plan;
        let run_id = uuid::Uuid::new_v4().to_string();
        let started_at = Utc::now();
        let lease_lost = Arc::new(AtomicBool::new(false));
        let renewer = if plan {
            None
        } else {
            if let Some(held) = self.store.lease(&pair.name).await? {
                if held.holder != self.holder
                    && held.expires_at > started_at
                    && super::holder_is_dead(&held.holder, &self.holder)
                {
                    tracing::warn!(pair = %pair.name, holder = %held.holder,
                        "the process that held this pair's lease has ended (killed or crashed): taking the lease over");
                    self.store.release_lease(&pair.name, &held.holder).await?;
                }
            }
            self.store
                .acquire_lease(&pair.name, &self.holder, started_at, opts.lease_ttl)
                .await?;
            let store = self.store.clone();
            let (name, holder, ttl, lost) = (
                pair.name.clone(),
                self.holder.clone(),
                opts.lease_ttl,
                lease_lost.clone(),
            );
            Some(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(ttl / 3).await;
                    if let Err(e) = store.renew_lease(&name, &holder, Utc::now(), ttl).await {
                        tracing::error!(pair = %name, "lease renewal failed, stopping: {e}");
                        lost.store(true, Ordering::SeqCst);
                        break;
                    }
                }
            }))
        };
        tracing::info!(pair = %pair.name, run_id = %run_id, mode = ?opts.mode, "run started");
        let mut reports: Vec<FlowReport> = Vec::new();
        let mut outcome: Result<()> = Ok(());
        let book = PlanBook::default();
        for (flow, fopts) in flows {
            let ctx = Ctx {
                store: self.store.as_ref(),
                pair,
                flow: *flow,
                fopts,
                ropts: opts,
                run_id: &run_id,
                until: started_at,
                now: started_at,
                plan,
                lease_lost: &lease_lost,
                book: &book,
            };
            let acc0 = pair.accounting.stats();
            let shop0 = pair.shop.stats();
            let flow_started = Utc::now();
            let t0 = Instant::now();
            let res = match flow {
                Flow::Products => run_flow::<Product>(&ctx, scope).await,
                Flow::Stock => run_flow::<StockLevel>(&ctx, scope).await,
                Flow::Customers => run_flow::<Customer>(&ctx, scope).await,
                Flow::Orders => run_flow::<Order>(&ctx, scope).await,
                Flow::OpenAmounts => run_flow::<OpenAmount>(&ctx, scope).await,
                Flow::Payments => run_flow::<PaymentStatus>(&ctx, scope).await,
            };
            let mut report = match res {
                Ok(r) => r,
                Err(Stop::Fault(point)) => {
                    // As if the process died here: no more state, the lease stays until it expires.
                    if let Some(r) = renewer {
                        r.abort();
                    }
                    return Err(Error::internal(format!(
                        "run {run_id} of pair {} aborted by an injected fault at {point:?} in flow {flow}",
                        pair.name
                    )));
                }
                Err(Stop::Fatal(e)) => {
                    let mut r = FlowReport::new(*flow);
                    r.fatal = Some(e.to_string());
                    r.fatal_class = Some(e.class().into());
                    r
                }
            };
            report.duration_ms = t0.elapsed().as_millis() as u64;
            report.requests = Requests {
                accounting: pair.accounting.stats().since(&acc0),
                shop: pair.shop.stats().since(&shop0),
            };
            tracing::info!(
                pair = %pair.name, flow = %flow, status = report.status.as_str(), read = report.read,
                created = report.created, updated = report.updated, unchanged = report.unchanged,
                quarantined = report.quarantined, "flow finished"
            );
            if !plan {
                let rec = RunRecord {
                    run_id: run_id.clone(),
                    pair: pair.name.clone(),
                    flow: *flow,
                    mode: match scope {
                        Scope::Normal => "run".into(),
                        Scope::Retry(_) => "retry".into(),
                    },
                    started_at: flow_started,
                    finished_at: Utc::now(),
                    status: report.status.as_str().into(),
                    read: report.read,
                    created: report.created,
                    updated: report.updated,
                    unchanged: report.unchanged,
                    quarantined: report.quarantined,
                    error: report.fatal.clone(),
                    // the history keeps counts and errors, not the per-record list
                    report: serde_json::to_value(FlowReport {
                        records: Vec::new(),
                        ..report.clone()
                    })
                    .unwrap_or(serde_json::Value::Null),
                };
                if let Err(e) = self.store.record_run(&rec).await {
                    outcome = Err(e);
                }
            }
            reports.push(report);
            if outcome.is_err() || opts.cancel.load(Ordering::SeqCst) || lease_lost.load(Ordering::SeqCst) {
                break;
            }
        }
        if let Some(r) = renewer {
            r.abort();
            if !lease_lost.load(Ordering::SeqCst) {
                self.store.release_lease(&pair.name, &self.holder).await?;
            }
        }
        outcome?;
        Ok(RunReport {
            run_id,
            pair: pair.name.clone(),
            mode: opts.mode,
            started_at,
            finished_at: Utc::now(),
            flows: reports,
        })
    }
}
