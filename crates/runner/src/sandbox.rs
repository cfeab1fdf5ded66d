//! `koppel sandbox`.
use crate::app::{CmdResult, Failure};
use crate::cli::SandboxArgs;

/// `koppel sandbox`.
pub async fn sandbox(_args: &SandboxArgs) -> CmdResult {
    Err(Failure::Other("sandbox: pending the simulators".into()))
}
