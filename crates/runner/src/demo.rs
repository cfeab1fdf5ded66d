//! `koppel demo`.
use crate::app::{CmdResult, Failure};
use crate::cli::DemoArgs;

/// `koppel demo`.
pub async fn demo(_args: &DemoArgs) -> CmdResult {
    Err(Failure::Other("demo: pending the simulators".into()))
}
