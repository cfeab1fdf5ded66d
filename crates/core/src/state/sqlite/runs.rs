//! The `runs` table: one row per flow of a run, newest first for `status`.

use rusqlite::{params, Connection, Row};

use super::convert::{json_text, parse_flow, parse_json, parse_ts, ts};
use crate::flows::Flow;
use crate::state::RunRecord;

const RUN_COLS: &str =
    "run_id, pair, flow, mode, started_at, finished_at, status, read, created, updated, unchanged, quarantined, error, report";

fn run_row(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        run_id: r.get(0)?,
        pair: r.get(1)?,
        flow: parse_flow(&r.get::<_, String>(2)?)?,
        mode: r.get(3)?,
        started_at: parse_ts(&r.get::<_, String>(4)?)?,
        finished_at: parse_ts(&r.get::<_, String>(5)?)?,
        status: r.get(6)?,
        read: r.get::<_, i64>(7)? as u64,
        created: r.get::<_, i64>(8)? as u64,
        updated: r.get::<_, i64>(9)? as u64,
        unchanged: r.get::<_, i64>(10)? as u64,
        quarantined: r.get::<_, i64>(11)? as u64,
        error: r.get(12)?,
        report: parse_json(&r.get::<_, String>(13)?)?,
    })
}

/// Stores a run record (replacing the one of the same run and flow).
pub(super) fn record(c: &Connection, run: &RunRecord) -> rusqlite::Result<()> {
    c.execute(
        &format!("INSERT OR REPLACE INTO runs ({RUN_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
        params![
            run.run_id,
            run.pair,
            run.flow.as_str(),
            run.mode,
            ts(&run.started_at),
            ts(&run.finished_at),
            run.status,
            run.read as i64,
            run.created as i64,
            run.updated as i64,
            run.unchanged as i64,
            run.quarantined as i64,
            run.error,
            json_text(&run.report),
        ],
    )?;
    Ok(())
}

/// The latest `limit` run records of a pair (of one flow, or all), newest first.
pub(super) fn recent(
    c: &Connection,
    pair: &str,
    flow: Option<Flow>,
    limit: usize,
) -> rusqlite::Result<Vec<RunRecord>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {RUN_COLS} FROM runs WHERE pair = ?1 AND (?2 IS NULL OR flow = ?2)
                 ORDER BY started_at DESC, rowid DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![pair, flow.map(|f| f.as_str()), limit as i64], run_row)?;
    rows.collect()
}
