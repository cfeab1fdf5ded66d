//! The examples of koppel are in this directory (`acme.rs`: a custom binary for one client,
//! built with `cargo build --examples`); this crate has no library of its own.
