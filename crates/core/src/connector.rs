//! The traits a connector implements: [`Source`] and [`Sink`] per record kind, and
//! [`Connector`], which hands them out and says what it can do.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::diff::FieldChange;
use crate::error::{Rejection, Result};
use crate::http::StatsSnapshot;
use crate::model::{Customer, Kind, OpenAmount, Order, PaymentStatus, Product, Record, Sku, StockLevel};

/// What to read: records changed after `since` (none: everything), up to `until` where the
/// source can filter on it, continuing at `page` (the token of the previous [`Page`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadRequest {
    /// Lower bound (exclusive) on the record's change time.
    pub since: Option<DateTime<Utc>>,
    /// Upper bound (inclusive) on the change time, where the source can filter on it.
    pub until: Option<DateTime<Utc>>,
    /// Opaque continuation token from the previous page; `None` for the first page.
    pub page: Option<String>,
}

/// One page of records. A record the source could not read is an `Err` naming the record and
/// the field, so one malformed record never stops the rest.
#[derive(Debug)]
pub struct Page<R> {
    /// The records, or why one could not be read.
    pub items: Vec<std::result::Result<R, Rejection>>,
    /// Token for the next page; `None` when this was the last.
    pub next: Option<String>,
}

impl<R> Page<R> {
    /// An empty last page.
    pub fn empty() -> Self {
        Page {
            items: Vec::new(),
            next: None,
        }
    }
}

/// A connector reads records of kind `R`.
///
/// **A page token must stay correct while records change.** Records may change, appear and
/// disappear between two page reads; every record that existed unchanged in the window for
/// the whole read must still be read exactly once across the pages. Offset paging inside a
/// moving window does not give that: use a keyset token ([`crate::paging::Keyset`]) or read
/// without an upper bound and de-duplicate. The conformance kit checks it.
#[async_trait]
pub trait Source<R: Record>: Send + Sync {
    /// Reads one page.
    async fn read(&self, request: &ReadRequest) -> Result<Page<R>>;
}

/// A record to write, with what the engine already knows about it.
#[derive(Debug, Clone)]
pub struct WriteItem<R> {
    /// The record.
    pub record: R,
    /// The target's id from the binding, when this record was written before.
    pub target_id: Option<String>,
    /// What was last written for this record (from the binding), so a sink can send only the
    /// fields that changed.
    pub previous: Option<R>,
    /// Resolved dependencies: `customer` -> target id of the buyer, `sku:<SKU>` -> target id
    /// of an article.
    pub refs: BTreeMap<String, String>,
}

impl<R> WriteItem<R> {
    /// A record with no binding and no resolved dependencies.
    pub fn new(record: R) -> Self {
        WriteItem {
            record,
            target_id: None,
            previous: None,
            refs: BTreeMap::new(),
        }
    }
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WriteOutcome {
    /// A new record was created with this id.
    Created {
        /// The target's id.
        target_id: String,
    },
    /// An existing record was changed.
    Updated {
        /// The target's id.
        target_id: String,
    },
    /// The target already held exactly this; nothing was written.
    Unchanged {
        /// The target's id.
        target_id: String,
    },
}

impl WriteOutcome {
    /// The target id in any case.
    pub fn target_id(&self) -> &str {
        match self {
            WriteOutcome::Created { target_id }
            | WriteOutcome::Updated { target_id }
            | WriteOutcome::Unchanged { target_id } => target_id,
        }
    }
}

/// Something a record needs on the target before it can be written.
#[derive(Debug, Clone, PartialEq)]
pub enum Dependency {
    /// The buyer of an order: resolved via the customer binding, or created through the
    /// target's `Sink<Customer>`; its id is passed in `refs["customer"]`.
    Customer(Box<Customer>),
    /// An article: resolved via the product binding when there is one (`refs["sku:<SKU>"]`);
    /// otherwise the sink resolves it itself and rejects the record if it cannot.
    Product(Sku),
}

/// What writing a record would do, decided by [`Sink::prepare`] against what the target holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The target has no such record: it would be created.
    Create,
    /// The target has it and some fields differ (see [`Prepared::changes`]).
    Update,
    /// The target already holds exactly this: no write.
    Unchanged,
}

/// The read-only half of a write: what [`Sink::apply`] would do with one record, found by
/// looking the record up on the target, mapping and validating it. Every check that can
/// reject a record runs here, so a plan (prepare only) predicts a run (prepare, then apply).
#[derive(Clone)]
pub struct Prepared {
    /// Create, update or unchanged.
    pub verdict: Verdict,
    /// The target's id of the record, when it exists there.
    pub target_id: Option<String>,
    /// For updates: the fields that differ, target's current value -> new value.
    pub changes: Vec<FieldChange>,
    /// For creates: what would be written (the sink's view, or the canonical record).
    pub after: Option<serde_json::Value>,
    /// Whatever the sink needs to carry from `prepare` to `apply` (the target's current record,
    /// the mapped body); opaque to the engine.
    pub carry: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("verdict", &self.verdict)
            .field("target_id", &self.target_id)
            .field("changes", &self.changes)
            .field("after", &self.after)
            .field("carry", &self.carry.is_some())
            .finish()
    }
}

