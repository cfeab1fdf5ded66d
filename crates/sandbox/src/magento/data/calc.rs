//! Magento's order calculator as the seed uses it: row amounts under each tax setting,
//! bundles, and the JSON of one order item.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::magento::wire::{money, round2, ts};

/// The store's tax settings an order was placed under (they are store configuration, and
/// change over a shop's life; the seed varies them per order so every setting is covered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxSetting {
    /// `tax/calculation/discount_tax`: the discount is computed on prices incl. tax.
    pub discount_incl: bool,
    /// `tax/calculation/apply_after_discount`: tax is computed on the discounted row.
    pub after_discount: bool,
}

impl TaxSetting {
    /// The four combinations, the Dutch usual (discount incl., tax after discount) first.
    pub const ALL: [TaxSetting; 4] = [
        TaxSetting {
            discount_incl: true,
            after_discount: true,
        },
        TaxSetting {
            discount_incl: false,
            after_discount: true,
        },
        TaxSetting {
            discount_incl: true,
            after_discount: false,
        },
        TaxSetting {
            discount_incl: false,
            after_discount: false,
        },
    ];
}

/// Amounts of one order line, as `Magento\Tax\Model\Calculation\AbstractAggregateCalculator`
/// computes them per row: `row_total` / `row_total_incl_tax` before the discount; the
/// discount on the incl. or excl. row (`discount_tax`); the tax on the row after or before the
/// discount (`apply_after_discount`); with prices incl. tax and tax after discount, the tax the
/// discount removes is kept as discount tax compensation (`calculateWithTaxInPrice`); with
/// prices excl. tax there is none (`calculateWithTaxNotInPrice` takes the discount off the
/// excl. row as it is).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Amounts {
    pub(super) price: Decimal,
    pub(super) price_incl: Decimal,
    pub(super) row_total: Decimal,
    pub(super) row_incl: Decimal,
    pub(super) tax: Decimal,
    pub(super) discount: Decimal,
    pub(super) dtc: Decimal,
}

impl std::ops::Add for Amounts {
    type Output = Amounts;
    fn add(self, o: Amounts) -> Amounts {
        Amounts {
            price: self.price + o.price,
            price_incl: self.price_incl + o.price_incl,
            row_total: self.row_total + o.row_total,
            row_incl: self.row_incl + o.row_incl,
            tax: self.tax + o.tax,
            discount: self.discount + o.discount,
            dtc: self.dtc + o.dtc,
        }
    }
}

pub(super) fn amounts(
    unit: Decimal,
    qty: Decimal,
    rate: Decimal,
    incl: bool,
    discount_pct: Decimal,
    set: TaxSetting,
) -> Amounts {
    let hundred = Decimal::ONE_HUNDRED;
    if incl {
        let row_incl = round2(unit * qty);
        let full_tax = round2(row_incl * rate / (hundred + rate));
        let row_total = row_incl - full_tax;
        let base = if set.discount_incl { row_incl } else { row_total };
        let discount = round2(base * discount_pct / hundred);
        let tax = if set.after_discount {
            round2((row_incl - discount).max(Decimal::ZERO) * rate / (hundred + rate))
        } else {
            full_tax
        };
        Amounts {
            price: round2(unit * hundred / (hundred + rate)),
            price_incl: unit,
            row_total,
            row_incl,
            tax,
            discount,
            dtc: full_tax - tax,
        }
    } else {
        let row_total = round2(unit * qty);
        let full_tax = round2(row_total * rate / hundred);
        let row_incl = row_total + full_tax;
        let base = if set.discount_incl { row_incl } else { row_total };
        let discount = round2(base * discount_pct / hundred);
        let tax = if set.after_discount {
            round2((row_total - discount).max(Decimal::ZERO) * rate / hundred)
        } else {
            full_tax
        };
        Amounts {
            price: unit,
            price_incl: round2(unit * (hundred + rate) / hundred),
            row_total,
            row_incl,
            tax,
            discount,
            dtc: Decimal::ZERO,
        }
    }
}

