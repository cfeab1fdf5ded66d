//! The canonical model: what a product, a stock level, a customer, an order, an open amount and
//! a payment status are, independent of any one system. Connectors map their wire types to and
//! from these. Money is always [`Decimal`] with an explicit currency and tax mode.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A record failed validation: names the record, the field and the reason,
/// e.g. `order 100023: lines[2].quantity: must be > 0`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{record}: {field}: {message}")]
pub struct ValidationError {
    /// The record, e.g. `order 100023`.
    pub record: String,
    /// The field path, e.g. `lines[2].quantity`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ValidationError {
    /// Builds an error for a record and a field.
    pub fn new(record: impl Into<String>, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            record: record.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A value error before it is attached to a record (see [`ValidationError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

// ---------------------------------------------------------------------------------------------
// Value types
// ---------------------------------------------------------------------------------------------

/// Text value types validated by their `new`: serde, `Display` and `as_str` go through it.
macro_rules! validated_text {
    ($t:ident) => {
        impl $t {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $t {
            type Error = ValueError;
            fn try_from(v: String) -> Result<Self, Self::Error> {
                $t::new(v)
            }
        }
        impl From<$t> for String {
            fn from(s: $t) -> String {
                s.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A stock-keeping unit: SnelStart's `artikelcode`, the shop's SKU. Non-empty, no surrounding
/// white space, at most 64 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    /// Validates and wraps a SKU.
    pub fn new(value: impl Into<String>) -> Result<Self, ValueError> {
        let v: String = value.into();
        if v.trim().is_empty() {
            return Err(ValueError("must not be empty".into()));
        }
        if v.trim() != v {
            return Err(ValueError(format!("{v:?} has leading or trailing white space")));
        }
        if v.chars().count() > 64 {
            return Err(ValueError(format!("{v:?} is longer than 64 characters")));
        }
        if v.chars().any(char::is_control) {
            return Err(ValueError(format!("{v:?} contains control characters")));
        }
        Ok(Sku(v))
    }
}

validated_text!(Sku);

/// An ISO 3166-1 alpha-2 country code, upper case (`NL`, `BE`, `DE`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);

impl CountryCode {
    /// Validates a two-letter code; lower case is accepted and upper-cased.
    pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
        let v = value.as_ref().trim();
        if v.len() == 2 && v.chars().all(|c| c.is_ascii_alphabetic()) {
            Ok(CountryCode(v.to_ascii_uppercase()))
        } else {
            Err(ValueError(format!(
                "{v:?} is not an ISO 3166-1 alpha-2 country code"
            )))
        }
    }
}
validated_text!(CountryCode);

/// An ISO 4217 currency code (`EUR`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// Validates a three-letter code; lower case is accepted and upper-cased.
    pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
        let v = value.as_ref().trim();
        if v.len() == 3 && v.chars().all(|c| c.is_ascii_alphabetic()) {
            Ok(Currency(v.to_ascii_uppercase()))
        } else {
            Err(ValueError(format!("{v:?} is not an ISO 4217 currency code")))
        }
    }

    /// Euro, SnelStart's only currency.
    pub fn eur() -> Self {
        Currency("EUR".into())
    }
}
impl Default for Currency {
    fn default() -> Self {
        Currency::eur()
    }
}
validated_text!(Currency);

/// An amount of money in a currency. Never a float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Money {
    /// The amount, exact.
    pub amount: Decimal,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// An amount in a currency.
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Money { amount, currency }
    }

    /// An amount in euro.
    pub fn eur(amount: Decimal) -> Self {
        Money::new(amount, Currency::eur())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, self.amount)
    }
}

/// Whether prices include VAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaxMode {
    /// Prices include VAT (consumer prices).
    Inclusive,
    /// Prices exclude VAT (SnelStart's article prices).
    #[default]
    Exclusive,
}

/// SnelStart's VAT kinds (`btwSoort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum VatKind {
    /// Standard rate (21 % in the Netherlands).
    Hoog,
    /// Reduced rate (9 %).
    Laag,
    /// No VAT.
    Geen,
    /// Other (foreign, special).
    Overig,
}

impl VatKind {
    /// Parses SnelStart's spelling, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "hoog" => Some(VatKind::Hoog),
            "laag" => Some(VatKind::Laag),
            "geen" => Some(VatKind::Geen),
            "overig" => Some(VatKind::Overig),
            _ => None,
        }
    }
}

/// A VAT rate: a percentage plus SnelStart's kind where known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VatRate {
    /// The percentage, e.g. `21` for 21 %.
    pub percentage: Decimal,
    /// SnelStart's kind, when known.
    pub kind: Option<VatKind>,
}

impl VatRate {
    /// Validates a percentage between 0 and 100.
    pub fn new(percentage: Decimal, kind: Option<VatKind>) -> Result<Self, ValueError> {
        if percentage < Decimal::ZERO || percentage > Decimal::ONE_HUNDRED {
            return Err(ValueError(format!(
                "VAT percentage {percentage} is not between 0 and 100"
            )));
        }
        Ok(VatRate { percentage, kind })
    }

