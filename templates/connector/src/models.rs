//! Tinyshop's wire format (see `src/simulator.rs` for the API it documents).

use serde::{Deserialize, Serialize};

/// `PUT /api/v1/products/{sku}` body. Prices are decimal strings, excluding VAT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductBody {
    /// Name shown in the shop.
    pub name: String,
    /// Price excluding VAT, e.g. `"12.50"`.
    pub price_excl: String,
    /// VAT percentage, e.g. `"21"`.
    pub vat: Option<String>,
    /// Sellable.
    pub active: bool,
}

/// `PUT /api/v1/stock/{sku}` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockBody {
    /// Quantity on hand, a decimal string.
    pub quantity: String,
}

/// The answer to both PUTs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// The shop's id of the record.
    pub id: String,
    /// `true` when the PUT created it.
    pub created: bool,
}

/// An error body: `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}