/// A bundle line: a dynamic-price bundle carries its children's prices on the children (the
/// parent row holds their sum, `recalculateParent`); a fixed-price bundle carries the price on
/// the parent and zero on the children.
#[derive(Clone)]
pub(super) enum Bundle {
    Dynamic(Vec<LineSpec>),
    Fixed(Vec<LineSpec>),
}

#[derive(Clone)]
pub(super) struct LineSpec {
    pub(super) sku: Option<String>,
    pub(super) name: String,
    pub(super) product_id: Option<u64>,
    pub(super) qty: Decimal,
    pub(super) rate: Decimal,
    pub(super) unit: Decimal,
    pub(super) weight: Decimal,
    /// (configurable parent product id, parent name, child name)
    pub(super) configurable: Option<(u64, String, String)>,
    /// A bundle's children.
    pub(super) bundle: Option<Bundle>,
}

/// Builds one order's JSON.
pub(super) struct OrderCtx<'a> {
    pub(super) id: u64,
    pub(super) created: NaiveDateTime,
    pub(super) updated: NaiveDateTime,
    pub(super) state: &'a str,
    pub(super) incl: bool,
}

/// One order item row to render.
#[derive(Clone, Copy)]
pub(super) struct ItemRow<'a> {
    pub(super) item_id: u64,
    pub(super) sku: &'a Option<String>,
    pub(super) name: &'a str,
    pub(super) product_id: Option<u64>,
    pub(super) product_type: &'a str,
    pub(super) qty: Decimal,
    pub(super) rate: Decimal,
    pub(super) discount_pct: Decimal,
    pub(super) weight: Decimal,
}

pub(super) fn row_of<'a>(
    item_id: u64,
    s: &'a LineSpec,
    product_type: &'static str,
    discount_pct: Decimal,
) -> ItemRow<'a> {
    ItemRow {
        item_id,
        sku: &s.sku,
        name: &s.name,
        product_id: s.product_id,
        product_type,
        qty: s.qty,
        rate: s.rate,
        discount_pct,
        weight: s.weight,
    }
}

