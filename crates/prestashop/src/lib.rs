//! koppel-prestashop: the PrestaShop webservice connector (1.7 and 8.x).
//!
//! Reads orders and registered customers (`Source<Order>`, `Source<Customer>`; guests come
//! with their orders), writes products, stock, payment states and open-amount messages
//! (`Sink<Product>`, `Sink<StockLevel>`, `Sink<PaymentStatus>`, `Sink<OpenAmount>`). The key is
//! the HTTP Basic user; reads are JSON, writes XML (1.7 and 8.x read no JSON input).
//!
//! What differs per version: 8.x has PATCH (updates send only the changed fields, when the
//! key has the PATCH permission), 1.7 gets a complete PUT built from the list-shape read; on
//! 8.x a single-record JSON read drops `""`/`"0"` fields, so koppel never builds a write from
//! one (it reads records for writing in the list shape on both).
//!
//! Registered as `prestashop` in the koppel registry.

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
pub use connector::{PrestaShopConnector, PrestaShopShop};

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
    let cfg: Config = parse_config(koppel_core::wire::without_type(value, "prestashop"))?;
    cfg.validate()?;
    Ok(cfg)
}

/// Checks a config without I/O.
pub fn validate(value: &serde_json::Value) -> Result<()> {
    parse(value.clone()).map(|_| ())
}

/// Builds the connector from its config table (without the `type` key). No I/O.
pub fn factory(value: serde_json::Value, ctx: &ConnectorContext) -> Result<Arc<dyn Connector>> {
    let _ = ctx;
    Ok(Arc::new(PrestaShopConnector::new(parse(value)?)?))
}

/// The registration (for the conformance kit and tools).
pub fn descriptor() -> &'static ConnectorDescriptor {
    &DESCRIPTOR
}

const REGISTRATION: ConnectorDescriptor = ConnectorDescriptor {
    name: "prestashop",
    role: Role::Shop,
    description: "PrestaShop 1.7 / 8.x over the webservice (key as HTTP Basic user)",
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
        v["key"] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345".into();
        v
    }

    #[test]
    fn example_config_parses_and_validates() {
        let v = example_json();
        validate(&v).unwrap();
        let cfg: Config = parse_config(v).unwrap();
        assert_eq!(cfg.tax_rules_table().get("21"), Some(&1));
        assert_eq!(cfg.payments.state, Some(2));
    }

    #[test]
    fn registered_with_capabilities_matching_endpoints() {
        let d = koppel_core::registry::find("prestashop").expect("registered");
        assert_eq!(d.role, Role::Shop);
        let c = (d.factory)(example_json(), &ConnectorContext::default()).unwrap();
        let (sources, sinks) = c.endpoints().kinds();
        assert_eq!(sources, d.capabilities.sources);
        assert_eq!(sinks, d.capabilities.sinks);
    }

    #[test]
    fn config_errors_name_the_key_path() {
        let mut v = example_json();
        v["key"] = "".into();
        assert!(
            matches!(validate(&v).unwrap_err(), koppel_core::Error::Config { path, .. } if path == "key")
        );
        let mut v = example_json();
        v["base_url"] = "https://shop.example.nl/api/".into();
        assert!(
            matches!(validate(&v).unwrap_err(), koppel_core::Error::Config { path, .. } if path == "base_url")
        );
        let mut v = example_json();
        v["orders"]["page_size"] = 0.into();
        assert!(
            matches!(validate(&v).unwrap_err(), koppel_core::Error::Config { path, .. } if path == "orders.page_size")
        );
        let mut v = example_json();
        v["products"]["tax_rules_groups"]["hoog"] = 1.into();
        assert!(validate(&v).is_err());
        let mut v = example_json();
        v["timezone"] = "Mars/Olympus".into();
        assert!(
            matches!(validate(&v).unwrap_err(), koppel_core::Error::Config { path, .. } if path == "timezone")
        );
        let mut v = example_json();
        v["version"] = "9".into();
        assert!(validate(&v).is_err());
        let cfg: Config = parse_config(example_json()).unwrap();
        assert!(!format!("{cfg:?}").contains("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"));
    }
}
