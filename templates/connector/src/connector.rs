//! The connector: `Sink<Product>` and `Sink<StockLevel>` over [`Client`].
//!
//! Each sink has the two halves of a write: `prepare` (read-only: map and validate the
//! record, so a plan rejects what the run would reject) and `apply` (the PUT of what
//! `prepare` mapped, carried in [`Prepared`]). Tinyshop has no read endpoint, so `prepare`
//! decides create / update / unchanged from the binding ([`prepare_from_previous`]); a shop
//! that can be read compares with what it holds instead (see `crates/magento`).

use std::sync::Arc;

use async_trait::async_trait;
use koppel_core::connector::prepare_from_previous;
use koppel_core::wire::on_record;
use koppel_core::{
    CheckReport, Connector, ConnectorContext, Endpoints, Error, Prepared, Product, Record, Result, Sink,
    StockLevel, WriteItem, WriteOutcome,
};

use crate::client::Client;
use crate::config::Config;
use crate::mapping::{product_body, stock_body};
use crate::models::{ProductBody, Saved, StockBody};

/// A Tinyshop shop.
pub struct TinyshopConnector {
    client: Arc<Client>,
}

impl TinyshopConnector {
    /// Builds it (no I/O).
    pub fn new(config: Config, ctx: &ConnectorContext) -> Result<Self> {
        Ok(TinyshopConnector {
            client: Arc::new(Client::new(&config, &ctx.pair)?),
        })
    }
}

fn outcome(saved: Saved) -> WriteOutcome {
    if saved.created {
        WriteOutcome::Created { target_id: saved.id }
    } else {
        WriteOutcome::Updated { target_id: saved.id }
    }
}

/// `prepare` for one item: the binding's verdict, carrying the mapped body (or the mapping's
/// rejection).
fn prepared<R: Record, B: Send + Sync + 'static>(item: &WriteItem<R>, body: Result<B>) -> Result<Prepared> {
    Ok(prepare_from_previous(item)?.with_carry(body?))
}

/// `apply` for one item: PUTs the body `prepare` carried to `/{what}/{sku}`.
async fn put<R: Record, B: serde::Serialize + Send + Sync + 'static>(
    client: &Client,
    what: &str,
    item: &WriteItem<R>,
    prepared: &Prepared,
) -> Result<WriteOutcome> {
    let body = prepared
        .carried::<B>()
        .ok_or_else(|| Error::internal("prepared without its body"))?;
    client
        .put(what, &item.record.key(), body)
        .await
        .map(outcome)
        .map_err(|e| on_record(e, &item.record.label()))
}

struct Products(Arc<Client>);

#[async_trait]
impl Sink<Product> for Products {
    async fn prepare(&self, items: &[WriteItem<Product>]) -> Vec<Result<Prepared>> {
        items
            .iter()
            .map(|item| prepared(item, product_body(&item.record)))
            .collect()
    }

    async fn apply(&self, items: &[WriteItem<Product>], prepared: &[Prepared]) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(put::<_, ProductBody>(&self.0, "products", item, p).await);
        }
        out
    }
}

struct Stock(Arc<Client>);

#[async_trait]
impl Sink<StockLevel> for Stock {
    async fn prepare(&self, items: &[WriteItem<StockLevel>]) -> Vec<Result<Prepared>> {
        items
            .iter()
            .map(|item| prepared(item, Ok(stock_body(&item.record))))
            .collect()
    }

    async fn apply(
        &self,
        items: &[WriteItem<StockLevel>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(put::<_, StockBody>(&self.0, "stock", item, p).await);
        }
        out
    }
}

#[async_trait]
impl Connector for TinyshopConnector {
    fn name(&self) -> &'static str {
        "tinyshop"
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints {
            product_sink: Some(Arc::new(Products(self.client.clone()))),
            stock_sink: Some(Arc::new(Stock(self.client.clone()))),
            ..Endpoints::default()
        }
    }

    async fn check(&self) -> Result<CheckReport> {
        let name = self.client.shop_name().await?;
        Ok(CheckReport {
            checks: vec![format!("token accepted by shop {name:?}")],
        })
    }

    fn stats(&self) -> koppel_core::http::StatsSnapshot {
        self.client.stats()
    }
}
