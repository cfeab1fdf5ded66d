//! koppel-magento: the Magento 2 REST connector.
//!
//! Reads orders and registered customers (`Source<Order>`, `Source<Customer>`; guests come
//! with their orders), writes products, stock, open amounts and payment status
//! (`Sink<Product>`, `Sink<StockLevel>`, `Sink<OpenAmount>`, `Sink<PaymentStatus>`).
//! Requests are signed with OAuth 1.0a (HMAC-SHA256) by default; see [`config::Config`].
//!
//! Registered as `magento` in the koppel registry.

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
pub use connector::{MagentoConnector, MagentoShop};

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
    let cfg: Config = parse_config(koppel_core::wire::without_type(value, "magento"))?;
    cfg.validate()?;
    Ok(cfg)
}

/// Checks a config without I/O.
pub fn validate(value: &serde_json::Value) -> Result<()> {
    parse(value.clone()).map(|_| ())
}

/// Builds the connector from its config table (without the `type` key). No I/O.
pub fn factory(value: serde_json::Value, ctx: &ConnectorContext) -> Result<Arc<dyn Connector>> {
    Ok(Arc::new(MagentoConnector::new(parse(value)?, &ctx.pair)?))
}

/// The registration (for the conformance kit and tools).
pub fn descriptor() -> &'static ConnectorDescriptor {
    &DESCRIPTOR
}

const REGISTRATION: ConnectorDescriptor = ConnectorDescriptor {
    name: "magento",
    role: Role::Shop,
    description: "Magento 2 / Adobe Commerce over REST (OAuth 1.0a or Bearer)",
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
        let v = example_json();
        validate(&v).unwrap();
        let cfg: Config = parse_config(v).unwrap();
        assert_eq!(cfg.stock.input_limit, Some(20));
        assert_eq!(cfg.tax_class_table().get("21"), Some(&2));
        assert_eq!(cfg.payments.status.as_deref(), Some("ready_to_ship"));
    }

    #[test]
    fn registered_with_capabilities_matching_endpoints() {
        let d = koppel_core::registry::find("magento").expect("registered");
        assert_eq!(d.role, Role::Shop);
        let c = (d.factory)(example_json(), &ConnectorContext::default()).unwrap();
        let (sources, sinks) = c.endpoints().kinds();
        assert_eq!(sources, d.capabilities.sources);
        assert_eq!(sinks, d.capabilities.sinks);
        let schema = serde_json::to_string(&(d.config_schema)()).unwrap();
        assert!(schema.contains("prices_include_tax") && schema.contains("tax_classes"));
    }

    #[test]
    fn config_errors_name_the_key_path() {
        let mut v = example_json();
        v["auth"].as_object_mut().unwrap().remove("consumer_secret");
        let e = validate(&v).unwrap_err();
        assert!(
            matches!(&e, koppel_core::Error::Config { path, .. } if path == "auth.consumer_secret"),
            "{e}"
        );
        let mut v = example_json();
        v["auth"]["mode"] = "bearer".into();
        v["auth"].as_object_mut().unwrap().remove("consumer_secret");
        validate(&v).unwrap();
        let mut v = example_json();
        v["orders"]["page_size"] = 500.into();
        assert!(
            matches!(validate(&v).unwrap_err(), koppel_core::Error::Config { path, .. } if path == "orders.page_size")
        );
        // `concurrency` was removed (the engine schedules product writes): any value is refused
        for (key, bad) in [
            ("batch_size", 0),
            ("batch_size", 301),
            ("concurrency", 0),
            ("concurrency", 4),
        ] {
            let mut v = example_json();
            v["products"][key] = bad.into();
            let e = validate(&v).unwrap_err();
            assert!(
                matches!(&e, koppel_core::Error::Config { path, .. } if *path == format!("products.{key}")),
                "{e}"
            );
        }
        let mut v = example_json();
        v["products"]["tax_classes"]["hoog"] = 2.into();
        assert!(validate(&v).is_err());
        let mut v = example_json();
        v["surprise"] = 1.into();
        assert!(validate(&v).is_err());
        // secrets never show in Debug
        let cfg: Config = parse_config(example_json()).unwrap();
        assert!(!format!("{cfg:?}").contains("MAGENTO_ACCESS_TOKEN"));
    }
}