impl Prepared {
    /// A create of `after`.
    pub fn create(after: Option<serde_json::Value>) -> Self {
        Prepared {
            verdict: Verdict::Create,
            target_id: None,
            changes: Vec::new(),
            after,
            carry: None,
        }
    }

    /// An update of `target_id` changing `changes`.
    pub fn update(target_id: impl Into<String>, changes: Vec<FieldChange>) -> Self {
        Prepared {
            verdict: Verdict::Update,
            target_id: Some(target_id.into()),
            changes,
            after: None,
            carry: None,
        }
    }

    /// Nothing to write: `target_id` already holds it.
    pub fn unchanged(target_id: impl Into<String>) -> Self {
        Prepared {
            verdict: Verdict::Unchanged,
            target_id: Some(target_id.into()),
            changes: Vec::new(),
            after: None,
            carry: None,
        }
    }

    /// The same, carrying `carry` to [`Sink::apply`].
    pub fn with_carry<T: std::any::Any + Send + Sync>(mut self, carry: T) -> Self {
        self.carry = Some(Arc::new(carry));
        self
    }

    /// The carried value, if it is a `T`.
    pub fn carried<T: std::any::Any + Send + Sync>(&self) -> Option<&T> {
        self.carry.as_ref().and_then(|c| c.downcast_ref::<T>())
    }
}

/// The rejection code ([`Rejection::code`](crate::Rejection)) of a record the target already
/// holds from an earlier export and that changed at the source since, which the sink does not
/// write again (by its policy, or because the target no longer allows it). The engine reports
/// it as "changed after export" (error class `changed_after_export`) with the fields that
/// differ, parks it like a quarantined record, and never creates it a second time.
pub const CHANGED_AFTER_EXPORT: &str = "changed_after_export";

/// The id a plan gives a record it would create, so that later flows of the same plan can
/// depend on it (the product of a stock level): `(new <label>)`.
pub fn planned_id(label: &str) -> String {
    format!("(new {label})")
}

/// Whether `id` (a resolved dependency in [`WriteItem::refs`]) is a [`planned_id`]: in a plan,
/// the record does not exist on the target yet, but the run creates it before this one is
/// written. A sink's `prepare` then predicts the write against the record as it will be
/// created, instead of rejecting a dependency that is missing only because a plan writes nothing.
pub fn is_planned_id(id: &str) -> bool {
    id.starts_with("(new ") && id.ends_with(')')
}

/// The generic prepare: without reading the target, a record with a binding is an update of
/// the fields that differ from what was last written (unchanged when none do), one without is
/// a create.
pub fn prepare_from_previous<R: Record>(item: &WriteItem<R>) -> Result<Prepared> {
    let after = crate::diff::record_json(&item.record)?;
    Ok(match &item.target_id {
        Some(id) => {
            let before = match &item.previous {
                Some(p) => crate::diff::record_json(p)?,
                None => serde_json::Value::Null,
            };
            let changes = crate::diff::diff_json(&before, &after);
            if changes.is_empty() && item.previous.is_some() {
                Prepared::unchanged(id.clone())
            } else {
                Prepared::update(id.clone(), changes)
            }
        }
        None => Prepared::create(Some(after)),
    })
}

