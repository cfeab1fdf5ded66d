//! `koppel plan` / `koppel run`'s pass over the selected pairs: the runtime's
//! [`koppel_runtime::run::run_pairs`] with the command line's listing options and progress.

use std::sync::Arc;

use koppel_core::engine::{Mode, RunOptions, RunReport};
use koppel_runtime::run::Failure;

use crate::cli::Global;
use crate::progress::ProgressUi;

/// Which records a report lists (see [`RunOptions::record_limit`]).
#[derive(Debug, Clone, Copy)]
pub struct Listing {
    /// At most this many per flow.
    pub limit: usize,
    /// Also the unchanged ones.
    pub unchanged: bool,
}

/// Runs (or plans) the selected flows of the selected pairs, one pair after the other.
pub async fn run_pairs(
    g: &Global,
    mode: Mode,
    full: bool,
    progress: Option<&Arc<ProgressUi>>,
    listing: Listing,
) -> Result<Vec<RunReport>, Failure> {
    let opts = RunOptions {
        mode,
        progress: progress.map(|p| p.callback()),
        record_limit: listing.limit,
        list_unchanged: listing.unchanged,
        ..Default::default()
    };
    let reports = koppel_runtime::run::run_pairs(&g.selection(), full, &opts).await;
    if let Some(p) = progress {
        p.finish();
    }
    reports
}
