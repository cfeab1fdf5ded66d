//! The product flow: `Sink<Product>` (categories, attribute options, create/update).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use koppel_core::http::Safety;
use koppel_core::wire::on_record;
use koppel_core::{Error, FieldChange, Prepared, Product, Record, Result, Sink, WriteItem, WriteOutcome};
use reqwest::Method;

use super::{MagentoShop, CACHE_TTL, MAX_IN_LIST_LEN};
use crate::client::{fits_in_list, in_lists, SCOPE_ALL};
use crate::mapping::{self, DesiredProduct, Resolved};
use crate::models::{
    AttributeOption, CategoryNode, CreatedCategory, ProductEnvelope, ProductPayload, WireProduct,
};

/// Category paths (lower-cased names below the root) -> ids.
pub(super) type CategoryTree = HashMap<Vec<String>, u64>;

pub(super) fn path_key(path: &[String]) -> Vec<String> {
    path.iter().map(|p| p.trim().to_lowercase()).collect()
}

pub(super) fn index_tree(node: &CategoryNode, prefix: &mut Vec<String>, out: &mut HashMap<Vec<String>, u64>) {
    for child in &node.children_data {
        prefix.push(child.name.trim().to_lowercase());
        out.entry(prefix.clone()).or_insert(child.id);
        index_tree(child, prefix, out);
        prefix.pop();
    }
}

/// A select attribute's options as (label, option id); `None`: the attribute has no options (a
/// text attribute), values are sent as they are.
pub(super) type OptionList = Arc<Option<Vec<(String, String)>>>;

/// What a product's prepare found, for its apply.
pub(super) struct ProductCarry {
    d: DesiredProduct,
    r: Resolved,
    /// The category path to create before the write.
    missing: Option<Vec<String>>,
    /// The product as the shop has it; `None`: create it.
    current: Option<WireProduct>,
    /// koppel's previous category, whose link is replaced.
    old_category: Option<u64>,
}

/// The fields a product payload changes, the shop's current value -> the new one.
pub(super) fn product_changes(p: &ProductPayload, cur: &WireProduct) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut push = |path: &str, before: serde_json::Value, after: serde_json::Value| {
        out.push(FieldChange {
            path: path.to_owned(),
            before,
            after,
        })
    };
    if let Some(n) = &p.name {
        push("name", serde_json::json!(cur.name), serde_json::json!(n));
    }
    if let Some(v) = p.price {
        push("price", serde_json::json!(cur.price), serde_json::json!(v));
    }
    if let Some(v) = p.status {
        push("status", serde_json::json!(cur.status), serde_json::json!(v));
    }
    if let Some(v) = p.weight {
        push("weight", serde_json::json!(cur.weight), serde_json::json!(v));
    }
    if let Some(ext) = &p.extension_attributes {
        let ids: Vec<u64> = ext.category_links.iter().map(|l| l.category_id).collect();
        push(
            "category_ids",
            serde_json::json!(cur.category_ids()),
            serde_json::json!(ids),
        );
    }
    for a in &p.custom_attributes {
        push(
            &format!("custom_attributes.{}", a.attribute_code),
            serde_json::json!(cur.attribute(&a.attribute_code)),
            a.value.clone(),
        );
    }
    out
}

impl MagentoShop {
    /// The category tree, read again when older than `max_age` (at most [`CACHE_TTL`]).
    pub(super) async fn category_tree(&self, max_age: Duration) -> Result<Arc<CategoryTree>> {
        self.categories
            .get_or_load_within(max_age, || self.read_category_tree())
            .await
    }

