//! The `journal` table: an intent before every remote write (synced to disk), and its outcome
//! after it, committed with the binding it produced.

use chrono::Utc;
use rusqlite::{params, Connection, Row};

use super::convert::{conv_err, json_text, parse_json, parse_kind, parse_ts, ts};
use super::tx::{synced, write_tx};
use super::{bindings, quarantine};
use crate::model::Kind;
use crate::state::{JournalEntry, JournalOutcome, NewIntent, WriteCompletion, WriteOp};

const JOURNAL_COLS: &str =
    "id, run_id, pair, kind, key, op, target_id, payload, intent_at, outcome, outcome_target_id, detail, outcome_at";

fn journal_row(r: &Row<'_>) -> rusqlite::Result<JournalEntry> {
    let op: String = r.get(5)?;
    let outcome: Option<String> = r.get(9)?;
    let outcome_at: Option<String> = r.get(12)?;
    Ok(JournalEntry {
        id: r.get(0)?,
        run_id: r.get(1)?,
        pair: r.get(2)?,
        kind: parse_kind(&r.get::<_, String>(3)?)?,
        key: r.get(4)?,
        op: match op.as_str() {
            "create" => WriteOp::Create,
            "update" => WriteOp::Update,
            other => return Err(conv_err(format!("unknown journal op {other:?}"))),
        },
        target_id: r.get(6)?,
        payload: parse_json(&r.get::<_, String>(7)?)?,
        intent_at: parse_ts(&r.get::<_, String>(8)?)?,
        outcome: match outcome {
            None => None,
            Some(o) => {
                Some(JournalOutcome::parse(&o).ok_or_else(|| conv_err(format!("unknown outcome {o:?}")))?)
            }
        },
        outcome_target_id: r.get(10)?,
        detail: r.get(11)?,
        outcome_at: outcome_at.as_deref().map(parse_ts).transpose()?,
    })
}

/// Stores the intents of a batch in one synced transaction; returns their journal ids.
pub(super) fn add_intents(c: &mut Connection, intents: &[NewIntent]) -> rusqlite::Result<Vec<i64>> {
    synced(c, |tx| {
        let now = ts(&Utc::now());
        let mut stmt = tx.prepare_cached(
            "INSERT INTO journal (run_id, pair, kind, key, op, target_id, payload, intent_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut ids = Vec::with_capacity(intents.len());
        for i in intents {
            ids.push(stmt.insert(params![
                i.run_id,
                i.pair,
                i.kind.as_str(),
                i.key,
                i.op.as_str(),
                i.target_id,
                json_text(&i.payload),
                now
            ])?);
        }
        Ok(ids)
    })
}

/// Stores the outcomes of a batch in one transaction: with the binding a write produced (and
/// its record out of quarantine), or an outcome alone.
pub(super) fn complete(c: &mut Connection, completions: &[WriteCompletion]) -> rusqlite::Result<()> {
    write_tx(c, |tx| {
        for done in completions {
            match done {
                WriteCompletion::Bound {
                    journal_id,
                    outcome,
                    binding,
                    label,
                } => {
                    if let Some(id) = journal_id {
                        set_outcome(tx, *id, *outcome, Some(&binding.target_id), None)?;
                    }
                    bindings::put(tx, binding)?;
                    quarantine::release_bound(tx, binding, label)?;
                }
                WriteCompletion::Outcome {
                    journal_id,
                    outcome,
                    target_id,
                    detail,
                } => set_outcome(tx, *journal_id, *outcome, target_id.as_deref(), detail.as_deref())?,
            }
        }
        Ok(())
    })
}

/// Stores an intent's outcome; a journal row that does not exist is an error (an outcome
/// never goes nowhere silently).
fn set_outcome(
    conn: &Connection,
    id: i64,
    outcome: JournalOutcome,
    target_id: Option<&str>,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE journal SET outcome = ?2, outcome_target_id = ?3, detail = ?4, outcome_at = ?5 WHERE id = ?1",
        )?
        .execute(params![id, outcome.as_str(), target_id, detail, ts(&Utc::now())])?;
    if n == 0 {
        return Err(conv_err(format!("journal row {id} does not exist")));
    }
    Ok(())
}

/// The intents of a kind that have no outcome yet, oldest first.
pub(super) fn open_intents(c: &Connection, pair: &str, kind: Kind) -> rusqlite::Result<Vec<JournalEntry>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {JOURNAL_COLS} FROM journal WHERE pair = ?1 AND kind = ?2 AND outcome IS NULL ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![pair, kind.as_str()], journal_row)?;
    rows.collect()
}

/// The latest `limit` journal entries of a pair, newest first.
pub(super) fn recent(c: &Connection, pair: &str, limit: usize) -> rusqlite::Result<Vec<JournalEntry>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {JOURNAL_COLS} FROM journal WHERE pair = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![pair, limit as i64], journal_row)?;
    rows.collect()
}