pub(super) fn item_json(
    ctx: &OrderCtx<'_>,
    row: &ItemRow<'_>,
    a: &Amounts,
    b: &Amounts,
) -> Map<String, Value> {
    let ItemRow {
        item_id,
        sku,
        name,
        product_id,
        product_type,
        qty,
        rate,
        discount_pct,
        weight,
    } = *row;
    let z = Decimal::ZERO;
    let invoiced = matches!(ctx.state, "processing" | "complete");
    let shipped = ctx.state == "complete";
    let canceled = ctx.state == "canceled";
    let q = |b: bool| money(if b { qty } else { z });
    let mut m = Map::new();
    m.insert("amount_refunded".into(), json!(0));
    m.insert("base_amount_refunded".into(), json!(0));
    m.insert("base_discount_amount".into(), money(b.discount));
    m.insert(
        "base_discount_invoiced".into(),
        money(if invoiced { b.discount } else { z }),
    );
    m.insert("base_discount_tax_compensation_amount".into(), money(b.dtc));
    m.insert("base_original_price".into(), money(b.price_incl.max(b.price)));
    m.insert("base_price".into(), money(b.price));
    m.insert("base_price_incl_tax".into(), money(b.price_incl));
    m.insert(
        "base_row_invoiced".into(),
        money(if invoiced { b.row_total } else { z }),
    );
    m.insert("base_row_total".into(), money(b.row_total));
    m.insert("base_row_total_incl_tax".into(), money(b.row_incl));
    m.insert("base_tax_amount".into(), money(b.tax));
    m.insert(
        "base_tax_invoiced".into(),
        money(if invoiced { b.tax } else { z }),
    );
    m.insert("created_at".into(), json!(ts(ctx.created)));
    m.insert("discount_amount".into(), money(a.discount));
    m.insert(
        "discount_invoiced".into(),
        money(if invoiced { a.discount } else { z }),
    );
    m.insert("discount_percent".into(), money(discount_pct));
    m.insert("discount_tax_compensation_amount".into(), money(a.dtc));
    m.insert("free_shipping".into(), json!(0));
    m.insert("is_qty_decimal".into(), json!(0));
    m.insert("is_virtual".into(), json!(0));
    m.insert("item_id".into(), json!(item_id));
    m.insert("name".into(), json!(name));
    m.insert("no_discount".into(), json!(0));
    m.insert("order_id".into(), json!(ctx.id));
    m.insert(
        "original_price".into(),
        money(if ctx.incl { a.price_incl } else { a.price }),
    );
    m.insert("price".into(), money(a.price));
    m.insert("price_incl_tax".into(), money(a.price_incl));
    if let Some(pid) = product_id {
        m.insert("product_id".into(), json!(pid));
    }
    m.insert("product_type".into(), json!(product_type));
    m.insert("qty_canceled".into(), q(canceled));
    m.insert("qty_invoiced".into(), q(invoiced));
    m.insert("qty_ordered".into(), money(qty));
    m.insert("qty_refunded".into(), json!(0));
    m.insert("qty_shipped".into(), q(shipped));
    m.insert("quote_item_id".into(), json!(item_id + 1000));
    m.insert(
        "row_invoiced".into(),
        money(if invoiced { a.row_total } else { z }),
    );
    m.insert("row_total".into(), money(a.row_total));
    m.insert("row_total_incl_tax".into(), money(a.row_incl));
    m.insert("row_weight".into(), money(weight * qty));
    m.insert("sku".into(), sku.as_ref().map_or(Value::Null, |s| json!(s)));
    m.insert("store_id".into(), json!(1));
    m.insert("tax_amount".into(), money(a.tax));
    m.insert("tax_invoiced".into(), money(if invoiced { a.tax } else { z }));
    m.insert("tax_percent".into(), money(rate));
    m.insert("updated_at".into(), json!(ts(ctx.updated)));
    m.insert("weight".into(), money(weight));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_add_up_incl_and_excl() {
        let a = amounts(
            Decimal::new(1210, 2),
            Decimal::from(3),
            Decimal::from(21),
            true,
            Decimal::TEN,
            TaxSetting::ALL[0],
        );
        assert_eq!(a.row_incl, Decimal::new(3630, 2));
        assert_eq!(a.row_total + a.tax + a.dtc, a.row_incl);
        assert_eq!(a.discount, Decimal::new(363, 2));
        let b = amounts(
            Decimal::new(1000, 2),
            Decimal::from(2),
            Decimal::from(9),
            false,
            Decimal::ZERO,
            TaxSetting::ALL[0],
        );
        assert_eq!(
            (b.row_total, b.tax, b.row_incl, b.dtc),
            (
                Decimal::from(20),
                Decimal::new(180, 2),
                Decimal::new(2180, 2),
                Decimal::ZERO
            )
        );
    }

    #[test]
    fn each_tax_setting_follows_magentos_calculator() {
        let d = |v: i64, s: u32| Decimal::new(v, s);
        // (incl, setting, unit) -> (discount, tax, compensation) for 10 % off one 21 % item
        let cases = [
            (false, 0, d(100, 0), (d(1210, 2), d(1846, 2), d(0, 0))),
            (false, 1, d(100, 0), (d(10, 0), d(1890, 2), d(0, 0))),
            (false, 2, d(100, 0), (d(1210, 2), d(21, 0), d(0, 0))),
            (false, 3, d(100, 0), (d(10, 0), d(21, 0), d(0, 0))),
            (true, 0, d(121, 0), (d(1210, 2), d(1890, 2), d(210, 2))),
            (true, 1, d(121, 0), (d(10, 0), d(1926, 2), d(174, 2))),
            (true, 2, d(121, 0), (d(1210, 2), d(21, 0), d(0, 0))),
            (true, 3, d(121, 0), (d(10, 0), d(21, 0), d(0, 0))),
        ];
        for (incl, k, unit, want) in cases {
            let a = amounts(
                unit,
                Decimal::ONE,
                Decimal::from(21),
                incl,
                Decimal::TEN,
                TaxSetting::ALL[k],
            );
            assert_eq!((a.discount, a.tax, a.dtc), want, "incl {incl}, setting {k}");
            assert_eq!((a.row_total, a.row_incl), (d(100, 0), d(121, 0)));
        }
    }
}
