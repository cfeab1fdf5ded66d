//! The readings of an order's rows, discount and shipping, and the reconcile that picks the
//! one giving `grand_total` to the cent.

use koppel_core::model::round_money;
use koppel_core::{Rejection, Sku};
use rust_decimal::Decimal;

use crate::models::{WireOrder, WireOrderItem};

/// Picks an order's amounts in the order or the base currency.
pub(super) struct Pick<'a> {
    pub(super) base: bool,
    pub(super) record: &'a str,
}

impl Pick<'_> {
    pub(super) fn get(
        &self,
        field: &str,
        order: Option<Decimal>,
        base: Option<Decimal>,
    ) -> Result<Option<Decimal>, Rejection> {
        if !self.base {
            return Ok(order);
        }
        match (base, order) {
            (Some(b), _) => Ok(Some(b)),
            (None, None) => Ok(None),
            (None, Some(_)) => Err(Rejection::new(
                self.record,
                Some(&match field.rsplit_once('.') {
                    Some((head, last)) => format!("{head}.base_{last}"),
                    None => format!("base_{field}"),
                }),
                "missing: the order is in another currency than the shop's base currency",
            )),
        }
    }
}

/// One item row's amounts as Magento stores them (before the row's discount).
#[derive(Debug, Clone, Copy)]
pub(super) struct RowAmounts {
    pub(super) price: Decimal,
    pub(super) price_incl: Decimal,
    pub(super) row_total: Decimal,
    pub(super) row_incl: Decimal,
    pub(super) tax: Decimal,
    pub(super) discount: Decimal,
    pub(super) dtc: Decimal,
}

impl RowAmounts {
    pub(super) fn of(
        item: &WireOrderItem,
        pick: &Pick<'_>,
        at: &str,
        qty: Decimal,
    ) -> Result<Self, Rejection> {
        let f = |n: &str| format!("{at}.{n}");
        let price = pick
            .get(&f("price"), item.price, item.base_price)?
            .ok_or_else(|| Rejection::new(pick.record, Some(&f("price")), "missing"))?;
        let row_total = pick
            .get(&f("row_total"), item.row_total, item.base_row_total)?
            .unwrap_or(qty * price);
        let tax = pick.get(&f("tax_amount"), item.tax_amount, item.base_tax_amount)?;
        let row_incl = pick.get(
            &f("row_total_incl_tax"),
            item.row_total_incl_tax,
            item.base_row_total_incl_tax,
        )?;
        let price_incl = pick
            .get(
                &f("price_incl_tax"),
                item.price_incl_tax,
                item.base_price_incl_tax,
            )?
            .or(row_incl.filter(|_| !qty.is_zero()).map(|r| r / qty))
            .unwrap_or(price);
        let row_incl = row_incl.unwrap_or(qty * price_incl);
        Ok(RowAmounts {
            price,
            price_incl,
            row_total,
            row_incl,
            // without the row's tax, the VAT in the row before discount
            tax: tax.unwrap_or(row_incl - row_total),
            discount: pick
                .get(
                    &f("discount_amount"),
                    item.discount_amount,
                    item.base_discount_amount,
                )?
                .unwrap_or_default()
                .abs(),
            dtc: pick
                .get(
                    &f("discount_tax_compensation_amount"),
                    item.discount_tax_compensation_amount,
                    item.base_discount_tax_compensation_amount,
                )?
                .unwrap_or_default(),
        })
    }
}

/// The order's totals as Magento stores them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Totals {
    pub(super) subtotal: Option<Decimal>,
    pub(super) shipping: Decimal,
    pub(super) shipping_tax: Decimal,
    pub(super) shipping_discount: Decimal,
    pub(super) shipping_dtc: Decimal,
    /// Positive.
    pub(super) discount: Decimal,
    pub(super) dtc: Decimal,
    pub(super) tax: Decimal,
    pub(super) grand_total: Decimal,
}

impl Totals {
    pub(super) fn of(o: &WireOrder, pick: &Pick<'_>) -> Result<Self, Rejection> {
        let shipping = pick.get("shipping_amount", o.shipping_amount, o.base_shipping_amount)?;
        let shipping_tax = pick.get(
            "shipping_tax_amount",
            o.shipping_tax_amount,
            o.base_shipping_tax_amount,
        )?;
        let shipping_incl = pick.get("shipping_incl_tax", o.shipping_incl_tax, o.base_shipping_incl_tax)?;
        let (shipping, shipping_tax) = match (shipping, shipping_tax, shipping_incl) {
            (Some(s), Some(t), _) => (s, t),
            (Some(s), None, Some(i)) => (s, i - s),
            (Some(s), None, None) => (s, Decimal::ZERO),
            (None, Some(t), Some(i)) => (i - t, t),
            (None, _, _) => (Decimal::ZERO, Decimal::ZERO),
        };
        Ok(Totals {
            subtotal: pick.get("subtotal", o.subtotal, o.base_subtotal)?,
            shipping,
            shipping_tax,
            shipping_discount: pick
                .get(
                    "shipping_discount_amount",
                    o.shipping_discount_amount,
                    o.base_shipping_discount_amount,
                )?
                .unwrap_or_default()
                .abs(),
            shipping_dtc: pick
                .get(
                    "shipping_discount_tax_compensation_amount",
                    o.shipping_discount_tax_compensation_amount,
                    o.base_shipping_discount_tax_compensation_amnt,
                )?
                .unwrap_or_default(),
            discount: pick
                .get("discount_amount", o.discount_amount, o.base_discount_amount)?
                .unwrap_or_default()
                .abs(),
            dtc: pick
                .get(
                    "discount_tax_compensation_amount",
                    o.discount_tax_compensation_amount,
                    o.base_discount_tax_compensation_amount,
                )?
                .unwrap_or_default(),
            tax: pick
                .get("tax_amount", o.tax_amount, o.base_tax_amount)?
                .unwrap_or_default(),
            grand_total: pick
                .get("grand_total", o.grand_total, o.base_grand_total)?
                .unwrap_or_default(),
        })
    }

