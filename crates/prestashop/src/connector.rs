//! The PrestaShop connector: `Source<Order>`, `Source<Customer>`, `Sink<Product>`,
//! `Sink<StockLevel>`, `Sink<PaymentStatus>` and `Sink<OpenAmount>`.
//!
//! Every sink has the two halves of the core contract: `prepare` reads the records as the
//! shop holds them now (one list request per batch), maps and validates, and decides create /
//! update (field changes target-now -> new) / unchanged / reject; `apply` writes what prepare
//! decided, reusing the record it read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use koppel_core::http::{Safety, StatsSnapshot};
use koppel_core::paging::Keyset;
use koppel_core::{
    CheckReport, Connector, Customer, Dependency, Endpoints, Error, FieldChange, OpenAmount, Order, Page,
    PaymentStatus, Prepared, Product, ReadRequest, Record, Rejection, Result, Sink, Source, StockLevel,
    Verdict, WriteItem, WriteOutcome,
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{fits_filter, or_list, ApiInfo, PrestaClient};
use crate::config::Config;
use crate::mapping::{self, DesiredProduct, Lookups, ProductRules};
use crate::models::{Obj, XmlAssoc, XmlEntity, XmlVal};

/// How long countries, currencies and categories are reused.
const CACHE_TTL: Duration = Duration::from_secs(600);
/// Product fields PrestaShop refuses on a write (`setter => false`: error 93) or checks in a
/// way a read-back value fails (`position_in_category`: 0 or empty is error 134, too high 135).
const PRODUCT_READ_ONLY: &[&str] = &["quantity", "manufacturer_name", "position_in_category"];
/// Multilingual product fields (Product::$definition, `lang => true`).
const PRODUCT_LANG: &[&str] = &[
    "name",
    "link_rewrite",
    "description",
    "description_short",
    "meta_title",
    "meta_description",
    "meta_keywords",
    "available_now",
    "available_later",
    "delivery_in_stock",
    "delivery_out_stock",
];

fn on_record(e: Error, label: &str) -> Error {
    match e {
        Error::Rejected(r) => Error::Rejected(r.for_record(label)),
        Error::NotFound { what } => Error::NotFound {
            what: format!("{label}: {what}"),
        },
        other => other,
    }
}

struct Cached<T> {
    at: Instant,
    value: T,
}

/// Category index: lower-cased name path below the root -> id.
type CategoryIndex = HashMap<Vec<String>, u64>;

/// One configured PrestaShop shop.
pub struct PrestaShopShop {
    cfg: Config,
    client: PrestaClient,
    tz: chrono_tz::Tz,
    rules: ProductRules,
    countries: tokio::sync::Mutex<Option<Cached<HashMap<u64, String>>>>,
    currencies: tokio::sync::Mutex<Option<Cached<HashMap<u64, String>>>>,
    categories: tokio::sync::Mutex<Option<Cached<CategoryIndex>>>,
    blank: tokio::sync::OnceCell<Obj>,
}

impl std::fmt::Debug for PrestaShopShop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrestaShopShop")
            .field("base_url", &self.cfg.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// The connector handed to the runner.
#[derive(Debug, Clone)]
pub struct PrestaShopConnector {
    shop: Arc<PrestaShopShop>,
}

impl PrestaShopConnector {
    /// Builds the connector from a validated config (no I/O).
    pub fn new(cfg: Config) -> Result<Self> {
        cfg.validate()?;
        let client = PrestaClient::new(&cfg)?;
        let rules = ProductRules {
            tax_rules: cfg.tax_rules_table(),
            language: cfg.language_id,
        };
        Ok(PrestaShopConnector {
            shop: Arc::new(PrestaShopShop {
                tz: cfg.tz(),
                cfg,
                client,
                rules,
                countries: tokio::sync::Mutex::new(None),
                currencies: tokio::sync::Mutex::new(None),
                categories: tokio::sync::Mutex::new(None),
                blank: tokio::sync::OnceCell::new(),
            }),
        })
    }

    /// The shop behind the endpoints (for tests and tools).
    pub fn shop(&self) -> Arc<PrestaShopShop> {
        self.shop.clone()
    }
}

#[async_trait]
impl Connector for PrestaShopConnector {
    fn name(&self) -> &'static str {
        "prestashop"
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

fn q(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_owned(), v.into())
}

impl PrestaShopShop {
    /// The webservice client (for tests and tools).
    pub fn client(&self) -> &PrestaClient {
        &self.client
    }

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
                    "{what}: no PrestaShop webservice at {}api/: check base_url and that URL rewriting is on",
                    self.cfg.base_url
                ),
            ),
            Error::Protocol { message } => Error::config(
                "base_url",
                format!(
                    "{message}: {} does not answer like a PrestaShop webservice",
                    self.cfg.base_url
                ),
            ),
            other => other,
        }
    }

    /// What the key needs, per resource: the flows' reads and writes.
    fn needed(&self, info: &ApiInfo) -> Vec<(&'static str, &'static str)> {
        let mut n = vec![
            ("products", "GET"),
            ("products", "POST"),
            ("products", "PUT"),
            ("combinations", "GET"),
            ("categories", "GET"),
            ("stock_availables", "GET"),
            ("stock_availables", "PUT"),
            ("orders", "GET"),
            ("order_details", "GET"),
            ("addresses", "GET"),
            ("customers", "GET"),
            ("countries", "GET"),
            ("currencies", "GET"),
        ];
        if self.cfg.products.create_categories {
            n.push(("categories", "POST"));
        }
        if self.cfg.payments.state.is_some() {
            n.push(("order_histories", "GET"));
            n.push(("order_histories", "POST"));
        }
        if self.cfg.open_amounts.message.is_some() {
            n.push(("messages", "GET"));
            n.push(("messages", "POST"));
        }
        let _ = info;
        n
    }

    /// The side-effect-free probe: `GET /api/` (authenticates, gives the version and the key's
    /// permissions), then one order.
    pub async fn check(&self) -> Result<CheckReport> {
        if !self.cfg.key_format_ok() {
            return Err(Error::config(
                "key",
                "a PrestaShop webservice key is 32 letters and digits (Advanced Parameters > Webservice)",
            ));
        }
        let info = self.client.info().await.map_err(|e| self.reach_hint(e))?;
        let mut checks = vec![format!(
            "webservice key accepted (PrestaShop {}, {})",
            if info.version.is_empty() {
                "?"
            } else {
                &info.version
            },
            if info.v8 {
                "8.x: updates with PATCH"
            } else {
                "1.7: updates with a complete PUT"
            }
        )];
        let missing: Vec<String> = self
            .needed(info)
            .into_iter()
            .filter(|(r, m)| !info.allows(r, m))
            .map(|(r, m)| format!("{r} {m}"))
            .collect();
        if !missing.is_empty() {
            return Err(Error::config(
                "key",
                format!(
                    "the webservice key lacks: {} (tick them under Advanced Parameters > Webservice > the key)",
                    missing.join(", ")
                ),
            ));
        }
        checks.push("permissions: ok".into());
        if info.v8 {
            let no_patch: Vec<&str> = ["products", "stock_availables"]
                .into_iter()
                .filter(|r| !info.allows(r, "PATCH"))
                .collect();
            if !no_patch.is_empty() {
                checks.push(format!(
                    "PATCH not granted on {} (keys made before the upgrade to 8 lack it): koppel writes a complete PUT instead",
                    no_patch.join(", ")
                ));
            }
        }
        let orders = self
            .client
            .list("orders", &[q("display", "[id]"), q("limit", "1")])
            .await?;
        checks.push(format!("read orders: ok ({} seen)", orders.len()));
        Ok(CheckReport { checks })
    }

    // -----------------------------------------------------------------------------------------
    // Reference data (cached per run)
    // -----------------------------------------------------------------------------------------

    async fn iso_table(
        &self,
        cache: &tokio::sync::Mutex<Option<Cached<HashMap<u64, String>>>>,
        resource: &str,
    ) -> Result<HashMap<u64, String>> {
        let mut g = cache.lock().await;
        if let Some(c) = g.as_ref().filter(|c| c.at.elapsed() < CACHE_TTL) {
            return Ok(c.value.clone());
        }
        let items = self
            .client
            .list(resource, &[q("display", "[id,iso_code]")])
            .await?;
        let map: HashMap<u64, String> = items
            .into_iter()
            .filter_map(Obj::from_value)
            .filter_map(|o| Some((o.id("id").ok()??, o.non_empty("iso_code")?)))
            .collect();
        *g = Some(Cached {
            at: Instant::now(),
            value: map.clone(),
        });
        Ok(map)
    }

    async fn by_ids(
        &self,
        resource: &str,
        ids: &[u64],
        extra: &[(String, String)],
    ) -> Result<HashMap<u64, Obj>> {
        let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(self
            .client
            .list_by(resource, "id", &ids, extra, 100)
            .await?
            .into_iter()
            .filter_map(|o| Some((o.id("id").ok()??, o)))
            .collect())
    }

    // -----------------------------------------------------------------------------------------
    // Reads
    // -----------------------------------------------------------------------------------------

    /// One keyset page of `resource` in the window: `filter[id]=>[last]`, `sort=[id_ASC]`,
    /// `limit=n`, plus `filter[date_upd]` with `date=1` (error 32 without it). Records whose id
    /// cannot be read still move the keyset (by the largest readable id).
    async fn window_page(
        &self,
        resource: &str,
        req: &ReadRequest,
        page_size: u32,
        extra: Vec<(String, String)>,
    ) -> Result<(Vec<Value>, Option<String>)> {
        let after = match &req.page {
            Some(t) => Some(Keyset::decode(t)?.numeric_id()?),
            None => None,
        };
        let mut query = vec![
            q("display", "full"),
            q("sort", "[id_ASC]"),
            q("limit", page_size.to_string()),
        ];
        if let Some(f) = mapping::date_filter(req.since, req.until, self.tz) {
            query.push(q("date", "1"));
            query.push(q("filter[date_upd]", f));
        }
        if let Some(a) = after {
            query.push(q("filter[id]", format!(">[{a}]")));
        }
        query.extend(extra);
        let items = self.client.list(resource, &query).await?;
        let last = items
            .iter()
            .filter_map(|v| Obj::from_value(v.clone())?.id("id").ok()?)
            .max();
        let next = match last {
            Some(l) if items.len() >= page_size as usize => Some(Keyset::after_id(l.to_string()).encode()),
            _ => None,
        };
        Ok((items, next))
    }

    async fn read_orders(&self, req: &ReadRequest) -> Result<Page<Order>> {
        let mut extra = Vec::new();
        if !self.cfg.orders.states.is_empty() {
            let states: Vec<String> = self.cfg.orders.states.iter().map(u32::to_string).collect();
            extra.push(q("filter[current_state]", or_list(&states)));
        }
        let (items, next) = self
            .window_page("orders", req, self.cfg.orders.page_size, extra)
            .await?;
        let objs: Vec<Option<Obj>> = items.into_iter().map(Obj::from_value).collect();
        let ids = |k: &str| -> Vec<u64> {
            let mut v: Vec<u64> = objs
                .iter()
                .flatten()
                .filter_map(|o| o.id(k).ok().flatten())
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let order_ids: Vec<String> = ids("id").iter().map(u64::to_string).collect();
        let mut address_ids = ids("id_address_invoice");
        address_ids.extend(ids("id_address_delivery"));
        address_ids.sort_unstable();
        address_ids.dedup();
        let mut lookups = Lookups {
            tz: Some(self.tz),
            countries: self.iso_table(&self.countries, "countries").await?,
            currencies: self.iso_table(&self.currencies, "currencies").await?,
            addresses: self.by_ids("addresses", &address_ids, &[]).await?,
            customers: self.by_ids("customers", &ids("id_customer"), &[]).await?,
            ..Default::default()
        };
        if !order_ids.is_empty() {
            for d in self
                .client
                .list_by("order_details", "id_order", &order_ids, &[], 100)
                .await?
            {
                if let Ok(Some(oid)) = d.id("id_order") {
                    lookups.details.entry(oid).or_default().push(d);
                }
            }
        }
        let mut out = Vec::new();
        for o in objs {
            let Some(o) = o else {
                out.push(Err(Rejection::new("order ?", None, "not a JSON object")));
                continue;
            };
            match mapping::order_from_wire(&o, &lookups) {
                Ok(order) if !mapping::in_window(order.modified, req.since, req.until) => {}
                other => out.push(other),
            }
        }
        Ok(Page { items: out, next })
    }

    async fn read_customers(&self, req: &ReadRequest) -> Result<Page<Customer>> {
        let extra = vec![q("filter[is_guest]", "[0]")];
        let (items, next) = self
            .window_page("customers", req, self.cfg.customers.page_size, extra)
            .await?;
        let objs: Vec<Option<Obj>> = items.into_iter().map(Obj::from_value).collect();
        let ids: Vec<String> = objs
            .iter()
            .flatten()
            .filter_map(|o| o.id("id").ok().flatten())
            .map(|i| i.to_string())
            .collect();
        let countries = self.iso_table(&self.countries, "countries").await?;
        let mut addresses: HashMap<u64, Vec<Obj>> = HashMap::new();
        if !ids.is_empty() {
            for a in self
                .client
                .list_by("addresses", "id_customer", &ids, &[], 100)
                .await?
            {
                if let Ok(Some(c)) = a.id("id_customer") {
                    addresses.entry(c).or_default().push(a);
                }
            }
        }
        let mut out = Vec::new();
        for o in objs {
            let Some(o) = o else {
                out.push(Err(Rejection::new("customer ?", None, "not a JSON object")));
                continue;
            };
            let cid = o.id("id").ok().flatten().unwrap_or(0);
            let addrs: Vec<&Obj> = addresses
                .get(&cid)
                .map(|v| v.iter().collect())
                .unwrap_or_default();
            match mapping::customer_from_wire(&o, &addrs, &countries, self.tz) {
                Ok(c) if !mapping::in_window(c.modified, req.since, req.until) => {}
                other => out.push(other),
            }
        }
        Ok(Page { items: out, next })
    }

    // -----------------------------------------------------------------------------------------
    // Products
    // -----------------------------------------------------------------------------------------

    async fn category_index(&self, refresh: bool) -> Result<CategoryIndex> {
        let mut g = self.categories.lock().await;
        if let Some(c) = g.as_ref().filter(|c| !refresh && c.at.elapsed() < CACHE_TTL) {
            return Ok(c.value.clone());
        }
        let lang = self.cfg.language_id.to_string();
        let items = self
            .client
            .list(
                "categories",
                &[q("display", "[id,id_parent,name]"), q("language", lang)],
            )
            .await?;
        let mut nodes: HashMap<u64, (u64, String)> = HashMap::new();
        for o in items.into_iter().filter_map(Obj::from_value) {
            if let (Ok(Some(id)), Ok(parent)) = (o.id("id"), o.id("id_parent")) {
                let name = o.lang("name", self.cfg.language_id).unwrap_or_default();
                nodes.insert(id, (parent.unwrap_or(0), name.trim().to_lowercase()));
            }
        }
        let root = self.cfg.products.root_category_id;
        let mut index = CategoryIndex::new();
        for id in nodes.keys() {
            let mut path = Vec::new();
            let mut cur = *id;
            let mut ok = false;
            for _ in 0..64 {
                if cur == root {
                    ok = true;
                    break;
                }
                let Some((parent, name)) = nodes.get(&cur) else {
                    break;
                };
                path.push(name.clone());
                cur = *parent;
            }
            if ok && !path.is_empty() {
                path.reverse();
                // the lowest id wins when two categories share a path
                let e = index.entry(path).or_insert(*id);
                *e = (*e).min(*id);
            }
        }
        *g = Some(Cached {
            at: Instant::now(),
            value: index.clone(),
        });
        Ok(index)
    }

    /// The category of a path: `Ok(Some(id))`, `Ok(None)` when it is to be created (allowed),
    /// or a rejection when it is missing and creating is off.
    async fn resolve_category(&self, path: &[String]) -> Result<Option<u64>> {
        let key: Vec<String> = path.iter().map(|p| p.trim().to_lowercase()).collect();
        let index = self.category_index(false).await?;
        if let Some(id) = index.get(&key) {
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
        Ok(None)
    }

    /// Creates the missing categories of a path (in `apply`); returns the leaf's id.
    async fn ensure_category(&self, path: &[String]) -> Result<u64> {
        let key: Vec<String> = path.iter().map(|p| p.trim().to_lowercase()).collect();
        let index = self.category_index(true).await?;
        if let Some(id) = index.get(&key) {
            return Ok(*id);
        }
        let mut parent = self.cfg.products.root_category_id;
        for depth in 1..=path.len() {
            if let Some(id) = index.get(&key[..depth]) {
                parent = *id;
                continue;
            }
            let name = path[depth - 1].trim().to_owned();
            let mut e = XmlEntity::new("category");
            e.text("id_parent", parent.to_string());
            e.text("active", "1");
            let langs = self.languages_of_blank().await?;
            e.set(
                "name",
                XmlVal::Lang(langs.iter().map(|l| (*l, name.clone())).collect()),
            );
            e.set(
                "link_rewrite",
                XmlVal::Lang(langs.iter().map(|l| (*l, mapping::slug(&name))).collect()),
            );
            let created = self
                .client
                .write(Method::POST, "categories", &e, &[], Safety::NonIdempotent)
                .await?;
            parent = created
                .id("id")
                .ok()
                .flatten()
                .ok_or_else(|| Error::protocol("POST categories: no id in the answer"))?;
        }
        self.category_index(true).await?;
        Ok(parent)
    }

    /// The product blank schema (`?schema=blank`), read once.
    async fn blank_product(&self) -> Result<&Obj> {
        self.blank
            .get_or_try_init(|| async {
                let v = self
                    .client
                    .get_value(&["products"], &[q("schema", "blank")])
                    .await?;
                v.get("product")
                    .cloned()
                    .and_then(Obj::from_value)
                    .ok_or_else(|| Error::protocol("products?schema=blank: no \"product\" in the answer"))
            })
            .await
    }

    async fn languages_of_blank(&self) -> Result<Vec<u32>> {
        let blank = self.blank_product().await?;
        let langs: Vec<u32> = match blank.0.get("name") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|i| {
                    i.get("id").and_then(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .or_else(|| v.as_u64().map(|n| n.to_string()))
                    })
                })
                .filter_map(|s| s.parse().ok())
                .collect(),
            _ => Vec::new(),
        };
        Ok(if langs.is_empty() {
            vec![self.cfg.language_id]
        } else {
            langs
        })
    }
}

