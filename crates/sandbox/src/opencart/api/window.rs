//! The `(modified, id)` keyset window and page size of `orders.list` and `customers.list`.

use chrono::{DateTime, Utc};
use serde_json::Value;

fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// `(modified, id)` keyset window and order, as the bridge's SQL does it.
pub(super) fn in_window(req: &Value, modified: DateTime<Utc>, id: u64) -> bool {
    let secs = |t: DateTime<Utc>| t.timestamp();
    let m = secs(modified);
    if parse_time(&req["since"]).is_some_and(|s| m <= secs(s)) {
        return false;
    }
    if parse_time(&req["until"]).is_some_and(|u| m > secs(u)) {
        return false;
    }
    if let Some(aid) = req["after"]["id"].as_u64() {
        return match parse_time(&req["after"]["modified"]) {
            Some(am) => m > secs(am) || (m == secs(am) && id > aid),
            None => id > aid,
        };
    }
    true
}

pub(super) fn limit(req: &Value, default: usize) -> usize {
    req["limit"]
        .as_u64()
        .map(|l| l as usize)
        .unwrap_or(default)
        .clamp(1, 500)
}
