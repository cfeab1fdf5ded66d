//! Stock: MSI sources and source items, and the legacy stock item.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::lenient::{de_id, de_opt_flag, de_opt_id};

/// An MSI source (`GET /V1/inventory/sources`).
#[derive(Debug, Clone, Deserialize)]
pub struct Source {
    /// Source code.
    pub source_code: String,
}

/// One MSI source item to write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceItem {
    /// SKU.
    pub sku: String,
    /// Source code.
    pub source_code: String,
    /// Quantity.
    #[serde(serialize_with = "koppel_core::wire::decimal::ser")]
    pub quantity: Decimal,
    /// 1 in stock, 0 out of stock.
    pub status: u8,
}

/// `{"sourceItems": [...]}`.
#[derive(Debug, Serialize)]
pub struct SourceItemsEnvelope<'a> {
    /// The items.
    #[serde(rename = "sourceItems")]
    pub source_items: &'a [SourceItem],
}

/// A legacy stock item (`GET /V1/stockItems/{sku}`).
#[derive(Debug, Clone, Deserialize)]
pub struct StockItem {
    /// Stock item id.
    #[serde(deserialize_with = "de_id")]
    pub item_id: u64,
    /// Quantity.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub qty: Option<Decimal>,
    /// In stock.
    #[serde(default, deserialize_with = "de_opt_flag")]
    pub is_in_stock: Option<bool>,
}

/// One MSI source item as `GET /V1/inventory/source-items` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct WireSourceItem {
    /// SKU.
    pub sku: String,
    /// Source code.
    #[serde(default)]
    pub source_code: String,
    /// Quantity.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub quantity: Option<Decimal>,
    /// 1 in stock, 0 out of stock.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub status: Option<u64>,
}

/// The body of `PUT /V1/products/{sku}/stockItems/{itemId}`.
#[derive(Debug, Serialize)]
pub struct StockItemEnvelope {
    /// The stock item.
    #[serde(rename = "stockItem")]
    pub stock_item: StockItemPayload,
}

/// Fields of a legacy stock write.
#[derive(Debug, Serialize)]
pub struct StockItemPayload {
    /// Quantity.
    #[serde(serialize_with = "koppel_core::wire::decimal::ser")]
    pub qty: Decimal,
    /// In stock.
    pub is_in_stock: bool,
}
