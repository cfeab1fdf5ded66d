//! The bridge's HTTP surface, from crates/opencart/bridge/PROTOCOL.md: `POST
//! /koppel-bridge.php?op=<operation>`, HMAC-SHA256 over method, request target, timestamp,
//! nonce and the body's SHA-256, ±300 s, nonces refused when seen again, 401 for all of it;
//! per-item errors inside batch answers.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{to_bytes, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::data::{Shop, SimProduct};
use super::{OpenCartOptions, SECRET};
use crate::control::{self, Control};

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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn header<'a>(req: &'a Request, name: &str) -> &'a str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

pub(super) fn router(app: Arc<App>, control: Arc<Control>) -> Router {
    Router::new()
        .route("/koppel-bridge.php", post(handle))
        .route_layer(from_fn_with_state(control, control::track))
        .with_state(app)
}

async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let ts = header(&req, "x-koppel-timestamp").to_owned();
    let nonce = header(&req, "x-koppel-nonce").to_owned();
    let sig = header(&req, "x-koppel-signature").to_ascii_lowercase();
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
    let ts_ok = ts.len() <= 12 && !ts.is_empty() && ts.chars().all(|c| c.is_ascii_digit());
    let nonce_ok = (16..=128).contains(&nonce.len())
        && nonce
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ts_ok || !nonce_ok || sig.len() != 64 {
        return fail(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or malformed signature headers",
        );
    }
    let canonical = format!(
        "{method}\n{target}\n{ts}\n{nonce}\n{}",
        hex(&Sha256::digest(&body))
    );
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()) else {
        return fail(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error");
    };
    mac.update(canonical.as_bytes());
    let Ok(given) = (0..32)
        .map(|i| u8::from_str_radix(sig.get(i * 2..i * 2 + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
    else {
        return fail(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "signature does not match",
        );
    };
    // constant-time comparison (hmac's verify_slice)
    if mac.verify_slice(&given).is_err() {
        return fail(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "signature does not match",
        );
    }
    let t: i64 = ts.parse().unwrap_or(0);
    if (Utc::now().timestamp() - t).abs() > 300 {
        return fail(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "timestamp outside the allowed window of 300 seconds",
        );
    }
    if !app.nonces.lock().unwrap_or_else(|p| p.into_inner()).insert(nonce) {
        return fail(StatusCode::UNAUTHORIZED, "unauthorized", "nonce already used");
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

fn product_json(p: &SimProduct, shop: &Shop) -> Value {
    let paths: Vec<Vec<String>> = p
        .categories
        .iter()
        .filter_map(|c| {
            shop.categories
                .iter()
                .find(|(_, id, _)| id == c)
                .map(|(n, _, _)| vec![n.clone()])
        })
        .collect();
    json!({
        "product_id": p.id, "code": p.sku, "model": p.model, "name": p.name, "description": "",
        "price": format!("{:.4}", p.price), "tax_class_id": p.tax_class_id, "weight": format!("{:.8}", p.weight),
        "weight_class_id": p.weight_class_id, "status": u8::from(p.status), "quantity": p.quantity,
        "category_ids": p.categories, "categories": paths, "store_ids": p.stores, "keyword": p.keyword,
    })
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

fn products_get(app: &App, req: &Value) -> Answer {
    let key = key(req)?;
    let shop = app.shop();
    let out: Vec<Value> = items(req)?
        .iter()
        .map(|c| {
            let code = c.as_str().unwrap_or("");
            match lookup(&shop, &key, code) {
                Ok(None) => json!({"code": code, "found": false}),
                Ok(Some(id)) => json!({"code": code, "found": true, "product": shop.products.get(&id).map(|p| product_json(p, &shop))}),
                Err(e) => json!({"code": code, "found": true, "error": e}),
            }
        })
        .collect();
    Ok(json!({ "items": out }))
}

struct Checked {
    id: Option<u64>,
    name: String,
    price: Decimal,
    tax_class_id: u32,
    weight: Option<Decimal>,
    weight_class_id: Option<u32>,
    status: bool,
    categories: Option<Vec<u64>>,
    keyword: Option<String>,
}

/// Every check products.upsert makes (bridge: koppel_upsert_one up to the writes).
fn check(shop: &Shop, key: &str, item: &Value) -> Result<Checked, Value> {
    let code = item["code"].as_str().unwrap_or("");
    if code.is_empty() || code.len() > 64 {
        return Err(item_error("code", "must be 1-64 characters"));
    }
    let name = item["name"].as_str().unwrap_or("").to_owned();
    if name.trim().is_empty() || name.chars().count() > 255 {
        return Err(item_error("name", "must be 1-255 characters"));
    }
    let dec = |k: &str| -> Result<Decimal, Value> {
        item[k]
            .as_str()
            .and_then(|s| s.parse::<Decimal>().ok())
            .ok_or_else(|| item_error(k, "must be a decimal number as text"))
    };
    let price = dec("price")?;
    let tax_class_id = item["tax_class_id"]
        .as_u64()
        .ok_or_else(|| item_error("tax_class_id", "must be an integer >= 0"))? as u32;
    if tax_class_id != 0
        && tax_class_id != super::data::TAX_CLASS_HIGH
        && tax_class_id != super::data::TAX_CLASS_LOW
    {
        return Err(item_error(
            "tax_class_id",
            format!("tax class {tax_class_id} does not exist in the shop"),
        ));
    }
    let weight = if item.get("weight").is_some() {
        Some(dec("weight")?)
    } else {
        None
    };
    let categories = match item["categories"].as_array() {
        None => None,
        Some(paths) => {
            let mut ids = Vec::new();
            for p in paths {
                let path: Vec<String> = p
                    .as_array()
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                if !path.is_empty() {
                    let id = shop.category(&path).map_err(|(f, m)| item_error(&f, m))?;
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
            Some(ids)
        }
    };
    let id = lookup(shop, key, code)?;
    let keyword = item["keyword"]
        .as_str()
        .filter(|k| !k.is_empty())
        .map(str::to_owned);
    if let Some(k) = &keyword {
        if let Some(other) = shop
            .products
            .values()
            .find(|p| p.keyword.as_deref() == Some(k) && Some(p.id) != id)
        {
            return Err(item_error(
                "keyword",
                format!("SEO keyword \"{k}\" is already used by product_id={}", other.id),
            ));
        }
    }
    Ok(Checked {
        id,
        name,
        price,
        tax_class_id,
        weight,
        weight_class_id: item["weight_class_id"].as_u64().map(|w| w as u32),
        status: item["status"].as_bool().unwrap_or(false),
        categories,
        keyword,
    })
}

fn products_plan(app: &App, req: &Value) -> Answer {
    let key = key(req)?;
    let shop = app.shop();
    let out: Vec<Value> = items(req)?
        .iter()
        .map(|item| {
            let code = item["code"].as_str().unwrap_or("");
            match check(&shop, &key, item) {
                Err(e) => json!({"code": code, "found": false, "error": e}),
                Ok(c) => match c.id.and_then(|id| shop.products.get(&id)) {
                    Some(p) => json!({"code": code, "found": true, "product": product_json(p, &shop), "category_ids": c.categories}),
                    None => json!({"code": code, "found": false, "category_ids": c.categories}),
                },
            }
        })
        .collect();
    Ok(json!({ "items": out }))
}

fn products_upsert(app: &App, req: &Value) -> Answer {
    let key = key(req)?;
    let stores: Vec<u32> = req["store_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_u64().map(|s| s as u32)).collect())
        .unwrap_or_else(|| vec![0]);
    let mut shop = app.shop();
    let mut out = Vec::new();
    for item in items(req)? {
        let code = item["code"].as_str().unwrap_or("").to_owned();
        let c = match check(&shop, &key, &item) {
            Ok(c) => c,
            Err(e) => {
                out.push(json!({"code": code, "error": e}));
                continue;
            }
        };
        let created = c.id.is_none();
        let id =
            c.id.unwrap_or_else(|| shop.products.keys().next_back().copied().unwrap_or(49).max(49) + 1);
        let p = shop.products.entry(id).or_insert_with(|| SimProduct {
            id,
            sku: if key == "sku" { code.clone() } else { String::new() },
            model: code.clone(),
            name: String::new(),
            price: Decimal::ZERO,
            tax_class_id: 0,
            weight: Decimal::ZERO,
            weight_class_id: 0,
            status: false,
            quantity: 0,
            categories: Vec::new(),
            stores: stores.clone(),
            keyword: None,
        });
        p.name = c.name;
        p.price = c.price.round_dp(4);
        p.tax_class_id = c.tax_class_id;
        if let Some(w) = c.weight {
            p.weight = w;
        }
        if let Some(w) = c.weight_class_id {
            p.weight_class_id = w;
        }
        p.status = c.status;
        if let Some(cats) = c.categories {
            p.categories = cats;
        }
        for s in &stores {
            if !p.stores.contains(s) {
                p.stores.push(*s);
            }
        }
        if c.keyword.is_some() {
            p.keyword = c.keyword;
        }
        out.push(json!({"code": code, "product_id": id, "created": created}));
    }
    Ok(json!({ "items": out }))
}

fn stock_get(app: &App, req: &Value) -> Answer {
    let key = key(req)?;
    let shop = app.shop();
    let out: Vec<Value> = items(req)?
        .iter()
        .map(|c| {
            let code = c.as_str().unwrap_or("");
            match lookup(&shop, &key, code) {
                Ok(None) => json!({"code": code, "found": false}),
                Ok(Some(id)) => json!({"code": code, "found": true, "product_id": id,
                    "quantity": shop.products.get(&id).map(|p| p.quantity)}),
                Err(e) => json!({"code": code, "found": true, "error": e}),
            }
        })
        .collect();
    Ok(json!({ "items": out }))
}

fn stock_set(app: &App, req: &Value) -> Answer {
    let key = key(req)?;
    let mut shop = app.shop();
    let mut out = Vec::new();
    for it in items(req)? {
        let code = it["code"].as_str().unwrap_or("").to_owned();
        let id = match lookup(&shop, &key, &code) {
            Ok(Some(id)) => id,
            Ok(None) => {
                out.push(json!({"code": code, "error": item_error(&key, format!("no product with {key} \"{code}\" in the shop"))}));
                continue;
            }
            Err(e) => {
                out.push(json!({"code": code, "error": e}));
                continue;
            }
        };
        let Some(q) = it["quantity"].as_i64() else {
            out.push(json!({"code": code, "error": item_error("quantity", "must be an integer")}));
            continue;
        };
        if let Some(p) = shop.products.get_mut(&id) {
            let before = p.quantity;
            p.quantity = q;
            out.push(json!({"code": code, "product_id": id, "before": before, "quantity": q}));
        }
    }
    Ok(json!({ "items": out }))
}

fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// `(modified, id)` keyset window and order, as the bridge's SQL does it.
fn in_window(req: &Value, modified: DateTime<Utc>, id: u64) -> bool {
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

fn limit(req: &Value, default: usize) -> usize {
    req["limit"]
        .as_u64()
        .map(|l| l as usize)
        .unwrap_or(default)
        .clamp(1, 500)
}

fn orders_list(app: &App, req: &Value) -> Answer {
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

fn customers_list(app: &App, req: &Value) -> Answer {
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

fn history_check(app: &App, req: &Value) -> Answer {
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

fn history_add(app: &App, req: &Value) -> Answer {
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

/// Body of `POST /_sandbox/opencart/records`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsChange {
    /// `orders` or `customers`.
    pub resource: String,
    /// Ids to change (`date_modified` / `changed_at` = now).
    #[serde(default)]
    pub change: Vec<String>,
    /// Ids to delete.
    #[serde(default)]
    pub remove: Vec<String>,
    /// How many records to add (copies of the newest, new ids, changed now).
    #[serde(default)]
    pub add: usize,
}

/// `POST /_sandbox/opencart/records {"resource", "change", "remove", "add"}`: orders or
/// customers changed, deleted and created in the shop by someone else while koppel reads (for
/// the conformance kit's paging-under-change check). Answers `{"added": [ids]}`.
pub(super) async fn control_records(
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