    async fn read_category_tree(&self) -> Result<Arc<CategoryTree>> {
        let root = self.cfg.products.root_category_id;
        let tree: CategoryNode = self
            .client
            .get(
                SCOPE_ALL,
                &["categories"],
                &[("rootCategoryId".into(), root.to_string())],
                "/V1/categories",
            )
            .await?;
        let mut by_path = HashMap::new();
        if tree.id == root {
            index_tree(&tree, &mut Vec::new(), &mut by_path);
        } else {
            // a shop that ignores rootCategoryId: find the root in the full tree
            fn find(n: &CategoryNode, id: u64) -> Option<&CategoryNode> {
                if n.id == id {
                    return Some(n);
                }
                n.children_data.iter().find_map(|c| find(c, id))
            }
            let node = find(&tree, root).ok_or_else(|| {
                Error::config(
                    "products.root_category_id",
                    format!("category {root} does not exist in the shop"),
                )
            })?;
            index_tree(node, &mut Vec::new(), &mut by_path);
        }
        Ok(Arc::new(by_path))
    }

    /// The id of a category path under the root; creates missing categories when configured.
    /// `create = false` only looks (used for the previous category).
    pub(super) async fn category_id(&self, path: &[String], create: bool) -> Result<Option<u64>> {
        if path.is_empty() {
            return Ok(None);
        }
        let key = path_key(path);
        let tree = self.category_tree(CACHE_TTL).await?;
        if let Some(id) = tree.get(&key) {
            return Ok(Some(*id));
        }
        if !create {
            return Ok(None);
        }
        let _creating = self.creating_categories.lock().await;
        // someone may have added it since the tree was read (unless it was read just now)
        let tree = self.category_tree(Duration::from_secs(1)).await?;
        if let Some(id) = tree.get(&key) {
            return Ok(Some(*id));
        }
        if !self.cfg.products.create_categories {
            return Err(Error::rejected(
                "",
                Some("category"),
                format!(
                    "category {:?} does not exist under category {} (set products.create_categories to create it)",
                    path.join(" / "),
                    self.cfg.products.root_category_id
                ),
            ));
        }
        let mut parent = self.cfg.products.root_category_id;
        for depth in 1..=path.len() {
            let prefix = &key[..depth];
            let existing = tree.get(prefix).copied();
            parent = match existing {
                Some(id) => id,
                None => {
                    let body = serde_json::json!({"category": {
                        "parent_id": parent,
                        "name": path[depth - 1].trim(),
                        "is_active": true,
                        "include_in_menu": true,
                    }});
                    let created: CreatedCategory = self
                        .client
                        .write(
                            Method::POST,
                            SCOPE_ALL,
                            &["categories"],
                            &body,
                            "/V1/categories",
                            Safety::NonIdempotent,
                        )
                        .await?;
                    tracing::info!(category = %path[..depth].join(" / "), id = created.id, "created category");
                    self.categories
                        .update(|t| {
                            Arc::make_mut(t).insert(prefix.to_vec(), created.id);
                        })
                        .await;
                    created.id
                }
            };
        }
        Ok(Some(parent))
    }

