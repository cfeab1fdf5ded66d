//! Unit tests of the mapping.

use koppel_core::{Currency, TaxMode, VatRounding};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

use super::*;
use crate::models::{WireOrder, WireTaxRate};

fn rate(kind: &str, rate: Decimal, zone: u32) -> WireTaxRate {
    WireTaxRate {
        name: None,
        rate,
        kind: kind.into(),
        geo_zone_id: zone,
    }
}

#[test]
fn unit_tax_splits_into_vat_and_fixed_amounts() {
    let eco = [rate("F", dec!(2), 3), rate("P", dec!(21), 3)];
    assert_eq!(
        split_unit_tax(dec!(100), dec!(23), &eco),
        Some((dec!(21), dec!(2)))
    );
    // the per-unit tax OpenCart stored with 4 decimals: 4.5 x 9 % = 0.405
    assert_eq!(
        split_unit_tax(dec!(4.5), dec!(0.405), &[rate("P", dec!(9), 3)]),
        Some((dec!(9), dec!(0)))
    );
    // 8.2645 x 21 % = 1.735545, stored as 1.7355
    assert!(split_unit_tax(dec!(8.2645), dec!(1.7355), &[rate("P", dec!(21), 3)]).is_some());
    // two zones: the one whose rates give the stored tax
    let zones = [rate("P", dec!(21), 3), rate("P", dec!(19), 4)];
    assert_eq!(
        split_unit_tax(dec!(10), dec!(1.9), &zones),
        Some((dec!(19), dec!(0)))
    );
    assert_eq!(split_unit_tax(dec!(10), dec!(1.5), &zones), None);
    assert_eq!(split_unit_tax(dec!(10), dec!(0), &[]), Some((dec!(0), dec!(0))));
}

/// OpenCart keeps the unit tax unrounded (30.74 x 21 % = 6.4554), sums unit tax x quantity
/// unrounded (12.9108) and rounds only the charged total (80.3803 -> 80.38): per-total.
#[test]
fn orders_keep_opencarts_unrounded_tax_and_round_the_charged_total() {
    let w: WireOrder = serde_json::from_value(json!({
        "order_id": 2, "customer_id": 0, "email": "gast2@example.nl", "order_status_id": 2,
        "date_added": "2026-01-05T08:07:00Z", "date_modified": "2026-01-05T08:07:00Z", "total": "80.3803",
        "shipping_address": {"firstname": "Jan", "lastname": "Koper", "address_1": "Kerkstraat 2",
            "city": "Gent", "postcode": "9000", "iso_code_2": "BE"},
        "lines": [{"order_product_id": 20, "product_id": 1000, "name": "Bonen", "model": "KOF-1",
            "quantity": 2, "price": "30.7400", "total": "61.4800", "tax": "6.4554", "sku": "KOF-1",
            "product_model": "KOF-1", "tax_class_id": 9, "options": []}],
        "totals": [
            {"code": "sub_total", "title": "Sub-Total", "value": "61.4800", "sort_order": 1},
            {"code": "shipping", "title": "Flat Shipping Rate", "value": "4.9500", "sort_order": 3},
            {"code": "tax", "title": "BTW 21%", "value": "13.9503", "sort_order": 5},
            {"code": "total", "title": "Total", "value": "80.3803", "sort_order": 9}],
        "tax_rates": {"9": [{"tax_rate_id": 86, "name": "BTW 21%", "rate": "21.0000", "type": "P", "geo_zone_id": 3}]}
    }))
    .unwrap();
    let rules = OrderRules {
        sku_fallback_model: true,
        currency: Currency::eur(),
        key_is_model: false,
    };
    let o = order(&w, &rules).unwrap();
    assert_eq!(o.vat_rounding, VatRounding::PerTotal);
    assert_eq!(o.lines[0].tax, Some(dec!(12.9108)));
    assert_eq!(o.shipping_cost.as_ref().unwrap().tax, Some(dec!(1.0395)));
    assert_eq!(o.grand_total, dec!(80.38));
    let hoog = koppel_core::VatRate::new(dec!(21), Some(koppel_core::VatKind::Hoog)).unwrap();
    let shop = koppel_core::vat::ShopVat::of_line(&o.lines[0]);
    let row = shop.row.unwrap();
    assert!(koppel_core::vat::explains(
        &hoog,
        &row,
        TaxMode::Exclusive,
        o.vat_rounding
    ));
    // per unit (round(6.4554) x 2 = 12.92) it would not be explained: the old false quarantine
    assert!(!koppel_core::vat::explains(
        &hoog,
        &row,
        TaxMode::Exclusive,
        VatRounding::PerUnit
    ));
}

