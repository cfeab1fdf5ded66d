//! `orders.list`, `history.check` and `history.add`: confirmed orders keyset-paged, and order
//! history deduplicated by marker.

use chrono::Utc;
use serde_json::{json, Value};

use super::window::{in_window, limit};
use super::{item_error, items, Answer, App};

pub(super) fn orders_list(app: &App, req: &Value) -> Answer {
    let statuses: Vec<u32> = req["statuses"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_u64())
                .filter(|s| *s > 0)
                .map(|s| s as u32)
                .collect()
        })
        .unwrap_or_default();
    if statuses.is_empty() {
        return Err("statuses: at least one order_status_id > 0".into());
    }
    let shop = app.shop();
    let mut hits: Vec<_> = shop
        .orders
        .values()
        .filter(|o| o.status > 0 && statuses.contains(&o.status) && in_window(req, o.modified, o.id))
        .collect();
    hits.sort_by_key(|o| (o.modified.timestamp(), o.id));
    let n = limit(req, 50);
    let more = hits.len() > n;
    let out: Vec<Value> = hits
        .into_iter()
        .take(n)
        .map(|o| {
            let mut w = o.wire.clone();
            w["order_status_id"] = o.status.into();
            w["order_status"] = shop.statuses.get(&o.status).cloned().into();
            w["date_modified"] = o.modified.format("%Y-%m-%dT%H:%M:%SZ").to_string().into();
            w
        })
        .collect();
    Ok(json!({"items": out, "more": more}))
}

pub(super) fn history_check(app: &App, req: &Value) -> Answer {
    let shop = app.shop();
    let out: Vec<Value> = items(req)?
        .iter()
        .map(|it| {
            let id = it["order_id"].as_u64().unwrap_or(0);
            let marker = it["marker"].as_str().unwrap_or("");
            match shop.orders.get(&id) {
                None => json!({"order_id": id, "found": false}),
                Some(o) => {
                    let h = (!marker.is_empty())
                        .then(|| o.history.iter().position(|(_, c)| c.contains(marker)))
                        .flatten();
                    json!({"order_id": id, "found": true, "order_status_id": o.status,
                        "history_id": h.map(|i| id * 1000 + i as u64)})
                }
            }
        })
        .collect();
    Ok(json!({ "items": out }))
}

/// OpenCart's defaults: config_processing_status 5,1,2,12,3 and config_complete_status 5,3.
const STOCK_STATUSES: [u32; 5] = [5, 1, 2, 12, 3];

pub(super) fn history_add(app: &App, req: &Value) -> Answer {
    let mut shop = app.shop();
    let mut out = Vec::new();
    for it in items(req)? {
        let id = it["order_id"].as_u64().unwrap_or(0);
        let marker = it["marker"].as_str().unwrap_or("").to_owned();
        let comment = it["comment"].as_str().unwrap_or("").to_owned();
        if marker.is_empty() || !comment.contains(&marker) {
            out.push(json!({"order_id": id, "error": item_error("marker", "must be non-empty and part of the comment")}));
            continue;
        }
        let known: Vec<u32> = shop.statuses.keys().copied().collect();
        let Some(o) = shop.orders.get_mut(&id) else {
            out.push(json!({"order_id": id, "error": item_error("order_id", format!("no order {id} in the shop"))}));
            continue;
        };
        if o.status == 0 {
            out.push(json!({"order_id": id, "error": item_error("order_id", format!("order {id} was never confirmed (status 0)"))}));
            continue;
        }
        if let Some(i) = o.history.iter().position(|(_, c)| c.contains(&marker)) {
            out.push(json!({"order_id": id, "history_id": id * 1000 + i as u64, "existing": true}));
            continue;
        }
        let new = it["order_status_id"]
            .as_u64()
            .map(|s| s as u32)
            .unwrap_or(o.status);
        if !known.contains(&new) {
            out.push(json!({"order_id": id, "error": item_error("order_status_id", format!("status {new} does not exist in the shop"))}));
            continue;
        }
        if STOCK_STATUSES.contains(&o.status) != STOCK_STATUSES.contains(&new) {
            out.push(json!({"order_id": id, "error": item_error("order_status_id",
                format!("moving order {id} from status {} to {new} would change stock in OpenCart; the bridge does not do that", o.status))}));
            continue;
        }
        o.status = new;
        o.modified = Utc::now();
        o.history.push((new, comment));
        out.push(
            json!({"order_id": id, "history_id": id * 1000 + o.history.len() as u64 - 1, "existing": false}),
        );
    }
    Ok(json!({ "items": out }))
}