    /// The multiplier from an excl. to an incl. amount (`1.21` for 21 %).
    pub fn factor(&self) -> Decimal {
        Decimal::ONE + self.percentage / Decimal::ONE_HUNDRED
    }
}

/// How amounts are rounded: to `dp` decimals, half away from zero (the rule of SnelStart,
/// Magento and PrestaShop for display and totals).
pub fn round_money(amount: Decimal, dp: u32) -> Decimal {
    amount.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// Converts an amount between tax modes, rounding half away from zero to `dp` decimals.
pub fn convert_tax_mode(amount: Decimal, from: TaxMode, to: TaxMode, vat: &VatRate, dp: u32) -> Decimal {
    match (from, to) {
        (TaxMode::Exclusive, TaxMode::Inclusive) => round_money(amount * vat.factor(), dp),
        (TaxMode::Inclusive, TaxMode::Exclusive) => round_money(amount / vat.factor(), dp),
        _ => amount,
    }
}

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/// The six kinds of record koppel moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// [`Product`]
    Product,
    /// [`StockLevel`]
    StockLevel,
    /// [`Customer`]
    Customer,
    /// [`Order`]
    Order,
    /// [`OpenAmount`]
    OpenAmount,
    /// [`PaymentStatus`]
    PaymentStatus,
}

impl Kind {
    /// All kinds.
    pub const ALL: [Kind; 6] = [
        Kind::Product,
        Kind::StockLevel,
        Kind::Customer,
        Kind::Order,
        Kind::OpenAmount,
        Kind::PaymentStatus,
    ];

    /// The snake_case name used in config, state and reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Product => "product",
            Kind::StockLevel => "stock_level",
            Kind::Customer => "customer",
            Kind::Order => "order",
            Kind::OpenAmount => "open_amount",
            Kind::PaymentStatus => "payment_status",
        }
    }

    /// Parses [`Kind::as_str`].
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The word used in messages: `order 100023`.
    pub fn noun(&self) -> &'static str {
        match self {
            Kind::Product => "product",
            Kind::StockLevel => "stock",
            Kind::Customer => "customer",
            Kind::Order => "order",
            Kind::OpenAmount => "open amount",
            Kind::PaymentStatus => "payment",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record of the canonical model.
pub trait Record:
    Serialize + serde::de::DeserializeOwned + Clone + fmt::Debug + Send + Sync + 'static
{
    /// Which kind this is.
    const KIND: Kind;
    /// The natural key: SKU, shop order number, shop customer key.
    fn key(&self) -> String;
    /// When the record last changed at its source, if known (drives cursors).
    fn modified(&self) -> Option<DateTime<Utc>>;
    /// Checks every field; the error names the record and the field.
    fn validate(&self) -> Result<(), ValidationError>;
    /// Keys of the records this one replaces at its source, nearest first (see
    /// [`Order::replaces`]). The engine writes a record with a predecessor that was already
    /// written as a change of that write (same target id, the "changed after export" policy),
    /// never as a second record.
    fn replaces(&self) -> Vec<String> {
        Vec::new()
    }
    /// Withdrawn at its source (see [`Order::cancelled`]): the engine does not write it when
    /// neither it nor a predecessor was written before; one that was is a change after export.
    fn withdrawn(&self) -> bool {
        false
    }
    /// `order 100023`: how messages name this record.
    fn label(&self) -> String {
        format!("{} {}", Self::KIND.noun(), self.key())
    }
}

struct Check<'a> {
    record: &'a str,
}

