//! The wire toolkit every connector shares: the small mechanisms each connector crate used to
//! carry a private copy of.
//!
//! - [`items`]: per-item tolerant parsing of a JSON list, each item `Result<T, Rejection>`
//!   naming the record and the field path that failed ([`items::parse_item`], [`items::parse_items`]).
//! - [`decimal`]: exact amounts from JSON numbers or strings and back, never through `f64`
//!   ([`decimal::parse_json`], `de_*` / `ser_*` for `#[serde(with)]`-style attributes).
//! - [`body`]: request-body encoding ([`body::encode_json`]) and success bodies that may be empty
//!   ([`body::optional_json`], [`body::is_empty`]).
//! - [`cache`]: [`cache::TtlCache`], reference data read once per time-to-live, and
//!   [`cache::TtlMap`], the same per key (articles by code).
//! - [`errors`]: [`errors::on_record`], naming the record in an error the remote did not name.
//! - [`config`]: [`config::without_type`], a connector table without its `type = "<name>"` key.
//!
//! Page tokens live in [`crate::paging`].

pub mod body;
pub mod cache;
pub mod config;
pub mod decimal;
pub mod errors;
pub mod items;

pub use body::{encode_json, is_empty, optional_json};
pub use cache::{TtlCache, TtlMap};
pub use config::without_type;
pub use errors::on_record;
pub use items::{parse_item, parse_items, parse_value};
