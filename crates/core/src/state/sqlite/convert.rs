//! How values are kept in SQLite text columns (timestamps, kinds, flows, JSON) and how
//! SQLite errors become koppel errors.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::Error;
use crate::flows::Flow;
use crate::model::Kind;

/// A SQLite error as an internal error of the state store.
pub(super) fn db_err(e: rusqlite::Error) -> Error {
    Error::internal(format!("state store: {e}"))
}

/// A timestamp as stored: RFC 3339, microseconds, `Z`.
pub(super) fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A stored timestamp read back.
pub(super) fn parse_ts(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

/// A stored value that does not read back, as a conversion error.
pub(super) fn conv_err(msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(std::io::Error::other(msg)),
    )
}

/// A stored record kind read back.
pub(super) fn parse_kind(s: &str) -> rusqlite::Result<Kind> {
    Kind::parse(s).ok_or_else(|| conv_err(format!("unknown kind {s:?}")))
}

/// A stored flow read back.
pub(super) fn parse_flow(s: &str) -> rusqlite::Result<Flow> {
    Flow::parse(s).ok_or_else(|| conv_err(format!("unknown flow {s:?}")))
}

/// A stored JSON document read back.
pub(super) fn parse_json(s: &str) -> rusqlite::Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| conv_err(format!("bad JSON in state: {e}")))
}

/// A JSON document as stored.
pub(super) fn json_text(v: &serde_json::Value) -> String {
    v.to_string()
}
