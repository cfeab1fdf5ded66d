//! The connector: `Sink<Product>` and `Sink<StockLevel>` over [`Client`].

use std::sync::Arc;

use async_trait::async_trait;
use koppel_core::{
    CheckReport, Connector, ConnectorContext, Endpoints, Error, Product, Result, Sink, StockLevel, WriteItem,
    WriteOutcome,
};

use crate::client::Client;
use crate::config::Config;
use crate::mapping::{product_body, stock_body};

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

fn outcome(id: String, created: bool) -> WriteOutcome {
    if created {
        WriteOutcome::Created { target_id: id }
    } else {
        WriteOutcome::Updated { target_id: id }
    }
}

/// Names the record in an error the client could not label.
fn on_record(sku: &str, e: Error) -> Error {
    match e {
        Error::Rejected(r) if r.record.is_empty() => Error::Rejected(r.for_record(sku)),
        other => other,
    }
}

struct Products(Arc<Client>);

#[async_trait]
impl Sink<Product> for Products {
    async fn write(&self, item: &WriteItem<Product>) -> Result<WriteOutcome> {
        let sku = item.record.sku.to_string();
        let body = product_body(&item.record)?;
        let saved = self
            .0
            .put("products", &sku, &body)
            .await
            .map_err(|e| on_record(&sku, e))?;
        Ok(outcome(saved.id, saved.created))
    }
}

struct Stock(Arc<Client>);

#[async_trait]
impl Sink<StockLevel> for Stock {
    async fn write(&self, item: &WriteItem<StockLevel>) -> Result<WriteOutcome> {
        let sku = item.record.sku.to_string();
        let saved = self
            .0
            .put("stock", &sku, &stock_body(&item.record))
            .await
            .map_err(|e| on_record(&sku, e))?;
        Ok(outcome(saved.id, saved.created))
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
