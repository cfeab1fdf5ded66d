//! The sandbox's own control endpoint: records changed by someone else while koppel reads.

use std::sync::Arc;

use serde_json::json;

use super::App;
use crate::control::RecordsChange;

/// `POST /_sandbox/opencart/records {"resource", "change", "remove", "add"}`: orders or
/// customers changed, deleted and created in the shop by someone else while koppel reads (for
/// the conformance kit's paging-under-change check). Answers `{"added": [ids]}`.
pub(in crate::opencart) async fn control_records(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    axum::Json(req): axum::Json<RecordsChange>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let later = chrono::Utc::now();
    let wanted = |list: &[String], id: u64| list.iter().any(|k| k == &id.to_string());
    let mut shop = app.shop();
    let mut added = Vec::new();
    match req.resource.as_str() {
        "orders" => {
            for o in shop.orders.values_mut() {
                if wanted(&req.change, o.id) {
                    o.modified = later;
                }
            }
            shop.orders.retain(|id, _| !wanted(&req.remove, *id));
            for _ in 0..req.add {
                let Some(mut o) = shop.orders.values().next_back().cloned() else {
                    break;
                };
                o.id += 1;
                o.wire["order_id"] = o.id.into();
                o.modified = later;
                o.history.clear();
                added.push(o.id.to_string());
                shop.orders.insert(o.id, o);
            }
        }
        "customers" => {
            for c in shop.customers.values_mut() {
                if wanted(&req.change, c.id) {
                    c.changed_at = later;
                }
            }
            shop.customers.retain(|id, _| !wanted(&req.remove, *id));
            for _ in 0..req.add {
                let Some(mut c) = shop.customers.values().next_back().cloned() else {
                    break;
                };
                c.id += 1;
                c.wire["customer_id"] = c.id.into();
                c.wire["email"] = format!("added-{}@example.nl", c.id).into();
                c.changed_at = later;
                added.push(c.id.to_string());
                shop.customers.insert(c.id, c);
            }
        }
        _ => {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                "resource must be orders or customers",
            )
                .into_response()
        }
    }
    axum::Json(json!({ "added": added })).into_response()
}
