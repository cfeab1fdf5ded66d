//! The conformance kit: generic checks every connector crate runs against its simulator.
//!
//! ```ignore
//! let kit = Conformance {
//!     descriptor: koppel_magento::descriptor(),
//!     good_config: json!({ "base_url": sim.url(), "token": "sim-token" }),
//!     bad_credentials_config: json!({ "base_url": sim.url(), "token": "wrong" }),
//!     secrets: vec!["sim-token".into(), "wrong".into()],
//!     samples: Samples { products: vec![...], ..Default::default() },
//!     malformed: Some(hook(move |on| async move { sim.set_malformed(on).await })),
//!     touch: Some(hook(move |kind| async move { sim.touch(kind).await })),
//!     churn: Some(mutator(move |c: Churn| async move { sim.churn(c).await })),
//!     context: ConnectorContext::default(),
//! };
//! kit.assert_conforms().await;
//! ```

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::future::BoxFuture;
use serde::Serialize;
use tracing::instrument::WithSubscriber;

use crate::connector::{Dependency, Endpoints, ReadRequest, Routed, Sink, Source, WriteItem, WriteOutcome};
use crate::error::{Error, Result};
use crate::model::{Customer, Kind, OpenAmount, Order, PaymentStatus, Product, Record, StockLevel};
use crate::registry::{ConnectorContext, ConnectorDescriptor};

/// An async hook the connector test supplies (e.g. turn the simulator's malformed fault on).
pub type Hook<T> = Arc<dyn Fn(T) -> BoxFuture<'static, ()> + Send + Sync>;

/// Wraps an async closure as a [`Hook`].
pub fn hook<T, F, Fut>(f: F) -> Hook<T>
where
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |t| Box::pin(f(t)))
}

/// What the kit asks a [`Mutator`] to do between the first and the second page of a read
/// (the paging-under-change check): change some records (so that their change time moves
/// past the read's `until`), remove some and add some, preferably among the records already
/// read, since those are the ones whose change shifts an offset-paged read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Churn {
    /// The record kind being read.
    pub kind: Kind,
    /// Keys ([`Record::key`]) of the records on the first page, in read order.
    pub read: Vec<String>,
    /// Keys of the records of the window not read yet, in the order a read without changes
    /// returns them.
    pub unread: Vec<String>,
}

/// What a [`Mutator`] did, by record key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Churned {
    /// Records changed (their change time is now after the read's `until`).
    pub changed: Vec<String>,
    /// Records removed.
    pub removed: Vec<String>,
    /// Records added (changed after the read's `until`).
    pub added: Vec<String>,
}

/// Changes records at the simulator between two page reads; `None` when it cannot change
/// records of this kind (the check is then reported as not exercised).
pub type Mutator = Arc<dyn Fn(Churn) -> BoxFuture<'static, Option<Churned>> + Send + Sync>;

/// Wraps an async closure as a [`Mutator`].
pub fn mutator<F, Fut>(f: F) -> Mutator
where
    F: Fn(Churn) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<Churned>> + Send + 'static,
{
    Arc::new(move |c| Box::pin(f(c)))
}

/// Records the kit writes through each sink the connector offers (they must be valid for the
/// simulator: SKUs it knows, and so on).
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// For `Sink<Product>`.
    pub products: Vec<Product>,
    /// For `Sink<StockLevel>`.
    pub stock: Vec<StockLevel>,
    /// For `Sink<Customer>`.
    pub customers: Vec<Customer>,
    /// For `Sink<Order>` (buyers are created through the connector's `Sink<Customer>`).
    pub orders: Vec<Order>,
    /// For `Sink<OpenAmount>`.
    pub open_amounts: Vec<OpenAmount>,
    /// For `Sink<PaymentStatus>`.
    pub payments: Vec<PaymentStatus>,
}

