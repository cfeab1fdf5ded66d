//! koppel-snelstart: the connector for the SnelStart B2B API v2.
//!
//! It reads articles (as products and stock levels) and sales invoices (as open amounts and
//! payment statuses) from one administration, and writes shop customers as relaties and shop
//! orders as verkooporders, exactly once (keyed by `orderreferentie`).
//!
//! - [`Config`]: the `[pairs.<name>.accounting]` table (`type = "snelstart"`), see
//!   [`config::EXAMPLE`].
//! - [`SnelStartConnector`]: the [`koppel_core::Connector`]; its [`connector::SnelStartAdministration`]
//!   implements every source and sink.
//! - [`auth`]: the token grant and headers; [`client`]: paging and the error classifier; [`mapping`]: the pure wire <->
//!   canonical functions; [`models`]: the wire types.
//!
//! Registered in the connector registry as `snelstart` (role accounting).

#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod config;
pub mod connector;
pub mod mapping;
pub mod models;

use std::sync::Arc;

use koppel_core::{Capabilities, Connector, ConnectorContext, ConnectorDescriptor, Kind, Result, Role};

pub use client::SnelStartClient;
pub use config::{Config, EXAMPLE};
pub use connector::{SnelStartAdministration, SnelStartConnector};

/// What the connector reads and writes.
pub const CAPABILITIES: Capabilities = Capabilities {
    sources: &[
        Kind::Product,
        Kind::StockLevel,
        Kind::OpenAmount,
        Kind::PaymentStatus,
    ],
    sinks: &[Kind::Customer, Kind::Order],
};

fn schema() -> schemars::Schema {
    schemars::schema_for!(Config)
}

fn example() -> &'static str {
    EXAMPLE
}

/// Parses and checks a config table (JSON, without the `type` key) without I/O.
pub fn parse(value: serde_json::Value) -> Result<Config> {
    let config: Config = koppel_core::registry::parse_config(value)?;
    config.validate()?;
    Ok(config)
}

/// Checks a config without I/O.
pub fn validate(value: &serde_json::Value) -> Result<()> {
    parse(value.clone()).map(|_| ())
}

fn factory(value: serde_json::Value, _ctx: &ConnectorContext) -> Result<Arc<dyn Connector>> {
    let config = parse(value)?;
    Ok(Arc::new(SnelStartConnector::new(config)?))
}

const REGISTRATION: ConnectorDescriptor = ConnectorDescriptor {
    name: "snelstart",
    role: Role::Accounting,
    description: "SnelStart B2B API v2: articles, stock, relaties, verkooporders, open amounts and payments",
    capabilities: CAPABILITIES,
    config_schema: schema,
    example_config: example,
    validate,
    factory,
};

static DESCRIPTOR: ConnectorDescriptor = REGISTRATION;

koppel_core::reexports::inventory::submit! { REGISTRATION }

/// The connector's registration (also in the registry under `snelstart`).
pub fn descriptor() -> &'static ConnectorDescriptor {
    &DESCRIPTOR
}
