//! The HTTP surface: routing, authentication, input limits and the handlers.

use std::collections::{BTreeSet, HashMap, HashSet};
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
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::data::{
    slug, tax_rate, Category, Product, Shop, StockItem, CUSTOMER_TAX_CLASS, PRODUCT_TAX_CLASSES,
};
use super::oauth;
use super::search::{
    self, apply_fields, parse_fields, parse_nested, Fields, Node, Paging, SearchCriteria, TopLevel,
};
use super::wire::{bool_of, check_fields, decimal_of, int_of, money, now, string_of, ts, MageError};
use super::{MagentoOptions, ACCESS_TOKEN, ACCESS_TOKEN_SECRET, CONSUMER_KEY, CONSUMER_SECRET};
use crate::control::{self, Control};

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
    r.route_layer(from_fn_with_state(control, control::track))
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
        super::wire::body_object(&self.body)
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

// ---------------------------------------------------------------- products

fn stock_json(s: &StockItem) -> Value {
    json!({
        "item_id": s.item_id,
        "product_id": s.product_id,
        "stock_id": 1,
        "qty": money(s.qty),
        "is_in_stock": s.is_in_stock,
        "is_qty_decimal": false,
        "show_default_notification_message": false,
        "use_config_min_qty": true,
        "min_qty": 0,
        "use_config_min_sale_qty": 1,
        "min_sale_qty": 1,
        "use_config_max_sale_qty": true,
        "max_sale_qty": 10000,
        "use_config_backorders": s.backorders == 0,
        "backorders": s.backorders,
        "use_config_notify_stock_qty": true,
        "notify_stock_qty": 1,
        "use_config_qty_increments": true,
        "qty_increments": 0,
        "use_config_enable_qty_inc": true,
        "enable_qty_increments": false,
        "use_config_manage_stock": true,
        "manage_stock": s.manage_stock,
        "low_stock_date": null,
        "is_decimal_divided": false,
        "stock_status_changed_auto": 0,
    })
}

fn product_json(shop: &Shop, p: &Product, with_stock: bool) -> Value {
    let mut ext = Map::new();
    ext.insert("website_ids".into(), json!(p.website_ids));
    if !p.category_links.is_empty() {
        ext.insert(
            "category_links".into(),
            Value::Array(
                p.category_links
                    .iter()
                    .map(|(pos, id)| json!({ "position": pos, "category_id": id.to_string() }))
                    .collect(),
            ),
        );
    }
    if with_stock {
        if let Some(s) = shop.stock.get(&p.id) {
            ext.insert("stock_item".into(), stock_json(s));
        }
    }
    if p.type_id == "configurable" {
        let values: BTreeSet<String> = p
            .children
            .iter()
            .filter_map(|c| shop.products.get(c))
            .filter_map(|c| c.attr("color").and_then(string_of))
            .collect();
        ext.insert(
            "configurable_product_options".into(),
            json!([{
                "id": p.id,
                "attribute_id": "93",
                "label": "Color",
                "position": 0,
                "values": values.iter().map(|v| json!({ "value_index": v.parse::<i64>().unwrap_or_default() })).collect::<Vec<_>>(),
                "product_id": p.id,
            }]),
        );
        ext.insert("configurable_product_links".into(), json!(p.children));
    }
    let mut m = Map::new();
    m.insert("id".into(), json!(p.id));
    m.insert("sku".into(), json!(p.sku));
    m.insert("name".into(), json!(p.name));
    m.insert("attribute_set_id".into(), json!(p.attribute_set_id));
    m.insert("price".into(), money(p.price));
    m.insert("status".into(), json!(p.status));
    m.insert("visibility".into(), json!(p.visibility));
    m.insert("type_id".into(), json!(p.type_id));
    m.insert("created_at".into(), json!(ts(p.created_at)));
    m.insert("updated_at".into(), json!(ts(p.updated_at)));
    if let Some(w) = p.weight {
        m.insert("weight".into(), money(w));
    }
    m.insert("extension_attributes".into(), Value::Object(ext));
    m.insert("product_links".into(), json!([]));
    m.insert("options".into(), json!([]));
    m.insert("media_gallery_entries".into(), json!([]));
    m.insert("tier_prices".into(), json!([]));
    m.insert(
        "custom_attributes".into(),
        Value::Array(
            p.custom
                .iter()
                .map(|(c, v)| json!({ "attribute_code": c, "value": v }))
                .collect(),
        ),
    );
    Value::Object(m)
}

const PRODUCT_KEYS: &[&str] = &[
    "id",
    "sku",
    "name",
    "attribute_set_id",
    "price",
    "status",
    "visibility",
    "type_id",
    "created_at",
    "updated_at",
    "weight",
    "extension_attributes",
    "product_links",
    "options",
    "media_gallery_entries",
    "tier_prices",
    "custom_attributes",
];
const PRODUCT_EXT_KEYS: &[&str] = &[
    "website_ids",
    "category_links",
    "stock_item",
    "configurable_product_options",
    "configurable_product_links",
    "bundle_product_options",
    "downloadable_product_links",
    "downloadable_product_samples",
];
const STOCK_KEYS: &[&str] = &[
    "item_id",
    "product_id",
    "stock_id",
    "qty",
    "is_in_stock",
    "is_qty_decimal",
    "show_default_notification_message",
    "use_config_min_qty",
    "min_qty",
    "use_config_min_sale_qty",
    "min_sale_qty",
    "use_config_max_sale_qty",
    "max_sale_qty",
    "use_config_backorders",
    "backorders",
    "use_config_notify_stock_qty",
    "notify_stock_qty",
    "use_config_qty_increments",
    "qty_increments",
    "use_config_enable_qty_inc",
    "enable_qty_increments",
    "use_config_manage_stock",
    "manage_stock",
    "low_stock_date",
    "is_decimal_divided",
    "stock_status_changed_auto",
    "extension_attributes",
];
const PRODUCT_TYPES: &[&str] = &[
    "simple",
    "virtual",
    "configurable",
    "bundle",
    "grouped",
    "downloadable",
];

