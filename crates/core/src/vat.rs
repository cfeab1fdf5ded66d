//! VAT judged on amounts: does a rate explain the tax a shop charged on a row?
//!
//! A percentage rebuilt from rounded cents is not a rate: 0.86 VAT on 4.09 excl. is exactly
//! what 21 % gives after rounding to cents, yet 0.86 / 4.09 is 21.03 %. So koppel never
//! compares rebuilt percentages. It asks, for each candidate rate `r`, whether the shop's tax
//! equals the tax `r` gives on the row under the shop's own rounding rule ([`VatRounding`]):
//!
//! - **per row** (Magento's default `ROW_BASE_CALCULATION`, PrestaShop `round_type` 2):
//!   `tax = round(excl × r)`. A shop that prices incl. VAT (Magento with catalog prices incl.
//!   tax) computes `tax = round(incl × r / (1 + r))` instead and derives `excl = incl - tax`;
//!   the two can differ by a cent on the same row, and an inclusive canonical order does not
//!   say which side the shop started from (PrestaShop and OpenCart start from excl. prices),
//!   so for inclusive orders either is accepted. Tolerance: none beyond that.
//! - **per unit** (OpenCart, Magento `UNIT_BASE_CALCULATION`, PrestaShop `round_type` 1):
//!   `tax = round(unit_excl × r) × quantity` with `unit_excl = excl / quantity` (inclusive
//!   orders also the incl. side `round(unit_incl × r / (1 + r)) × quantity`). Tolerance: none.
//! - **per total** (Magento `TOTAL_BASE_CALCULATION`, PrestaShop `round_type` 3): rows are
//!   unrounded and the order's tax is rounded once. A row's shown tax differs from its exact
//!   tax by its own rounding plus the rounding delta Magento carries from the previous row of
//!   the same rate, so a row is explained within **one cent** ([`row_tolerance`]; both
//!   tolerances also allow the 0.000001 Magento seeds its rounding deltas with); the order is
//!   then judged on its total ([`check_per_total`]): the sum of the shop's row taxes must be
//!   within **half a cent per row** of the sum of the exact taxes (the once-rounded total is
//!   within half a cent of the exact sum, and every row's excl. amount may itself carry half a
//!   cent of rounding when the shop derived it from an incl. amount).
//!
//! Amounts in an inclusive order are incl. VAT: `excl = incl - tax`. Rounding is half away
//! from zero ([`round_money`]), the rule of Magento, PrestaShop, OpenCart and SnelStart; no shop
//! rule here says otherwise.
//!
//! When the shop does not say what tax it charged (`tax` is `None`), the stated percentage is
//! compared exactly against the rates (a shop that states a rate states it as configured, e.g.
//! Magento's `tax_percent` of `21.0000`).

use std::fmt;

use rust_decimal::Decimal;

use crate::model::{round_money, Charge, OrderLine, TaxMode, VatRate, VatRounding};

/// A row of an order as VAT is judged on it: an order line after its discount, or a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxedRow {
    /// The row's amount after discount, in the order's tax mode (incl. VAT when inclusive).
    pub amount: Decimal,
    /// Units on the row (1 for a charge); used by the per-unit rule.
    pub quantity: Decimal,
    /// The VAT the shop charged on the row, as the shop rounded it.
    pub tax: Decimal,
    /// The amount excl. VAT the shop computed the tax on, when it is not the row's own
    /// (a shop that taxes a row before its discount); `None`: the row's own.
    pub base: Option<Decimal>,
}

impl TaxedRow {
    /// The row excl. VAT.
    pub fn excl(&self, mode: TaxMode) -> Decimal {
        if let Some(b) = self.base {
            return b;
        }
        match mode {
            TaxMode::Inclusive => self.amount - self.tax,
            TaxMode::Exclusive => self.amount,
        }
    }

    /// The row incl. VAT.
    pub fn incl(&self, mode: TaxMode) -> Decimal {
        if let Some(b) = self.base {
            return b + self.tax;
        }
        match mode {
            TaxMode::Inclusive => self.amount,
            TaxMode::Exclusive => self.amount + self.tax,
        }
    }
}

