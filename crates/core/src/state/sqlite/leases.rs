//! The `leases` table: which process syncs a pair, until when (one at a time per pair).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::convert::{db_err, parse_ts, ts};
use super::tx::write_tx;
use crate::error::{Error, Result};
use crate::state::Lease;

/// A lease's time to live as a chrono delta.
pub(super) fn ttl_delta(ttl: Duration) -> Result<chrono::TimeDelta> {
    chrono::TimeDelta::from_std(ttl).map_err(|e| Error::internal(format!("lease ttl: {e}")))
}

fn lease_row(r: &Row<'_>) -> rusqlite::Result<Lease> {
    Ok(Lease {
        pair: r.get(0)?,
        holder: r.get(1)?,
        acquired_at: parse_ts(&r.get::<_, String>(2)?)?,
        expires_at: parse_ts(&r.get::<_, String>(3)?)?,
    })
}

/// The lease on a pair, if any (expired or not).
pub(super) fn get(conn: &Connection, pair: &str) -> rusqlite::Result<Option<Lease>> {
    conn.query_row(
        "SELECT pair, holder, acquired_at, expires_at FROM leases WHERE pair = ?1",
        [pair],
        lease_row,
    )
    .optional()
}

fn busy_message(l: &Lease) -> String {
    format!(
        "pair {} is being synced by {} since {}, lease expires at {}",
        l.pair,
        l.holder,
        ts(&l.acquired_at),
        ts(&l.expires_at)
    )
}

/// Takes the lease on `pair` for `holder` until `expires_at`, unless another holder's lease
/// is still running ([`Error::Conflict`]).
pub(super) fn acquire(
    c: &mut Connection,
    pair: String,
    holder: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Lease> {
    // The write lock is taken before reading (IMMEDIATE, in `write_tx`), so two processes
    // cannot both see the lease free.
    let busy = write_tx(c, |tx| {
        if let Some(l) = get(tx, &pair)? {
            if l.holder != holder && l.expires_at > now {
                return Ok(Some(l));
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO leases (pair, holder, acquired_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![pair, holder, ts(&now), ts(&expires_at)],
        )?;
        Ok(None)
    })
    .map_err(db_err)?;
    match busy {
        Some(l) => Err(Error::Conflict {
            message: busy_message(&l),
        }),
        None => Ok(Lease {
            pair,
            holder,
            acquired_at: now,
            expires_at,
        }),
    }
}

/// Extends `holder`'s lease on `pair` to `expires_at`; a lease no longer held is an
/// [`Error::Conflict`].
pub(super) fn renew(
    c: &mut Connection,
    pair: &str,
    holder: &str,
    expires_at: DateTime<Utc>,
) -> Result<Lease> {
    let renewed = write_tx(c, |tx| {
        let current = get(tx, pair)?;
        let Some(mut lease) = current.filter(|l| l.holder == holder) else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE leases SET expires_at = ?3 WHERE pair = ?1 AND holder = ?2",
            params![pair, holder, ts(&expires_at)],
        )?;
        lease.expires_at = expires_at;
        Ok(Some(lease))
    })
    .map_err(db_err)?;
    renewed.ok_or_else(|| Error::Conflict {
        message: format!("lease on pair {pair} was lost by {holder}"),
    })
}

/// Gives up `holder`'s lease on `pair` (nothing when another holds it).
pub(super) fn release(c: &Connection, pair: &str, holder: &str) -> rusqlite::Result<()> {
    c.execute(
        "DELETE FROM leases WHERE pair = ?1 AND holder = ?2",
        params![pair, holder],
    )?;
    Ok(())
}
