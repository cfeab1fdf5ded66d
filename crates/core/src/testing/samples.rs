//! Valid sample records for tests.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::model::{
    Address, CountryCode, Currency, Customer, Money, OpenAmount, Order, OrderLine, PaymentStatus, Product,
    Sku, StockLevel, TaxMode, VatKind, VatRate,
};

fn sku(s: &str) -> Sku {
    Sku::new(s).unwrap_or_else(|e| panic!("sample SKU {s:?}: {e}"))
}

/// A Dutch address.
pub fn address() -> Address {
    Address {
        first_name: Some("Jan".into()),
        last_name: Some("Jansen".into()),
        company: None,
        street: vec!["Dorpsstraat 1".into()],
        postcode: "1234 AB".into(),
        city: "Utrecht".into(),
        region: None,
        country: CountryCode::new("NL").ok(),
        phone: None,
    }
}

/// An active product priced `price` (excl. VAT, 21 %).
pub fn product(code: &str, price: Decimal, modified: Option<DateTime<Utc>>) -> Product {
    Product {
        sku: sku(code),
        name: format!("Article {code}"),
        price: Money::eur(price),
        tax_mode: TaxMode::Exclusive,
        vat: VatRate::new(Decimal::from(21), Some(VatKind::Hoog)).ok(),
        active: true,
        unit: Some("stuk".into()),
        weight: None,
        category: vec![],
        attributes: BTreeMap::new(),
        source_id: Some(format!("guid-{code}")),
        modified,
    }
}

/// A stock level.
pub fn stock(code: &str, quantity: Decimal, modified: Option<DateTime<Utc>>) -> StockLevel {
    StockLevel {
        sku: sku(code),
        quantity,
        source_id: Some(format!("guid-{code}")),
        modified,
    }
}

/// A customer with key `key`.
pub fn customer(key: &str, modified: Option<DateTime<Utc>>) -> Customer {
    Customer {
        key: key.into(),
        email: Some(format!("klant{key}@example.nl")),
        first_name: Some("Jan".into()),
        last_name: Some(format!("Klant {key}")),
        company: None,
        phone: None,
        vat_number: None,
        kvk_number: None,
        billing: Some(address()),
        shipping: None,
        is_guest: false,
        modified,
    }
}

/// An order `number` by customer `customer_key` of one line of `code` (incl. VAT).
pub fn order(number: &str, customer_key: &str, code: &str, modified: Option<DateTime<Utc>>) -> Order {
    let price = Decimal::new(1210, 2);
    Order {
        number: number.into(),
        source_id: Some(format!("entity-{number}")),
        created_at: modified.unwrap_or_else(Utc::now),
        modified,
        status: "processing".into(),
        currency: Currency::eur(),
        tax_mode: TaxMode::Inclusive,
        customer: customer(customer_key, None),
        billing: address(),
        shipping: Some(address()),
        lines: vec![OrderLine {
            sku: Some(sku(code)),
            name: format!("Article {code}"),
            quantity: Decimal::ONE,
            unit_price: price,
            vat_percentage: Some(Decimal::from(21)),
            discount: Decimal::ZERO,
            row_total: price,
            tax: None,
            tax_base: None,
        }],
        shipping_cost: None,
        payment_cost: None,
        fees: Vec::new(),
        discount: Decimal::ZERO,
        payment_method: Some("banktransfer".into()),
        grand_total: price,
        tax_total: Decimal::new(210, 2),
        vat_rounding: Default::default(),
        replaces: Vec::new(),
        cancelled: false,
        note: None,
    }
}

/// An open amount on order `number`.
pub fn open_amount(number: &str, open: Decimal, modified: Option<DateTime<Utc>>) -> OpenAmount {
    OpenAmount {
        order_number: number.into(),
        invoice_number: format!("F{number}"),
        invoice_amount: Money::eur(Decimal::new(1210, 2)),
        open_amount: Money::eur(open),
        due_date: None,
        modified,
    }
}

/// A payment status of order `number`.
pub fn payment(number: &str, paid: bool, modified: Option<DateTime<Utc>>) -> PaymentStatus {
    PaymentStatus {
        order_number: number.into(),
        invoice_number: format!("F{number}"),
        paid,
        paid_amount: Money::eur(if paid {
            Decimal::new(1210, 2)
        } else {
            Decimal::ZERO
        }),
        modified,
    }
}
