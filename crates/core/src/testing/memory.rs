//! In-memory connectors for engine tests: sources that page and filter by change time, and
//! sinks that count creates and updates, can be told to reject, fail or answer "uncertain",
//! and (for exactly-once tests) can be made unable to deduplicate.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::connector::{
    CheckReport, Connector, Dependency, Endpoints, Page, Prepared, ReadRequest, Routed, Sink, Source,
    WriteItem, WriteOutcome,
};
use crate::engine::{diff_json, record_hash, record_json};
use crate::error::{Error, Rejection, Result};
use crate::http::StatsSnapshot;
use crate::model::{Customer, OpenAmount, Order, PaymentStatus, Product, Record, StockLevel};
use crate::paging::Keyset;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A record kind the in-memory connector can offer (all six).
pub trait MemoryRouted: Routed {
    /// Installs a source of this kind.
    fn set_source(e: &mut Endpoints, s: Arc<dyn Source<Self>>);
    /// Installs a sink of this kind.
    fn set_sink(e: &mut Endpoints, s: Arc<dyn Sink<Self>>);
}

macro_rules! mem_routed {
    ($t:ty, $src:ident, $snk:ident) => {
        impl MemoryRouted for $t {
            fn set_source(e: &mut Endpoints, s: Arc<dyn Source<Self>>) {
                e.$src = Some(s);
            }
            fn set_sink(e: &mut Endpoints, s: Arc<dyn Sink<Self>>) {
                e.$snk = Some(s);
            }
        }
    };
}
mem_routed!(Product, product_source, product_sink);
mem_routed!(StockLevel, stock_source, stock_sink);
mem_routed!(Customer, customer_source, customer_sink);
mem_routed!(Order, order_source, order_sink);
mem_routed!(OpenAmount, open_amount_source, open_amount_sink);
mem_routed!(PaymentStatus, payment_source, payment_sink);

/// An in-memory connector: hand out sources and sinks with [`MemoryConnector::source`] and
/// [`MemoryConnector::sink`], keep the returned handles to change data and inspect writes.
pub struct MemoryConnector {
    name: &'static str,
    endpoints: Mutex<Endpoints>,
    requests: Arc<AtomicU64>,
    check_error: Mutex<Option<Error>>,
}

impl MemoryConnector {
    /// A connector with no endpoints yet.
    pub fn new(name: &'static str) -> Arc<Self> {
        Arc::new(MemoryConnector {
            name,
            endpoints: Mutex::new(Endpoints::default()),
            requests: Arc::new(AtomicU64::new(0)),
            check_error: Mutex::new(None),
        })
    }

    /// Adds (or replaces) the source of kind `R`.
    pub fn source<R: MemoryRouted>(&self) -> Arc<MemorySource<R>> {
        let s = Arc::new(MemorySource::new(self.requests.clone()));
        R::set_source(&mut lock(&self.endpoints), s.clone());
        s
    }

    /// Adds (or replaces) the sink of kind `R`.
    pub fn sink<R: MemoryRouted>(&self) -> Arc<MemorySink<R>> {
        let s = Arc::new(MemorySink::new(self.name, self.requests.clone()));
        R::set_sink(&mut lock(&self.endpoints), s.clone());
        s
    }

    /// Makes [`Connector::check`] fail with this error.
    pub fn fail_check(&self, e: Error) {
        *lock(&self.check_error) = Some(e);
    }

    /// Requests served so far (reads, writes, lookups).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Connector for MemoryConnector {
    fn name(&self) -> &'static str {
        self.name
    }
    fn endpoints(&self) -> Endpoints {
        lock(&self.endpoints).clone()
    }
    async fn check(&self) -> Result<CheckReport> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        match lock(&self.check_error).clone() {
            Some(e) => Err(e),
            None => Ok(CheckReport {
                checks: vec![format!("{}: ok", self.name)],
            }),
        }
    }
    fn stats(&self) -> StatsSnapshot {
        StatsSnapshot {
            total: self.requests(),
            retries: 0,
            requests: Vec::new(),
        }
    }
}

struct SourceItem<R> {
    modified: Option<DateTime<Utc>>,
    /// Order of insertion: each `put` of a record is a new version with a new number, so
    /// `(modified, seq)` is a total order that nothing but a change moves.
    seq: u64,
    item: std::result::Result<R, Rejection>,
}

