//! The stock flow: `Sink<StockLevel>` (MSI source items or the legacy stock item).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use koppel_core::http::Safety;
use koppel_core::wire::on_record;
use koppel_core::{
    Dependency, Error, FieldChange, Prepared, Record, Rejection, Result, Sink, StockLevel, WriteItem,
    WriteOutcome,
};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::value::RawValue;

use super::{MagentoShop, DEFAULT_STOCK_BATCH, MAX_IN_LIST_LEN};
use crate::client::{fits_in_list, in_lists, Filter, SearchCriteria, SCOPE_ALL};
use crate::config::MsiMode;
use crate::mapping::{self};
use crate::models::{
    SearchResult, SourceItem, SourceItemsEnvelope, StockItem, StockItemEnvelope, StockItemPayload,
    WireProduct, WireSourceItem,
};

/// The legacy stock item id prepare read.
pub(super) struct LegacyStockItem(u64);

impl MagentoShop {
    /// Whether stock goes to MSI source items (detected once per connector).
    pub async fn msi_enabled(&self) -> Result<bool> {
        let cfg = &self.cfg.stock;
        self.msi
            .get_or_try_init(|| async {
                if cfg.msi == MsiMode::Off {
                    return Ok(false);
                }
                let res: Result<SearchResult<crate::models::Source>> = self
                    .client
                    .get(
                        self.client.store_code(),
                        &["inventory", "sources"],
                        &[],
                        "/V1/inventory/sources",
                    )
                    .await;
                match res {
                    Ok(sources) => {
                        if sources.items.iter().any(|s| s.source_code == cfg.source_code) {
                            Ok(true)
                        } else {
                            let known: Vec<&str> =
                                sources.items.iter().map(|s| s.source_code.as_str()).collect();
                            Err(Error::config(
                                "stock.source_code",
                                format!(
                                    "`{}` is not an inventory source of the shop; it has: {}",
                                    cfg.source_code,
                                    known.join(", ")
                                ),
                            ))
                        }
                    }
                    Err(Error::NotFound { .. }) if cfg.msi == MsiMode::Auto => Ok(false),
                    Err(Error::NotFound { .. }) => Err(Error::config(
                        "stock.msi",
                        "the shop has no Multi-Source Inventory (GET /V1/inventory/sources is 404): set msi = \"off\" or \"auto\"",
                    )),
                    Err(e) => Err(e),
                }
            })
            .await
            .copied()
    }

    pub(super) fn stock_unchanged(item: &WriteItem<StockLevel>) -> bool {
        item.previous.as_ref().is_some_and(|p| {
            mapping::shop_quantity(p.quantity) == mapping::shop_quantity(item.record.quantity)
        })
    }

    pub(super) fn source_item(&self, s: &StockLevel) -> SourceItem {
        let (quantity, in_stock) = mapping::shop_quantity(s.quantity);
        if s.quantity < quantity {
            tracing::info!(sku = %s.sku, quantity = %s.quantity, "negative SnelStart stock written as 0");
        }
        SourceItem {
            sku: s.sku.to_string(),
            source_code: self.cfg.stock.source_code.clone(),
            quantity,
            status: u8::from(in_stock),
        }
    }

    pub(super) async fn post_source_items(&self, items: &[SourceItem]) -> Result<()> {
        let _: serde_json::Value = self
            .client
            .write(
                Method::POST,
                SCOPE_ALL,
                &["inventory", "source-items"],
                &SourceItemsEnvelope { source_items: items },
                "/V1/inventory/source-items",
                // absolute quantities: sending them twice does no harm
                Safety::Idempotent,
            )
            .await?;
        Ok(())
    }

    /// The legacy stock item of a SKU (`GET /V1/stockItems/{sku}`): its id and quantity.
    pub(super) async fn legacy_stock(&self, sku: &str) -> Result<StockItem> {
        self.client
            .get(
                self.client.store_code(),
                &["stockItems", sku],
                &[],
                "/V1/stockItems/{sku}",
            )
            .await
    }

