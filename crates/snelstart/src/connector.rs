//! The SnelStart connector: `Source<Product>`, `Source<StockLevel>`, `Source<OpenAmount>`,
//! `Source<PaymentStatus>`, `Sink<Customer>` and `Sink<Order>` over one administration.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use koppel_core::connector::{Prepared, CHANGED_AFTER_EXPORT};
use koppel_core::http::{Safety, StatsSnapshot};
use koppel_core::{
    CheckReport, Connector, Customer, Dependency, Endpoints, Error, OpenAmount, Order, Page, PaymentStatus,
    Product, ReadRequest, Record, Rejection, Result, Sink, Source, StockLevel, WriteItem, WriteOutcome,
};
use serde_json::Value;

use crate::client::{Query, SnelStartClient};
use crate::config::{ChangedAfterExport, Config, GuestPolicy, MatchKey, StockKind};
use crate::mapping::{self, LineArticle, OrderInputs, RefData};
use crate::models::{
    Artikel, BtwTarief, CompanyInfo, Land, Omzetgroep, Relatie, Verkoopfactuur, Verkooporder,
};

/// Pages at most this many times through a lookup list (a safety stop).
const MAX_LOOKUP_PAGES: usize = 200;

const FILTER_UNKNOWN: u8 = 0;
const FILTER_WORKS: u8 = 1;
const FILTER_REFUSED: u8 = 2;

/// A value cached until a deadline.
struct Timed<T> {
    at: Instant,
    value: T,
}

/// One SnelStart administration. Cheap to clone.
#[derive(Clone)]
pub struct SnelStartConnector {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SnelStartConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnelStartConnector").finish_non_exhaustive()
    }
}

/// The shared state behind every endpoint.
pub struct Inner {
    config: Config,
    client: SnelStartClient,
    ttl: Duration,
    refdata: tokio::sync::Mutex<Option<Timed<Arc<RefData>>>>,
    /// artikelcode -> article
    articles_by_code: Mutex<HashMap<String, Timed<Artikel>>>,
    /// article GUID (lower case) -> article
    articles_by_id: Mutex<HashMap<String, Timed<Artikel>>>,
    /// verkooporder GUID (lower case) -> its orderreferentie
    order_refs: Mutex<HashMap<String, Option<String>>>,
    /// GUID of the verzameldebiteur
    collective: tokio::sync::Mutex<Option<String>>,
    /// Whether `$filter=Orderreferentie eq '…'` is accepted.
    orderref_filter: AtomicU8,
}

impl SnelStartConnector {
    /// Builds the connector (no I/O).
    pub fn new(config: Config) -> Result<Self> {
        config.validate()?;
        let client = SnelStartClient::new(&config)?;
        Ok(SnelStartConnector {
            inner: Arc::new(Inner {
                ttl: Duration::from_secs(config.reference_ttl_secs),
                config,
                client,
                refdata: tokio::sync::Mutex::new(None),
                articles_by_code: Mutex::default(),
                articles_by_id: Mutex::default(),
                order_refs: Mutex::default(),
                collective: tokio::sync::Mutex::new(None),
                orderref_filter: AtomicU8::new(FILTER_UNKNOWN),
            }),
        })
    }

    /// The shared state (implements every source and sink).
    pub fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// The HTTP client.
    pub fn client(&self) -> &SnelStartClient {
        &self.inner.client
    }
}

/// Paging that stays correct while records change (issue 9: `$skip` inside a moving window
/// lost records).
///
/// Why this scheme: SnelStart documents `$filter` (with `gt`/`ge`/`le` on `ModifiedOn`, and
/// comparisons on `Artikelcode`, shown working by Invantive's forum), `$skip`, `$top` (25 on
/// articles) and a bare array per page; it documents no `$orderby` and no order of the
/// results (the simulator refuses undeclared options, as the definition declares none). So no
/// keyset over a server order is available, and `$skip` inside `ModifiedOn gt since and
/// ModifiedOn le until` is what lost records: an edited record leaves the window and the rest
/// shift back. Instead every request asks for a *slice* of the window by filter alone and
/// never skips: `$skip=0`, `$top=N`. A slice that comes back with fewer than `N` records is
/// complete, whatever the order; a full one may hold more and is split at the change times
/// (or, for records sharing one change time, at the codes) of what it returned, and its parts
/// are read instead. The page token is the list of slices still to read. A record edited
/// during the read moves out of the window (its `ModifiedOn` passes `until`) and is read by
/// the next run; records appearing or disappearing change no other record's slice, so every
/// record that stays unchanged is read exactly once. Slices are read oldest first and each
/// page is returned in change-time order, so the engine's mid-read checkpoint still works.
/// The cost: full slices are read and split (about twice the requests of offset paging on a
/// first full read; an incremental window is usually one short slice).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Slice {
    /// `ModifiedOn` after this (exclusive), SnelStart's local time as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gt: Option<String>,
    /// `ModifiedOn` before this (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lt: Option<String>,
    /// `ModifiedOn` up to this (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    le: Option<String>,
    /// `ModifiedOn` exactly this (records sharing one change time), or `null` with `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    eq: Option<String>,
    /// Records without `ModifiedOn` (`ModifiedOn eq null`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    none: bool,
    /// Code after this (exclusive), within one change time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_gt: Option<String>,
    /// Code up to this (inclusive), within one change time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_le: Option<String>,
}

/// How one list is sliced: the unique code that splits records sharing one change time.
#[derive(Debug, Clone, Copy)]
struct Sliced {
    /// OData property, e.g. `Artikelcode`.
    code: &'static str,
    /// JSON key, e.g. `artikelcode`.
    json: &'static str,
}

const ARTICLES_SLICED: Sliced = Sliced {
    code: "Artikelcode",
    json: "artikelcode",
};
const INVOICES_SLICED: Sliced = Sliced {
    code: "Factuurnummer",
    json: "factuurnummer",
};

/// At most this many requests per `read` while splitting full slices (then an empty page with
/// the remaining slices is returned, and the engine reads on).
const MAX_SPLITS_PER_PAGE: usize = 32;

