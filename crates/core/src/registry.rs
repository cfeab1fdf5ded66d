//! The connector registry: each connector crate submits one [`ConnectorDescriptor`] with
//! `inventory::submit!`. The runner names every connector crate it links (so the linker keeps
//! the registrations) and a test pins the expected set.

use std::sync::Arc;

use serde::Serialize;

use crate::connector::{Capabilities, Connector};
use crate::error::{Error, Result};

/// Which side of a pair a connector sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The accounting system (SnelStart).
    Accounting,
    /// A webshop.
    Shop,
}

/// What the factory gets besides the connector's own config.
#[derive(Debug, Clone, Default)]
pub struct ConnectorContext {
    /// The pair this connector serves, for logs and rate-limiter keys.
    pub pair: String,
}

/// A connector crate's registration.
pub struct ConnectorDescriptor {
    /// The name used as `type` in config (`snelstart`, `magento`).
    pub name: &'static str,
    /// Accounting or shop.
    pub role: Role,
    /// One line on what it connects to.
    pub description: &'static str,
    /// What it reads and writes.
    pub capabilities: Capabilities,
    /// JSON Schema of its `Config`.
    pub config_schema: fn() -> schemars::Schema,
    /// A commented example config (TOML, the body of a `[pairs.<side>]` table).
    pub example_config: fn() -> &'static str,
    /// Checks a config without I/O; errors carry the key path below the connector's table.
    pub validate: fn(&serde_json::Value) -> Result<()>,
    /// Builds a connector from its config (no I/O).
    pub factory: fn(serde_json::Value, &ConnectorContext) -> Result<Arc<dyn Connector>>,
}

impl std::fmt::Debug for ConnectorDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorDescriptor")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("capabilities", &self.capabilities)
            .finish()
    }
}

inventory::collect!(ConnectorDescriptor);

/// Every registered connector, sorted by name.
pub fn connectors() -> Vec<&'static ConnectorDescriptor> {
    let mut all: Vec<_> = inventory::iter::<ConnectorDescriptor>.into_iter().collect();
    all.sort_by_key(|d| d.name);
    all
}

/// The connector registered under `name`.
pub fn find(name: &str) -> Option<&'static ConnectorDescriptor> {
    inventory::iter::<ConnectorDescriptor>
        .into_iter()
        .find(|d| d.name == name)
}

/// Deserialises a connector config, naming the key path of the first error
/// (e.g. `base_url: relative URL without a base`).
pub fn parse_config<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        Error::config(path, e.into_inner().to_string())
    })
}