fn fraction(rate: &VatRate) -> Decimal {
    rate.percentage / Decimal::ONE_HUNDRED
}

/// The exact (unrounded) tax a rate gives on a row: from its excl. side, and (inclusive orders
/// only, where the shop may have started from the incl. amount) from its incl. side. An
/// exclusive order's tax is computed from the excl. amount, so both values are that one.
pub fn exact_taxes(rate: &VatRate, row: &TaxedRow, mode: TaxMode) -> [Decimal; 2] {
    let f = fraction(rate);
    let from_excl = row.excl(mode) * f;
    match mode {
        TaxMode::Inclusive => [from_excl, row.incl(mode) * f / (Decimal::ONE + f)],
        TaxMode::Exclusive => [from_excl, from_excl],
    }
}

/// How far a row's tax may be from what the rate gives under the rule: zero for per-row and
/// per-unit rounding, one cent per row for per-total rounding (see the module doc).
pub fn row_tolerance(rounding: VatRounding) -> Decimal {
    match rounding {
        VatRounding::PerRow | VatRounding::PerUnit => Decimal::ZERO,
        VatRounding::PerTotal => Decimal::new(1, 2) + MAGENTO_DELTA_SEED,
    }
}

/// Magento's `deltaRound` seeds each rate's rounding delta with 0.000001 (so a half cent rounds
/// the same way every time): a per-total row or total may be that much beyond the half cent.
const MAGENTO_DELTA_SEED: Decimal = Decimal::from_parts(1, 0, 0, false, 6);

/// The taxes a rate gives on a row under the rule, as the shop would show them: per row and per
/// unit rounded to cents, per total unrounded. Two values: from the excl. and the incl. side.
pub fn rate_taxes(rate: &VatRate, row: &TaxedRow, mode: TaxMode, rounding: VatRounding) -> [Decimal; 2] {
    let f = fraction(rate);
    match rounding {
        VatRounding::PerRow => exact_taxes(rate, row, mode).map(|t| round_money(t, 2)),
        VatRounding::PerUnit => {
            if row.quantity <= Decimal::ZERO {
                return exact_taxes(rate, row, mode).map(|t| round_money(t, 2));
            }
            let unit_excl = row.excl(mode) / row.quantity;
            let from_excl = round_money(unit_excl * f, 2) * row.quantity;
            match mode {
                TaxMode::Inclusive => {
                    let unit_incl = row.incl(mode) / row.quantity;
                    [
                        from_excl,
                        round_money(unit_incl * f / (Decimal::ONE + f), 2) * row.quantity,
                    ]
                }
                TaxMode::Exclusive => [from_excl, from_excl],
            }
        }
        VatRounding::PerTotal => exact_taxes(rate, row, mode),
    }
}

/// Whether `rate` explains the shop's tax on `row`: the shop's tax equals the tax the rate gives
/// under the shop's rounding rule, within that rule's [`row_tolerance`].
pub fn explains(rate: &VatRate, row: &TaxedRow, mode: TaxMode, rounding: VatRounding) -> bool {
    let tolerance = row_tolerance(rounding);
    rate_taxes(rate, row, mode, rounding)
        .iter()
        .any(|t| (row.tax - *t).abs() <= tolerance)
}

/// The tax a rate gives on a row as a message shows it (cents, from the excl. side).
fn shown_tax(rate: &VatRate, row: &TaxedRow, mode: TaxMode, rounding: VatRounding) -> Decimal {
    round_money(rate_taxes(rate, row, mode, rounding)[0], 2)
}

/// No rate explains a row: the shop's amounts and the rates tried, for the rejection message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unexplained {
    /// What the shop said: amounts or the stated percentage.
    pub shop: String,
    /// Each rate tried with the tax it gives (or just the percentage when no tax was stated).
    pub tried: Vec<String>,
    /// The rounding rule the rates were tried under.
    pub rounding: VatRounding,
}

impl fmt::Display for Unexplained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = match self.rounding {
            VatRounding::PerRow => "rounded per row",
            VatRounding::PerUnit => "rounded per unit",
            VatRounding::PerTotal => "rounded on the order total, within a cent per row",
        };
        write!(
            f,
            "no SnelStart VAT rate explains it: {}; tried {} ({rule})",
            self.shop,
            self.tried.join(", ")
        )
    }
}