/// A plain local timestamp as SnelStart writes it (`2023-06-29T21:44:48.51`), parsed; only
/// such text goes into a `datetime'…'` literal.
fn local_time(v: &Value) -> Option<(chrono::NaiveDateTime, String)> {
    let s = v.get("modifiedOn")?.as_str()?;
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| (t, s.to_owned()))
}

impl Sliced {
    /// The slices of a whole window: records without change time (only when there is no lower
    /// bound), then the window.
    fn initial(&self, request: &ReadRequest) -> Vec<Slice> {
        let window = Slice {
            gt: request.since.map(mapping::format_filter_time),
            le: request.until.map(mapping::format_filter_time),
            lt: None,
            eq: None,
            none: false,
            code_gt: None,
            code_le: None,
        };
        let mut out = vec![window];
        if request.since.is_none() {
            out.insert(
                0,
                Slice {
                    none: true,
                    gt: None,
                    lt: None,
                    le: None,
                    eq: None,
                    code_gt: None,
                    code_le: None,
                },
            );
        }
        out
    }

    /// The `$filter` of a slice (with the window's own bounds, which it carries).
    fn filter(&self, s: &Slice) -> String {
        let mut terms = Vec::new();
        if s.none {
            terms.push("ModifiedOn eq null".to_owned());
        }
        if let Some(t) = &s.eq {
            terms.push(format!("ModifiedOn eq datetime'{t}'"));
        }
        if let Some(t) = &s.gt {
            terms.push(format!("ModifiedOn gt datetime'{t}'"));
        }
        if let Some(t) = &s.lt {
            terms.push(format!("ModifiedOn lt datetime'{t}'"));
        }
        if let Some(t) = &s.le {
            terms.push(format!("ModifiedOn le datetime'{t}'"));
        }
        if let Some(c) = &s.code_gt {
            terms.push(format!("{} gt {}", self.code, mapping::odata_string(c)));
        }
        if let Some(c) = &s.code_le {
            terms.push(format!("{} le {}", self.code, mapping::odata_string(c)));
        }
        if !s.none && s.eq.is_none() && s.gt.is_none() && s.lt.is_none() && s.le.is_none() {
            // unbounded in time: the records without change time are a slice of their own
            terms.insert(0, "ModifiedOn ne null".to_owned());
        }
        terms.join(" and ")
    }

    /// Splits a slice that came back full, at the change times (or codes) of what it returned;
    /// each part leaves out some of the returned records, so splitting ends. Oldest first.
    fn split(&self, s: &Slice, items: &[Value]) -> Result<Vec<Slice>> {
        let single_time = s.none || s.eq.is_some();
        if !single_time {
            let mut times: Vec<(chrono::NaiveDateTime, String)> =
                items.iter().filter_map(local_time).collect();
            times.sort();
            times.dedup_by(|a, b| a.0 == b.0);
            if times.is_empty() {
                return Err(Error::protocol(format!(
                    "a full page of {} records without one readable `modifiedOn`: cannot split it",
                    items.len()
                )));
            }
            let mut parts = Vec::new();
            if times.len() == 1 {
                // One change time: before it, at it (split by code), after it.
                let m = times[0].1.clone();
                parts.push(Slice {
                    lt: Some(m.clone()),
                    le: None,
                    ..s.clone()
                });
                parts.push(Slice {
                    eq: Some(m.clone()),
                    gt: None,
                    lt: None,
                    le: None,
                    ..s.clone()
                });
                parts.push(Slice {
                    gt: Some(m),
                    ..s.clone()
                });
                return Ok(parts);
            }
            // Cut at up to three change times spread over what came back: every part leaves
            // out at least one returned record (the first part the newest, the others the
            // oldest), so each is smaller than the slice.
            let n = times.len();
            let mut cuts: Vec<String> = [n / 4, n / 2, (3 * n) / 4]
                .iter()
                .map(|&i| times[i.min(n - 2)].1.clone())
                .collect();
            cuts.dedup();
            let mut lower = s.gt.clone();
            for c in cuts {
                parts.push(Slice {
                    gt: lower.clone(),
                    le: Some(c.clone()),
                    lt: None,
                    ..s.clone()
                });
                lower = Some(c);
            }
            // The last part keeps the slice's own upper bound.
            parts.push(Slice {
                gt: lower,
                ..s.clone()
            });
            return Ok(parts);
        }
        let mut codes: Vec<String> = items
            .iter()
            .filter_map(|v| v.get(self.json)?.as_str().map(str::to_owned))
            .collect();
        codes.sort_by_key(|c| c.to_lowercase());
        codes.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        if codes.len() < 2 {
            return Err(Error::protocol(format!(
                "a full page of {} records with one change time and fewer than two distinct `{}`: cannot split it",
                items.len(),
                self.json
            )));
        }
        let n = codes.len();
        let mut cuts: Vec<String> = [n / 4, n / 2, (3 * n) / 4]
            .iter()
            .map(|&i| codes[i.min(n - 2)].clone())
            .collect();
        cuts.dedup();
        let mut parts = Vec::new();
        let mut lower = s.code_gt.clone();
        for c in cuts {
            parts.push(Slice {
                code_gt: lower.clone(),
                code_le: Some(c.clone()),
                ..s.clone()
            });
            lower = Some(c);
        }
        parts.push(Slice {
            code_gt: lower,
            ..s.clone()
        });
        Ok(parts)
    }
}