/// An in-memory source: returns its records changed in `(since, until]`, oldest first
/// (ordered by change time, then by insertion), in pages of `page_size`.
///
/// The page token is a keyset ([`Keyset`]: the change time and insertion number of the last
/// record read), never an offset: the next page is "the records after that one", so records
/// that change, appear or disappear between two reads move no other record across a page
/// boundary. A record changed during the read leaves the window (its change time passes
/// `until`) and is read by the next read after the cursor.
pub struct MemorySource<R> {
    items: Mutex<Vec<SourceItem<R>>>,
    next_seq: AtomicU64,
    page_size: Mutex<usize>,
    fail: Mutex<Option<Error>>,
    requests: Arc<AtomicU64>,
    reads: AtomicU64,
    /// Reads wait for a read lock on this: a test holding the write lock stalls the source.
    pub hold: tokio::sync::RwLock<()>,
}

impl<R: Record> MemorySource<R> {
    fn new(requests: Arc<AtomicU64>) -> Self {
        MemorySource {
            items: Mutex::new(Vec::new()),
            next_seq: AtomicU64::new(1),
            page_size: Mutex::new(100),
            fail: Mutex::new(None),
            requests,
            reads: AtomicU64::new(0),
            hold: tokio::sync::RwLock::new(()),
        }
    }

    /// Adds a record, or replaces the one with the same key.
    pub fn put(&self, record: R) {
        let mut items = lock(&self.items);
        let key = record.key();
        items.retain(|i| i.item.as_ref().map(|r| r.key() != key).unwrap_or(true));
        items.push(SourceItem {
            modified: record.modified(),
            seq: self.next_seq.fetch_add(1, Ordering::SeqCst),
            item: Ok(record),
        });
    }

    /// Removes the record with this key (like a record deleted at the source).
    pub fn remove(&self, key: &str) {
        lock(&self.items).retain(|i| i.item.as_ref().map(|r| r.key() != key).unwrap_or(true));
    }

    /// The records the source holds now (readable ones), oldest first.
    pub fn records(&self) -> Vec<R> {
        let mut items: Vec<(Option<DateTime<Utc>>, u64, R)> = lock(&self.items)
            .iter()
            .filter_map(|i| i.item.as_ref().ok().map(|r| (i.modified, i.seq, r.clone())))
            .collect();
        items.sort_by_key(|(m, s, _)| (*m, *s));
        items.into_iter().map(|(_, _, r)| r).collect()
    }

    /// Adds a record without replacing one with the same key: the source then returns both,
    /// like a source whose record changed while it was being paged through.
    pub fn push(&self, record: R) {
        lock(&self.items).push(SourceItem {
            modified: record.modified(),
            seq: self.next_seq.fetch_add(1, Ordering::SeqCst),
            item: Ok(record),
        });
    }

    /// Adds a record the source cannot read, changed at `modified`.
    pub fn put_unreadable(&self, modified: DateTime<Utc>, rejection: Rejection) {
        lock(&self.items).push(SourceItem {
            modified: Some(modified),
            seq: self.next_seq.fetch_add(1, Ordering::SeqCst),
            item: Err(rejection),
        });
    }

    /// Sets the page size.
    pub fn page_size(&self, n: usize) {
        *lock(&self.page_size) = n.max(1);
    }

    /// Makes every read fail with `e` (`None`: read normally again).
    pub fn fail_with(&self, e: Option<Error>) {
        *lock(&self.fail) = e;
    }

