//! Mapping between PrestaShop records and koppel's model: orders and customers in, products
//! out. Every amount is the shop's own; nothing is recomputed from rounded values.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use koppel_core::{
    Address, Charge, CountryCode, Currency, Customer, FieldChange, Order, OrderLine, Product, Rejection, Sku,
    TaxMode, VatRounding,
};
use rust_decimal::Decimal;
use serde_json::json;

use crate::models::Obj;

/// A time as PrestaShop filters and stores it: shop-local `YYYY-MM-DD HH:MM:SS`.
pub fn shop_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Parses a shop-local time; `0000-00-00 00:00:00` and garbage are `None`. In the repeated hour
/// of a DST change the earlier instant is taken.
pub fn parse_shop_time(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(naive + TimeDelta::hours(1))).earliest())
        .map(|t| t.with_timezone(&Utc))
}

/// The `filter[date_upd]` of a read window (`since` exclusive, `until` inclusive). The bounds
/// are whole shop-local seconds: the lower one is `since` itself and the upper one a second
/// past `until`, so the filter never drops a record of the window whatever the shop's interval
/// rule (the docs call the last bound exclusive); the exact bounds are applied after reading.
pub fn date_filter(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>, tz: Tz) -> Option<String> {
    let lo = since.map(|s| shop_time(s, tz));
    let hi = until.map(|u| shop_time(u + TimeDelta::seconds(1), tz));
    match (lo, hi) {
        (Some(l), Some(h)) => Some(format!("[{l},{h}]")),
        (Some(l), None) => Some(format!(">[{l}]")),
        (None, Some(h)) => Some(format!("<[{h}]")),
        (None, None) => None,
    }
}

