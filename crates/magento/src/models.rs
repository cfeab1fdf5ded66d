//! Wire types of the Magento 2 REST API, as far as koppel reads and writes them.
//!
//! Amounts are [`Decimal`] read from the JSON text itself (number or string), never through
//! `f64`: the deserialisers of `koppel_core::wire::decimal` take the value as raw JSON and parse its digits.
//! Amounts are written as JSON numbers from their decimal text, likewise exact.

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `deserialize_with` for flags Magento sends as `0`/`1`, `"0"`/`"1"` or booleans.
pub fn de_flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => b,
        Some(serde_json::Value::Number(n)) => n.as_i64().is_some_and(|i| i != 0),
        Some(serde_json::Value::String(s)) => !matches!(s.trim(), "" | "0" | "false"),
        Some(other) => return Err(D::Error::custom(format!("not a flag: {other}"))),
    })
}

/// `deserialize_with` for ids Magento sends as a number or a numeric string.
pub fn de_opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("not an id: {n}"))),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("not an id: {s:?}"))),
        Some(other) => Err(D::Error::custom(format!("not an id: {other}"))),
    }
}

/// `deserialize_with` for a required id (number or numeric string).
pub fn de_id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    de_opt_id(d)?.ok_or_else(|| D::Error::custom("missing id"))
}

/// `deserialize_with` for text that may come as a string, a number, or (customer addresses)
/// an object with a `region` field.
pub fn de_opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::Object(o)) => o.get("region").and_then(|r| r.as_str()).map(str::to_owned),
        _ => None,
    })
}

/// A `searchCriteria` list response.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchResult<T> {
    /// The page's items.
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    /// Matches over all pages.
    #[serde(default)]
    pub total_count: u64,
}

/// Magento's error body: `{message, parameters, errors?, trace?}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    /// Message with `%1` / `%name` placeholders.
    #[serde(default)]
    pub message: String,
    /// Positional (array) or named (object) placeholder values.
    #[serde(default)]
    pub parameters: Option<serde_json::Value>,
    /// Further errors (validation of several fields).
    #[serde(default)]
    pub errors: Vec<ErrorBody>,
}

/// `{attribute_code, value}` of a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomAttribute {
    /// Attribute code, e.g. `tax_class_id`.
    pub attribute_code: String,
    /// The value: option id for selects, text otherwise (arrays for multiselects).
    pub value: serde_json::Value,
}

/// A product category link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryLink {
    /// Position within the category.
    #[serde(default)]
    pub position: i64,
    /// Category id (Magento answers a string).
    #[serde(deserialize_with = "de_id", serialize_with = "ser_id_string")]
    pub category_id: u64,
}

fn ser_id_string<S: Serializer>(id: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.to_string())
}

/// Product extension attributes koppel reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProductExtension {
    /// Category assignments.
    #[serde(default)]
    pub category_links: Option<Vec<CategoryLink>>,
}

/// A product as `GET /V1/products/{sku}` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct WireProduct {
    /// Entity id.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub id: Option<u64>,
    /// SKU.
    pub sku: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Price.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub price: Option<Decimal>,
    /// 1 enabled, 2 disabled.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub status: Option<u64>,
    /// Visibility 1..4.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub visibility: Option<u64>,
    /// Weight.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub weight: Option<Decimal>,
    /// Extension attributes.
    #[serde(default)]
    pub extension_attributes: Option<ProductExtension>,
    /// Custom attributes.
    #[serde(default)]
    pub custom_attributes: Vec<CustomAttribute>,
}

impl WireProduct {
    /// A custom attribute's value as text (numbers as their text).
    pub fn attribute(&self, code: &str) -> Option<String> {
        self.custom_attributes
            .iter()
            .find(|a| a.attribute_code == code)
            .and_then(|a| value_text(&a.value))
    }

    /// The ids of the categories the product is in.
    pub fn category_ids(&self) -> Vec<u64> {
        self.extension_attributes
            .as_ref()
            .and_then(|e| e.category_links.as_ref())
            .map(|l| l.iter().map(|c| c.category_id).collect())
            .unwrap_or_default()
    }
}

/// A JSON scalar as text; arrays joined with `,` (multiselect).
pub fn value_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(if *b { "1".into() } else { "0".into() }),
        serde_json::Value::Array(a) => Some(a.iter().filter_map(value_text).collect::<Vec<_>>().join(",")),
        _ => None,
    }
}