    /// The value to send for a custom attribute: the option id for select attributes (by
    /// label, exact first, then ignoring case), the value itself otherwise.
    pub(super) async fn attribute_value(&self, code: &str, value: &str) -> Result<String> {
        for attempt in 0..2 {
            // first a fresh list (read on a miss); after a label it lacks, read once more
            let list = match self.options.get(code).filter(|_| attempt == 0) {
                Some(list) => list,
                None => self.load_options(code, attempt == 1).await?,
            };
            let Some(options) = list.as_ref() else {
                return Ok(value.to_owned());
            };
            let hit = options
                .iter()
                .find(|(l, _)| l == value)
                .or_else(|| options.iter().find(|(l, _)| l.eq_ignore_ascii_case(value.trim())));
            if let Some((_, id)) = hit {
                return Ok(id.clone());
            }
            if attempt == 1 {
                let known: Vec<&str> = options.iter().map(|(l, _)| l.as_str()).take(20).collect();
                return Err(Error::rejected(
                    "",
                    Some(&format!("attributes.{code}")),
                    format!(
                        "no option {value:?} for attribute `{code}` (known: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
        Err(Error::internal("attribute option lookup ended without an answer"))
    }

    /// Reads an attribute's options into the cache, one reader at a time: unless `again`, a
    /// list another caller stored meanwhile is used instead.
    async fn load_options(&self, code: &str, again: bool) -> Result<OptionList> {
        let _loading = self.loading_options.lock().await;
        if let Some(list) = self.options.get(code).filter(|_| !again) {
            return Ok(list);
        }
        let list = self.read_options(code).await?;
        self.options.insert(code.to_owned(), list.clone());
        Ok(list)
    }

    /// Reads a select attribute's options from the shop (`None`: it has none, a text attribute).
    async fn read_options(&self, code: &str) -> Result<OptionList> {
        let res: Result<Vec<AttributeOption>> = self
            .client
            .get(
                SCOPE_ALL,
                &["products", "attributes", code, "options"],
                &[],
                "/V1/products/attributes/{code}/options",
            )
            .await;
        let options = match res {
            Ok(list) => {
                let opts: Vec<(String, String)> = list
                    .into_iter()
                    .filter_map(|o| Some((o.label?, o.value?)))
                    .filter(|(_, v)| !v.trim().is_empty())
                    .collect();
                (!opts.is_empty()).then_some(opts)
            }
            Err(Error::NotFound { .. }) => {
                return Err(Error::rejected(
                    "",
                    Some(&format!("attributes.{code}")),
                    format!("the shop has no product attribute `{code}`"),
                ))
            }
            Err(Error::Rejected(_)) => None,
            Err(e) => return Err(e),
        };
        Ok(Arc::new(options))
    }

    pub(super) async fn put_product(&self, payload: &ProductPayload) -> Result<()> {
        let _: serde_json::Value = self
            .client
            .write(
                Method::PUT,
                SCOPE_ALL,
                &["products", &payload.sku],
                &ProductEnvelope { product: payload },
                "/V1/products/{sku}",
                Safety::Idempotent,
            )
            .await?;
        Ok(())
    }

    /// Reads the product as the shop has it; `None` when it does not exist.
    pub(super) async fn current_product(&self, sku: &str) -> Result<Option<WireProduct>> {
        match self
            .client
            .get(
                self.client.store_code(),
                &["products", sku],
                &[],
                "/V1/products/{sku}",
            )
            .await
        {
            Ok(p) => Ok(Some(p)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The ids the shop has for a desired product, read-only: the category (`None` with the
    /// path to create when it is missing and `products.create_categories` is on; a rejection
    /// when it is off) and the attribute option ids (a rejection for an unknown option).
    pub(super) async fn resolve_readonly(
        &self,
        d: &DesiredProduct,
    ) -> Result<(Resolved, Option<Vec<String>>)> {
        let mut missing = None;
        let category_id = match self.category_id(&d.category, false).await? {
            Some(id) => Some(id),
            None if d.category.is_empty() => None,
            None if self.cfg.products.create_categories => {
                missing = Some(d.category.clone());
                None
            }
            None => {
                return Err(Error::rejected(
                    "",
                    Some("category"),
                    format!(
                        "category {:?} does not exist under category {} (set products.create_categories to create it)",
                        d.category.join(" / "),
                        self.cfg.products.root_category_id
                    ),
                ))
            }
        };
        let mut attributes = BTreeMap::new();
        for (code, v) in &d.attributes {
            attributes.insert(code.clone(), self.attribute_value(code, v).await?);
        }
        Ok((
            Resolved {
                category_id,
                attributes,
            },
            missing,
        ))
    }

    /// The read-only half of one product write, against `current` (the shop's product, `None`
    /// when it has none).
    pub(super) async fn prepare_product(
        &self,
        item: &WriteItem<Product>,
        current: Option<WireProduct>,
    ) -> Result<Prepared> {
        let d = mapping::desired_product(&item.record, &self.rules).map_err(Error::Rejected)?;
        let (r, missing) = self.resolve_readonly(&d).await?;
        let old_category = match item
            .previous
            .as_ref()
            .and_then(|p| mapping::desired_product(p, &self.rules).ok())
        {
            Some(prev) if prev.category != d.category => self.category_id(&prev.category, false).await?,
            _ => None,
        };
        let sku = d.sku.clone();
        let Some(cur) = current else {
            return Ok(Prepared::create(None).with_carry(ProductCarry {
                d,
                r,
                missing,
                current: None,
                old_category,
            }));
        };
        let payload = mapping::payload_against(&d, &r, &cur, old_category);
        let mut changes = product_changes(&payload, &cur);
        if let Some(path) = &missing {
            changes.push(FieldChange {
                path: "category".into(),
                before: serde_json::json!(cur.category_ids()),
                after: serde_json::json!(format!("{} (new category)", path.join(" / "))),
            });
        }
        if changes.is_empty() {
            return Ok(Prepared::unchanged(sku));
        }
        Ok(Prepared::update(sku, changes).with_carry(ProductCarry {
            d,
            r,
            missing,
            current: Some(cur),
            old_category,
        }))
    }

    /// Writes one prepared product: creates its category first when prepare found it missing.
    pub(super) async fn apply_product(
        &self,
        item: &WriteItem<Product>,
        prepared: &Prepared,
    ) -> Result<WriteOutcome> {
        let fresh;
        let carry = match prepared.carried::<ProductCarry>() {
            Some(c) => c,
            None => {
                let current = self.current_product(item.record.sku.as_str()).await?;
                fresh = self.prepare_product(item, current).await?;
                match fresh.carried::<ProductCarry>() {
                    Some(c) => c,
                    None => {
                        return Ok(WriteOutcome::Unchanged {
                            target_id: item.record.sku.to_string(),
                        })
                    }
                }
            }
        };
        let sku = carry.d.sku.clone();
        let mut r = carry.r.clone();
        if carry.missing.is_some() {
            r.category_id = self.category_id(&carry.d.category, true).await?;
        }
        match &carry.current {
            None => {
                let payload = mapping::create_payload(
                    &carry.d,
                    &r,
                    self.cfg.products.attribute_set_id,
                    self.cfg.products.visibility,
                );
                self.put_product(&payload).await?;
                Ok(WriteOutcome::Created { target_id: sku })
            }
            Some(cur) => {
                let payload = mapping::payload_against(&carry.d, &r, cur, carry.old_category);
                if !payload.has_changes() {
                    return Ok(WriteOutcome::Unchanged { target_id: sku });
                }
                self.put_product(&payload).await?;
                Ok(WriteOutcome::Updated { target_id: sku })
            }
        }
    }

    pub(super) fn product_batch(&self) -> usize {
        (self.cfg.products.batch_size as usize).clamp(1, crate::config::MAX_PAGE_SIZE as usize)
    }

    /// The shop's current state of the batch's products (that map without a rejection), read
    /// with searches of up to [`Self::product_batch`] SKUs: per item,
    /// `Some(known)` or `None` when it must be read on its own (a SKU with a comma, a failed
    /// search, an answer that does not settle it).
    pub(super) async fn prefetch_products(
        &self,
        items: &[WriteItem<Product>],
    ) -> Vec<Option<Option<WireProduct>>> {
        let mut known: Vec<Option<Option<WireProduct>>> = vec![None; items.len()];
        let wanted: Vec<(usize, &str)> = items
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                mapping::desired_product(&i.record, &self.rules).is_ok() && !self.same_as_previous(i)
            })
            .map(|(n, i)| (n, i.record.sku.as_str()))
            .filter(|(_, sku)| fits_in_list(sku))
            .collect();
        let skus: Vec<&str> = wanted.iter().map(|(_, s)| *s).collect();
        let batch = self.product_batch();
        let mut found: BTreeMap<String, Option<WireProduct>> = BTreeMap::new();
        // a single product is read with its own GET: a search would cost the same
        let page_size = u32::try_from(batch).unwrap_or(crate::config::MAX_PAGE_SIZE);
        for list in in_lists(&skus, batch, MAX_IN_LIST_LEN)
            .into_iter()
            .filter(|l| l.len() > 1)
        {
            match self.search_products(&list, page_size).await {
                Ok(matched) => found.extend(matched),
                Err(e) => {
                    tracing::warn!(error = %e, products = list.len(), "product search failed: reading the products one by one");
                }
            }
        }
        for (n, sku) in wanted {
            known[n] = found.get(sku).cloned();
        }
        known
    }

    /// One `sku in (...)` search, matched to the SKUs asked for (see [`mapping::match_search`]).
    pub(super) async fn search_products(
        &self,
        skus: &[&str],
        page_size: u32,
    ) -> Result<BTreeMap<String, Option<WireProduct>>> {
        let (raw, total) = self.client.products_by_sku(skus, page_size).await?;
        let parsed = raw
            .iter()
            .map(|r| serde_json::from_str::<WireProduct>(r.get()).ok())
            .collect();
        Ok(mapping::match_search(skus, parsed, total))
    }

    /// Whether the product maps to what its previous write mapped to (nothing koppel writes
    /// changed, e.g. only a SnelStart field the shop does not get): unchanged without a read.
    pub(super) fn same_as_previous(&self, item: &WriteItem<Product>) -> bool {
        let (Some(prev), Some(_)) = (&item.previous, &item.target_id) else {
            return false;
        };
        match (
            mapping::desired_product(&item.record, &self.rules),
            mapping::desired_product(prev, &self.rules),
        ) {
            (Ok(d), Ok(p)) => d.changes_since(&p).is_empty(),
            _ => false,
        }
    }

    /// Prepares a batch of products: one search for their current state (see
    /// [`Self::prefetch_products`]), a GET for any the search did not settle, then each
    /// compared, one after the other (the category and attribute lookups are cached).
    pub(super) async fn prepare_product_batch(&self, items: &[WriteItem<Product>]) -> Vec<Result<Prepared>> {
        let known = self.prefetch_products(items).await;
        let mut out = Vec::with_capacity(items.len());
        for (item, known) in items.iter().zip(known) {
            out.push(self.prepare_one(item, known).await);
        }
        out
    }

    /// Prepares one product against what the batch's search found (`None`: read it now).
    async fn prepare_one(
        &self,
        item: &WriteItem<Product>,
        known: Option<Option<WireProduct>>,
    ) -> Result<Prepared> {
        let label = item.record.label();
        if self.same_as_previous(item) {
            return Ok(Prepared::unchanged(item.record.sku.to_string()));
        }
        let current = match known {
            Some(k) => k,
            None => match mapping::desired_product(&item.record, &self.rules) {
                Ok(d) => self
                    .current_product(&d.sku)
                    .await
                    .map_err(|e| on_record(e, &label))?,
                Err(_) => None,
            },
        };
        self.prepare_product(item, current)
            .await
            .map_err(|e| on_record(e, &label))
    }

    /// Writes prepared products, one after the other. The engine calls this with one product
    /// at a time ([`Sink::apply_size`] is 1) and runs those calls side by side.
    pub(super) async fn apply_product_batch(
        &self,
        items: &[WriteItem<Product>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            let label = item.record.label();
            out.push(
                self.apply_product(item, p)
                    .await
                    .map_err(|e| on_record(e, &label)),
            );
        }
        out
    }
}

#[async_trait]
impl Sink<Product> for MagentoShop {
    /// One `sku in (...)` search per batch for the products as the shop has them, then per
    /// product: create, update of the fields that differ (the shop's value -> the new one), or
    /// unchanged. Categories and attribute options are only looked up here, never created.
    async fn prepare(&self, items: &[WriteItem<Product>]) -> Vec<Result<Prepared>> {
        self.prepare_product_batch(items).await
    }

    /// Writes the products (`PUT /V1/products/{sku}` each); creates missing categories first.
    async fn apply(&self, items: &[WriteItem<Product>], prepared: &[Prepared]) -> Vec<Result<WriteOutcome>> {
        self.apply_product_batch(items, prepared).await
    }

    /// Products looked up with one search (`products.batch_size`).
    fn batch_size(&self) -> usize {
        self.product_batch()
    }

    /// Magento writes one product per request: the engine runs the writes side by side.
    fn apply_size(&self) -> usize {
        1
    }

    /// The shop's `rate_limits.concurrent`, when set.
    fn concurrency(&self) -> usize {
        self.cfg
            .rate_limits
            .concurrent
            .map_or(usize::MAX, |n| (n as usize).max(1))
    }
}
