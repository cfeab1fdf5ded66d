//! Wire types of the koppel bridge (bridge/PROTOCOL.md). Amounts arrive as decimal strings.
//! Fields OpenCart may leave NULL are `Option`; nothing here panics on odd data.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// `{"error": {kind, message}}` of a failed call.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Kind and message of a failed call.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorDetail {
    /// `unauthorized`, `request`, `setup`, `database`, `internal`, ...
    #[serde(default)]
    pub kind: String,
    /// What went wrong (never database text).
    #[serde(default)]
    pub message: String,
}

/// A record's own error inside a batch answer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ItemError {
    /// The field at fault (may be empty).
    #[serde(default)]
    pub field: String,
    /// Why.
    #[serde(default)]
    pub message: String,
}

/// `ping`.
#[derive(Debug, Clone, Deserialize)]
pub struct Ping {
    /// Version of the PHP file.
    pub bridge_version: String,
    /// OpenCart's VERSION, when the bridge could read it.
    #[serde(default)]
    pub opencart_version: Option<String>,
    /// `3.0`, `4.0` or `4.1`.
    pub schema: String,
    /// InnoDB (transactions) or MyISAM.
    #[serde(default)]
    pub transactions: bool,
    /// The shop's time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Language codes.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Most items per call.
    #[serde(default)]
    pub max_batch: Option<u32>,
}

/// A list of per-item answers.
#[derive(Debug, Clone, Deserialize)]
pub struct Items<T> {
    /// One per item asked, in order.
    pub items: Vec<T>,
}

/// A page of a keyset-paged list.
#[derive(Debug, Clone, Deserialize)]
pub struct ListPage<T> {
    /// The records, each kept as JSON until mapped (one bad record never fails the page).
    pub items: Vec<T>,
    /// More records after the last one.
    #[serde(default)]
    pub more: bool,
}

/// `products.get` item.
#[derive(Debug, Clone, Deserialize)]
pub struct ProductLookup {
    /// The code asked for.
    pub code: String,
    /// Whether a product has it.
    pub found: bool,
    /// Its current state.
    #[serde(default)]
    pub product: Option<ShopProduct>,
    /// E.g. two products with the same SKU.
    #[serde(default)]
    pub error: Option<ItemError>,
    /// `products.plan`: the categories the item's name paths resolve to.
    #[serde(default)]
    pub category_ids: Option<Vec<u64>>,
}

/// What the shop holds for a product (default language).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ShopProduct {
    /// `product_id`.
    pub product_id: u64,
    /// Name in the default language.
    #[serde(default)]
    pub name: Option<String>,
    /// Price excl. tax.
    #[serde(default)]
    pub price: Option<Decimal>,
    /// Tax class.
    #[serde(default)]
    pub tax_class_id: u32,
    /// Weight.
    #[serde(default)]
    pub weight: Option<Decimal>,
    /// Weight class.
    #[serde(default)]
    pub weight_class_id: u32,
    /// 1 enabled, 0 disabled.
    #[serde(default)]
    pub status: u8,
    /// Stock.
    #[serde(default)]
    pub quantity: i64,
    /// Category ids.
    #[serde(default)]
    pub category_ids: Vec<u64>,
    /// Category name paths (default language).
    #[serde(default)]
    pub categories: Vec<Vec<String>>,
    /// Stores.
    #[serde(default)]
    pub store_ids: Vec<u32>,
    /// SEO keyword (default store and language).
    #[serde(default)]
    pub keyword: Option<String>,
}

/// One product of `products.upsert`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UpsertItem {
    /// SKU or model.
    pub code: String,
    /// Name (every language).
    pub name: String,
    /// Price excl. tax, 4 decimals.
    pub price: String,
    /// Tax class.
    pub tax_class_id: u32,
    /// Weight, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<String>,
    /// Weight class, with the weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_class_id: Option<u32>,
    /// Enabled.
    pub status: bool,
    /// Category name paths (absent: categories untouched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<Vec<String>>>,
    /// SEO keyword.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
}

/// `products.upsert` / `stock.set` item answer.
#[derive(Debug, Clone, Deserialize)]
pub struct WriteAnswer {
    /// The code.
    #[serde(default)]
    pub code: String,
    /// The product.
    #[serde(default)]
    pub product_id: Option<u64>,
    /// Whether it was created.
    #[serde(default)]
    pub created: bool,
    /// The record's fault.
    #[serde(default)]
    pub error: Option<ItemError>,
}

/// `stock.get` item.
#[derive(Debug, Clone, Deserialize)]
pub struct StockLookup {
    /// The code.
    pub code: String,
    /// Whether a product has it.
    pub found: bool,
    /// The product.
    #[serde(default)]
    pub product_id: Option<u64>,
    /// Current quantity.
    #[serde(default)]
    pub quantity: Option<i64>,
    /// E.g. two products with the same SKU.
    #[serde(default)]
    pub error: Option<ItemError>,
}

/// An address of an order (`payment_*` / `shipping_*`).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct WireAddress {
    #[allow(missing_docs)]
    #[serde(default)]
    pub firstname: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub lastname: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub company: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub address_1: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub address_2: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub city: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub postcode: Option<String>,
    /// ISO 3166-1 alpha-2 of `country_id`.
    #[serde(default)]
    pub iso_code_2: Option<String>,
    /// Zone name.
    #[serde(default)]
    pub zone: Option<String>,
}

/// Payment or shipping method.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct WireMethod {
    /// Title.
    #[serde(default)]
    pub name: Option<String>,
    /// Code (`bank_transfer`, `flat.flat`).
    #[serde(default)]
    pub code: Option<String>,
}

