//! Orders: wire order -> canonical order (items, shipping, state, edits, currency).

use koppel_core::model::round_money;
use koppel_core::{Charge, Currency, Customer, Order, OrderLine, Rejection, Sku, TaxMode};
use rust_decimal::Decimal;

use crate::models::{WireOrder, WireOrderItem};

use super::{
    address_from_wire, parse_time, reconcile, taxed_before_discount, text, Pick, Reading, RowAmounts, Totals,
};

/// The tax mode order amounts are read in: the shop's catalog price mode.
pub fn order_tax_mode(prices_include_tax: bool) -> TaxMode {
    if prices_include_tax {
        TaxMode::Inclusive
    } else {
        TaxMode::Exclusive
    }
}

/// Maps an order. Amounts are taken in `tax_mode` (incl. amounts when inclusive), in the
/// shop's base currency when that is EUR (see below). Rules, from Magento's own calculation
/// (`Magento\Tax\Model\Calculation\AbstractAggregateCalculator`, `Magento\SalesRule`):
/// - **Rows and discounts.** An item's `row_total` / `row_total_incl_tax` is the row *before*
///   its `discount_amount` under every tax setting; its `tax_amount` is the VAT after the
///   discount when `tax/calculation/apply_after_discount` is on (else before); an incl.-VAT
///   discount (`tax/calculation/discount_tax`, or catalogue prices incl. VAT) leaves the VAT
///   it removes in `discount_tax_compensation_amount`. So the row after discount is
///   `row_total - discount_amount + discount_tax_compensation_amount` excl. VAT, plus
///   `tax_amount` incl. VAT (Magento's own "Row Total" column in the admin order view), and
///   the order's `grand_total = subtotal + shipping_amount + discount_amount (negative) +
///   tax_amount + discount_tax_compensation_amount + shipping_discount_tax_compensation_amount`.
///   Catalogue price rules lower `price` itself and leave no discount on the row. The lines
///   carry their discount; see [`reconcile`] for the readings tried and the quarantine when
///   none gives `grand_total`.
/// - **Items.** A configurable's child row is skipped and the parent becomes one line with the
///   child's SKU; a bundle whose children carry the prices (dynamic price) becomes one line per
///   child and its parent row (the children's sum) is skipped; a fixed-price bundle is one line
///   with the bundle's SKU and its zero-priced children are skipped; grouped products are
///   plain rows already.
/// - **Shipping** becomes a charge of `shipping_amount - shipping_discount_amount +
///   shipping_discount_tax_compensation_amount` (plus `shipping_tax_amount` incl. VAT) when
///   that is not zero; its VAT percentage is the line rate that explains its tax.
/// - **State.** `state` (not the custom `status`) decides: `canceled` marks the order
///   cancelled. An edit (`relation_parent_real_id`, `original_increment_id`) replaces its
///   parent, nearest first.
/// - **Currency.** With base currency EUR the `base_*` amounts are booked and the order
///   currency and its grand total go in the note; otherwise the order currency's amounts.
/// - A guest's key is `guest:<e-mail lower-cased>`, a registered customer's the customer id.
pub fn order_from_wire(o: &WireOrder, tax_mode: TaxMode) -> Result<Order, Rejection> {
    let number = text(&o.increment_id).ok_or_else(|| {
        Rejection::new(
            format!("order entity {}", o.entity_id),
            Some("number"),
            "missing increment_id",
        )
    })?;
    let record = format!("order {number}");
    let rec = record.as_str();
    let reject = |field: &str, msg: String| Rejection::new(rec, Some(field), msg);

    let created_at = o
        .created_at
        .as_deref()
        .and_then(parse_time)
        .ok_or_else(|| reject("created_at", format!("not a time: {:?}", o.created_at)))?;
    let modified = o.updated_at.as_deref().and_then(parse_time);
    let code = |v: &Option<String>, field: &str| -> Result<Option<Currency>, Rejection> {
        text(v)
            .map(|c| Currency::new(&c).map_err(|e| reject(field, e.to_string())))
            .transpose()
    };
    let order_currency = code(&o.order_currency_code, "currency")?.unwrap_or_else(Currency::eur);
    let base_currency =
        code(&o.base_currency_code, "base_currency_code")?.unwrap_or_else(|| order_currency.clone());
    // Book the base amounts when the base currency is EUR (the administration's); an order
    // placed in EUR in a shop with another base currency is booked in its own amounts.
    let use_base = base_currency == Currency::eur() && order_currency != base_currency;
    let currency = if use_base {
        base_currency.clone()
    } else {
        order_currency.clone()
    };
    let pick = Pick {
        base: use_base,
        record: rec,
    };

    let billing_wire = o
        .billing_address
        .as_ref()
        .ok_or_else(|| reject("billing", "order has no billing address".into()))?;
    let billing = address_from_wire(billing_wire, rec, "billing")?;
    let shipping = match o
        .extension_attributes
        .as_ref()
        .and_then(|e| e.shipping_assignments.first())
        .and_then(|s| s.shipping.as_ref())
        .and_then(|s| s.address.as_ref())
    {
        Some(a) => Some(address_from_wire(a, rec, "shipping")?),
        None => None,
    };

    let mut rows = Vec::new();
    for (i, item) in priced_items(&o.items) {
        let idx = rows.len();
        let field = |f: &str| format!("lines[{idx}].{f}");
        let child = match (item.product_type.as_deref(), item.item_id) {
            (Some("configurable"), Some(id)) => o.items.iter().find(|x| x.parent_item_id == Some(id)),
            _ => None,
        };
        let sku_text = child
            .and_then(|c| text(&c.sku))
            .or_else(|| text(&item.sku))
            .ok_or_else(|| reject(&field("sku"), "missing".into()))?;
        let sku = Sku::new(sku_text).map_err(|e| reject(&field("sku"), e.to_string()))?;
        let quantity = item
            .qty_ordered
            .ok_or_else(|| reject(&field("quantity"), "missing".into()))?;
        let at = format!("items[{i}]");
        let row = RowAmounts::of(item, &pick, &at, quantity)?;
        rows.push((
            sku,
            text(&item.name).unwrap_or_default(),
            quantity,
            item.tax_percent,
            row,
        ));
    }

    let totals = Totals::of(o, &pick)?;
    let reading = reconcile(&rows, &totals, rec)?;
    let incl = tax_mode == TaxMode::Inclusive;
    let lines: Vec<OrderLine> = rows
        .iter()
        .map(|(sku, name, quantity, vat, r)| {
            let (gross, net) = reading.row(r, incl);
            let tax_base = taxed_before_discount(r, *vat, reading);
            OrderLine {
                sku: Some(sku.clone()),
                name: name.clone(),
                quantity: *quantity,
                unit_price: if incl { r.price_incl } else { r.price },
                vat_percentage: *vat,
                discount: (gross - net).max(Decimal::ZERO),
                row_total: net,
                tax: Some(r.tax),
                tax_base,
            }
        })
        .collect();

    // an order-level discount covers the shipping discount too
    let ship_excl = if reading == Reading::OrderLevel {
        totals.shipping
    } else {
        totals.shipping_net_excl()
    };
    let ship_amount = if incl {
        ship_excl + totals.shipping_tax
    } else {
        ship_excl
    };
    let shipping_cost = (!ship_amount.is_zero()).then(|| Charge {
        description: text(&o.shipping_description).unwrap_or_else(|| "Shipping".into()),
        amount: ship_amount,
        vat_percentage: shipping_vat(ship_excl, totals.shipping_tax, &lines),
        tax: Some(totals.shipping_tax),
    });
    let discount = match reading {
        Reading::OrderLevel => {
            if incl {
                totals.discount
            } else {
                totals.discount - totals.dtc
            }
        }
        _ => Decimal::ZERO,
    };

    let guest = o.customer_is_guest || o.customer_id.is_none();
    let email = text(&o.customer_email).or_else(|| text(&billing_wire.email));
    let key = if guest {
        let e = email
            .as_ref()
            .ok_or_else(|| reject("customer.email", "guest order without e-mail".into()))?;
        format!("guest:{}", e.to_lowercase())
    } else {
        o.customer_id.map(|id| id.to_string()).unwrap_or_default()
    };
    let customer = Customer {
        key,
        email,
        first_name: text(&o.customer_firstname).or_else(|| billing.first_name.clone()),
        last_name: text(&o.customer_lastname).or_else(|| billing.last_name.clone()),
        company: billing.company.clone(),
        phone: billing.phone.clone(),
        vat_number: text(&o.customer_taxvat).or_else(|| text(&billing_wire.vat_id)),
        kvk_number: None,
        billing: Some(billing.clone()),
        shipping: shipping.clone(),
        is_guest: guest,
        modified: if guest { modified } else { None },
    };

    let note = (order_currency != currency).then(|| {
        let total = o.grand_total.unwrap_or_default();
        let rate = o
            .base_to_order_rate
            .map(|r| format!(" (koers {})", r.normalize()))
            .unwrap_or_default();
        format!(
            "Besteld in {order_currency}: totaal {order_currency} {total:.2}{rate}; geboekt in {currency} (basisvaluta van de webshop)"
        )
    });

    Ok(Order {
        number: number.clone(),
        source_id: Some(o.entity_id.to_string()),
        created_at,
        modified,
        status: text(&o.status).unwrap_or_default(),
        currency,
        tax_mode,
        customer,
        billing,
        shipping,
        lines,
        shipping_cost,
        payment_cost: None,
        fees: Vec::new(),
        discount,
        payment_method: o.payment.as_ref().and_then(|p| text(&p.method)),
        grand_total: totals.grand_total,
        tax_total: totals.tax,
        vat_rounding: Default::default(),
        replaces: predecessors(o, &number),
        cancelled: order_state(o).as_deref() == Some("canceled"),
        note,
    })
}

