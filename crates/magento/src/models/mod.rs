//! Wire types of the Magento 2 REST API, as far as koppel reads and writes them.
//!
//! Amounts are [`Decimal`](rust_decimal::Decimal) read from the JSON text itself (number or string), never through
//! `f64`: the deserialisers of `koppel_core::wire::decimal` take the value as raw JSON and parse its digits.
//! Amounts are written as JSON numbers from their decimal text, likewise exact.

mod addresses;
mod attributes;
mod categories;
mod comments;
mod customers;
mod envelope;
mod lenient;
mod orders;
mod products;
mod stock;
mod store;

pub use addresses::WireAddress;
pub use attributes::AttributeOption;
pub use categories::{CategoryNode, CreatedCategory};
pub use comments::{CommentEnvelope, CommentPayload, WireComment};
pub use customers::WireCustomer;
pub use envelope::{ErrorBody, SearchResult};
pub use lenient::{de_flag, de_id, de_opt_id, de_opt_text};
pub use orders::{
    OrderRef, WireOrder, WireOrderExtension, WireOrderItem, WirePayment, WireShipping, WireShippingAssignment,
};
pub use products::{
    value_text, CategoryLink, CustomAttribute, PayloadExtension, ProductEnvelope, ProductExtension,
    ProductPayload, WireProduct,
};
pub use stock::{
    Source, SourceItem, SourceItemsEnvelope, StockItem, StockItemEnvelope, StockItemPayload, WireSourceItem,
};
pub use store::StoreConfig;

#[cfg(test)]
mod tests;
