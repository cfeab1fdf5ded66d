//! The `cursors` table: per pair and flow, the modification time read up to.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::convert::{parse_flow, parse_ts, ts};
use crate::flows::Flow;
use crate::state::CursorRecord;

/// The cursor of a flow, if it has one.
pub(super) fn get(c: &Connection, pair: &str, flow: Flow) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let s: Option<String> = c
        .query_row(
            "SELECT cursor FROM cursors WHERE pair = ?1 AND flow = ?2",
            params![pair, flow.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    s.as_deref().map(parse_ts).transpose()
}

/// Moves the cursor of a flow.
pub(super) fn set(c: &Connection, pair: &str, flow: Flow, cursor: DateTime<Utc>) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT OR REPLACE INTO cursors (pair, flow, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![pair, flow.as_str(), ts(&cursor), ts(&Utc::now())])?;
    Ok(())
}

/// Every cursor of a pair, by flow.
pub(super) fn list(c: &Connection, pair: &str) -> rusqlite::Result<Vec<CursorRecord>> {
    let mut stmt =
        c.prepare("SELECT pair, flow, cursor, updated_at FROM cursors WHERE pair = ?1 ORDER BY flow")?;
    let rows = stmt.query_map([pair], |r| {
        Ok(CursorRecord {
            pair: r.get(0)?,
            flow: parse_flow(&r.get::<_, String>(1)?)?,
            cursor: parse_ts(&r.get::<_, String>(2)?)?,
            updated_at: parse_ts(&r.get::<_, String>(3)?)?,
        })
    })?;
    rows.collect()
}
