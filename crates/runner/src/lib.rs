//! koppel, the command: `koppel` (init, validate, check, plan, run, daemon, status, retry,
//! connectors, schema, demo, sandbox), a thin command line over `koppel-runtime` (config,
//! running flows, the daemon, reports, status) with the stock connectors
//! (`koppel-connectors`) and the simulators (`koppel-sandbox`) for `demo` and `sandbox`.
//!
//! The binary is `src/main.rs`; the commands live in this library so that tests can reach
//! them. The runtime's modules are re-exported under their old paths (`koppel::config`, ...).

#![warn(missing_docs)]

// The stock connectors, from the one list (crates/connectors/Cargo.toml). Naming the crate
// keeps their registrations (`inventory::submit!`) in every build profile.
extern crate koppel_connectors;

pub mod app;
pub mod cli;
pub mod connectors;
pub mod demo;
pub mod passes;
pub mod progress;
pub mod sandbox;
pub mod sim;

pub use koppel_runtime::{
    config, daemon, flows, init, logging, report, run, schedule, schema, secrets, status,
};

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
