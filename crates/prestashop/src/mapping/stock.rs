//! Stock out: SnelStart quantities as the shop's.

use rust_decimal::Decimal;

/// The shop's quantity for a SnelStart stock level: whole units, negative stock as 0 (the
/// shop's backorder setting decides whether it still sells).
pub fn shop_quantity(q: Decimal) -> i64 {
    let t = q.trunc();
    if t < Decimal::ZERO {
        0
    } else {
        i64::try_from(t.mantissa() / 10i128.pow(t.scale())).unwrap_or(i64::MAX)
    }
}
