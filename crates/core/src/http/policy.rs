//! The request policy: timeouts and retry budget ([`HttpPolicy`]), and whether a request may
//! be sent twice ([`Safety`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Timeouts and retry budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HttpPolicy {
    /// Whole-request timeout in seconds.
    pub timeout_secs: u64,
    /// Connect timeout in seconds.
    pub connect_timeout_secs: u64,
    /// Retries after the first attempt for transient failures and 429s.
    pub max_retries: u32,
    /// First backoff in milliseconds; doubles per retry, with jitter.
    pub initial_backoff_ms: u64,
    /// Longest backoff in milliseconds.
    pub max_backoff_ms: u64,
    /// Longest `Retry-After` honoured, in seconds; a longer one ends the retries.
    pub max_retry_after_secs: u64,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            timeout_secs: 30,
            connect_timeout_secs: 10,
            max_retries: 4,
            initial_backoff_ms: 500,
            max_backoff_ms: 30_000,
            max_retry_after_secs: 120,
        }
    }
}

/// Whether a request may be sent twice without harm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Safety {
    /// GET, PUT of a whole record, DELETE: retried on any transient failure.
    Idempotent,
    /// A POST that creates: retried only when the request surely was not processed
    /// (connection refused, 429); a timeout or 5xx becomes
    /// [`Error::Uncertain`](crate::Error::Uncertain).
    NonIdempotent,
}
