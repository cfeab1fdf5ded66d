//! The `bindings` table: which target record a source record was written to, with the hash
//! and payload last written.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::convert::{json_text, parse_json, parse_kind, parse_ts, ts};
use crate::model::Kind;
use crate::state::Binding;

const BINDING_COLS: &str = "pair, kind, key, target_id, source_id, hash, payload, updated_at";

fn binding_row(r: &Row<'_>) -> rusqlite::Result<Binding> {
    Ok(Binding {
        pair: r.get(0)?,
        kind: parse_kind(&r.get::<_, String>(1)?)?,
        key: r.get(2)?,
        target_id: r.get(3)?,
        source_id: r.get(4)?,
        hash: r.get(5)?,
        payload: parse_json(&r.get::<_, String>(6)?)?,
        updated_at: parse_ts(&r.get::<_, String>(7)?)?,
    })
}

/// The binding of one record, if any.
pub(super) fn get(c: &Connection, pair: &str, kind: Kind, key: &str) -> rusqlite::Result<Option<Binding>> {
    c.prepare_cached(&format!(
        "SELECT {BINDING_COLS} FROM bindings WHERE pair = ?1 AND kind = ?2 AND key = ?3"
    ))?
    .query_row(params![pair, kind.as_str(), key], binding_row)
    .optional()
}

/// Every binding of a kind, by key.
pub(super) fn list(c: &Connection, pair: &str, kind: Kind) -> rusqlite::Result<Vec<Binding>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {BINDING_COLS} FROM bindings WHERE pair = ?1 AND kind = ?2 ORDER BY key"
    ))?;
    let rows = stmt.query_map(params![pair, kind.as_str()], binding_row)?;
    rows.collect()
}

/// Stores a binding (replacing the record's previous one).
pub(super) fn put(conn: &Connection, b: &Binding) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO bindings ({BINDING_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))?
    .execute(params![
        b.pair,
        b.kind.as_str(),
        b.key,
        b.target_id,
        b.source_id,
        b.hash,
        json_text(&b.payload),
        ts(&b.updated_at)
    ])?;
    Ok(())
}