/// The body of `PUT /V1/products/{sku}`: only the fields that are set are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProductPayload {
    /// SKU.
    pub sku: String,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Attribute set (creates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_set_id: Option<u32>,
    /// Product type (creates): `simple`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_id: Option<String>,
    /// Price.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "koppel_core::wire::decimal::ser_opt"
    )]
    pub price: Option<Decimal>,
    /// 1 enabled, 2 disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
    /// Visibility (creates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<u8>,
    /// Weight.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "koppel_core::wire::decimal::ser_opt"
    )]
    pub weight: Option<Decimal>,
    /// Category links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension_attributes: Option<PayloadExtension>,
    /// Custom attributes (including `tax_class_id`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_attributes: Vec<CustomAttribute>,
}

impl ProductPayload {
    /// Whether anything beyond the SKU is set.
    pub fn has_changes(&self) -> bool {
        *self
            != ProductPayload {
                sku: self.sku.clone(),
                ..Default::default()
            }
    }
}

/// `extension_attributes` of a product write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PayloadExtension {
    /// The full set of category links.
    pub category_links: Vec<CategoryLink>,
}

/// `{"product": ...}`.
#[derive(Debug, Serialize)]
pub struct ProductEnvelope<'a> {
    /// The product.
    pub product: &'a ProductPayload,
}

/// A node of `GET /V1/categories`.
#[derive(Debug, Clone, Deserialize)]
pub struct CategoryNode {
    /// Category id.
    #[serde(deserialize_with = "de_id")]
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Children.
    #[serde(default)]
    pub children_data: Vec<CategoryNode>,
}

/// A created category (`POST /V1/categories` answers the category).
#[derive(Debug, Clone, Deserialize)]
pub struct CreatedCategory {
    /// New id.
    #[serde(deserialize_with = "de_id")]
    pub id: u64,
}

/// An option of a select attribute.
#[derive(Debug, Clone, Deserialize)]
pub struct AttributeOption {
    /// Label in the admin store.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub label: Option<String>,
    /// Option id (text); `""` for the empty option.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub value: Option<String>,
}

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

fn de_opt_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(
        Option::<serde_json::Value>::deserialize(d)?.and_then(|v| match v {
            serde_json::Value::Bool(b) => Some(b),
            serde_json::Value::Number(n) => n.as_u64().map(|n| n != 0),
            serde_json::Value::String(s) => match s.as_str() {
                "1" | "true" => Some(true),
                "0" | "false" | "" => Some(false),
                _ => None,
            },
            _ => None,
        }),
    )
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

/// An order line.
#[derive(Debug, Clone, Deserialize)]
pub struct WireOrderItem {
    /// Line id.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub item_id: Option<u64>,
    /// The parent line of a configurable's or bundle's child row.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub parent_item_id: Option<u64>,
    /// SKU.
    #[serde(default)]
    pub sku: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// `simple`, `configurable`, `bundle`, ...
    #[serde(default)]
    pub product_type: Option<String>,
    /// Quantity ordered.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub qty_ordered: Option<Decimal>,
    /// Unit price excl. VAT.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub price: Option<Decimal>,
    /// Unit price incl. VAT.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub price_incl_tax: Option<Decimal>,
    /// Row total excl. VAT (before discount).
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub row_total: Option<Decimal>,
    /// Row total incl. VAT (before discount).
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub row_total_incl_tax: Option<Decimal>,
    /// VAT percentage.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub tax_percent: Option<Decimal>,
    /// VAT on the row, after the discount when tax is applied after discount.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub tax_amount: Option<Decimal>,
    /// Line discount (positive), incl. or excl. VAT per `tax/calculation/discount_tax`.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub discount_amount: Option<Decimal>,
    /// The VAT part of an incl.-VAT discount that the tax no longer carries.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub discount_tax_compensation_amount: Option<Decimal>,
    /// `price` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_price: Option<Decimal>,
    /// `price_incl_tax` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_price_incl_tax: Option<Decimal>,
    /// `row_total` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_row_total: Option<Decimal>,
    /// `row_total_incl_tax` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_row_total_incl_tax: Option<Decimal>,
    /// `tax_amount` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_tax_amount: Option<Decimal>,
    /// `discount_amount` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_discount_amount: Option<Decimal>,
    /// `discount_tax_compensation_amount` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_discount_tax_compensation_amount: Option<Decimal>,
}

/// `payment` of an order.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WirePayment {
    /// Method code, e.g. `checkmo`.
    #[serde(default)]
    pub method: Option<String>,
}

/// `shipping` of a shipping assignment.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WireShipping {
    /// Delivery address.
    #[serde(default)]
    pub address: Option<WireAddress>,
    /// Shipping method code.
    #[serde(default)]
    pub method: Option<String>,
}

/// A shipping assignment.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WireShippingAssignment {
    /// The shipping part.
    #[serde(default)]
    pub shipping: Option<WireShipping>,
}

/// `extension_attributes` of an order.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WireOrderExtension {
    /// Where the shipping address lives.
    #[serde(default)]
    pub shipping_assignments: Vec<WireShippingAssignment>,
}

