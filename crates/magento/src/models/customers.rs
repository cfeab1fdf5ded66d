//! Customers as `GET /V1/customers/search` returns them.

use serde::Deserialize;

use super::addresses::WireAddress;
use super::lenient::{de_id, de_opt_id};

/// A customer as `GET /V1/customers/search` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct WireCustomer {
    /// Customer id.
    #[serde(deserialize_with = "de_id")]
    pub id: u64,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// First name.
    #[serde(default)]
    pub firstname: Option<String>,
    /// Last name.
    #[serde(default)]
    pub lastname: Option<String>,
    /// VAT number.
    #[serde(default)]
    pub taxvat: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Id of the default billing address.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub default_billing: Option<u64>,
    /// Id of the default shipping address.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub default_shipping: Option<u64>,
    /// Addresses.
    #[serde(default)]
    pub addresses: Vec<WireAddress>,
}
