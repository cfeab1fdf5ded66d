//! The webservice dispatcher, after classes/webservice/WebserviceRequest.php: authentication
//! (`authenticate`, codes 16-21), resource and method checks (`checkResource` 26/27,
//! `checkHTTPMethod` 23/25/101), filters/sort/limit/display (`manageFilters`, codes 28-39),
//! and writes (`saveEntityFromXml`: 41, 84, 85, 86, 90-93, 127).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

use super::data::Shop;
use super::schema::{resource, RESOURCES};
use super::wire::{self, Render};
use super::{PrestaOptions, PrestaVersion, WS_KEY};
use crate::control::{self, Control};

mod read;
mod write;

use read::*;
use write::*;

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
