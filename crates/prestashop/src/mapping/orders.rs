//! Orders in: an order with its details, addresses, customer, country and currency, and the
//! shop's rounding type.

use std::collections::HashMap;

use chrono_tz::Tz;
use koppel_core::{
    Address, Charge, Currency, Customer, Order, OrderLine, Rejection, Sku, TaxMode, VatRounding,
};
use rust_decimal::Decimal;

use crate::models::Obj;

use super::{address_from_wire, money, parse_shop_time, text};

/// What the order mapping looks up: the order's details, addresses, customers, countries and
/// currencies, read per page.
#[derive(Debug, Default)]
pub struct Lookups {
    /// Order id -> its `order_details`.
    pub details: HashMap<u64, Vec<Obj>>,
    /// Address id -> address.
    pub addresses: HashMap<u64, Obj>,
    /// Customer id -> customer.
    pub customers: HashMap<u64, Obj>,
    /// Country id -> ISO code.
    pub countries: HashMap<u64, String>,
    /// Currency id -> ISO code.
    pub currencies: HashMap<u64, String>,
    /// The shop's time zone.
    pub tz: Option<Tz>,
}

/// The VAT rounding of an order from its `round_type` (1 per item, 2 per line, 3 on the total;
/// the shop's `PS_ROUND_TYPE` at the time of the order, PaymentModule::validateOrder).
pub fn vat_rounding(round_type: Option<&str>) -> Result<VatRounding, String> {
    match round_type.map(str::trim) {
        Some("1") => Ok(VatRounding::PerUnit),
        Some("2") | None | Some("") => Ok(VatRounding::PerRow),
        Some("3") => Ok(VatRounding::PerTotal),
        Some(other) => Err(format!("round_type {other:?} is not 1, 2 or 3")),
    }
}

