//! The PrestaShop connector: `Source<Order>`, `Source<Customer>`, `Sink<Product>`,
//! `Sink<StockLevel>`, `Sink<PaymentStatus>` and `Sink<OpenAmount>`.
//!
//! Every sink has the two halves of the core contract: `prepare` reads the records as the
//! shop holds them now (one list request per batch), maps and validates, and decides create /
//! update (field changes target-now -> new) / unchanged / reject; `apply` writes what prepare
//! decided, reusing the record it read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use koppel_core::http::StatsSnapshot;
use koppel_core::paging::Keyset;
use koppel_core::{CheckReport, Connector, Endpoints, Error, ReadRequest, Rejection, Result};
use serde_json::Value;

use koppel_core::wire::TtlCache;

use crate::client::{ApiInfo, PrestaClient};
use crate::config::Config;
use crate::mapping::{self, ProductRules};
use crate::models::{Obj, XmlEntity, XmlVal};

mod customers;
mod invoices;
mod orders;
mod products;
mod stock;

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

/// Category index: lower-cased name path below the root -> id.
type CategoryIndex = HashMap<Vec<String>, u64>;

/// One configured PrestaShop shop.
pub struct PrestaShopShop {
    cfg: Config,
    client: PrestaClient,
    tz: chrono_tz::Tz,
    rules: ProductRules,
    countries: TtlCache<HashMap<u64, String>>,
    currencies: TtlCache<HashMap<u64, String>>,
    categories: TtlCache<CategoryIndex>,
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
                countries: TtlCache::new(CACHE_TTL),
                currencies: TtlCache::new(CACHE_TTL),
                categories: TtlCache::new(CACHE_TTL),
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
        cache: &TtlCache<HashMap<u64, String>>,
        resource: &str,
    ) -> Result<HashMap<u64, String>> {
        cache
            .get_or_load(|| async {
                let items = self
                    .client
                    .list(resource, &[q("display", "[id,iso_code]")])
                    .await?;
                Ok(items
                    .into_iter()
                    .filter_map(Obj::from_value)
                    .filter_map(|o| Some((o.id("id").ok()??, o.non_empty("iso_code")?)))
                    .collect())
            })
            .await
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
}

fn validation(e: koppel_core::ValidationError) -> Error {
    Error::Rejected(Rejection::new(e.record, Some(&e.field), e.message))
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
