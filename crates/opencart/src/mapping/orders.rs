//! Orders: the bridge's order, its lines, taxes and totals as a canonical order.

use std::collections::BTreeMap;

use koppel_core::model::round_money;
use koppel_core::{
    Address, Charge, CountryCode, Currency, Customer, Order, OrderLine, Record, Rejection, Sku, TaxMode,
    VatRounding,
};
use rust_decimal::Decimal;

use super::text;
use crate::models::{WireAddress, WireLine, WireOrder, WireTaxRate};

/// How orders are read: which column is the SKU, the model fallback, the currency.
#[derive(Debug, Clone)]
pub struct OrderRules {
    /// Use the product's model when its SKU is empty.
    pub sku_fallback_model: bool,
    /// The shop's default currency.
    pub currency: Currency,
    /// The SKU column is `model`.
    pub key_is_model: bool,
}

/// An order address as a canonical address; `None` when it has no street, city or country.
pub fn address(a: &WireAddress, phone: Option<String>) -> Address {
    Address {
        first_name: text(&a.firstname),
        last_name: text(&a.lastname),
        company: text(&a.company),
        street: [text(&a.address_1), text(&a.address_2)]
            .into_iter()
            .flatten()
            .collect(),
        postcode: text(&a.postcode).unwrap_or_default(),
        city: text(&a.city).unwrap_or_default(),
        region: text(&a.zone),
        country: a.iso_code_2.as_deref().and_then(|c| CountryCode::new(c).ok()),
        phone,
    }
}

/// The VAT part of a line's unit tax: which rates of the product's tax class produced the
/// stored unit tax. Rates are grouped by geo zone (one zone applies to an order); the zone whose
/// percentage rates on the price plus fixed amounts give the stored tax (to OpenCart's 4
/// decimals) is the one used. Returns (VAT percentage, fixed amount per unit).
pub fn split_unit_tax(price: Decimal, tax: Decimal, rates: &[WireTaxRate]) -> Option<(Decimal, Decimal)> {
    unit_tax_zone(price, tax, rates).map(|zone| zone_sums(&zone))
}

/// The rates of the geo zone that produced a line's stored unit tax (see [`split_unit_tax`]);
/// none for a line without tax.
fn unit_tax_zone(price: Decimal, tax: Decimal, rates: &[WireTaxRate]) -> Option<Vec<&WireTaxRate>> {
    if tax.is_zero() {
        return Some(Vec::new());
    }
    let mut zones: BTreeMap<u32, Vec<&WireTaxRate>> = BTreeMap::new();
    for r in rates {
        zones.entry(r.geo_zone_id).or_default().push(r);
    }
    let tolerance = Decimal::new(1, 4);
    zones.into_values().find(|zone| {
        let (pct, fixed) = zone_sums(zone);
        (price * pct / Decimal::ONE_HUNDRED + fixed - tax).abs() <= tolerance
    })
}

/// A zone's percentage rates and fixed amounts, each summed.
fn zone_sums(zone: &[&WireTaxRate]) -> (Decimal, Decimal) {
    let sum = |kind: &str| zone.iter().filter(|r| r.kind == kind).map(|r| r.rate).sum();
    (sum("P"), sum("F"))
}

/// A fixed-amount rate's name, as the order's fee is described.
fn fixed_rate_name(r: &WireTaxRate) -> String {
    r.name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map_or_else(|| "Fixed tax".to_owned(), str::to_owned)
}

/// The VAT percentages a tax class can charge: per class and geo zone, the sum of its
/// percentage rates (what `tax->getRates` applies to an amount of that class).
fn class_rates(classes: &BTreeMap<String, Vec<WireTaxRate>>) -> Vec<Decimal> {
    let mut out = Vec::new();
    for rates in classes.values() {
        let mut zones: BTreeMap<u32, Decimal> = BTreeMap::new();
        for r in rates.iter().filter(|r| r.kind == "P") {
            *zones.entry(r.geo_zone_id).or_default() += r.rate;
        }
        out.extend(zones.into_values());
    }
    out
}

