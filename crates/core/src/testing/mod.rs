//! Test support for connector crates (feature `testing`): in-memory connectors for engine
//! tests, sample records, and the conformance kit every connector crate runs against its
//! simulator.

mod kit;
mod memory;
pub mod samples;

pub use kit::{
    hook, mutator, CheckResult, Churn, Churned, Conformance, ConformanceReport, Hook, Mutator, Samples,
};
pub use memory::{MemoryConnector, MemoryRouted, MemorySink, MemorySource};