#[test]
fn keywords_and_units() {
    assert_eq!(
        keyword("Koffie Bonen 1kg!", "KOF-001"),
        "koffie-bonen-1kg-kof-001"
    );
    assert_eq!(whole_units("stock A", dec!(7)).unwrap(), 7);
    assert_eq!(whole_units("stock A", dec!(7.00)).unwrap(), 7);
    assert_eq!(whole_units("stock A", dec!(-3)).unwrap(), -3);
    assert_eq!(
        whole_units("stock A", dec!(1.5)).unwrap_err().field.as_deref(),
        Some("quantity")
    );
}

/// A fixed-amount tax (OpenCart's sample "Eco Tax (-2.00)", `type = 'F'`) is not VAT and
/// carries none: a fee of its own per rate name, while the line keeps its price excl. VAT and
/// only the percentage part as its tax, so the line's VAT is explained on its own amount.
#[test]
fn fixed_taxes_are_fees_without_vat_beside_the_line() {
    let w: WireOrder = serde_json::from_value(json!({
        "order_id": 7, "customer_id": 0, "email": "gast7@example.nl", "order_status_id": 2,
        "date_added": "2026-01-05T08:07:00Z", "date_modified": "2026-01-05T08:07:00Z", "total": "246.0000",
        "shipping_address": {"firstname": "Jan", "lastname": "Koper", "address_1": "Kerkstraat 2",
            "city": "Utrecht", "postcode": "3511", "iso_code_2": "NL"},
        "lines": [{"order_product_id": 70, "product_id": 52, "name": "Eco lamp", "model": "ECO-1",
            "quantity": 2, "price": "100.0000", "total": "200.0000", "tax": "23.0000", "sku": "ECO-1",
            "product_model": "ECO-1", "tax_class_id": 11, "options": []}],
        "totals": [
            {"code": "sub_total", "title": "Sub-Total", "value": "200.0000", "sort_order": 1},
            {"code": "tax", "title": "Eco Tax (-2.00)", "value": "4.0000", "sort_order": 5},
            {"code": "tax", "title": "BTW 21%", "value": "42.0000", "sort_order": 5},
            {"code": "total", "title": "Total", "value": "246.0000", "sort_order": 9}],
        "tax_rates": {"11": [
            {"tax_rate_id": 87, "name": "Eco Tax (-2.00)", "rate": "2.0000", "type": "F", "geo_zone_id": 3},
            {"tax_rate_id": 86, "name": "BTW 21%", "rate": "21.0000", "type": "P", "geo_zone_id": 3}]}
    }))
    .unwrap();
    let rules = OrderRules {
        sku_fallback_model: true,
        currency: Currency::eur(),
        key_is_model: false,
    };
    let o = order(&w, &rules).unwrap();
    let l = &o.lines[0];
    assert_eq!(
        (l.unit_price, l.row_total, l.tax),
        (dec!(100), dec!(200), Some(dec!(42)))
    );
    assert_eq!(o.fees.len(), 1);
    let fee = &o.fees[0];
    assert_eq!(fee.description, "Eco Tax (-2.00)");
    assert_eq!(
        (fee.amount, fee.tax, fee.vat_percentage),
        (dec!(4), Some(dec!(0)), Some(dec!(0)))
    );
    assert_eq!((o.tax_total, o.grand_total), (dec!(42), dec!(246)));
    // lines + VAT + fees = what the customer paid
    assert_eq!(l.row_total + l.tax.unwrap() + fee.amount, o.grand_total);
    let hoog = koppel_core::VatRate::new(dec!(21), Some(koppel_core::VatKind::Hoog)).unwrap();
    let row = koppel_core::vat::ShopVat::of_line(l).row.unwrap();
    assert!(koppel_core::vat::explains(
        &hoog,
        &row,
        TaxMode::Exclusive,
        o.vat_rounding
    ));
}