/// Spreads an order's coupon over its lines as OpenCart's coupon total does for a coupon on all
/// products (catalog/model/extension/total/coupon.php `getTotal`, 3.0 and 4.x): each line's
/// share is `coupon x line total / sub-total`, kept with OpenCart's 4 decimals (the last line
/// takes the remainder, so the shares add up to the coupon row), its `discount`; `row_total`
/// drops by it and `tax` by its VAT percentage x the share, unrounded. Done only when the result
/// explains the order's VAT rows (`vat_total`): what they hold beyond the lines' VAT is nothing
/// or the shipping's VAT at one of the shop's rates (`rates`). A coupon on some products only or
/// with free shipping does not, and is left to the caller (an order-level discount); returns
/// whether the coupon was spread.
fn spread_coupon(
    lines: &mut [OrderLine],
    coupon: Decimal,
    vat_total: Decimal,
    shipping: Decimal,
    rates: &[Decimal],
) -> bool {
    let base: Decimal = lines.iter().map(|l| l.row_total).sum();
    if coupon <= Decimal::ZERO || base <= Decimal::ZERO || coupon > base {
        return false;
    }
    let mut shares: Vec<Decimal> = lines
        .iter()
        .map(|l| (coupon * l.row_total / base).round_dp(4))
        .collect();
    if let Some(last) = shares.len().checked_sub(1) {
        shares[last] = coupon - shares[..last].iter().copied().sum::<Decimal>();
    }
    let taxes: Vec<Option<Decimal>> = lines
        .iter()
        .zip(&shares)
        .map(|(l, share)| {
            l.tax
                .map(|t| t - l.vat_percentage.unwrap_or_default() / Decimal::ONE_HUNDRED * share)
        })
        .collect();
    let beyond = vat_total - taxes.iter().flatten().copied().sum::<Decimal>();
    // the tax rows are stored with 4 decimals, each a sum of 4-decimal unit taxes
    let tolerance = Decimal::new(1, 4) * Decimal::from(lines.len() + 2);
    let explained = beyond.abs() <= tolerance
        || (shipping > Decimal::ZERO
            && rates
                .iter()
                .any(|p| (beyond - shipping * p / Decimal::ONE_HUNDRED).abs() <= tolerance));
    if !explained {
        return false;
    }
    for ((l, share), tax) in lines.iter_mut().zip(shares).zip(taxes) {
        l.discount = share;
        l.row_total -= share;
        l.tax = tax;
    }
    true
}

fn line_sku(l: &WireLine, rules: &OrderRules) -> Option<Sku> {
    let primary = if rules.key_is_model {
        &l.product_model
    } else {
        &l.sku
    };
    if let Some(s) = text(primary) {
        return Sku::new(s).ok();
    }
    if rules.sku_fallback_model {
        // OpenCart's sample products have an empty SKU: the model names them.
        if let Some(m) = text(&l.product_model).or_else(|| text(&l.model)) {
            return Sku::new(m).ok();
        }
    }
    None
}

