//! The SnelStart connector: `Source<Product>`, `Source<StockLevel>`, `Source<OpenAmount>`,
//! `Source<PaymentStatus>`, `Sink<Customer>` and `Sink<Order>` over one administration.

mod customers;
mod invoices;
mod orders;
mod products;
mod slices;
mod stock;

use std::collections::HashMap;
use std::sync::atomic::AtomicU8;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use koppel_core::http::StatsSnapshot;
use koppel_core::wire::{TtlCache, TtlMap};
use koppel_core::{CheckReport, Connector, Endpoints, Error, Result};
use serde_json::Value;

use crate::client::{Query, SnelStartClient};
use crate::config::Config;
use crate::mapping::RefData;
use crate::models::{Artikel, BtwTarief, CompanyInfo, Land, Omzetgroep};

/// Pages at most this many times through a lookup list (a safety stop).
const MAX_LOOKUP_PAGES: usize = 200;

const FILTER_UNKNOWN: u8 = 0;
const FILTER_WORKS: u8 = 1;
const FILTER_REFUSED: u8 = 2;

/// One SnelStart administration. Cheap to clone.
#[derive(Clone)]
pub struct SnelStartConnector {
    inner: Arc<SnelStartAdministration>,
}

impl std::fmt::Debug for SnelStartConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnelStartConnector").finish_non_exhaustive()
    }
}

/// The shared state behind every endpoint.
pub struct SnelStartAdministration {
    config: Config,
    client: SnelStartClient,
    refdata: TtlCache<Arc<RefData>>,
    /// artikelcode -> article
    articles_by_code: TtlMap<String, Artikel>,
    /// article GUID (lower case) -> article
    articles_by_id: TtlMap<String, Artikel>,
    /// verkooporder GUID (lower case) -> its orderreferentie
    order_refs: Mutex<HashMap<String, Option<String>>>,
    /// GUID of the verzameldebiteur
    collective: tokio::sync::Mutex<Option<String>>,
    /// Whether `$filter=Orderreferentie eq '…'` is accepted.
    orderref_filter: AtomicU8,
}

impl SnelStartConnector {
    /// Builds the connector (no I/O).
    pub fn new(config: Config) -> Result<Self> {
        config.validate()?;
        let client = SnelStartClient::new(&config)?;
        let ttl = Duration::from_secs(config.reference_ttl_secs);
        Ok(SnelStartConnector {
            inner: Arc::new(SnelStartAdministration {
                config,
                client,
                refdata: TtlCache::new(ttl),
                articles_by_code: TtlMap::new(ttl),
                articles_by_id: TtlMap::new(ttl),
                order_refs: Mutex::default(),
                collective: tokio::sync::Mutex::new(None),
                orderref_filter: AtomicU8::new(FILTER_UNKNOWN),
            }),
        })
    }

    /// The shared state (implements every source and sink).
    pub fn administration(&self) -> &Arc<SnelStartAdministration> {
        &self.inner
    }

    /// The HTTP client.
    pub fn client(&self) -> &SnelStartClient {
        &self.inner.client
    }
}

fn item_label(kind: &str, v: &Value) -> String {
    let id = ["artikelcode", "factuurnummer", "id"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .unwrap_or("(unknown)");
    format!("{kind} {id}")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SnelStartAdministration {
    /// Reference data, read once per TTL.
    pub async fn refdata(&self) -> Result<Arc<RefData>> {
        self.refdata
            .get_or_load(|| async {
                let c = &self.client;
                // four small reads, side by side
                let (groups, tarieven, landen, company): (
                    Vec<Omzetgroep>,
                    Vec<BtwTarief>,
                    Vec<Land>,
                    CompanyInfo,
                ) = tokio::try_join!(
                    c.get("/artikelomzetgroepen", "/artikelomzetgroepen"),
                    c.get("/btwtarieven", "/btwtarieven"),
                    c.get("/landen", "/landen"),
                    c.get("/companyInfo", "/companyInfo"),
                )?;
                Ok(Arc::new(RefData::new(groups, tarieven, landen, &company)))
            })
            .await
    }
}

/// A list item read as `T`; an unreadable one is a rejection naming the record and the field
/// path serde stopped at (e.g. `prijs`), via [`koppel_core::wire::parse_value`].
fn read_item<T: serde::de::DeserializeOwned>(
    kind: &str,
    v: &Value,
) -> std::result::Result<T, koppel_core::Rejection> {
    koppel_core::wire::parse_value(v, |v| item_label(kind, v)).map_err(|mut r| {
        r.message = format!("unreadable: {}", r.message);
        r
    })
}

#[async_trait]
impl Connector for SnelStartConnector {
    fn name(&self) -> &'static str {
        "snelstart"
    }

    fn endpoints(&self) -> Endpoints {
        let i = &self.inner;
        Endpoints {
            product_source: Some(i.clone()),
            stock_source: Some(i.clone()),
            customer_sink: Some(i.clone()),
            order_sink: Some(i.clone()),
            open_amount_source: Some(i.clone()),
            payment_source: Some(i.clone()),
            ..Endpoints::default()
        }
    }

    async fn check(&self) -> Result<CheckReport> {
        let i = &self.inner;
        let cfg = &i.config;
        let mut checks = Vec::new();
        i.client.probe_token().await.map_err(|e| match e {
            Error::Transient { message, .. } => Error::Transient {
                message: format!("cannot reach the token endpoint {}: {message}", cfg.auth_url),
                retry_after: None,
            },
            other => other,
        })?;
        checks.push(format!("token from {}: ok", cfg.auth_url));
        let unreachable = |e: Error| match e {
            Error::Transient { message, .. } => Error::Transient {
                message: format!(
                    "cannot reach the SnelStart API at {}: {message}",
                    cfg.api_base_url
                ),
                retry_after: None,
            },
            other => other,
        };
        let company: CompanyInfo = i
            .client
            .get("/companyInfo", "/companyInfo")
            .await
            .map_err(unreachable)?;
        checks.push(format!(
            "administration: {} ({})",
            company.administratie_naam.as_deref().unwrap_or("(no name)"),
            company.administratie_identifier.as_deref().unwrap_or("no id")
        ));
        let q = Query {
            filter: None,
            select: Some("Id,Artikelcode".to_owned()),
            skip: 0,
            top: 1,
        };
        let items = i.client.list_page("/artikelen", &q).await.map_err(unreachable)?;
        checks.push(format!("read {} article(s): ok", items.len()));
        // the articles the orders flow books shipping, fees and discounts on must exist
        let service = [
            ("orders.shipping_article", &cfg.orders.shipping_article),
            ("orders.payment_fee_article", &cfg.orders.payment_fee_article),
            ("orders.discount_article", &cfg.orders.discount_article),
            ("orders.fee_article", &cfg.orders.fee_article),
        ];
        for (path, code) in service {
            let Some(code) = code else { continue };
            if i.article_by_code(code).await.map_err(unreachable)?.is_none() {
                return Err(Error::config(
                    path,
                    format!("no article {code:?} in SnelStart: create it there, or change this setting"),
                ));
            }
            checks.push(format!("{path} {code:?}: ok"));
        }
        Ok(CheckReport { checks })
    }

    fn stats(&self) -> StatsSnapshot {
        self.inner.client.stats()
    }
}
