//! Stock: the quantity the shop gets.

use rust_decimal::Decimal;

/// The stock quantity Magento gets: SnelStart's negative stock is written as 0 (Magento has no
/// use for a negative source quantity; backorders are a shop setting), and in stock is
/// quantity > 0.
pub fn shop_quantity(q: Decimal) -> (Decimal, bool) {
    let q = q.max(Decimal::ZERO);
    (q, q > Decimal::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn negative_stock_is_written_as_zero() {
        assert_eq!(shop_quantity(dec!(-3)), (dec!(0), false));
        assert_eq!(shop_quantity(dec!(0)), (dec!(0), false));
        assert_eq!(shop_quantity(dec!(2.5)), (dec!(2.5), true));
    }
}