/// What the shop says about a row's VAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShopVat {
    /// The row with the shop's tax, when the shop says what it charged.
    pub row: Option<TaxedRow>,
    /// The percentage the shop states (compared exactly only when `row` is `None`).
    pub percentage: Option<Decimal>,
}

impl ShopVat {
    /// What an order line says: its row total after discount with the shop's tax, and its rate.
    pub fn of_line(line: &OrderLine) -> Self {
        ShopVat {
            row: line.tax.map(|tax| TaxedRow {
                amount: line.row_total,
                quantity: line.quantity,
                tax,
                base: line.tax_base,
            }),
            percentage: line.vat_percentage,
        }
    }

    /// What a charge (shipping, payment fee) says: its amount with the shop's tax, and its rate.
    pub fn of_charge(charge: &Charge) -> Self {
        ShopVat {
            row: charge.tax.map(|tax| TaxedRow {
                amount: charge.amount,
                quantity: Decimal::ONE,
                tax,
                base: None,
            }),
            percentage: charge.vat_percentage,
        }
    }
}

fn kind_name(rate: &VatRate) -> String {
    match rate.kind {
        Some(k) => format!("{k:?} {} %", rate.percentage.normalize()),
        None => format!("{} %", rate.percentage.normalize()),
    }
}

/// Describes the shop's amounts of a row: `0.99 VAT on 4.09 excl. (5.08 incl.)`.
pub fn describe(row: &TaxedRow, mode: TaxMode) -> String {
    let q = if row.quantity == Decimal::ONE {
        String::new()
    } else {
        format!(", {} units", row.quantity.normalize())
    };
    format!(
        "the shop charged {} VAT on {} excl. ({} incl.{q})",
        row.tax,
        row.excl(mode),
        row.incl(mode)
    )
}

/// Every rate that explains the row (by amounts when the shop gives its tax, else by the stated
/// percentage, exactly), in the order of `rates`.
pub fn explaining<'a>(
    rates: &'a [VatRate],
    shop: &ShopVat,
    mode: TaxMode,
    rounding: VatRounding,
) -> Vec<&'a VatRate> {
    match (&shop.row, shop.percentage) {
        (Some(row), _) => rates
            .iter()
            .filter(|r| explains(r, row, mode, rounding))
            .collect(),
        (None, Some(p)) => rates.iter().filter(|r| r.percentage == p).collect(),
        (None, None) => Vec::new(),
    }
}

/// The [`Unexplained`] for a row that none of `rates` explains.
pub fn unexplained(rates: &[VatRate], shop: &ShopVat, mode: TaxMode, rounding: VatRounding) -> Unexplained {
    match &shop.row {
        Some(row) => Unexplained {
            shop: describe(row, mode),
            tried: rates
                .iter()
                .map(|r| {
                    format!(
                        "{} (gives {:.2})",
                        kind_name(r),
                        shown_tax(r, row, mode, rounding)
                    )
                })
                .collect(),
            rounding,
        },
        None => Unexplained {
            shop: match shop.percentage {
                Some(p) => format!("the shop states {} % VAT and no VAT amount", p.normalize()),
                None => "the shop states neither a VAT amount nor a percentage".to_owned(),
            },
            tried: rates.iter().map(kind_name).collect(),
            rounding,
        },
    }
}