/// Maps an order (list shape, `display=full`).
///
/// Amounts are the shop's tax-included ones: line totals `total_price_tax_incl` of the order
/// details, `total_shipping_tax_incl`, `total_discounts_tax_incl`, `total_paid_tax_incl`. The
/// shop rounded them by its `round_type` (per item, per line, or once on the total, where the
/// line totals keep 6 decimals), so their sum is the shop's total to the cent, and SnelStart,
/// booking the order "inclusief" (it sums the regel totals), arrives at the same total whatever
/// the rounding type. The shop's own VAT goes with each line (`total_price_tax_incl -
/// total_price_tax_excl`), the shipping and the order (`total_paid_tax_incl - _excl`), with the
/// rounding type as `vat_rounding`.
pub fn order_from_wire(o: &Obj, l: &Lookups) -> Result<Order, Rejection> {
    let tz = l.tz.unwrap_or(chrono_tz::Europe::Amsterdam);
    let id = o
        .id("id")
        .map_err(|e| Rejection::new("order ?", Some("id"), e))?
        .ok_or_else(|| Rejection::new("order ?", Some("id"), "missing"))?;
    let number = id.to_string();
    let rec = format!("order {number}");
    let reject = |f: &str, m: String| Rejection::new(rec.as_str(), Some(f), m);
    let time = |k: &str| {
        let raw = o.text(k).unwrap_or_default();
        parse_shop_time(&raw, tz).ok_or_else(|| reject(k, format!("{raw:?} is not a date")))
    };
    let created_at = time("date_add")?;
    let modified = time("date_upd")?;
    let currency_id = o
        .id("id_currency")
        .map_err(|e| reject("currency", e))?
        .unwrap_or(0);
    let currency = l
        .currencies
        .get(&currency_id)
        .ok_or_else(|| {
            reject(
                "currency",
                format!("currency id {currency_id} is not in the shop's currencies"),
            )
        })
        .and_then(|c| Currency::new(c).map_err(|e| reject("currency", e.to_string())))?;
    let wrapping = money(o, "total_wrapping_tax_excl", &rec, "total_wrapping_tax_excl")?;
    if !wrapping.is_zero() {
        return Err(reject(
            "total_wrapping_tax_excl",
            format!(
                "gift wrapping ({wrapping}) has no place in the SnelStart order: book this order by hand"
            ),
        ));
    }
    let vat_rounding = vat_rounding(o.text("round_type").as_deref()).map_err(|e| reject("round_type", e))?;

    let addr = |k: &str, field: &str| -> Result<Option<Address>, Rejection> {
        match o.id(k).map_err(|e| reject(field, e))? {
            None => Ok(None),
            Some(aid) => {
                let a = l
                    .addresses
                    .get(&aid)
                    .ok_or_else(|| reject(field, format!("address {aid} not found")))?;
                address_from_wire(a, &l.countries, &rec, field).map(Some)
            }
        }
    };
    let billing = addr("id_address_invoice", "billing")?
        .ok_or_else(|| reject("billing", "order has no invoice address".into()))?;
    let shipping = addr("id_address_delivery", "shipping")?;

    // lines: the order details (per-line totals and tax rate); the order rows when a detail is
    // missing
    let mut details: Vec<&Obj> = l.details.get(&id).map(|d| d.iter().collect()).unwrap_or_default();
    details.sort_by_key(|d| d.id("id").ok().flatten().unwrap_or(0));
    let rows = o.assoc("order_rows");
    let sources: Vec<&Obj> = if details.is_empty() {
        rows.iter().collect()
    } else {
        details
    };
    let mut lines = Vec::new();
    for (i, d) in sources.iter().enumerate() {
        let f = |x: &str| format!("lines[{i}].{x}");
        let reference = text(d, "product_reference")
            .ok_or_else(|| reject(&f("sku"), "missing (product_reference is empty)".into()))?;
        let sku = Sku::new(reference).map_err(|e| reject(&f("sku"), e.to_string()))?;
        let quantity = money(d, "product_quantity", &rec, &f("quantity"))?;
        let unit_price = money(d, "unit_price_tax_incl", &rec, &f("unit_price"))?;
        let unit_excl = money(d, "unit_price_tax_excl", &rec, &f("unit_price"))?;
        let (row_total, tax) = match (d.dec("total_price_tax_excl"), d.dec("total_price_tax_incl")) {
            (Ok(Some(ex)), Ok(Some(inc))) => (inc.normalize(), Some((inc - ex).normalize())),
            (Err(e), _) | (_, Err(e)) => return Err(reject(&f("row_total"), e)),
            _ => ((quantity * unit_price).normalize(), None),
        };
        let vat_percentage = match d.dec("tax_rate").map_err(|e| reject(&f("vat_percentage"), e))? {
            Some(r) => Some(r.normalize()),
            None => {
                // order rows carry no rate: the unit prices (6 decimals) give it
                (!unit_excl.is_zero()).then(|| {
                    ((unit_price / unit_excl - Decimal::ONE) * Decimal::ONE_HUNDRED)
                        .round_dp(1)
                        .normalize()
                })
            }
        };
        lines.push(OrderLine {
            sku: Some(sku),
            name: text(d, "product_name").unwrap_or_default(),
            quantity,
            unit_price,
            vat_percentage,
            discount: Decimal::ZERO,
            row_total,
            tax,
            tax_base: None,
        });
    }

    let ship_excl = money(o, "total_shipping_tax_excl", &rec, "shipping_cost.amount")?;
    let ship_incl = money(o, "total_shipping_tax_incl", &rec, "shipping_cost.amount")?;
    let shipping_cost = (!ship_excl.is_zero() || !ship_incl.is_zero()).then(|| Charge {
        description: "Verzending".into(),
        amount: ship_incl,
        vat_percentage: o.dec("carrier_tax_rate").ok().flatten().map(|d| d.normalize()),
        tax: Some((ship_incl - ship_excl).normalize()),
    });
    let paid_incl = o
        .dec("total_paid_tax_incl")
        .map_err(|e| reject("grand_total", e))?
        .ok_or_else(|| reject("grand_total", "missing total_paid_tax_incl".into()))?
        .normalize();
    let paid_excl = money(o, "total_paid_tax_excl", &rec, "tax_total")?;
    let discount = money(o, "total_discounts_tax_incl", &rec, "discount")?;

    let customer_id = o.id("id_customer").map_err(|e| reject("customer", e))?;
    let c = customer_id.and_then(|cid| l.customers.get(&cid));
    let is_guest = c.is_none_or(|c| c.text("is_guest").as_deref() == Some("1"));
    let email = c.and_then(|c| text(c, "email"));
    let key = if is_guest {
        let e = email
            .as_ref()
            .ok_or_else(|| reject("customer.email", "guest order without e-mail".into()))?;
        format!("guest:{}", e.to_lowercase())
    } else {
        customer_id.map(|i| i.to_string()).unwrap_or_default()
    };
    let invoice_wire = o
        .id("id_address_invoice")
        .ok()
        .flatten()
        .and_then(|a| l.addresses.get(&a));
    let customer = Customer {
        key,
        email,
        first_name: c
            .and_then(|c| text(c, "firstname"))
            .or_else(|| billing.first_name.clone()),
        last_name: c
            .and_then(|c| text(c, "lastname"))
            .or_else(|| billing.last_name.clone()),
        company: billing
            .company
            .clone()
            .or_else(|| c.and_then(|c| text(c, "company"))),
        phone: billing.phone.clone(),
        vat_number: invoice_wire.and_then(|a| text(a, "vat_number")),
        kvk_number: None,
        billing: Some(billing.clone()),
        shipping: shipping.clone(),
        is_guest,
        modified: if is_guest { Some(modified) } else { None },
    };
    Ok(Order {
        number,
        source_id: Some(id.to_string()),
        created_at,
        modified: Some(modified),
        status: o.text("current_state").unwrap_or_default(),
        currency,
        tax_mode: TaxMode::Inclusive,
        customer,
        billing,
        shipping,
        lines,
        shipping_cost,
        payment_cost: None,
        fees: Vec::new(),
        discount,
        payment_method: text(o, "module"),
        grand_total: paid_incl,
        tax_total: (paid_incl - paid_excl).normalize(),
        vat_rounding,
        replaces: Vec::new(),
        cancelled: false,
        note: None,
    })
}