/// Product search fields: top-level keys, `category_id`, and EAV attributes.
struct ProductFields<'a> {
    attributes: BTreeSet<&'a str>,
}

impl Fields for ProductFields<'_> {
    fn values(&self, record: &Value, field: &str) -> Vec<Value> {
        if field == "category_id" {
            return record
                .pointer("/extension_attributes/category_links")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|l| l.get("category_id").cloned()).collect())
                .unwrap_or_default();
        }
        if let Some(v) = record
            .get(field)
            .filter(|v| !v.is_null() && field != "custom_attributes")
        {
            return vec![v.clone()];
        }
        record
            .get("custom_attributes")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .find(|c| c.get("attribute_code").and_then(Value::as_str) == Some(field))
            })
            .and_then(|c| c.get("value"))
            .filter(|v| !v.is_null())
            .map(|v| vec![v.clone()])
            .unwrap_or_default()
    }
    fn known(&self, field: &str) -> bool {
        field == "category_id"
            || field == "entity_id"
            || (PRODUCT_KEYS.contains(&field)
                && !matches!(field, "extension_attributes" | "custom_attributes"))
            || self.attributes.contains(field)
    }
    fn unknown(&self, field: &str) -> MageError {
        MageError::with_params(
            StatusCode::BAD_REQUEST,
            "Invalid attribute name: %1",
            json!([field]),
        )
    }
}

const EAV_ATTRIBUTES: &[&str] = &[
    "description",
    "short_description",
    "url_key",
    "meta_title",
    "meta_keyword",
    "meta_description",
    "special_price",
    "special_from_date",
    "special_to_date",
    "cost",
    "tax_class_id",
    "news_from_date",
    "news_to_date",
    "gift_message_available",
];

async fn products_list(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_PRODUCTS).await?;
    let sc = criteria(&cx, true)?;
    let result = {
        let shop = app.shop();
        let mut attributes: BTreeSet<&str> = EAV_ATTRIBUTES.iter().copied().collect();
        attributes.extend(shop.attributes.iter().map(|a| a.code.as_str()));
        attributes.extend(
            shop.products
                .values()
                .flat_map(|p| p.custom.iter().map(|(c, _)| c.as_str())),
        );
        let records: Vec<Value> = shop
            .products
            .values()
            .map(|p| product_json(&shop, p, false))
            .collect();
        search::run(records, &sc, &ProductFields { attributes }, "id", app.paging())?
    };
    Ok(cx.reply(app.maybe_malform(result)))
}

async fn product_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_PRODUCTS).await?;
    let shop = app.shop();
    let product = shop
        .product_by_sku(&cx.param("sku"))
        .ok_or_else(product_not_found)?;
    Ok(cx.reply(product_json(&shop, product, true)))
}

async fn product_put(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_PRODUCTS).await?;
    let body = cx.body()?;
    let mut shop = app.shop();
    let id = save_product(&mut shop, Some(&cx.param("sku")), &body)?;
    let product = shop.products.get(&id).ok_or_else(MageError::internal)?;
    Ok(cx.reply(product_json(&shop, product, true)))
}

async fn product_post(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_PRODUCTS).await?;
    let body = cx.body()?;
    let mut shop = app.shop();
    let id = save_product(&mut shop, None, &body)?;
    let product = shop.products.get(&id).ok_or_else(MageError::internal)?;
    Ok(cx.reply(product_json(&shop, product, true)))
}

fn int_field(v: &Value, field: &str) -> Result<i64, MageError> {
    int_of(v)
        .ok_or_else(|| MageError::wrong_type(v, "int"))
        .map_err(|e| {
            if v.is_string() || v.is_number() {
                e
            } else {
                MageError::invalid_field(field, v.clone())
            }
        })
}

