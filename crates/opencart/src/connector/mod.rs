//! The trait impls: products and stock written by SKU, orders and customers read keyset-paged,
//! payments and open amounts written as order history. Every sink has a read-only `prepare`
//! (what the shop holds now, the diff, every check that can reject a record) and an `apply`
//! that writes exactly what `prepare` decided (the trait's `write`/`write_batch` run one, then
//! the other). One file per flow: products, stock, customers, orders, invoices.

use std::sync::Arc;

mod customers;
mod invoices;
mod orders;
mod products;
mod stock;

use async_trait::async_trait;
use koppel_core::http::StatsSnapshot;
use koppel_core::paging::Keyset;
use koppel_core::{CheckReport, Connector, Endpoints, Error, Page, ReadRequest, Rejection, Result};
use serde_json::Value;

use crate::client::BridgeClient;
use crate::config::Config;
use crate::mapping::{OrderRules, ProductRules};

/// The connector: hands out the shop's sources and sinks.
pub struct OpenCartConnector {
    shop: Arc<OpenCartShop>,
}

/// The shop behind the bridge.
pub struct OpenCartShop {
    cfg: Config,
    client: BridgeClient,
    orders: OrderRules,
    products: ProductRules,
}

impl std::fmt::Debug for OpenCartShop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenCartShop")
            .field("bridge_url", &self.cfg.bridge_url.as_str())
            .finish_non_exhaustive()
    }
}

impl OpenCartConnector {
    /// Builds the connector (no I/O).
    pub fn new(cfg: Config, pair: &str) -> Result<Self> {
        let client = BridgeClient::new(&cfg, pair)?;
        let orders = OrderRules {
            sku_fallback_model: cfg.sku_fallback_model,
            currency: cfg.currency.clone(),
            key_is_model: cfg.key == crate::config::KeyField::Model,
        };
        let products = ProductRules {
            tax_classes: cfg.tax_class_table(),
            weight_class_id: cfg.products.weight_class_id,
            seo_keyword: cfg.products.seo_keyword,
        };
        Ok(OpenCartConnector {
            shop: Arc::new(OpenCartShop {
                cfg,
                client,
                orders,
                products,
            }),
        })
    }

    /// The shop, for tests and tools.
    pub fn shop(&self) -> Arc<OpenCartShop> {
        self.shop.clone()
    }
}

#[async_trait]
impl Connector for OpenCartConnector {
    fn name(&self) -> &'static str {
        "opencart"
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints {
            product_sink: Some(self.shop.clone()),
            stock_sink: Some(self.shop.clone()),
            order_source: Some(self.shop.clone()),
            customer_source: Some(self.shop.clone()),
            open_amount_sink: Some(self.shop.clone()),
            payment_sink: Some(self.shop.clone()),
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

fn label_of(v: &Value, noun: &str, id_key: &str) -> String {
    match v.get(id_key).and_then(Value::as_u64) {
        Some(id) => format!("{noun} {id}"),
        None => format!("unreadable {noun}"),
    }
}

fn keyset_of(v: &Value, id_key: &str, time_key: &str) -> Option<Keyset> {
    let id = v.get(id_key).and_then(Value::as_u64)?;
    let modified = v
        .get(time_key)
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<chrono::DateTime<chrono::Utc>>().ok());
    Some(Keyset::after(modified, id.to_string()))
}

impl OpenCartShop {
    /// The bridge client.
    pub fn client(&self) -> &BridgeClient {
        &self.client
    }

    /// `ping`: bridge version, OpenCart version, schema variant.
    pub async fn check(&self) -> Result<CheckReport> {
        let p = self.client.ping().await.map_err(|e| match e {
            Error::Transient { message, .. } | Error::Protocol { message } => Error::Transient {
                message: format!(
                    "the bridge at {} does not answer as expected: {message}",
                    self.cfg.bridge_url
                ),
                retry_after: None,
            },
            other => other,
        })?;
        let mut checks = vec![
            format!(
                "bridge {} at {}: ok (signature accepted)",
                p.bridge_version, self.cfg.bridge_url
            ),
            format!(
                "OpenCart {} (schema {}, {}), time zone {}",
                p.opencart_version.as_deref().unwrap_or("version unknown"),
                p.schema,
                if p.transactions { "InnoDB" } else { "MyISAM" },
                p.timezone.as_deref().unwrap_or("?")
            ),
        ];
        if let Some(max) = p.max_batch {
            let largest = self
                .cfg
                .products
                .batch_size
                .max(self.cfg.stock.batch_size)
                .max(self.cfg.orders.page_size)
                .max(self.cfg.customers.page_size);
            if largest > max {
                return Err(Error::config(
                    "products.batch_size",
                    format!("the bridge takes at most {max} records per call"),
                ));
            }
            checks.push(format!("batches up to {largest} (bridge limit {max}): ok"));
        }
        Ok(CheckReport { checks })
    }

    fn key(&self) -> &'static str {
        self.cfg.key.as_str()
    }

    async fn read_list<R>(
        &self,
        op: &str,
        body: Value,
        req: &ReadRequest,
        limit: u32,
        (noun, id_key, time_key): (&str, &str, &str),
        map: impl Fn(Value) -> std::result::Result<R, Rejection>,
    ) -> Result<Page<R>> {
        let after = match &req.page {
            Some(t) => Some(Keyset::decode(t)?),
            None => None,
        };
        let page = self
            .client
            .list_page(op, body, req.since, req.until, after.as_ref(), limit)
            .await?;
        let next = if page.more {
            match page.items.last().and_then(|v| keyset_of(v, id_key, time_key)) {
                Some(k) => Some(k.encode()),
                None => {
                    return Err(Error::protocol(format!(
                        "{op}: the last {noun} of a page has no {id_key}"
                    )))
                }
            }
        } else {
            None
        };
        let items = page
            .items
            .into_iter()
            .map(|v| {
                let label = label_of(&v, noun, id_key);
                map(v).map_err(|r| r.for_record(label))
            })
            .collect();
        Ok(Page { items, next })
    }
}