    pub(super) async fn put_legacy_stock(&self, s: &StockLevel, item_id: u64) -> Result<WriteOutcome> {
        let sku = s.sku.to_string();
        let (qty, in_stock) = mapping::shop_quantity(s.quantity);
        if s.quantity < qty {
            tracing::info!(sku = %s.sku, quantity = %s.quantity, "negative SnelStart stock written as 0");
        }
        let item_id = item_id.to_string();
        let _: serde_json::Value = self
            .client
            .write(
                Method::PUT,
                SCOPE_ALL,
                &["products", &sku, "stockItems", &item_id],
                &StockItemEnvelope {
                    stock_item: StockItemPayload {
                        qty,
                        is_in_stock: in_stock,
                    },
                },
                "/V1/products/{sku}/stockItems/{itemId}",
                Safety::Idempotent,
            )
            .await?;
        Ok(WriteOutcome::Updated { target_id: sku })
    }

    pub(super) fn stock_batch(&self) -> usize {
        self.cfg
            .stock
            .input_limit
            .map_or(DEFAULT_STOCK_BATCH, |l| l as usize)
            .max(1)
    }

    /// Of the items at `todo`, those whose product certainly does not exist in the shop. A SKU
    /// with a product binding (`refs["sku:<SKU>"]`, the products flow wrote it) is known to
    /// exist; the others are looked up with one search per list. A failed or unclear search
    /// counts as existing (the write then reports what the shop says).
    pub(super) async fn stock_products_missing(
        &self,
        items: &[WriteItem<StockLevel>],
        todo: &[usize],
    ) -> BTreeSet<usize> {
        let unknown: Vec<(usize, &str)> = todo
            .iter()
            .map(|i| (*i, items[*i].record.sku.as_str()))
            .filter(|(i, sku)| !items[*i].refs.contains_key(&format!("sku:{sku}")) && fits_in_list(sku))
            .collect();
        let skus: Vec<&str> = unknown.iter().map(|(_, s)| *s).collect();
        let page = crate::config::MAX_PAGE_SIZE;
        let mut found: BTreeMap<String, Option<WireProduct>> = BTreeMap::new();
        for list in in_lists(&skus, page as usize, MAX_IN_LIST_LEN) {
            match self.search_products(&list, page).await {
                Ok(matched) => found.extend(matched),
                Err(e) => {
                    tracing::warn!(error = %e, skus = list.len(), "product search before a stock write failed: writing without the check");
                }
            }
        }
        unknown
            .into_iter()
            .filter(|(_, sku)| matches!(found.get(*sku), Some(None)))
            .map(|(i, _)| i)
            .collect()
    }

    /// The MSI source items of `skus` at the configured source, read with `sku in (...)`
    /// searches: SKU -> (quantity, in stock). A SKU missing from a complete answer has no
    /// source item. `Err` when a search failed.
    pub(super) async fn current_source_items(
        &self,
        skus: &[&str],
    ) -> Result<BTreeMap<String, (Decimal, bool)>> {
        let page = crate::config::MAX_PAGE_SIZE;
        let mut out = BTreeMap::new();
        let listable: Vec<&str> = skus.iter().copied().filter(|s| fits_in_list(s)).collect();
        for list in in_lists(&listable, page as usize, MAX_IN_LIST_LEN) {
            let c = SearchCriteria::default()
                .and(Filter::new("sku", "in", list.join(",")))
                .and(Filter::new(
                    "source_code",
                    "eq",
                    self.cfg.stock.source_code.clone(),
                ));
            // one list fits one page: at most one source item per SKU at this source
            let c = c.page(page, 1);
            let res: SearchResult<Box<RawValue>> = self
                .client
                .search(
                    &["inventory", "source-items"],
                    &c,
                    &[],
                    "/V1/inventory/source-items",
                )
                .await?;
            for r in res.items {
                let Ok(si) = serde_json::from_str::<WireSourceItem>(r.get()) else {
                    continue;
                };
                if si.source_code != self.cfg.stock.source_code && !si.source_code.is_empty() {
                    continue;
                }
                let Some(hit) = list
                    .iter()
                    .find(|s| **s == si.sku)
                    .or_else(|| list.iter().find(|s| s.eq_ignore_ascii_case(&si.sku)))
                else {
                    continue;
                };
                out.insert(
                    (*hit).to_owned(),
                    (si.quantity.unwrap_or_default(), si.status.unwrap_or(0) == 1),
                );
            }
        }
        Ok(out)
    }

