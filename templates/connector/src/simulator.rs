//! A stateful simulator of the Tinyshop API, served on loopback, and its registration for
//! `koppel demo --shop tinyshop`, `koppel sandbox --shop tinyshop@ADDR` and the end-to-end
//! tests. For a real shop, write it from the shop's documentation (not from the client in
//! this crate) and say in comments where each behaviour comes from.
//!
//! The API (this template's own, made-up shop):
//! - every request needs `Authorization: Bearer <token>`; otherwise 401 `{"error": ...}`;
//! - `GET /api/v1/shop` -> `{"name": "Tinyshop simulator"}`;
//! - `PUT /api/v1/products/{sku}` `{"name", "price_excl", "vat", "active"}` -> 200
//!   `{"id", "created"}`; 422 when `name` is empty or `price_excl` is not a decimal;
//! - `PUT /api/v1/stock/{sku}` `{"quantity"}` -> 200 `{"id", "created"}` (`created`: the
//!   product had no stock level yet); 404 when the product does not exist (stock only for
//!   known products).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use koppel_sandbox::control::{self, Control, Running};
use koppel_sandbox::registry::{ShopConfigArgs, ShopSimOptions, ShopSimulator};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::models::{ProductBody, StockBody};

/// The simulator's API token (public: a sandbox key, not a secret).
pub const TOKEN: &str = "tinyshop-sandbox-token-0001";

#[derive(Default)]
struct Shop {
    products: BTreeMap<String, (String, ProductBody)>,
    stock: BTreeMap<String, Decimal>,
}

type App = Arc<Mutex<Shop>>;

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

fn authorised(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"))
}

async fn shop(headers: HeaderMap) -> Response {
    if !authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "invalid token");
    }
    Json(json!({"name": "Tinyshop simulator"})).into_response()
}

async fn put_product(
    State(app): State<App>,
    headers: HeaderMap,
    Path(sku): Path<String>,
    body: Json<Value>,
) -> Response {
    if !authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "invalid token");
    }
    let Ok(p) = serde_json::from_value::<ProductBody>(body.0) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "body must be {name, price_excl, vat, active}",
        );
    };
    if p.name.trim().is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "name must not be empty");
    }
    if p.price_excl.parse::<Decimal>().is_err() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "price_excl must be a decimal");
    }
    let mut shop = app.lock().unwrap_or_else(|e| e.into_inner());
    let next = format!("p{}", shop.products.len() + 1);
    let created = !shop.products.contains_key(&sku);
    let entry = shop.products.entry(sku).or_insert_with(|| (next, p.clone()));
    entry.1 = p;
    Json(json!({"id": entry.0, "created": created})).into_response()
}

async fn put_stock(
    State(app): State<App>,
    headers: HeaderMap,
    Path(sku): Path<String>,
    body: Json<Value>,
) -> Response {
    if !authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "invalid token");
    }
    let Some(q) = serde_json::from_value::<StockBody>(body.0)
        .ok()
        .and_then(|s| s.quantity.parse::<Decimal>().ok())
    else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "quantity must be a decimal");
    };
    let mut shop = app.lock().unwrap_or_else(|e| e.into_inner());
    let Some(id) = shop.products.get(&sku).map(|p| p.0.clone()) else {
        return error(StatusCode::NOT_FOUND, "no such product");
    };
    let created = shop.stock.insert(sku, q).is_none();
    Json(json!({"id": id, "created": created})).into_response()
}

/// Starts the simulator on `addr` (port 0: a free port). It starts with no products: the
/// products flow creates them.
pub async fn start(addr: SocketAddr, opts: ShopSimOptions) -> std::io::Result<Running> {
    let _ = opts.seed; // the shop starts empty; orders would be drawn from the seed
    let control = Control::new();
    let app: App = Arc::default();
    let reset_app = app.clone();
    let reset: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        *reset_app.lock().unwrap_or_else(|e| e.into_inner()) = Shop::default();
    });
    let api = Router::new()
        .route("/api/v1/shop", get(shop))
        .route("/api/v1/products/{sku}", put(put_product))
        .route("/api/v1/stock/{sku}", put(put_stock))
        .with_state(app)
        .route_layer(axum::middleware::from_fn_with_state(
            control.clone(),
            control::track,
        ));
    let router = api.merge(control::routes(control.clone(), reset));
    control::serve(router, addr, control).await
}

/// The `[pairs.shop]` body pointing the connector at a started simulator.
pub fn shop_config(args: &ShopConfigArgs<'_>) -> String {
    format!("base_url = \"{}\"\ntoken = \"{TOKEN}\"\n", args.base_url)
}

inventory::submit! {
    ShopSimulator {
        name: "tinyshop",
        description: "Tinyshop JSON API (template simulator)",
        api_path: "/api/v1",
        variants: &[],
        start: |addr, opts| Box::pin(start(addr, opts)),
        config: shop_config,
    }
}
