//! koppel's model <-> Tinyshop's wire format.

use koppel_core::model::convert_tax_mode;
use koppel_core::{Error, Product, Record, Result, StockLevel, TaxMode};

use crate::models::{ProductBody, StockBody};

/// A product as Tinyshop takes it: the price excluding VAT (an inclusive price is converted
/// with the product's VAT rate and rounded to cents, half away from zero).
pub fn product_body(p: &Product) -> Result<ProductBody> {
    let excl = match (p.tax_mode, &p.vat) {
        (TaxMode::Exclusive, _) => p.price.amount,
        (TaxMode::Inclusive, Some(vat)) => {
            convert_tax_mode(p.price.amount, TaxMode::Inclusive, TaxMode::Exclusive, vat, 2)
        }
        (TaxMode::Inclusive, None) => {
            return Err(Error::rejected(
                p.label(),
                Some("vat"),
                "price includes VAT but the product has no VAT rate",
            ))
        }
    };
    Ok(ProductBody {
        name: p.name.clone(),
        price_excl: excl.normalize().to_string(),
        vat: p.vat.as_ref().map(|v| v.percentage.normalize().to_string()),
        active: p.active,
    })
}

/// A stock level as Tinyshop takes it.
pub fn stock_body(s: &StockLevel) -> StockBody {
    StockBody {
        quantity: s.quantity.normalize().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use koppel_core::{Money, Sku, VatRate};
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    use super::*;

    fn product(price: Decimal, tax_mode: TaxMode, vat: Option<Decimal>) -> Product {
        Product {
            sku: Sku::new("TS-1").unwrap(),
            name: "Kop".into(),
            price: Money::eur(price),
            tax_mode,
            vat: vat.map(|v| VatRate::new(v, None).unwrap()),
            active: true,
            unit: None,
            weight: None,
            category: Vec::new(),
            attributes: Default::default(),
            source_id: None,
            modified: None,
        }
    }

    #[test]
    fn an_exclusive_price_is_sent_as_it_is() {
        let body = product_body(&product(dec!(12.50), TaxMode::Exclusive, Some(dec!(21.00)))).unwrap();
        assert_eq!(body.price_excl, "12.5");
        assert_eq!(body.vat.as_deref(), Some("21"));
        assert!(body.active);
    }

    #[test]
    fn an_inclusive_price_is_converted_and_rounded_to_cents() {
        // 10.00 / 1.21 = 8.2644..., 19.99 / 1.09 = 18.3394..., 0.05 / 1.09 = 0.04587...
        for (incl, vat, excl) in [
            (dec!(10.00), dec!(21), "8.26"),
            (dec!(19.99), dec!(9), "18.34"),
            (dec!(0.05), dec!(9), "0.05"),
            (dec!(12.10), dec!(21), "10"),
        ] {
            let body = product_body(&product(incl, TaxMode::Inclusive, Some(vat))).unwrap();
            assert_eq!(body.price_excl, excl, "{incl} incl. {vat} %");
        }
    }

    #[test]
    fn an_inclusive_price_without_a_vat_rate_is_rejected_naming_the_field() {
        let Err(Error::Rejected(r)) = product_body(&product(dec!(10), TaxMode::Inclusive, None)) else {
            panic!("expected a rejection");
        };
        assert_eq!(r.record, "product TS-1");
        assert_eq!(r.field.as_deref(), Some("vat"));
    }

    #[test]
    fn stock_is_a_decimal_string() {
        let s = StockLevel {
            sku: Sku::new("TS-1").unwrap(),
            quantity: dec!(7.000),
            source_id: None,
            modified: None,
        };
        assert_eq!(stock_body(&s).quantity, "7");
    }
}