    /// Prepares a batch of stock levels: the product must exist (one search per list of SKUs
    /// not known from a product binding), and the stock the shop holds now decides update or
    /// unchanged. A product without a source item (or stock item) holds 0, out of stock, as a
    /// product Magento just created. Reads only.
    pub(super) async fn prepare_stock_batch(&self, items: &[WriteItem<StockLevel>]) -> Vec<Result<Prepared>> {
        let mut out: Vec<Option<Result<Prepared>>> = items
            .iter()
            .map(|i| Self::stock_unchanged(i).then(|| Ok(Prepared::unchanged(i.record.sku.to_string()))))
            .collect();
        let todo: Vec<usize> = (0..items.len()).filter(|i| out[*i].is_none()).collect();
        let msi = match self.msi_enabled().await {
            Ok(m) => m,
            Err(e) => {
                return out
                    .into_iter()
                    .map(|o| o.unwrap_or_else(|| Err(e.clone())))
                    .collect()
            }
        };
        let verdict = |s: &StockLevel, current: Option<(Decimal, bool)>, carry: Option<u64>| {
            let (qty, in_stock) = mapping::shop_quantity(s.quantity);
            let (cq, cs) = current.unwrap_or((Decimal::ZERO, false));
            let sku = s.sku.to_string();
            let mut changes = Vec::new();
            if cq != qty {
                changes.push(FieldChange {
                    path: "quantity".into(),
                    before: serde_json::json!(cq),
                    after: serde_json::json!(qty),
                });
            }
            if cs != in_stock {
                changes.push(FieldChange {
                    path: "is_in_stock".into(),
                    before: serde_json::json!(cs),
                    after: serde_json::json!(in_stock),
                });
            }
            if changes.is_empty() {
                Prepared::unchanged(sku)
            } else {
                let p = Prepared::update(sku, changes);
                match carry {
                    Some(id) => p.with_carry(LegacyStockItem(id)),
                    None => p,
                }
            }
        };
        if msi {
            // MSI accepts source items for SKUs the catalogue does not have, and the product
            // created later starts at 0: write stock only for products that exist.
            let missing = self.stock_products_missing(items, &todo).await;
            for i in &missing {
                out[*i] = Some(Err(Error::Rejected(Rejection::new(
                    items[*i].record.label(),
                    Some("sku"),
                    "no product with this SKU in the shop yet: its stock is written once the \
                     products flow has created it (retried from quarantine)",
                ))));
            }
            let todo: Vec<usize> = todo.into_iter().filter(|i| !missing.contains(i)).collect();
            let skus: Vec<&str> = todo.iter().map(|i| items[*i].record.sku.as_str()).collect();
            match self.current_source_items(&skus).await {
                Ok(current) => {
                    for i in todo {
                        let s = &items[i].record;
                        out[i] = Some(Ok(verdict(s, current.get(s.sku.as_str()).copied(), None)));
                    }
                }
                Err(e) => {
                    // the write does not depend on it: an absolute quantity is written anyway
                    tracing::warn!(error = %e, skus = skus.len(), "reading the current source items failed: writing the stock without comparing");
                    for i in todo {
                        let s = &items[i].record;
                        let (qty, _) = mapping::shop_quantity(s.quantity);
                        out[i] = Some(Ok(Prepared::update(
                            s.sku.to_string(),
                            vec![FieldChange {
                                path: "quantity".into(),
                                before: serde_json::Value::Null,
                                after: serde_json::json!(qty),
                            }],
                        )));
                    }
                }
            }
        } else {
            for i in todo {
                let s = &items[i].record;
                let label = s.label();
                out[i] = Some(match self.legacy_stock(s.sku.as_str()).await {
                    Ok(item) => Ok(verdict(
                        s,
                        Some((item.qty.unwrap_or_default(), item.is_in_stock.unwrap_or(false))),
                        Some(item.item_id),
                    )),
                    Err(e) => Err(on_record(e, &label)),
                });
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::internal("stock item left unprepared"))))
            .collect()
    }

    /// Writes prepared stock levels: MSI source items in batches of the shop's input limit
    /// (one by one when a batch is refused, to find the bad SKU), or legacy stock items.
    pub(super) async fn apply_stock_batch(
        &self,
        items: &[WriteItem<StockLevel>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out: Vec<Option<Result<WriteOutcome>>> = vec![None; items.len()];
        let msi = match self.msi_enabled().await {
            Ok(m) => m,
            Err(e) => return items.iter().map(|_| Err(e.clone())).collect(),
        };
        if msi {
            let todo: Vec<usize> = (0..items.len()).collect();
            for chunk in todo.chunks(self.stock_batch()) {
                let source_items: Vec<SourceItem> = chunk
                    .iter()
                    .map(|i| self.source_item(&items[*i].record))
                    .collect();
                match self.post_source_items(&source_items).await {
                    Ok(()) => {
                        for i in chunk {
                            out[*i] = Some(Ok(WriteOutcome::Updated {
                                target_id: items[*i].record.sku.to_string(),
                            }));
                        }
                    }
                    // one bad SKU fails the whole request: find it by writing one by one
                    Err(Error::Rejected(_) | Error::NotFound { .. }) if chunk.len() > 1 => {
                        for (i, si) in chunk.iter().zip(source_items) {
                            let label = items[*i].record.label();
                            out[*i] = Some(
                                self.post_source_items(std::slice::from_ref(&si))
                                    .await
                                    .map(|()| WriteOutcome::Updated { target_id: si.sku })
                                    .map_err(|e| on_record(e, &label)),
                            );
                        }
                    }
                    Err(e) => {
                        for i in chunk {
                            out[*i] = Some(Err(on_record(e.clone(), &items[*i].record.label())));
                        }
                    }
                }
            }
        } else {
            for (i, (item, p)) in items.iter().zip(prepared).enumerate() {
                let label = item.record.label();
                let res = match p.carried::<LegacyStockItem>() {
                    Some(LegacyStockItem(id)) => self.put_legacy_stock(&item.record, *id).await,
                    None => match self.legacy_stock(item.record.sku.as_str()).await {
                        Ok(s) => self.put_legacy_stock(&item.record, s.item_id).await,
                        Err(e) => Err(e),
                    },
                };
                out[i] = Some(res.map_err(|e| on_record(e, &label)));
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::internal("stock item left unwritten"))))
            .collect()
    }
}

#[async_trait]
impl Sink<StockLevel> for MagentoShop {
    /// The product existence check and the stock the shop holds now, per batch.
    async fn prepare(&self, items: &[WriteItem<StockLevel>]) -> Vec<Result<Prepared>> {
        self.prepare_stock_batch(items).await
    }

    async fn apply(
        &self,
        items: &[WriteItem<StockLevel>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        self.apply_stock_batch(items, prepared).await
    }

    fn batch_size(&self) -> usize {
        self.stock_batch()
    }

    /// The product must exist in the shop first: the engine passes its binding as
    /// `refs["sku:<SKU>"]`, which spares the existence search.
    fn dependencies(&self, record: &StockLevel) -> Vec<Dependency> {
        vec![Dependency::Product(record.sku.clone())]
    }
}
