//! The error taxonomy: one enum whose variants drive every retry, skip and fail decision.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A record's own fault: what was wrong, where, and what the remote said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The record, e.g. `order 100023`; empty when not known.
    pub record: String,
    /// Field path inside the record, e.g. `lines[2].quantity`.
    pub field: Option<String>,
    /// The remote error code, e.g. `REL-0006`.
    pub code: Option<String>,
    /// Human-readable reason.
    pub message: String,
}

impl Rejection {
    /// A rejection naming a record and a field.
    pub fn new(record: impl Into<String>, field: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            record: record.into(),
            field: field.map(str::to_owned),
            code: None,
            message: message.into(),
        }
    }

    /// Adds the remote error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the record label when it was not known where the rejection was made.
    pub fn for_record(mut self, record: impl Into<String>) -> Self {
        if self.record.is_empty() {
            self.record = record.into();
        }
        self
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.record.is_empty() {
            write!(f, "{}: ", self.record)?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        if let Some(code) = &self.code {
            write!(f, "[{code}] ")?;
        }
        f.write_str(&self.message)
    }
}

impl From<crate::model::ValidationError> for Rejection {
    fn from(v: crate::model::ValidationError) -> Self {
        Rejection {
            record: v.record,
            field: Some(v.field),
            code: None,
            message: v.message,
        }
    }
}

/// Every error koppel produces. The variant decides what happens next:
/// retry later ([`Error::Transient`], [`Error::RateLimited`]), resolve by lookup
/// ([`Error::Uncertain`]), quarantine the record ([`Error::Rejected`]) or stop the flow
/// (everything else).
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Error {
    /// A passing fault (5xx, timeout, connection reset): retry with backoff.
    #[error("transient: {message}")]
    Transient {
        /// What happened.
        message: String,
        /// How long the remote asked us to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// The remote throttled us (HTTP 429).
    #[error("rate limited: {message}")]
    RateLimited {
        /// What happened.
        message: String,
        /// How long the remote asked us to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// A write whose outcome is unknown (timeout or 5xx after the request was sent): it may
    /// have been applied. Resolved by looking the record up before writing it again.
    #[error("outcome unknown: {message}")]
    Uncertain {
        /// What happened.
        message: String,
    },
    /// Credentials are missing, wrong, expired or lack a permission (scope).
    #[error("authentication: {message}")]
    Auth {
        /// What to fix.
        message: String,
    },
    /// The configuration is wrong; `path` is the key path, e.g. `pairs[0].shop.base_url`.
    #[error("config: {path}: {message}")]
    Config {
        /// Key path of the offending setting.
        path: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// The remote does not have what was asked for.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// The remote state conflicts with the write (e.g. duplicate key).
    #[error("conflict: {message}")]
    Conflict {
        /// What conflicted.
        message: String,
    },
    /// The record's own fault: quarantined with this reason, the run goes on.
    #[error("rejected: {0}")]
    Rejected(Rejection),
    /// The remote answered something we cannot read.
    #[error("protocol: {message}")]
    Protocol {
        /// What could not be read.
        message: String,
    },
    /// A local failure (state store, I/O) that is not the remote's doing.
    #[error("internal: {message}")]
    Internal {
        /// What happened.
        message: String,
    },
}

impl Error {
    /// A transient error with no retry hint.
    pub fn transient(message: impl Into<String>) -> Self {
        Error::Transient {
            message: message.into(),
            retry_after: None,
        }
    }

    /// A protocol error.
    pub fn protocol(message: impl Into<String>) -> Self {
        Error::Protocol {
            message: message.into(),
        }
    }

    /// An internal error.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal {
            message: message.into(),
        }
    }

    /// A config error at a key path.
    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A rejection of a record.
    pub fn rejected(record: impl Into<String>, field: Option<&str>, message: impl Into<String>) -> Self {
        Error::Rejected(Rejection::new(record, field, message))
    }

    /// Whether a retry of the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Transient { .. } | Error::RateLimited { .. })
    }

    /// Whether the record itself is at fault (quarantine it, go on).
    pub fn is_record_fault(&self) -> bool {
        matches!(
            self,
            Error::Rejected(_) | Error::Conflict { .. } | Error::NotFound { .. }
        )
    }

    /// Whether the whole connector is unusable (stop the flow, exit code 3 in the runner).
    pub fn is_connector_fault(&self) -> bool {
        matches!(self, Error::Auth { .. } | Error::Config { .. })
    }

    /// The wait the remote asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Transient { retry_after, .. } | Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short machine-readable class name, used in journals, reports and logs.
    pub fn class(&self) -> &'static str {
        match self {
            Error::Transient { .. } => "transient",
            Error::RateLimited { .. } => "rate_limited",
            Error::Uncertain { .. } => "uncertain",
            Error::Auth { .. } => "auth",
            Error::Config { .. } => "config",
            Error::NotFound { .. } => "not_found",
            Error::Conflict { .. } => "conflict",
            Error::Rejected(_) => "rejected",
            Error::Protocol { .. } => "protocol",
            Error::Internal { .. } => "internal",
        }
    }
}

impl From<crate::model::ValidationError> for Error {
    fn from(v: crate::model::ValidationError) -> Self {
        Error::Rejected(v.into())
    }
}

/// Result with koppel's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