/// A connector writes records of kind `R`.
///
/// A write has two halves: [`Sink::prepare`] (read-only: look the record up on the target,
/// map and validate it, decide create / update with the changed fields / unchanged / reject)
/// and [`Sink::apply`] (the write itself, of what `prepare` decided). A plan calls only
/// `prepare`; a run calls both, so the plan cannot drift from the run. A sink implements
/// `apply` (and, to compare with what the target holds, `prepare`); [`Sink::write`] and
/// [`Sink::write_batch`] are provided on top of them.
#[async_trait]
pub trait Sink<R: Record>: Send + Sync {
    /// Decides, without writing anything, what writing each item would do; one result per
    /// item, in order. An `Err` that is a record fault ([`Error::Rejected`](crate::Error)) is
    /// what the write would be rejected with. Batched like the writes (one search per batch
    /// of [`Sink::batch_size`], not one read per record). Must not change the target.
    ///
    /// The default is [`prepare_from_previous`]; for a sink that
    /// [needs exactly-once](Sink::needs_exactly_once) a would-be create is first looked up by
    /// natural key ([`Sink::lookup`]): found, it is an update of the record found.
    async fn prepare(&self, items: &[WriteItem<R>]) -> Vec<Result<Prepared>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let p = match prepare_from_previous(item) {
                Ok(p) if p.verdict == Verdict::Create && self.needs_exactly_once() => {
                    match self.lookup(&item.record).await {
                        Ok(Some(id)) => Ok(Prepared::update(id, Vec::new())),
                        Ok(None) => Ok(p),
                        Err(e) => Err(e),
                    }
                }
                other => other,
            };
            out.push(p);
        }
        out
    }

    /// Writes what [`Sink::prepare`] decided for each item (the engine never passes
    /// `Unchanged` verdicts or rejected items); one result per item, in order. Reuses what
    /// `prepare` found ([`Prepared::carry`]) rather than reading the target again.
    async fn apply(&self, items: &[WriteItem<R>], prepared: &[Prepared]) -> Vec<Result<WriteOutcome>>;

    /// Writes one record: [`Sink::prepare`], then [`Sink::apply`] unless it is unchanged.
    async fn write(&self, item: &WriteItem<R>) -> Result<WriteOutcome> {
        self.write_batch(std::slice::from_ref(item))
            .await
            .pop()
            .unwrap_or_else(|| Err(crate::Error::internal("the sink returned no result")))
    }

    /// Writes several records: [`Sink::prepare`] for all, then [`Sink::apply`] for those
    /// that are not unchanged. One result per item, in order.
    async fn write_batch(&self, items: &[WriteItem<R>]) -> Vec<Result<WriteOutcome>> {
        let prepared = self.prepare(items).await;
        let mut out: Vec<Option<Result<WriteOutcome>>> = Vec::with_capacity(items.len());
        let mut todo_items = Vec::new();
        let mut todo_prepared = Vec::new();
        let mut slots = Vec::new();
        for (i, (item, p)) in items.iter().zip(prepared).enumerate() {
            match p {
                Err(e) => out.push(Some(Err(e))),
                Ok(p) if p.verdict == Verdict::Unchanged => out.push(Some(Ok(WriteOutcome::Unchanged {
                    target_id: p.target_id.clone().unwrap_or_default(),
                }))),
                Ok(p) => {
                    out.push(None);
                    slots.push(i);
                    todo_items.push(item.clone());
                    todo_prepared.push(p);
                }
            }
        }
        out.resize_with(items.len(), || {
            Some(Err(crate::Error::protocol(
                "the sink prepared fewer results than records",
            )))
        });
        if !todo_items.is_empty() {
            let results = self.apply(&todo_items, &todo_prepared).await;
            let mut results = results.into_iter();
            for i in slots {
                out[i] = Some(results.next().unwrap_or_else(|| {
                    Err(crate::Error::protocol(
                        "the sink applied fewer results than records",
                    ))
                }));
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(crate::Error::internal("record left unwritten"))))
            .collect()
    }

    /// How many records [`Sink::prepare`] and [`Sink::apply`] take at once.
    fn batch_size(&self) -> usize {
        1
    }

    /// How many prepared records one [`Sink::apply`] call takes: what the target's write
    /// endpoint takes in one request. Default: [`Sink::batch_size`], the whole batch that
    /// [`Sink::prepare`] looked up. A sink that looks records up in batches but writes each
    /// with a request of its own (one search for 50 products, then one PUT each) declares 1;
    /// the engine then runs those calls side by side, within [`Sink::concurrency`].
    fn apply_size(&self) -> usize {
        self.batch_size()
    }

    /// How many calls of [`Sink::prepare`] / [`Sink::apply`] this sink allows in flight at
    /// once: the target's own limit (a shop that serialises writes declares 1). The engine
    /// schedules: at most `min(concurrency(), FlowOptions::concurrency)` calls (at least one)
    /// run at once, across the flow's batches, so a sink needs no concurrency setting of its
    /// own and never runs its own writes side by side. Default: no limit of its own
    /// (`usize::MAX`), the flow's setting decides.
    fn concurrency(&self) -> usize {
        usize::MAX
    }

    /// Finds a record this sink may already have written, by its natural key (a SnelStart order
    /// by `orderreferentie`). Used to resolve a journal intent without outcome after a crash,
    /// and before creating a record that the target cannot deduplicate.
    async fn lookup(&self, record: &R) -> Result<Option<String>> {
        let _ = record;
        Ok(None)
    }

    /// True when a create cannot be deduplicated by the target (a second POST makes a second
    /// record): the engine then journals the intent first and resolves open intents by
    /// [`Sink::lookup`].
    fn needs_exactly_once(&self) -> bool {
        false
    }

    /// What must exist on the target before `record` can be written.
    fn dependencies(&self, record: &R) -> Vec<Dependency> {
        let _ = record;
        Vec::new()
    }
}

