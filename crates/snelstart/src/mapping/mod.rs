//! Pure functions between SnelStart's wire types and koppel's canonical model. No I/O: the
//! connector fetches what these need (reference data, resolved articles) and passes it in.
//!
//! Rules worth knowing:
//! - **Time.** SnelStart timestamps carry no offset and are Dutch local time; they are
//!   converted to/from UTC with `Europe/Amsterdam` (an ambiguous autumn hour takes the
//!   earlier instant, a skipped spring hour the instant after the gap).
//! - **Relatie names.** `naam` is the company when there is one (the person then goes in the
//!   address's `contactpersoon`), else the person, else the e-mail address. Street lines are
//!   joined with a space into `straat`. A value that does not fit its SnelStart field is a
//!   rejection naming the field and the limit; nothing is cut.
//! - **Order amounts.** Each regel's `totaal` equals the shop's row total: `stuksprijs` is the
//!   shop's unit price when `aantal × stuksprijs` gives the row total, else the row total
//!   divided by the quantity when that divides to the administration's price decimals, else the
//!   line is split into the undiscounted line plus a correction line on the same article (so
//!   the VAT rate stays right). Shipping, payment fees and order discounts go on the configured
//!   articles; without one, a priced text line only with `orders.priced_text_lines`, else the
//!   order is rejected naming the setting. The order total is computed as SnelStart does (sum of regel
//!   totals, VAT per rate for exclusive orders, rounded half away from zero to cents) and must
//!   equal the shop's grand total to the cent (an exclusive order SnelStart would round
//!   differently is booked with incl. regel totals, see [`order_to_verkooporder`]).
//! - **VAT.** Judged on the shop's amounts under its rounding rule ([`koppel_core::vat`]), never
//!   on percentages rebuilt from rounded cents; the rejection names the amounts and the rates
//!   tried (`lines[2].tax`, `shipping_cost.tax`, `tax_total` for per-total orders).

mod articles;
mod invoices;
mod orders;
mod refdata;
mod relaties;
mod time;

pub use articles::*;
pub use invoices::*;
pub use orders::*;
pub use refdata::*;
pub use relaties::*;
pub use time::*;

#[cfg(test)]
mod tests;
