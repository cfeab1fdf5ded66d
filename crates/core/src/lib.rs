//! koppel-core: the canonical model, the [`Source`]/[`Sink`] traits, the connector registry,
//! the HTTP policy and the error taxonomy that every koppel connector and the runner share.
//!
//! Public API in short:
//! - [`model`]: `Product`, `StockLevel`, `Customer`, `Address`, `Order`, `OrderLine`,
//!   `OpenAmount`, `PaymentStatus`, value types `Sku`, `CountryCode`, `Currency`, `Money`,
//!   `TaxMode`, `VatRate`/`VatKind`, and the [`Record`] trait (key, modified, validate).
//! - [`connector`]: [`Source`], [`Sink`], [`Connector`], [`Capabilities`], [`Endpoints`].
//! - [`registry`]: [`ConnectorDescriptor`], `inventory` collection, [`registry::connectors`].
//! - [`error`]: [`Error`] (drives retry/quarantine/fail) and [`Rejection`].
//! - [`http`]: [`http::HttpClient`] with retries, rate limits, token refresh, redaction, counters.
//! - [`secret`]: [`Secret`] and [`secret::Redactor`].
//! - [`flows`]: [`Flow`], one direction of one record kind.
//! - [`diff`]: record JSON, hashes and [`FieldChange`]s.
//! - [`engine`]: [`engine::Engine`] runs the flows of a [`engine::Pair`] (cursors, bindings,
//!   journal, exactly-once, quarantine, plans, reports, leases).
//! - [`state`]: [`state::StateStore`] and the embedded [`state::SqliteStore`].
//! - [`vat`]: VAT judged on amounts: whether a rate explains a row under the shop's rounding rule.
//! - [`wire`]: the wire toolkit (tolerant item parsing, exact decimals, bodies, TTL caches,
//!   record-labelled errors, config tables).
//! - `testing` (feature `testing`): in-memory connectors and the conformance kit.

#![warn(missing_docs)]

pub mod connector;
pub mod diff;
pub mod engine;
pub mod error;
pub mod flows;
pub mod http;
pub mod model;
pub mod paging;
pub mod registry;
pub mod secret;
pub mod state;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod vat;
pub mod wire;

pub use connector::{
    Capabilities, CheckReport, Connector, Dependency, Endpoints, FieldChange, Page, Prepared, ReadRequest,
    Routed, Sink, Source, Verdict, WriteItem, WriteOutcome,
};
pub use error::{Error, Rejection, Result};
pub use flows::Flow;
pub use model::{
    Address, Charge, CountryCode, Currency, Customer, Kind, Money, OpenAmount, Order, OrderLine,
    PaymentStatus, Product, Record, Sku, StockLevel, TaxMode, ValidationError, VatKind, VatRate, VatRounding,
};
pub use registry::{ConnectorContext, ConnectorDescriptor, Role};
pub use secret::Secret;

/// Re-exports for connector crates (so they register with the same `inventory` version).
pub mod reexports {
    pub use async_trait::async_trait;
    pub use inventory;
    pub use schemars;
}