/// An order of a 21 % and a 9 % line with `coupon` (negative) and the given tax rows, as
/// OpenCart's checkout stores it.
fn coupon_order(coupon: &str, tax21: &str, tax9: &str, total: &str, extra: serde_json::Value) -> WireOrder {
    let mut totals = vec![
        json!({"code": "sub_total", "title": "Sub-Total", "value": "100.3300", "sort_order": 1}),
        json!({"code": "shipping", "title": "Flat Shipping Rate", "value": "4.9500", "sort_order": 3}),
        json!({"code": "coupon", "title": "Coupon (KORTING10)", "value": coupon, "sort_order": 4}),
        json!({"code": "tax", "title": "BTW 21%", "value": tax21, "sort_order": 5}),
        json!({"code": "tax", "title": "BTW 9%", "value": tax9, "sort_order": 5}),
        json!({"code": "total", "title": "Total", "value": total, "sort_order": 9}),
    ];
    if !extra.is_null() {
        totals.insert(3, extra);
    }
    serde_json::from_value(json!({
        "order_id": 31, "customer_id": 0, "email": "gast31@example.nl", "order_status_id": 2,
        "date_added": "2026-01-05T11:30:00Z", "date_modified": "2026-01-05T11:30:00Z", "total": total,
        "shipping_address": {"firstname": "Jan", "lastname": "Koper", "address_1": "Kerkstraat 31",
            "city": "Utrecht", "postcode": "3511 AB", "iso_code_2": "NL"},
        "lines": [
            {"order_product_id": 310, "product_id": 1000, "name": "Waterkoker", "model": "KP-0002",
                "quantity": 2, "price": "30.7400", "total": "61.4800", "tax": "6.4554", "sku": "KP-0002",
                "product_model": "KP-0002", "tax_class_id": 9, "options": []},
            {"order_product_id": 311, "product_id": 1001, "name": "Thee", "model": "KP-0003",
                "quantity": 3, "price": "12.9500", "total": "38.8500", "tax": "1.1655", "sku": "KP-0003",
                "product_model": "KP-0003", "tax_class_id": 12, "options": []}],
        "totals": totals,
        "tax_rates": {
            "9": [{"tax_rate_id": 86, "name": "BTW 21%", "rate": "21.0000", "type": "P", "geo_zone_id": 3}],
            "12": [{"tax_rate_id": 88, "name": "BTW 9%", "rate": "9.0000", "type": "P", "geo_zone_id": 3}]}
    }))
    .unwrap()
}

fn rules() -> OrderRules {
    OrderRules {
        sku_fallback_model: true,
        currency: Currency::eur(),
        key_is_model: false,
    }
}

