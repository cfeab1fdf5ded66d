//! The trait impls: products and stock written by SKU, orders and customers read keyset-paged,
//! payments and open amounts written as order history. Every sink has a read-only `prepare`
//! (what the shop holds now, the diff, every check that can reject a record) and an `apply`
//! that writes exactly what `prepare` decided; `write_batch` is prepare-then-apply.

use std::sync::Arc;

use async_trait::async_trait;
use koppel_core::http::StatsSnapshot;
use koppel_core::paging::Keyset;
use koppel_core::{
    CheckReport, Connector, Customer, Dependency, Endpoints, Error, FieldChange, OpenAmount, Order, Page,
    PaymentStatus, Prepared, Product, ReadRequest, Record, Rejection, Result, Sink, Source, StockLevel,
    Verdict, WriteItem, WriteOutcome,
};
use serde_json::{json, Value};

use crate::client::{item_rejection, BridgeClient};
use crate::config::Config;
use crate::mapping::{self, OrderRules, ProductRules};
use crate::models::{HistoryItem, UpsertItem, WireCustomer, WireOrder};

/// The connector: hands out the shop's sources and sinks.
pub struct OpenCartConnector {
    shop: Arc<OpenCartShop>,
}

/// The shop behind the bridge.
pub struct OpenCartShop {
    cfg: Config,
    client: BridgeClient,
    orders: OrderRules,
    products: ProductRules,
}

impl std::fmt::Debug for OpenCartShop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenCartShop")
            .field("bridge_url", &self.cfg.bridge_url.as_str())
            .finish_non_exhaustive()
    }
}

impl OpenCartConnector {
    /// Builds the connector (no I/O).
    pub fn new(cfg: Config, pair: &str) -> Result<Self> {
        let client = BridgeClient::new(&cfg, pair)?;
        let orders = OrderRules {
            sku_fallback_model: cfg.sku_fallback_model,
            currency: cfg.currency.clone(),
            key_is_model: cfg.key == crate::config::KeyField::Model,
        };
        let products = ProductRules {
            tax_classes: cfg.tax_class_table(),
            weight_class_id: cfg.products.weight_class_id,
            seo_keyword: cfg.products.seo_keyword,
        };
        Ok(OpenCartConnector {
            shop: Arc::new(OpenCartShop {
                cfg,
                client,
                orders,
                products,
            }),
        })
    }

    /// The shop, for tests and tools.
    pub fn shop(&self) -> Arc<OpenCartShop> {
        self.shop.clone()
    }
}

#[async_trait]
impl Connector for OpenCartConnector {
    fn name(&self) -> &'static str {
        "opencart"
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints {
            product_sink: Some(self.shop.clone()),
            stock_sink: Some(self.shop.clone()),
            order_source: Some(self.shop.clone()),
            customer_source: Some(self.shop.clone()),
            open_amount_sink: Some(self.shop.clone()),
            payment_sink: Some(self.shop.clone()),
            ..Default::default()
        }
    }

    async fn check(&self) -> Result<CheckReport> {
        self.shop.check().await
    }

    fn stats(&self) -> StatsSnapshot {
        self.shop.client.stats()
    }
}

/// A record-level error keeps its kind; anything else fails every record of the batch alike.
fn on_record(e: Error, label: &str) -> Error {
    match e {
        Error::Rejected(r) => Error::Rejected(r.for_record(label)),
        other => other,
    }
}

fn label_of(v: &Value, noun: &str, id_key: &str) -> String {
    match v.get(id_key).and_then(Value::as_u64) {
        Some(id) => format!("{noun} {id}"),
        None => format!("unreadable {noun}"),
    }
}

fn keyset_of(v: &Value, id_key: &str, time_key: &str) -> Option<Keyset> {
    let id = v.get(id_key).and_then(Value::as_u64)?;
    let modified = v
        .get(time_key)
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<chrono::DateTime<chrono::Utc>>().ok());
    Some(Keyset::after(modified, id.to_string()))
}

impl OpenCartShop {
    /// The bridge client.
    pub fn client(&self) -> &BridgeClient {
        &self.client
    }

