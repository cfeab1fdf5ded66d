//! koppel-tinyshop: a template shop connector for "Tinyshop", a small JSON REST API
//! (documented in `src/simulator.rs`, which serves it): writes products and stock
//! (`Sink<Product>`, `Sink<StockLevel>`), bearer-token auth.
//!
//! Registered as `tinyshop` in the koppel registry; its simulator is registered for
//! `koppel demo --shop tinyshop` and `koppel sandbox --shop tinyshop@127.0.0.1:8083`.

#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod config;
pub mod connector;
pub mod mapping;
pub mod models;
pub mod simulator;

use std::sync::Arc;

use koppel_core::registry::parse_config;
use koppel_core::{Capabilities, Connector, ConnectorContext, ConnectorDescriptor, Kind, Result, Role};

pub use config::Config;
pub use connector::TinyshopConnector;

/// What the connector reads and writes.
pub const CAPABILITIES: Capabilities = Capabilities {
    sources: &[],
    sinks: &[Kind::Product, Kind::StockLevel],
};

fn schema() -> schemars::Schema {
    schemars::schema_for!(Config)
}

fn example() -> &'static str {
    config::EXAMPLE
}

fn validate(value: &serde_json::Value) -> Result<()> {
    parse_config::<Config>(value.clone()).and_then(|c| c.check())
}

/// Builds the connector from its config table (no I/O).
pub fn factory(value: serde_json::Value, ctx: &ConnectorContext) -> Result<Arc<dyn Connector>> {
    let config: Config = parse_config(value)?;
    config.check()?;
    Ok(Arc::new(TinyshopConnector::new(config, ctx)?))
}

const REGISTRATION: ConnectorDescriptor = ConnectorDescriptor {
    name: "tinyshop",
    role: Role::Shop,
    description: "Tinyshop JSON API (template connector): products and stock",
    capabilities: CAPABILITIES,
    config_schema: schema,
    example_config: example,
    validate,
    factory,
};

static DESCRIPTOR: ConnectorDescriptor = REGISTRATION;

koppel_core::reexports::inventory::submit! { REGISTRATION }

/// The connector's registration (also in the registry under `tinyshop`).
pub fn descriptor() -> &'static ConnectorDescriptor {
    &DESCRIPTOR
}