/// A line of `oc_order_product` with the product's SKU joined.
#[derive(Debug, Clone, Deserialize)]
pub struct WireLine {
    /// `order_product_id`.
    pub order_product_id: u64,
    /// The product (may no longer exist).
    #[serde(default)]
    pub product_id: Option<u64>,
    /// Name as ordered.
    #[serde(default)]
    pub name: Option<String>,
    /// Model as ordered.
    #[serde(default)]
    pub model: Option<String>,
    /// Quantity.
    pub quantity: i64,
    /// Unit price excl. tax.
    pub price: Decimal,
    /// `price * quantity` excl. tax.
    pub total: Decimal,
    /// Tax of one unit (every rate of the class, fixed amounts included).
    pub tax: Decimal,
    /// The product's SKU now (NULL when the product is gone).
    #[serde(default)]
    pub sku: Option<String>,
    /// The product's model now.
    #[serde(default)]
    pub product_model: Option<String>,
    /// The product's tax class now.
    #[serde(default)]
    pub tax_class_id: Option<u32>,
    /// Options chosen.
    #[serde(default)]
    pub options: Vec<WireOption>,
}

/// An option of a line.
#[derive(Debug, Clone, Deserialize)]
pub struct WireOption {
    #[allow(missing_docs)]
    #[serde(default)]
    pub name: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub value: Option<String>,
}

/// A row of `oc_order_total`.
#[derive(Debug, Clone, Deserialize)]
pub struct WireTotal {
    /// `sub_total`, `shipping`, `coupon`, `tax`, `total`, ...
    pub code: String,
    /// Title (the rate name for `tax`).
    #[serde(default)]
    pub title: Option<String>,
    /// Value (coupon negative).
    pub value: Decimal,
}

/// A tax rate of a class (`oc_tax_rule` joined with `oc_tax_rate`).
#[derive(Debug, Clone, Deserialize)]
pub struct WireTaxRate {
    /// Name (as the `tax` total's title).
    #[serde(default)]
    pub name: Option<String>,
    /// Percentage (type P) or fixed amount (type F).
    pub rate: Decimal,
    /// `P` or `F`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Geo zone the rate applies in.
    #[serde(default)]
    pub geo_zone_id: u32,
}

/// An order of `orders.list`.
#[derive(Debug, Clone, Deserialize)]
pub struct WireOrder {
    /// `order_id`, the order number.
    pub order_id: u64,
    /// Buyer's account (0: guest).
    #[serde(default)]
    pub customer_id: u64,
    #[allow(missing_docs)]
    #[serde(default)]
    pub firstname: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub lastname: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub email: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub telephone: Option<String>,
    /// NULL when the checkout asked only a shipping address (4.x).
    #[serde(default)]
    pub payment_address: Option<WireAddress>,
    /// NULL for orders without shipping.
    #[serde(default)]
    pub shipping_address: Option<WireAddress>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub payment_method: Option<WireMethod>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub shipping_method: Option<WireMethod>,
    /// Grand total.
    pub total: Decimal,
    /// Status id.
    pub order_status_id: u32,
    /// Status name (default language).
    #[serde(default)]
    pub order_status: Option<String>,
    /// UTC.
    #[serde(default)]
    pub date_added: Option<DateTime<Utc>>,
    /// UTC.
    #[serde(default)]
    pub date_modified: Option<DateTime<Utc>>,
    /// Lines.
    #[serde(default)]
    pub lines: Vec<WireLine>,
    /// Totals.
    #[serde(default)]
    pub totals: Vec<WireTotal>,
    /// Rates per tax class id.
    #[serde(default)]
    pub tax_rates: BTreeMap<String, Vec<WireTaxRate>>,
}

/// An address of a customer.
#[derive(Debug, Clone, Deserialize)]
pub struct WireCustomerAddress {
    /// The default address.
    #[serde(default)]
    pub default: bool,
    /// Everything else as an order address.
    #[serde(flatten)]
    pub address: WireAddress,
}

/// A customer of `customers.list`.
#[derive(Debug, Clone, Deserialize)]
pub struct WireCustomer {
    /// `customer_id`.
    pub customer_id: u64,
    #[allow(missing_docs)]
    #[serde(default)]
    pub firstname: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub lastname: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub email: Option<String>,
    #[allow(missing_docs)]
    #[serde(default)]
    pub telephone: Option<String>,
    /// Addresses.
    #[serde(default)]
    pub addresses: Vec<WireCustomerAddress>,
    /// When the bridge first saw the current data (UTC).
    #[serde(default)]
    pub changed_at: Option<DateTime<Utc>>,
}

/// `history.check` item.
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryLookup {
    /// The order.
    pub order_id: u64,
    /// Whether it exists.
    pub found: bool,
    /// Its status.
    #[serde(default)]
    pub order_status_id: Option<u32>,
    /// The history row carrying the marker, if any.
    #[serde(default)]
    pub history_id: Option<u64>,
}

/// `history.add` item.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryItem {
    /// The order.
    pub order_id: u64,
    /// New status (absent: keep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_status_id: Option<u32>,
    /// Comment, containing the marker.
    pub comment: String,
    /// Makes the entry unique on its order.
    pub marker: String,
}

/// `history.add` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryAnswer {
    /// The order.
    #[serde(default)]
    pub order_id: u64,
    /// The history row.
    #[serde(default)]
    pub history_id: Option<u64>,
    /// Already there.
    #[serde(default)]
    pub existing: bool,
    /// The record's fault.
    #[serde(default)]
    pub error: Option<ItemError>,
}