fn validation(e: koppel_core::ValidationError) -> Error {
    Error::Rejected(Rejection::new(e.record, Some(&e.field), e.message))
}

/// What `prepare` carries to `apply` for a product.
struct ProductPlan {
    desired: DesiredProduct,
    /// The shop's product as read (list shape), for updates.
    current: Option<Obj>,
    /// The category id, when it exists; `None` with `create_category` when it is to be made.
    category: Option<u64>,
    create_category: bool,
}

/// What `prepare` carries to `apply` for a stock level.
struct StockPlan {
    row: Obj,
    quantity: i64,
}

/// What `prepare` carries to `apply` for an order state or message.
struct NotePlan {
    order_id: u64,
    customer_id: Option<u64>,
    text: String,
}

fn lang_map(v: &Value) -> Option<BTreeMap<u32, String>> {
    let a = v.as_array()?;
    let mut m = BTreeMap::new();
    for i in a {
        let id = match i.get("id")? {
            Value::String(s) => s.parse().ok()?,
            Value::Number(n) => u32::try_from(n.as_u64()?).ok()?,
            _ => return None,
        };
        m.insert(
            id,
            i.get("value").and_then(Value::as_str).unwrap_or("").to_owned(),
        );
    }
    Some(m)
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => {
            if *b {
                "1".into()
            } else {
                "0".into()
            }
        }
        _ => String::new(),
    }
}

