//! koppel, the runner: the `koppel` command (config file, schema, validate, check, plan, run,
//! daemon, status, retry, demo, sandbox) around `koppel-core`'s engine and the connector crates.
//!
//! The binary is `src/main.rs`; everything lives in this library so that tests can reach it.

#![warn(missing_docs)]

// The stock connectors, from the one list (crates/connectors/Cargo.toml). Naming the crate
// keeps their registrations (`inventory::submit!`) in every build profile.
extern crate koppel_connectors;

pub mod app;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod flows;
pub mod init;
pub mod logging;
pub mod report;
pub mod sandbox;
pub mod schedule;
pub mod schema;
pub mod secrets;
pub mod sim;
pub mod status;

/// The connector names this runner is built with (the one list in
/// crates/connectors/Cargo.toml); `koppel_core::registry::connectors()` must name exactly these
/// (tested in debug and release builds).
pub use koppel_connectors::LINKED_CONNECTORS;

#[cfg(test)]
mod tests {
    #[test]
    fn registry_names_every_linked_connector() {
        let names: Vec<&str> = koppel_core::registry::connectors()
            .iter()
            .map(|d| d.name)
            // Unit-test builds also register `test_*` connectors (config::capability_tests).
            .filter(|n| !n.starts_with("test_"))
            .collect();
        assert_eq!(names, super::LINKED_CONNECTORS, "registered connectors");
    }
}
