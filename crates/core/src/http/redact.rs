//! Secret redaction for a client: secrets learned at run time, and known secrets scrubbed
//! from text, URLs and the text fields of errors.

use super::HttpClient;
use crate::error::Error;

impl HttpClient {
    /// Registers a secret learned at run time (e.g. an access token) for redaction.
    pub fn add_secret(&self, value: &str) {
        self.redactor.lock().unwrap_or_else(|p| p.into_inner()).add(value);
    }

    /// Redacts known secrets from text.
    pub fn redact(&self, text: &str) -> String {
        self.redactor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .redact(text)
    }

    pub(super) fn redact_url(&self, url: &url::Url) -> String {
        self.redactor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .redact_url(url)
    }

    /// Redacts secrets from the text fields of an error.
    pub(super) fn scrub(&self, e: Error) -> Error {
        let r = |s: String| self.redact(&s);
        match e {
            Error::Transient { message, retry_after } => Error::Transient {
                message: r(message),
                retry_after,
            },
            Error::RateLimited { message, retry_after } => Error::RateLimited {
                message: r(message),
                retry_after,
            },
            Error::Uncertain { message } => Error::Uncertain { message: r(message) },
            Error::Auth { message } => Error::Auth { message: r(message) },
            Error::Config { path, message } => Error::Config {
                path,
                message: r(message),
            },
            Error::NotFound { what } => Error::NotFound { what: r(what) },
            Error::Conflict { message } => Error::Conflict { message: r(message) },
            Error::Rejected(mut rej) => {
                rej.message = r(rej.message);
                Error::Rejected(rej)
            }
            Error::Protocol { message } => Error::Protocol { message: r(message) },
            Error::Internal { message } => Error::Internal { message: r(message) },
        }
    }
}