/// What a connector test fills in.
pub struct Conformance {
    /// The connector's registration.
    pub descriptor: &'static ConnectorDescriptor,
    /// A config that works against the simulator.
    pub good_config: serde_json::Value,
    /// The same config with wrong credentials.
    pub bad_credentials_config: serde_json::Value,
    /// Every secret value in both configs (and tokens the simulator hands out): none may
    /// appear in the captured logs.
    pub secrets: Vec<String>,
    /// Records to write, per sink kind.
    pub samples: Samples,
    /// Turns the simulator's malformed-record fault on (`true`) and off (`false`).
    pub malformed: Option<Hook<bool>>,
    /// Changes one record of a kind at the simulator (for the incremental-read check). Without
    /// it, the check only verifies that the second read returns nothing older than the first
    /// read's `until`.
    pub touch: Option<Hook<Kind>>,
    /// Changes, removes and adds records between two page reads (the paging-under-change
    /// check, run for every source kind after the other checks). Without it the check is
    /// reported as failed: every source must page correctly while records change.
    pub churn: Option<Mutator>,
    /// The context passed to the factory.
    pub context: ConnectorContext,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Check name, e.g. `incremental_read(product)`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was seen.
    pub detail: String,
}

/// The results of all checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConformanceReport {
    /// The connector.
    pub connector: String,
    /// Every check, in order.
    pub checks: Vec<CheckResult>,
}

impl ConformanceReport {
    /// True when every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// Panics listing every failed check.
    pub fn assert_passed(&self) {
        let failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("  - {}: {}", c.name, c.detail))
            .collect();
        assert!(
            failed.is_empty(),
            "connector {} fails {} conformance check(s):\n{}",
            self.connector,
            failed.len(),
            failed.join("\n")
        );
    }

    fn push(&mut self, name: impl Into<String>, result: std::result::Result<String, String>) {
        let (passed, detail) = match result {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        self.checks.push(CheckResult {
            name: name.into(),
            passed,
            detail,
        });
    }
}

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn far_future() -> DateTime<Utc> {
    Utc::now() + TimeDelta::days(3650)
}