/// Creates or updates a product from `{"product": {...}}`; only the fields given change.
fn save_product(
    shop: &mut Shop,
    path_sku: Option<&str>,
    body: &Map<String, Value>,
) -> Result<u64, MageError> {
    let p = body
        .get("product")
        .and_then(Value::as_object)
        .ok_or_else(|| MageError::required("product"))?;
    check_fields(p, PRODUCT_KEYS, "Magento\\Catalog\\Api\\Data\\ProductInterface")?;
    let sku = match path_sku {
        Some(s) => s.to_owned(),
        None => p.get("sku").and_then(string_of).unwrap_or_default(),
    };
    let sku = sku.trim().to_owned();
    if sku.is_empty() {
        return Err(empty_attribute("SKU"));
    }
    if sku.chars().count() > 64 {
        return Err(MageError::with_params(
            StatusCode::BAD_REQUEST,
            "SKU length should be %1 characters maximum.",
            json!([64]),
        ));
    }
    let now = now();
    let existing = shop.product_by_sku(&sku).cloned();
    let is_new = existing.is_none();
    let mut prod = existing.unwrap_or_else(|| Product {
        id: 0,
        sku: sku.clone(),
        name: String::new(),
        attribute_set_id: 4,
        price: Decimal::ZERO,
        status: 1,
        visibility: 4,
        type_id: "simple".into(),
        weight: None,
        created_at: now,
        updated_at: now,
        website_ids: vec![1],
        category_links: Vec::new(),
        custom: Vec::new(),
        children: Vec::new(),
    });
    let mut price_given = false;
    if let Some(v) = p.get("name") {
        prod.name = string_of(v).ok_or_else(|| MageError::wrong_type(v, "string"))?;
    }
    if let Some(v) = p.get("price") {
        let price = decimal_of(v).ok_or_else(|| MageError::wrong_type(v, "float"))?;
        if price < Decimal::ZERO {
            return Err(MageError::invalid_field("price", v.clone()));
        }
        prod.price = price;
        price_given = true;
    }
    if let Some(v) = p.get("status") {
        let s = int_field(v, "status")?;
        if !matches!(s, 1 | 2) {
            return Err(MageError::invalid_field("status", v.clone()));
        }
        prod.status = s;
    }
    if let Some(v) = p.get("visibility") {
        let s = int_field(v, "visibility")?;
        if !(1..=4).contains(&s) {
            return Err(MageError::invalid_field("visibility", v.clone()));
        }
        prod.visibility = s;
    }
    if let Some(v) = p.get("type_id") {
        let t = string_of(v).unwrap_or_default();
        if !PRODUCT_TYPES.contains(&t.as_str()) {
            return Err(MageError::invalid_field("type_id", v.clone()));
        }
        prod.type_id = t;
    }
    if let Some(v) = p.get("attribute_set_id") {
        let s = int_field(v, "attribute_set_id")?;
        if s != 4 {
            return Err(MageError::invalid_field("attribute_set_id", v.clone()));
        }
        prod.attribute_set_id = s;
    }
    if let Some(v) = p.get("weight") {
        prod.weight = if v.is_null() {
            None
        } else {
            Some(decimal_of(v).ok_or_else(|| MageError::wrong_type(v, "float"))?)
        };
    }
    let mut url_key_given = false;
    if let Some(v) = p.get("custom_attributes") {
        let list = v.as_array().ok_or_else(|| MageError::wrong_type(v, "array"))?;
        for a in list {
            let a = a.as_object().ok_or_else(|| MageError::wrong_type(a, "object"))?;
            check_fields(
                a,
                &["attribute_code", "value"],
                "Magento\\Framework\\Api\\AttributeInterface",
            )?;
            let code = a
                .get("attribute_code")
                .and_then(Value::as_str)
                .ok_or_else(|| MageError::required("attribute_code"))?;
            let value = a.get("value").cloned().unwrap_or(Value::Null);
            if let Some(attr) = shop.attributes.iter().find(|x| x.code == code) {
                let text = string_of(&value).unwrap_or_default();
                if !text.is_empty() && !attr.options.iter().any(|(id, _)| *id == text) {
                    return Err(MageError::invalid_field(code, value));
                }
            }
            if code == "url_key" {
                url_key_given = true;
            }
            let value = match value {
                Value::Number(n) => Value::String(n.to_string()),
                other => other,
            };
            prod.set_attr(code, value);
        }
    }
    let mut stock_given: Option<&Map<String, Value>> = None;
    if let Some(ext) = p.get("extension_attributes") {
        let ext = ext
            .as_object()
            .ok_or_else(|| MageError::wrong_type(ext, "object"))?;
        check_fields(
            ext,
            PRODUCT_EXT_KEYS,
            "Magento\\Catalog\\Api\\Data\\ProductExtensionInterface",
        )?;
        if let Some(v) = ext.get("website_ids") {
            let ids = v.as_array().ok_or_else(|| MageError::wrong_type(v, "array"))?;
            let mut out = Vec::new();
            for id in ids {
                let w = int_field(id, "website_ids")?;
                if w != 1 {
                    return Err(MageError::with_params(
                        StatusCode::NOT_FOUND,
                        "The website with id %1 that was requested wasn't found. Verify the website and try again.",
                        json!([w]),
                    ));
                }
                out.push(w);
            }
            prod.website_ids = out;
        }
        if let Some(v) = ext.get("category_links") {
            let links = v.as_array().ok_or_else(|| MageError::wrong_type(v, "array"))?;
            let mut out = Vec::new();
            for l in links {
                let l = l.as_object().ok_or_else(|| MageError::wrong_type(l, "object"))?;
                check_fields(
                    l,
                    &["position", "category_id", "extension_attributes"],
                    "Magento\\Catalog\\Api\\Data\\CategoryLinkInterface",
                )?;
                let cat = l
                    .get("category_id")
                    .ok_or_else(|| MageError::required("category_id"))?;
                let cat_id = int_field(cat, "category_id")?;
                let position = l
                    .get("position")
                    .map(|v| int_field(v, "position"))
                    .transpose()?
                    .unwrap_or(0);
                let exists = u64::try_from(cat_id)
                    .ok()
                    .and_then(|c| shop.categories.get(&c))
                    .is_some_and(|c| c.level > 0);
                if !exists {
                    return Err(MageError::with_params(
                        StatusCode::BAD_REQUEST,
                        "Could not save product \"%1\" with position %2 to category %3",
                        json!([prod.sku, position, cat_id]),
                    ));
                }
                out.push((position, cat_id as u64));
            }
            prod.category_links = out;
        }
        if let Some(v) = ext.get("configurable_product_links") {
            let ids = v.as_array().ok_or_else(|| MageError::wrong_type(v, "array"))?;
            let mut out = Vec::new();
            for id in ids {
                let c = int_field(id, "configurable_product_links")?;
                let c = u64::try_from(c).ok().filter(|c| shop.products.contains_key(c));
                let c = c.ok_or_else(|| {
                    MageError::with_params(
                        StatusCode::BAD_REQUEST,
                        "The product that was requested doesn't exist. Verify the product and try again.",
                        json!([]),
                    )
                })?;
                out.push(c);
            }
            prod.children = out;
        }
        if let Some(v) = ext.get("stock_item") {
            let s = v.as_object().ok_or_else(|| MageError::wrong_type(v, "object"))?;
            check_fields(
                s,
                STOCK_KEYS,
                "Magento\\CatalogInventory\\Api\\Data\\StockItemInterface",
            )?;
            stock_given = Some(s);
        }
    }
    // Validation of the resulting product.
    if prod.name.trim().is_empty() {
        return Err(empty_attribute("Product Name"));
    }
    if is_new && !price_given && prod.type_id != "configurable" {
        return Err(empty_attribute("Price"));
    }
    if let Some(v) = prod.attr("tax_class_id") {
        let class = int_of(v);
        if !matches!(class, Some(0))
            && !class.is_some_and(|c| PRODUCT_TAX_CLASSES.iter().any(|(id, _, _)| *id == c))
        {
            return Err(MageError::invalid_field("tax_class_id", v.clone()));
        }
    } else if is_new {
        prod.set_attr("tax_class_id", json!(super::TAX_CLASS_HIGH.to_string()));
    }
    if !url_key_given && prod.attr("url_key").is_none() {
        prod.set_attr("url_key", json!(slug(&prod.name)));
    }
    let url_key = prod.attr("url_key").and_then(string_of).unwrap_or_default();
    if shop.products.values().any(|o| {
        o.id != prod.id && o.attr("url_key").and_then(string_of).as_deref() == Some(url_key.as_str())
    }) {
        return Err(url_key_exists());
    }
    if is_new {
        prod.id = shop.next_product_id;
        shop.next_product_id += 1;
        prod.created_at = now;
    }
    prod.updated_at = now;
    let id = prod.id;
    let existing = shop.stock.get(&id).cloned();
    // a default source item saved before the product existed becomes its stock item
    let early = match existing {
        Some(_) => None,
        None => shop.take_default_source_item(&prod.sku),
    };
    let mut item = existing.unwrap_or(StockItem {
        item_id: id,
        product_id: id,
        qty: early.map(|(q, _)| q).unwrap_or_default(),
        is_in_stock: early.is_some_and(|(_, s)| s == 1),
        manage_stock: true,
        backorders: 0,
    });
    if let Some(s) = stock_given {
        apply_stock(&mut item, s)?;
    }
    shop.products.insert(id, prod);
    shop.stock.insert(id, item);
    Ok(id)
}