    /// `ping`: bridge version, OpenCart version, schema variant.
    pub async fn check(&self) -> Result<CheckReport> {
        let p = self.client.ping().await.map_err(|e| match e {
            Error::Transient { message, .. } | Error::Protocol { message } => Error::Transient {
                message: format!(
                    "the bridge at {} does not answer as expected: {message}",
                    self.cfg.bridge_url
                ),
                retry_after: None,
            },
            other => other,
        })?;
        let mut checks = vec![
            format!(
                "bridge {} at {}: ok (signature accepted)",
                p.bridge_version, self.cfg.bridge_url
            ),
            format!(
                "OpenCart {} (schema {}, {}), time zone {}",
                p.opencart_version.as_deref().unwrap_or("version unknown"),
                p.schema,
                if p.transactions { "InnoDB" } else { "MyISAM" },
                p.timezone.as_deref().unwrap_or("?")
            ),
        ];
        if let Some(max) = p.max_batch {
            let largest = self
                .cfg
                .products
                .batch_size
                .max(self.cfg.stock.batch_size)
                .max(self.cfg.orders.page_size)
                .max(self.cfg.customers.page_size);
            if largest > max {
                return Err(Error::config(
                    "products.batch_size",
                    format!("the bridge takes at most {max} records per call"),
                ));
            }
            checks.push(format!("batches up to {largest} (bridge limit {max}): ok"));
        }
        Ok(CheckReport { checks })
    }

