//! Stock: a canonical quantity as OpenCart's whole units.

use koppel_core::Rejection;
use rust_decimal::Decimal;

/// A stock quantity as OpenCart's whole units.
pub fn whole_units(label: &str, q: Decimal) -> Result<i64, Rejection> {
    if !q.fract().is_zero() {
        return Err(Rejection::new(
            label,
            Some("quantity"),
            format!("{q} is not a whole number; OpenCart stores whole units"),
        ));
    }
    use rust_decimal::prelude::ToPrimitive;
    q.trunc()
        .to_i64()
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| Rejection::new(label, Some("quantity"), format!("{q} is out of range")))
}