impl Inner {
    /// One page of a sliced list: reads slices until one comes back complete (fewer than `top`
    /// records) and returns it in change-time order, with the slices still to read as token.
    async fn read_sliced(
        &self,
        resource: &str,
        sliced: Sliced,
        request: &ReadRequest,
        select: Option<&str>,
        top: u32,
        whole: bool,
    ) -> Result<(Vec<Value>, Option<String>)> {
        let mut todo: Vec<Slice> = match &request.page {
            None if whole => sliced.initial(&ReadRequest {
                since: None,
                until: None,
                page: None,
            }),
            None => sliced.initial(request),
            Some(t) => koppel_core::paging::decode_token(t)?,
        };
        // `todo` holds the slices oldest first; work from the front.
        todo.reverse();
        let token = |todo: &Vec<Slice>| {
            (!todo.is_empty()).then(|| {
                let mut rest = todo.clone();
                rest.reverse();
                koppel_core::paging::encode_token(&rest)
            })
        };
        for _ in 0..MAX_SPLITS_PER_PAGE {
            let Some(slice) = todo.pop() else {
                return Ok((Vec::new(), None));
            };
            let q = Query {
                filter: Some(sliced.filter(&slice)),
                select: select.map(str::to_owned),
                skip: 0,
                top,
            };
            let mut items = self.client.list_page(resource, &q).await?;
            if items.is_empty() && !todo.is_empty() {
                continue;
            }
            if items.len() < top as usize {
                // change-time order; records without a readable one last (stable)
                items.sort_by_key(|v| {
                    let t = local_time(v).map(|t| t.0);
                    (t.is_none(), t)
                });
                return Ok((items, token(&todo)));
            }
            for part in sliced.split(&slice, &items)?.into_iter().rev() {
                todo.push(part);
            }
        }
        Ok((Vec::new(), token(&todo)))
    }
}

