//! Page tokens that stay correct while records change under them.
//!
//! The rule every [`Source`](crate::Source) follows: **a page token must stay correct while
//! records change, appear and disappear between two page reads.** Offset paging (`$skip`,
//! `currentPage`, `limit=offset,n`) inside a `since < modified <= until` window breaks it: a
//! record on an earlier page that changes leaves the window, every later record shifts one
//! place back, and one unchanged record falls between two pages and is never read.
//!
//! A keyset token instead names the last record read, and the next page asks for records
//! *after* it in a total order the API can filter and sort on: `(modified, id)` where the API
//! can express "modified > m, or modified = m and id > i", or the id alone (every record of
//! the window with an id above the last one; a record that changes during the read moves out
//! of the window or stays at its id, and nothing else moves).

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The position after the last record read: its change time (for `(modified, id)` order) and
/// its id. Ids compare as numbers when both are numeric, else as text (see [`Keyset::after`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyset {
    /// Change time of the last record read, for sources ordered by `(modified, id)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<DateTime<Utc>>,
    /// Id of the last record read.
    pub id: String,
}

impl Keyset {
    /// The position after the record with this id (id order).
    pub fn after_id(id: impl Into<String>) -> Self {
        Keyset {
            modified: None,
            id: id.into(),
        }
    }

    /// The position after the record with this change time and id (`(modified, id)` order).
    pub fn after(modified: Option<DateTime<Utc>>, id: impl Into<String>) -> Self {
        Keyset {
            modified,
            id: id.into(),
        }
    }

    /// The opaque token of this position.
    pub fn encode(&self) -> String {
        encode_token(self)
    }

    /// Parses a token made by [`Keyset::encode`].
    pub fn decode(token: &str) -> Result<Self> {
        decode_token(token)
    }

    /// The id as a number, for APIs that filter numeric ids (`entity_id > 41`).
    pub fn numeric_id(&self) -> Result<u64> {
        self.id
            .parse()
            .map_err(|_| Error::protocol(format!("page token: id {:?} is not a number", self.id)))
    }

    /// Whether a record with this change time and id comes after this position.
    pub fn is_before(&self, modified: Option<DateTime<Utc>>, id: &str) -> bool {
        let ids = compare_ids(&self.id, id);
        match (self.modified, modified) {
            (Some(m), Some(n)) if m != n => n > m,
            _ => ids == std::cmp::Ordering::Less,
        }
    }
}

/// Compares ids numerically when both are integers, else as text.
pub fn compare_ids(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u128>(), b.parse::<u128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// Encodes any page state as an opaque token (JSON text).
pub fn encode_token<T: Serialize>(state: &T) -> String {
    serde_json::to_string(state).unwrap_or_default()
}

/// Decodes a token made by [`encode_token`]; a token that does not parse is a protocol error
/// naming it (tokens are only ever made by the same source).
pub fn decode_token<T: DeserializeOwned>(token: &str) -> Result<T> {
    serde_json::from_str(token)
        .map_err(|e| Error::protocol(format!("page token {token:?} is not valid: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders() {
        let k = Keyset::after(Some("2026-01-01T00:00:00Z".parse().unwrap()), "10");
        assert_eq!(Keyset::decode(&k.encode()).unwrap(), k);
        assert!(k.is_before(Some("2026-01-01T00:00:00Z".parse().unwrap()), "11"));
        assert!(!k.is_before(Some("2026-01-01T00:00:00Z".parse().unwrap()), "9"));
        assert!(k.is_before(Some("2026-01-02T00:00:00Z".parse().unwrap()), "1"));
        let i = Keyset::after_id("9");
        assert!(i.is_before(None, "10"));
        assert_eq!(i.numeric_id().unwrap(), 9);
        assert!(Keyset::decode("nope").is_err());
    }
}