impl Check<'_> {
    fn fail(&self, field: impl Into<String>, message: impl Into<String>) -> ValidationError {
        ValidationError::new(self.record, field, message)
    }
    fn non_empty(&self, field: &str, v: &str) -> Result<(), ValidationError> {
        if v.trim().is_empty() {
            Err(self.fail(field, "must not be empty"))
        } else {
            Ok(())
        }
    }
    fn not_negative(&self, field: &str, v: Decimal) -> Result<(), ValidationError> {
        if v < Decimal::ZERO {
            Err(self.fail(field, format!("must be >= 0, is {v}")))
        } else {
            Ok(())
        }
    }
}

/// An article: SnelStart is the master, the shop receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Product {
    /// SKU (SnelStart `artikelcode`).
    pub sku: Sku,
    /// Name (SnelStart `omschrijving`).
    pub name: String,
    /// Sales price; see `tax_mode` for whether it includes VAT.
    pub price: Money,
    /// Whether `price` includes VAT (SnelStart: excl.).
    pub tax_mode: TaxMode,
    /// VAT rate of the article, from its omzetgroep.
    pub vat: Option<VatRate>,
    /// Sellable (SnelStart: not `isNonActief`).
    pub active: bool,
    /// Unit (`eenheid`), e.g. `stuk`.
    pub unit: Option<String>,
    /// Weight in kg, from the field mapping.
    pub weight: Option<Decimal>,
    /// Category path, root first (e.g. `["Koffie", "Bonen"]`), from the field mapping.
    pub category: Vec<String>,
    /// Further mapped fields: shop attribute code -> value.
    pub attributes: BTreeMap<String, String>,
    /// Id at the source (SnelStart article GUID).
    pub source_id: Option<String>,
    /// Last change at the source.
    pub modified: Option<DateTime<Utc>>,
}

impl Record for Product {
    const KIND: Kind = Kind::Product;
    fn key(&self) -> String {
        self.sku.to_string()
    }
    fn modified(&self) -> Option<DateTime<Utc>> {
        self.modified
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let label = self.label();
        let c = Check { record: &label };
        c.non_empty("name", &self.name)?;
        c.not_negative("price.amount", self.price.amount)?;
        if let Some(w) = self.weight {
            c.not_negative("weight", w)?;
        }
        for (i, part) in self.category.iter().enumerate() {
            c.non_empty(&format!("category[{i}]"), part)?;
        }
        Ok(())
    }
}

/// A stock level of one SKU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StockLevel {
    /// SKU.
    pub sku: Sku,
    /// Quantity on hand (technical or free stock, per config); may be negative in SnelStart.
    pub quantity: Decimal,
    /// Id at the source.
    pub source_id: Option<String>,
    /// Last change at the source.
    pub modified: Option<DateTime<Utc>>,
}

impl Record for StockLevel {
    const KIND: Kind = Kind::StockLevel;
    fn key(&self) -> String {
        self.sku.to_string()
    }
    fn modified(&self) -> Option<DateTime<Utc>> {
        self.modified
    }
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct Address {
    /// First name of the addressee.
    pub first_name: Option<String>,
    /// Last name of the addressee.
    pub last_name: Option<String>,
    /// Company name.
    pub company: Option<String>,
    /// Street lines (street and house number, addition).
    pub street: Vec<String>,
    /// Postal code.
    pub postcode: String,
    /// City.
    pub city: String,
    /// Region or province.
    pub region: Option<String>,
    /// Country.
    pub country: Option<CountryCode>,
    /// Telephone.
    pub phone: Option<String>,
}

impl Address {
    /// `first last`, trimmed; `None` when both are empty.
    pub fn person(&self) -> Option<String> {
        let s = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        (!s.is_empty()).then_some(s)
    }

