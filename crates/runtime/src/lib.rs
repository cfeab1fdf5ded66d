//! koppel-runtime: koppel as a library, for the `koppel` binary and for integrators who build
//! a binary of their own per client (see `examples/`).
//!
//! - [`config`]: the config file (TOML) with secrets from the environment or files, checked
//!   against the connector registry; every error names `file:line: key.path`.
//! - [`run`]: a [`run::Selection`] of pairs and flows, the pairs built from the registry, one
//!   pass of their flows ([`run::run_pairs`]), retries of quarantined records.
//! - [`daemon`]: every flow on its own schedule until stopped ([`daemon::daemon_until`]).
//! - [`report`], [`status`]: the run summary and plan text, exit codes, the status text, JSON
//!   and self-contained HTML page.
//! - [`schema`], [`init`]: the config's JSON Schema and docs, a commented starting config.
//!
//! It links no connector and no simulator: a binary names the connector crates it wants (the
//! stock set is `koppel-connectors`), and their `inventory` registrations are what
//! [`config::Config::load`] builds pairs from. It has no command line either (`clap` is an
//! optional feature that only derives `ValueEnum` on [`logging::LogFormat`]).
//!
//! **Why a crate and not a module boundary inside the `koppel` crate.** A module boundary
//! cannot keep clap, indicatif and the simulators (axum, seed data) out of an integrator's
//! build, and nothing would stop the library half from reaching into the CLI's argument
//! structs again (which is how it was: the daemon, status and config helpers took
//! `cli::Global`). As a crate, the compiler enforces the direction: the CLI depends on the
//! runtime, never the reverse, and the runtime's API takes plain values
//! ([`run::Selection`], paths, options).

#![warn(missing_docs)]

pub mod config;
pub mod daemon;
pub mod flows;
pub mod init;
pub mod logging;
pub mod report;
pub mod run;
pub mod schedule;
pub mod schema;
pub mod secrets;
pub mod status;

pub use run::{CmdResult, Failure, Selection};
