//! Stock set by SKU (only `quantity`).

use async_trait::async_trait;
use koppel_core::{
    Dependency, Error, FieldChange, Prepared, Record, Rejection, Result, Sink, StockLevel, Verdict,
    WriteItem, WriteOutcome,
};
use serde_json::json;

use super::OpenCartShop;
use crate::client::item_rejection;
use crate::mapping;

/// In a plan, the product a plan of the products flow would create (`refs["sku:<SKU>"]` is a
/// [`koppel_core::connector::is_planned_id`]): the run creates it before its stock is set.
fn planned_product(item: &WriteItem<StockLevel>) -> Option<&str> {
    item.refs
        .get(&format!("sku:{}", item.record.sku))
        .map(String::as_str)
        .filter(|id| koppel_core::connector::is_planned_id(id))
}

/// The stock of a product the run creates first: it starts at 0 (the upsert writes no stock).
fn stock_of_new_product(id: &str, q: i64) -> Prepared {
    if q == 0 {
        Prepared::unchanged(id)
    } else {
        Prepared::update(
            id,
            vec![FieldChange {
                path: "quantity".into(),
                before: json!(0),
                after: json!(q),
            }],
        )
        .with_carry(q)
    }
}

impl OpenCartShop {
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
                if let Some(id) = planned_product(item) {
                    // found.next() still has to advance past this item's answer
                    let _ = found.next();
                    return Ok(stock_of_new_product(id, q));
                }
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
}

#[async_trait]
#[async_trait]
impl Sink<StockLevel> for OpenCartShop {
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
    fn batch_size(&self) -> usize {
        self.cfg.stock.batch_size as usize
    }
    /// The product must exist in the shop first (the products flow creates it).
    fn dependencies(&self, record: &StockLevel) -> Vec<Dependency> {
        vec![Dependency::Product(record.sku.clone())]
    }
}