    fn key(&self) -> &'static str {
        self.cfg.key.as_str()
    }

    async fn read_list<R>(
        &self,
        op: &str,
        body: Value,
        req: &ReadRequest,
        limit: u32,
        (noun, id_key, time_key): (&str, &str, &str),
        map: impl Fn(Value) -> std::result::Result<R, Rejection>,
    ) -> Result<Page<R>> {
        let after = match &req.page {
            Some(t) => Some(Keyset::decode(t)?),
            None => None,
        };
        let page = self
            .client
            .list_page(op, body, req.since, req.until, after.as_ref(), limit)
            .await?;
        let next = if page.more {
            match page.items.last().and_then(|v| keyset_of(v, id_key, time_key)) {
                Some(k) => Some(k.encode()),
                None => {
                    return Err(Error::protocol(format!(
                        "{op}: the last {noun} of a page has no {id_key}"
                    )))
                }
            }
        } else {
            None
        };
        let items = page
            .items
            .into_iter()
            .map(|v| {
                let label = label_of(&v, noun, id_key);
                map(v).map_err(|r| r.for_record(label))
            })
            .collect();
        Ok(Page { items, next })
    }

    // ----- products -----

    async fn prepare_products(&self, items: &[WriteItem<Product>]) -> Vec<Result<Prepared>> {
        let mapped: Vec<std::result::Result<UpsertItem, Rejection>> = items
            .iter()
            .map(|i| mapping::upsert_item(&i.record, &self.products))
            .collect();
        let send: Vec<UpsertItem> = mapped.iter().flatten().cloned().collect();
        let batch = self.cfg.products.batch_size as usize;
        let found = match self
            .client
            .products_plan(self.key(), &self.cfg.store_ids, &send, batch)
            .await
        {
            Ok(f) => f,
            Err(e) => return items.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut found = found.into_iter();
        let mut out = Vec::with_capacity(items.len());
        for (item, m) in items.iter().zip(mapped) {
            let label = item.record.label();
            let want = match m {
                Ok(u) => u,
                Err(r) => {
                    out.push(Err(Error::Rejected(r)));
                    continue;
                }
            };
            let Some(have) = found.next() else {
                out.push(Err(Error::protocol("products.get: fewer answers than asked")));
                continue;
            };
            if let Some(e) = &have.error {
                out.push(Err(item_rejection(&label, e)));
                continue;
            }
            let p = match (have.found, &have.product) {
                (false, _) => Prepared::create(serde_json::to_value(&want).ok()).with_carry(want),
                (true, Some(cur)) => {
                    let changes = mapping::product_changes(cur, &want, have.category_ids.as_deref());
                    let id = cur.product_id.to_string();
                    if changes.is_empty() {
                        Prepared::unchanged(id)
                    } else {
                        Prepared::update(id, changes).with_carry(want)
                    }
                }
                (true, None) => {
                    out.push(Err(Error::protocol(format!(
                        "products.get: {label} found without its state"
                    ))));
                    continue;
                }
            };
            out.push(Ok(p));
        }
        out
    }

    async fn apply_products(
        &self,
        items: &[WriteItem<Product>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out: Vec<Option<Result<WriteOutcome>>> = vec![None; items.len()];
        let mut send = Vec::new();
        let mut at = Vec::new();
        for (i, p) in prepared.iter().enumerate() {
            match (p.verdict, p.carried::<UpsertItem>()) {
                (Verdict::Unchanged, _) => {
                    out[i] = Some(Ok(WriteOutcome::Unchanged {
                        target_id: p.target_id.clone().unwrap_or_default(),
                    }))
                }
                (_, Some(u)) => {
                    send.push(u.clone());
                    at.push(i);
                }
                (_, None) => out[i] = Some(Err(Error::internal("prepared product without its body"))),
            }
        }
        if !send.is_empty() {
            let batch = self.cfg.products.batch_size as usize;
            match self
                .client
                .products_upsert(self.key(), &self.cfg.store_ids, &send, batch)
                .await
            {
                Ok(answers) => {
                    for (i, a) in at.into_iter().zip(answers) {
                        let label = items.get(i).map(|it| it.record.label()).unwrap_or_default();
                        out[i] = Some(match (&a.error, a.product_id) {
                            (Some(e), _) => Err(item_rejection(&label, e)),
                            (None, Some(id)) if a.created => Ok(WriteOutcome::Created {
                                target_id: id.to_string(),
                            }),
                            (None, Some(id)) => Ok(WriteOutcome::Updated {
                                target_id: id.to_string(),
                            }),
                            (None, None) => Err(Error::protocol(format!(
                                "products.upsert: {label} without product_id"
                            ))),
                        });
                    }
                }
                Err(e) => {
                    for i in at {
                        out[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::internal("no product result"))))
            .collect()
    }

    // ----- stock -----

    async fn prepare_stock(&self, items: &[WriteItem<StockLevel>]) -> Vec<Result<Prepared>> {
        let qty: Vec<std::result::Result<i64, Rejection>> = items
            .iter()
            .map(|i| mapping::whole_units(&i.record.label(), i.record.quantity))
            .collect();
        let codes: Vec<String> = items
            .iter()
            .zip(&qty)
            .filter(|(_, q)| q.is_ok())
            .map(|(i, _)| i.record.sku.to_string())
            .collect();
        let found = match self
            .client
            .stock_get(self.key(), &codes, self.cfg.stock.batch_size as usize)
            .await
        {
            Ok(f) => f,
            Err(e) => return items.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut found = found.into_iter();
        items
            .iter()
            .zip(qty)
            .map(|(item, q)| {
                let label = item.record.label();
                let q = q.map_err(Error::Rejected)?;
                let have = found
                    .next()
                    .ok_or_else(|| Error::protocol("stock.get: fewer answers than asked"))?;
                if let Some(e) = &have.error {
                    return Err(item_rejection(&label, e));
                }
                let (true, Some(id)) = (have.found, have.product_id) else {
                    // Never created here: the products flow creates the product first.
                    return Err(Error::rejected(
                        label,
                        Some("sku"),
                        format!(
                            "no product with {} {} in the shop yet",
                            self.key(),
                            item.record.sku
                        ),
                    ));
                };
                let id = id.to_string();
                if have.quantity == Some(q) {
                    Ok(Prepared::unchanged(id))
                } else {
                    Ok(Prepared::update(
                        id,
                        vec![FieldChange {
                            path: "quantity".into(),
                            before: json!(have.quantity),
                            after: json!(q),
                        }],
                    )
                    .with_carry(q))
                }
            })
            .collect()
    }

    async fn apply_stock(
        &self,
        items: &[WriteItem<StockLevel>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out: Vec<Option<Result<WriteOutcome>>> = vec![None; items.len()];
        let mut send = Vec::new();
        let mut at = Vec::new();
        for (i, (item, p)) in items.iter().zip(prepared).enumerate() {
            match (p.verdict, p.carried::<i64>()) {
                (Verdict::Unchanged, _) => {
                    out[i] = Some(Ok(WriteOutcome::Unchanged {
                        target_id: p.target_id.clone().unwrap_or_default(),
                    }))
                }
                (_, Some(q)) => {
                    send.push((item.record.sku.to_string(), *q));
                    at.push(i);
                }
                (_, None) => out[i] = Some(Err(Error::internal("prepared stock without its quantity"))),
            }
        }
        if !send.is_empty() {
            match self
                .client
                .stock_set(self.key(), &send, self.cfg.stock.batch_size as usize)
                .await
            {
                Ok(answers) => {
                    for (i, a) in at.into_iter().zip(answers) {
                        let label = items.get(i).map(|it| it.record.label()).unwrap_or_default();
                        out[i] = Some(match (&a.error, a.product_id) {
                            (Some(e), _) => Err(item_rejection(&label, e)),
                            (None, Some(id)) => Ok(WriteOutcome::Updated {
                                target_id: id.to_string(),
                            }),
                            (None, None) => {
                                Err(Error::protocol(format!("stock.set: {label} without product_id")))
                            }
                        });
                    }
                }
                Err(e) => {
                    for i in at {
                        out[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::internal("no stock result"))))
            .collect()
    }

    // ----- order history (payments, open amounts) -----

    /// `(label, order number, entry)` per item, or why it cannot be written; `None` entry:
    /// nothing to write (an unpaid invoice).
    async fn prepare_history(
        &self,
        entries: Vec<(
            String,
            String,
            std::result::Result<Option<HistoryItem>, Rejection>,
        )>,
    ) -> Vec<Result<Prepared>> {
        let mut ask = Vec::new();
        let mut parsed = Vec::with_capacity(entries.len());
        for (label, number, entry) in entries {
            let id = number.parse::<u64>().map_err(|_| {
                Error::rejected(
                    label.clone(),
                    Some("order_number"),
                    format!("{number:?} is not an OpenCart order id"),
                )
            });
            let marker = match &entry {
                Ok(Some(h)) => h.marker.clone(),
                _ => String::new(),
            };
            if let Ok(id) = &id {
                ask.push((*id, marker));
            }
            parsed.push((label, id, entry));
        }
        let found = match self.client.history_check(&ask).await {
            Ok(f) => f,
            Err(e) => return parsed.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut found = found.into_iter();
        parsed
            .into_iter()
            .map(|(label, id, entry)| {
                let id = id?;
                let have = found
                    .next()
                    .ok_or_else(|| Error::protocol("history.check: fewer answers than asked"))?;
                if !have.found || have.order_status_id == Some(0) {
                    return Err(Error::rejected(
                        label,
                        Some("order_number"),
                        format!("no confirmed order {id} in the shop"),
                    ));
                }
                let entry = entry.map_err(Error::Rejected)?;
                let target = id.to_string();
                match entry {
                    None => Ok(Prepared::unchanged(target)),
                    Some(_) if have.history_id.is_some() => Ok(Prepared::unchanged(target)),
                    Some(h) => {
                        let mut changes = vec![FieldChange {
                            path: "history".into(),
                            before: Value::Null,
                            after: json!(h.comment),
                        }];
                        if let Some(s) = h.order_status_id {
                            if have.order_status_id != Some(s) {
                                changes.push(FieldChange {
                                    path: "order_status_id".into(),
                                    before: json!(have.order_status_id),
                                    after: json!(s),
                                });
                            }
                        }
                        Ok(Prepared::update(target, changes).with_carry(h))
                    }
                }
            })
            .collect()
    }

    async fn apply_history(&self, labels: Vec<String>, prepared: &[Prepared]) -> Vec<Result<WriteOutcome>> {
        let mut out: Vec<Option<Result<WriteOutcome>>> = vec![None; prepared.len()];
        let mut send = Vec::new();
        let mut at = Vec::new();
        for (i, p) in prepared.iter().enumerate() {
            match (p.verdict, p.carried::<HistoryItem>()) {
                (Verdict::Unchanged, _) => {
                    out[i] = Some(Ok(WriteOutcome::Unchanged {
                        target_id: p.target_id.clone().unwrap_or_default(),
                    }))
                }
                (_, Some(h)) => {
                    send.push(h.clone());
                    at.push(i);
                }
                (_, None) => out[i] = Some(Err(Error::internal("prepared history without its entry"))),
            }
        }
        if !send.is_empty() {
            match self.client.history_add(&send).await {
                Ok(answers) => {
                    for (i, a) in at.into_iter().zip(answers) {
                        let label = labels.get(i).cloned().unwrap_or_default();
                        out[i] = Some(match &a.error {
                            Some(e) => Err(item_rejection(&label, e)),
                            None if a.existing => Ok(WriteOutcome::Unchanged {
                                target_id: a.order_id.to_string(),
                            }),
                            None => Ok(WriteOutcome::Updated {
                                target_id: a.order_id.to_string(),
                            }),
                        });
                    }
                }
                Err(e) => {
                    for i in at {
                        out[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::internal("no history result"))))
            .collect()
    }

    fn history_entry(
        order_number: &str,
        comment: String,
        marker: String,
        status: Option<u32>,
    ) -> std::result::Result<Option<HistoryItem>, Rejection> {
        let order_id = order_number.parse::<u64>().unwrap_or(0);
        Ok(Some(HistoryItem {
            order_id,
            order_status_id: status,
            comment: format!("{comment} {marker}"),
            marker,
        }))
    }

    /// The history entry of an open amount (marker: invoice and open amount).
    pub fn open_amount_entry(&self, r: &OpenAmount) -> std::result::Result<Option<HistoryItem>, Rejection> {
        let due = r.due_date.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
        let comment = mapping::fill(
            &self.cfg.open_amounts.comment,
            &r.invoice_number,
            &r.open_amount.to_string(),
            &r.invoice_amount.to_string(),
            &due,
        );
        let marker = format!(
            "[koppel:open:{}:{}]",
            r.invoice_number,
            r.open_amount.amount.normalize()
        );
        Self::history_entry(&r.order_number, comment, marker, self.cfg.open_amounts.status)
    }

    /// The history entry of a payment (only when fully paid; marker: invoice and amount).
    pub fn payment_entry(&self, r: &PaymentStatus) -> std::result::Result<Option<HistoryItem>, Rejection> {
        if !r.paid {
            // nothing to report until the invoice is settled
            return Ok(None);
        }
        let comment = mapping::fill(
            &self.cfg.payments.comment,
            &r.invoice_number,
            &r.paid_amount.to_string(),
            &r.paid_amount.to_string(),
            "",
        );
        let marker = format!(
            "[koppel:paid:{}:{}]",
            r.invoice_number,
            r.paid_amount.amount.normalize()
        );
        Self::history_entry(&r.order_number, comment, marker, self.cfg.payments.status)
    }
}

async fn prepare_then_apply<R: Record>(
    sink: &(dyn Sink<R> + '_),
    items: &[WriteItem<R>],
) -> Vec<Result<WriteOutcome>> {
    let prepared = sink.prepare(items).await;
    let mut out: Vec<Option<Result<WriteOutcome>>> = Vec::with_capacity(items.len());
    let mut todo_items = Vec::new();
    let mut todo_prep = Vec::new();
    let mut at = Vec::new();
    for (i, (item, p)) in items.iter().zip(prepared).enumerate() {
        match p {
            Err(e) => out.push(Some(Err(e))),
            Ok(p) if p.verdict == Verdict::Unchanged => out.push(Some(Ok(WriteOutcome::Unchanged {
                target_id: p.target_id.clone().unwrap_or_default(),
            }))),
            Ok(p) => {
                out.push(None);
                todo_items.push(item.clone());
                todo_prep.push(p);
                at.push(i);
            }
        }
    }
    if !todo_items.is_empty() {
        let results = sink.apply(&todo_items, &todo_prep).await;
        for (i, r) in at.into_iter().zip(results) {
            out[i] = Some(r);
        }
    }
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Err(Error::internal("no result for a prepared record"))))
        .collect()
}

async fn one<R: Record>(sink: &(dyn Sink<R> + '_), item: &WriteItem<R>) -> Result<WriteOutcome> {
    prepare_then_apply(sink, std::slice::from_ref(item))
        .await
        .pop()
        .unwrap_or_else(|| Err(Error::internal("no result")))
}

#[async_trait]
impl Source<Order> for OpenCartShop {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Order>> {
        let body = json!({ "statuses": self.cfg.orders.statuses });
        self.read_list(
            "orders.list",
            body,
            req,
            self.cfg.orders.page_size,
            ("order", "order_id", "date_modified"),
            |v| {
                let w: WireOrder = serde_json::from_value(v).map_err(|e| {
                    Rejection::new("", None, format!("unreadable order from the bridge: {e}"))
                })?;
                mapping::order(&w, &self.orders)
            },
        )
        .await
    }
}

#[async_trait]
impl Source<Customer> for OpenCartShop {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Customer>> {
        self.read_list(
            "customers.list",
            json!({}),
            req,
            self.cfg.customers.page_size,
            ("customer", "customer_id", "changed_at"),
            |v| {
                let w: WireCustomer = serde_json::from_value(v).map_err(|e| {
                    Rejection::new("", None, format!("unreadable customer from the bridge: {e}"))
                })?;
                mapping::customer(&w)
            },
        )
        .await
    }
}

#[async_trait]
impl Sink<Product> for OpenCartShop {
    async fn write(&self, item: &WriteItem<Product>) -> Result<WriteOutcome> {
        one(self, item).await
    }
    async fn prepare(&self, items: &[WriteItem<Product>]) -> Vec<Result<Prepared>> {
        self.prepare_products(items).await
    }
    async fn apply(&self, items: &[WriteItem<Product>], prepared: &[Prepared]) -> Vec<Result<WriteOutcome>> {
        self.apply_products(items, prepared)
            .await
            .into_iter()
            .zip(items)
            .map(|(r, i)| r.map_err(|e| on_record(e, &i.record.label())))
            .collect()
    }
    async fn write_batch(&self, items: &[WriteItem<Product>]) -> Vec<Result<WriteOutcome>> {
        prepare_then_apply(self, items).await
    }
    fn batch_size(&self) -> usize {
        self.cfg.products.batch_size as usize
    }
}

#[async_trait]
impl Sink<StockLevel> for OpenCartShop {
    async fn write(&self, item: &WriteItem<StockLevel>) -> Result<WriteOutcome> {
        one(self, item).await
    }
    async fn prepare(&self, items: &[WriteItem<StockLevel>]) -> Vec<Result<Prepared>> {
        self.prepare_stock(items).await
    }
    async fn apply(
        &self,
        items: &[WriteItem<StockLevel>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        self.apply_stock(items, prepared).await
    }
    async fn write_batch(&self, items: &[WriteItem<StockLevel>]) -> Vec<Result<WriteOutcome>> {
        prepare_then_apply(self, items).await
    }
    fn batch_size(&self) -> usize {
        self.cfg.stock.batch_size as usize
    }
    /// The product must exist in the shop first (the products flow creates it).
    fn dependencies(&self, record: &StockLevel) -> Vec<Dependency> {
        vec![Dependency::Product(record.sku.clone())]
    }
}

#[async_trait]
impl Sink<OpenAmount> for OpenCartShop {
    async fn write(&self, item: &WriteItem<OpenAmount>) -> Result<WriteOutcome> {
        one(self, item).await
    }
    async fn prepare(&self, items: &[WriteItem<OpenAmount>]) -> Vec<Result<Prepared>> {
        let entries = items
            .iter()
            .map(|i| {
                (
                    i.record.label(),
                    i.record.order_number.clone(),
                    self.open_amount_entry(&i.record),
                )
            })
            .collect();
        self.prepare_history(entries).await
    }
    async fn apply(
        &self,
        items: &[WriteItem<OpenAmount>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        self.apply_history(items.iter().map(|i| i.record.label()).collect(), prepared)
            .await
    }
    async fn write_batch(&self, items: &[WriteItem<OpenAmount>]) -> Vec<Result<WriteOutcome>> {
        prepare_then_apply(self, items).await
    }
    fn batch_size(&self) -> usize {
        100
    }
}

#[async_trait]
impl Sink<PaymentStatus> for OpenCartShop {
    async fn write(&self, item: &WriteItem<PaymentStatus>) -> Result<WriteOutcome> {
        one(self, item).await
    }
    async fn prepare(&self, items: &[WriteItem<PaymentStatus>]) -> Vec<Result<Prepared>> {
        let entries = items
            .iter()
            .map(|i| {
                (
                    i.record.label(),
                    i.record.order_number.clone(),
                    self.payment_entry(&i.record),
                )
            })
            .collect();
        self.prepare_history(entries).await
    }
    async fn apply(
        &self,
        items: &[WriteItem<PaymentStatus>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        self.apply_history(items.iter().map(|i| i.record.label()).collect(), prepared)
            .await
    }
    async fn write_batch(&self, items: &[WriteItem<PaymentStatus>]) -> Vec<Result<WriteOutcome>> {
        prepare_then_apply(self, items).await
    }
    fn batch_size(&self) -> usize {
        100
    }
}