/// Applies a stock item body; an item at or below zero without backorders is out of stock.
fn apply_stock(item: &mut StockItem, s: &Map<String, Value>) -> Result<(), MageError> {
    if let Some(v) = s.get("qty") {
        item.qty = decimal_of(v).ok_or_else(|| MageError::wrong_type(v, "float"))?;
    }
    if let Some(v) = s.get("manage_stock") {
        item.manage_stock = bool_of(v).ok_or_else(|| MageError::wrong_type(v, "bool"))?;
    }
    if let Some(v) = s.get("backorders") {
        item.backorders = int_field(v, "backorders")?;
    }
    match s.get("is_in_stock") {
        Some(v) => item.is_in_stock = bool_of(v).ok_or_else(|| MageError::wrong_type(v, "bool"))?,
        None if s.contains_key("qty") => item.is_in_stock = item.qty > Decimal::ZERO,
        None => {}
    }
    if item.manage_stock && item.backorders == 0 && item.qty <= Decimal::ZERO {
        item.is_in_stock = false;
    }
    Ok(())
}

// ---------------------------------------------------------------- attribute options

fn attribute_not_found(code: &str) -> MageError {
    MageError::with_params(
        StatusCode::NOT_FOUND,
        "The attribute with a \"%1\" attributeCode doesn't exist. Verify the attribute and try again.",
        json!([code]),
    )
}

async fn options_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_ATTRIBUTES).await?;
    let code = cx.param("code");
    let shop = app.shop();
    let attr = shop
        .attributes
        .iter()
        .find(|a| a.code == code)
        .ok_or_else(|| attribute_not_found(&code))?;
    let mut out = Vec::new();
    if !attr.source_model {
        out.push(json!({ "label": " ", "value": "" }));
    }
    out.extend(
        attr.options
            .iter()
            .map(|(v, l)| json!({ "label": l, "value": v })),
    );
    Ok(cx.reply(Value::Array(out)))
}

async fn options_post(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_ATTRIBUTES).await?;
    let code = cx.param("code");
    let body = cx.body()?;
    let option = body
        .get("option")
        .and_then(Value::as_object)
        .ok_or_else(|| MageError::required("option"))?;
    check_fields(
        option,
        &[
            "label",
            "value",
            "sort_order",
            "is_default",
            "store_labels",
            "extension_attributes",
        ],
        "Magento\\Eav\\Api\\Data\\AttributeOptionInterface",
    )?;
    let label = option
        .get("label")
        .and_then(string_of)
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| {
            MageError::new(
                StatusCode::BAD_REQUEST,
                "The attribute option label is empty. Enter a value and try again.",
            )
        })?;
    let mut shop = app.shop();
    let next = shop.next_option_id;
    let attr = shop
        .attributes
        .iter_mut()
        .find(|a| a.code == code)
        .ok_or_else(|| attribute_not_found(&code))?;
    if attr.source_model {
        return Err(MageError::with_params(
            StatusCode::BAD_REQUEST,
            "The \"%1\" attribute doesn't work with options.",
            json!([code]),
        ));
    }
    if attr
        .options
        .iter()
        .any(|(_, l)| l.eq_ignore_ascii_case(label.trim()))
    {
        return Err(MageError::with_params(
            StatusCode::BAD_REQUEST,
            "Admin store attribute option label \"%1\" is already exists.",
            json!([label]),
        ));
    }
    attr.options.push((next.to_string(), label.trim().to_owned()));
    shop.next_option_id += 1;
    Ok(cx.reply(json!(next.to_string())))
}

