//! Test support for connector crates (feature `testing`): in-memory connectors for engine
//! tests, sample records, and the conformance kit every connector crate runs against its
//! simulator.

mod kit;
mod memory;
pub mod samples;

pub use kit::{
    hook, malformed_fault, mutator, records_churn, shop_churn, CheckResult, Churn, Churned, Conformance,
    ConformanceReport, Hook, Mutator, Samples, ShopChurn, ShopConformance,
};
pub use memory::{MemoryConnector, MemoryRouted, MemorySink, MemorySource};