/// An order as `GET /V1/orders` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct WireOrder {
    /// Internal id.
    #[serde(deserialize_with = "de_id")]
    pub entity_id: u64,
    /// Customer-facing number.
    #[serde(default)]
    pub increment_id: Option<String>,
    /// Status label code.
    #[serde(default)]
    pub status: Option<String>,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    #[serde(default)]
    pub created_at: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Registered customer id.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub customer_id: Option<u64>,
    /// Guest order.
    #[serde(default, deserialize_with = "de_flag")]
    pub customer_is_guest: bool,
    /// Buyer e-mail.
    #[serde(default)]
    pub customer_email: Option<String>,
    /// Buyer first name.
    #[serde(default)]
    pub customer_firstname: Option<String>,
    /// Buyer last name.
    #[serde(default)]
    pub customer_lastname: Option<String>,
    /// Buyer VAT number.
    #[serde(default)]
    pub customer_taxvat: Option<String>,
    /// Order currency (what the buyer saw and paid in).
    #[serde(default)]
    pub order_currency_code: Option<String>,
    /// The shop's base currency (what `base_*` amounts are in).
    #[serde(default)]
    pub base_currency_code: Option<String>,
    /// Base to order currency rate.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_to_order_rate: Option<Decimal>,
    /// Entity id of the order this edit replaced.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub relation_parent_id: Option<u64>,
    /// Increment id of the order this edit replaced.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub relation_parent_real_id: Option<String>,
    /// Entity id of the edit that replaced this order.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub relation_child_id: Option<u64>,
    /// Increment id of the edit that replaced this order.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub relation_child_real_id: Option<String>,
    /// Increment id of the first order of an edit chain.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub original_increment_id: Option<String>,
    /// How many edits led to this order (`-1`, `-2`, ...).
    #[serde(default, deserialize_with = "de_opt_id")]
    pub edit_increment: Option<u64>,
    /// Subtotal excl. VAT before discount (the sum of the rows' `row_total`).
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub subtotal: Option<Decimal>,
    /// Shipping discount (positive), part of `discount_amount`.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub shipping_discount_amount: Option<Decimal>,
    /// The VAT part of an incl.-VAT shipping discount.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub shipping_discount_tax_compensation_amount: Option<Decimal>,
    /// Sum of the items' discount tax compensation.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub discount_tax_compensation_amount: Option<Decimal>,
    /// `subtotal` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_subtotal: Option<Decimal>,
    /// `shipping_amount` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_shipping_amount: Option<Decimal>,
    /// `shipping_incl_tax` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_shipping_incl_tax: Option<Decimal>,
    /// `shipping_tax_amount` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_shipping_tax_amount: Option<Decimal>,
    /// `shipping_discount_amount` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_shipping_discount_amount: Option<Decimal>,
    /// `shipping_discount_tax_compensation_amount` in the base currency (Magento's column
    /// name is cut to `..._amnt`).
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_shipping_discount_tax_compensation_amnt: Option<Decimal>,
    /// `discount_amount` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_discount_amount: Option<Decimal>,
    /// `discount_tax_compensation_amount` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_discount_tax_compensation_amount: Option<Decimal>,
    /// `tax_amount` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_tax_amount: Option<Decimal>,
    /// `grand_total` in the base currency.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub base_grand_total: Option<Decimal>,
    /// Shipping excl. VAT.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub shipping_amount: Option<Decimal>,
    /// Shipping incl. VAT.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub shipping_incl_tax: Option<Decimal>,
    /// VAT on shipping.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub shipping_tax_amount: Option<Decimal>,
    /// Shipping description, e.g. `Flat Rate - Fixed`.
    #[serde(default)]
    pub shipping_description: Option<String>,
    /// Order discount (negative).
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub discount_amount: Option<Decimal>,
    /// VAT total.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub tax_amount: Option<Decimal>,
    /// Grand total.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub grand_total: Option<Decimal>,
    /// Lines.
    #[serde(default)]
    pub items: Vec<WireOrderItem>,
    /// Billing address.
    #[serde(default)]
    pub billing_address: Option<WireAddress>,
    /// Payment.
    #[serde(default)]
    pub payment: Option<WirePayment>,
    /// Extension attributes (shipping address).
    #[serde(default)]
    pub extension_attributes: Option<WireOrderExtension>,
}

/// A row of an order search trimmed to id and status.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderRef {
    /// Internal id.
    #[serde(deserialize_with = "de_id")]
    pub entity_id: u64,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
}

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

/// An order comment (`GET /V1/orders/{id}/comments`).
#[derive(Debug, Clone, Deserialize)]
pub struct WireComment {
    /// The text.
    #[serde(default)]
    pub comment: Option<String>,
}