// ---------------------------------------------------------------- stock

async fn stock_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_STOCK).await?;
    let shop = app.shop();
    let product = shop
        .product_by_sku(&cx.param("sku"))
        .ok_or_else(product_not_found)?;
    let item = shop.stock.get(&product.id).ok_or_else(product_not_found)?;
    Ok(cx.reply(stock_json(item)))
}

async fn stock_put(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_STOCK).await?;
    let body = cx.body()?;
    let s = body
        .get("stockItem")
        .and_then(Value::as_object)
        .ok_or_else(|| MageError::required("stockItem"))?;
    check_fields(
        s,
        STOCK_KEYS,
        "Magento\\CatalogInventory\\Api\\Data\\StockItemInterface",
    )?;
    let mut shop = app.shop();
    let id = shop
        .product_by_sku(&cx.param("sku"))
        .map(|p| p.id)
        .ok_or_else(product_not_found)?;
    let mut item = shop.stock.get(&id).cloned().ok_or_else(product_not_found)?;
    apply_stock(&mut item, s)?;
    let item_id = item.item_id;
    shop.stock.insert(id, item);
    Ok(cx.reply(json!(item_id)))
}

// ---------------------------------------------------------------- MSI

fn source_item_records(shop: &Shop) -> Vec<Value> {
    let mut out: Vec<Value> = shop
        .products
        .values()
        .filter(|p| p.type_id == "simple" || p.type_id == "virtual")
        .filter_map(|p| {
            shop.stock.get(&p.id).map(|s| {
                json!({ "sku": p.sku, "source_code": "default", "quantity": money(s.qty), "status": i64::from(s.is_in_stock) })
            })
        })
        .collect();
    out.extend(shop.source_items.iter().map(|((sku, code), (qty, status))| {
        json!({ "sku": sku, "source_code": code, "quantity": money(*qty), "status": status })
    }));
    out
}

async fn sources_list(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_SOURCE).await?;
    let sc = criteria(&cx, false)?;
    let records: Vec<Value> = app
        .shop()
        .sources
        .iter()
        .map(|s| {
            json!({
                "source_code": s.code, "name": s.name, "enabled": s.enabled, "description": s.name,
                "latitude": 0, "longitude": 0, "country_id": s.country_id, "postcode": s.postcode,
                "use_default_carrier_config": true, "carrier_links": [],
            })
        })
        .collect();
    let known = [
        "source_code",
        "name",
        "enabled",
        "description",
        "country_id",
        "postcode",
    ];
    let result = search::run(
        records,
        &sc,
        &TopLevel { known: &known },
        "source_code",
        app.paging(),
    )?;
    Ok(cx.reply(result))
}

async fn source_items_list(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_SOURCE_ITEM).await?;
    let sc = criteria(&cx, true)?;
    let records = source_item_records(&app.shop());
    let known = ["sku", "source_code", "quantity", "status"];
    let result = search::run(records, &sc, &TopLevel { known: &known }, "sku", app.paging())?;
    Ok(cx.reply(result))
}

async fn source_items_post(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_SOURCE_ITEM).await?;
    let body = cx.body()?;
    let list = body
        .get("sourceItems")
        .and_then(Value::as_array)
        .ok_or_else(|| MageError::required("sourceItems"))?;
    let mut shop = app.shop();
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for item in list {
        let Some(o) = item.as_object() else {
            return Err(MageError::wrong_type(item, "object"));
        };
        check_fields(
            o,
            &["sku", "source_code", "quantity", "status", "extension_attributes"],
            "Magento\\InventoryApi\\Api\\Data\\SourceItemInterface",
        )?;
        let field_err = |msg: &str, field: &str| json!({ "message": msg, "parameters": { "field": field } });
        let sku = o.get("sku").and_then(string_of).unwrap_or_default();
        let code = o.get("source_code").and_then(string_of).unwrap_or_default();
        if sku.trim().is_empty() {
            errors.push(field_err("\"%field\" can not be empty.", "sku"));
        }
        if code.trim().is_empty() {
            errors.push(field_err("\"%field\" can not be empty.", "source_code"));
        }
        let qty = match o.get("quantity") {
            Some(v) => decimal_of(v),
            None => Some(Decimal::ZERO),
        };
        if qty.is_none() {
            errors.push(field_err("\"%field\" should be numeric.", "quantity"));
        }
        let status = o.get("status").map(int_of).unwrap_or(Some(0));
        if !matches!(status, Some(0 | 1)) {
            errors.push(field_err("\"%field\" should be numeric.", "status"));
        }
        parsed.push((sku, code, qty.unwrap_or_default(), status.unwrap_or_default()));
    }
    if !errors.is_empty() {
        return Err(MageError {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "message": "Validation Failed", "errors": errors }),
        });
    }
    if parsed
        .iter()
        .any(|(_, code, _, _)| !shop.sources.iter().any(|s| s.code == *code))
    {
        return Err(MageError::new(
            StatusCode::BAD_REQUEST,
            "Could not save Source Item",
        ));
    }
    for (sku, code, qty, status) in parsed {
        shop.set_source_item(&sku, &code, qty, status);
    }
    Ok(cx.reply(json!([])))
}

// ---------------------------------------------------------------- categories

fn category_tree(shop: &Shop, c: &Category, depth: Option<i64>) -> Value {
    let mut kids: Vec<&Category> = shop.categories.values().filter(|k| k.parent_id == c.id).collect();
    kids.sort_by_key(|k| (k.position, k.id));
    let children: Vec<Value> = match depth {
        Some(d) if d <= 0 => Vec::new(),
        _ => kids
            .into_iter()
            .map(|k| category_tree(shop, k, depth.map(|d| d - 1)))
            .collect(),
    };
    let count = shop
        .products
        .values()
        .filter(|p| p.category_links.iter().any(|(_, id)| *id == c.id))
        .count();
    json!({
        "id": c.id, "parent_id": c.parent_id, "name": c.name, "is_active": c.is_active,
        "position": c.position, "level": c.level, "product_count": count, "children_data": children,
    })
}