    /// Street lines joined with a space.
    pub fn street_line(&self) -> String {
        self.street
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn validate(&self, c: &Check<'_>, path: &str) -> Result<(), ValidationError> {
        if self.street_line().is_empty() {
            return Err(c.fail(format!("{path}.street"), "must not be empty"));
        }
        c.non_empty(&format!("{path}.city"), &self.city)?;
        if self.country.is_none() {
            return Err(c.fail(format!("{path}.country"), "missing or not an ISO country code"));
        }
        Ok(())
    }
}

/// A customer (SnelStart relatie of kind Klant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Customer {
    /// The shop's key: its customer id, or `guest:<e-mail>` for guest orders.
    pub key: String,
    /// E-mail address.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Company name.
    pub company: Option<String>,
    /// Telephone.
    pub phone: Option<String>,
    /// VAT number (btwNummer), e.g. `NL123456789B01`.
    pub vat_number: Option<String>,
    /// Chamber of commerce number (KvK).
    pub kvk_number: Option<String>,
    /// Billing address.
    pub billing: Option<Address>,
    /// Shipping address.
    pub shipping: Option<Address>,
    /// Built from a guest order (no shop account).
    pub is_guest: bool,
    /// Last change at the source.
    pub modified: Option<DateTime<Utc>>,
}

impl Customer {
    /// The display name: company, else person, else e-mail.
    pub fn display_name(&self) -> String {
        let person = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        self.company
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or((!person.is_empty()).then_some(person))
            .or(self.email.clone())
            .unwrap_or_else(|| self.key.clone())
    }
}

impl Record for Customer {
    const KIND: Kind = Kind::Customer;
    fn key(&self) -> String {
        self.key.clone()
    }
    fn modified(&self) -> Option<DateTime<Utc>> {
        self.modified
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let label = self.label();
        let c = Check { record: &label };
        c.non_empty("key", &self.key)?;
        if let Some(e) = &self.email {
            if !e.contains('@') || e.trim() != e {
                return Err(c.fail("email", format!("{e:?} is not an e-mail address")));
            }
        }
        if self.display_name().trim().is_empty() {
            return Err(c.fail("last_name", "customer has no name, company or e-mail"));
        }
        if let Some(a) = &self.billing {
            a.validate(&c, "billing")?;
        }
        if let Some(a) = &self.shipping {
            a.validate(&c, "shipping")?;
        }
        Ok(())
    }
}

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

/// What is still to be paid on an order's invoice (SnelStart `openstaandSaldo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OpenAmount {
    /// The shop order number this invoice belongs to.
    pub order_number: String,
    /// SnelStart invoice number.
    pub invoice_number: String,
    /// Invoice total incl. VAT.
    pub invoice_amount: Money,
    /// Still to be paid.
    pub open_amount: Money,
    /// Due date.
    pub due_date: Option<NaiveDate>,
    /// Last change at the source.
    pub modified: Option<DateTime<Utc>>,
}

impl Record for OpenAmount {
    const KIND: Kind = Kind::OpenAmount;
    fn key(&self) -> String {
        self.order_number.clone()
    }
    fn modified(&self) -> Option<DateTime<Utc>> {
        self.modified
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let label = self.label();
        let c = Check { record: &label };
        c.non_empty("order_number", &self.order_number)?;
        c.non_empty("invoice_number", &self.invoice_number)
    }
}

/// Whether an order's invoice has been paid (matched with a bank payment): ready to ship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentStatus {
    /// The shop order number.
    pub order_number: String,
    /// SnelStart invoice number.
    pub invoice_number: String,
    /// Fully paid.
    pub paid: bool,
    /// Amount paid so far.
    pub paid_amount: Money,
    /// Last change at the source.
    pub modified: Option<DateTime<Utc>>,
}

