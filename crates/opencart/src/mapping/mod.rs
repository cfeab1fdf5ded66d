//! Pure functions between the bridge's wire types and the canonical model.
//!
//! OpenCart's amounts (catalog/model/checkout/order.php addOrder, catalog/controller/checkout/
//! confirm.php): `oc_order_product.price` is the unit price excl. tax, `tax` the tax of **one
//! unit** (system/library/cart/tax.php getTax: every rate of the product's tax class, percentage
//! rates on the price plus fixed amounts), `total` = price x quantity excl. tax. `oc_order_total`
//! holds sub_total, shipping (excl. tax), coupon (negative), one `tax` row per rate (title = rate
//! name, value = sum over the cart of the unit tax x quantity) and total. Amounts are stored with
//! 4 decimals. Nothing is rounded to cents on the way: system/library/cart/tax.php `calculate`
//! returns the unrounded `price * rate / 100` (plus fixed amounts), cart.php `getTaxes` sums
//! `unit tax * quantity` per rate unrounded, the tax total module adds those sums to the total,
//! and only system/library/cart/currency.php `format` rounds (PHP `round`, half away from zero,
//! to the currency's `decimal_place`) when an amount is shown or charged. So OpenCart's rows are
//! unrounded and the order is rounded once: [`VatRounding::PerTotal`], and the customer pays
//! `total` rounded to cents.
//!
//! Rooms: [`orders`], [`customers`], [`products`], [`stock`], [`invoices`].

mod customers;
mod invoices;
mod orders;
mod products;
mod stock;
#[cfg(test)]
mod tests;

pub use customers::customer;
pub use invoices::fill;
pub use orders::{address, order, split_unit_tax, OrderRules};
pub use products::{keyword, product_changes, upsert_item, ProductRules};
pub use stock::whole_units;

/// A trimmed text field; `None` when empty.
pub(crate) fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}
