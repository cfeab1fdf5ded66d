//! Test controls on orders: edits during a read, records changing under a keyset read.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{App, St};
use crate::control::RecordsChange;

/// What `POST /_sandbox/magento/edit-during-read` armed.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditDuringRead {
    /// `orders` (the only resource edited so far).
    pub resource: String,
    /// Full pages to serve before the edit.
    pub after_pages: u32,
    /// Orders to change.
    pub count: usize,
}

impl App {
    /// After the armed number of full pages of `resource`: the first `count` records of the
    /// page just served (`served`, their ids) get `updated_at` = now, as when a shop owner
    /// edits orders in the admin that koppel has just read.
    pub(super) fn edit_during_read(&self, resource: &str, served: &[u64]) {
        let mut plan = self.edit_plan.lock().unwrap_or_else(|p| p.into_inner());
        let Some(p) = plan.as_mut() else { return };
        if p.resource != resource {
            return;
        }
        p.after_pages = p.after_pages.saturating_sub(1);
        if p.after_pages > 0 {
            return;
        }
        let count = p.count;
        *plan = None;
        drop(plan);
        let now = json!(crate::magento::wire::ts(chrono::Utc::now().naive_utc()));
        let mut shop = self.shop();
        for id in served.iter().take(count) {
            if let Some(o) = shop.orders.get_mut(id) {
                o["updated_at"] = now.clone();
            }
        }
    }
}

/// `POST /_sandbox/magento/edit-during-read {"resource": "orders", "after_pages": 1, "count":
/// 3}`: after that many full pages of `GET /V1/orders` (a page of `pageSize` orders: a paged
/// read), the first `count` orders of that page change (`updated_at` = now). One-shot.
pub async fn control_edit_during_read(State(app): St, Json(req): Json<EditDuringRead>) -> Response {
    if req.resource != "orders" {
        return (StatusCode::BAD_REQUEST, "only resource \"orders\" is supported").into_response();
    }
    *app.edit_plan.lock().unwrap_or_else(|p| p.into_inner()) = Some(req);
    Json(json!({})).into_response()
}

/// `POST /_sandbox/magento/records {"resource", "change", "remove", "add"}`: records changed,
/// deleted and created in the shop by someone else (for the paging-under-change check).
/// Answers `{"added": [keys]}`.
pub async fn control_records(State(app): St, Json(req): Json<RecordsChange>) -> Response {
    let now = json!(crate::magento::wire::ts(chrono::Utc::now().naive_utc()));
    let mut shop = app.shop();
    let (map, key_field) = match req.resource.as_str() {
        "orders" => (&mut shop.orders, "increment_id"),
        "customers" => (&mut shop.customers, "id"),
        _ => return (StatusCode::BAD_REQUEST, "resource must be orders or customers").into_response(),
    };
    let key_of = |v: &Value| match &v[key_field] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for r in map.values_mut() {
        if req.change.contains(&key_of(r)) {
            r["updated_at"] = now.clone();
        }
    }
    map.retain(|_, r| !req.remove.contains(&key_of(r)));
    let mut added = Vec::new();
    for _ in 0..req.add {
        let (Some(&last), Some(template)) = (map.keys().next_back(), map.values().next_back().cloned())
        else {
            break;
        };
        let id = last + 1;
        let mut r = template;
        r["updated_at"] = now.clone();
        if req.resource == "orders" {
            r["entity_id"] = json!(id);
            r["increment_id"] = json!(format!("{id:09}"));
        } else {
            r["id"] = json!(id);
            r["email"] = json!(format!("added-{id}@example.com"));
        }
        added.push(key_of(&r));
        map.insert(id, r);
    }
    Json(json!({ "added": added })).into_response()
}