/// Maps an order. Fixed-amount taxes (an eco tax: `oc_tax_rate.type = 'F'`, a `tax` row of
/// `oc_order_total` like the VAT rates) are not VAT and carry none (tax.php adds them beside the
/// percentage rates, which are taken on the price alone): they are the order's
/// [`Order::fees`], one per fixed rate's name, and only the percentage part is the line's `tax`. Line tax is the shop's unit
/// VAT x quantity, unrounded as OpenCart sums it (per-total rounding); the grand total is
/// `total` rounded to cents as OpenCart's currency format charges it. Shipping's VAT is what the
/// order's VAT rows hold beyond the lines'. A coupon is spread over the lines as OpenCart
/// reduced their VAT (`spread_coupon`) when that explains the VAT rows, else it is an
/// order-level discount like vouchers, reward points and store credit. 4.x's checkout may ask
/// only a shipping address: the order is then billed to it.
pub fn order(w: &WireOrder, rules: &OrderRules) -> Result<Order, Rejection> {
    let label = format!("order {}", w.order_id);
    let fail = |field: &str, msg: String| Rejection::new(label.clone(), Some(field), msg);
    let phone = text(&w.telephone);
    let shipping = w.shipping_address.as_ref().map(|a| address(a, phone.clone()));
    let billing = match (&w.payment_address, &shipping) {
        (Some(p), _) => address(p, phone.clone()),
        (None, Some(s)) => s.clone(),
        (None, None) => {
            return Err(fail(
                "billing",
                "the order has neither a payment nor a shipping address".into(),
            ))
        }
    };
    let mut lines = Vec::with_capacity(w.lines.len());
    let mut line_vat_exact = Decimal::ZERO;
    let mut fixed_total = Decimal::ZERO;
    // fixed-amount taxes by name, in the order they first appear
    let mut fixed_fees: Vec<(String, Decimal)> = Vec::new();
    for (i, l) in w.lines.iter().enumerate() {
        let qty = Decimal::from(l.quantity);
        let sku = line_sku(l, rules);
        if sku.is_none() {
            return Err(fail(
                &format!("lines[{i}].sku"),
                match l.product_id.filter(|_| l.product_model.is_some()) {
                    Some(p) => format!(
                        "product {p} has no SKU{}",
                        if rules.sku_fallback_model {
                            " and no model"
                        } else {
                            " (sku_fallback_model is off)"
                        }
                    ),
                    None => format!(
                        "the product of {:?} is no longer in the shop and the line has no model",
                        l.name.as_deref().unwrap_or("")
                    ),
                },
            ));
        }
        let rates: &[WireTaxRate] = l
            .tax_class_id
            .and_then(|c| w.tax_rates.get(&c.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let Some(zone) = unit_tax_zone(l.price, l.tax, rates) else {
            return Err(fail(
                &format!("lines[{i}].tax"),
                format!(
                    "unit tax {} on price {} matches no rate of the product's tax class {:?} (was the product or its class changed?)",
                    l.tax, l.price, l.tax_class_id
                ),
            ));
        };
        let (pct, fixed) = zone_sums(&zone);
        let unit_vat = l.tax - fixed;
        line_vat_exact += unit_vat * qty;
        fixed_total += fixed * qty;
        for r in zone.iter().filter(|r| r.kind == "F") {
            let name = fixed_rate_name(r);
            match fixed_fees.iter_mut().find(|(n, _)| *n == name) {
                Some((_, sum)) => *sum += r.rate * qty,
                None => fixed_fees.push((name, r.rate * qty)),
            }
        }
        lines.push(OrderLine {
            sku,
            name: text(&l.name).unwrap_or_default(),
            quantity: qty,
            unit_price: l.price,
            vat_percentage: Some(pct.normalize()),
            discount: Decimal::ZERO,
            row_total: l.total,
            tax: Some(unit_vat * qty),
            tax_base: None,
        });
    }
    let sum = |code: &str| -> Decimal { w.totals.iter().filter(|t| t.code == code).map(|t| t.value).sum() };
    let tax_rows = sum("tax");
    let vat_total = tax_rows - fixed_total;
    let shipping_amount = sum("shipping");
    let coupon = -sum("coupon");
    let spread = spread_coupon(
        &mut lines,
        coupon,
        vat_total,
        shipping_amount,
        &class_rates(&w.tax_rates),
    );
    if spread {
        line_vat_exact = lines.iter().filter_map(|l| l.tax).sum();
    }
    let fees = sum("handling") + sum("low_order_fee");
    let residual = (vat_total - line_vat_exact).max(Decimal::ZERO);
    let charge = |description: String, amount: Decimal, tax: Decimal| Charge {
        description,
        amount,
        vat_percentage: (!amount.is_zero())
            .then(|| (tax / amount * Decimal::ONE_HUNDRED).round_dp(2).normalize()),
        tax: Some(tax),
    };
    let shipping_title = w
        .totals
        .iter()
        .find(|t| t.code == "shipping")
        .and_then(|t| text(&t.title))
        .or_else(|| w.shipping_method.as_ref().and_then(|m| text(&m.name)))
        .unwrap_or_else(|| "Shipping".into());
    let (shipping_cost, payment_cost) = if shipping_amount > Decimal::ZERO {
        (
            Some(charge(shipping_title, shipping_amount, residual)),
            (fees > Decimal::ZERO).then(|| charge("Handling".into(), fees, Decimal::ZERO)),
        )
    } else {
        (
            None,
            (fees > Decimal::ZERO).then(|| charge("Handling".into(), fees, residual)),
        )
    };
    // Vouchers, reward points and store credit (and a coupon not spread over the lines) are
    // negative rows: an order-level discount, which reduces no VAT.
    let discount =
        -(sum("voucher") + sum("reward") + sum("credit")) + if spread { Decimal::ZERO } else { coupon };
    // What the customer was charged: currency.php format rounds half up to the currency's
    // decimal places (2 for EUR, the only currency SnelStart books).
    let grand_total = round_money(
        w.totals
            .iter()
            .find(|t| t.code == "total")
            .map(|t| t.value)
            .unwrap_or(w.total),
        2,
    );
    let email = text(&w.email);
    let customer = Customer {
        key: if w.customer_id > 0 {
            w.customer_id.to_string()
        } else {
            format!(
                "guest:{}",
                email.clone().unwrap_or_else(|| format!("order-{}", w.order_id))
            )
        },
        email,
        first_name: text(&w.firstname),
        last_name: text(&w.lastname),
        company: billing.company.clone(),
        phone,
        vat_number: None,
        kvk_number: None,
        billing: Some(billing.clone()),
        shipping: shipping.clone(),
        is_guest: w.customer_id == 0,
        modified: w.date_modified,
    };
    let created_at = w
        .date_added
        .or(w.date_modified)
        .ok_or_else(|| fail("date_added", "missing".into()))?;
    let o = Order {
        number: w.order_id.to_string(),
        source_id: Some(w.order_id.to_string()),
        created_at,
        modified: w.date_modified,
        status: text(&w.order_status).unwrap_or_else(|| w.order_status_id.to_string()),
        currency: rules.currency.clone(),
        tax_mode: TaxMode::Exclusive,
        customer,
        billing,
        shipping,
        lines,
        shipping_cost,
        payment_cost,
        fees: fixed_fees
            .into_iter()
            .map(|(description, amount)| Charge {
                description,
                amount,
                vat_percentage: Some(Decimal::ZERO),
                tax: Some(Decimal::ZERO),
            })
            .collect(),
        discount: discount.max(Decimal::ZERO),
        payment_method: w
            .payment_method
            .as_ref()
            .and_then(|m| text(&m.code).or_else(|| text(&m.name))),
        grand_total,
        tax_total: round_money(vat_total, 2),
        vat_rounding: VatRounding::PerTotal,
        replaces: Vec::new(),
        cancelled: false,
        note: None,
    };
    o.validate().map_err(Rejection::from)?;
    Ok(o)
}
