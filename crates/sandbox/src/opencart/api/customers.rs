//! `customers.list`: customers keyset-paged on `(changed_at, customer_id)`.

use serde_json::{json, Value};

use super::window::{in_window, limit};
use super::{Answer, App};

pub(super) fn customers_list(app: &App, req: &Value) -> Answer {
    let shop = app.shop();
    let mut hits: Vec<_> = shop
        .customers
        .values()
        .filter(|c| in_window(req, c.changed_at, c.id))
        .collect();
    hits.sort_by_key(|c| (c.changed_at.timestamp(), c.id));
    let n = limit(req, 100);
    let more = hits.len() > n;
    let out: Vec<Value> = hits
        .into_iter()
        .take(n)
        .map(|c| {
            let mut w = c.wire.clone();
            w["changed_at"] = c.changed_at.format("%Y-%m-%dT%H:%M:%SZ").to_string().into();
            w
        })
        .collect();
    Ok(json!({"items": out, "more": more}))
}