    /// Pages read so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl<R: Record> Source<R> for MemorySource<R> {
    async fn read(&self, req: &ReadRequest) -> Result<Page<R>> {
        let _held = self.hold.read().await;
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.reads.fetch_add(1, Ordering::SeqCst);
        if let Some(e) = lock(&self.fail).clone() {
            return Err(e);
        }
        let items = lock(&self.items);
        let mut selected: Vec<&SourceItem<R>> = items
            .iter()
            .filter(|i| match (i.modified, req.since) {
                (Some(m), Some(s)) => m > s,
                _ => true,
            })
            .filter(|i| match (i.modified, req.until) {
                (Some(m), Some(u)) => m <= u,
                _ => true,
            })
            .collect();
        selected.sort_by_key(|i| (i.modified, i.seq));
        // Keyset: the records after the last one read, in (modified, seq) order.
        let after = match &req.page {
            None => None,
            Some(t) => {
                let k = Keyset::decode(t)?;
                Some((k.modified, k.numeric_id()?))
            }
        };
        let size = *lock(&self.page_size);
        let rest: Vec<&&SourceItem<R>> = selected
            .iter()
            .filter(|i| after.is_none_or(|a| (i.modified, i.seq) > a))
            .collect();
        let page: Vec<_> = rest.iter().take(size).map(|i| i.item.clone()).collect();
        let next = match (rest.len() > size, rest.get(size.saturating_sub(1))) {
            (true, Some(last)) => Some(Keyset::after(last.modified, last.seq.to_string()).encode()),
            _ => None,
        };
        Ok(Page { items: page, next })
    }
}

type Validator<R> = Arc<dyn Fn(&WriteItem<R>) -> Result<()> + Send + Sync>;
type Deps<R> = Arc<dyn Fn(&R) -> Vec<Dependency> + Send + Sync>;

/// An in-memory sink. `prepare` compares each record with the stored row (by target id, else
/// natural key): create, update with the changed fields, or unchanged; rejections and the
/// validator run there. `apply` writes. By default an apply without a target id upserts by
/// natural key (the target deduplicates); with [`MemorySink::exactly_once`] it creates a new
/// record, like a POST to an API that cannot deduplicate, [`Sink::needs_exactly_once`] is
/// true, and prepare counts its search by natural key as a lookup.
pub struct MemorySink<R> {
    prefix: &'static str,
    rows: Mutex<Vec<(String, R)>>,
    next_id: AtomicU64,
    exactly_once: Mutex<bool>,
    batch_size: Mutex<usize>,
    apply_size: Mutex<Option<usize>>,
    concurrency: Mutex<usize>,
    call_delay: Mutex<std::time::Duration>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    requests: Arc<AtomicU64>,
    creates: AtomicU64,
    updates: AtomicU64,
    calls: AtomicU64,
    batches: AtomicU64,
    lookups: AtomicU64,
    prepares: AtomicU64,
    reject: Mutex<HashMap<String, Rejection>>,
    errors: Mutex<HashMap<String, Error>>,
    uncertain_after_apply: Mutex<HashSet<String>>,
    fail_all: Mutex<Option<Error>>,
    validator: Mutex<Option<Validator<R>>>,
    deps: Mutex<Option<Deps<R>>>,
    seen: Mutex<Vec<WriteItem<R>>>,
}

impl<R: Record> MemorySink<R> {
    fn new(prefix: &'static str, requests: Arc<AtomicU64>) -> Self {
        MemorySink {
            prefix,
            rows: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            exactly_once: Mutex::new(false),
            batch_size: Mutex::new(1),
            apply_size: Mutex::new(None),
            concurrency: Mutex::new(usize::MAX),
            call_delay: Mutex::new(std::time::Duration::ZERO),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            requests,
            creates: AtomicU64::new(0),
            updates: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            lookups: AtomicU64::new(0),
            prepares: AtomicU64::new(0),
            reject: Mutex::new(HashMap::new()),
            errors: Mutex::new(HashMap::new()),
            uncertain_after_apply: Mutex::new(HashSet::new()),
            fail_all: Mutex::new(None),
            validator: Mutex::new(None),
            deps: Mutex::new(None),
            seen: Mutex::new(Vec::new()),
        }
    }

    /// Makes the sink unable to deduplicate creates (and says so via `needs_exactly_once`).
    pub fn exactly_once(&self, on: bool) {
        *lock(&self.exactly_once) = on;
    }

    /// Sets the batch size.
    pub fn batch_size(&self, n: usize) {
        *lock(&self.batch_size) = n.max(1);
    }

    /// Sets [`Sink::apply_size`] (`None`: the batch size).
    pub fn apply_size(&self, n: Option<usize>) {
        *lock(&self.apply_size) = n;
    }

    /// Sets [`Sink::concurrency`], the calls it allows in flight.
    pub fn concurrency(&self, n: usize) {
        *lock(&self.concurrency) = n;
    }

