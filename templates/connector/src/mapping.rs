//! koppel's model <-> Tinyshop's wire format.

use koppel_core::{Error, Product, Result, StockLevel, TaxMode};
use rust_decimal::Decimal;

use crate::models::{ProductBody, StockBody};

/// A product as Tinyshop takes it: the price excluding VAT (an inclusive price is converted
/// with the product's VAT rate and rounded to cents, half away from zero).
pub fn product_body(p: &Product) -> Result<ProductBody> {
    let rate = p.vat.as_ref().map(|v| v.percentage);
    let excl = match (p.tax_mode, rate) {
        (TaxMode::Exclusive, _) => p.price.amount,
        (TaxMode::Inclusive, Some(r)) => {
            let factor = Decimal::ONE + r / Decimal::ONE_HUNDRED;
            (p.price.amount / factor)
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        }
        (TaxMode::Inclusive, None) => {
            return Err(Error::rejected(
                p.sku.to_string(),
                Some("vat"),
                "price includes VAT but the product has no VAT rate",
            ))
        }
    };
    Ok(ProductBody {
        name: p.name.clone(),
        price_excl: excl.normalize().to_string(),
        vat: rate.map(|r| r.normalize().to_string()),
        active: p.active,
    })
}

/// A stock level as Tinyshop takes it.
pub fn stock_body(s: &StockLevel) -> StockBody {
    StockBody {
        quantity: s.quantity.normalize().to_string(),
    }
}
