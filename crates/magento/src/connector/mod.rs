//! The Magento connector: `Source<Order>`, `Source<Customer>`, `Sink<Product>`,
//! `Sink<StockLevel>`, `Sink<OpenAmount>` and `Sink<PaymentStatus>`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use koppel_core::http::StatsSnapshot;
use koppel_core::{CheckReport, Connector, Endpoints, Error, Page, ReadRequest, Rejection, Result};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::client::{Filter, MagentoClient, SearchCriteria, SCOPE_ALL};
use crate::config::Config;
use crate::mapping::{self, ProductRules};
use crate::models::{SearchResult, StoreConfig};
use koppel_core::paging::Keyset;
use koppel_core::wire::{TtlCache, TtlMap};

mod customers;
mod invoices;
mod orders;
mod products;
mod stock;

use products::{CategoryTree, OptionList};

/// How long category trees and attribute options are reused before they are read again (a
/// miss always reads again once).
const CACHE_TTL: Duration = Duration::from_secs(600);
/// MSI batch size when the shop's input limit is not configured.
const DEFAULT_STOCK_BATCH: usize = 100;
/// Longest `in` list of SKUs (percent-encoded) in one search, so the request line stays well
/// under the 8 KB many web servers accept.
const MAX_IN_LIST_LEN: usize = 4000;

/// One configured Magento shop.
pub struct MagentoShop {
    cfg: Config,
    client: MagentoClient,
    rules: ProductRules,
    /// Category paths under the root -> ids, read once per [`CACHE_TTL`].
    categories: TtlCache<Arc<CategoryTree>>,
    /// Held while a missing category is looked for again and created, so two products do not
    /// both create it.
    creating_categories: tokio::sync::Mutex<()>,
    /// Attribute code -> its options, read once per [`CACHE_TTL`] (again after a label misses).
    options: TtlMap<String, OptionList>,
    /// Held while options are read, so concurrent lookups of one attribute read it once.
    loading_options: tokio::sync::Mutex<()>,
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
                categories: TtlCache::new(CACHE_TTL),
                creating_categories: tokio::sync::Mutex::new(()),
                options: TtlMap::new(CACHE_TTL),
                loading_options: tokio::sync::Mutex::new(()),
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

    pub(super) fn window(&self, req: &ReadRequest) -> SearchCriteria {
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
    pub(super) fn after(criteria: SearchCriteria, req: &ReadRequest) -> Result<SearchCriteria> {
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
    pub(super) async fn read_page<W: DeserializeOwned, R>(
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
        // one unreadable order is a rejection naming it and the field path; the page goes on
        let items = res
            .items
            .iter()
            .map(|raw| koppel_core::wire::parse_item::<W>(raw.get(), label).and_then(|w| map(&w)))
            .collect();
        Ok(Page { next, items })
    }
}
