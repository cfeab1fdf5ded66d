//! Products written by SKU: `products.get` for what the shop holds, `products.upsert` for
//! what changed.

use async_trait::async_trait;
use koppel_core::{
    Error, Prepared, Product, Record, Rejection, Result, Sink, Verdict, WriteItem, WriteOutcome,
};

use koppel_core::wire::on_record;

use super::OpenCartShop;
use crate::client::item_rejection;
use crate::mapping;
use crate::models::UpsertItem;

impl OpenCartShop {
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
}

#[async_trait]
#[async_trait]
impl Sink<Product> for OpenCartShop {
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
    fn batch_size(&self) -> usize {
        self.cfg.products.batch_size as usize
    }
}
