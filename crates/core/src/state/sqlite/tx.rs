//! Write transactions and how durably each commits (see [`SqliteStore`](super::SqliteStore)'s
//! docs on which commits are synced).

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// Runs `f` in an IMMEDIATE transaction (the write lock is taken before the first read, so a
/// second process makes it wait instead of failing it mid-way) committed with the connection's
/// `synchronous` setting (NORMAL).
pub(super) fn write_tx<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let v = f(&tx)?;
    tx.commit()?;
    Ok(v)
}

/// Like [`write_tx`], but the commit is fsynced before it returns (`synchronous=FULL` for this
/// transaction, NORMAL again after it whatever happened).
pub(super) fn synced<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.pragma_update(None, "synchronous", "FULL")?;
    let r = write_tx(conn, f);
    let back = conn.pragma_update(None, "synchronous", "NORMAL");
    let v = r?;
    back?;
    Ok(v)
}
