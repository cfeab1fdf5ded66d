//! Orders as `GET /V1/orders` returns them: lines, payment, shipping, and the trimmed search row.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::addresses::WireAddress;
use super::lenient::{de_flag, de_id, de_opt_id, de_opt_text};

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
