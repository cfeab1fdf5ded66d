//! Engine entry points.

use super::{Engine, Flow, FlowOptions, Pair, RunOptions, RunReport};
use crate::error::{Error, Result};

impl Engine {
    /// Runs `flows` of `pair` (in the given order). In [`Mode::Run`](super::Mode::Run) it takes the
    /// pair's lease first (`Error::Conflict` if another process holds it) and refuses
    /// (`Error::Config`) a flow whose source or sink endpoint is missing before any I/O.
    pub async fn run(&self, pair: &Pair, flows: &[(Flow, FlowOptions)], opts: &RunOptions) -> Result<RunReport> {
        let _ = (pair, flows, opts);
        Err(Error::internal("engine run: not implemented yet"))
    }

    /// Retries quarantined records of `pair` now, ignoring their backoff: all, one flow's, or
    /// one record (`key`). Takes the lease like [`Engine::run`].
    pub async fn retry_quarantined(
        &self,
        pair: &Pair,
        flow: Option<Flow>,
        key: Option<&str>,
        opts: &RunOptions,
    ) -> Result<RunReport> {
        let _ = (pair, flow, key, opts);
        Err(Error::internal("engine retry: not implemented yet"))
    }
}
