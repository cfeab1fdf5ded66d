//! What the accounting side reports back: [`OpenAmount`] and [`PaymentStatus`].

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Check, Kind, Money, Record, ValidationError};

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