/// The complete record for a PUT, from the list-shape read (never from an 8.x single-record
/// JSON read, which drops `""` and `"0"` fields: PrestaShop/PrestaShop#34794): every field as
/// the shop has it, read-only ones removed, associations left out (a PUT without them leaves
/// them alone).
fn entity_from_current(node: &str, cur: &Obj, read_only: &[&str]) -> XmlEntity {
    let mut e = XmlEntity::new(node);
    for (k, v) in &cur.0 {
        if k == "associations" || read_only.contains(&k.as_str()) {
            continue;
        }
        match lang_map(v) {
            Some(m) => e.set(k, XmlVal::Lang(m)),
            None => e.text(k, plain(v)),
        }
    }
    e
}

fn category_items(cur: Option<&Obj>, add: Option<u64>) -> Vec<Vec<(String, String)>> {
    let mut ids: Vec<u64> = cur
        .map(|c| {
            c.assoc("categories")
                .iter()
                .filter_map(|i| i.id("id").ok().flatten())
                .collect()
        })
        .unwrap_or_default();
    if let Some(a) = add {
        if !ids.contains(&a) {
            ids.push(a);
        }
    }
    ids.into_iter()
        .map(|i| vec![("id".to_owned(), i.to_string())])
        .collect()
}

impl PrestaShopShop {
    async fn prepare_products(&self, items: &[WriteItem<Product>]) -> Vec<Result<Prepared>> {
        let mut out: Vec<Option<Result<Prepared>>> = (0..items.len()).map(|_| None).collect();
        let mut desired: Vec<Option<DesiredProduct>> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let r = &item.record;
            let d = r
                .validate()
                .map_err(validation)
                .and_then(|()| mapping::desired_product(r, &self.rules).map_err(Error::Rejected))
                .and_then(|d| {
                    if fits_filter(&d.reference) {
                        Ok(d)
                    } else {
                        Err(Error::rejected(
                            r.label(),
                            Some("sku"),
                            "a reference with | , [ ] % or surrounding blanks cannot be looked up with the webservice's filters",
                        ))
                    }
                });
            match d {
                Ok(d) => desired.push(Some(d)),
                Err(e) => {
                    out[i] = Some(Err(e));
                    desired.push(None);
                }
            }
        }
        let refs: Vec<String> = desired.iter().flatten().map(|d| d.reference.clone()).collect();
        let found = if refs.is_empty() {
            Ok(Vec::new())
        } else {
            self.client
                .list_by(
                    "products",
                    "reference",
                    &refs,
                    &[],
                    self.cfg.products.batch_size as usize,
                )
                .await
        };
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                return out
                    .into_iter()
                    .map(|o| o.unwrap_or_else(|| Err(e.clone())))
                    .collect();
            }
        };
        let mut by_ref: HashMap<String, Vec<Obj>> = HashMap::new();
        for p in found {
            if let Some(r) = p.text("reference") {
                by_ref.entry(r).or_default().push(p);
            }
        }
        for (i, d) in desired.into_iter().enumerate() {
            let Some(d) = d else { continue };
            let label = items[i].record.label();
            out[i] = Some(
                self.prepare_product(d, &by_ref)
                    .await
                    .map_err(|e| on_record(e, &label)),
            );
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::internal("product left unprepared"))))
            .collect()
    }

    async fn prepare_product(
        &self,
        d: DesiredProduct,
        by_ref: &HashMap<String, Vec<Obj>>,
    ) -> Result<Prepared> {
        let (category, create_category) = if d.category.is_empty() {
            (None, false)
        } else {
            match self.resolve_category(&d.category).await? {
                Some(id) => (Some(id), false),
                None => (None, true),
            }
        };
        let matches = by_ref.get(&d.reference).map(Vec::as_slice).unwrap_or(&[]);
        if matches.len() > 1 {
            let ids: Vec<String> = matches.iter().filter_map(|m| m.text("id")).collect();
            return Err(Error::rejected(
                "",
                Some("sku"),
                format!(
                    "reference {:?} is used by several products ({}): make it unique in the shop",
                    d.reference,
                    ids.join(", ")
                ),
            ));
        }
        let lang = self.cfg.language_id;
        match matches.first() {
            None => {
                let after = json!({
                    "reference": d.reference,
                    "name": d.name,
                    "link_rewrite": mapping::slug(&d.name),
                    "price": d.price.to_string(),
                    "id_tax_rules_group": d.tax_rules_group,
                    "weight": d.weight.map(|w| w.to_string()),
                    "active": if d.active { "1" } else { "0" },
                    "category": d.category.join(" / "),
                });
                Ok(Prepared::create(Some(after)).with_carry(ProductPlan {
                    desired: d,
                    current: None,
                    category,
                    create_category,
                }))
            }
            Some(cur) => {
                let id = cur
                    .id("id")
                    .ok()
                    .flatten()
                    .ok_or_else(|| Error::protocol("a product without id in the list"))?;
                let mut changes = mapping::product_changes(cur, &d, lang, category);
                if create_category {
                    changes.push(FieldChange {
                        path: "id_category_default".into(),
                        before: json!(cur.text("id_category_default")),
                        after: json!(format!("(new) {}", d.category.join(" / "))),
                    });
                }
                let p = if changes.is_empty() {
                    Prepared::unchanged(id.to_string())
                } else {
                    Prepared::update(id.to_string(), changes)
                };
                Ok(p.with_carry(ProductPlan {
                    desired: d,
                    current: Some(cur.clone()),
                    category,
                    create_category,
                }))
            }
        }
    }

    async fn apply_product(&self, item: &WriteItem<Product>, p: &Prepared) -> Result<WriteOutcome> {
        let label = item.record.label();
        self.apply_product_inner(p)
            .await
            .map_err(|e| on_record(e, &label))
    }

    async fn apply_product_inner(&self, p: &Prepared) -> Result<WriteOutcome> {
        if p.verdict == Verdict::Unchanged {
            return Ok(WriteOutcome::Unchanged {
                target_id: p.target_id.clone().unwrap_or_default(),
            });
        }
        let plan = p
            .carried::<ProductPlan>()
            .ok_or_else(|| Error::internal("product prepared without its plan"))?;
        let d = &plan.desired;
        let category = if plan.create_category {
            Some(self.ensure_category(&d.category).await?)
        } else {
            plan.category
        };
        let lang = self.cfg.language_id;
        match (&plan.current, p.verdict) {
            (None, _) | (_, Verdict::Create) => {
                let blank = self.blank_product().await?;
                let mut e = XmlEntity::new("product");
                let langs = self.languages_of_blank().await?;
                let all = |v: &str| XmlVal::Lang(langs.iter().map(|l| (*l, v.to_owned())).collect());
                let mut set = |k: &str, v: XmlVal| {
                    if blank.0.contains_key(k) {
                        e.set(k, v);
                    }
                };
                set("reference", XmlVal::Text(d.reference.clone()));
                set("price", XmlVal::Text(d.price.to_string()));
                if let Some(g) = d.tax_rules_group {
                    set("id_tax_rules_group", XmlVal::Text(g.to_string()));
                }
                if let Some(w) = d.weight {
                    set("weight", XmlVal::Text(w.to_string()));
                }
                set("active", XmlVal::Text(if d.active { "1" } else { "0" }.into()));
                if let Some(c) = category {
                    set("id_category_default", XmlVal::Text(c.to_string()));
                }
                // what the back office sets on a new product: not a draft (8.x `state`), sold
                // one at a time, visible everywhere
                for (k, v) in [
                    ("state", "1"),
                    ("minimal_quantity", "1"),
                    ("visibility", "both"),
                    ("available_for_order", "1"),
                    ("show_price", "1"),
                    ("condition", "new"),
                    ("indexed", "1"),
                ] {
                    set(k, XmlVal::Text(v.into()));
                }
                set("name", all(&d.name));
                set("link_rewrite", all(&mapping::slug(&d.name)));
                if let Some(desc) = &d.description {
                    set("description", all(desc));
                }
                if category.is_some() {
                    e.assocs.push(XmlAssoc {
                        name: "categories".into(),
                        item: "category".into(),
                        items: category_items(None, category),
                    });
                }
                let created = self
                    .client
                    .write(Method::POST, "products", &e, &[], Safety::NonIdempotent)
                    .await?;
                let id = created
                    .id("id")
                    .ok()
                    .flatten()
                    .ok_or_else(|| Error::protocol("POST products: no id in the answer"))?;
                Ok(WriteOutcome::Created {
                    target_id: id.to_string(),
                })
            }
            (Some(cur), _) => {
                let id = p.target_id.clone().unwrap_or_default();
                let info = self.client.info().await?;
                let patch = info.patch("products");
                let mut e = if patch {
                    let mut e = XmlEntity::new("product");
                    e.text("id", id.clone());
                    e
                } else {
                    entity_from_current("product", cur, PRODUCT_READ_ONLY)
                };
                for c in &p.changes {
                    let after = c.after.as_str().map(str::to_owned).unwrap_or_default();
                    match c.path.as_str() {
                        f @ ("name" | "link_rewrite" | "description") => {
                            let mut m = match (patch, e.get(f)) {
                                (false, Some(XmlVal::Lang(m))) => m.clone(),
                                _ => BTreeMap::new(),
                            };
                            m.insert(lang, after);
                            e.set(f, XmlVal::Lang(m));
                        }
                        "id_category_default" => {
                            if let Some(cat) = category {
                                e.text("id_category_default", cat.to_string());
                                e.assocs.push(XmlAssoc {
                                    name: "categories".into(),
                                    item: "category".into(),
                                    items: category_items(Some(cur), Some(cat)),
                                });
                            }
                        }
                        other => e.text(other, after),
                    }
                }
                for f in PRODUCT_LANG {
                    // a one-language answer renders translations as plain strings
                    if let Some(XmlVal::Text(t)) = e.get(f).cloned() {
                        e.set(f, XmlVal::Lang(BTreeMap::from([(lang, t)])));
                    }
                }
                let method = if patch { Method::PATCH } else { Method::PUT };
                self.client
                    .write(method, "products", &e, &[], Safety::Idempotent)
                    .await?;
                Ok(WriteOutcome::Updated { target_id: id })
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Stock
    // -----------------------------------------------------------------------------------------

    async fn prepare_stock(&self, items: &[WriteItem<StockLevel>]) -> Vec<Result<Prepared>> {
        let mut out: Vec<Option<Result<Prepared>>> = (0..items.len()).map(|_| None).collect();
        // (product id, combination id) per item
        let mut target: Vec<Option<(u64, u64)>> = vec![None; items.len()];
        let mut search: Vec<String> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let sku = item.record.sku.as_str();
            if let Some(pid) = item
                .refs
                .get(&format!("sku:{sku}"))
                .and_then(|t| t.parse::<u64>().ok())
            {
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

    async fn orders_of(&self, numbers: &[&str]) -> Result<HashMap<u64, Obj>> {
        let ids: Vec<u64> = numbers.iter().filter_map(|n| n.parse().ok()).collect();
        self.by_ids("orders", &ids, &[]).await
    }

    fn order_id(number: &str, label: &str) -> Result<u64> {
        number.trim().parse().map_err(|_| {
            Error::rejected(
                label,
                Some("order_number"),
                format!("{number:?} is not a PrestaShop order id"),
            )
        })
    }

    async fn prepare_payments(&self, items: &[WriteItem<PaymentStatus>]) -> Vec<Result<Prepared>> {
        let Some(state) = self.cfg.payments.state else {
            return items
                .iter()
                .map(|i| Ok(Prepared::unchanged(i.record.order_number.clone())))
                .collect();
        };
        let todo: Vec<&str> = items
            .iter()
            .filter(|i| i.record.paid)
            .map(|i| i.record.order_number.as_str())
            .collect();
        let (orders, histories) = if todo.is_empty() {
            (HashMap::new(), Vec::new())
        } else {
            let ids: Vec<String> = todo
                .iter()
                .filter(|n| n.parse::<u64>().is_ok())
                .map(|n| n.to_string())
                .collect();
            let orders = self.orders_of(&todo).await;
            let hist = if ids.is_empty() {
                Ok(Vec::new())
            } else {
                self.client
                    .list_by("order_histories", "id_order", &ids, &[], 100)
                    .await
            };
            match (orders, hist) {
                (Ok(o), Ok(h)) => (o, h),
                (Err(e), _) | (_, Err(e)) => return items.iter().map(|_| Err(e.clone())).collect(),
            }
        };
        items
            .iter()
            .map(|item| {
                let r = &item.record;
                let label = r.label();
                r.validate().map_err(validation)?;
                if !r.paid {
                    // nothing to report until the invoice is settled
                    return Ok(Prepared::unchanged(r.order_number.clone()));
                }
                let id = Self::order_id(&r.order_number, &label)?;
                let order = orders.get(&id).ok_or_else(|| Error::NotFound {
                    what: format!("{label}: order {id} in the shop"),
                })?;
                let done = histories.iter().any(|h| {
                    h.id("id_order").ok().flatten() == Some(id)
                        && h.id("id_order_state").ok().flatten() == Some(u64::from(state))
                });
                if done {
                    return Ok(Prepared::unchanged(id.to_string()));
                }
                Ok(Prepared::update(
                    id.to_string(),
                    vec![FieldChange {
                        path: "current_state".into(),
                        before: json!(order.text("current_state")),
                        after: json!(state.to_string()),
                    }],
                )
                .with_carry(NotePlan {
                    order_id: id,
                    customer_id: order.id("id_customer").ok().flatten(),
                    text: state.to_string(),
                }))
            })
            .collect()
    }

    async fn apply_payment(&self, item: &WriteItem<PaymentStatus>, p: &Prepared) -> Result<WriteOutcome> {
        let target_id = p.target_id.clone().unwrap_or_default();
        if p.verdict == Verdict::Unchanged {
            return Ok(WriteOutcome::Unchanged { target_id });
        }
        let plan = p
            .carried::<NotePlan>()
            .ok_or_else(|| Error::internal("payment prepared without its plan"))?;
        // a new order_histories entry, never a PUT on orders (which re-fires the state hooks
        // and mails every time: PrestaShop/PrestaShop#11154); it mails only with sendemail=1
        let mut e = XmlEntity::new("order_history");
        e.text("id_order", plan.order_id.to_string());
        e.text("id_order_state", plan.text.clone());
        e.text("id_employee", "0");
        let query = if self.cfg.payments.send_email {
            vec![q("sendemail", "1")]
        } else {
            Vec::new()
        };
        self.client
            .write(Method::POST, "order_histories", &e, &query, Safety::NonIdempotent)
            .await
            .map_err(|e| on_record(e, &item.record.label()))?;
        Ok(WriteOutcome::Updated { target_id })
    }

    /// The message for an open amount.
    pub fn open_amount_message(&self, r: &OpenAmount) -> Option<String> {
        let t = self.cfg.open_amounts.message.as_ref()?;
        Some(mapping::fill_template(
            t,
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
        ))
    }

    async fn prepare_open_amounts(&self, items: &[WriteItem<OpenAmount>]) -> Vec<Result<Prepared>> {
        if self.cfg.open_amounts.message.is_none() {
            return items
                .iter()
                .map(|i| Ok(Prepared::unchanged(i.record.order_number.clone())))
                .collect();
        }
        let numbers: Vec<&str> = items.iter().map(|i| i.record.order_number.as_str()).collect();
        let ids: Vec<String> = numbers
            .iter()
            .filter(|n| n.parse::<u64>().is_ok())
            .map(|n| n.to_string())
            .collect();
        let orders = self.orders_of(&numbers).await;
        let messages = if ids.is_empty() {
            Ok(Vec::new())
        } else {
            self.client.list_by("messages", "id_order", &ids, &[], 100).await
        };
        let (orders, messages) = match (orders, messages) {
            (Ok(o), Ok(m)) => (o, m),
            (Err(e), _) | (_, Err(e)) => return items.iter().map(|_| Err(e.clone())).collect(),
        };
        items
            .iter()
            .map(|item| {
                let r = &item.record;
                let label = r.label();
                r.validate().map_err(validation)?;
                let id = Self::order_id(&r.order_number, &label)?;
                let order = orders.get(&id).ok_or_else(|| Error::NotFound {
                    what: format!("{label}: order {id} in the shop"),
                })?;
                let text = self.open_amount_message(r).unwrap_or_default();
                let seen: HashSet<String> = messages
                    .iter()
                    .filter(|m| m.id("id_order").ok().flatten() == Some(id))
                    .filter_map(|m| m.text("message").map(|t| t.trim().to_owned()))
                    .collect();
                if seen.contains(text.trim()) {
                    return Ok(Prepared::unchanged(id.to_string()));
                }
                Ok(Prepared::update(
                    id.to_string(),
                    vec![FieldChange {
                        path: "message".into(),
                        before: Value::Null,
                        after: json!(text),
                    }],
                )
                .with_carry(NotePlan {
                    order_id: id,
                    customer_id: order.id("id_customer").ok().flatten(),
                    text,
                }))
            })
            .collect()
    }

    async fn apply_open_amount(&self, item: &WriteItem<OpenAmount>, p: &Prepared) -> Result<WriteOutcome> {
        let target_id = p.target_id.clone().unwrap_or_default();
        if p.verdict == Verdict::Unchanged {
            return Ok(WriteOutcome::Unchanged { target_id });
        }
        let plan = p
            .carried::<NotePlan>()
            .ok_or_else(|| Error::internal("open amount prepared without its plan"))?;
        // a private message: employees see it on the order, the customer does not
        let mut e = XmlEntity::new("message");
        e.text("id_order", plan.order_id.to_string());
        if let Some(c) = plan.customer_id {
            e.text("id_customer", c.to_string());
        }
        e.text("id_employee", "0");
        e.text("message", plan.text.clone());
        e.text("private", "1");
        self.client
            .write(Method::POST, "messages", &e, &[], Safety::NonIdempotent)
            .await
            .map_err(|e| on_record(e, &item.record.label()))?;
        Ok(WriteOutcome::Updated { target_id })
    }
}

#[async_trait]
impl Source<Order> for PrestaShopShop {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Order>> {
        self.read_orders(req).await
    }
}

#[async_trait]
impl Source<Customer> for PrestaShopShop {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Customer>> {
        self.read_customers(req).await
    }
}

#[async_trait]
impl Sink<Product> for PrestaShopShop {
    async fn prepare(&self, items: &[WriteItem<Product>]) -> Vec<Result<Prepared>> {
        self.prepare_products(items).await
    }

    async fn apply(&self, items: &[WriteItem<Product>], prepared: &[Prepared]) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(self.apply_product(item, p).await);
        }
        out
    }

    fn batch_size(&self) -> usize {
        self.cfg.products.batch_size as usize
    }
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

#[async_trait]
impl Sink<PaymentStatus> for PrestaShopShop {
    async fn prepare(&self, items: &[WriteItem<PaymentStatus>]) -> Vec<Result<Prepared>> {
        self.prepare_payments(items).await
    }

    async fn apply(
        &self,
        items: &[WriteItem<PaymentStatus>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(self.apply_payment(item, p).await);
        }
        out
    }

    fn batch_size(&self) -> usize {
        50
    }
}

#[async_trait]
impl Sink<OpenAmount> for PrestaShopShop {
    async fn prepare(&self, items: &[WriteItem<OpenAmount>]) -> Vec<Result<Prepared>> {
        self.prepare_open_amounts(items).await
    }

    async fn apply(
        &self,
        items: &[WriteItem<OpenAmount>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(self.apply_open_amount(item, p).await);
        }
        out
    }

    fn batch_size(&self) -> usize {
        50
    }
}
