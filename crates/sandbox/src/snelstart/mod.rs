//! A stateful SnelStart B2B API v2 on loopback, written from the OpenAPI definition
//! (`spec/snelstart-b2b-api-v2.yaml`) and `shared/reference/snelstart-api.md`.
//!
//! - Token: `POST /b2b/token` with form `grant_type=clientkey&clientkey=<`[`CLIENT_KEY`]`>`
//!   (or `grant_type=password` with the decoded key's user name and password).
//! - API: `/v2/...` with `Authorization: Bearer <token>` and
//!   `Ocp-Apim-Subscription-Key: <`[`SUBSCRIPTION_KEY`]`>`.
//! - Control: the shared `/_sandbox/{stats,faults,reset}` plus
//!   `POST /_sandbox/snelstart/invoice`, `POST /_sandbox/snelstart/payment` and
//!   `POST /_sandbox/snelstart/edit-during-read` (articles edited while a read pages through them).
//!
//! Every request is checked against the definition (path, method, query parameters, JSON
//! body); see `crates/sandbox/README.md` for the behaviour and the error codes.

mod handlers;
pub mod odata;
pub mod spec;
mod store;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use rand::Rng;
use serde_json::{json, Value};

use crate::control::{self, Control, Faults, Running};
use crate::seed::SeedConfig;

pub use store::{fmt_dt, now_local};

/// The koppelsleutel (client key) the simulator accepts: base64 of
/// `sandbox-administratie:sandbox-wachtwoord`, like a real key (user name : password).
pub const CLIENT_KEY: &str = "c2FuZGJveC1hZG1pbmlzdHJhdGllOnNhbmRib3gtd2FjaHR3b29yZA==";

/// The APIM subscription key the simulator accepts (header `Ocp-Apim-Subscription-Key` or
/// query parameter `subscription-key`).
pub const SUBSCRIPTION_KEY: &str = "5b1a8c3e9d2f4a6b8c0d1e2f3a4b5c6d";

/// Request limits per administration (answered with 429 beyond).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Calls per rolling minute.
    pub per_minute: u32,
    /// Calls per rolling hour.
    pub per_hour: u32,
    /// Requests in flight at the same time.
    pub concurrent: u32,
}

impl RateLimits {
    /// Maatwerk and Productie keys: 500/min, 5,000/h, 50 concurrent.
    pub const PRODUCTION: RateLimits = RateLimits {
        per_minute: 500,
        per_hour: 5_000,
        concurrent: 50,
    };
    /// Ontwikkeling & Test keys: 100/min, 1,000/h, 5 concurrent.
    pub const TEST: RateLimits = RateLimits {
        per_minute: 100,
        per_hour: 1_000,
        concurrent: 5,
    };
    /// No limits (for benchmarks that measure the client, not the throttle).
    pub const UNLIMITED: RateLimits = RateLimits {
        per_minute: u32::MAX,
        per_hour: u32::MAX,
        concurrent: u32::MAX,
    };
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::PRODUCTION
    }
}

/// How to start the simulator.
#[derive(Debug, Clone)]
pub struct SnelStartOptions {
    /// What to seed (articles come from [`crate::seed::articles`]).
    pub seed: SeedConfig,
    /// Lifetime of issued tokens (`expires_in`); default 3599 s.
    pub token_lifetime: Duration,
    /// Rate limits of the administration; default [`RateLimits::PRODUCTION`].
    pub rate_limits: RateLimits,
    /// Scopes the token lacks (e.g. `orders:write`): operations needing them answer 403.
    pub missing_scopes: Vec<String>,
    /// Faults active from the start (change them later via `/_sandbox/faults`).
    pub faults: Faults,
}

impl Default for SnelStartOptions {
    fn default() -> Self {
        SnelStartOptions {
            seed: SeedConfig::default(),
            token_lifetime: Duration::from_secs(3599),
            rate_limits: RateLimits::PRODUCTION,
            missing_scopes: Vec::new(),
            faults: Faults::default(),
        }
    }
}

#[derive(Default)]
struct Window {
    hits: VecDeque<Instant>,
}