fn item_label(kind: &str, v: &Value) -> String {
    let id = ["artikelcode", "factuurnummer", "id"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .unwrap_or("(unknown)");
    format!("{kind} {id}")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    fn fresh(&self, at: Instant) -> bool {
        at.elapsed() < self.ttl
    }

    /// Reference data, read once per TTL.
    pub async fn refdata(&self) -> Result<Arc<RefData>> {
        let mut guard = self.refdata.lock().await;
        if let Some(t) = guard.as_ref() {
            if self.fresh(t.at) {
                return Ok(t.value.clone());
            }
        }
        let c = &self.client;
        // four small reads, side by side
        let (groups, tarieven, landen, company): (Vec<Omzetgroep>, Vec<BtwTarief>, Vec<Land>, CompanyInfo) =
            tokio::try_join!(
                c.get("/artikelomzetgroepen", "/artikelomzetgroepen"),
                c.get("/btwtarieven", "/btwtarieven"),
                c.get("/landen", "/landen"),
                c.get("/companyInfo", "/companyInfo"),
            )?;
        let refs = Arc::new(RefData::new(groups, tarieven, landen, &company));
        *guard = Some(Timed {
            at: Instant::now(),
            value: refs.clone(),
        });
        Ok(refs)
    }

    fn remember_article(&self, a: &Artikel) {
        let now = Instant::now();
        if let Some(code) = &a.artikelcode {
            lock(&self.articles_by_code).insert(
                code.clone(),
                Timed {
                    at: now,
                    value: a.clone(),
                },
            );
        }
        if let Some(id) = &a.id {
            lock(&self.articles_by_id).insert(
                id.to_ascii_lowercase(),
                Timed {
                    at: now,
                    value: a.clone(),
                },
            );
        }
    }

    /// An article by its code (`$filter=Artikelcode eq '…'`), cached; `None` when unknown.
    pub async fn article_by_code(&self, code: &str) -> Result<Option<Artikel>> {
        if let Some(t) = lock(&self.articles_by_code).get(code) {
            if self.fresh(t.at) {
                return Ok(Some(t.value.clone()));
            }
        }
        let q = Query {
            filter: Some(format!("Artikelcode eq {}", mapping::odata_string(code))),
            select: None,
            skip: 0,
            top: 2,
        };
        let items = self.client.list_page("/artikelen", &q).await?;
        let found = items
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Artikel>(v).ok())
            .find(|a| a.artikelcode.as_deref() == Some(code));
        if let Some(a) = &found {
            self.remember_article(a);
        }
        Ok(found)
    }

    /// An article by GUID, cached; `None` when SnelStart does not know it.
    pub async fn article_by_id(&self, id: &str) -> Result<Option<Artikel>> {
        if let Some(t) = lock(&self.articles_by_id).get(&id.to_ascii_lowercase()) {
            if self.fresh(t.at) {
                return Ok(Some(t.value.clone()));
            }
        }
        match self
            .client
            .get::<Artikel>(&format!("/artikelen/{id}"), "/artikelen/{id}")
            .await
        {
            Ok(a) => {
                self.remember_article(&a);
                Ok(Some(a))
            }
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn read_articles(
        &self,
        request: &ReadRequest,
        select: Option<&str>,
        incremental: bool,
    ) -> Result<(Vec<Value>, Option<String>)> {
        let top = self.config.article_page_size;
        self.read_sliced("/artikelen", ARTICLES_SLICED, request, select, top, !incremental)
            .await
    }

    /// The orderreferentie of a verkooporder (GET, cached).
    async fn order_reference(&self, id: &str) -> Result<Option<String>> {
        let key = id.to_ascii_lowercase();
        if let Some(r) = lock(&self.order_refs).get(&key) {
            return Ok(r.clone());
        }
        let r = match self
            .client
            .get::<Verkooporder>(&format!("/verkooporders/{id}"), "/verkooporders/{id}")
            .await
        {
            Ok(o) => o
                .orderreferentie
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            Err(Error::NotFound { .. }) => {
                tracing::debug!(verkooporder = id, "linked verkooporder not found");
                None
            }
            Err(e) => return Err(e),
        };
        lock(&self.order_refs).insert(key, r.clone());
        Ok(r)
    }

    /// One page of invoices with the shop order numbers they cover.
    async fn read_invoices(
        &self,
        request: &ReadRequest,
    ) -> Result<(
        Vec<std::result::Result<(Verkoopfactuur, Vec<String>), Rejection>>,
        Option<String>,
    )> {
        let top = self.config.page_size;
        let (items, next) = self
            .read_sliced("/verkoopfacturen", INVOICES_SLICED, request, None, top, false)
            .await?;
        let mut out = Vec::with_capacity(items.len());
        for v in items {
            let label = item_label("invoice", &v);
            let inv: Verkoopfactuur = match serde_json::from_value(v) {
                Ok(i) => i,
                Err(e) => {
                    out.push(Err(Rejection::new(label, None, format!("unreadable: {e}"))));
                    continue;
                }
            };
            let mut numbers = Vec::new();
            for o in inv.verkoop_orders.iter().flatten() {
                if let Some(id) = o.id.as_deref() {
                    if let Some(n) = self.order_reference(id).await? {
                        if !numbers.contains(&n) {
                            numbers.push(n);
                        }
                    }
                }
            }
            if numbers.is_empty() {
                tracing::debug!(invoice = %label, "skipped: no linked verkooporder with an orderreferentie");
                continue;
            }
            out.push(Ok((inv, numbers)));
        }
        Ok((out, next))
    }

    /// One page of invoices mapped with `map`, one record per shop order each invoice covers.
    async fn invoice_page<R>(
        &self,
        request: &ReadRequest,
        map: fn(&Verkoopfactuur, &str) -> std::result::Result<R, Rejection>,
    ) -> Result<Page<R>> {
        let (invoices, next) = self.read_invoices(request).await?;
        let mut items = Vec::new();
        for inv in invoices {
            match inv {
                Err(r) => items.push(Err(r)),
                Ok((f, numbers)) => items.extend(numbers.iter().map(|n| map(&f, n))),
            }
        }
        Ok(Page { items, next })
    }

    // --- customers -------------------------------------------------------------------------

    async fn relatie_json(&self, id: &str) -> Result<Option<Value>> {
        match self
            .client
            .get::<Value>(&format!("/relaties/{id}"), "/relaties/{id}")
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn match_filter(key: MatchKey, c: &Customer) -> Option<String> {
        let (field, value) = match key {
            MatchKey::Email => (
                "Email",
                c.email
                    .as_deref()
                    .map(str::trim)
                    .filter(|e| !e.is_empty())?
                    .to_owned(),
            ),
            MatchKey::VatNumber => (
                "BtwNummer",
                mapping::normalize_vat_number(c.vat_number.as_deref()?)?,
            ),
            MatchKey::KvkNumber => {
                let k = mapping::normalize_kvk(c.kvk_number.as_deref()?);
                if k.is_empty() {
                    return None;
                }
                ("KvkNummer", k)
            }
        };
        Some(format!(
            "{field} eq {} and Relatiesoort/any(r:r eq 'Klant')",
            mapping::odata_string(&value)
        ))
    }

    /// The first active Klant relatie matching the customer by the configured keys.
    async fn match_relatie(&self, c: &Customer) -> Result<Option<(String, Value)>> {
        for key in &self.config.customers.match_order {
            let Some(filter) = Self::match_filter(*key, c) else {
                continue;
            };
            let q = Query {
                filter: Some(filter),
                select: None,
                skip: 0,
                top: 10,
            };
            let items = self.client.list_page("/relaties", &q).await?;
            for v in items {
                let Ok(r) = serde_json::from_value::<Relatie>(v.clone()) else {
                    continue;
                };
                let klant = r
                    .relatiesoort
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|k| k == "Klant"));
                if klant && r.nonactief != Some(true) {
                    if let Some(id) = r.id {
                        tracing::debug!(customer = %c.label(), by = ?key, relatie = %id, "matched existing relatie");
                        return Ok(Some((id, v)));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The verzameldebiteur's GUID (looked up once by relatiecode).
    async fn collective_relatie(&self) -> Result<String> {
        let mut guard = self.collective.lock().await;
        if let Some(id) = guard.as_ref() {
            return Ok(id.clone());
        }
        let code = self.config.customers.collective_relatie_code.ok_or_else(|| {
            Error::config(
                "customers.collective_relatie_code",
                "required when guests = \"collective\"",
            )
        })?;
        let q = Query {
            filter: Some(format!("Relatiecode eq {code}")),
            select: None,
            skip: 0,
            top: 2,
        };
        let items = self.client.list_page("/relaties", &q).await?;
        let id = items
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Relatie>(v).ok())
            .find(|r| r.relatiecode == Some(code))
            .and_then(|r| r.id)
            .ok_or_else(|| {
                Error::config(
                    "customers.collective_relatie_code",
                    format!("no relatie with relatiecode {code} in this administration"),
                )
            })?;
        *guard = Some(id.clone());
        Ok(id)
    }

    // --- orders ----------------------------------------------------------------------------

    /// Finds a verkooporder by `orderreferentie`: with `$filter`, or, when SnelStart refuses
    /// that filter, by paging through orders changed since a few days before the shop order.
    pub async fn find_order(&self, o: &Order) -> Result<Option<String>> {
        let number = o.number.trim();
        if self.orderref_filter.load(Ordering::Relaxed) != FILTER_REFUSED {
            let q = Query {
                filter: Some(format!("Orderreferentie eq {}", mapping::odata_string(number))),
                select: None,
                skip: 0,
                top: 10,
            };
            match self.client.list_page("/verkooporders", &q).await {
                Ok(items) => {
                    self.orderref_filter.store(FILTER_WORKS, Ordering::Relaxed);
                    return Ok(first_with_reference(items, number));
                }
                Err(Error::Rejected(r)) if self.orderref_filter.load(Ordering::Relaxed) == FILTER_UNKNOWN => {
                    tracing::warn!(reason = %r, "SnelStart refuses $filter on Orderreferentie; falling back to paging through recent orders");
                    self.orderref_filter.store(FILTER_REFUSED, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        let since = o.created_at - chrono::Duration::days(i64::from(self.config.orders.lookup_fallback_days));
        let q = Query {
            filter: mapping::modified_filter(Some(since), None),
            select: Some("Id,Orderreferentie".to_owned()),
            skip: 0,
            top: self.config.page_size,
        };
        let items = self
            .client
            .list_all("/verkooporders", q, MAX_LOOKUP_PAGES)
            .await?;
        Ok(first_with_reference(items, number))
    }

    async fn charge_article(
        &self,
        path: &str,
        code: Option<&str>,
        date: chrono::NaiveDate,
        refs: &RefData,
    ) -> Result<Option<LineArticle>> {
        let Some(code) = code else { return Ok(None) };
        let a = self
            .article_by_code(code)
            .await?
            .ok_or_else(|| Error::config(path, format!("article {code:?} does not exist in SnelStart")))?;
        let vat = refs
            .article_vat(&a, date)
            .map_err(|m| Error::config(path, format!("article {code}: {m}")))?;
        let id =
            a.id.ok_or_else(|| Error::protocol(format!("article {code} has no id")))?;
        Ok(Some(LineArticle {
            id,
            code: code.to_owned(),
            vat,
        }))
    }
}

fn first_with_reference(items: Vec<Value>, number: &str) -> Option<String> {
    items.into_iter().find_map(|v| {
        let o: Verkooporder = serde_json::from_value(v).ok()?;
        (o.orderreferentie.as_deref().map(str::trim) == Some(number))
            .then_some(o.id)
            .flatten()
    })
}

#[async_trait]
impl Source<Product> for Inner {
    async fn read(&self, request: &ReadRequest) -> Result<Page<Product>> {
        let (items, next) = self.read_articles(request, None, true).await?;
        let refs = self.refdata().await?;
        let today = mapping::today_nl();
        let items = items
            .into_iter()
            .map(|v| {
                let label = item_label("article", &v);
                let a: Artikel = serde_json::from_value(v)
                    .map_err(|e| Rejection::new(&label, None, format!("unreadable: {e}")))?;
                self.remember_article(&a);
                mapping::article_to_product(&a, &refs, &self.config.products, today)
            })
            .collect();
        Ok(Page { items, next })
    }
}

#[async_trait]
impl Source<StockLevel> for Inner {
    async fn read(&self, request: &ReadRequest) -> Result<Page<StockLevel>> {
        let cfg = &self.config.stock;
        let select = match cfg.kind {
            StockKind::Technical => "Id,Artikelcode,ModifiedOn,VoorraadControle,TechnischeVoorraad",
            StockKind::Free => "Id,Artikelcode,ModifiedOn,VoorraadControle,VrijeVoorraad",
        };
        let (items, next) = self.read_articles(request, Some(select), cfg.incremental).await?;
        let items = items
            .into_iter()
            .filter_map(|v| {
                let label = item_label("article", &v);
                match serde_json::from_value::<Artikel>(v) {
                    Err(e) => Some(Err(Rejection::new(&label, None, format!("unreadable: {e}")))),
                    Ok(a) => mapping::article_to_stock(&a, cfg.kind, cfg.skip_untracked).transpose(),
                }
            })
            .collect();
        Ok(Page { items, next })
    }
}

#[async_trait]
impl Source<OpenAmount> for Inner {
    async fn read(&self, request: &ReadRequest) -> Result<Page<OpenAmount>> {
        self.invoice_page(request, mapping::invoice_to_open_amount).await
    }
}

#[async_trait]
impl Source<PaymentStatus> for Inner {
    async fn read(&self, request: &ReadRequest) -> Result<Page<PaymentStatus>> {
        self.invoice_page(request, mapping::invoice_to_payment).await
    }
}

/// What a customer's prepare decided to send.
enum RelatieOp {
    /// `POST /relaties` of a new relatie.
    Post(crate::models::RelatieWrite),
    /// `PUT /relaties/{id}` of the merged relatie.
    Put { id: String, body: Value },
}

/// Create / update (with SnelStart's current value -> the new one) / unchanged for a relatie
/// as SnelStart holds it.
fn relatie_verdict(id: &str, existing: &Value, desired: &crate::models::RelatieWrite) -> Prepared {
    match mapping::merge_relatie(existing, desired) {
        None => Prepared::unchanged(id),
        Some(body) => {
            let changes = koppel_core::engine::diff_json(existing, &body)
                .into_iter()
                .filter(|c| !c.after.is_null())
                .collect();
            Prepared::update(id, changes).with_carry(RelatieOp::Put {
                id: id.to_owned(),
                body,
            })
        }
    }
}

impl Inner {
    /// The read-only half of a customer write: the relatie bound, or matched by the configured
    /// keys, compared with what koppel would write.
    async fn prepare_customer(&self, item: &WriteItem<Customer>) -> Result<Prepared> {
        let c = &item.record;
        if c.is_guest && self.config.customers.guests == GuestPolicy::Collective {
            let id = self.collective_relatie().await?;
            return Ok(Prepared::unchanged(id));
        }
        let refs = self.refdata().await?;
        let desired = mapping::customer_to_relatie(c, &refs).map_err(Error::Rejected)?;
        if let Some(id) = &item.target_id {
            match self.relatie_json(id).await? {
                Some(existing) => return Ok(relatie_verdict(id, &existing, &desired)),
                None => {
                    tracing::info!(customer = %c.label(), relatie = %id, "bound relatie no longer exists; matching again")
                }
            }
        }
        if let Some((id, existing)) = self.match_relatie(c).await? {
            return Ok(relatie_verdict(&id, &existing, &desired));
        }
        let after = serde_json::to_value(&desired).ok();
        Ok(Prepared::create(after).with_carry(RelatieOp::Post(desired)))
    }

    async fn apply_customer(&self, item: &WriteItem<Customer>, prepared: &Prepared) -> Result<WriteOutcome> {
        let c = &item.record;
        let fresh;
        let prepared = match prepared.carried::<RelatieOp>() {
            Some(_) => prepared,
            None => {
                fresh = self.prepare_customer(item).await?;
                &fresh
            }
        };
        match prepared.carried::<RelatieOp>() {
            None => Ok(WriteOutcome::Unchanged {
                target_id: prepared.target_id.clone().unwrap_or_default(),
            }),
            Some(RelatieOp::Put { id, body }) => {
                self.client
                    .put(&format!("/relaties/{id}"), "/relaties/{id}", body)
                    .await
                    .map_err(|e| with_record(e, &c.label()))?;
                Ok(WriteOutcome::Updated {
                    target_id: id.clone(),
                })
            }
            Some(RelatieOp::Post(desired)) => {
                let created = self
                    .client
                    .post("/relaties", desired, Safety::NonIdempotent)
                    .await
                    .map_err(|e| with_record(e, &c.label()))?;
                match created.as_ref().and_then(|v| v.get("id")).and_then(Value::as_str) {
                    Some(id) => Ok(WriteOutcome::Created { target_id: id.to_owned() }),
                    None => match self.match_relatie(c).await? {
                        Some((id, _)) => Ok(WriteOutcome::Created { target_id: id }),
                        None => Err(Error::Uncertain {
                            message: format!("{}: POST /relaties answered without an id and the relatie cannot be found by its keys", c.label()),
                        }),
                    },
                }
            }
        }
    }
}

#[async_trait]
impl Sink<Customer> for Inner {
    /// Per customer: the bound relatie (`GET /relaties/{id}`) or the first matching one (by
    /// the configured keys), merged with what koppel writes: create, update of the fields that
    /// differ, or unchanged. Reads only.
    async fn prepare(&self, items: &[WriteItem<Customer>]) -> Vec<Result<Prepared>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(
                self.prepare_customer(item)
                    .await
                    .map_err(|e| with_record(e, &item.record.label())),
            );
        }
        out
    }

    async fn apply(&self, items: &[WriteItem<Customer>], prepared: &[Prepared]) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(self.apply_customer(item, p).await);
        }
        out
    }

    async fn lookup(&self, record: &Customer) -> Result<Option<String>> {
        if record.is_guest && self.config.customers.guests == GuestPolicy::Collective {
            return self.collective_relatie().await.map(Some);
        }
        Ok(self.match_relatie(record).await?.map(|(id, _)| id))
    }
}

fn with_record(e: Error, label: &str) -> Error {
    match e {
        Error::Rejected(r) => Error::Rejected(r.for_record(label)),
        other => other,
    }
}

/// What an order's prepare decided to send.
enum OrderOp {
    /// `POST /verkooporders` of a new order.
    Post(Box<mapping::OrderPlan>),
    /// `PUT /verkooporders/{id}` replacing an order that has no invoice
    /// (`orders.changed_after_export = "update"`).
    Put { id: String, body: Value },
}

/// `current` reduced to the shape of `shape` (the body koppel would send), so the two compare
/// field by field: object keys koppel does not send are left out; array elements koppel does not
/// send stay whole (a line removed in the shop shows as a change). Scalars are normalised:
/// numbers as decimals, GUIDs in lower case, date-times to the precision koppel sends.
fn project(current: &Value, shape: &Value) -> Value {
    match (current, shape) {
        (Value::Object(c), Value::Object(s)) => Value::Object(
            s.iter()
                .map(|(k, sv)| (k.clone(), project(c.get(k).unwrap_or(&Value::Null), sv)))
                .collect(),
        ),
        (Value::Array(c), Value::Array(s)) => Value::Array(
            c.iter()
                .enumerate()
                .map(|(i, cv)| match s.get(i) {
                    Some(sv) => project(cv, sv),
                    None => normalise(cv),
                })
                .collect(),
        ),
        (c, s) => {
            let c = normalise(c);
            // SnelStart answers date-times with more precision than koppel sends
            match (&c, s) {
                (Value::String(cs), Value::String(ss))
                    if ss.len() == 19 && cs.len() > 19 && cs.starts_with(ss.as_str()) =>
                {
                    Value::String(ss.clone())
                }
                _ => c,
            }
        }
    }
}

fn normalise(v: &Value) -> Value {
    match v {
        Value::Number(n) => match n.to_string().parse::<rust_decimal::Decimal>() {
            Ok(d) => Value::String(d.normalize().to_string()),
            Err(_) => v.clone(),
        },
        Value::String(s) if uuid_like(s) => Value::String(s.to_ascii_lowercase()),
        Value::String(s) => Value::String(s.trim().to_owned()),
        Value::Array(a) => Value::Array(a.iter().map(normalise).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), normalise(v))).collect()),
        other => other.clone(),
    }
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36
        && s.chars().filter(|c| *c == '-').count() == 4
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

/// Shop statuses that mean the order no longer stands (Magento `canceled` and `closed`, i.e.
/// refunded; the other spellings shops use).
fn cancelled_status(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "canceled" | "cancelled" | "closed" | "refunded"
    )
}

fn describe_changes(changes: &[koppel_core::FieldChange]) -> String {
    let mut parts: Vec<String> = changes
        .iter()
        .take(8)
        .map(|c| format!("{}: {} -> {}", c.path, c.before, c.after))
        .collect();
    if changes.len() > 8 {
        parts.push(format!("and {} more", changes.len() - 8));
    }
    parts.join("; ")
}

impl Inner {
    /// Maps an order to the verkooporder body with every check that can reject it: the buyer,
    /// each line's article (by binding, else by code) and its VAT, the service articles, the
    /// shop's VAT and totals (in [`mapping::order_to_verkooporder`]). Reads only.
    async fn map_order(&self, item: &WriteItem<Order>) -> Result<mapping::OrderPlan> {
        let o = &item.record;
        let label = o.label();
        let relatie_id = item.refs.get("customer").cloned().ok_or_else(|| {
            Error::rejected(
                &label,
                Some("customer"),
                "the buyer has no relatie in SnelStart (dependency not resolved)",
            )
        })?;
        let refs = self.refdata().await?;
        let date = mapping::order_date(o);
        let mut lines = Vec::with_capacity(o.lines.len());
        for (i, line) in o.lines.iter().enumerate() {
            let field = format!("lines[{i}].sku");
            let sku = line
                .sku
                .as_ref()
                .ok_or_else(|| Error::rejected(&label, Some(&field), "missing"))?;
            let article = match item.refs.get(&format!("sku:{sku}")) {
                Some(id) => self.article_by_id(id).await?,
                None => self.article_by_code(sku.as_str()).await?,
            };
            let a = article.ok_or_else(|| {
                Error::rejected(
                    &label,
                    Some(&field),
                    format!("article {sku} does not exist in SnelStart"),
                )
            })?;
            let vat = refs
                .article_vat(&a, date)
                .map_err(|m| Error::rejected(&label, Some(&field), format!("article {sku}: {m}")))?;
            let id =
                a.id.ok_or_else(|| Error::protocol(format!("article {sku} has no id")))?;
            lines.push(LineArticle {
                id,
                code: sku.to_string(),
                vat,
            });
        }
        let cfg = &self.config.orders;
        let inputs = OrderInputs {
            relatie_id,
            lines,
            shipping_article: self
                .charge_article(
                    "orders.shipping_article",
                    cfg.shipping_article.as_deref(),
                    date,
                    &refs,
                )
                .await?,
            payment_article: self
                .charge_article(
                    "orders.payment_fee_article",
                    cfg.payment_fee_article.as_deref(),
                    date,
                    &refs,
                )
                .await?,
            discount_article: self
                .charge_article(
                    "orders.discount_article",
                    cfg.discount_article.as_deref(),
                    date,
                    &refs,
                )
                .await?,
            refs: &refs,
            config: cfg,
        };
        mapping::order_to_verkooporder(o, &inputs).map_err(Error::Rejected)
    }

    /// The read-only half of an order write. Not exported yet: looked up by orderreferentie
    /// (exactly once: an order SnelStart already has is bound, never posted again), then mapped
    /// with every check. Exported before ([`Inner::prepare_exported`]): compared with SnelStart.
    async fn prepare_order(&self, item: &WriteItem<Order>) -> Result<Prepared> {
        let o = &item.record;
        let label = o.label();
        if let Some(id) = &item.target_id {
            return self.prepare_exported(item, id).await;
        }
        o.validate()?;
        if let Some(id) = self.find_order(o).await? {
            tracing::info!(order = %label, verkooporder = %id, "already in SnelStart (orderreferentie); not posting again");
            return Ok(Prepared::unchanged(id));
        }
        let plan = self.map_order(item).await?;
        Ok(Prepared::create(None).with_carry(OrderOp::Post(Box::new(plan))))
    }

    /// An order exported before whose shop record changed since (its hash differs from the
    /// binding's): reads the verkooporder as SnelStart holds it and compares it with what the
    /// changed order maps to. Equal: unchanged (nothing to do, e.g. only the shop's status
    /// moved, or the owner already corrected SnelStart). Different: an update when
    /// `orders.changed_after_export = "update"` and SnelStart has not invoiced it; otherwise a
    /// rejection with code [`CHANGED_AFTER_EXPORT`] naming the fields (SnelStart -> shop).
    /// Never a create.
    async fn prepare_exported(&self, item: &WriteItem<Order>, id: &str) -> Result<Prepared> {
        let o = &item.record;
        let label = o.label();
        let changed = |detail: String, changes: &[koppel_core::FieldChange]| {
            let mut r = Rejection::new(
                &label,
                changes.first().map(|c| c.path.as_str()),
                format!(
                    "changed after export to SnelStart (verkooporder {id}): {detail}{}",
                    if changes.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", describe_changes(changes))
                    }
                ),
            );
            r.code = Some(CHANGED_AFTER_EXPORT.to_owned());
            Error::Rejected(r)
        };
        let current: Value = match self
            .client
            .get(&format!("/verkooporders/{id}"), "/verkooporders/{id}")
            .await
        {
            Ok(v) => v,
            Err(Error::NotFound { .. }) => {
                return Err(changed(
                    "the verkooporder no longer exists in SnelStart; koppel does not create it again".into(),
                    &[],
                ))
            }
            Err(e) => return Err(e),
        };
        let shop_changes = match &item.previous {
            Some(prev) => koppel_core::engine::diff_json(
                &koppel_core::engine::record_json(prev)?,
                &koppel_core::engine::record_json(o)?,
            ),
            None => Vec::new(),
        };
        let plan = match self.map_order(item).await {
            Ok(p) => p,
            Err(Error::Rejected(r)) => {
                return Err(changed(
                    format!(
                        "the changed order cannot be mapped ({}); correct SnelStart by hand",
                        r.message
                    ),
                    &shop_changes,
                ))
            }
            Err(e) => return Err(e),
        };
        let body = serde_json::to_value(&plan.body)
            .map_err(|e| Error::internal(format!("cannot encode the verkooporder: {e}")))?;
        let changes = koppel_core::engine::diff_json(&project(&current, &body), &normalise(&body));
        if changes.is_empty() {
            // a cancellation or refund leaves the verkooporder's fields as they were, but
            // SnelStart still books an order the shop no longer has: the owner must know
            let status = shop_changes.iter().find(|c| c.path == "status");
            if let Some(c) = status.filter(|c| c.after.as_str().is_some_and(cancelled_status)) {
                return Err(changed(
                    format!(
                        "the shop's order is now {} (was {}); cancel or credit it in SnelStart by hand",
                        c.after, c.before
                    ),
                    &shop_changes,
                ));
            }
            return Ok(Prepared::unchanged(id));
        }
        let invoiced = current.get("verkoopfactuur").is_some_and(|f| !f.is_null());
        match self.config.orders.changed_after_export {
            ChangedAfterExport::Update if !invoiced => {
                Ok(Prepared::update(id, changes).with_carry(OrderOp::Put {
                    id: id.to_owned(),
                    body,
                }))
            }
            ChangedAfterExport::Update => Err(changed(
                "SnelStart has invoiced it, so it cannot be updated; correct it in SnelStart by hand".into(),
                &changes,
            )),
            ChangedAfterExport::Report => Err(changed(
                "correct it in SnelStart by hand (or set orders.changed_after_export = \"update\")".into(),
                &changes,
            )),
        }
    }

    async fn apply_order(&self, item: &WriteItem<Order>, prepared: &Prepared) -> Result<WriteOutcome> {
        let o = &item.record;
        let label = o.label();
        let fresh;
        let prepared = match prepared.carried::<OrderOp>() {
            Some(_) => prepared,
            None => {
                fresh = self.prepare_order(item).await?;
                &fresh
            }
        };
        let plan = match prepared.carried::<OrderOp>() {
            None => {
                return Ok(WriteOutcome::Unchanged {
                    target_id: prepared.target_id.clone().unwrap_or_default(),
                })
            }
            Some(OrderOp::Put { id, body }) => {
                self.client
                    .put(&format!("/verkooporders/{id}"), "/verkooporders/{id}", body)
                    .await
                    .map_err(|e| with_record(e, &label))?;
                tracing::info!(order = %label, verkooporder = %id, "changed after export: verkooporder updated");
                return Ok(WriteOutcome::Updated {
                    target_id: id.clone(),
                });
            }
            Some(OrderOp::Post(plan)) => plan,
        };
        for w in &plan.warnings {
            tracing::warn!(order = %label, "{w}");
        }
        let created = self
            .client
            .post("/verkooporders", &plan.body, Safety::NonIdempotent)
            .await
            .map_err(|e| with_record(e, &label))?;
        let parsed: Option<Verkooporder> = created.and_then(|v| serde_json::from_value(v).ok());
        if let Some(total) = parsed.as_ref().and_then(|p| p.totaal_inclusief_btw) {
            if koppel_core::model::round_money(total, 2) != plan.total_incl {
                tracing::warn!(order = %label, snelstart = %total, expected = %plan.total_incl, "SnelStart computed a different order total");
            }
        }
        match parsed.and_then(|p| p.id) {
            Some(id) => {
                lock(&self.order_refs).insert(id.to_ascii_lowercase(), Some(o.number.trim().to_owned()));
                Ok(WriteOutcome::Created { target_id: id })
            }
            None => match self.find_order(o).await? {
                Some(id) => Ok(WriteOutcome::Created { target_id: id }),
                None => Err(Error::Uncertain {
                    message: format!("{label}: POST /verkooporders answered without an id and the order cannot be found by orderreferentie"),
                }),
            },
        }
    }
}

#[async_trait]
impl Sink<Order> for Inner {
    /// Per order: the lookup by orderreferentie (exactly once), the mapping with every check
    /// (articles, VAT, totals), and for an order exported before the comparison with the
    /// verkooporder SnelStart holds. Reads only.
    async fn prepare(&self, items: &[WriteItem<Order>]) -> Vec<Result<Prepared>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(
                self.prepare_order(item)
                    .await
                    .map_err(|e| with_record(e, &item.record.label())),
            );
        }
        out
    }

    async fn apply(&self, items: &[WriteItem<Order>], prepared: &[Prepared]) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(self.apply_order(item, p).await);
        }
        out
    }

    async fn lookup(&self, record: &Order) -> Result<Option<String>> {
        self.find_order(record).await
    }

    fn needs_exactly_once(&self) -> bool {
        true
    }

    fn dependencies(&self, record: &Order) -> Vec<Dependency> {
        let mut deps = vec![Dependency::Customer(Box::new(record.customer.clone()))];
        for line in &record.lines {
            if let Some(sku) = &line.sku {
                let dep = Dependency::Product(sku.clone());
                if !deps.contains(&dep) {
                    deps.push(dep);
                }
            }
        }
        deps
    }
}