/// Picks the rate for a row among `rates` by the amounts test: `preferred` when it explains the
/// row, else the rate equal to the stated percentage when it explains the row, else the
/// explaining rate whose exact tax is closest to the shop's. Without any VAT information from
/// the shop, `preferred` is taken as it is. Errs naming the amounts and the rates tried.
pub fn pick<'a>(
    rates: &'a [VatRate],
    shop: &ShopVat,
    mode: TaxMode,
    rounding: VatRounding,
    preferred: Option<&'a VatRate>,
) -> Result<&'a VatRate, Unexplained> {
    if let (None, None, Some(p)) = (&shop.row, shop.percentage, preferred) {
        return Ok(p);
    }
    if let Some(p) = preferred {
        if !explaining(std::slice::from_ref(p), shop, mode, rounding).is_empty() {
            return Ok(p);
        }
    }
    let found = explaining(rates, shop, mode, rounding);
    if let Some(stated) = shop.percentage {
        if let Some(r) = found.iter().find(|r| r.percentage == stated) {
            return Ok(r);
        }
    }
    let distance = |r: &VatRate| match &shop.row {
        Some(row) => exact_taxes(r, row, mode)
            .iter()
            .map(|t| (row.tax - *t).abs())
            .min()
            .unwrap_or_default(),
        None => Decimal::ZERO,
    };
    found
        .into_iter()
        .min_by_key(|r| distance(r))
        .ok_or_else(|| unexplained(rates, shop, mode, rounding))
}