fn category_path(shop: &Shop, c: &Category) -> String {
    let mut ids = vec![c.id];
    let mut cur = c.parent_id;
    while let Some(p) = shop.categories.get(&cur) {
        ids.push(p.id);
        cur = p.parent_id;
    }
    ids.iter().rev().map(u64::to_string).collect::<Vec<_>>().join("/")
}

fn category_json(shop: &Shop, c: &Category) -> Value {
    let children: Vec<String> = shop
        .categories
        .values()
        .filter(|k| k.parent_id == c.id)
        .map(|k| k.id.to_string())
        .collect();
    json!({
        "id": c.id, "parent_id": c.parent_id, "name": c.name, "is_active": c.is_active,
        "position": c.position, "level": c.level, "children": children.join(","),
        "created_at": ts(c.created_at), "updated_at": ts(c.updated_at), "path": category_path(shop, c),
        "available_sort_by": [], "include_in_menu": c.include_in_menu,
        "custom_attributes": [
            { "attribute_code": "url_key", "value": c.url_key },
            { "attribute_code": "url_path", "value": c.url_key },
            { "attribute_code": "is_anchor", "value": "1" },
        ],
    })
}

async fn categories_tree(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_CATEGORIES).await?;
    let root = match cx.query_leaf("rootCategoryId") {
        Some(r) => r
            .parse::<u64>()
            .map_err(|_| MageError::wrong_type(&Value::String(r), "int"))?,
        None => 2,
    };
    let depth = match cx.query_leaf("depth") {
        Some(d) => Some(
            d.parse::<i64>()
                .map_err(|_| MageError::wrong_type(&Value::String(d), "int"))?,
        ),
        None => None,
    };
    let shop = app.shop();
    let c = shop
        .categories
        .get(&root)
        .ok_or_else(|| no_such_entity("id", json!(root)))?;
    Ok(cx.reply(category_tree(&shop, c, depth)))
}

async fn category_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_CATEGORIES).await?;
    let id = id_param(&cx, "id")?;
    let shop = app.shop();
    let c = shop
        .categories
        .get(&id)
        .ok_or_else(|| no_such_entity("id", json!(id)))?;
    Ok(cx.reply(category_json(&shop, c)))
}

async fn category_post(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_CATEGORIES).await?;
    let body = cx.body()?;
    let c = body
        .get("category")
        .and_then(Value::as_object)
        .ok_or_else(|| MageError::required("category"))?;
    check_fields(
        c,
        &[
            "id",
            "parent_id",
            "name",
            "is_active",
            "position",
            "level",
            "children",
            "created_at",
            "updated_at",
            "path",
            "available_sort_by",
            "include_in_menu",
            "extension_attributes",
            "custom_attributes",
        ],
        "Magento\\Catalog\\Api\\Data\\CategoryInterface",
    )?;
    let name = c.get("name").and_then(string_of).unwrap_or_default();
    if name.trim().is_empty() {
        return Err(MageError::with_params(
            StatusCode::BAD_REQUEST,
            "Could not save category: %1",
            json!(["The \"Name\" attribute value is empty. Set the attribute and try again."]),
        ));
    }
    let parent_id = match c.get("parent_id") {
        Some(v) => u64::try_from(int_field(v, "parent_id")?).unwrap_or(0),
        None => 2,
    };
    let url_key = c
        .get("custom_attributes")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|x| x.get("attribute_code").and_then(Value::as_str) == Some("url_key"))
        })
        .and_then(|x| x.get("value"))
        .and_then(string_of)
        .unwrap_or_else(|| slug(&name));
    let mut shop = app.shop();
    let parent = shop
        .categories
        .get(&parent_id)
        .cloned()
        .ok_or_else(|| no_such_entity("id", json!(parent_id)))?;
    if shop
        .categories
        .values()
        .any(|k| k.parent_id == parent_id && k.url_key == url_key)
    {
        return Err(url_key_exists());
    }
    let now = now();
    let id = shop.next_category_id;
    shop.next_category_id += 1;
    let position = match c.get("position") {
        Some(v) => int_field(v, "position")?,
        None => {
            shop.categories
                .values()
                .filter(|k| k.parent_id == parent_id)
                .count() as i64
                + 1
        }
    };
    let is_active = match c.get("is_active") {
        Some(v) => bool_of(v).ok_or_else(|| MageError::wrong_type(v, "bool"))?,
        None => false,
    };
    let include_in_menu = match c.get("include_in_menu") {
        Some(v) => bool_of(v).ok_or_else(|| MageError::wrong_type(v, "bool"))?,
        None => true,
    };
    let cat = Category {
        id,
        parent_id,
        name: name.trim().to_owned(),
        is_active,
        position,
        level: parent.level + 1,
        include_in_menu,
        url_key,
        created_at: now,
        updated_at: now,
    };
    shop.categories.insert(id, cat.clone());
    Ok(cx.reply(category_json(&shop, &cat)))
}

// ---------------------------------------------------------------- orders

const ORDER_OPTIONAL: &[&str] = &[
    "customer_id",
    "coupon_code",
    "discount_description",
    "total_canceled",
    "total_invoiced",
    "customer_taxvat",
    "customer_dob",
    "customer_middlename",
    "customer_prefix",
    "customer_suffix",
    "ext_order_id",
    "hold_before_state",
    "hold_before_status",
    "total_refunded",
    "remote_ip",
];