    /// Shipping after its discount, excl. VAT.
    pub(super) fn shipping_net_excl(&self) -> Decimal {
        self.shipping - self.shipping_discount + self.shipping_dtc
    }
}

/// How an order's rows relate to its discount: the reading [`reconcile`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reading {
    /// Magento core: rows before their discount (`row_total - discount_amount +
    /// discount_tax_compensation_amount`, plus `tax_amount` incl. VAT).
    RowsGross,
    /// Rows already net of their discount (`row_total` / `row_total_incl_tax` as they are;
    /// the row's `discount_amount` is information only).
    RowsNet,
    /// The rows carry no discount; the order's `discount_amount` is one order-level discount.
    OrderLevel,
}

impl Reading {
    /// (row before discount, row after discount) in the tax mode.
    pub(super) fn row(self, r: &RowAmounts, incl: bool) -> (Decimal, Decimal) {
        let gross = if incl { r.row_incl } else { r.row_total };
        let net_excl = match self {
            Reading::RowsGross => r.row_total - r.discount + r.dtc,
            Reading::RowsNet | Reading::OrderLevel => r.row_total,
        };
        let net = match (self, incl) {
            (_, false) => net_excl,
            (Reading::RowsGross, true) => net_excl + r.tax,
            (_, true) => r.row_incl,
        };
        (gross, net)
    }
}

/// With `tax/calculation/apply_after_discount = 0` Magento taxes a row before its discount
/// (`Magento\Tax\Model\Calculation\AbstractAggregateCalculator`: the discount is not taken
/// off the taxable amount, and no discount tax compensation arises), so the row's `tax_amount`
/// belongs to `row_total`, not to the row after discount. The stated `tax_percent` only tells
/// which base the tax was computed on; which SnelStart rate explains it is then judged on the
/// amounts. `None` when the tax is on the row after discount (or no discount applies).
pub(super) fn taxed_before_discount(
    r: &RowAmounts,
    percent: Option<Decimal>,
    reading: Reading,
) -> Option<Decimal> {
    let p = percent? / Decimal::ONE_HUNDRED;
    if r.discount.is_zero() || !r.dtc.is_zero() || reading != Reading::RowsGross {
        return None;
    }
    let net_excl = r.row_total - r.discount;
    let cent = Decimal::new(1, 2);
    let off = |base: Decimal| (round_money(base * p, 2) - r.tax).abs();
    (off(r.row_total) <= cent && off(net_excl) > cent).then_some(r.row_total)
}

pub(super) type Row = (Sku, String, Decimal, Option<Decimal>, RowAmounts);

/// Finds the reading of rows, discount and shipping that gives the order's `grand_total` to
/// the cent, trying Magento core's first (rows before discount), then rows already net of
/// their discount, then one order-level discount. None: a rejection naming the sums.
pub(super) fn reconcile(rows: &[Row], t: &Totals, record: &str) -> Result<Reading, Rejection> {
    let cent = |d: Decimal| round_money(d, 2);
    let ship_incl = t.shipping_net_excl() + t.shipping_tax;
    let lines = |reading: Reading| -> Decimal { rows.iter().map(|(.., r)| reading.row(r, true).1).sum() };
    let before = cent(lines(Reading::RowsGross) + ship_incl);
    let net = cent(lines(Reading::RowsNet) + ship_incl);
    let gross_excl: Decimal = rows.iter().map(|(.., r)| r.row_total).sum();
    let order_level = cent(gross_excl + t.shipping + t.tax + t.dtc + t.shipping_dtc - t.discount);
    let goal = cent(t.grand_total);
    let has_row_discount = rows.iter().any(|(.., r)| !r.discount.is_zero());
    if before == goal {
        return Ok(Reading::RowsGross);
    }
    if has_row_discount && net == goal {
        return Ok(Reading::RowsNet);
    }
    if !has_row_discount && order_level == goal {
        return Ok(Reading::OrderLevel);
    }
    let subtotal = t.subtotal.map(|s| format!("subtotal {s}, ")).unwrap_or_default();
    Err(Rejection::new(
        record,
        Some("grand_total"),
        format!(
            "no reading of the amounts gives the shop's grand_total {} ({subtotal}discount_amount -{}, \
             shipping_amount {}, tax_amount {}): rows before their discount give {before}, rows net of \
             their discount {net}, an order-level discount {order_level}",
            t.grand_total, t.discount, t.shipping, t.tax
        ),
    ))
}
