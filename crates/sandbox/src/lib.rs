//! koppel-sandbox: stateful simulators of SnelStart and the webshops, served over HTTP on
//! loopback, written from the official documentation (not from koppel's clients). Tests,
//! `koppel demo`, `koppel sandbox` and the benchmarks run against them.

#![warn(missing_docs)]

pub mod control;
pub mod magento;
pub mod opencart;
pub mod prestashop;
pub mod registry;
pub mod seed;
pub mod snelstart;
