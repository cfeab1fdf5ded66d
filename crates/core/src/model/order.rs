//! [`Order`], its [`OrderLine`]s and [`Charge`]s, and [`VatRounding`].

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Address, Check, Currency, Customer, Kind, Record, Sku, TaxMode, ValidationError};

/// A line of an order. Amounts are in the order's currency and tax mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderLine {
    /// SKU of the article sold.
    pub sku: Option<Sku>,
    /// Description as the shop shows it.
    pub name: String,
    /// Quantity ordered, > 0.
    pub quantity: Decimal,
    /// Price of one unit before discount.
    pub unit_price: Decimal,
    /// VAT percentage the shop charged on this line.
    pub vat_percentage: Option<Decimal>,
    /// Discount on the line (positive amount).
    pub discount: Decimal,
    /// Line total after discount: `quantity * unit_price - discount`, as the shop computed it.
    pub row_total: Decimal,
    /// VAT the shop charged on the line after discount, as the shop computed and rounded it
    /// (the amount VAT is judged on; `None` when the shop does not say).
    #[serde(default)]
    pub tax: Option<Decimal>,
    /// The amount excl. VAT the shop computed `tax` on, when that is not the line's own amount
    /// after discount: Magento with `tax/calculation/apply_after_discount = 0` taxes the row
    /// before its discount. `None`: the tax is on the line after discount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_base: Option<Decimal>,
}

/// A cost line on an order (shipping, payment fee). Amounts in the order's tax mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Charge {
    /// Description, e.g. `Verzending - PostNL`.
    pub description: String,
    /// The amount.
    pub amount: Decimal,
    /// VAT percentage charged on it.
    pub vat_percentage: Option<Decimal>,
    /// VAT the shop charged on it, as the shop rounded it (`None` when the shop does not say).
    #[serde(default)]
    pub tax: Option<Decimal>,
}

/// An order placed in the shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Order {
    /// Shop order number (Magento `increment_id`): the natural key, SnelStart `orderreferentie`.
    pub number: String,
    /// Shop's internal id (Magento `entity_id`).
    pub source_id: Option<String>,
    /// When it was placed.
    pub created_at: DateTime<Utc>,
    /// Last change at the source.
    pub modified: Option<DateTime<Utc>>,
    /// Shop status, e.g. `processing`.
    pub status: String,
    /// Currency of every amount on the order.
    pub currency: Currency,
    /// Whether line prices and charges include VAT.
    pub tax_mode: TaxMode,
    /// The buyer.
    pub customer: Customer,
    /// Invoice address.
    pub billing: Address,
    /// Delivery address.
    pub shipping: Option<Address>,
    /// Ordered articles.
    pub lines: Vec<OrderLine>,
    /// Shipping costs.
    pub shipping_cost: Option<Charge>,
    /// Payment fee.
    pub payment_cost: Option<Charge>,
    /// Further charges that are neither a line's price nor VAT, each booked on a row of its
    /// own: fixed-amount taxes such as OpenCart's eco tax (`oc_tax_rate.type = 'F'`), with
    /// the VAT the shop charged on them (OpenCart charges none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fees: Vec<Charge>,
    /// Discount not already on the lines (positive amount), in the order's tax mode.
    pub discount: Decimal,
    /// Payment method code.
    pub payment_method: Option<String>,
    /// Grand total incl. VAT, as the shop computed it.
    pub grand_total: Decimal,
    /// VAT total, as the shop computed it.
    pub tax_total: Decimal,
    /// How the shop rounds VAT on this order (per row, per unit, on the total).
    #[serde(default)]
    pub vat_rounding: VatRounding,
    /// The shop numbers of the orders this one replaces, nearest first: Magento's order edit
    /// cancels `100000123` and creates `100000123-1` (`relation_parent_real_id`,
    /// `original_increment_id`), so `100000123-2` replaces `["100000123-1", "100000123"]`.
    /// The engine treats an order whose predecessor was exported as a change of that export
    /// (reported, or updated while not invoiced), never as a second SnelStart order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
    /// The shop cancelled the order (Magento state `canceled`). Never exported: not imported.
    /// Exported: a change after export, reported like any other.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
    /// A note for the accounting side's memo (SnelStart verkooporder `memo`), e.g. the order
    /// currency and amount of an order booked in the shop's base currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How a shop rounds VAT, so a sink can judge the shop's tax amounts under the shop's own rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VatRounding {
    /// Tax computed on each row (`row total x rate`) and rounded to cents per row (Magento's
    /// default `row` algorithm, PrestaShop `round_type` 2).
    #[default]
    PerRow,
    /// Tax computed and rounded per unit, then multiplied by the quantity (OpenCart,
    /// PrestaShop `round_type` 1, Magento's `unit` algorithm).
    PerUnit,
    /// Tax computed per row unrounded and rounded once on the order total (PrestaShop
    /// `round_type` 3, Magento's `total` algorithm).
    PerTotal,
}

impl Record for Order {
    const KIND: Kind = Kind::Order;
    fn key(&self) -> String {
        self.number.clone()
    }
    fn replaces(&self) -> Vec<String> {
        self.replaces.clone()
    }
    fn withdrawn(&self) -> bool {
        self.cancelled
    }
    fn modified(&self) -> Option<DateTime<Utc>> {
        self.modified
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let label = self.label();
        let c = Check { record: &label };
        c.non_empty("number", &self.number)?;
        if self.lines.is_empty() {
            return Err(c.fail("lines", "order has no lines"));
        }
        for (i, l) in self.lines.iter().enumerate() {
            if l.sku.is_none() {
                return Err(c.fail(format!("lines[{i}].sku"), "missing"));
            }
            if l.quantity <= Decimal::ZERO {
                return Err(c.fail(
                    format!("lines[{i}].quantity"),
                    format!("must be > 0, is {}", l.quantity),
                ));
            }
            c.not_negative(&format!("lines[{i}].unit_price"), l.unit_price)?;
            c.not_negative(&format!("lines[{i}].discount"), l.discount)?;
            if let Some(v) = l.vat_percentage {
                if v < Decimal::ZERO || v > Decimal::ONE_HUNDRED {
                    return Err(c.fail(
                        format!("lines[{i}].vat_percentage"),
                        format!("{v} is not between 0 and 100"),
                    ));
                }
            }
        }
        c.not_negative("discount", self.discount)?;
        c.not_negative("grand_total", self.grand_total)?;
        self.billing.validate(&c, "billing")?;
        if let Some(s) = &self.shipping {
            s.validate(&c, "shipping")?;
        }
        self.customer
            .validate()
            .map_err(|e| c.fail(format!("customer.{}", e.field), e.message))?;
        Ok(())
    }
}