    /// Makes every `prepare` and `apply` call take this long (to observe calls in flight).
    pub fn call_delay(&self, d: std::time::Duration) {
        *lock(&self.call_delay) = d;
    }

    /// The most `prepare` / `apply` calls that were in flight at once.
    pub fn max_in_flight(&self) -> u64 {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Counts a call in flight for its duration (after the configured delay).
    async fn in_call<T>(&self, f: impl FnOnce() -> T) -> T {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let delay = *lock(&self.call_delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let out = f();
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        out
    }

    /// Rejects the record with this key (`None`: accept it again).
    pub fn reject(&self, key: &str, rejection: Option<Rejection>) {
        match rejection {
            Some(r) => lock(&self.reject).insert(key.to_owned(), r),
            None => lock(&self.reject).remove(key),
        };
    }

    /// Fails writes of this key with `e`, without applying them (`None`: accept again).
    pub fn fail_key(&self, key: &str, e: Option<Error>) {
        match e {
            Some(e) => lock(&self.errors).insert(key.to_owned(), e),
            None => lock(&self.errors).remove(key),
        };
    }

    /// The next write of this key is applied, then answered with `Error::Uncertain` (a
    /// timeout after the target committed).
    pub fn uncertain_after_apply(&self, key: &str) {
        lock(&self.uncertain_after_apply).insert(key.to_owned());
    }

    /// Fails every write with `e` (`None`: accept again).
    pub fn fail_all(&self, e: Option<Error>) {
        *lock(&self.fail_all) = e;
    }

    /// Checks each item before applying it (e.g. "article unknown").
    pub fn validate_with(&self, f: impl Fn(&WriteItem<R>) -> Result<()> + Send + Sync + 'static) {
        *lock(&self.validator) = Some(Arc::new(f));
    }

    /// What [`Sink::dependencies`] returns.
    pub fn dependencies_with(&self, f: impl Fn(&R) -> Vec<Dependency> + Send + Sync + 'static) {
        *lock(&self.deps) = Some(Arc::new(f));
    }

    /// Creates so far.
    pub fn creates(&self) -> u64 {
        self.creates.load(Ordering::SeqCst)
    }
    /// Updates so far.
    pub fn updates(&self) -> u64 {
        self.updates.load(Ordering::SeqCst)
    }
    /// Writes so far (one per applied item, whatever the result).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
    /// `apply` calls so far (batches written).
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::SeqCst)
    }
    /// Lookups so far.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::SeqCst)
    }
    /// Stored records, in creation order, with their ids.
    pub fn rows(&self) -> Vec<(String, R)> {
        lock(&self.rows).clone()
    }
    /// How many stored records have this natural key.
    pub fn count(&self, key: &str) -> usize {
        lock(&self.rows).iter().filter(|(_, r)| r.key() == key).count()
    }
    /// The stored record with this key (the first, if duplicated).
    pub fn get(&self, key: &str) -> Option<(String, R)> {
        lock(&self.rows).iter().find(|(_, r)| r.key() == key).cloned()
    }
    /// Natural keys stored more than once.
    pub fn duplicates(&self) -> Vec<String> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (_, r) in lock(&self.rows).iter() {
            *counts.entry(r.key()).or_default() += 1;
        }
        counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(k, _)| k)
            .collect()
    }
    /// Every item written so far (with refs and target ids), in order.
    pub fn seen(&self) -> Vec<WriteItem<R>> {
        lock(&self.seen).clone()
    }

    /// What writing `item` would do, against the stored rows (the checks that reject run here).
    fn prepare_one(&self, item: &WriteItem<R>) -> Result<Prepared> {
        let key = item.record.key();
        if let Some(r) = lock(&self.reject).get(&key).cloned() {
            return Err(Error::Rejected(r.for_record(item.record.label())));
        }
        let validator = lock(&self.validator).clone();
        if let Some(v) = validator {
            v(item)?;
        }
        let exactly_once = *lock(&self.exactly_once);
        if item.target_id.is_none() && exactly_once {
            // the target cannot deduplicate: look the record up before creating it
            self.requests.fetch_add(1, Ordering::SeqCst);
            self.lookups.fetch_add(1, Ordering::SeqCst);
        }
        let rows = lock(&self.rows);
        let pos = match &item.target_id {
            Some(id) => Some(
                rows.iter()
                    .position(|(i, _)| i == id)
                    .ok_or_else(|| Error::NotFound {
                        what: format!("{} {id}", R::KIND.noun()),
                    })?,
            ),
            None => rows.iter().position(|(_, r)| r.key() == key),
        };
        let after = record_json(&item.record)?;
        Ok(match pos {
            Some(p) => {
                let (id, row) = &rows[p];
                let before = record_json(row)?;
                if record_hash(&before) == record_hash(&after) {
                    Prepared::unchanged(id.clone())
                } else {
                    Prepared::update(id.clone(), diff_json(&before, &after))
                }
            }
            None => Prepared::create(Some(after)),
        })
    }

    /// Writes one prepared item.
    fn apply_one(&self, item: &WriteItem<R>, prepared: &Prepared) -> Result<WriteOutcome> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.calls.fetch_add(1, Ordering::SeqCst);
        lock(&self.seen).push(item.clone());
        if let Some(e) = lock(&self.fail_all).clone() {
            return Err(e);
        }
        let key = item.record.key();
        if let Some(e) = lock(&self.errors).get(&key).cloned() {
            return Err(e);
        }
        let out = {
            let mut rows = lock(&self.rows);
            let pos = match prepared.target_id.as_ref().or(item.target_id.as_ref()) {
                Some(id) => Some(
                    rows.iter()
                        .position(|(i, _)| i == id)
                        .ok_or_else(|| Error::NotFound {
                            what: format!("{} {id}", R::KIND.noun()),
                        })?,
                ),
                // a target that deduplicates upserts by natural key; one that cannot creates
                None if !*lock(&self.exactly_once) => rows.iter().position(|(_, r)| r.key() == key),
                None => None,
            };
            match pos {
                Some(p) => {
                    rows[p].1 = item.record.clone();
                    self.updates.fetch_add(1, Ordering::SeqCst);
                    WriteOutcome::Updated {
                        target_id: rows[p].0.clone(),
                    }
                }
                None => {
                    let id = format!("{}-{}", self.prefix, self.next_id.fetch_add(1, Ordering::SeqCst));
                    rows.push((id.clone(), item.record.clone()));
                    self.creates.fetch_add(1, Ordering::SeqCst);
                    WriteOutcome::Created { target_id: id }
                }
            }
        };
        if lock(&self.uncertain_after_apply).remove(&key) {
            return Err(Error::Uncertain {
                message: format!("timeout after sending {}", item.record.label()),
            });
        }
        Ok(out)
    }

    /// Items prepared so far.
    pub fn prepares(&self) -> u64 {
        self.prepares.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl<R: Record> Sink<R> for MemorySink<R> {
    /// One read of the stored rows per batch; rejections and the validator run here.
    async fn prepare(&self, items: &[WriteItem<R>]) -> Vec<Result<Prepared>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.prepares.fetch_add(items.len() as u64, Ordering::SeqCst);
        self.in_call(|| items.iter().map(|i| self.prepare_one(i)).collect())
            .await
    }

    async fn apply(&self, items: &[WriteItem<R>], prepared: &[Prepared]) -> Vec<Result<WriteOutcome>> {
        self.batches.fetch_add(1, Ordering::SeqCst);
        self.in_call(|| {
            items
                .iter()
                .zip(prepared)
                .map(|(i, p)| self.apply_one(i, p))
                .collect()
        })
        .await
    }

    fn batch_size(&self) -> usize {
        *lock(&self.batch_size)
    }

    fn apply_size(&self) -> usize {
        lock(&self.apply_size).unwrap_or_else(|| *lock(&self.batch_size))
    }

    fn concurrency(&self) -> usize {
        *lock(&self.concurrency)
    }

    async fn lookup(&self, record: &R) -> Result<Option<String>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.lookups.fetch_add(1, Ordering::SeqCst);
        Ok(self.get(&record.key()).map(|(id, _)| id))
    }

    fn needs_exactly_once(&self) -> bool {
        *lock(&self.exactly_once)
    }

    fn dependencies(&self, record: &R) -> Vec<Dependency> {
        match lock(&self.deps).clone() {
            Some(f) => f(record),
            None => Vec::new(),
        }
    }
}
