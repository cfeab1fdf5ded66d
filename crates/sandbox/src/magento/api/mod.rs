//! The HTTP surface: routing, authentication, input limits and the handlers.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{to_bytes, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::data::Shop;
use super::oauth;
use super::search::{self, apply_fields, parse_fields, parse_nested, Node, Paging, SearchCriteria};
use super::{MagentoOptions, ACCESS_TOKEN, ACCESS_TOKEN_SECRET, CONSUMER_KEY, CONSUMER_SECRET};
use crate::control::{self as sim_control, Control};
use crate::magento::wire::MageError;

mod attributes;
mod categories;
mod control;
mod customers;
mod orders;
mod products;
mod stock;
mod store;

use attributes::*;
use categories::*;
pub use control::{control_edit_during_read, control_records, EditDuringRead};
use customers::*;
use orders::*;
use products::*;
use stock::*;
use store::*;

/// Shared state of one running simulator.
pub struct App {
    /// The shop.
    pub shop: Mutex<Shop>,
    /// Options it was started with.
    pub opts: MagentoOptions,
    /// OAuth nonces seen (consumer key + nonce).
    pub nonces: Mutex<HashSet<String>>,
    /// Counters and faults.
    pub control: Arc<Control>,
    /// Armed by `POST /_sandbox/magento/edit-during-read`.
    pub edit_plan: Mutex<Option<EditDuringRead>>,
}

type St = State<Arc<App>>;
type Params = Path<HashMap<String, String>>;
type Res = Result<Response, MageError>;

const RES_PRODUCTS: &str = "Magento_Catalog::products";
const RES_ATTRIBUTES: &str = "Magento_Catalog::attributes_attributes";
const RES_CATEGORIES: &str = "Magento_Catalog::categories";
const RES_STOCK: &str = "Magento_CatalogInventory::cataloginventory";
const RES_SOURCE: &str = "Magento_InventoryApi::source";
const RES_SOURCE_ITEM: &str = "Magento_InventoryApi::source_item";
const RES_ORDERS: &str = "Magento_Sales::actions_view";
const RES_COMMENT: &str = "Magento_Sales::comment";
const RES_CUSTOMERS: &str = "Magento_Customer::customer";
const RES_TAX: &str = "Magento_Tax::manage_tax";
const RES_STORE: &str = "Magento_Backend::store";

/// Builds the API router (both `/rest/<store>/V1` and `/rest/V1`), with the `track` layer.
pub fn router(app: Arc<App>, control: Arc<Control>) -> Router {
    let msi = app.opts.msi;
    let mut r = Router::new();
    for prefix in ["/rest/{store}/V1", "/rest/V1"] {
        let p = |s: &str| format!("{prefix}{s}");
        r = r
            .route(&p("/products"), get(products_list).post(product_post))
            .route(&p("/products/{sku}"), get(product_get).put(product_put))
            .route(
                &p("/products/attributes/{code}/options"),
                get(options_get).post(options_post),
            )
            .route(&p("/products/{sku}/stockItems/{item_id}"), put(stock_put))
            .route(&p("/stockItems/{sku}"), get(stock_get))
            .route(&p("/categories"), get(categories_tree).post(category_post))
            .route(&p("/categories/{id}"), get(category_get))
            .route(&p("/orders"), get(orders_list))
            .route(&p("/orders/{id}"), get(order_get).put(order_address_put))
            .route(&p("/orders/{id}/comments"), get(comments_get).post(comment_post))
            .route(&p("/customers/search"), get(customers_search))
            .route(&p("/customers/{id}"), get(customer_get))
            .route(&p("/taxClasses/search"), get(tax_classes))
            .route(&p("/taxRates/search"), get(tax_rates))
            .route(&p("/taxRules/search"), get(tax_rules))
            .route(&p("/store/storeViews"), get(store_views))
            .route(&p("/store/storeConfigs"), get(store_configs))
            .route(&p("/store/websites"), get(websites));
        if msi {
            r = r.route(&p("/inventory/sources"), get(sources_list)).route(
                &p("/inventory/source-items"),
                get(source_items_list).post(source_items_post),
            );
        }
    }
    r.route_layer(from_fn_with_state(control, sim_control::track))
        .fallback(|| async { MageError::no_route() })
        .method_not_allowed_fallback(|| async { MageError::no_route() })
        .with_state(app)
}

