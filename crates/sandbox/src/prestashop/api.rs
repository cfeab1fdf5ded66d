//! The webservice dispatcher, after classes/webservice/WebserviceRequest.php: authentication
//! (`authenticate`, codes 16-21), resource and method checks (`checkResource` 26/27,
//! `checkHTTPMethod` 23/25/101), filters/sort/limit/display (`manageFilters`, codes 28-39),
//! and writes (`saveEntityFromXml`: 41, 84, 85, 86, 90-93, 127).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use base64::Engine;
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::data::{local_time, AssocItem, Rec, Shop, Val, SHOP_ID};
use super::schema::{resource, ResourceDef, RESOURCES};
use super::wire::{self, parse_xml, Element, Render};
use super::{PrestaOptions, PrestaVersion, WS_KEY};
use crate::control::{self, Control};

/// The simulator's shared state.
pub struct App {
    /// The shop.
    pub shop: Mutex<Shop>,
    /// Counters and faults.
    pub control: Arc<Control>,
    /// Set-up.
    pub opts: PrestaOptions,
}

/// The router: `/api/`, `/api/<resource>`, `/api/<resource>/<id>`, with the `track` layer.
pub fn router(app: Arc<App>, control: Arc<Control>) -> Router {
    Router::new()
        .route("/api", any(index))
        .route("/api/", any(index))
        .route("/api/{resource}", any(collection))
        .route("/api/{resource}/", any(collection))
        .route("/api/{resource}/{id}", any(member))
        .route_layer(from_fn_with_state(control, control::track))
        .with_state(app)
}

struct Req {
    method: String,
    query: Vec<(String, String)>,
    json: bool,
    body: Bytes,
    authenticated: bool,
}

impl Req {
    fn param(&self, k: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
}

type Errors = Vec<(u32, String)>;

struct Fail {
    status: StatusCode,
    errors: Errors,
    www_auth: bool,
}

fn fail(status: u16, code: u32, msg: impl Into<String>) -> Fail {
    Fail {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        errors: vec![(code, msg.into())],
        www_auth: false,
    }
}

impl App {
    fn version_header(&self) -> &'static str {
        match self.opts.version {
            PrestaVersion::V17 => "1.7.8.11",
            PrestaVersion::V8 => "8.1.7",
        }
    }

    /// The methods the key has on a resource (WebserviceKey::getPermissionForAccount).
    fn key_methods(&self, res: &str) -> Option<Vec<String>> {
        if let Some(p) = &self.opts.permissions {
            return p.get(res).cloned();
        }
        let mut m: Vec<String> = ["GET", "PUT", "POST", "DELETE", "HEAD"]
            .map(String::from)
            .to_vec();
        if self.opts.version == PrestaVersion::V8 && self.opts.patch_permission {
            m.push("PATCH".into());
        }
        Some(m)
    }

    fn respond(&self, req: &Req, status: StatusCode, body: Vec<u8>) -> Response {
        let mut r = (status, body).into_response();
        let h = r.headers_mut();
        h.insert(
            "content-type",
            HeaderValue::from_static(if req.json {
                "application/json"
            } else {
                "text/xml;charset=utf-8"
            }),
        );
        h.insert("x-powered-by", HeaderValue::from_static("PrestaShop Webservice"));
        if req.authenticated {
            // returnOutput(): written only once the key is authenticated
            h.insert("psws-version", HeaderValue::from_static(self.version_header()));
        }
        r
    }

    fn error(&self, req: &Req, f: Fail) -> Response {
        let body = if req.json {
            let errors: Vec<Value> = f
                .errors
                .iter()
                .map(|(c, m)| json!({"code": c, "message": m}))
                .collect();
            serde_json::to_vec(&json!({ "errors": errors })).unwrap_or_default()
        } else {
            wire::errors_xml(&f.errors)
        };
        let mut r = self.respond(req, f.status, body);
        if f.www_auth {
            r.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static(
                    "Basic realm=\"Welcome to PrestaShop Webservice, please enter the authentication key as the login. No password required.\"",
                ),
            );
        }
        r
    }

    fn render(&self, req: &Req, shop: &Shop) -> Result<Render, Fail> {
        let languages = match req.param("language") {
            None => shop.languages.clone(),
            Some(v) => {
                let inner = v.trim_start_matches('[').trim_end_matches(']');
                let ids: Vec<u32> = inner
                    .split(['|', ','])
                    .map(|x| x.trim().parse::<u32>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| fail(400, 79, "language value is wrong"))?;
                let ids: Vec<u32> = ids.into_iter().filter(|l| shop.languages.contains(l)).collect();
                if ids.is_empty() {
                    return Err(fail(400, 81, "language is not available"));
                }
                ids
            }
        };
        Ok(Render {
            languages,
            drop_empty: false,
        })
    }
}

