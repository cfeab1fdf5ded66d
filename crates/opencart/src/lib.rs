//! koppel-opencart: the OpenCart connector (3.0.x, 4.0.x, 4.1.x).
//!
//! OpenCart's own API cannot list orders, read products or set stock, so koppel talks to a small
//! signed PHP bridge the shop owner copies into the OpenCart root (`bridge/koppel-bridge.php`,
//! install steps in `bridge/INSTALL.md`, wire format in `bridge/PROTOCOL.md`). Reads orders and
//! customers (`Source<Order>`, `Source<Customer>`), writes products, stock, open amounts and
//! payment status (`Sink<Product>`, `Sink<StockLevel>`, `Sink<OpenAmount>`,
//! `Sink<PaymentStatus>`; the last two as order history).
//!
//! Registered as `opencart` in the koppel registry.

#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod config;
pub mod connector;
pub mod mapping;
pub mod models;

use std::sync::Arc;

use koppel_core::registry::parse_config;
use koppel_core::{Capabilities, Connector, ConnectorContext, ConnectorDescriptor, Kind, Result, Role};

pub use config::Config;
pub use connector::{OpenCartConnector, OpenCartShop};

/// The bridge file, as shipped (for tools that install or serve it).
pub const BRIDGE_PHP: &str = include_str!("../bridge/koppel-bridge.php");

/// What the connector reads and writes.
pub const CAPABILITIES: Capabilities = Capabilities {
    sources: &[Kind::Customer, Kind::Order],
    sinks: &[
        Kind::Product,
        Kind::StockLevel,
        Kind::OpenAmount,
        Kind::PaymentStatus,
    ],
};

fn schema() -> schemars::Schema {
    schemars::schema_for!(Config)
}

fn example() -> &'static str {
    config::EXAMPLE
}

/// Parses and checks a config without I/O.
pub fn parse(value: serde_json::Value) -> Result<Config> {
    let cfg: Config = parse_config(koppel_core::wire::without_type(value, "opencart"))?;
    cfg.validate()?;
    Ok(cfg)
}

/// Checks a config without I/O.
pub fn validate(value: &serde_json::Value) -> Result<()> {
    parse(value.clone()).map(|_| ())
}

/// Builds the connector from its config table (without the `type` key). No I/O.
pub fn factory(value: serde_json::Value, ctx: &ConnectorContext) -> Result<Arc<dyn Connector>> {
    Ok(Arc::new(OpenCartConnector::new(parse(value)?, &ctx.pair)?))
}

/// The registration (for the conformance kit and tools).
pub fn descriptor() -> &'static ConnectorDescriptor {
    &DESCRIPTOR
}

const REGISTRATION: ConnectorDescriptor = ConnectorDescriptor {
    name: "opencart",
    role: Role::Shop,
    description: "OpenCart 3.0 / 4.0 / 4.1 through the signed koppel PHP bridge",
    capabilities: CAPABILITIES,
    config_schema: schema,
    example_config: example,
    validate,
    factory,
};

static DESCRIPTOR: ConnectorDescriptor = REGISTRATION;

koppel_core::reexports::inventory::submit!(REGISTRATION);

#[cfg(test)]
mod tests {
    use super::*;

    fn example_json() -> serde_json::Value {
        let mut v: serde_json::Value = toml::from_str(config::EXAMPLE).unwrap();
        v.as_object_mut().unwrap().remove("type");
        v
    }

    #[test]
    fn example_config_parses_and_validates() {
        validate(&example_json()).unwrap();
        let cfg = parse(example_json()).unwrap();
        assert_eq!(cfg.tax_class_table().get("21"), Some(&9));
        assert_eq!(cfg.orders.statuses, [2, 3, 5]);
    }

    #[test]
    fn registered_with_capabilities_matching_endpoints() {
        let d = koppel_core::registry::find("opencart").expect("registered");
        assert_eq!(d.role, Role::Shop);
        let c = (d.factory)(example_json(), &ConnectorContext::default()).unwrap();
        let (sources, sinks) = c.endpoints().kinds();
        assert_eq!(sources, d.capabilities.sources);
        assert_eq!(sinks, d.capabilities.sinks);
    }

    #[test]
    fn config_errors_name_the_key_path() {
        let path_of = |v: serde_json::Value| match validate(&v).unwrap_err() {
            koppel_core::Error::Config { path, .. } => path,
            e => panic!("{e}"),
        };
        let mut v = example_json();
        v["secret"] = "short".into();
        assert_eq!(path_of(v), "secret");
        let mut v = example_json();
        v["orders"]["statuses"] = serde_json::json!([2, 0]);
        assert_eq!(path_of(v), "orders.statuses");
        let mut v = example_json();
        v["products"]["batch_size"] = 501.into();
        assert_eq!(path_of(v), "products.batch_size");
        let mut v = example_json();
        v["products"]["tax_classes"] = serde_json::json!({});
        assert_eq!(path_of(v), "products.tax_classes");
        let mut v = example_json();
        v["surprise"] = 1.into();
        assert!(validate(&v).is_err());
        let mut v = example_json();
        v["secret"] = "0123456789abcdef0123456789abcdef".into();
        let cfg = parse(v).unwrap();
        assert!(!format!("{cfg:?}").contains("0123456789abcdef"));
    }
}