/// A request after routing, store check, body read, authentication and input limits.
struct Ctx {
    path: HashMap<String, String>,
    query: Node,
    fields: Option<Vec<search::FieldSel>>,
    body: Bytes,
    base_url: String,
}

impl Ctx {
    fn param(&self, name: &str) -> String {
        self.path.get(name).cloned().unwrap_or_default()
    }

    fn query_leaf(&self, name: &str) -> Option<String> {
        match self.query {
            Node::Map(ref m) => m.iter().find(|(k, _)| k == name).and_then(|(_, v)| match v {
                Node::Leaf(s) => Some(s.clone()),
                Node::Map(_) => None,
            }),
            Node::Leaf(_) => None,
        }
    }

    fn body(&self) -> Result<Map<String, Value>, MageError> {
        crate::magento::wire::body_object(&self.body)
    }

    fn reply(&self, v: Value) -> Response {
        let v = match &self.fields {
            Some(sel) => apply_fields(v, sel),
            None => v,
        };
        Json(v).into_response()
    }
}

impl App {
    fn shop(&self) -> MutexGuard<'_, Shop> {
        self.shop.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn paging(&self) -> Paging {
        Paging {
            default_page_size: self.opts.input_limit.map(|_| 20),
            max_page_size: self.opts.input_limit.map(|_| 300),
            legacy: self.opts.legacy_paging,
        }
    }

    async fn ctx(
        &self,
        path: HashMap<String, String>,
        req: Request,
        resource: &str,
    ) -> Result<Ctx, MageError> {
        if let Some(store) = path.get("store") {
            if store != "default" && store != "all" {
                return Err(MageError::no_route());
            }
        }
        let (parts, body) = req.into_parts();
        let body = to_bytes(body, 64 * 1024 * 1024)
            .await
            .map_err(|_| MageError::decoding())?;
        let pairs = oauth::form_params(parts.uri.query().unwrap_or(""));
        self.authenticate(&parts, &pairs, &body, resource)?;
        if let Some(limit) = self.opts.input_limit {
            if !body.is_empty() {
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    check_input_limit(&v, None, limit)?;
                }
            }
        }
        let fields = pairs
            .iter()
            .find(|(k, _)| k == "fields")
            .map(|(_, v)| parse_fields(v));
        let host = parts
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        Ok(Ctx {
            path,
            query: parse_nested(&pairs),
            fields,
            body,
            base_url: format!("http://{host}"),
        })
    }

    /// OAuth 1.0a (or Bearer when allowed). Every failure is Magento's 401 for the resource.
    fn authenticate(
        &self,
        parts: &Parts,
        query: &[(String, String)],
        body: &[u8],
        resource: &str,
    ) -> Result<(), MageError> {
        let deny = || {
            MageError::with_params(
                StatusCode::UNAUTHORIZED,
                "The consumer isn't authorized to access %resources.",
                json!({ "resources": resource }),
            )
        };
        if self.control.take_expire_tokens() {
            return Err(deny());
        }
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(deny)?;
        if let Some((scheme, token)) = header.trim().split_once(' ') {
            if scheme.eq_ignore_ascii_case("Bearer") {
                return if self.opts.bearer_allowed && token.trim() == ACCESS_TOKEN {
                    Ok(())
                } else {
                    Err(deny())
                };
            }
        }
        let oauth_params = oauth::parse_header(header).ok_or_else(deny)?;
        let get = |k: &str| oauth_params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if get("oauth_consumer_key") != Some(CONSUMER_KEY)
            || get("oauth_token") != Some(ACCESS_TOKEN)
            || get("oauth_signature_method") != Some("HMAC-SHA256")
            || get("oauth_version").is_some_and(|v| v != "1.0")
        {
            return Err(deny());
        }
        let timestamp: i64 = get("oauth_timestamp")
            .and_then(|t| t.parse().ok())
            .ok_or_else(deny)?;
        if timestamp <= 0 || timestamp > chrono::Utc::now().timestamp() + 600 {
            return Err(deny());
        }
        let nonce = get("oauth_nonce").filter(|n| !n.is_empty()).ok_or_else(deny)?;
        let signature = get("oauth_signature").ok_or_else(deny)?;
        let mut params: Vec<(String, String)> = query.to_vec();
        let is_form = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            params.extend(oauth::form_params(&String::from_utf8_lossy(body)));
        }
        params.extend(oauth_params.iter().cloned());
        let host = parts
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(deny)?;
        let uri = oauth::base_uri("http", host, parts.uri.path());
        let base = oauth::base_string(parts.method.as_str(), &uri, &params);
        if !oauth::verify(&base, CONSUMER_SECRET, ACCESS_TOKEN_SECRET, signature) {
            return Err(deny());
        }
        let fresh = self
            .nonces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(format!("{CONSUMER_KEY}:{nonce}"));
        if !fresh {
            return Err(deny());
        }
        Ok(())
    }

    /// Corrupts one record of a list response when the `malformed_rate` fault fires.
    fn maybe_malform(&self, mut result: Value) -> Value {
        if self.control.roll_malformed() {
            if let Some(Value::Object(m)) = result
                .get_mut("items")
                .and_then(Value::as_array_mut)
                .and_then(|a| a.first_mut())
            {
                m.retain(|k, _| matches!(k.as_str(), "id" | "entity_id" | "sku" | "increment_id"));
                m.insert("created_at".into(), json!("not-a-date"));
            }
        }
        result
    }
}

