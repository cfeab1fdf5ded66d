//! The `quarantine` table: records that could not be synced, why, and when to try again.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::convert::{json_text, parse_flow, parse_json, parse_kind, parse_ts, ts};
use crate::flows::Flow;
use crate::model::Kind;
use crate::state::{Binding, QuarantineEntry};

const QUARANTINE_COLS: &str = "pair, flow, kind, key, label, field, code, reason, error_class, payload, attempts, first_at, last_at, next_attempt";

fn quarantine_row(r: &Row<'_>) -> rusqlite::Result<QuarantineEntry> {
    let payload: Option<String> = r.get(9)?;
    Ok(QuarantineEntry {
        pair: r.get(0)?,
        flow: parse_flow(&r.get::<_, String>(1)?)?,
        kind: parse_kind(&r.get::<_, String>(2)?)?,
        key: r.get(3)?,
        label: r.get(4)?,
        field: r.get(5)?,
        code: r.get(6)?,
        reason: r.get(7)?,
        error_class: r.get(8)?,
        payload: payload.as_deref().map(parse_json).transpose()?,
        attempts: r.get(10)?,
        first_at: parse_ts(&r.get::<_, String>(11)?)?,
        last_at: parse_ts(&r.get::<_, String>(12)?)?,
        next_attempt: parse_ts(&r.get::<_, String>(13)?)?,
    })
}

/// Stores a quarantine entry (replacing the record's previous one).
pub(super) fn put(c: &Connection, q: &QuarantineEntry) -> rusqlite::Result<()> {
    c.prepare_cached(&format!(
        "INSERT OR REPLACE INTO quarantine ({QUARANTINE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    ))?
    .execute(params![
        q.pair,
        q.flow.as_str(),
        q.kind.as_str(),
        q.key,
        q.label,
        q.field,
        q.code,
        q.reason,
        q.error_class,
        q.payload.as_ref().map(json_text),
        q.attempts,
        ts(&q.first_at),
        ts(&q.last_at),
        ts(&q.next_attempt),
    ])?;
    Ok(())
}

/// The quarantine entry of one record, if any.
pub(super) fn get(
    c: &Connection,
    pair: &str,
    kind: Kind,
    key: &str,
) -> rusqlite::Result<Option<QuarantineEntry>> {
    c.prepare_cached(&format!(
        "SELECT {QUARANTINE_COLS} FROM quarantine WHERE pair = ?1 AND kind = ?2 AND key = ?3"
    ))?
    .query_row(params![pair, kind.as_str(), key], quarantine_row)
    .optional()
}

/// The quarantined records of a pair (of one flow, or all), oldest first.
pub(super) fn list(c: &Connection, pair: &str, flow: Option<Flow>) -> rusqlite::Result<Vec<QuarantineEntry>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {QUARANTINE_COLS} FROM quarantine WHERE pair = ?1 AND (?2 IS NULL OR flow = ?2)
                 ORDER BY first_at, key"
    ))?;
    let rows = stmt.query_map(params![pair, flow.map(|f| f.as_str())], quarantine_row)?;
    rows.collect()
}

/// Takes one record out of quarantine; returns whether it was there.
pub(super) fn release(c: &Connection, pair: &str, kind: Kind, key: &str) -> rusqlite::Result<bool> {
    let n = c.execute(
        "DELETE FROM quarantine WHERE pair = ?1 AND kind = ?2 AND key = ?3",
        params![pair, kind.as_str(), key],
    )?;
    Ok(n > 0)
}

/// Takes a record that was just written out of quarantine, under its key or its label.
pub(super) fn release_bound(c: &Connection, binding: &Binding, label: &str) -> rusqlite::Result<()> {
    c.prepare_cached("DELETE FROM quarantine WHERE pair = ?1 AND kind = ?2 AND key IN (?3, ?4)")?
        .execute(params![binding.pair, binding.kind.as_str(), binding.key, label])?;
    Ok(())
}
