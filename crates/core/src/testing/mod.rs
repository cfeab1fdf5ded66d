//! Test support for connector crates (feature `testing`): in-memory connectors and the
//! conformance kit.