/// Whether `t` lies in the window.
pub fn in_window(
    t: Option<DateTime<Utc>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> bool {
    let Some(t) = t else {
        return true;
    };
    since.is_none_or(|s| t > s) && until.is_none_or(|u| t <= u)
}

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

fn text(o: &Obj, k: &str) -> Option<String> {
    o.non_empty(k)
}

/// An address; the country comes from the countries table by `id_country`.
pub fn address_from_wire(
    a: &Obj,
    countries: &HashMap<u64, String>,
    record: &str,
    field: &str,
) -> Result<Address, Rejection> {
    let reject = |f: &str, m: String| Rejection::new(record, Some(&format!("{field}.{f}")), m);
    let country_id = a
        .id("id_country")
        .map_err(|e| reject("country", e))?
        .ok_or_else(|| reject("country", "missing id_country".into()))?;
    let iso = countries.get(&country_id).ok_or_else(|| {
        reject(
            "country",
            format!("country id {country_id} is not in the shop's countries"),
        )
    })?;
    let country = CountryCode::new(iso).map_err(|e| reject("country", e.to_string()))?;
    let street: Vec<String> = [text(a, "address1"), text(a, "address2")]
        .into_iter()
        .flatten()
        .collect();
    Ok(Address {
        first_name: text(a, "firstname"),
        last_name: text(a, "lastname"),
        company: text(a, "company"),
        street,
        postcode: text(a, "postcode").unwrap_or_default(),
        city: text(a, "city").unwrap_or_default(),
        region: None,
        country: Some(country),
        phone: text(a, "phone").or_else(|| text(a, "phone_mobile")),
    })
}

fn money(o: &Obj, k: &str, rec: &str, field: &str) -> Result<Decimal, Rejection> {
    o.dec(k)
        .map_err(|e| Rejection::new(rec, Some(field), format!("{k}: {e}")))
        .map(|d| d.unwrap_or_default().normalize())
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

/// Maps a registered customer with their addresses (company and VAT number live on the
/// address; the first address not deleted is the billing address).
pub fn customer_from_wire(
    c: &Obj,
    addresses: &[&Obj],
    countries: &HashMap<u64, String>,
    tz: Tz,
) -> Result<Customer, Rejection> {
    let id = c
        .id("id")
        .map_err(|e| Rejection::new("customer ?", Some("id"), e))?
        .ok_or_else(|| Rejection::new("customer ?", Some("id"), "missing"))?;
    let rec = format!("customer {id}");
    let raw = c.text("date_upd").unwrap_or_default();
    let modified = parse_shop_time(&raw, tz).ok_or_else(|| {
        Rejection::new(
            rec.as_str(),
            Some("modified"),
            format!("date_upd {raw:?} is not a date"),
        )
    })?;
    let mut live: Vec<&&Obj> = addresses
        .iter()
        .filter(|a| a.text("deleted").as_deref() != Some("1"))
        .collect();
    live.sort_by_key(|a| a.id("id").ok().flatten().unwrap_or(0));
    let billing = match live.first() {
        Some(a) => Some(address_from_wire(a, countries, &rec, "billing")?),
        None => None,
    };
    let first = live.first();
    Ok(Customer {
        key: id.to_string(),
        email: text(c, "email"),
        first_name: text(c, "firstname"),
        last_name: text(c, "lastname"),
        company: first
            .and_then(|a| text(a, "company"))
            .or_else(|| text(c, "company")),
        phone: billing.as_ref().and_then(|b| b.phone.clone()),
        vat_number: first.and_then(|a| text(a, "vat_number")),
        kvk_number: None,
        billing,
        shipping: None,
        is_guest: false,
        modified: Some(modified),
    })
}

/// `Tools::str2url`-like slug: lower case, accents folded, every run of other characters one
/// `-`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let folded = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ä' => 'a',
            'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'Ò' | 'Ó' | 'Ô' | 'Ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
            'ç' | 'Ç' => 'c',
            'ñ' | 'Ñ' => 'n',
            other => other,
        };
        if folded.is_ascii_alphanumeric() {
            out.push(folded.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// How products are written.
#[derive(Debug, Clone, Default)]
pub struct ProductRules {
    /// VAT percentage (normalised) -> `id_tax_rules_group`.
    pub tax_rules: BTreeMap<String, u32>,
    /// Language koppel writes.
    pub language: u32,
}

/// What koppel wants a product to hold.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredProduct {
    /// `reference`.
    pub reference: String,
    /// `name` in koppel's language.
    pub name: String,
    /// `price`, tax-excluded, at most 6 decimals (PrestaShop's precision).
    pub price: Decimal,
    /// `id_tax_rules_group`, when the table is configured.
    pub tax_rules_group: Option<u32>,
    /// `weight`.
    pub weight: Option<Decimal>,
    /// `active`.
    pub active: bool,
    /// `description` in koppel's language, when mapped (`attributes.description`).
    pub description: Option<String>,
    /// The category path.
    pub category: Vec<String>,
}

/// What koppel wants for a product, or why it cannot be written.
pub fn desired_product(p: &Product, rules: &ProductRules) -> Result<DesiredProduct, Rejection> {
    let rec = format!("product {}", p.sku);
    let reject = |f: &str, m: String| Rejection::new(rec.as_str(), Some(f), m);
    let price = match p.tax_mode {
        TaxMode::Exclusive => p.price.amount,
        TaxMode::Inclusive => {
            let vat = p.vat.as_ref().ok_or_else(|| {
                reject(
                    "vat",
                    "an incl. VAT price needs the VAT rate to store it excl. VAT".into(),
                )
            })?;
            p.price.amount / vat.factor()
        }
    }
    .round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    .normalize();
    let tax_rules_group = if rules.tax_rules.is_empty() {
        None
    } else {
        let vat = p
            .vat
            .as_ref()
            .ok_or_else(|| reject("vat", "the product has no VAT rate".into()))?;
        let key = vat.percentage.normalize().to_string();
        Some(*rules.tax_rules.get(&key).ok_or_else(|| {
            reject(
                "vat",
                format!("no id_tax_rules_group for {key} % in products.tax_rules_groups"),
            )
        })?)
    };
    if p.sku.as_str().contains(['<', '>', ';', '=', '{', '}']) {
        // Validate::isReference: /^[^<>;={}]*$/u
        return Err(reject(
            "sku",
            "PrestaShop references cannot contain < > ; = { }".into(),
        ));
    }
    Ok(DesiredProduct {
        reference: p.sku.to_string(),
        name: p.name.trim().to_owned(),
        price,
        tax_rules_group,
        weight: p.weight.map(|w| w.normalize()),
        active: p.active,
        description: p.attributes.get("description").cloned(),
        category: p.category.clone(),
    })
}

fn dec_eq(current: Option<Decimal>, want: Decimal) -> bool {
    current.unwrap_or_default().normalize() == want.normalize()
}

/// The fields of `current` (the shop's product, list shape) that differ from `want`, as
/// target-now -> new. `category` is the id of the wanted category (None: leave it).
pub fn product_changes(
    current: &Obj,
    want: &DesiredProduct,
    lang: u32,
    category: Option<u64>,
) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut push = |path: &str, before: serde_json::Value, after: serde_json::Value| {
        out.push(FieldChange {
            path: path.into(),
            before,
            after,
        })
    };
    let name = current.lang("name", lang).unwrap_or_default();
    if name.trim() != want.name {
        push("name", json!(name), json!(want.name));
    }
    if current
        .lang("link_rewrite", lang)
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        push("link_rewrite", json!(""), json!(slug(&want.name)));
    }
    if !dec_eq(current.dec("price").ok().flatten(), want.price) {
        push(
            "price",
            json!(current.text("price")),
            json!(want.price.to_string()),
        );
    }
    if let Some(g) = want.tax_rules_group {
        if current.id("id_tax_rules_group").ok().flatten() != Some(u64::from(g)) {
            push(
                "id_tax_rules_group",
                json!(current.text("id_tax_rules_group")),
                json!(g.to_string()),
            );
        }
    }
    if let Some(w) = want.weight {
        if !dec_eq(current.dec("weight").ok().flatten(), w) {
            push("weight", json!(current.text("weight")), json!(w.to_string()));
        }
    }
    let active = current.text("active").as_deref() == Some("1");
    if active != want.active {
        push(
            "active",
            json!(current.text("active")),
            json!(if want.active { "1" } else { "0" }),
        );
    }
    if let Some(d) = &want.description {
        let cur = current.lang("description", lang).unwrap_or_default();
        if cur.trim() != d.trim() {
            push("description", json!(cur), json!(d));
        }
    }
    if let Some(cat) = category {
        let default = current.id("id_category_default").ok().flatten();
        let linked = current
            .assoc("categories")
            .iter()
            .any(|c| c.id("id").ok().flatten() == Some(cat));
        if default != Some(cat) || !linked {
            push(
                "id_category_default",
                json!(current.text("id_category_default")),
                json!(cat.to_string()),
            );
        }
    }
    out
}

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

