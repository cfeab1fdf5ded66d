//! Shop orders as verkooporders (`Sink<Order>`), exactly once by `orderreferentie`.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use koppel_core::connector::{Prepared, CHANGED_AFTER_EXPORT};
use koppel_core::http::Safety;
use koppel_core::{Dependency, Error, Order, Record, Rejection, Result, Sink, WriteItem, WriteOutcome};
use serde_json::Value;

use crate::client::Query;
use crate::config::ChangedAfterExport;
use crate::mapping::{self, LineArticle, OrderInputs, RefData};
use crate::models::Verkooporder;

use super::{lock, SnelStartAdministration, FILTER_REFUSED, FILTER_UNKNOWN, FILTER_WORKS, MAX_LOOKUP_PAGES};

impl SnelStartAdministration {
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

    pub(super) async fn charge_article(
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

pub(super) fn first_with_reference(items: Vec<Value>, number: &str) -> Option<String> {
    items.into_iter().find_map(|v| {
        let o: Verkooporder = serde_json::from_value(v).ok()?;
        (o.orderreferentie.as_deref().map(str::trim) == Some(number))
            .then_some(o.id)
            .flatten()
    })
}
/// What an order's prepare decided to send.
pub(super) enum OrderOp {
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
pub(super) fn project(current: &Value, shape: &Value) -> Value {
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

/// A verkooporder body as SnelStart stores it, for comparing with what it holds: a line's
/// `totaal` kept to the cent (koppel sends the shop's exact amounts, e.g. OpenCart's four
/// decimals; SnelStart keeps money to two), rounded half away from zero.
pub(super) fn as_stored(body: &Value) -> Value {
    let mut out = body.clone();
    if let Some(regels) = out.get_mut("regels").and_then(Value::as_array_mut) {
        for r in regels {
            let cents = r
                .get("totaal")
                .and_then(|t| t.to_string().parse::<rust_decimal::Decimal>().ok())
                .map(|d| koppel_core::model::round_money(d, 2));
            if let (Some(c), Some(obj)) = (cents, r.as_object_mut()) {
                obj.insert("totaal".into(), Value::String(c.normalize().to_string()));
            }
        }
    }
    out
}

pub(super) fn normalise(v: &Value) -> Value {
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

pub(super) fn uuid_like(s: &str) -> bool {
    s.len() == 36
        && s.chars().filter(|c| *c == '-').count() == 4
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

/// Shop statuses that mean the order no longer stands (Magento `canceled` and `closed`, i.e.
/// refunded; the other spellings shops use).
pub(super) fn cancelled_status(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "canceled" | "cancelled" | "closed" | "refunded"
    )
}

pub(super) fn describe_changes(changes: &[koppel_core::FieldChange]) -> String {
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

impl SnelStartAdministration {
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
            fee_article: if o.fees.is_empty() {
                None
            } else {
                self.charge_article("orders.fee_article", cfg.fee_article.as_deref(), date, &refs)
                    .await?
            },
            refs: &refs,
            config: cfg,
        };
        mapping::order_to_verkooporder(o, &inputs).map_err(Error::Rejected)
    }

    /// The read-only half of an order write. Not exported yet: looked up by orderreferentie
    /// (exactly once: an order SnelStart already has is bound, never posted again), then mapped
    /// with every check. Exported before ([`SnelStartAdministration::prepare_exported`]): compared with SnelStart.
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
        let mut body = serde_json::to_value(&plan.body)
            .map_err(|e| Error::internal(format!("cannot encode the verkooporder: {e}")))?;
        // the owner moves the order on in SnelStart (Order -> Pakbon -> Factuur): an update keeps
        // SnelStart's procesStatus, and it is never a change of the shop's order
        if let (Some(b), Some(status)) = (body.as_object_mut(), current.get("procesStatus")) {
            if !status.is_null() {
                b.insert("procesStatus".into(), status.clone());
            }
        }
        let wanted = as_stored(&body);
        let changes = koppel_core::engine::diff_json(&project(&current, &wanted), &normalise(&wanted));
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
                    .map_err(|e| koppel_core::wire::on_record(e, &label))?;
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
            .map_err(|e| koppel_core::wire::on_record(e, &label))?;
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
impl Sink<Order> for SnelStartAdministration {
    /// Per order: the lookup by orderreferentie (exactly once), the mapping with every check
    /// (articles, VAT, totals), and for an order exported before the comparison with the
    /// verkooporder SnelStart holds. Reads only.
    async fn prepare(&self, items: &[WriteItem<Order>]) -> Vec<Result<Prepared>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(
                self.prepare_order(item)
                    .await
                    .map_err(|e| koppel_core::wire::on_record(e, &item.record.label())),
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