/// Shared state of one simulator.
pub(crate) struct Sim {
    db: Mutex<store::Db>,
    seeded: store::Db,
    opts: SnelStartOptions,
    tokens: Mutex<HashMap<String, Instant>>,
    window: Mutex<Window>,
    in_flight: AtomicU32,
    control: Arc<Control>,
    edit_plan: Mutex<Option<handlers::EditDuringRead>>,
}

impl Sim {
    fn db(&self) -> std::sync::MutexGuard<'_, store::Db> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn edit_plan(&self) -> std::sync::MutexGuard<'_, Option<handlers::EditDuringRead>> {
        self.edit_plan.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Starts the simulator on `addr` (use `127.0.0.1:0` for a free port). Auth URL:
/// `{base}/b2b/token`, API base: `{base}/v2`.
pub async fn start(addr: SocketAddr, opts: SnelStartOptions) -> std::io::Result<Running> {
    // Parse the definition now, so a broken file fails the start, not the first request.
    spec::spec().map_err(std::io::Error::other)?;
    let control = Control::new();
    control.set_faults(opts.faults.clone());
    let seeded = store::Db::seeded(&opts.seed);
    let sim = Arc::new(Sim {
        db: Mutex::new(seeded.clone()),
        seeded,
        opts,
        tokens: Mutex::new(HashMap::new()),
        window: Mutex::new(Window::default()),
        in_flight: AtomicU32::new(0),
        control: control.clone(),
        edit_plan: Mutex::new(None),
    });
    let reset_sim = sim.clone();
    let reset: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        *reset_sim.db() = reset_sim.seeded.clone();
        *reset_sim.edit_plan() = None;
        reset_sim.tokens.lock().unwrap_or_else(|p| p.into_inner()).clear();
        reset_sim
            .window
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .hits
            .clear();
    });

    let api = handlers::api_routes()
        .route_layer(from_fn_with_state(sim.clone(), check_request))
        .route_layer(from_fn_with_state(sim.clone(), gate))
        .route_layer(from_fn_with_state(control.clone(), control::track))
        .fallback(fallback)
        .method_not_allowed_fallback(fallback)
        .with_state(sim.clone());
    let token = Router::new()
        .route("/b2b/token", post(token))
        .route_layer(from_fn_with_state(control.clone(), control::track))
        .with_state(sim.clone());
    let sandbox = Router::new()
        .route("/_sandbox/snelstart/invoice", post(handlers::control_invoice))
        .route("/_sandbox/snelstart/payment", post(handlers::control_payment))
        .route(
            "/_sandbox/snelstart/edit-during-read",
            post(handlers::control_edit_during_read),
        )
        .with_state(sim);
    let router = Router::new()
        .nest("/v2", api)
        .merge(token)
        .merge(sandbox)
        .merge(control::routes(control.clone(), reset));
    control::serve(router, addr, control).await
}

/// One entry of SnelStart's 400 body.
pub(crate) fn error_item(code: &str, message: impl Into<String>) -> Value {
    json!({"errorCode": code, "message": message.into()})
}

/// A SnelStart 400: a JSON array of `{errorCode, message}`.
pub(crate) fn bad_request(items: Vec<Value>) -> Response {
    (StatusCode::BAD_REQUEST, Json(Value::Array(items))).into_response()
}

pub(crate) fn message(status: StatusCode, text: impl Into<String>) -> Response {
    (status, Json(json!({"message": text.into()}))).into_response()
}

fn apim(status: StatusCode, text: &str) -> Response {
    (
        status,
        Json(json!({"statusCode": status.as_u16(), "message": text})),
    )
        .into_response()
}

async fn fallback(method: Method, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let rel = path.strip_prefix("/v2").unwrap_or(path);
    match spec::spec().ok().and_then(|s| s.match_path(method.as_str(), rel)) {
        Some((template, Some(_))) => message(
            StatusCode::NOT_IMPLEMENTED,
            format!("{method} {template} is declared by the definition but not simulated"),
        ),
        _ => apim(StatusCode::NOT_FOUND, "Resource not found"),
    }
}

