//! Value types: [`Sku`], [`CountryCode`], [`Currency`], [`Money`], [`TaxMode`], [`VatRate`] and the
//! rounding helpers.

use std::fmt;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ValueError;

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
