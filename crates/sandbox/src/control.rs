//! What every simulator shares: request counters, fault injection and reset, served under
//! `/_sandbox/*`, and a middleware that applies the faults and counts the requests.
//!
//! - `GET /_sandbox/stats`: `{"requests": [{"method": "POST", "path": "/v2/verkooporders",
//!   "status": 201, "count": 3}, ...]}`: requests served, by method, path template and status.
//! - `POST /_sandbox/faults`: JSON [`Faults`]; replaces the current faults. `GET` shows them.
//! - `POST /_sandbox/reset`: clears counters and faults and restores the seeded state.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Faults to inject. All rates are between 0 and 1 and apply to API requests (not to
/// `/_sandbox/*`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added latency per request, in milliseconds.
    pub latency_ms: u64,
    /// Share of requests answered with a 503 before they are processed.
    pub error_rate: f64,
    /// Share of requests answered with a 500 *after* they were processed (the write happened,
    /// the client sees an error): for testing exactly-once.
    pub error_after_rate: f64,
    /// Share of requests that hang for `timeout_ms` and then get no answer (connection closed).
    pub timeout_rate: f64,
    /// How long a timed-out request hangs, in milliseconds (default 30000).
    pub timeout_ms: u64,
    /// The next N API requests are answered with 429 and `Retry-After: retry_after_secs`.
    pub burst_429: u32,
    /// `Retry-After` seconds sent with injected 429s.
    pub retry_after_secs: u64,
    /// Tokens issued before now are treated as expired (401) once: simulates early expiry.
    pub expire_tokens: bool,
    /// Share of list responses in which one record is malformed (simulator-specific).
    pub malformed_rate: f64,
}

/// Body of a shop simulator's `POST /_sandbox/<shop>/records`: records changed, deleted and
/// created in the shop by someone else while koppel reads (the conformance kit's
/// paging-under-change check). Answered with `{"added": [keys]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsChange {
    /// `orders` or `customers`.
    pub resource: String,
    /// Keys to change (their change time = now), as the shop names its records.
    #[serde(default)]
    pub change: Vec<String>,
    /// Keys to delete.
    #[serde(default)]
    pub remove: Vec<String>,
    /// How many records to add (copies of the newest, new keys, changed now).
    #[serde(default)]
    pub add: usize,
}

/// Counters and faults of one simulator.
#[derive(Default)]
pub struct Control {
    counts: Mutex<BTreeMap<(String, String, u16), u64>>,
    faults: Mutex<Faults>,
}

/// One row of `/_sandbox/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatRow {
    /// HTTP method.
    pub method: String,
    /// Path template, e.g. `/v2/verkooporders/{id}`.
    pub path: String,
    /// Response status.
    pub status: u16,
    /// How many.
    pub count: u64,
}

/// The body of `/_sandbox/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests served.
    pub requests: Vec<StatRow>,
}

impl Stats {
    /// Sum of counts matching a method and path template (any status).
    pub fn count(&self, method: &str, path: &str) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .map(|r| r.count)
            .sum()
    }

    /// Sum of all counts.
    pub fn total(&self) -> u64 {
        self.requests.iter().map(|r| r.count).sum()
    }

    /// Sum of counts with this status.
    pub fn with_status(&self, status: u16) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.status == status)
            .map(|r| r.count)
            .sum()
    }
}

impl Control {
    /// A fresh control.
    pub fn new() -> Arc<Self> {
        Arc::new(Control::default())
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        Stats {
            requests: c
                .iter()
                .map(|((m, p, s), n)| StatRow {
                    method: m.clone(),
                    path: p.clone(),
                    status: *s,
                    count: *n,
                })
                .collect(),
        }
    }

    /// Current faults.
    pub fn faults(&self) -> Faults {
        self.faults.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the faults.
    pub fn set_faults(&self, f: Faults) {
        *self.faults.lock().unwrap_or_else(|p| p.into_inner()) = f;
    }

    /// Clears counters and faults.
    pub fn clear(&self) {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.set_faults(Faults::default());
    }

    /// Takes the `expire_tokens` flag (true once after it was set).
    pub fn take_expire_tokens(&self) -> bool {
        let mut f = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut f.expire_tokens)
    }

