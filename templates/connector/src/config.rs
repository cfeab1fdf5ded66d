//! The `[pairs.shop]` table of a `tinyshop` connector.

use koppel_core::{Error, Result, Secret};
use schemars::JsonSchema;
use serde::Deserialize;

/// A commented example (the body of `[pairs.shop]`; `koppel init` and the docs show it).
pub const EXAMPLE: &str = r#"type = "tinyshop"
# Where the shop's API lives (https in production).
base_url = "https://shop.example.com"
# The API token (Settings > API in Tinyshop); from the environment or a file.
token = "${TINYSHOP_TOKEN}"
"#;

/// Connector config.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The shop's base URL; the API is below `/api/v1`.
    #[schemars(with = "String", url)]
    pub base_url: url::Url,
    /// The API token, sent as `Authorization: Bearer <token>`.
    pub token: Secret,
}

impl Config {
    /// Checks the values serde cannot (no I/O); errors name the key.
    pub fn check(&self) -> Result<()> {
        match self.base_url.scheme() {
            "https" => Ok(()),
            "http"
                if matches!(
                    self.base_url.host_str(),
                    Some("127.0.0.1" | "localhost" | "[::1]")
                ) =>
            {
                Ok(())
            }
            other => Err(Error::config(
                "base_url",
                format!("{other}:// is not allowed; use https:// (plain http only on loopback)"),
            )),
        }
    }
}
