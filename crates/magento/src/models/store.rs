//! Store configuration (`GET /V1/store/storeConfigs`).

use serde::Deserialize;

/// One entry of `GET /V1/store/storeConfigs`.
#[derive(Debug, Clone, Deserialize)]
pub struct StoreConfig {
    /// Store view code.
    pub code: String,
    /// Base currency.
    #[serde(default)]
    pub base_currency_code: Option<String>,
}
