//! Mapping between PrestaShop records and koppel's model: orders and customers in, products
//! out. Every amount is the shop's own; nothing is recomputed from rounded values.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use koppel_core::{Address, CountryCode, Rejection};
use rust_decimal::Decimal;

use crate::models::Obj;

mod customers;
mod orders;
mod products;
mod stock;

pub use customers::*;
pub use orders::*;
pub use products::*;
pub use stock::*;

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
    use koppel_core::VatRounding;
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
    use koppel_core::{TaxMode, VatRounding};
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
