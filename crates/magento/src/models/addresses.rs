//! Addresses, on orders and of customers.

use serde::Deserialize;

use super::lenient::{de_flag, de_opt_id, de_opt_text};

/// An address on an order, or of a customer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WireAddress {
    /// Address id (customer addresses).
    #[serde(default, deserialize_with = "de_opt_id")]
    pub id: Option<u64>,
    /// First name.
    #[serde(default)]
    pub firstname: Option<String>,
    /// Last name.
    #[serde(default)]
    pub lastname: Option<String>,
    /// Company.
    #[serde(default)]
    pub company: Option<String>,
    /// Street lines.
    #[serde(default)]
    pub street: Vec<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Postcode.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub postcode: Option<String>,
    /// Region (a string on orders, an object on customer addresses).
    #[serde(default, deserialize_with = "de_opt_text")]
    pub region: Option<String>,
    /// ISO country code.
    #[serde(default)]
    pub country_id: Option<String>,
    /// Telephone.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub telephone: Option<String>,
    /// E-mail (order addresses).
    #[serde(default)]
    pub email: Option<String>,
    /// VAT number.
    #[serde(default)]
    pub vat_id: Option<String>,
    /// Default billing address (customer addresses).
    #[serde(default, deserialize_with = "de_flag")]
    pub default_billing: bool,
    /// Default shipping address (customer addresses).
    #[serde(default, deserialize_with = "de_flag")]
    pub default_shipping: bool,
}
