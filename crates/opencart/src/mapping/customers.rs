//! Customers: the bridge's customer as a canonical customer.

use koppel_core::{Customer, Record, Rejection};

use super::{address, text};
use crate::models::WireCustomer;

/// Maps a customer: the default address (else the first) is both billing and shipping.
pub fn customer(w: &WireCustomer) -> Result<Customer, Rejection> {
    let phone = text(&w.telephone);
    let addr = w
        .addresses
        .iter()
        .find(|a| a.default)
        .or_else(|| w.addresses.first())
        .map(|a| address(&a.address, phone.clone()));
    let c = Customer {
        key: w.customer_id.to_string(),
        email: text(&w.email),
        first_name: text(&w.firstname),
        last_name: text(&w.lastname),
        company: addr.as_ref().and_then(|a| a.company.clone()),
        phone,
        vat_number: None,
        kvk_number: None,
        billing: addr.clone(),
        shipping: addr,
        is_guest: false,
        modified: w.changed_at,
    };
    c.validate().map_err(Rejection::from)?;
    Ok(c)
}
