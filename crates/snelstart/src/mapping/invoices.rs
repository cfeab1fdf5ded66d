//! Invoices -> open amounts and payment status.

use koppel_core::{Money, OpenAmount, PaymentStatus, Rejection};

use crate::models::Verkoopfactuur;

use super::{modified_of, non_empty, parse_date};

pub(super) fn invoice_label(f: &Verkoopfactuur) -> String {
    match (&f.factuurnummer, &f.id) {
        (Some(n), _) => format!("invoice {n}"),
        (None, Some(id)) => format!("invoice {id}"),
        _ => "invoice (without number or id)".to_owned(),
    }
}

/// An invoice as the open amount of a shop order.
pub fn invoice_to_open_amount(f: &Verkoopfactuur, order_number: &str) -> Result<OpenAmount, Rejection> {
    let label = invoice_label(f);
    let number = non_empty(f.factuurnummer.as_deref())
        .ok_or_else(|| Rejection::new(&label, Some("factuurnummer"), "missing"))?;
    let total = f
        .factuur_bedrag
        .ok_or_else(|| Rejection::new(&label, Some("factuurBedrag"), "missing"))?;
    let open = f
        .openstaand_saldo
        .ok_or_else(|| Rejection::new(&label, Some("openstaandSaldo"), "missing"))?;
    let due_date = match f.verval_datum.as_deref() {
        Some(s) => Some(
            parse_date(s)
                .ok_or_else(|| Rejection::new(&label, Some("vervalDatum"), format!("{s:?} is not a date")))?,
        ),
        None => None,
    };
    Ok(OpenAmount {
        order_number: order_number.to_owned(),
        invoice_number: number,
        invoice_amount: Money::eur(total),
        open_amount: Money::eur(open),
        due_date,
        modified: modified_of(&label, f.modified_on.as_deref())?,
    })
}

/// An invoice as the payment status of a shop order: paid when nothing is open.
pub fn invoice_to_payment(f: &Verkoopfactuur, order_number: &str) -> Result<PaymentStatus, Rejection> {
    let oa = invoice_to_open_amount(f, order_number)?;
    Ok(PaymentStatus {
        order_number: oa.order_number,
        invoice_number: oa.invoice_number,
        paid: oa.open_amount.amount.is_zero(),
        paid_amount: Money::eur(oa.invoice_amount.amount - oa.open_amount.amount),
        modified: oa.modified,
    })
}