/// The per-total test on the whole order: the sum of the shop's row taxes against the sum of
/// the exact taxes of each row's rate, within half a cent per row (see the module doc). Per-row
/// and per-unit orders pass (their rows are judged one by one). Errs with a message naming both
/// sums and the tolerance.
pub fn check_per_total(
    rows: &[(TaxedRow, &VatRate)],
    mode: TaxMode,
    rounding: VatRounding,
) -> Result<(), String> {
    if rounding != VatRounding::PerTotal || rows.is_empty() {
        return Ok(());
    }
    let shop: Decimal = rows.iter().map(|(row, _)| row.tax).sum();
    let mut excl_side = Decimal::ZERO;
    let mut incl_side = Decimal::ZERO;
    for (row, rate) in rows {
        let [e, i] = exact_taxes(rate, row, mode);
        excl_side += e;
        incl_side += i;
    }
    let tolerance = Decimal::new(5, 3) * Decimal::from(rows.len()) + MAGENTO_DELTA_SEED;
    let off = (shop - excl_side).abs().min((shop - incl_side).abs());
    if off <= tolerance {
        Ok(())
    } else {
        Err(format!(
            "the shop's VAT on the rows totals {shop}, the rates give {} unrounded; more than the {} allowed ({} rows, half a cent each) when VAT is rounded on the order total",
            round_money(excl_side, 4),
            round_money(tolerance, 3).normalize(),
            rows.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VatKind;
    use rust_decimal_macros::dec;

    fn rates() -> Vec<VatRate> {
        vec![
            VatRate::new(dec!(21), Some(VatKind::Hoog)).unwrap(),
            VatRate::new(dec!(9), Some(VatKind::Laag)).unwrap(),
            VatRate::new(dec!(0), Some(VatKind::Geen)).unwrap(),
        ]
    }

    fn row(amount: Decimal, quantity: Decimal, tax: Decimal) -> TaxedRow {
        TaxedRow {
            amount,
            quantity,
            tax,
            base: None,
        }
    }

    #[test]
    fn shipping_of_the_issue_is_explained_by_21() {
        // 4.95 incl., 0.86 VAT: 4.09 excl.; 0.86 / 4.09 = 21.03 %, yet exactly 21 % after rounding
        let r = rates();
        let ship = row(dec!(4.95), dec!(1), dec!(0.86));
        assert!(explains(&r[0], &ship, TaxMode::Inclusive, VatRounding::PerRow));
        assert!(!explains(&r[1], &ship, TaxMode::Inclusive, VatRounding::PerRow));
        let excl = row(dec!(4.09), dec!(1), dec!(0.86));
        assert!(explains(&r[0], &excl, TaxMode::Exclusive, VatRounding::PerRow));
        let shop = ShopVat {
            row: Some(ship),
            percentage: Some(dec!(21.03)),
        };
        let got = pick(&r, &shop, TaxMode::Inclusive, VatRounding::PerRow, None).unwrap();
        assert_eq!(got.kind, Some(VatKind::Hoog));
    }

    #[test]
    fn incl_side_rounding_is_accepted() {
        // 10.05 incl. at 21 %: tax round(10.05 × 21/121) = round(1.74421) = 1.74, excl 8.31;
        // round(8.31 × 0.21) = round(1.7451) = 1.75: the excl. side alone would say no
        let r = &rates()[0];
        let x = row(dec!(10.05), dec!(1), dec!(1.74));
        assert_eq!(
            rate_taxes(r, &x, TaxMode::Inclusive, VatRounding::PerRow),
            [dec!(1.75), dec!(1.74)]
        );
        assert!(explains(r, &x, TaxMode::Inclusive, VatRounding::PerRow));
        assert!(!explains(
            r,
            &row(dec!(10.05), dec!(1), dec!(1.76)),
            TaxMode::Inclusive,
            VatRounding::PerRow
        ));
    }

    #[test]
    fn per_unit_rounds_the_unit_tax() {
        // OpenCart: 3 × 0.99 excl. at 21 %: round(0.2079) = 0.21 per unit, 0.63 on the row;
        // per row it would be round(2.97 × 0.21) = round(0.6237) = 0.62
        let r = &rates()[0];
        let x = row(dec!(2.97), dec!(3), dec!(0.63));
        assert!(explains(r, &x, TaxMode::Exclusive, VatRounding::PerUnit));
        assert!(!explains(r, &x, TaxMode::Exclusive, VatRounding::PerRow));
        let y = row(dec!(2.97), dec!(3), dec!(0.62));
        assert!(explains(r, &y, TaxMode::Exclusive, VatRounding::PerRow));
        assert!(!explains(r, &y, TaxMode::Exclusive, VatRounding::PerUnit));
        // incl.: 3 × 1.20 incl. = 3.60, tax 3 × 0.21 = 0.63
        assert!(explains(
            r,
            &row(dec!(3.60), dec!(3), dec!(0.63)),
            TaxMode::Inclusive,
            VatRounding::PerUnit
        ));
    }

    #[test]
    fn per_total_allows_a_cent_per_row_and_half_a_cent_per_row_on_the_total() {
        let r = rates();
        // three rows of 0.05 excl. at 21 %: exact 0.0105 each, 0.0315 in all, 0.03 once rounded;
        // Magento's delta rounding shows 0.01, 0.01, 0.01
        let rows: Vec<TaxedRow> = (0..3).map(|_| row(dec!(0.05), dec!(1), dec!(0.01))).collect();
        for x in &rows {
            assert!(explains(&r[0], x, TaxMode::Exclusive, VatRounding::PerTotal));
        }
        let judged: Vec<(TaxedRow, &VatRate)> = rows.iter().map(|x| (*x, &r[0])).collect();
        assert_eq!(
            check_per_total(&judged, TaxMode::Exclusive, VatRounding::PerTotal),
            Ok(())
        );
        // each row a cent high (within the row tolerance) but the total 3 cents high: no
        let high: Vec<(TaxedRow, &VatRate)> = (0..3)
            .map(|_| (row(dec!(0.05), dec!(1), dec!(0.02)), &r[0]))
            .collect();
        for (x, rate) in &high {
            assert!(explains(rate, x, TaxMode::Exclusive, VatRounding::PerTotal));
        }
        let err = check_per_total(&high, TaxMode::Exclusive, VatRounding::PerTotal).unwrap_err();
        assert!(
            err.contains("totals 0.06") && err.contains("0.015 allowed"),
            "{err}"
        );
        // two cents off one row is never within the rule
        assert!(!explains(
            &r[0],
            &row(dec!(0.05), dec!(1), dec!(0.03)),
            TaxMode::Exclusive,
            VatRounding::PerTotal
        ));
    }

    #[test]
    fn nothing_explains_names_amounts_and_rates() {
        let r = rates();
        let shop = ShopVat {
            row: Some(row(dec!(4.09), dec!(1), dec!(0.99))),
            percentage: Some(dec!(24.21)),
        };
        let e = pick(&r, &shop, TaxMode::Exclusive, VatRounding::PerRow, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no SnelStart VAT rate explains it: the shop charged 0.99 VAT on 4.09 excl. (5.08 incl.); \
             tried Hoog 21 % (gives 0.86), Laag 9 % (gives 0.37), Geen 0 % (gives 0.00) (rounded per row)"
        );
    }

    #[test]
    fn without_an_amount_the_percentage_is_compared_exactly() {
        let r = rates();
        let stated = |p| ShopVat {
            row: None,
            percentage: Some(p),
        };
        let mode = TaxMode::Inclusive;
        assert_eq!(
            pick(&r, &stated(dec!(9.0000)), mode, VatRounding::PerRow, None)
                .unwrap()
                .kind,
            Some(VatKind::Laag)
        );
        let e = pick(&r, &stated(dec!(21.03)), mode, VatRounding::PerRow, None).unwrap_err();
        assert!(e.to_string().contains("states 21.03 % VAT"), "{e}");
        // the shop says nothing: the preferred rate stands
        let none = ShopVat {
            row: None,
            percentage: None,
        };
        assert_eq!(
            pick(&r, &none, mode, VatRounding::PerRow, Some(&r[1]))
                .unwrap()
                .kind,
            Some(VatKind::Laag)
        );
        assert!(pick(&r, &none, mode, VatRounding::PerRow, None).is_err());
    }

    #[test]
    fn ties_prefer_the_preferred_then_the_stated_rate() {
        // 0.02 excl. with 0.00 tax: 0 %, 9 % (0.0018) and 21 % (0.0042) all give 0.00
        let r = rates();
        let shop = ShopVat {
            row: Some(row(dec!(0.02), dec!(1), dec!(0))),
            percentage: Some(dec!(9)),
        };
        let m = TaxMode::Exclusive;
        assert_eq!(
            pick(&r, &shop, m, VatRounding::PerRow, Some(&r[0])).unwrap().kind,
            Some(VatKind::Hoog)
        );
        assert_eq!(
            pick(&r, &shop, m, VatRounding::PerRow, None).unwrap().kind,
            Some(VatKind::Laag)
        );
        let no_pct = ShopVat {
            percentage: None,
            ..shop
        };
        assert_eq!(
            pick(&r, &no_pct, m, VatRounding::PerRow, None).unwrap().kind,
            Some(VatKind::Geen)
        );
    }

    proptest::proptest! {
        /// The tax a shop computes under each rule is explained by its rate, in both tax
        /// modes; two cents more or less (three per total) never is.
        #[test]
        fn the_rules_own_tax_is_explained_and_a_wrong_one_is_not(
            unit in 1i64..50_000,
            qty in 1i64..10,
            rate_i in 0usize..3,
            rule in 0usize..3,
            incl in proptest::bool::ANY,
            off in 2i64..20,
            up in proptest::bool::ANY,
        ) {
            let rate = &rates()[rate_i];
            let f = rate.percentage / Decimal::ONE_HUNDRED;
            let (u, q) = (Decimal::new(unit, 2), Decimal::from(qty));
            let rounding = [VatRounding::PerRow, VatRounding::PerUnit, VatRounding::PerTotal][rule];
            let tax = match rounding {
                VatRounding::PerUnit => round_money(u * f, 2) * q,
                _ => round_money(u * q * f, 2),
            };
            let mode = if incl { TaxMode::Inclusive } else { TaxMode::Exclusive };
            let amount = if incl { u * q + tax } else { u * q };
            let good = TaxedRow { amount, quantity: q, tax, base: None };
            proptest::prop_assert!(explains(rate, &good, mode, rounding));
            let off = Decimal::new(off + i64::from(rounding == VatRounding::PerTotal), 2);
            let wrong = TaxedRow { tax: if up { tax + off } else { tax - off }, ..good };
            proptest::prop_assert!(!explains(rate, &wrong, mode, rounding));
        }
    }

    #[test]
    fn negative_rows_round_symmetrically() {
        // a discount row of -4.09 excl. with -0.86 VAT
        let r = &rates()[0];
        assert!(explains(
            r,
            &row(dec!(-4.09), dec!(1), dec!(-0.86)),
            TaxMode::Exclusive,
            VatRounding::PerRow
        ));
        assert!(explains(
            r,
            &row(dec!(-4.95), dec!(1), dec!(-0.86)),
            TaxMode::Inclusive,
            VatRounding::PerRow
        ));
    }
}