impl Record for PaymentStatus {
    const KIND: Kind = Kind::PaymentStatus;
    fn key(&self) -> String {
        self.order_number.clone()
    }
    fn modified(&self) -> Option<DateTime<Utc>> {
        self.modified
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let label = self.label();
        let c = Check { record: &label };
        c.non_empty("order_number", &self.order_number)?;
        c.non_empty("invoice_number", &self.invoice_number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn addr() -> Address {
        Address {
            first_name: Some("Jan".into()),
            last_name: Some("Jansen".into()),
            street: vec!["Dorpsstraat 1".into()],
            postcode: "1234 AB".into(),
            city: "Utrecht".into(),
            country: Some(CountryCode::new("nl").unwrap()),
            ..Default::default()
        }
    }

    fn order() -> Order {
        Order {
            number: "100023".into(),
            source_id: Some("23".into()),
            created_at: Utc::now(),
            modified: None,
            status: "processing".into(),
            currency: Currency::eur(),
            tax_mode: TaxMode::Inclusive,
            customer: Customer {
                key: "7".into(),
                email: Some("jan@example.nl".into()),
                first_name: Some("Jan".into()),
                last_name: Some("Jansen".into()),
                company: None,
                phone: None,
                vat_number: None,
                kvk_number: None,
                billing: Some(addr()),
                shipping: None,
                is_guest: false,
                modified: None,
            },
            billing: addr(),
            shipping: Some(addr()),
            lines: vec![
                OrderLine {
                    sku: Some(Sku::new("A1").unwrap()),
                    name: "A".into(),
                    quantity: dec!(1),
                    unit_price: dec!(12.10),
                    vat_percentage: Some(dec!(21)),
                    discount: dec!(0),
                    row_total: dec!(12.10),
                    tax: None,
                    tax_base: None,
                };
                3
            ],
            shipping_cost: None,
            payment_cost: None,
            discount: dec!(0),
            payment_method: None,
            grand_total: dec!(36.30),
            tax_total: dec!(6.30),
            vat_rounding: Default::default(),
            replaces: Vec::new(),
            cancelled: false,
            note: None,
        }
    }

    #[test]
    fn value_types_validate() {
        assert!(Sku::new("").is_err());
        assert!(Sku::new(" A").is_err());
        assert!(Sku::new("A\n").is_err());
        assert_eq!(Sku::new("ABC-1").unwrap().as_str(), "ABC-1");
        assert_eq!(CountryCode::new("be").unwrap().as_str(), "BE");
        assert!(CountryCode::new("NLD").is_err());
        assert!(Currency::new("EU").is_err());
        assert!(VatRate::new(dec!(121), None).is_err());
        // serde goes through the same checks
        assert!(serde_json::from_str::<Sku>("\"\"").is_err());
        assert!(serde_json::from_str::<CountryCode>("\"Nederland\"").is_err());
    }

    #[test]
    fn order_errors_name_record_and_field() {
        let mut o = order();
        assert_eq!(o.validate(), Ok(()));
        o.lines[2].quantity = dec!(0);
        assert_eq!(
            o.validate().unwrap_err().to_string(),
            "order 100023: lines[2].quantity: must be > 0, is 0"
        );
        let mut o = order();
        o.lines[1].sku = None;
        assert_eq!(
            o.validate().unwrap_err().to_string(),
            "order 100023: lines[1].sku: missing"
        );
        let mut o = order();
        o.billing.country = None;
        assert_eq!(o.validate().unwrap_err().field, "billing.country");
        let mut o = order();
        o.customer.email = Some("nope".into());
        assert_eq!(o.validate().unwrap_err().field, "customer.email");
    }

    #[test]
    fn records_roundtrip_through_serde() {
        let o = order();
        let json = serde_json::to_string(&o).unwrap();
        // money is written as a string, never a float
        assert!(json.contains("\"unit_price\":\"12.10\""), "{json}");
        let back: Order = serde_json::from_str(&json).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_money(dec!(0.125), 2), dec!(0.13));
        assert_eq!(round_money(dec!(-0.125), 2), dec!(-0.13));
        assert_eq!(round_money(dec!(0.135), 2), dec!(0.14));
        let vat = VatRate::new(dec!(21), Some(VatKind::Hoog)).unwrap();
        assert_eq!(
            convert_tax_mode(dec!(8.26), TaxMode::Exclusive, TaxMode::Inclusive, &vat, 2),
            dec!(9.99)
        );
        assert_eq!(
            convert_tax_mode(dec!(9.99), TaxMode::Inclusive, TaxMode::Exclusive, &vat, 2),
            dec!(8.26)
        );
        assert_eq!(
            convert_tax_mode(dec!(9.99), TaxMode::Inclusive, TaxMode::Exclusive, &vat, 4),
            dec!(8.2562)
        );
    }
}