/// The body of `POST /V1/orders/{id}/comments`.
#[derive(Debug, Serialize)]
pub struct CommentEnvelope {
    /// The comment.
    #[serde(rename = "statusHistory")]
    pub status_history: CommentPayload,
}

/// A status history entry to add.
#[derive(Debug, Serialize)]
pub struct CommentPayload {
    /// Text.
    pub comment: String,
    /// 0/1.
    pub is_customer_notified: u8,
    /// 0/1.
    pub is_visible_on_front: u8,
    /// The order's entity id.
    pub parent_id: u64,
    /// Status after the comment.
    pub status: String,
}

/// One entry of `GET /V1/store/storeConfigs`.
#[derive(Debug, Clone, Deserialize)]
pub struct StoreConfig {
    /// Store view code.
    pub code: String,
    /// Base currency.
    #[serde(default)]
    pub base_currency_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[derive(Deserialize)]
    struct Amounts {
        #[serde(deserialize_with = "koppel_core::wire::decimal::de")]
        a: Decimal,
        #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
        b: Option<Decimal>,
        #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
        c: Option<Decimal>,
    }

    #[test]
    fn amounts_are_exact_from_numbers_and_strings() {
        // 0.1 + 0.2 style values and more digits than f64 holds survive exactly
        let v: Amounts =
            serde_json::from_str(r#"{"a": 12.10, "b": "0.30000000000000004", "c": null}"#).unwrap();
        assert_eq!(v.a, dec!(12.10));
        assert_eq!(v.a.to_string(), "12.10"); // the scale of the JSON text is kept
        assert_eq!(v.b, Some(dec!(0.30000000000000004)));
        assert_eq!(v.c, None);
        let v: Amounts = serde_json::from_str(r#"{"a": 1234567890.123456789012}"#).unwrap();
        assert_eq!(v.a, dec!(1234567890.123456789012)); // f64 would give ...1234567
        let v: Amounts = serde_json::from_str(r#"{"a": -6.78, "b": "", "c": 1.5e2}"#).unwrap();
        assert_eq!((v.a, v.b, v.c), (dec!(-6.78), None, Some(dec!(150))));
        assert!(serde_json::from_str::<Amounts>(r#"{"a": "abc"}"#).is_err());
        assert!(serde_json::from_str::<Amounts>(r#"{"a": true}"#).is_err());
    }

    #[test]
    fn amounts_are_exact_through_the_core_response_reader() {
        // the core client parses through serde_path_to_error; raw values must survive that
        let resp = koppel_core::http::RawResponse {
            status: reqwest::StatusCode::OK,
            headers: Default::default(),
            body: br#"{"items":[{"entity_id":"7","grand_total":100.005,"items":[{"price":"8.2562"}]}],"total_count":1}"#.to_vec(),
        };
        let r: SearchResult<WireOrder> = resp.json().unwrap();
        assert_eq!(r.items[0].entity_id, 7);
        assert_eq!(r.items[0].grand_total, Some(dec!(100.005)));
        assert_eq!(r.items[0].items[0].price, Some(dec!(8.2562)));
    }

    #[test]
    fn amounts_are_written_as_exact_numbers() {
        let p = ProductPayload {
            sku: "A".into(),
            price: Some(dec!(9.990)),
            weight: Some(dec!(0.1)),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&ProductEnvelope { product: &p }).unwrap(),
            r#"{"product":{"sku":"A","price":9.99,"weight":0.1}}"#
        );
        let items = [SourceItem {
            sku: "A".into(),
            source_code: "default".into(),
            quantity: dec!(12345678901234567890.5),
            status: 1,
        }];
        assert_eq!(
            serde_json::to_string(&SourceItemsEnvelope { source_items: &items }).unwrap(),
            r#"{"sourceItems":[{"sku":"A","source_code":"default","quantity":12345678901234567890.5,"status":1}]}"#
        );
    }

    #[test]
    fn lenient_ids_flags_and_regions() {
        let a: WireAddress = serde_json::from_str(
            r#"{"id":"5","region":{"region":"Utrecht","region_id":0},"default_billing":true,"postcode":1234}"#,
        )
        .unwrap();
        assert_eq!(a.id, Some(5));
        assert_eq!(a.region.as_deref(), Some("Utrecht"));
        assert_eq!(a.postcode.as_deref(), Some("1234"));
        assert!(a.default_billing && !a.default_shipping);
        let o: OrderRef = serde_json::from_str(r#"{"entity_id": 3}"#).unwrap();
        assert_eq!(o.entity_id, 3);
        let l: CategoryLink = serde_json::from_str(r#"{"position":0,"category_id":"12"}"#).unwrap();
        assert_eq!(l.category_id, 12);
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"position":0,"category_id":"12"}"#
        );
    }
}