/// Fills `{name}` placeholders.
pub fn fill_template(template: &str, vars: &[(&str, String)]) -> String {
    let mut s = template.to_owned();
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn shop_times_are_local() {
        let tz = chrono_tz::Europe::Amsterdam;
        let t: DateTime<Utc> = "2024-07-01T10:00:00Z".parse().unwrap();
        assert_eq!(shop_time(t, tz), "2024-07-01 12:00:00");
        assert_eq!(parse_shop_time("2024-07-01 12:00:00", tz), Some(t));
        assert_eq!(parse_shop_time("0000-00-00 00:00:00", tz), None);
        assert_eq!(parse_shop_time("not a date", tz), None);
        // the repeated hour of the autumn change: the earlier instant
        assert_eq!(
            parse_shop_time("2024-10-27 02:30:00", tz),
            Some("2024-10-27T00:30:00Z".parse().unwrap())
        );
        let f = date_filter(Some(t), Some(t), tz).unwrap();
        assert_eq!(f, "[2024-07-01 12:00:00,2024-07-01 12:00:01]");
        assert!(in_window(Some(t), None, Some(t)));
        assert!(!in_window(Some(t), Some(t), None));
    }

    #[test]
    fn rounding_types_and_quantities() {
        assert_eq!(vat_rounding(Some("1")).unwrap(), VatRounding::PerUnit);
        assert_eq!(vat_rounding(Some("2")).unwrap(), VatRounding::PerRow);
        assert_eq!(vat_rounding(Some("3")).unwrap(), VatRounding::PerTotal);
        assert!(vat_rounding(Some("7")).is_err());
        assert_eq!(shop_quantity(dec!(7.9)), 7);
        assert_eq!(shop_quantity(dec!(-3)), 0);
        assert_eq!(shop_quantity(dec!(120)), 120);
        assert_eq!(slug("Mok Rood 12 – Café"), "mok-rood-12-cafe");
    }
}

