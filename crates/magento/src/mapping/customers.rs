//! Customers: wire customer -> canonical customer.

use koppel_core::{Customer, Rejection};

use crate::models::{WireAddress, WireCustomer};

use super::{address_from_wire, parse_time, text};

/// Maps a registered customer; the default billing and shipping addresses come along.
pub fn customer_from_wire(c: &WireCustomer) -> Result<Customer, Rejection> {
    let record = format!("customer {}", c.id);
    // Magento requires an e-mail on every customer account: a record without one is damaged
    let email = text(&c.email).ok_or_else(|| Rejection::new(&record, Some("email"), "missing"))?;
    let pick = |id: Option<u64>, flag: fn(&WireAddress) -> bool| {
        c.addresses
            .iter()
            .find(|a| id.is_some() && a.id == id)
            .or_else(|| c.addresses.iter().find(|a| flag(a)))
    };
    let billing_wire = pick(c.default_billing, |a| a.default_billing);
    let billing = billing_wire
        .map(|a| address_from_wire(a, &record, "billing"))
        .transpose()?;
    let shipping = pick(c.default_shipping, |a| a.default_shipping)
        .map(|a| address_from_wire(a, &record, "shipping"))
        .transpose()?;
    Ok(Customer {
        key: c.id.to_string(),
        email: Some(email),
        first_name: text(&c.firstname),
        last_name: text(&c.lastname),
        company: billing.as_ref().and_then(|b| b.company.clone()),
        phone: billing.as_ref().and_then(|b| b.phone.clone()),
        vat_number: text(&c.taxvat).or_else(|| billing_wire.and_then(|a| text(&a.vat_id))),
        kvk_number: None,
        billing,
        shipping,
        is_guest: false,
        modified: c.updated_at.as_deref().and_then(parse_time),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_registered_customer_with_default_addresses() {
        let c: WireCustomer = serde_json::from_value(serde_json::json!({
            "id": 7, "email": "jan@example.nl", "firstname": "Jan", "lastname": "Jansen",
            "taxvat": "NL1B01", "updated_at": "2024-05-02 11:30:00",
            "default_billing": "11", "default_shipping": "12",
            "addresses": [
                {"id": 12, "street": ["Kerkweg 2"], "city": "Gent", "postcode": "9000", "country_id": "BE"},
                {"id": 11, "company": "Jansen BV", "telephone": "030", "street": ["Dorpsstraat 1"],
                 "city": "Utrecht", "postcode": "1234 AB", "country_id": "NL",
                 "region": {"region": "Utrecht", "region_code": "UT", "region_id": 0}}
            ]
        }))
        .unwrap();
        let m = customer_from_wire(&c).unwrap();
        assert_eq!(m.key, "7");
        assert_eq!(m.company.as_deref(), Some("Jansen BV"));
        assert_eq!(m.billing.as_ref().unwrap().region.as_deref(), Some("Utrecht"));
        assert_eq!(m.shipping.as_ref().unwrap().city, "Gent");
        assert_eq!(m.modified.unwrap().to_rfc3339(), "2024-05-02T11:30:00+00:00");
        let broken: WireCustomer =
            serde_json::from_value(serde_json::json!({"id": 8, "created_at": "not-a-date"})).unwrap();
        assert_eq!(
            customer_from_wire(&broken).unwrap_err().to_string(),
            "customer 8: email: missing"
        );
    }
}
