//! koppel-connectors: the connectors the stock `koppel` binary links, as one list (this
//! crate's `[dependencies]` in Cargo.toml; build.rs turns it into the `extern crate` lines
//! and [`LINKED_CONNECTORS`]).
//!
//! Linking a connector crate is what puts its `inventory::submit!` registration into
//! `koppel_core::registry`; a binary that depends on this crate and names it (`extern crate
//! koppel_connectors;` or any use of [`LINKED_CONNECTORS`]) gets every stock connector. An
//! integrator's own binary may link this crate, or name its own set of connector crates.

#![warn(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/linked.rs"));