impl Conformance {
    /// Runs every check and returns the report (never panics on connector misbehaviour:
    /// a panic inside the connector is reported as a failed check).
    pub async fn run(&self) -> ConformanceReport {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(buffer.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        let dispatch = tracing::Dispatch::new(subscriber);
        let mut report = ConformanceReport {
            connector: self.descriptor.name.into(),
            checks: Vec::new(),
        };
        self.checks(&mut report, &dispatch).await;
        let logs = String::from_utf8_lossy(&buffer.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
        let leaked: Vec<usize> = self
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty() && logs.contains(s.as_str()))
            .map(|(i, _)| i)
            .collect();
        report.push(
            "no_secrets_in_logs",
            if leaked.is_empty() {
                Ok(format!(
                    "{} bytes of TRACE logs, {} secrets absent",
                    logs.len(),
                    self.secrets.len()
                ))
            } else {
                Err(format!(
                    "secrets #{leaked:?} (by index in `secrets`) appear in the logs"
                ))
            },
        );
        report
    }

    /// Runs every check and panics with a clear message if one fails.
    pub async fn assert_conforms(&self) {
        self.run().await.assert_passed();
    }

    async fn checks(&self, report: &mut ConformanceReport, dispatch: &tracing::Dispatch) {
        let d = self.descriptor;
        // example config
        let example = (|| -> std::result::Result<String, String> {
            let table: toml::Table =
                toml::from_str((d.example_config)()).map_err(|e| format!("example is not TOML: {e}"))?;
            let value = serde_json::to_value(table).map_err(|e| e.to_string())?;
            // the runner strips `type = "<name>"` before handing the table to the connector
            let value = crate::wire::without_type(value, d.name);
            (d.validate)(&value).map_err(|e| format!("validate: {e}"))?;
            (d.factory)(value, &self.context).map_err(|e| format!("factory: {e}"))?;
            Ok("parses, validates, builds".into())
        })();
        report.push("example_config", example);

        let good = match (d.validate)(&self.good_config)
            .and_then(|_| (d.factory)(self.good_config.clone(), &self.context))
        {
            Ok(c) => c,
            Err(e) => {
                report.push("good_config", Err(format!("does not build: {e}")));
                return;
            }
        };

        // capabilities match the endpoints
        let (mut srcs, mut snks) = good.endpoints().kinds();
        let (mut dsrc, mut dsnk) = (d.capabilities.sources.to_vec(), d.capabilities.sinks.to_vec());
        srcs.sort();
        snks.sort();
        dsrc.sort();
        dsnk.sort();
        report.push(
            "capabilities",
            if (srcs.clone(), snks.clone()) == (dsrc.clone(), dsnk.clone()) {
                Ok(format!("sources {srcs:?}, sinks {snks:?}"))
            } else {
                Err(format!(
                    "descriptor says sources {dsrc:?} sinks {dsnk:?}, endpoints offer sources {srcs:?} sinks {snks:?}"
                ))
            },
        );

        let c = good.clone();
        let checked = guarded(dispatch, async move { c.check().await }).await;
        report.push(
            "check_ok",
            match checked {
                Ok(Ok(r)) => Ok(r.checks.join("; ")),
                Ok(Err(e)) => Err(format!("check failed with good credentials: {e}")),
                Err(p) => Err(p),
            },
        );

        let bad = match (d.factory)(self.bad_credentials_config.clone(), &self.context) {
            Ok(c) => {
                let checked = guarded(dispatch, async move { c.check().await }).await;
                match checked {
                    Ok(Err(Error::Auth { message })) => Ok(format!("Error::Auth: {message}")),
                    Ok(Err(e)) => Err(format!("expected Error::Auth, got {} error: {e}", e.class())),
                    Ok(Ok(_)) => Err("check passed with bad credentials".into()),
                    Err(p) => Err(p),
                }
            }
            Err(e) => Err(format!(
                "bad-credentials config does not build (it should, and fail at check): {e}"
            )),
        };
        report.push("bad_credentials", bad);

        let e = good.endpoints();
        self.source_checks::<Product>(report, dispatch, &e).await;
        self.source_checks::<StockLevel>(report, dispatch, &e).await;
        self.source_checks::<Customer>(report, dispatch, &e).await;
        self.source_checks::<Order>(report, dispatch, &e).await;
        self.source_checks::<OpenAmount>(report, dispatch, &e).await;
        self.source_checks::<PaymentStatus>(report, dispatch, &e).await;

        let s = &self.samples;
        self.sink_check(report, dispatch, &e, &s.products).await;
        self.sink_check(report, dispatch, &e, &s.stock).await;
        self.sink_check(report, dispatch, &e, &s.customers).await;
        self.sink_check(report, dispatch, &e, &s.orders).await;
        self.sink_check(report, dispatch, &e, &s.open_amounts).await;
        self.sink_check(report, dispatch, &e, &s.payments).await;

        // Last, since it changes and removes records at the simulator.
        self.paging_check::<Product>(report, dispatch, &e).await;
        self.paging_check::<StockLevel>(report, dispatch, &e).await;
        self.paging_check::<Customer>(report, dispatch, &e).await;
        self.paging_check::<Order>(report, dispatch, &e).await;
        self.paging_check::<OpenAmount>(report, dispatch, &e).await;
        self.paging_check::<PaymentStatus>(report, dispatch, &e).await;
    }

    /// Paging under change: reads the first page of the window `(None, until]`, lets the
    /// mutator change, remove and add records, reads the remaining pages, and asserts that
    /// every record that existed unchanged throughout was read **exactly once** (the rule of
    /// [`Source`]: a keyset token gives exactly once, so no de-duplication is assumed). Then
    /// a read after `until` (the next run) must return every changed and added record.
    async fn paging_check<R: Routed>(
        &self,
        report: &mut ConformanceReport,
        dispatch: &tracing::Dispatch,
        e: &Endpoints,
    ) {
        let Some(source) = R::source_of(e) else {
            return;
        };
        let kind = R::KIND;
        let name = format!("paging_under_change({kind})");
        let Some(churn) = &self.churn else {
            report.push(
                name,
                Err("no `churn` mutator given: the check cannot run (every source must page correctly while records change)".into()),
            );
            return;
        };
        let until = Utc::now();
        let baseline = match read_keys(dispatch, source.clone(), None, Some(until)).await {
            Ok(k) => k,
            Err(e) => return report.push(name, Err(format!("baseline read failed: {e}"))),
        };
        let s = source.clone();
        let req = ReadRequest {
            since: None,
            until: Some(until),
            page: None,
        };
        let first = match guarded(dispatch, async move { s.read(&req).await }).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return report.push(name, Err(format!("first page failed: {e}"))),
            Err(p) => return report.push(name, Err(p)),
        };
        let read1: Vec<String> = first
            .items
            .iter()
            .filter_map(|i| i.as_ref().ok())
            .map(Record::key)
            .collect();
        let Some(token) = first.next else {
            return report.push(
                name,
                Err(format!(
                    "the first page holds the whole window ({} records): seed more records or lower the page size, or the check exercises nothing",
                    baseline.len()
                )),
            );
        };
        let unread: Vec<String> = baseline.iter().filter(|k| !read1.contains(k)).cloned().collect();
        // Changes must land after `until` (simulators may stamp whole seconds).
        let next = (until + TimeDelta::seconds(1)).timestamp_millis() - Utc::now().timestamp_millis();
        tokio::time::sleep(Duration::from_millis(next.max(0) as u64 + 20)).await;
        let request = Churn {
            kind,
            read: read1.clone(),
            unread,
        };
        let Some(done) = churn(request).with_subscriber(dispatch.clone()).await else {
            return report.push(
                name,
                Ok(format!(
                    "not exercised: the mutator does not change {kind} records"
                )),
            );
        };
        if done.changed.is_empty() && done.removed.is_empty() {
            return report.push(name, Err("the mutator changed and removed nothing".into()));
        }
        let rest = match read_keys_from(dispatch, source.clone(), None, Some(until), Some(token)).await {
            Ok(k) => k,
            Err(e) => return report.push(name, Err(format!("reading the remaining pages failed: {e}"))),
        };
        let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for k in read1.iter().chain(&rest) {
            *counts.entry(k.as_str()).or_default() += 1;
        }
        let touched = |k: &String| done.changed.contains(k) || done.removed.contains(k);
        let expected: Vec<&String> = baseline.iter().filter(|k| !touched(k)).collect();
        let missing: Vec<&str> = expected
            .iter()
            .filter(|k| !counts.contains_key(k.as_str()))
            .map(|k| k.as_str())
            .collect();
        let twice: Vec<&str> = expected
            .iter()
            .filter(|k| counts.get(k.as_str()).is_some_and(|n| *n > 1))
            .map(|k| k.as_str())
            .collect();
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!(
                "{} unchanged record(s) never read: {}",
                missing.len(),
                missing.join(", ")
            ));
        }
        if !twice.is_empty() {
            problems.push(format!(
                "{} unchanged record(s) read more than once: {}",
                twice.len(),
                twice.join(", ")
            ));
        }
        // The next run (after `until`) picks up what changed during the read.
        match read_keys(dispatch, source.clone(), Some(until), Some(Utc::now())).await {
            Err(e) => problems.push(format!("the read after the window failed: {e}")),
            Ok(later) => {
                let lost: Vec<&str> = done
                    .changed
                    .iter()
                    .chain(&done.added)
                    .filter(|k| !later.contains(k))
                    .map(|k| k.as_str())
                    .collect();
                if !lost.is_empty() {
                    problems.push(format!(
                        "changed or added record(s) missing from the next read (since {until}): {}",
                        lost.join(", ")
                    ));
                }
            }
        }
        report.push(
            name,
            if problems.is_empty() {
                Ok(format!(
                    "{} in the window, {} on page 1; changed {}, removed {}, added {} between pages; all {} unchanged read exactly once, changes read next time",
                    baseline.len(),
                    read1.len(),
                    done.changed.len(),
                    done.removed.len(),
                    done.added.len(),
                    expected.len()
                ))
            } else {
                Err(problems.join("; "))
            },
        );
    }

    async fn source_checks<R: Routed>(
        &self,
        report: &mut ConformanceReport,
        dispatch: &tracing::Dispatch,
        e: &Endpoints,
    ) {
        let Some(source) = R::source_of(e) else {
            return;
        };
        let kind = R::KIND;

        // incremental: a second read after the first one's `until` returns only later changes
        let until1 = Utc::now();
        let first = read_all(dispatch, source.clone(), None, Some(until1)).await;
        let result = match first {
            Err(e) => Err(format!("first read failed: {e}")),
            Ok((n1, _)) => {
                if let Some(touch) = &self.touch {
                    // simulators may stamp whole seconds: touch in the next second
                    let next =
                        (until1 + TimeDelta::seconds(1)).timestamp_millis() - Utc::now().timestamp_millis();
                    tokio::time::sleep(Duration::from_millis(next.max(0) as u64 + 20)).await;
                    touch(kind).with_subscriber(dispatch.clone()).await;
                }
                match read_all(dispatch, source.clone(), Some(until1), Some(Utc::now())).await {
                    Err(e) => Err(format!("second read failed: {e}")),
                    Ok((n2, times)) => {
                        let older: Vec<_> = times.iter().flatten().filter(|t| **t <= until1).collect();
                        if !older.is_empty() {
                            Err(format!(
                                "second read (since {until1}) returned {} record(s) changed before it, e.g. {}",
                                older.len(),
                                older[0]
                            ))
                        } else if self.touch.is_some() && n2 == 0 {
                            Err("second read did not return the record changed after the first read".into())
                        } else {
                            Ok(format!("first read {n1}, second read {n2}"))
                        }
                    }
                }
            }
        };
        report.push(format!("incremental_read({kind})"), result);

        let future = match read_all(dispatch, source.clone(), Some(far_future()), None).await {
            Ok((0, _)) => Ok("no records".into()),
            Ok((n, _)) => Err(format!("a cursor in the far future still returned {n} item(s)")),
            Err(e) => Err(format!("read failed: {e}")),
        };
        report.push(format!("far_future_cursor({kind})"), future);

        if let Some(malformed) = &self.malformed {
            malformed(true).with_subscriber(dispatch.clone()).await;
            let s = source.clone();
            let page = guarded(dispatch, async move { s.read(&ReadRequest::default()).await }).await;
            malformed(false).with_subscriber(dispatch.clone()).await;
            let result = match page {
                Ok(Ok(p)) => {
                    let rejected: Vec<String> = p
                        .items
                        .iter()
                        .filter_map(|i| i.as_ref().err())
                        .map(|r| r.to_string())
                        .collect();
                    if rejected.is_empty() {
                        Err(format!(
                            "no Rejection among {} item(s) with the malformed fault on",
                            p.items.len()
                        ))
                    } else {
                        Ok(format!("{} rejected, e.g. {}", rejected.len(), rejected[0]))
                    }
                }
                Ok(Err(e)) => Err(format!(
                    "the whole read failed ({} error: {e}); expected per-record Rejections",
                    e.class()
                )),
                Err(p) => Err(p),
            };
            report.push(format!("malformed_record({kind})"), result);
        }
    }

    async fn sink_check<R: Routed>(
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

/// Reads every page; returns the keys of the readable records, in read order.
async fn read_keys<R: Record>(
    dispatch: &tracing::Dispatch,
    source: Arc<dyn Source<R>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> std::result::Result<Vec<String>, String> {
    read_keys_from(dispatch, source, since, until, None).await
}

/// Reads every page from `page` on; returns the keys of the readable records, in read order.
async fn read_keys_from<R: Record>(
    dispatch: &tracing::Dispatch,
    source: Arc<dyn Source<R>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    page: Option<String>,
) -> std::result::Result<Vec<String>, String> {
    let fut = async move {
        let mut req = ReadRequest { since, until, page };
        let mut keys = Vec::new();
        for _ in 0..10_000 {
            let page = source.read(&req).await?;
            keys.extend(page.items.iter().filter_map(|i| i.as_ref().ok()).map(Record::key));
            match page.next {
                Some(next) => req.page = Some(next),
                None => return Ok(keys),
            }
        }
        Err(Error::protocol("more than 10000 pages: paging does not end"))
    };
    match guarded(dispatch, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(p),
    }
}

/// Reads every page; returns the item count and the change times of the records.
async fn read_all<R: Record>(
    dispatch: &tracing::Dispatch,
    source: Arc<dyn Source<R>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> std::result::Result<(usize, Vec<Option<DateTime<Utc>>>), String> {
    let fut = async move {
        let mut req = ReadRequest {
            since,
            until,
            page: None,
        };
        let mut n = 0;
        let mut times = Vec::new();
        for _ in 0..10_000 {
            let page = source.read(&req).await?;
            n += page.items.len();
            times.extend(
                page.items
                    .iter()
                    .filter_map(|i| i.as_ref().ok())
                    .map(Record::modified),
            );
            match page.next {
                Some(next) => req.page = Some(next),
                None => return Ok((n, times)),
            }
        }
        Err(Error::protocol("more than 10000 pages: paging does not end"))
    };
    match guarded(dispatch, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(p),
    }
}

/// Runs a future on its own task under the capturing subscriber; a panic becomes `Err`.
async fn guarded<T: Send + 'static>(
    dispatch: &tracing::Dispatch,
    fut: impl Future<Output = T> + Send + 'static,
) -> std::result::Result<T, String> {
    match tokio::spawn(fut.with_subscriber(dispatch.clone())).await {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => Err("the connector panicked".into()),
        Err(e) => Err(format!("task failed: {e}")),
    }
}