fn subscription_key_ok(headers: &HeaderMap, query: Option<&str>) -> bool {
    if let Some(v) = headers.get("ocp-apim-subscription-key") {
        return v.as_bytes() == SUBSCRIPTION_KEY.as_bytes();
    }
    query.is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .any(|(k, v)| k == "subscription-key" && v == SUBSCRIPTION_KEY)
    })
}

struct InFlight<'a>(&'a AtomicU32);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// API Management and the token check: subscription key, bearer token, rate limits.
async fn gate(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    if !subscription_key_ok(req.headers(), req.uri().query()) {
        return apim(
            StatusCode::UNAUTHORIZED,
            "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
        );
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, t) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| t.trim().to_owned())
        });
    {
        let mut tokens = sim.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if sim.control.take_expire_tokens() {
            tokens.clear();
        }
        let now = Instant::now();
        tokens.retain(|_, exp| *exp > now);
        if token.as_ref().is_none_or(|t| !tokens.contains_key(t)) {
            let mut r = message(
                StatusCode::UNAUTHORIZED,
                "Authorization has been denied for this request.",
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    let limits = sim.opts.rate_limits;
    {
        let now = Instant::now();
        let mut w = sim.window.lock().unwrap_or_else(|p| p.into_inner());
        while w
            .hits
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(3600))
        {
            w.hits.pop_front();
        }
        let minute = w
            .hits
            .iter()
            .rev()
            .take_while(|t| now.duration_since(**t) < Duration::from_secs(60))
            .count();
        let wait = if minute as u64 >= u64::from(limits.per_minute) {
            w.hits
                .iter()
                .rev()
                .nth(minute.saturating_sub(1))
                .map(|t| 60 - now.duration_since(*t).as_secs())
        } else if w.hits.len() as u64 >= u64::from(limits.per_hour) {
            w.hits.front().map(|t| 3600 - now.duration_since(*t).as_secs())
        } else {
            None
        };
        if let Some(secs) = wait {
            return too_many(secs.max(1));
        }
        w.hits.push_back(now);
    }
    if sim.in_flight.fetch_add(1, Ordering::SeqCst) >= limits.concurrent {
        sim.in_flight.fetch_sub(1, Ordering::SeqCst);
        return too_many(1);
    }
    let _guard = InFlight(&sim.in_flight);
    next.run(req).await
}

fn too_many(secs: u64) -> Response {
    let mut r = apim(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Rate limit is exceeded. Try again in {secs} seconds."),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The operation of the definition a request was routed to, for handlers.
#[derive(Clone)]
pub(crate) struct OpRef(pub &'static spec::Op);

/// The request's JSON body, already checked against the definition.
#[derive(Clone)]
pub(crate) struct JsonBody(pub Value);

/// Scopes, query parameters and JSON body against the definition.
async fn check_request(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let Ok(definition) = spec::spec() else {
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "OpenAPI definition unavailable",
        );
    };
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let rel = template.strip_prefix("/v2").unwrap_or(&template);
    let Some(op) = definition.op(req.method().as_str(), rel) else {
        return apim(StatusCode::NOT_FOUND, "Resource not found");
    };
    if let Some(scope) = op.scopes.iter().find(|s| sim.opts.missing_scopes.contains(s)) {
        return message(
            StatusCode::FORBIDDEN,
            format!("Het token bevat niet de benodigde scope '{scope}' voor deze operatie."),
        );
    }
    if let Some(q) = req.uri().query() {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            if k == "subscription-key" || (k == "$select" && op.is_odata()) {
                continue;
            }
            let Some(schema) = op.query_param(&k) else {
                return bad_request(vec![error_item(
                    "SIM-0002",
                    format!(
                        "Queryparameter '{k}' is niet gedeclareerd voor {} {}.",
                        op.method, op.path
                    ),
                )]);
            };
            if let Some(resp) = check_query_value(&k, &v, schema) {
                return resp;
            }
        }
    }
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(OpRef(op));
    let req = if let Some(schema) = &op.body {
        let bytes = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
            Ok(b) => b,
            Err(_) => {
                return bad_request(vec![error_item(
                    "SIM-0001",
                    "Request body kon niet worden gelezen.",
                )])
            }
        };
        let value: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                return bad_request(vec![error_item(
                    "SIM-0001",
                    format!("Request body is geen geldige JSON: {e}"),
                )])
            }
        };
        let violations: Vec<_> = definition
            .validate(schema, &value, spec::Mode::Request)
            .into_iter()
            .filter(|v| structural(v.kind))
            .collect();
        if !violations.is_empty() {
            return bad_request(violations_to_items(&violations));
        }
        parts.extensions.insert(JsonBody(value));
        Request::from_parts(parts, Body::from(bytes))
    } else {
        Request::from_parts(parts, body)
    };
    next.run(req).await
}