/// coupon.php: a fixed 10.00 coupon on all products is spread by the products' totals (61.48 and
/// 38.85 of 100.33: 6.1278 and 3.8722) and each rate's tax row is reduced by rate x share,
/// unrounded (21 %: 13.9503 - 1.2868... = 12.6635; 9 %: 3.4965 - 0.3485 = 3.1480). The lines
/// carry the discount, so each rate's VAT is booked on its own lines.
#[test]
fn a_coupon_on_all_products_is_spread_over_the_lines_at_their_rates() {
    let w = coupon_order(
        "-10.0000",
        "12.6635",
        "3.1480",
        "111.0915",
        serde_json::Value::Null,
    );
    let o = order(&w, &rules()).unwrap();
    assert_eq!(o.discount, dec!(0), "the coupon is on the lines");
    let (a, b) = (&o.lines[0], &o.lines[1]);
    assert_eq!((a.discount, a.row_total), (dec!(6.1278), dec!(55.3522)));
    assert_eq!((b.discount, b.row_total), (dec!(3.8722), dec!(34.9778)));
    assert_eq!(a.discount + b.discount, dec!(10));
    // unit tax x quantity less rate x share, unrounded
    assert_eq!(a.tax, Some(dec!(11.623962)));
    assert_eq!(b.tax, Some(dec!(3.148002)));
    let ship = o.shipping_cost.as_ref().unwrap();
    assert_eq!(ship.tax, Some(dec!(1.039536)));
    assert_eq!(ship.vat_percentage, Some(dec!(21)));
    // VAT per rate as the shop's tax rows charged it, to the cent
    let vat21 = round_cents(a.tax.unwrap() + ship.tax.unwrap());
    let vat9 = round_cents(b.tax.unwrap());
    assert_eq!((vat21, vat9), (dec!(12.66), dec!(3.15)));
    assert_eq!(
        (round_cents(dec!(12.6635)), round_cents(dec!(3.1480))),
        (vat21, vat9)
    );
    // excl. amounts + VAT per rate = what the customer paid
    assert_eq!(o.grand_total, dec!(111.09));
    assert_eq!(
        a.row_total + b.row_total + ship.amount + vat21 + vat9,
        o.grand_total
    );
    assert_eq!(o.tax_total, dec!(15.81));
    let rate = |p, k| koppel_core::VatRate::new(p, Some(k)).unwrap();
    for (l, r) in [
        (a, rate(dec!(21), koppel_core::VatKind::Hoog)),
        (b, rate(dec!(9), koppel_core::VatKind::Laag)),
    ] {
        let row = koppel_core::vat::ShopVat::of_line(l).row.unwrap();
        assert!(
            koppel_core::vat::explains(&r, &row, TaxMode::Exclusive, o.vat_rounding),
            "{l:?}"
        );
    }
}

fn round_cents(d: Decimal) -> Decimal {
    koppel_core::model::round_money(d, 2)
}

/// A coupon limited to the 9 % product (3.00 off it: only the 9 % row reduced, by 0.27) is not
/// what spreading over every line gives: it stays an order-level discount for the checks to
/// judge; so does a free-shipping coupon, and a voucher beside a spread coupon.
#[test]
fn coupons_spreading_does_not_explain_and_vouchers_stay_order_level() {
    let w = coupon_order(
        "-3.0000",
        "13.9503",
        "3.2265",
        "119.4568",
        serde_json::Value::Null,
    );
    let o = order(&w, &rules()).unwrap();
    assert_eq!(o.discount, dec!(3));
    assert!(o.lines.iter().all(|l| l.discount.is_zero()));
    assert_eq!(
        (o.lines[0].row_total, o.lines[1].row_total),
        (dec!(61.48), dec!(38.85))
    );

    // free shipping (coupon.shipping, no product discount): 4.95 off, the shipping's 1.0395
    // tax removed
    let w = coupon_order(
        "-4.9500",
        "12.9108",
        "3.4965",
        "116.7373",
        serde_json::Value::Null,
    );
    let o = order(&w, &rules()).unwrap();
    assert_eq!(o.discount, dec!(4.95));
    assert!(o.lines.iter().all(|l| l.discount.is_zero()));

    let voucher = json!({"code": "voucher", "title": "Voucher (GIFT)", "value": "-5.0000", "sort_order": 8});
    let w = coupon_order("-10.0000", "12.6635", "3.1480", "106.0915", voucher);
    let o = order(&w, &rules()).unwrap();
    assert_eq!(o.discount, dec!(5), "the voucher reduces no VAT");
    assert_eq!(o.lines[0].discount + o.lines[1].discount, dec!(10));
    assert_eq!(o.grand_total, dec!(106.09));
}