/// Which record kinds a connector reads and writes. Declared statically in the descriptor so
/// the runner can refuse an impossible flow before any I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Kinds offered as [`Source`].
    pub sources: &'static [Kind],
    /// Kinds offered as [`Sink`].
    pub sinks: &'static [Kind],
}

impl Capabilities {
    /// Whether the connector reads `kind`.
    pub fn reads(&self, kind: Kind) -> bool {
        self.sources.contains(&kind)
    }
    /// Whether the connector writes `kind`.
    pub fn writes(&self, kind: Kind) -> bool {
        self.sinks.contains(&kind)
    }
}

/// The sources and sinks a connector instance hands out.
#[derive(Clone, Default)]
#[allow(missing_docs)]
pub struct Endpoints {
    pub product_source: Option<Arc<dyn Source<Product>>>,
    pub product_sink: Option<Arc<dyn Sink<Product>>>,
    pub stock_source: Option<Arc<dyn Source<StockLevel>>>,
    pub stock_sink: Option<Arc<dyn Sink<StockLevel>>>,
    pub customer_source: Option<Arc<dyn Source<Customer>>>,
    pub customer_sink: Option<Arc<dyn Sink<Customer>>>,
    pub order_source: Option<Arc<dyn Source<Order>>>,
    pub order_sink: Option<Arc<dyn Sink<Order>>>,
    pub open_amount_source: Option<Arc<dyn Source<OpenAmount>>>,
    pub open_amount_sink: Option<Arc<dyn Sink<OpenAmount>>>,
    pub payment_source: Option<Arc<dyn Source<PaymentStatus>>>,
    pub payment_sink: Option<Arc<dyn Sink<PaymentStatus>>>,
}

impl Endpoints {
    /// The capabilities these endpoints actually offer (the conformance kit checks that they
    /// equal the descriptor's).
    pub fn kinds(&self) -> (Vec<Kind>, Vec<Kind>) {
        let mut sources = Vec::new();
        let mut sinks = Vec::new();
        let pairs = [
            (
                Kind::Product,
                self.product_source.is_some(),
                self.product_sink.is_some(),
            ),
            (
                Kind::StockLevel,
                self.stock_source.is_some(),
                self.stock_sink.is_some(),
            ),
            (
                Kind::Customer,
                self.customer_source.is_some(),
                self.customer_sink.is_some(),
            ),
            (
                Kind::Order,
                self.order_source.is_some(),
                self.order_sink.is_some(),
            ),
            (
                Kind::OpenAmount,
                self.open_amount_source.is_some(),
                self.open_amount_sink.is_some(),
            ),
            (
                Kind::PaymentStatus,
                self.payment_source.is_some(),
                self.payment_sink.is_some(),
            ),
        ];
        for (k, src, snk) in pairs {
            if src {
                sources.push(k);
            }
            if snk {
                sinks.push(k);
            }
        }
        (sources, sinks)
    }
}

/// Generic access to the endpoint of a record kind, so the engine can be generic over `R`.
pub trait Routed: Record {
    /// The source of this kind, if offered.
    fn source_of(e: &Endpoints) -> Option<Arc<dyn Source<Self>>>;
    /// The sink of this kind, if offered.
    fn sink_of(e: &Endpoints) -> Option<Arc<dyn Sink<Self>>>;
}

macro_rules! routed {
    ($t:ty, $src:ident, $snk:ident) => {
        impl Routed for $t {
            fn source_of(e: &Endpoints) -> Option<Arc<dyn Source<Self>>> {
                e.$src.clone()
            }
            fn sink_of(e: &Endpoints) -> Option<Arc<dyn Sink<Self>>> {
                e.$snk.clone()
            }
        }
    };
}
routed!(Product, product_source, product_sink);
routed!(StockLevel, stock_source, stock_sink);
routed!(Customer, customer_source, customer_sink);
routed!(Order, order_source, order_sink);
routed!(OpenAmount, open_amount_source, open_amount_sink);
routed!(PaymentStatus, payment_source, payment_sink);

/// Result of a side-effect-free probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// What was verified, one line each (e.g. `token: ok`, `read 1 article: ok`).
    pub checks: Vec<String>,
}

/// One configured external system: a SnelStart administration or one shop.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The registry name (`snelstart`, `magento`).
    fn name(&self) -> &'static str;
    /// The sources and sinks this instance offers.
    fn endpoints(&self) -> Endpoints;
    /// A side-effect-free probe: authenticate and read one small thing. Errors say what to fix.
    async fn check(&self) -> Result<CheckReport>;
    /// Requests made so far, for run reports and benchmarks.
    fn stats(&self) -> StatsSnapshot;
}