fn key_of(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    // Basic auth takes precedence over ws_key (dispatcher.php reads PHP_AUTH_USER first)
    if let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        if let Some(b) = v.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD.decode(b.trim()).ok()?;
            let text = String::from_utf8(decoded).ok()?;
            return Some(text.split(':').next().unwrap_or("").to_owned());
        }
    }
    query.iter().find(|(k, _)| k == "ws_key").map(|(_, v)| v.clone())
}

fn build_req(method: &Method, q: Option<String>, headers: &HeaderMap, body: Bytes) -> Req {
    let query: Vec<(String, String)> = q
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let mut method = method.as_str().to_owned();
    if let Some((_, m)) = query.iter().find(|(k, _)| k == "ps_method") {
        method = m.to_ascii_uppercase();
    }
    let fmt = |k: &str| {
        query
            .iter()
            .any(|(n, v)| n == k && v.eq_ignore_ascii_case("json"))
    };
    let hdr = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("json"))
    };
    let json = fmt("output_format") || fmt("io_format") || hdr("output-format") || hdr("io-format");
    Req {
        method,
        query,
        json,
        body,
        authenticated: false,
    }
}

fn authenticate(req: &Req, headers: &HeaderMap) -> Result<(), Fail> {
    let mut f = match key_of(headers, &req.query) {
        None => fail(
            401,
            16,
            "Please enter the authentication key as the login. No password required",
        ),
        Some(k) if k.trim().is_empty() => fail(401, 17, "Authentication key is empty"),
        Some(k) if k.trim().len() != 32 => fail(401, 18, "Invalid authentication key format"),
        Some(k) if k.trim() != WS_KEY => Fail {
            status: StatusCode::UNAUTHORIZED,
            errors: vec![
                (20, "Authentification key is not active".into()),
                (21, "No permission for this authentication key".into()),
            ],
            www_auth: true,
        },
        Some(_) => return Ok(()),
    };
    f.www_auth = true;
    Err(f)
}

async fn index(
    State(app): State<Arc<App>>,
    method: Method,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut req = build_req(&method, q, &headers, body);
    if let Err(f) = authenticate(&req, &headers) {
        return app.error(&req, f);
    }
    req.authenticated = true;
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}");
    let perms: Vec<(&str, Vec<String>)> = RESOURCES
        .iter()
        .filter_map(|r| app.key_methods(r.name).map(|m| (r.name, m)))
        .collect();
    if req.json {
        let mut o = serde_json::Map::new();
        for (res, m) in &perms {
            let mut e = serde_json::Map::new();
            for x in ["get", "put", "post", "patch", "delete", "head"] {
                let allowed = m.iter().any(|y| y.eq_ignore_ascii_case(x));
                e.insert(x.into(), json!(if allowed { "true" } else { "false" }));
            }
            o.insert((*res).into(), Value::Object(e));
        }
        let body = serde_json::to_vec(&json!({"api": o})).unwrap_or_default();
        return app.respond(&req, StatusCode::OK, body);
    }
    let p: Vec<(&str, Vec<&str>)> = perms
        .iter()
        .map(|(r, m)| (*r, m.iter().map(String::as_str).collect()))
        .collect();
    app.respond(&req, StatusCode::OK, wire::index_xml(&base, &p))
}

async fn collection(
    State(app): State<Arc<App>>,
    method: Method,
    Path(res): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    dispatch(app, &res, None, &method, q, &headers, body)
}

