//! Customers in: a registered customer with their addresses.

use std::collections::HashMap;

use chrono_tz::Tz;
use koppel_core::{Customer, Rejection};

use crate::models::Obj;

use super::{address_from_wire, parse_shop_time, text};

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