/// Violations reported before the domain rules run; the others (lengths, ranges, required)
/// are checked after them, so SnelStart's own codes win where known.
fn structural(kind: spec::ViolationKind) -> bool {
    matches!(
        kind,
        spec::ViolationKind::Type | spec::ViolationKind::Enum | spec::ViolationKind::Unknown
    )
}

pub(crate) fn violations_to_items(v: &[spec::Violation]) -> Vec<Value> {
    v.iter()
        .map(|v| {
            let path = if v.path.is_empty() {
                "(body)"
            } else {
                v.path.as_str()
            };
            error_item("SIM-0001", format!("{path}: {}", v.message))
        })
        .collect()
}

fn check_query_value(name: &str, value: &str, schema: &Value) -> Option<Response> {
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or("string");
    match ty {
        "integer" => {
            let Ok(n) = value.trim().parse::<i64>() else {
                return Some(bad_request(vec![error_item(
                    "ALG-0104",
                    format!("The query parameter '{name}' is not valid: '{value}' is not an integer."),
                )]));
            };
            if name == "$top" {
                if let Some(max) = schema.get("maximum").and_then(Value::as_i64) {
                    if n > max {
                        return Some(bad_request(vec![error_item(
                            "ALG-0104",
                            format!(
                                "The limit of '{max}' for Top query has been exceeded. The value from the incoming request is '{n}'"
                            ),
                        )]));
                    }
                }
            }
            let min = schema.get("minimum").and_then(Value::as_i64);
            let max = schema.get("maximum").and_then(Value::as_i64);
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                return Some(bad_request(vec![error_item(
                    "ALG-0104",
                    format!("The query parameter '{name}' is out of range: {n}."),
                )]));
            }
        }
        "string"
            if schema.get("format").and_then(Value::as_str) == Some("uuid")
                && uuid::Uuid::parse_str(value).is_err() =>
        {
            return Some(bad_request(vec![error_item(
                "SIM-0002",
                format!("Queryparameter '{name}': '{value}' is geen GUID."),
            )]));
        }
        _ => {}
    }
    None
}

#[derive(serde::Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    clientkey: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn token(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return oauth_error(
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        );
    }
    let Ok(form) = serde_urlencoded::from_bytes::<TokenForm>(&body) else {
        return oauth_error("invalid_request", "malformed form body");
    };
    let valid = match form.grant_type.as_deref() {
        Some("clientkey") => form.clientkey.as_deref() == Some(CLIENT_KEY),
        Some("password") => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(CLIENT_KEY)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default();
            let given = format!(
                "{}:{}",
                form.username.as_deref().unwrap_or(""),
                form.password.as_deref().unwrap_or("")
            );
            !decoded.is_empty() && decoded == given
        }
        Some(_) => return oauth_error("unsupported_grant_type", "grant_type not supported"),
        None => return oauth_error("invalid_request", "grant_type is required"),
    };
    if !valid {
        return oauth_error("invalid_grant", "The client key is invalid.");
    }
    let bytes: [u8; 32] = rand::rng().random();
    let access = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let lifetime = sim.opts.token_lifetime;
    sim.tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(access.clone(), Instant::now() + lifetime);
    let mut r = Json(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": lifetime.as_secs(),
    }))
    .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