#[async_trait]
impl Connector for SnelStartConnector {
    fn name(&self) -> &'static str {
        "snelstart"
    }

    fn endpoints(&self) -> Endpoints {
        let i = &self.inner;
        Endpoints {
            product_source: Some(i.clone()),
            stock_source: Some(i.clone()),
            customer_sink: Some(i.clone()),
            order_sink: Some(i.clone()),
            open_amount_source: Some(i.clone()),
            payment_source: Some(i.clone()),
            ..Endpoints::default()
        }
    }

    async fn check(&self) -> Result<CheckReport> {
        let i = &self.inner;
        let cfg = &i.config;
        let mut checks = Vec::new();
        i.client.probe_token().await.map_err(|e| match e {
            Error::Transient { message, .. } => Error::Transient {
                message: format!("cannot reach the token endpoint {}: {message}", cfg.auth_url),
                retry_after: None,
            },
            other => other,
        })?;
        checks.push(format!("token from {}: ok", cfg.auth_url));
        let unreachable = |e: Error| match e {
            Error::Transient { message, .. } => Error::Transient {
                message: format!(
                    "cannot reach the SnelStart API at {}: {message}",
                    cfg.api_base_url
                ),
                retry_after: None,
            },
            other => other,
        };
        let company: CompanyInfo = i
            .client
            .get("/companyInfo", "/companyInfo")
            .await
            .map_err(unreachable)?;
        checks.push(format!(
            "administration: {} ({})",
            company.administratie_naam.as_deref().unwrap_or("(no name)"),
            company.administratie_identifier.as_deref().unwrap_or("no id")
        ));
        let q = Query {
            filter: None,
            select: Some("Id,Artikelcode".to_owned()),
            skip: 0,
            top: 1,
        };
        let items = i.client.list_page("/artikelen", &q).await.map_err(unreachable)?;
        checks.push(format!("read {} article(s): ok", items.len()));
        // the articles the orders flow books shipping, fees and discounts on must exist
        let service = [
            ("orders.shipping_article", &cfg.orders.shipping_article),
            ("orders.payment_fee_article", &cfg.orders.payment_fee_article),
            ("orders.discount_article", &cfg.orders.discount_article),
        ];
        for (path, code) in service {
            let Some(code) = code else { continue };
            if i.article_by_code(code).await.map_err(unreachable)?.is_none() {
                return Err(Error::config(
                    path,
                    format!("no article {code:?} in SnelStart: create it there, or change this setting"),
                ));
            }
            checks.push(format!("{path} {code:?}: ok"));
        }
        Ok(CheckReport { checks })
    }

    fn stats(&self) -> StatsSnapshot {
        self.inner.client.stats()
    }
}