fn union_keys<'a>(records: impl Iterator<Item = &'a Value>, extra: &[&'a str]) -> Vec<&'a str> {
    let mut set: BTreeSet<&str> = extra.iter().copied().collect();
    for r in records {
        if let Some(m) = r.as_object() {
            set.extend(m.keys().map(String::as_str));
        }
    }
    set.into_iter().collect()
}

async fn orders_list(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_ORDERS).await?;
    let sc = criteria(&cx, true)?;
    let result = {
        let shop = app.shop();
        let known = union_keys(shop.orders.values(), ORDER_OPTIONAL);
        let records: Vec<Value> = shop.orders.values().cloned().collect();
        search::run(
            records,
            &sc,
            &TopLevel { known: &known },
            "entity_id",
            app.paging(),
        )?
    };
    let served: Vec<u64> = result["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|o| o["entity_id"].as_u64()).collect())
        .unwrap_or_default();
    if served.len() > 1 && Some(served.len() as u64) == sc.page_size {
        app.edit_during_read("orders", &served);
    }
    Ok(cx.reply(app.maybe_malform(result)))
}

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
    fn edit_during_read(&self, resource: &str, served: &[u64]) {
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
        let now = json!(super::wire::ts(chrono::Utc::now().naive_utc()));
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

/// Body of `POST /_sandbox/magento/records`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsChange {
    /// `orders` or `customers`.
    pub resource: String,
    /// Keys to change (`updated_at` = now): order `increment_id`s, customer ids.
    #[serde(default)]
    pub change: Vec<String>,
    /// Keys to delete.
    #[serde(default)]
    pub remove: Vec<String>,
    /// How many records to add (copies of the newest, new ids, `updated_at` = now).
    #[serde(default)]
    pub add: usize,
}

/// `POST /_sandbox/magento/records {"resource", "change", "remove", "add"}`: records changed,
/// deleted and created in the shop by someone else (for the paging-under-change check).
/// Answers `{"added": [keys]}`.
pub async fn control_records(State(app): St, Json(req): Json<RecordsChange>) -> Response {
    let now = json!(super::wire::ts(chrono::Utc::now().naive_utc()));
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

async fn order_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_ORDERS).await?;
    let id = id_param(&cx, "id")?;
    let shop = app.shop();
    let o = shop.orders.get(&id).ok_or_else(entity_not_found)?;
    Ok(cx.reply(o.clone()))
}

/// `PUT /V1/orders/{parent_id}` with `{"entity": address}`: edits an order address
/// (`Magento\Sales\Api\OrderAddressRepositoryInterface::save`, route `/V1/orders/:parent_id`
/// in Magento_Sales' webapi.xml). The address is found by its `entity_id` (else by
/// `address_type`); the fields given replace the stored ones; the order's `updated_at` moves.
/// Answers the saved address.
async fn order_address_put(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_COMMENT).await?;
    let id = id_param(&cx, "id")?;
    let body = cx.body()?;
    let entity = body
        .get("entity")
        .and_then(Value::as_object)
        .ok_or_else(|| MageError::required("entity"))?
        .clone();
    let mut shop = app.shop();
    let order = shop.orders.get_mut(&id).ok_or_else(entity_not_found)?;
    let want_id = entity.get("entity_id").and_then(Value::as_u64);
    let want_type = entity
        .get("address_type")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let matches = |a: &Value| match (want_id, &want_type) {
        (Some(i), _) => a.get("entity_id").and_then(Value::as_u64) == Some(i),
        (None, Some(t)) => a.get("address_type").and_then(Value::as_str) == Some(t.as_str()),
        (None, None) => false,
    };
    let pointer = if order.get("billing_address").is_some_and(&matches) {
        "/billing_address"
    } else if order
        .pointer("/extension_attributes/shipping_assignments/0/shipping/address")
        .is_some_and(&matches)
    {
        "/extension_attributes/shipping_assignments/0/shipping/address"
    } else {
        return Err(entity_not_found());
    };
    let Some(address) = order.pointer_mut(pointer) else {
        return Err(entity_not_found());
    };
    if let Some(obj) = address.as_object_mut() {
        for (k, v) in entity {
            if k != "entity_id" && k != "parent_id" {
                obj.insert(k, v);
            }
        }
    }
    let saved = address.clone();
    order["updated_at"] = json!(ts(now()));
    Ok(cx.reply(saved))
}

async fn comments_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_ORDERS).await?;
    let id = id_param(&cx, "id")?;
    let shop = app.shop();
    let o = shop.orders.get(&id).ok_or_else(entity_not_found)?;
    let items = o.get("status_histories").cloned().unwrap_or_else(|| json!([]));
    let total = items.as_array().map_or(0, Vec::len);
    Ok(cx.reply(json!({ "items": items, "search_criteria": { "filter_groups": [] }, "total_count": total })))
}

/// The state a status belongs to (Magento's default status-to-state assignment).
fn state_of(status: &str) -> Option<&'static str> {
    Some(match status {
        "pending" => "new",
        "pending_payment" => "pending_payment",
        "processing" => "processing",
        "complete" => "complete",
        "closed" => "closed",
        "canceled" => "canceled",
        "holded" => "holded",
        "payment_review" | "fraud" => "payment_review",
        _ => return None,
    })
}