async fn member(
    State(app): State<Arc<App>>,
    method: Method,
    Path((res, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    dispatch(app, &res, Some(&id), &method, q, &headers, body)
}

fn dispatch(
    app: Arc<App>,
    res: &str,
    id: Option<&str>,
    method: &Method,
    q: Option<String>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let mut req = build_req(method, q, headers, body);
    if let Err(f) = authenticate(&req, headers) {
        return app.error(&req, f);
    }
    req.authenticated = true;
    match handle(&app, res, id, &req) {
        Ok(r) => r,
        Err(f) => app.error(&req, f),
    }
}

fn handle(app: &App, res: &str, id: Option<&str>, req: &Req) -> Result<Response, Fail> {
    let Some(def) = resource(res) else {
        let names: Vec<&str> = RESOURCES.iter().map(|r| r.name).collect();
        return Err(fail(
            400,
            27,
            format!(
                "Resource of type \"{res}\" does not exists. The full list is: \"{}\"",
                names.join("\", \"")
            ),
        ));
    };
    let Some(key_methods) = app.key_methods(res) else {
        return Err(fail(
            401,
            26,
            format!("Resource of type \"{res}\" is not allowed with this authentication key"),
        ));
    };
    let mut valid = vec!["GET", "PUT", "POST", "DELETE", "HEAD"];
    if app.opts.version == PrestaVersion::V8 {
        // PATCH exists since 8.0 (PrestaShop/PrestaShop PR #27952)
        valid.push("PATCH");
    }
    let m = req.method.as_str();
    if !valid.contains(&m) {
        return Err(fail(405, 23, format!("Method {m} is not valid")));
    }
    if def.forbidden.contains(&m) {
        return Err(fail(
            405,
            101,
            format!("Method {m} is not allowed for the resource {res}"),
        ));
    }
    if !key_methods.iter().any(|k| k == m) {
        return Err(fail(
            405,
            25,
            format!("Method {m} is not allowed for the resource {res} with this authentication key"),
        ));
    }
    let mut shop = app.shop.lock().unwrap_or_else(|p| p.into_inner());
    match (m, id) {
        ("GET" | "HEAD", None) => list(app, &shop, def, req),
        ("GET" | "HEAD", Some(id)) => one(app, &shop, def, id, req),
        ("POST", _) => save(app, &mut shop, def, req, true),
        ("PUT" | "PATCH", _) => save(app, &mut shop, def, req, false),
        ("DELETE", Some(id)) => {
            let n: u64 = id
                .parse()
                .map_err(|_| fail(404, 87, format!("Id(s) not exists: {id}")))?;
            let table = shop.table_mut(def.name);
            if table.remove(&n).is_none() {
                return Err(fail(404, 87, format!("Id(s) not exists: {id}")));
            }
            Ok(app.respond(req, StatusCode::OK, Vec::new()))
        }
        _ => Err(fail(400, 90, "id is required when modifying a resource")),
    }
}

/// A record with the associations PrestaShop computes on output: a product's combinations and
/// stock rows (and its `quantity`, read from its stock row), an order's rows (its details).
fn computed(shop: &Shop, def: &ResourceDef, id: u64, rec: &Rec) -> Rec {
    let mut r = rec.clone();
    let idtext = id.to_string();
    match def.name {
        "products" => {
            let combos: Vec<AssocItem> = shop
                .table("combinations")
                .into_iter()
                .flatten()
                .filter(|(_, c)| c.get("id_product") == idtext)
                .map(|(cid, _)| AssocItem::from([("id".to_owned(), cid.to_string())]))
                .collect();
            let mut stock = Vec::new();
            for (sid, s) in shop.table("stock_availables").into_iter().flatten() {
                if s.get("id_product") == idtext && s.get("id_shop") == SHOP_ID.to_string() {
                    if s.get("id_product_attribute") == "0" {
                        r.set("quantity", s.get("quantity"));
                    }
                    stock.push(AssocItem::from([
                        ("id".to_owned(), sid.to_string()),
                        (
                            "id_product_attribute".to_owned(),
                            s.get("id_product_attribute").to_owned(),
                        ),
                    ]));
                }
            }
            r.assoc.insert("combinations".into(), combos);
            r.assoc.insert("stock_availables".into(), stock);
            r.assoc.entry("categories".into()).or_default();
        }
        "orders" => {
            let rows: Vec<AssocItem> = shop
                .table("order_details")
                .into_iter()
                .flatten()
                .filter(|(_, d)| d.get("id_order") == idtext)
                .map(|(did, d)| {
                    let mut item = AssocItem::new();
                    item.insert("id".into(), did.to_string());
                    for (from, to) in [
                        ("product_id", "product_id"),
                        ("product_attribute_id", "product_attribute_id"),
                        ("product_quantity", "product_quantity"),
                        ("product_name", "product_name"),
                        ("product_reference", "product_reference"),
                        ("product_ean13", "product_ean13"),
                        ("product_price", "product_price"),
                        ("unit_price_tax_incl", "unit_price_tax_incl"),
                        ("unit_price_tax_excl", "unit_price_tax_excl"),
                    ] {
                        item.insert(to.into(), d.get(from).to_owned());
                    }
                    item.insert("id_customization".into(), "0".into());
                    item
                })
                .collect();
            r.assoc.insert("order_rows".into(), rows);
        }
        _ => {}
    }
    r
}

#[derive(Debug)]
enum Cond {
    In(Vec<String>),
    Between(String, String),
    Gt(String),
    Lt(String),
    Not(String),
    Begins(String),
    Ends(String),
    Contains(String),
    Eq(String),
}

fn bracket(v: &str, pre: &str, post: &str) -> Option<String> {
    v.strip_prefix(pre)
        .and_then(|x| x.strip_suffix(post))
        .map(str::to_owned)
}

/// The filter syntax of the docs' cheat sheet (SQLUtils::getSQLRetrieveFilter).
fn parse_cond(v: &str) -> Cond {
    if let Some(x) = bracket(v, ">[", "]") {
        return Cond::Gt(x);
    }
    if let Some(x) = bracket(v, "<[", "]") {
        return Cond::Lt(x);
    }
    if let Some(x) = bracket(v, "![", "]") {
        return Cond::Not(x);
    }
    if let Some(x) = bracket(v, "%[", "]%") {
        return Cond::Contains(x);
    }
    if let Some(x) = bracket(v, "%[", "]") {
        return Cond::Ends(x);
    }
    if let Some(x) = bracket(v, "[", "]%") {
        return Cond::Begins(x);
    }
    if let Some(x) = bracket(v, "[", "]") {
        if x.contains('|') {
            return Cond::In(x.split('|').map(str::to_owned).collect());
        }
        if let Some((a, b)) = x.split_once(',') {
            return Cond::Between(a.to_owned(), b.to_owned());
        }
        return Cond::Eq(x);
    }
    Cond::Eq(v.to_owned())
}

fn cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.trim().parse::<Decimal>(), b.trim().parse::<Decimal>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

fn matches(value: &str, c: &Cond) -> bool {
    use std::cmp::Ordering::*;
    let lower = value.to_lowercase();
    match c {
        Cond::In(list) => list.iter().any(|x| cmp(value, x) == Equal),
        Cond::Between(a, b) => cmp(value, a) != Less && cmp(value, b) != Greater,
        Cond::Gt(x) => cmp(value, x) == Greater,
        Cond::Lt(x) => cmp(value, x) == Less,
        Cond::Not(x) => cmp(value, x) != Equal,
        Cond::Begins(x) => lower.starts_with(&x.to_lowercase()),
        Cond::Ends(x) => lower.ends_with(&x.to_lowercase()),
        Cond::Contains(x) => lower.contains(&x.to_lowercase()),
        Cond::Eq(x) => cmp(value, x) == Equal,
    }
}

fn is_date(name: &str) -> bool {
    name == "date_add" || name == "date_upd"
}

fn list(app: &App, shop: &Shop, def: &'static ResourceDef, req: &Req) -> Result<Response, Fail> {
    let render = app.render(req, shop)?;
    if let Some(schema) = req.param("schema") {
        return match schema {
            "blank" | "synopsis" => {
                let body = if req.json {
                    serde_json::to_vec(&wire::blank_json(def, &render.languages)).unwrap_or_default()
                } else {
                    wire::schema_xml(def, &render.languages, schema == "synopsis")
                };
                Ok(app.respond(req, StatusCode::OK, body))
            }
            _ => Err(fail(
                400,
                28,
                "Please select a schema of type 'synopsis' to get the whole schema informations (which fields are required, which kind of content...) or 'blank' to get an empty schema to fill before using POST request",
            )),
        };
    }
    let date_on = req.param("date").is_some_and(|d| !d.is_empty() && d != "0");
    let available: Vec<&str> = def
        .fields
        .iter()
        .filter(|f| !f.lang && (date_on || !is_date(f.name)))
        .map(|f| f.name)
        .collect();
    let mut filters: Vec<(&str, bool, Cond)> = Vec::new();
    for (k, v) in &req.query {
        let Some(field) = k.strip_prefix("filter[").and_then(|x| x.strip_suffix(']')) else {
            continue;
        };
        let lang = def.field(field).is_some_and(|f| f.lang);
        let Some(name) = def.fields.iter().map(|f| f.name).find(|n| *n == field) else {
            return Err(fail(
                400,
                32,
                format!(
                    "This filter does not exist. Did you mean: \"{}\"? The full list is: \"{}\"",
                    available.first().copied().unwrap_or("id"),
                    available.join("\", \"")
                ),
            ));
        };
        if !lang && !available.contains(&name) {
            // date_add / date_upd are filters only with date=1 (manageFilters)
            return Err(fail(
                400,
                32,
                format!(
                    "This filter does not exist. Did you mean: \"{name}\"? The full list is: \"{}\"",
                    available.join("\", \"")
                ),
            ));
        }
        if v.is_empty() {
            return Err(fail(400, 33, format!("The filter \"{field}\" is malformed.")));
        }
        filters.push((name, lang, parse_cond(v)));
    }
    let mut sorts: Vec<(String, bool)> = Vec::new();
    if let Some(s) = req.param("sort") {
        let inner = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(s);
        for part in inner.split(',') {
            let Some((field, dir)) = part.rsplit_once('_') else {
                return Err(fail(400, 37, "The \"sort\" value has to be formed as this example: \"field_ASC\" or '[field_1_DESC,field_2_ASC,field_3_ASC,...]' (\"field\" has to be an available field)"));
            };
            let dir = dir.to_ascii_uppercase();
            if dir != "ASC" && dir != "DESC" {
                return Err(fail(400, 37, "The \"sort\" value has to be formed as this example: \"field_ASC\" or '[field_1_DESC,field_2_ASC,field_3_ASC,...]' (\"field\" has to be an available field)"));
            }
            if !available.contains(&field) {
                return Err(fail(
                    400,
                    38,
                    format!(
                        "Unable to filter by this field. However, these are available: {}",
                        available.join(", ")
                    ),
                ));
            }
            sorts.push((field.to_owned(), dir == "DESC"));
        }
    }
    let (offset, count) = match req.param("limit") {
        None => (0usize, usize::MAX),
        Some(l) => {
            let parts: Vec<&str> = l.split(',').collect();
            let num = |s: &str| s.trim().parse::<usize>().unwrap_or(0);
            match parts.as_slice() {
                [n] => (0, num(n)),
                [o, n] => (num(o), num(n)),
                _ => {
                    return Err(fail(
                        400,
                        39,
                        "The \"limit\" value has to be formed as this example: \"5,25\" or \"10\"",
                    ))
                }
            }
        }
    };
    let display: Option<Option<Vec<String>>> = match req.param("display") {
        None => None,
        Some("full") => Some(None),
        Some(d) => {
            let Some(inner) = d.strip_prefix('[').and_then(|x| x.strip_suffix(']')) else {
                return Err(fail(
                    400,
                    36,
                    "The 'display' syntax is wrong. You can set 'full' or '[field_1,field_2,field_3,...]'.",
                ));
            };
            let names: Vec<String> = inner.split(',').map(|x| x.trim().to_owned()).collect();
            if let Some(bad) = names.iter().find(|n| def.field(n).is_none()) {
                return Err(fail(
                    400,
                    35,
                    format!(
                        "Unable to display this field \"{bad}\". However, these are available: {}",
                        def.fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            Some(Some(names))
        }
    };
    let empty = BTreeMap::new();
    let table = shop.table(def.name).unwrap_or(&empty);
    let mut rows: Vec<(u64, Rec)> = table
        .iter()
        .map(|(id, r)| (*id, computed(shop, def, *id, r)))
        .filter(|(id, r)| {
            filters.iter().all(|(name, lang, c)| {
                if *name == "id" {
                    return matches(&id.to_string(), c);
                }
                match r.fields.get(*name) {
                    Some(Val::Lang(m)) if *lang => m.values().any(|v| matches(v, c)),
                    Some(v) => matches(v.text(0), c),
                    None => matches("", c),
                }
            })
        })
        .collect();
    if !sorts.is_empty() {
        rows.sort_by(|(ia, a), (ib, b)| {
            for (field, desc) in &sorts {
                let (x, y) = if field == "id" {
                    (ia.to_string(), ib.to_string())
                } else {
                    (a.get(field).to_owned(), b.get(field).to_owned())
                };
                let o = cmp(&x, &y);
                if o != std::cmp::Ordering::Equal {
                    return if *desc { o.reverse() } else { o };
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let mut rows: Vec<(u64, Rec)> = rows.into_iter().skip(offset).take(count).collect();
    if app.control.roll_malformed() {
        if let Some((_, r)) = rows.first_mut() {
            // a record the shop's own data made unreadable (a hand-edited row)
            if r.fields.contains_key("date_upd") {
                r.set("date_upd", "not a date");
            }
            for money in ["total_paid_tax_incl", "price"] {
                if r.fields.contains_key(money) {
                    r.set(money, "12,34.5x");
                }
            }
        }
    }
    let body = if req.json {
        if rows.is_empty() {
            // an empty list is `[]`, not `{"products":[]}` (PrestaShop/PrestaShop#10172)
            b"[]".to_vec()
        } else {
            let fields: Option<Vec<String>> = match &display {
                None => Some(Vec::new()),
                Some(None) => None,
                Some(Some(f)) => Some(f.clone()),
            };
            let items: Vec<Value> = rows
                .iter()
                .map(|(id, r)| wire::record_json(def, *id, r, fields.as_deref(), &render))
                .collect();
            serde_json::to_vec(&json!({ def.name: items })).unwrap_or_default()
        }
    } else {
        let refs: Vec<(u64, &Rec)> = rows.iter().map(|(i, r)| (*i, r)).collect();
        wire::list_xml(def, &refs, display.is_some(), &render)
    };
    Ok(app.respond(req, StatusCode::OK, body))
}

fn one(app: &App, shop: &Shop, def: &'static ResourceDef, id: &str, req: &Req) -> Result<Response, Fail> {
    let mut render = app.render(req, shop)?;
    let n: u64 = id.trim().parse().unwrap_or(0);
    let Some(rec) = shop.get(def.name, n) else {
        // getFilteredObjectDetails: a missing object is a 404 without a body
        return Ok(app.respond(req, StatusCode::NOT_FOUND, Vec::new()));
    };
    let rec = computed(shop, def, n, rec);
    let body = if req.json {
        if req.param("display").is_some() {
            // any request with `display` answers in the list shape
            let v = wire::record_json(def, n, &rec, None, &render);
            serde_json::to_vec(&json!({ def.name: [v] })).unwrap_or_default()
        } else {
            render.drop_empty = app.opts.version == PrestaVersion::V8;
            let v = wire::record_json(def, n, &rec, None, &render);
            serde_json::to_vec(&json!({ def.single: v })).unwrap_or_default()
        }
    } else {
        wire::record_xml(def, Some(n), &rec, &render)
    };
    Ok(app.respond(req, StatusCode::OK, body))
}

/// Webservice fields without an object property (`getter`/`setter` in the webservice
/// parameters): saveEntityFromXml only nulls omitted fields the object has (`property_exists`).
const VIRTUAL: &[&str] = &[
    "position_in_category",
    "manufacturer_name",
    "quantity",
    "nb_products_recursive",
];

fn numeric_field(name: &str) -> bool {
    name.starts_with("id_")
        || matches!(
            name,
            "price"
                | "weight"
                | "quantity"
                | "depends_on_stock"
                | "out_of_stock"
                | "active"
                | "minimal_quantity"
        )
}

fn class_name(def: &ResourceDef) -> String {
    let mut s = String::new();
    for part in def.single.split('_') {
        let mut c = part.chars();
        if let Some(f) = c.next() {
            s.push(f.to_ascii_uppercase());
            s.extend(c);
        }
    }
    s
}

fn save(
    app: &App,
    shop: &mut Shop,
    def: &'static ResourceDef,
    req: &Req,
    create: bool,
) -> Result<Response, Fail> {
    let patch = req.method == "PATCH";
    let xml_error = |msg: &str| {
        fail(
            500,
            127,
            format!(
                "XML error : {msg}\nXML length : {}\nOriginal XML : {}",
                req.body.len(),
                String::from_utf8_lossy(&req.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        )
    };
    // the webservice reads XML only (a JSON body is "not XML"; PrestaShop/PrestaShop#14889)
    if req.body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'<') {
        return Err(xml_error("String could not be parsed as XML"));
    }
    let root = parse_xml(&req.body).map_err(|e| xml_error(&e))?;
    let Some(entity) = root.children.first() else {
        return Err(fail(400, 90, "id is required when modifying a resource"));
    };
    let id_text = entity
        .child("id")
        .map(|e| e.text.trim().to_owned())
        .unwrap_or_default();
    let mut rec;
    let id;
    if create {
        if !id_text.is_empty() {
            return Err(fail(400, 91, "id is forbidden when adding a new resource"));
        }
        rec = shop.blank(def, &[]);
        id = None;
    } else {
        if id_text.is_empty() {
            return Err(fail(400, 90, "id is required when modifying a resource"));
        }
        let n: u64 = id_text.parse().unwrap_or(0);
        rec = shop
            .get(def.name, n)
            .cloned()
            .ok_or_else(|| fail(404, 92, "Invalid ID"))?;
        id = Some(n);
    }
    let before = rec.clone();
    let langs = shop.languages.clone();
    for f in def.fields {
        if f.name == "id" {
            continue;
        }
        let present: Option<&Element> = entity.child(f.name);
        if patch && present.is_none() {
            continue;
        }
        if !f.lang {
            match present {
                Some(el) => {
                    if f.read_only {
                        return Err(fail(
                            400,
                            93,
                            format!(
                                "parameter \"{}\" not writable. Please remove this attribute of this XML",
                                f.name
                            ),
                        ));
                    }
                    rec.set(f.name, el.text.clone());
                }
                None if f.required => {
                    return Err(fail(400, 41, format!("parameter \"{}\" required", f.name)));
                }
                // a virtual field (a getter/setter, no object property) is left alone
                None if VIRTUAL.contains(&f.name) => {}
                // an omitted optional field becomes NULL (saveEntityFromXml)
                None => rec.set(f.name, ""),
            }
        } else {
            let mut m: BTreeMap<u32, String> = match rec.fields.get(f.name) {
                Some(Val::Lang(m)) => m.clone(),
                _ => BTreeMap::new(),
            };
            match present {
                Some(el) if el.children.iter().any(|c| c.name == "language") => {
                    for l in el.children.iter().filter(|c| c.name == "language") {
                        if let Some(lid) = l.attrs.get("id").and_then(|x| x.parse::<u32>().ok()) {
                            if langs.contains(&lid) {
                                m.insert(lid, l.text.clone());
                            }
                        }
                    }
                }
                Some(el) => {
                    for l in &langs {
                        m.insert(*l, el.text.clone());
                    }
                }
                // an omitted translation becomes '' in every language
                None => {
                    for l in &langs {
                        m.insert(*l, String::new());
                    }
                }
            }
            rec.fields.insert(f.name.to_owned(), Val::Lang(m));
        }
    }
    // special setters
    if def.name == "products" {
        if let Some(p) = entity.child("position_in_category") {
            let pos = p.text.trim();
            let n: u64 = pos.parse().unwrap_or(0);
            if n == 0 {
                return Err(fail(
                    400,
                    134,
                    "You cannot set 0 or an empty position, the system starts at 1.",
                ));
            }
            let count = shop.table("products").map_or(0, |t| t.len() as u64) + 1;
            if n > count {
                return Err(fail(400, 135, format!("You cannot set a position greater than the total number of products in the category, starting at 1. ({n} > {count})")));
            }
        }
    }
    if def.name == "stock_availables"
        && before.get("depends_on_stock") == "1"
        && rec.get("depends_on_stock") == "1"
        && entity.child("quantity").is_some()
        && rec.get("quantity") != before.get("quantity")
    {
        return Err(fail(400, 133, "You cannot change the quantity of a product that depends on the stock (advanced stock management)."));
    }
    // validation (ObjectModel::validateFieldsLang / validateFields)
    let default_lang = langs.first().copied().unwrap_or(1);
    for f in def.fields.iter().filter(|f| f.lang && f.required) {
        if rec
            .fields
            .get(f.name)
            .map(|v| v.text(default_lang))
            .unwrap_or("")
            .trim()
            .is_empty()
        {
            return Err(fail(
                400,
                84,
                format!(
                    "Validation error: \"Property {}->{} is empty.\"",
                    class_name(def),
                    f.name
                ),
            ));
        }
    }
    for f in def.fields.iter().filter(|f| !f.lang && numeric_field(f.name)) {
        let v = rec.get(f.name).trim().to_owned();
        if !v.is_empty() && v.parse::<Decimal>().is_err() {
            return Err(fail(
                400,
                85,
                format!(
                    "Validation error: \"Property {}->{} is not valid\"",
                    class_name(def),
                    f.name
                ),
            ));
        }
    }
    // associations: the ones with a setter are replaced, computed ones ignored
    if let Some(assocs) = entity.child("associations") {
        for a in &assocs.children {
            let Some(adef) = def.assoc(&a.name) else {
                return Err(fail(
                    400,
                    86,
                    format!("The association \"{}\" does not exists", a.name),
                ));
            };
            let settable = matches!(
                (def.name, adef.name),
                ("products", "categories")
                    | ("customers", "groups")
                    | ("combinations", "product_option_values")
                    | ("categories", _)
            );
            if !settable {
                continue;
            }
            let items: Vec<AssocItem> = a
                .children
                .iter()
                .map(|item| {
                    item.children
                        .iter()
                        .map(|c| (c.name.clone(), c.text.trim().to_owned()))
                        .collect()
                })
                .collect();
            rec.assoc.insert(adef.name.to_owned(), items);
        }
    }
    let now = local_time(Utc::now(), shop.tz);
    if def.field("date_upd").is_some() {
        // ObjectModel::update() / add() stamp date_upd whatever was sent
        rec.set("date_upd", now.clone());
    }
    if create && def.field("date_add").is_some() && rec.get("date_add").is_empty() {
        rec.set("date_add", now.clone());
    }
    // hooks of the object classes
    match def.name {
        "order_histories" if create => {
            let oid: u64 = rec.get("id_order").parse().unwrap_or(0);
            let sid: u64 = rec.get("id_order_state").parse().unwrap_or(0);
            if shop.get("order_states", sid).is_none() {
                return Err(fail(
                    400,
                    85,
                    "Validation error: \"Property OrderHistory->id_order_state is not valid\"",
                ));
            }
            let Some(order) = shop.table_mut("orders").get_mut(&oid) else {
                return Err(fail(
                    400,
                    85,
                    "Validation error: \"Property OrderHistory->id_order is not valid\"",
                ));
            };
            order.set("current_state", sid.to_string());
            order.set("date_upd", now.clone());
            if req.param("sendemail") == Some("1") {
                shop.mails += 1;
            }
        }
        "orders" if !create && rec.get("current_state") != before.get("current_state") => {
            // Order::update with a new current_state adds a history line and mails (#11154)
            let oid = id.unwrap_or(0).to_string();
            let state = rec.get("current_state").to_owned();
            shop.insert(
                "order_histories",
                &[
                    ("id_employee", "0".into()),
                    ("id_order_state", state),
                    ("id_order", oid),
                    ("date_add", now.clone()),
                ],
            );
            shop.mails += 1;
        }
        "stock_availables" if rec.get("id_shop").is_empty() => {
            // a PUT without id_shop stores 0: the row leaves its shop (#18953)
            rec.set("id_shop", "0");
        }
        "categories" if create => {
            let parent: u64 = rec.get("id_parent").parse().unwrap_or(0);
            let depth: u64 = shop
                .get("categories", parent)
                .map_or(0, |p| p.get("level_depth").parse().unwrap_or(0));
            rec.set("level_depth", (depth + 1).to_string());
        }
        _ => {}
    }
    let id = match id {
        Some(n) => n,
        None => shop.take_id(def.name),
    };
    if def.name == "products" && create {
        if rec.assoc.get("categories").is_none_or(Vec::is_empty) {
            let cat = rec.get("id_category_default").to_owned();
            if !cat.is_empty() && cat != "0" {
                rec.assoc.insert(
                    "categories".into(),
                    vec![AssocItem::from([("id".to_owned(), cat)])],
                );
            }
        }
        // Product::add creates the product-level stock row of each shop (quantity 0)
        shop.insert(
            "stock_availables",
            &[
                ("id_product", id.to_string()),
                ("id_product_attribute", "0".into()),
                ("id_shop", SHOP_ID.to_string()),
                ("id_shop_group", "0".into()),
                ("quantity", "0".into()),
                ("depends_on_stock", "0".into()),
                ("out_of_stock", "2".into()),
                ("location", String::new()),
            ],
        );
    }
    if def.name == "combinations" && create {
        shop.insert(
            "stock_availables",
            &[
                ("id_product", rec.get("id_product").to_owned()),
                ("id_product_attribute", id.to_string()),
                ("id_shop", SHOP_ID.to_string()),
                ("id_shop_group", "0".into()),
                ("quantity", "0".into()),
                ("depends_on_stock", "0".into()),
                ("out_of_stock", "2".into()),
                ("location", String::new()),
            ],
        );
    }
    shop.table_mut(def.name).insert(id, rec.clone());
    let rec = computed(shop, def, id, &rec);
    let render = app.render(req, shop)?;
    let body = if req.json {
        let v = wire::record_json(def, id, &rec, None, &render);
        serde_json::to_vec(&json!({ def.single: v })).unwrap_or_default()
    } else {
        wire::record_xml(def, Some(id), &rec, &render)
    };
    let status = if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(app.respond(req, status, body))
}
