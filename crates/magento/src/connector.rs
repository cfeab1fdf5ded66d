//! The Magento connector: `Source<Order>`, `Source<Customer>`, `Sink<Product>`,
//! `Sink<StockLevel>`, `Sink<OpenAmount>` and `Sink<PaymentStatus>`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use koppel_core::http::{Safety, StatsSnapshot};
use koppel_core::{
    CheckReport, Connector, Customer, Dependency, Endpoints, Error, FieldChange, OpenAmount, Order, Page,
    PaymentStatus, Prepared, Product, ReadRequest, Record, Rejection, Result, Sink, Source, StockLevel,
    WriteItem, WriteOutcome,
};
use reqwest::Method;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::client::{fits_in_list, in_lists, Filter, MagentoClient, SearchCriteria, SCOPE_ALL};
use crate::config::{Config, MsiMode, OrderNoteConfig};
use crate::mapping::{self, DesiredProduct, ProductRules, Resolved};
use crate::models::{
    AttributeOption, CategoryNode, CommentEnvelope, CommentPayload, CreatedCategory, OrderRef,
    ProductEnvelope, ProductPayload, SearchResult, SourceItem, SourceItemsEnvelope, StockItem,
    StockItemEnvelope, StockItemPayload, StoreConfig, WireComment, WireOrder, WireProduct, WireSourceItem,
};
use koppel_core::paging::Keyset;

/// How long category trees and attribute options are reused before they are read again (a
/// miss always reads again once).
const CACHE_TTL: Duration = Duration::from_secs(600);
/// MSI batch size when the shop's input limit is not configured.
const DEFAULT_STOCK_BATCH: usize = 100;
/// Longest `in` list of SKUs (percent-encoded) in one search, so the request line stays well
/// under the 8 KB many web servers accept.
const MAX_IN_LIST_LEN: usize = 4000;

/// Names the record in a rejection or not-found error that the remote did not name.
fn on_record(e: Error, label: &str) -> Error {
    match e {
        Error::Rejected(r) => Error::Rejected(r.for_record(label)),
        Error::NotFound { what } => Error::NotFound {
            what: format!("{label}: {what}"),
        },
        other => other,
    }
}

/// Category paths (lower-cased names below the root) -> ids.
struct CategoryTree {
    fetched: Instant,
    by_path: HashMap<Vec<String>, u64>,
}

fn path_key(path: &[String]) -> Vec<String> {
    path.iter().map(|p| p.trim().to_lowercase()).collect()
}

fn index_tree(node: &CategoryNode, prefix: &mut Vec<String>, out: &mut HashMap<Vec<String>, u64>) {
    for child in &node.children_data {
        prefix.push(child.name.trim().to_lowercase());
        out.entry(prefix.clone()).or_insert(child.id);
        index_tree(child, prefix, out);
        prefix.pop();
    }
}

struct OptionList {
    fetched: Instant,
    /// `None`: the attribute has no options (a text attribute): values are sent as they are.
    options: Option<Vec<(String, String)>>,
}

/// What a product's prepare found, for its apply.
struct ProductCarry {
    d: DesiredProduct,
    r: Resolved,
    /// The category path to create before the write.
    missing: Option<Vec<String>>,
    /// The product as the shop has it; `None`: create it.
    current: Option<WireProduct>,
    /// koppel's previous category, whose link is replaced.
    old_category: Option<u64>,
}

/// The legacy stock item id prepare read.
struct LegacyStockItem(u64);

/// The fields a product payload changes, the shop's current value -> the new one.
fn product_changes(p: &ProductPayload, cur: &WireProduct) -> Vec<FieldChange> {
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

/// One configured Magento shop.
pub struct MagentoShop {
    cfg: Config,
    client: MagentoClient,
    rules: ProductRules,
    categories: tokio::sync::Mutex<Option<CategoryTree>>,
    options: tokio::sync::Mutex<HashMap<String, OptionList>>,
    msi: tokio::sync::OnceCell<bool>,
    order_ids: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for MagentoShop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MagentoShop")
            .field("base_url", &self.cfg.base_url.as_str())
            .field("store_code", &self.cfg.store_code)
            .finish_non_exhaustive()
    }
}