#[cfg(test)]
mod order_tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn lookups() -> Lookups {
        let addr = Obj::from_value(json!({
            "id": "4", "id_country": "13", "firstname": "Jan", "lastname": "Jansen",
            "company": "Jansen B.V.", "vat_number": "NL123456789B01", "address1": "Dorpsstraat 1",
            "address2": "", "postcode": "3511 AB", "city": "Utrecht", "phone": ""
        }))
        .unwrap();
        let cust =
            Obj::from_value(json!({"id": 9, "email": "Jan@Example.nl", "is_guest": "1", "firstname": "Jan"}))
                .unwrap();
        Lookups {
            addresses: HashMap::from([(4, addr)]),
            customers: HashMap::from([(9, cust)]),
            countries: HashMap::from([(13, "NL".to_owned())]),
            currencies: HashMap::from([(1, "EUR".to_owned())]),
            tz: Some(chrono_tz::Europe::Amsterdam),
            ..Default::default()
        }
    }

    fn order() -> serde_json::Value {
        json!({
            "id": 31, "id_address_invoice": "4", "id_address_delivery": "4", "id_customer": "9",
            "id_currency": "1", "current_state": "2", "module": "ps_wirepayment",
            "date_add": "2024-05-01 10:00:00", "date_upd": "2024-05-01 10:05:00",
            "total_paid_tax_incl": "29.04", "total_paid_tax_excl": "24.00",
            "total_shipping_tax_incl": "0.000000", "total_shipping_tax_excl": "0.000000",
            "total_discounts_tax_incl": "0.000000", "total_discounts_tax_excl": "0.000000",
            "total_wrapping_tax_excl": "0.000000", "round_type": "1",
            "associations": {"order_rows": [{
                "id": "77", "product_reference": "KP-0001", "product_name": "Mok",
                "product_quantity": "2", "unit_price_tax_incl": "14.520000", "unit_price_tax_excl": "12.000000"
            }]}
        })
    }

    #[test]
    fn order_rows_stand_in_for_missing_details() {
        let o = order_from_wire(&Obj::from_value(order()).unwrap(), &lookups()).unwrap();
        assert_eq!(o.number, "31");
        assert_eq!(o.vat_rounding, VatRounding::PerUnit);
        assert_eq!(o.tax_mode, TaxMode::Inclusive);
        let l = &o.lines[0];
        assert_eq!(
            (l.quantity, l.unit_price, l.row_total),
            (dec!(2), dec!(14.52), dec!(29.04))
        );
        assert_eq!(l.vat_percentage, Some(dec!(21)));
        assert_eq!(l.tax, None);
        assert_eq!(o.tax_total, dec!(5.04));
        assert_eq!(o.customer.key, "guest:jan@example.nl");
        assert_eq!(o.customer.vat_number.as_deref(), Some("NL123456789B01"));
        assert_eq!(
            o.created_at,
            "2024-05-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn what_cannot_be_booked_is_rejected_by_field() {
        let mut w = order();
        w["total_wrapping_tax_excl"] = json!("2.50");
        let e = order_from_wire(&Obj::from_value(w).unwrap(), &lookups()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("total_wrapping_tax_excl"));
        let mut w = order();
        w["id_currency"] = json!("5");
        assert_eq!(
            order_from_wire(&Obj::from_value(w).unwrap(), &lookups())
                .unwrap_err()
                .field
                .as_deref(),
            Some("currency")
        );
        let mut w = order();
        w["round_type"] = json!("9");
        assert_eq!(
            order_from_wire(&Obj::from_value(w).unwrap(), &lookups())
                .unwrap_err()
                .field
                .as_deref(),
            Some("round_type")
        );
        let mut w = order();
        w["total_paid_tax_incl"] = json!("12,34.5x");
        assert_eq!(
            order_from_wire(&Obj::from_value(w).unwrap(), &lookups())
                .unwrap_err()
                .field
                .as_deref(),
            Some("grand_total")
        );
    }
}
