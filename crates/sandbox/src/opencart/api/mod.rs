//! The bridge's HTTP surface, from crates/opencart/bridge/PROTOCOL.md: `POST
//! /koppel-bridge.php?op=<operation>`, signed (`auth`: HMAC-SHA256, ±300 s, nonces once,
//! 401 for all of it), dispatched to one file per area (products, stock, orders and their
//! history, customers) with per-item errors inside batch answers; the request helpers they
//! share live here.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{to_bytes, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::data::Shop;
use super::OpenCartOptions;
use crate::control::{self, Control};

mod auth;
mod control_records;
mod customers;
mod orders;
mod products;
mod stock;
mod window;

use auth::Signature;
pub(super) use control_records::control_records;
use customers::customers_list;
use orders::{history_add, history_check, orders_list};
use products::{products_get, products_plan, products_upsert};
use stock::{stock_get, stock_set};

pub(super) struct App {
    pub shop: Mutex<Shop>,
    pub nonces: Mutex<HashSet<String>>,
    pub opts: OpenCartOptions,
}

impl App {
    fn shop(&self) -> MutexGuard<'_, Shop> {
        self.shop.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn fail(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"kind": kind, "message": message}}))).into_response()
}

pub(super) fn router(app: Arc<App>, control: Arc<Control>) -> Router {
    Router::new()
        .route("/koppel-bridge.php", post(handle))
        .route_layer(from_fn_with_state(control, control::track))
        .with_state(app)
}

async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let signature = Signature::of(&req);
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let op = req
        .uri()
        .query()
        .and_then(|q| {
            serde_urlencoded::from_str::<HashMap<String, String>>(q)
                .ok()
                .and_then(|m| m.get("op").cloned())
        })
        .unwrap_or_default();
    let method = req.method().as_str().to_owned();
    let body: Bytes = match to_bytes(req.into_body(), 8 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return fail(StatusCode::PAYLOAD_TOO_LARGE, "request", "body too large"),
    };
    if let Err((status, kind, message)) = signature.verify(&app, &method, &target, &body) {
        return fail(status, kind, message);
    }
    let req: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return fail(StatusCode::BAD_REQUEST, "request", "body is not a JSON object"),
        }
    };
    let result = match op.as_str() {
        "ping" => Ok(json!({
            "bridge_version": "1.0.0", "opencart_version": app.opts.version, "schema": app.opts.schema(),
            "transactions": app.opts.schema() != "3.0", "php_version": "simulated", "timezone": "Europe/Amsterdam",
            "languages": ["en-gb", "nl-nl"], "max_batch": 500,
        })),
        "products.get" => products_get(&app, &req),
        "products.plan" => products_plan(&app, &req),
        "products.upsert" => products_upsert(&app, &req),
        "stock.get" => stock_get(&app, &req),
        "stock.set" => stock_set(&app, &req),
        "orders.list" => orders_list(&app, &req),
        "customers.list" => customers_list(&app, &req),
        "history.check" => history_check(&app, &req),
        "history.add" => history_add(&app, &req),
        _ => return fail(StatusCode::NOT_FOUND, "operation", "unknown operation"),
    };
    match result {
        Ok(v) => Json(v).into_response(),
        Err(msg) => fail(StatusCode::BAD_REQUEST, "request", &msg),
    }
}

type Answer = Result<Value, String>;

fn items(req: &Value) -> Result<Vec<Value>, String> {
    let items = req["items"]
        .as_array()
        .cloned()
        .ok_or("items: missing or not a list")?;
    if items.len() > 500 {
        return Err("items: more than 500 in one call".into());
    }
    Ok(items)
}

fn key(req: &Value) -> Result<String, String> {
    match req["key"].as_str().unwrap_or("sku") {
        k @ ("sku" | "model") => Ok(k.to_owned()),
        _ => Err("key: must be \"sku\" or \"model\"".into()),
    }
}

fn item_error(field: &str, message: impl Into<String>) -> Value {
    json!({"field": field, "message": message.into()})
}

fn lookup(shop: &Shop, key: &str, code: &str) -> Result<Option<u64>, Value> {
    match shop.find(key, code).as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(item_error(
            key,
            format!("{} products have {key} \"{code}\"", many.len()),
        )),
    }
}