/// The connector handed to the runner.
#[derive(Debug, Clone)]
pub struct MagentoConnector {
    shop: Arc<MagentoShop>,
}

impl MagentoConnector {
    /// Builds the connector from a validated config (no I/O).
    pub fn new(cfg: Config, pair: &str) -> Result<Self> {
        cfg.validate()?;
        let client = MagentoClient::new(&cfg, pair)?;
        let rules = ProductRules {
            prices_include_tax: cfg.prices_include_tax,
            price_decimals: cfg.price_decimals,
            tax_classes: cfg.tax_class_table(),
        };
        Ok(MagentoConnector {
            shop: Arc::new(MagentoShop {
                cfg,
                client,
                rules,
                categories: tokio::sync::Mutex::new(None),
                options: tokio::sync::Mutex::new(HashMap::new()),
                msi: tokio::sync::OnceCell::new(),
                order_ids: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The shop behind the endpoints (for tests and tools).
    pub fn shop(&self) -> Arc<MagentoShop> {
        self.shop.clone()
    }
}

#[async_trait]
impl Connector for MagentoConnector {
    fn name(&self) -> &'static str {
        "magento"
    }

    fn endpoints(&self) -> Endpoints {
        let s = &self.shop;
        Endpoints {
            customer_source: Some(s.clone()),
            order_source: Some(s.clone()),
            product_sink: Some(s.clone()),
            stock_sink: Some(s.clone()),
            open_amount_sink: Some(s.clone()),
            payment_sink: Some(s.clone()),
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

impl MagentoShop {
    fn reach_hint(&self, e: Error) -> Error {
        match e {
            Error::Transient { message, retry_after } => Error::Transient {
                message: format!(
                    "cannot reach the shop at {}: {message}: check base_url and that the shop is up",
                    self.cfg.base_url
                ),
                retry_after,
            },
            Error::NotFound { what } => Error::config(
                "base_url",
                format!(
                    "{what}: no Magento REST API at {}/rest/: check base_url",
                    self.cfg.base_url
                ),
            ),
            Error::Protocol { message } => Error::config(
                "base_url",
                format!(
                    "{message}: {} does not answer like Magento's REST API",
                    self.cfg.base_url
                ),
            ),
            other => other,
        }
    }

    /// The REST client (for tests and tools).
    pub fn client(&self) -> &MagentoClient {
        &self.client
    }

    /// The side-effect-free probe: store views (authenticates), one order, the stock mode.
    pub async fn check(&self) -> Result<CheckReport> {
        let mut checks = Vec::new();
        let stores: Vec<StoreConfig> = self
            .client
            .get(
                SCOPE_ALL,
                &["store", "storeConfigs"],
                &[],
                "/V1/store/storeConfigs",
            )
            .await
            .map_err(|e| self.reach_hint(e))?;
        let mode = match self.cfg.auth.mode {
            crate::config::AuthMode::Oauth1 => "oauth1",
            crate::config::AuthMode::Bearer => "bearer",
        };
        checks.push(format!("authentication ({mode}): ok"));
        let code = &self.cfg.store_code;
        if code != SCOPE_ALL {
            match stores.iter().find(|s| &s.code == code) {
                Some(s) => checks.push(format!(
                    "store view `{code}`: ok (base currency {})",
                    s.base_currency_code.as_deref().unwrap_or("?")
                )),
                None => {
                    let known: Vec<&str> = stores.iter().map(|s| s.code.as_str()).collect();
                    return Err(Error::config(
                        "store_code",
                        format!(
                            "store view `{code}` does not exist; the shop has: {}",
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        let c = SearchCriteria {
            page_size: Some(1),
            ..Default::default()
        };
        let orders: SearchResult<Box<RawValue>> =
            self.client.search(&["orders"], &c, &[], "/V1/orders").await?;
        checks.push(format!("read orders: ok ({} in the shop)", orders.total_count));
        let msi = self.msi_enabled().await?;
        checks.push(if msi {
            format!(
                "stock: Multi-Source Inventory, source `{}`: ok",
                self.cfg.stock.source_code
            )
        } else {
            "stock: legacy stock items (no Multi-Source Inventory)".to_string()
        });
        Ok(CheckReport { checks })
    }

    // -----------------------------------------------------------------------------------------
    // Reads
    // -----------------------------------------------------------------------------------------

    fn window(&self, req: &ReadRequest) -> SearchCriteria {
        let mut c = SearchCriteria::default();
        if let Some(s) = req.since {
            c = c.and(Filter::new("updated_at", "gt", mapping::format_time(s)));
        }
        if let Some(u) = req.until {
            c = c.and(Filter::new("updated_at", "lteq", mapping::format_time(u)));
        }
        c
    }

    /// The keyset filter after the position in `req.page`: records after `(m, i)` in
    /// `(updated_at, entity_id)` order, as two AND-ed filter groups (Magento: groups AND,
    /// filters within a group OR): `updated_at gteq m` and `updated_at gt m OR entity_id gt i`.
    fn after(criteria: SearchCriteria, req: &ReadRequest) -> Result<SearchCriteria> {
        let Some(token) = &req.page else {
            return Ok(criteria);
        };
        let k = Keyset::decode(token)?;
        let id = k.numeric_id()?;
        let Some(m) = k.modified else {
            return Err(Error::protocol(format!("page token {token:?} has no updated_at")));
        };
        let m = mapping::format_time(m);
        let mut c = criteria.and(Filter::new("updated_at", "gteq", m.clone()));
        c.groups.push(vec![
            Filter::new("updated_at", "gt", m),
            Filter::new("entity_id", "gt", id.to_string()),
        ]);
        Ok(c)
    }

    /// Reads one page of a search and parses each item on its own, so one malformed item is a
    /// rejection, not a failed page.
    async fn read_page<W: DeserializeOwned, R>(
        &self,
        (segments, endpoint): (&[&str], &str),
        criteria: SearchCriteria,
        page_size: u32,
        req: &ReadRequest,
        (id_key, label): (&str, fn(&serde_json::Value) -> String),
        map: impl Fn(&W) -> std::result::Result<R, Rejection>,
    ) -> Result<Page<R>> {
        // Keyset pages (issue 9): `currentPage` inside the `updated_at` window shifted when an
        // order changed during the read, and an unchanged one fell between two pages. Now
        // every page is `currentPage=1` of "the records after the last one read", sorted by
        // `updated_at` then `entity_id` (searchCriteria sortOrders; Magento sorts in SQL, so
        // the order is total and matches the filter). An order that changes during the read
        // moves past `until` and is read by the next run; nothing else moves.
        let criteria = Self::after(criteria, req)?
            .sort("updated_at", "ASC")
            .sort("entity_id", "ASC")
            .page(page_size, 1);
        let res: SearchResult<Box<RawValue>> = self.client.search(segments, &criteria, &[], endpoint).await?;
        // The position of the last record with a readable id and `updated_at`.
        let last = res.items.iter().rev().find_map(|raw| {
            let head: serde_json::Value = serde_json::from_str(raw.get()).ok()?;
            let id = head.get(id_key)?.as_u64()?;
            let m = mapping::parse_time(head.get("updated_at")?.as_str()?)?;
            Some(Keyset::after(Some(m), id.to_string()))
        });
        let more = res.total_count > res.items.len() as u64 && !res.items.is_empty();
        let next = match (more, last) {
            (false, _) => None,
            (true, Some(k)) => {
                let t = k.encode();
                if req.page.as_deref() == Some(t.as_str()) {
                    return Err(Error::protocol(
                        "the page after the last one read ends where it began: the shop ignored the keyset filter",
                    ));
                }
                Some(t)
            }
            (true, None) => {
                return Err(Error::protocol(format!(
                    "a page of {} records without one readable {id_key} and updated_at: cannot page after it",
                    res.items.len()
                )))
            }
        };
        let mut items = Vec::with_capacity(res.items.len());
        for raw in &res.items {
            let de = &mut serde_json::Deserializer::from_str(raw.get());
            let item = match serde_path_to_error::deserialize::<_, W>(de) {
                Ok(w) => map(&w),
                Err(e) => {
                    let head: serde_json::Value = serde_json::from_str(raw.get()).unwrap_or_default();
                    let path = e.path().to_string();
                    Err(Rejection::new(
                        label(&head),
                        Some(&path),
                        e.into_inner().to_string(),
                    ))
                }
            };
            items.push(item);
        }
        Ok(Page { next, items })
    }

    // -----------------------------------------------------------------------------------------
    // Products
    // -----------------------------------------------------------------------------------------

    async fn category_tree(&self, guard: &mut Option<CategoryTree>, refresh: bool) -> Result<()> {
        let stale = guard.as_ref().is_none_or(|t| t.fetched.elapsed() > CACHE_TTL);
        if !(stale || refresh) {
            return Ok(());
        }
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
        *guard = Some(CategoryTree {
            fetched: Instant::now(),
            by_path,
        });
        Ok(())
    }

    /// The id of a category path under the root; creates missing categories when configured.
    /// `create = false` only looks (used for the previous category).
    async fn category_id(&self, path: &[String], create: bool) -> Result<Option<u64>> {
        if path.is_empty() {
            return Ok(None);
        }
        let key = path_key(path);
        let mut guard = self.categories.lock().await;
        self.category_tree(&mut guard, false).await?;
        if let Some(id) = guard.as_ref().and_then(|t| t.by_path.get(&key)) {
            return Ok(Some(*id));
        }
        if !create {
            return Ok(None);
        }
        // someone may have added it since the tree was read
        let fresh = guard
            .as_ref()
            .is_some_and(|t| t.fetched.elapsed() < Duration::from_secs(1));
        if !fresh {
            self.category_tree(&mut guard, true).await?;
            if let Some(id) = guard.as_ref().and_then(|t| t.by_path.get(&key)) {
                return Ok(Some(*id));
            }
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
            let existing = guard.as_ref().and_then(|t| t.by_path.get(prefix)).copied();
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
                    if let Some(t) = guard.as_mut() {
                        t.by_path.insert(prefix.to_vec(), created.id);
                    }
                    created.id
                }
            };
        }
        Ok(Some(parent))
    }

    /// The value to send for a custom attribute: the option id for select attributes (by
    /// label, exact first, then ignoring case), the value itself otherwise.
    async fn attribute_value(&self, code: &str, value: &str) -> Result<String> {
        let mut cache = self.options.lock().await;
        for attempt in 0..2 {
            let stale = cache.get(code).is_none_or(|o| o.fetched.elapsed() > CACHE_TTL);
            if stale || attempt == 1 {
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
                cache.insert(
                    code.to_owned(),
                    OptionList {
                        fetched: Instant::now(),
                        options,
                    },
                );
            }
            let Some(list) = cache.get(code) else { continue };
            let Some(options) = &list.options else {
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

    async fn put_product(&self, payload: &ProductPayload) -> Result<()> {
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
    async fn current_product(&self, sku: &str) -> Result<Option<WireProduct>> {
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
    async fn resolve_readonly(&self, d: &DesiredProduct) -> Result<(Resolved, Option<Vec<String>>)> {
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
    async fn prepare_product(
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
    async fn apply_product(&self, item: &WriteItem<Product>, prepared: &Prepared) -> Result<WriteOutcome> {
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

    fn product_batch(&self) -> usize {
        (self.cfg.products.batch_size as usize).clamp(1, crate::config::MAX_PAGE_SIZE as usize)
    }

    /// The shop's current state of the batch's products (that map without a rejection), read
    /// with searches of up to [`Self::product_batch`] SKUs: per item,
    /// `Some(known)` or `None` when it must be read on its own (a SKU with a comma, a failed
    /// search, an answer that does not settle it).
    async fn prefetch_products(&self, items: &[WriteItem<Product>]) -> Vec<Option<Option<WireProduct>>> {
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
    async fn search_products(
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
    fn same_as_previous(&self, item: &WriteItem<Product>) -> bool {
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
    /// [`Self::prefetch_products`]), a GET for any the search did not settle, then each compared.
    async fn prepare_product_batch(&self, items: &[WriteItem<Product>]) -> Vec<Result<Prepared>> {
        let known = self.prefetch_products(items).await;
        let concurrency = (self.cfg.products.concurrency as usize).max(1);
        let work: Vec<_> = items
            .iter()
            .zip(known)
            .map(|(item, known)| async move {
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
            })
            .collect();
        futures::stream::iter(work).buffered(concurrency).collect().await
    }

    /// Writes the prepared products of a batch concurrently (`products.concurrency`).
    async fn apply_product_batch(
        &self,
        items: &[WriteItem<Product>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let concurrency = (self.cfg.products.concurrency as usize).max(1);
        let writes: Vec<_> = items
            .iter()
            .zip(prepared)
            .map(|(item, p)| async move {
                let label = item.record.label();
                self.apply_product(item, p)
                    .await
                    .map_err(|e| on_record(e, &label))
            })
            .collect();
        futures::stream::iter(writes)
            .buffered(concurrency)
            .collect()
            .await
    }

    // -----------------------------------------------------------------------------------------
    // Stock
    // -----------------------------------------------------------------------------------------

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

    fn stock_unchanged(item: &WriteItem<StockLevel>) -> bool {
        item.previous.as_ref().is_some_and(|p| {
            mapping::shop_quantity(p.quantity) == mapping::shop_quantity(item.record.quantity)
        })
    }

    fn source_item(&self, s: &StockLevel) -> SourceItem {
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

    async fn post_source_items(&self, items: &[SourceItem]) -> Result<()> {
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
    async fn legacy_stock(&self, sku: &str) -> Result<StockItem> {
        self.client
            .get(
                self.client.store_code(),
                &["stockItems", sku],
                &[],
                "/V1/stockItems/{sku}",
            )
            .await
    }

    async fn put_legacy_stock(&self, s: &StockLevel, item_id: u64) -> Result<WriteOutcome> {
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

    fn stock_batch(&self) -> usize {
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
    async fn stock_products_missing(
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
    async fn current_source_items(&self, skus: &[&str]) -> Result<BTreeMap<String, (Decimal, bool)>> {
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
    async fn prepare_stock_batch(&self, items: &[WriteItem<StockLevel>]) -> Vec<Result<Prepared>> {
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
    async fn apply_stock_batch(
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

    // -----------------------------------------------------------------------------------------
    // Order comments
    // -----------------------------------------------------------------------------------------

    /// The entity id of the order with this number (`increment_id`), cached.
    pub async fn order_id(&self, number: &str) -> Result<u64> {
        if let Some(id) = self
            .order_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(number)
        {
            return Ok(*id);
        }
        let c = SearchCriteria::default()
            .and(Filter::new("increment_id", "eq", number))
            .page(1, 1);
        let res: SearchResult<OrderRef> = self.client.search(&["orders"], &c, &[], "/V1/orders").await?;
        let id = res
            .items
            .first()
            .map(|o| o.entity_id)
            .ok_or_else(|| Error::NotFound {
                what: format!("order {number} in the shop"),
            })?;
        self.order_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(number.to_owned(), id);
        Ok(id)
    }

    /// The read-only half of adding `text` to the order's comments: unchanged when the order
    /// already carries it; otherwise an update, carrying the comment to post with `status` (or
    /// the order's current status).
    async fn prepare_note(
        &self,
        number: &str,
        text: &str,
        status: Option<&str>,
        note: &OrderNoteConfig,
    ) -> Result<Prepared> {
        let id = self.order_id(number).await?;
        let target_id = id.to_string();
        let comments: SearchResult<WireComment> = self
            .client
            .get(
                self.client.store_code(),
                &["orders", &target_id, "comments"],
                &[],
                "/V1/orders/{id}/comments",
            )
            .await?;
        if comments
            .items
            .iter()
            .any(|c| c.comment.as_deref().map(str::trim) == Some(text.trim()))
        {
            return Ok(Prepared::unchanged(target_id));
        }
        let status = match status {
            Some(s) => s.to_owned(),
            None => {
                let current: OrderRef = self
                    .client
                    .get(
                        self.client.store_code(),
                        &["orders", &target_id],
                        &[],
                        "/V1/orders/{id}",
                    )
                    .await?;
                current.status.unwrap_or_default()
            }
        };
        let body = CommentEnvelope {
            status_history: CommentPayload {
                comment: text.to_owned(),
                is_customer_notified: u8::from(note.notify_customer),
                is_visible_on_front: 0,
                parent_id: id,
                status,
            },
        };
        Ok(Prepared::update(
            target_id,
            vec![FieldChange {
                path: "comments[+]".into(),
                before: serde_json::Value::Null,
                after: serde_json::Value::String(text.to_owned()),
            }],
        )
        .with_carry(body))
    }

    /// Posts the comment a note's prepare decided on.
    async fn apply_note(&self, prepared: &Prepared) -> Result<WriteOutcome> {
        let target_id = prepared.target_id.clone().unwrap_or_default();
        let Some(body) = prepared.carried::<CommentEnvelope>() else {
            return Err(Error::internal("order comment without a prepared body"));
        };
        let _: serde_json::Value = self
            .client
            .write(
                Method::POST,
                SCOPE_ALL,
                &["orders", &target_id, "comments"],
                body,
                "/V1/orders/{id}/comments",
                Safety::NonIdempotent,
            )
            .await?;
        Ok(WriteOutcome::Updated { target_id })
    }

    /// The comment for an open amount.
    pub fn open_amount_note(&self, r: &OpenAmount) -> String {
        mapping::fill_template(
            &self.cfg.open_amounts.comment,
            &[
                ("invoice", r.invoice_number.clone()),
                ("amount", r.open_amount.to_string()),
                ("total", r.invoice_amount.to_string()),
                (
                    "due",
                    r.due_date
                        .map_or_else(|| "-".to_owned(), |d| d.format("%Y-%m-%d").to_string()),
                ),
            ],
        )
    }

    /// The comment for a paid order.
    pub fn payment_note(&self, r: &PaymentStatus) -> String {
        mapping::fill_template(
            &self.cfg.payments.comment,
            &[
                ("invoice", r.invoice_number.clone()),
                ("amount", r.paid_amount.to_string()),
                ("total", r.paid_amount.to_string()),
                ("due", "-".to_owned()),
            ],
        )
    }
}

fn order_label(v: &serde_json::Value) -> String {
    match v.get("increment_id").and_then(|i| i.as_str()) {
        Some(n) => format!("order {n}"),
        None => format!("order entity {}", v.get("entity_id").cloned().unwrap_or_default()),
    }
}

fn customer_label(v: &serde_json::Value) -> String {
    format!("customer {}", v.get("id").cloned().unwrap_or_default())
}

#[async_trait]
impl Source<Order> for MagentoShop {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Order>> {
        let mut c = self.window(req);
        if !self.cfg.orders.statuses.is_empty() {
            // cancelled orders too (OR in one filter group): the engine skips one never
            // exported and reports one that was (an edit cancels the original)
            c.groups.push(vec![
                Filter::new("status", "in", self.cfg.orders.statuses.join(",")),
                Filter::new("state", "eq", "canceled"),
            ]);
        }
        let mode = mapping::order_tax_mode(self.cfg.prices_include_tax);
        let rounding = self.cfg.tax_calculation_algorithm.vat_rounding();
        self.read_page(
            (&["orders"], "/V1/orders"),
            c,
            self.cfg.orders.page_size,
            req,
            ("entity_id", order_label),
            |w: &WireOrder| {
                mapping::order_from_wire(w, mode).map(|o| Order {
                    vat_rounding: rounding,
                    ..o
                })
            },
        )
        .await
    }
}

#[async_trait]
impl Source<Customer> for MagentoShop {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Customer>> {
        let c = self.window(req);
        self.read_page(
            (&["customers", "search"], "/V1/customers/search"),
            c,
            self.cfg.customers.page_size,
            req,
            ("id", customer_label),
            mapping::customer_from_wire,
        )
        .await
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

    /// Writes the products concurrently; creates missing categories first.
    async fn apply(&self, items: &[WriteItem<Product>], prepared: &[Prepared]) -> Vec<Result<WriteOutcome>> {
        self.apply_product_batch(items, prepared).await
    }

    fn batch_size(&self) -> usize {
        self.product_batch()
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

fn unchanged_by_previous<R: PartialEq>(item: &WriteItem<R>) -> Option<Prepared> {
    match (&item.previous, &item.target_id) {
        (Some(p), Some(id)) if *p == item.record => Some(Prepared::unchanged(id.clone())),
        _ => None,
    }
}

#[async_trait]
impl Sink<OpenAmount> for MagentoShop {
    /// The order and its comments: unchanged when it already carries the note.
    async fn prepare(&self, items: &[WriteItem<OpenAmount>]) -> Vec<Result<Prepared>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(p) = unchanged_by_previous(item) {
                out.push(Ok(p));
                continue;
            }
            let r = &item.record;
            let text = self.open_amount_note(r);
            out.push(
                self.prepare_note(
                    &r.order_number,
                    &text,
                    self.cfg.open_amounts.status.as_deref(),
                    &self.cfg.open_amounts,
                )
                .await
                .map_err(|e| on_record(e, &r.label())),
            );
        }
        out
    }

    async fn apply(
        &self,
        items: &[WriteItem<OpenAmount>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(
                self.apply_note(p)
                    .await
                    .map_err(|e| on_record(e, &item.record.label())),
            );
        }
        out
    }
}

#[async_trait]
impl Sink<PaymentStatus> for MagentoShop {
    /// Unpaid: nothing to report (unchanged). Paid: the order's comments, as for open amounts.
    async fn prepare(&self, items: &[WriteItem<PaymentStatus>]) -> Vec<Result<Prepared>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(p) = unchanged_by_previous(item) {
                out.push(Ok(p));
                continue;
            }
            let r = &item.record;
            let label = r.label();
            if !r.paid {
                // nothing to report until the invoice is settled
                out.push(
                    self.order_id(&r.order_number)
                        .await
                        .map(|id| Prepared::unchanged(id.to_string()))
                        .map_err(|e| on_record(e, &label)),
                );
                continue;
            }
            let text = self.payment_note(r);
            out.push(
                self.prepare_note(
                    &r.order_number,
                    &text,
                    self.cfg.payments.status.as_deref(),
                    &self.cfg.payments,
                )
                .await
                .map_err(|e| on_record(e, &label)),
            );
        }
        out
    }

    async fn apply(
        &self,
        items: &[WriteItem<PaymentStatus>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(
                self.apply_note(p)
                    .await
                    .map_err(|e| on_record(e, &item.record.label())),
            );
        }
        out
    }
}