async fn comment_post(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_COMMENT).await?;
    let id = id_param(&cx, "id")?;
    let body = cx.body()?;
    let h = body
        .get("statusHistory")
        .and_then(Value::as_object)
        .ok_or_else(|| MageError::required("statusHistory"))?;
    check_fields(
        h,
        &[
            "comment",
            "created_at",
            "entity_id",
            "entity_name",
            "is_customer_notified",
            "is_visible_on_front",
            "parent_id",
            "status",
            "extension_attributes",
        ],
        "Magento\\Sales\\Api\\Data\\OrderStatusHistoryInterface",
    )?;
    let flag = |k: &str| -> Result<i64, MageError> {
        match h.get(k) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => bool_of(v)
                .map(i64::from)
                .ok_or_else(|| MageError::wrong_type(v, "int")),
        }
    };
    let notified = flag("is_customer_notified")?;
    let visible = flag("is_visible_on_front")?;
    let comment = h.get("comment").and_then(string_of).unwrap_or_default();
    let status = h.get("status").and_then(string_of).filter(|s| !s.is_empty());
    let mut shop = app.shop();
    let history_id = shop.next_history_id;
    let order = shop.orders.get_mut(&id).ok_or_else(entity_not_found)?;
    let current = order
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let status = status.unwrap_or(current.clone());
    let t = ts(now());
    let entry = json!({
        "comment": comment, "created_at": t, "entity_id": history_id, "entity_name": "order",
        "is_customer_notified": notified, "is_visible_on_front": visible, "parent_id": id, "status": status,
    });
    if let Some(Value::Array(list)) = order.get_mut("status_histories") {
        list.insert(0, entry);
    }
    if status != current {
        order["status"] = json!(status);
        if let Some(state) = state_of(&status) {
            order["state"] = json!(state);
        }
        order["updated_at"] = json!(t);
    }
    shop.next_history_id += 1;
    Ok(cx.reply(json!(true)))
}

// ---------------------------------------------------------------- customers

async fn customers_search(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_CUSTOMERS).await?;
    let sc = criteria(&cx, true)?;
    let result = {
        let shop = app.shop();
        let known = union_keys(
            shop.customers.values(),
            &["taxvat", "dob", "middlename", "prefix", "suffix"],
        );
        let records: Vec<Value> = shop.customers.values().cloned().collect();
        let fields = search::Aliased {
            inner: TopLevel { known: &known },
            aliases: &[("entity_id", "id")],
        };
        search::run(records, &sc, &fields, "id", app.paging())?
    };
    Ok(cx.reply(app.maybe_malform(result)))
}

async fn customer_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_CUSTOMERS).await?;
    let id = id_param(&cx, "id")?;
    let shop = app.shop();
    let c = shop
        .customers
        .get(&id)
        .ok_or_else(|| no_such_entity("customerId", json!(id)))?;
    Ok(cx.reply(c.clone()))
}

// ---------------------------------------------------------------- tax and store

async fn search_static(app: &App, cx: &Ctx, records: Vec<Value>, id: &str) -> Res {
    let sc = criteria(cx, true)?;
    let known = union_keys(records.iter(), &[]);
    let result = search::run(
        records.clone(),
        &sc,
        &TopLevel { known: &known },
        id,
        app.paging(),
    )?;
    Ok(cx.reply(result))
}

async fn tax_classes(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_TAX).await?;
    let mut records: Vec<Value> = PRODUCT_TAX_CLASSES
        .iter()
        .map(|(id, name, _)| json!({ "class_id": id, "class_name": name, "class_type": "PRODUCT" }))
        .collect();
    records.push(
        json!({ "class_id": CUSTOMER_TAX_CLASS, "class_name": "Retail Customer", "class_type": "CUSTOMER" }),
    );
    search_static(&app, &cx, records, "class_id").await
}

async fn tax_rates(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_TAX).await?;
    let records: Vec<Value> = PRODUCT_TAX_CLASSES
        .iter()
        .enumerate()
        .map(|(i, (class, _, rate))| {
            json!({
                "id": i + 1, "tax_country_id": "NL", "tax_region_id": 0, "tax_postcode": "*",
                "rate": money(tax_rate(*class)), "code": format!("NL-BTW-{rate}"), "titles": [],
            })
        })
        .collect();
    search_static(&app, &cx, records, "id").await
}

async fn tax_rules(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_TAX).await?;
    let records: Vec<Value> = PRODUCT_TAX_CLASSES
        .iter()
        .enumerate()
        .map(|(i, (class, name, rate))| {
            json!({
                "id": i + 1, "code": format!("{name} {rate}%"), "priority": 0, "position": 0,
                "customer_tax_class_ids": [CUSTOMER_TAX_CLASS], "product_tax_class_ids": [class],
                "tax_rate_ids": [i + 1], "calculate_subtotal": false,
            })
        })
        .collect();
    search_static(&app, &cx, records, "id").await
}

async fn store_views(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_STORE).await?;
    Ok(cx.reply(json!([
        { "id": 0, "code": "admin", "name": "Admin", "website_id": 0, "store_group_id": 0, "is_active": 1 },
        { "id": 1, "code": "default", "name": "Default Store View", "website_id": 1, "store_group_id": 1, "is_active": 1 },
    ])))
}

async fn store_configs(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_STORE).await?;
    let base = format!("{}/", cx.base_url);
    Ok(cx.reply(json!([{
        "id": 1, "code": "default", "website_id": 1, "locale": "nl_NL",
        "base_currency_code": "EUR", "default_display_currency_code": "EUR",
        "timezone": "Europe/Amsterdam", "weight_unit": "kgs",
        "base_url": base, "base_link_url": base,
        "base_static_url": format!("{base}static/"), "base_media_url": format!("{base}media/"),
        "secure_base_url": base, "secure_base_link_url": base,
        "secure_base_static_url": format!("{base}static/"), "secure_base_media_url": format!("{base}media/"),
    }])))
}

async fn websites(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_STORE).await?;
    Ok(cx.reply(json!([
        { "id": 0, "code": "admin", "name": "Admin", "default_group_id": 0 },
        { "id": 1, "code": "base", "name": "Main Website", "default_group_id": 1 },
    ])))
}