/// The order's state: `state`, else the state a core status belongs to (Magento's
/// `sales_order_status_state`; a custom status always comes with its state on the order).
pub fn order_state(o: &WireOrder) -> Option<String> {
    text(&o.state).map(|s| s.to_ascii_lowercase()).or_else(|| {
        let status = text(&o.status)?.to_ascii_lowercase();
        let state = match status.as_str() {
            "pending" => "new",
            "processing" | "fraud" => "processing",
            "complete" => "complete",
            "closed" => "closed",
            "canceled" => "canceled",
            "holded" => "holded",
            "payment_review" => "payment_review",
            "pending_payment" => "pending_payment",
            _ => return None,
        };
        Some(state.to_owned())
    })
}

/// The orders an edited order replaces, nearest first: its parent (`relation_parent_real_id`),
/// the edits between (`<original>-<n>`, from `edit_increment`), and the original order
/// (`original_increment_id`), as `Magento\Sales\Model\AdminOrder\Create::createOrder` numbers
/// them.
pub fn predecessors(o: &WireOrder, number: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |n: String| {
        if n != number && !out.contains(&n) {
            out.push(n);
        }
    };
    if let Some(p) = text(&o.relation_parent_real_id) {
        add(p);
    }
    let original = text(&o.original_increment_id);
    let is_edit = o.relation_parent_id.is_some() || text(&o.relation_parent_real_id).is_some();
    if let (Some(orig), true) = (&original, is_edit) {
        for k in (1..o.edit_increment.unwrap_or(0)).rev() {
            add(format!("{orig}-{k}"));
        }
        add(orig.clone());
    }
    out
}

