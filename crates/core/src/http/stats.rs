//! Request counters: per method, endpoint and status, with totals and retries.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One row of the request counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCount {
    /// HTTP method.
    pub method: String,
    /// Endpoint template, e.g. `/verkooporders` or `/products/{sku}`.
    pub endpoint: String,
    /// Status; 0 when no response came (timeout, connection error).
    pub status: u16,
    /// How many.
    pub count: u64,
}

/// Request counters of one client, readable at any time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Requests sent, including retries.
    pub total: u64,
    /// Of those, retries.
    pub retries: u64,
    /// Counts by method, endpoint and status.
    pub requests: Vec<RequestCount>,
}

impl StatsSnapshot {
    /// Adds another snapshot (a connector with several clients).
    pub fn merge(mut self, other: StatsSnapshot) -> StatsSnapshot {
        self.total += other.total;
        self.retries += other.retries;
        let mut map: BTreeMap<(String, String, u16), u64> = BTreeMap::new();
        for r in self.requests.drain(..).chain(other.requests) {
            *map.entry((r.method, r.endpoint, r.status)).or_default() += r.count;
        }
        self.requests = map
            .into_iter()
            .map(|((method, endpoint, status), count)| RequestCount {
                method,
                endpoint,
                status,
                count,
            })
            .collect();
        self
    }

    /// Requests counted since `earlier` (for per-flow figures).
    pub fn since(&self, earlier: &StatsSnapshot) -> u64 {
        self.total.saturating_sub(earlier.total)
    }
}

/// The live counters behind [`StatsSnapshot`].
#[derive(Default)]
pub(super) struct Stats {
    counts: Mutex<BTreeMap<(String, String, u16), u64>>,
    total: AtomicU64,
    retries: AtomicU64,
}

impl Stats {
    pub(super) fn record(&self, method: &str, endpoint: &str, status: u16) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *c.entry((method.to_owned(), endpoint.to_owned(), status))
            .or_default() += 1;
    }

    /// Counts one retry.
    pub(super) fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> StatsSnapshot {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        StatsSnapshot {
            total: self.total.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            requests: c
                .iter()
                .map(|((m, e, s), n)| RequestCount {
                    method: m.clone(),
                    endpoint: e.clone(),
                    status: *s,
                    count: *n,
                })
                .collect(),
        }
    }
}
