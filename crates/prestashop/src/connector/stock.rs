//! Sink<StockLevel>: `stock_availables` by product, combination and shop; PUT (PATCH on
//! 8.x) of changed quantities only.

use std::collections::HashMap;

use async_trait::async_trait;
use koppel_core::http::Safety;
use koppel_core::wire::on_record;
use koppel_core::{
    Dependency, Error, FieldChange, Prepared, Record, Result, Sink, StockLevel, Verdict, WriteItem,
    WriteOutcome,
};
use reqwest::Method;
use serde_json::json;

use crate::client::fits_filter;
use crate::mapping;
use crate::models::{Obj, XmlEntity};

use super::{entity_from_current, q, PrestaShopShop};

/// What `prepare` carries to `apply` for a stock level.
struct StockPlan {
    row: Obj,
    quantity: i64,
}

impl PrestaShopShop {
    async fn prepare_stock(&self, items: &[WriteItem<StockLevel>]) -> Vec<Result<Prepared>> {
        let mut out: Vec<Option<Result<Prepared>>> = (0..items.len()).map(|_| None).collect();
        // (product id, combination id) per item
        let mut target: Vec<Option<(u64, u64)>> = vec![None; items.len()];
        let mut search: Vec<String> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let sku = item.record.sku.as_str();
            let bound = item.refs.get(&format!("sku:{sku}"));
            if let Some(id) = bound.filter(|id| koppel_core::connector::is_planned_id(id)) {
                // In a plan, a product the products flow would create: the run creates it
                // (its stock_available starts at 0) before its stock is written.
                out[i] = Some(Ok(self.stock_of_new_product(item, id)));
            } else if let Some(pid) = bound.and_then(|t| t.parse::<u64>().ok()) {
                target[i] = Some((pid, 0));
            } else if fits_filter(sku) {
                search.push(sku.to_owned());
            } else {
                out[i] = Some(Err(Error::rejected(
                    item.record.label(),
                    Some("sku"),
                    "a reference with | , [ ] % or surrounding blanks cannot be looked up with the webservice's filters",
                )));
            }
        }
        let batch = self.cfg.stock.batch_size as usize;
        let fail_all = |out: Vec<Option<Result<Prepared>>>, e: Error| -> Vec<Result<Prepared>> {
            out.into_iter()
                .map(|o| o.unwrap_or_else(|| Err(e.clone())))
                .collect()
        };
        let mut products: HashMap<String, Vec<u64>> = HashMap::new();
        let mut combos: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
        if !search.is_empty() {
            match self
                .client
                .list_by("products", "reference", &search, &[], batch)
                .await
            {
                Ok(found) => {
                    for p in found {
                        if let (Some(r), Ok(Some(id))) = (p.text("reference"), p.id("id")) {
                            products.entry(r).or_default().push(id);
                        }
                    }
                }
                Err(e) => return fail_all(out, e),
            }
            let rest: Vec<String> = search
                .iter()
                .filter(|s| !products.contains_key(*s))
                .cloned()
                .collect();
            if !rest.is_empty() {
                match self
                    .client
                    .list_by("combinations", "reference", &rest, &[], batch)
                    .await
                {
                    Ok(found) => {
                        for c in found {
                            if let (Some(r), Ok(Some(id)), Ok(Some(pid))) =
                                (c.text("reference"), c.id("id"), c.id("id_product"))
                            {
                                combos.entry(r).or_default().push((pid, id));
                            }
                        }
                    }
                    Err(e) => return fail_all(out, e),
                }
            }
        }
        for (i, item) in items.iter().enumerate() {
            if out[i].is_some() || target[i].is_some() {
                continue;
            }
            let sku = item.record.sku.as_str();
            let label = item.record.label();
            target[i] = match (
                products.get(sku).map(Vec::as_slice),
                combos.get(sku).map(Vec::as_slice),
            ) {
                (Some([pid]), _) => Some((*pid, 0)),
                (Some(many), _) if many.len() > 1 => {
                    out[i] = Some(Err(Error::rejected(
                        label,
                        Some("sku"),
                        format!("reference used by several products ({many:?})"),
                    )));
                    None
                }
                (_, Some([(pid, cid)])) => Some((*pid, *cid)),
                (_, Some(many)) if many.len() > 1 => {
                    out[i] = Some(Err(Error::rejected(
                        label,
                        Some("sku"),
                        "reference used by several combinations",
                    )));
                    None
                }
                _ => {
                    out[i] = Some(Err(Error::rejected(
                        label,
                        Some("sku"),
                        "no product or combination with this reference in the shop yet: its stock is written once the products flow has created it (retried from quarantine)",
                    )));
                    None
                }
            };
        }
        let pids: Vec<String> = target.iter().flatten().map(|(p, _)| p.to_string()).collect();
        let mut extra = Vec::new();
        if let Some(s) = self.cfg.id_shop {
            extra.push(q("filter[id_shop]", format!("[{s}]")));
        }
        let rows = if pids.is_empty() {
            Vec::new()
        } else {
            match self
                .client
                .list_by("stock_availables", "id_product", &pids, &extra, batch)
                .await
            {
                Ok(r) => r,
                Err(e) => return fail_all(out, e),
            }
        };
        for (i, item) in items.iter().enumerate() {
            let Some((pid, cid)) = target[i] else { continue };
            if out[i].is_some() {
                continue;
            }
            let label = item.record.label();
            let mine: Vec<&Obj> = rows
                .iter()
                .filter(|r| {
                    r.id("id_product").ok().flatten() == Some(pid)
                        && r.id("id_product_attribute").ok().flatten().unwrap_or(0) == cid
                })
                .collect();
            let res = match mine.as_slice() {
                [] => Err(Error::rejected(
                    label.clone(),
                    Some("sku"),
                    format!("product {pid} (combination {cid}) has no stock_available row in this shop"),
                )),
                [row] => self.stock_verdict(item, row),
                _ => Err(Error::config(
                    "id_shop",
                    format!("product {pid} has stock rows in several shops: set id_shop (and id_shop_group) for a multistore"),
                )),
            };
            out[i] = Some(res.map_err(|e| on_record(e, &label)));
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::internal("stock left unprepared"))))
            .collect()
    }

    /// The plan's verdict for the stock of a product the run creates first (quantity 0).
    fn stock_of_new_product(&self, item: &WriteItem<StockLevel>, id: &str) -> Prepared {
        let want = mapping::shop_quantity(item.record.quantity);
        if want == 0 {
            return Prepared::unchanged(id);
        }
        Prepared::update(
            id,
            vec![FieldChange {
                path: "quantity".into(),
                before: json!("0"),
                after: json!(want.to_string()),
            }],
        )
    }

    fn stock_verdict(&self, item: &WriteItem<StockLevel>, row: &Obj) -> Result<Prepared> {
        let id = row
            .id("id")
            .ok()
            .flatten()
            .ok_or_else(|| Error::protocol("stock_available without id"))?;
        if row.text("depends_on_stock").as_deref() == Some("1") {
            return Err(Error::rejected(
                "",
                Some("quantity"),
                "the stock of this product depends on the warehouses (advanced stock management): PrestaShop refuses a quantity for it (error 133)",
            ));
        }
        let cur = row
            .dec("quantity")
            .map_err(|e| Error::protocol(format!("stock_available {id}: quantity {e}")))?
            .unwrap_or_default();
        let want = mapping::shop_quantity(item.record.quantity);
        if cur == rust_decimal::Decimal::from(want) {
            return Ok(Prepared::unchanged(id.to_string()));
        }
        Ok(Prepared::update(
            id.to_string(),
            vec![FieldChange {
                path: "quantity".into(),
                before: json!(cur.normalize().to_string()),
                after: json!(want.to_string()),
            }],
        )
        .with_carry(StockPlan {
            row: row.clone(),
            quantity: want,
        }))
    }

    async fn apply_stock(&self, item: &WriteItem<StockLevel>, p: &Prepared) -> Result<WriteOutcome> {
        let target_id = p.target_id.clone().unwrap_or_default();
        if p.verdict == Verdict::Unchanged {
            return Ok(WriteOutcome::Unchanged { target_id });
        }
        let plan = p
            .carried::<StockPlan>()
            .ok_or_else(|| Error::internal("stock prepared without its plan"))?;
        let info = self.client.info().await?;
        let mut e = if info.patch("stock_availables") {
            let mut e = XmlEntity::new("stock_available");
            e.text("id", target_id.clone());
            e
        } else {
            // stock_availables take PUT (PATCH on 8.x), never POST (error 101)
            entity_from_current("stock_available", &plan.row, &[])
        };
        e.text("quantity", plan.quantity.to_string());
        // always id_shop and id_shop_group: a PUT without id_shop resets the row (#18953)
        let shop = self
            .cfg
            .id_shop
            .map(|s| s.to_string())
            .or_else(|| plan.row.text("id_shop"))
            .unwrap_or_else(|| "1".into());
        let group = self
            .cfg
            .id_shop_group
            .map(|s| s.to_string())
            .or_else(|| plan.row.text("id_shop_group"))
            .unwrap_or_else(|| "0".into());
        e.text("id_shop", shop);
        e.text("id_shop_group", group);
        let method = if info.patch("stock_availables") {
            Method::PATCH
        } else {
            Method::PUT
        };
        self.client
            .write(method, "stock_availables", &e, &[], Safety::Idempotent)
            .await
            .map_err(|e| on_record(e, &item.record.label()))?;
        Ok(WriteOutcome::Updated { target_id })
    }

    // -----------------------------------------------------------------------------------------
    // Order states and messages
    // -----------------------------------------------------------------------------------------
}

#[async_trait]
impl Sink<StockLevel> for PrestaShopShop {
    async fn prepare(&self, items: &[WriteItem<StockLevel>]) -> Vec<Result<Prepared>> {
        self.prepare_stock(items).await
    }

    async fn apply(
        &self,
        items: &[WriteItem<StockLevel>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(self.apply_stock(item, p).await);
        }
        out
    }

    fn batch_size(&self) -> usize {
        self.cfg.stock.batch_size as usize
    }

    /// The product must exist in the shop first: its binding (`refs["sku:<SKU>"]`) spares the
    /// search by reference.
    fn dependencies(&self, record: &StockLevel) -> Vec<Dependency> {
        vec![Dependency::Product(record.sku.clone())]
    }
}