/// Which items become lines, with their index in `items`: see [`order_from_wire`].
pub(super) fn priced_items(items: &[WireOrderItem]) -> Vec<(usize, &WireOrderItem)> {
    let priced = |x: &WireOrderItem| {
        [x.price, x.row_total, x.row_total_incl_tax]
            .iter()
            .any(|v| v.is_some_and(|v| !v.is_zero()))
    };
    let children_of = |id: Option<u64>| {
        items
            .iter()
            .filter(move |x| id.is_some() && x.parent_item_id == id)
    };
    // `isChildrenCalculated()`: a bundle with dynamic price carries the amounts on its
    // children (the REST order does not expose `product_calculations`, the rows show it)
    let children_calculated =
        |p: &WireOrderItem| p.product_type.as_deref() == Some("bundle") && children_of(p.item_id).any(priced);
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let parent = item
            .parent_item_id
            .and_then(|p| items.iter().find(|x| x.item_id == Some(p)));
        let keep = match parent {
            Some(p) => children_calculated(p),
            None => !children_calculated(item),
        };
        if keep {
            out.push((i, item));
        }
    }
    out
}

/// The VAT percentage of a shipping charge: a line rate explaining the tax within a cent,
/// else the ratio rounded to 2 decimals; `None` when there is no excl. amount to relate to.
pub fn shipping_vat(excl: Decimal, tax: Decimal, lines: &[OrderLine]) -> Option<Decimal> {
    if excl <= Decimal::ZERO {
        return None;
    }
    if tax.is_zero() {
        return Some(Decimal::ZERO);
    }
    let mut rates: Vec<Decimal> = lines.iter().filter_map(|l| l.vat_percentage).collect();
    rates.sort();
    rates.dedup();
    let cent = Decimal::new(1, 2);
    let explains = |r: &Decimal| (excl * r / Decimal::ONE_HUNDRED - tax).abs() <= cent;
    let ratio = tax / excl * Decimal::ONE_HUNDRED;
    // the shipping tax class's rate need not be a line's (only 9 % articles, 21 % shipping):
    // a whole percentage that explains the tax comes next
    let whole = round_money(ratio, 0);
    rates
        .into_iter()
        .rev()
        .find(explains)
        .map(|r| r.normalize())
        .or_else(|| explains(&whole).then_some(whole))
        .or_else(|| Some(round_money(ratio, 2)))
}

#[cfg(test)]
mod tests;