    /// Whether to corrupt one record of this list response.
    pub fn roll_malformed(&self) -> bool {
        let rate = self.faults().malformed_rate;
        rate > 0.0 && rand::rng().random_bool(rate.clamp(0.0, 1.0))
    }

    fn record(&self, method: &str, path: &str, status: u16) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *c.entry((method.to_owned(), path.to_owned(), status)).or_default() += 1;
    }
}

enum Decision {
    Pass,
    Fail503,
    Fail500After,
    Hang(u64),
    TooMany(u64),
}

fn decide(control: &Control) -> (u64, Decision) {
    let mut f = control.faults.lock().unwrap_or_else(|p| p.into_inner());
    let latency = f.latency_ms;
    if f.burst_429 > 0 {
        f.burst_429 -= 1;
        return (latency, Decision::TooMany(f.retry_after_secs));
    }
    let mut rng = rand::rng();
    let roll = |r: f64, rng: &mut rand::rngs::ThreadRng| r > 0.0 && rng.random_bool(r.clamp(0.0, 1.0));
    if roll(f.timeout_rate, &mut rng) {
        let ms = if f.timeout_ms == 0 { 30_000 } else { f.timeout_ms };
        return (latency, Decision::Hang(ms));
    }
    if roll(f.error_rate, &mut rng) {
        return (latency, Decision::Fail503);
    }
    if roll(f.error_after_rate, &mut rng) {
        return (latency, Decision::Fail500After);
    }
    (latency, Decision::Pass)
}

/// Middleware: applies the faults, then counts the request by method, path template and
/// status. Install with `axum::middleware::from_fn_with_state(control, control::track)`
/// as a `route_layer`, so the matched path template is known.
pub async fn track(State(control): State<Arc<Control>>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let (latency, decision) = decide(&control);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let response = match decision {
        Decision::Pass => next.run(req).await,
        Decision::Fail503 => (
            StatusCode::SERVICE_UNAVAILABLE,
            "injected fault: service unavailable",
        )
            .into_response(),
        Decision::Fail500After => {
            let _ = next.run(req).await;
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "injected fault: error after processing",
            )
                .into_response()
        }
        Decision::Hang(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            (StatusCode::GATEWAY_TIMEOUT, "injected fault: timeout").into_response()
        }
        Decision::TooMany(secs) => {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                "injected fault: rate limit exceeded",
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert("retry-after", v);
            }
            r
        }
    };
    control.record(&method, &path, response.status().as_u16());
    response
}

/// Records a request that was answered outside [`track`] (e.g. by a simulator's own rate
/// limiter placed before it).
pub fn record(control: &Control, method: &str, path: &str, status: u16) {
    control.record(method, path, status);
}

/// The `/_sandbox/*` routes. `reset` restores the simulator's seeded state.
pub fn routes(control: Arc<Control>, reset: Arc<dyn Fn() + Send + Sync>) -> Router {
    let c1 = control.clone();
    let c2 = control.clone();
    let c3 = control.clone();
    let c4 = control;
    Router::new()
        .route("/_sandbox/stats", get(move || async move { Json(c1.stats()) }))
        .route(
            "/_sandbox/faults",
            post(move |Json(f): Json<Faults>| async move {
                c2.set_faults(f);
                StatusCode::NO_CONTENT
            })
            .get(move || async move { Json(c3.faults()) }),
        )
        .route(
            "/_sandbox/reset",
            post(move || async move {
                c4.clear();
                reset();
                StatusCode::NO_CONTENT
            }),
        )
}

/// A simulator running on a loopback port.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its counters and faults.
    pub control: Arc<Control>,
    handle: tokio::task::JoinHandle<()>,
}

impl Running {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving.
    pub fn stop(self) {
        self.handle.abort();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Serves `router` on `addr` (use `127.0.0.1:0` for a free port) in the background.
pub async fn serve(router: Router, addr: SocketAddr, control: Arc<Control>) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(Running {
        addr,
        control,
        handle,
    })
}
