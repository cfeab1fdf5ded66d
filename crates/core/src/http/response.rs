//! A response read to the end ([`RawResponse`]) and how a non-2xx one becomes an [`Error`]
//! ([`default_classify`], [`Classifier`]).

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use super::parse_retry_after;
use crate::error::{Error, Rejection, Result};

/// A response read to the end.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Parses the JSON body; a mismatch is a [`Error::Protocol`] naming the JSON path.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        let de = &mut serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(de)
            .map_err(|e| Error::protocol(format!("unreadable response body at {}: {}", e.path(), e.inner())))
    }

    /// The `Retry-After` header as a duration (seconds or HTTP date).
    pub fn retry_after(&self) -> Option<Duration> {
        parse_retry_after(&self.headers)
    }
}

/// The status-based classification every connector starts from; connectors parse their own
/// error bodies first and fall back to this.
pub fn default_classify(resp: &RawResponse) -> Error {
    let status = resp.status;
    let snippet: String = resp.text().chars().take(500).collect();
    match status.as_u16() {
        400 | 422 => Error::Rejected(Rejection::new("", None, format!("HTTP {status}: {snippet}"))),
        401 => Error::Auth {
            message: format!("HTTP 401 unauthorised: check the credentials ({snippet})"),
        },
        403 => Error::Auth {
            message: format!("HTTP 403 forbidden: the credentials lack a permission ({snippet})"),
        },
        404 => Error::NotFound {
            what: format!("HTTP 404: {snippet}"),
        },
        409 => Error::Conflict {
            message: format!("HTTP 409: {snippet}"),
        },
        429 => Error::RateLimited {
            message: format!("HTTP 429: {snippet}"),
            retry_after: resp.retry_after(),
        },
        500..=599 => Error::Transient {
            message: format!("HTTP {status}: {snippet}"),
            retry_after: resp.retry_after(),
        },
        _ => Error::protocol(format!("unexpected HTTP {status}: {snippet}")),
    }
}

/// Turns a non-2xx response into an error.
pub type Classifier = Arc<dyn Fn(&RawResponse) -> Error + Send + Sync>;