/// Magento's type names for the arrays it limits.
fn array_type(key: Option<&str>) -> &'static str {
    match key {
        Some("sourceItems") => "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface",
        Some("custom_attributes") => "\\Magento\\Framework\\Api\\AttributeInterface",
        Some("category_links") => "\\Magento\\Catalog\\Api\\Data\\CategoryLinkInterface",
        Some("product_links") => "\\Magento\\Catalog\\Api\\Data\\ProductLinkInterface",
        Some("products") => "\\Magento\\Catalog\\Api\\Data\\ProductInterface",
        _ => "array",
    }
}

fn check_input_limit(v: &Value, key: Option<&str>, limit: usize) -> Result<(), MageError> {
    match v {
        Value::Array(items) => {
            if items.len() > limit && items.iter().any(|i| i.is_object()) {
                return Err(MageError::with_params(
                    StatusCode::BAD_REQUEST,
                    "Maximum items of type \"%type\" is %max",
                    json!({ "type": array_type(key), "max": limit }),
                ));
            }
            items.iter().try_for_each(|i| check_input_limit(i, key, limit))
        }
        Value::Object(m) => m
            .iter()
            .try_for_each(|(k, v)| check_input_limit(v, Some(k), limit)),
        _ => Ok(()),
    }
}

fn criteria(cx: &Ctx, required: bool) -> Result<SearchCriteria, MageError> {
    let sc = SearchCriteria::from_query(&cx.query)?;
    if required && !sc.present {
        return Err(MageError::required("searchCriteria"));
    }
    Ok(sc)
}

fn product_not_found() -> MageError {
    MageError::new(
        StatusCode::NOT_FOUND,
        "The product that was requested doesn't exist. Verify the product and try again.",
    )
}

fn entity_not_found() -> MageError {
    MageError::new(
        StatusCode::NOT_FOUND,
        "The entity that was requested doesn't exist. Verify the entity and try again.",
    )
}

fn no_such_entity(field: &str, value: Value) -> MageError {
    MageError::with_params(
        StatusCode::NOT_FOUND,
        "No such entity with %fieldName = %fieldValue",
        json!({ "fieldName": field, "fieldValue": value }),
    )
}

fn empty_attribute(label: &str) -> MageError {
    MageError::with_params(
        StatusCode::BAD_REQUEST,
        "The \"%1\" attribute value is empty. Set the attribute and try again.",
        json!([label]),
    )
}

fn url_key_exists() -> MageError {
    MageError::new(
        StatusCode::BAD_REQUEST,
        "URL key for specified store already exists.",
    )
}

fn id_param(cx: &Ctx, name: &str) -> Result<u64, MageError> {
    let raw = cx.param(name);
    raw.parse::<u64>()
        .map_err(|_| MageError::wrong_type(&Value::String(raw), "int"))
}
