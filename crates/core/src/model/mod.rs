//! The canonical model: what a product, a stock level, a customer, an order, an open amount and
//! a payment status are, independent of any one system. Connectors map their wire types to and
//! from these. Money is always [`Decimal`] with an explicit currency and tax mode.

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod customer;
mod invoice;
mod order;
mod product;
mod values;

pub use customer::*;
pub use invoice::*;
pub use order::*;
pub use product::*;
pub use values::*;

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
            fees: Vec::new(),
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
