//! The HTTP policy every connector uses: timeouts, retries with exponential backoff and jitter
//! honouring `Retry-After`, rate limits per external account, a token-refresh hook (once on 401,
//! single-flight), secret redaction, a `tracing` span per request, and request counters.
//!
//! Connectors build a [`HttpClient`] and supply only an [`AuthProvider`] and a classifier that
//! turns their error bodies into [`Error`]s.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::error::{Error, Rejection, Result};
use crate::secret::{Redactor, Secret};

/// Timeouts and retry budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HttpPolicy {
    /// Whole-request timeout in seconds.
    pub timeout_secs: u64,
    /// Connect timeout in seconds.
    pub connect_timeout_secs: u64,
    /// Retries after the first attempt for transient failures and 429s.
    pub max_retries: u32,
    /// First backoff in milliseconds; doubles per retry, with jitter.
    pub initial_backoff_ms: u64,
    /// Longest backoff in milliseconds.
    pub max_backoff_ms: u64,
    /// Longest `Retry-After` honoured, in seconds; a longer one ends the retries.
    pub max_retry_after_secs: u64,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            timeout_secs: 30,
            connect_timeout_secs: 10,
            max_retries: 4,
            initial_backoff_ms: 500,
            max_backoff_ms: 30_000,
            max_retry_after_secs: 120,
        }
    }
}

impl HttpPolicy {
    /// The wait before retry number `attempt` (0-based): exponential with "equal jitter"
    /// (half fixed, half random), capped at `max_backoff_ms`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .initial_backoff_ms
            .saturating_mul(1u64 << attempt.min(20))
            .min(self.max_backoff_ms);
        let half = base / 2;
        let jitter = if half > 0 {
            rand::rng().random_range(0..=half)
        } else {
            0
        };
        Duration::from_millis(half + jitter)
    }
}

/// Rate limits of one external account (a SnelStart administration, one shop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// Calls per minute; none = unlimited.
    pub per_minute: Option<u32>,
    /// Calls per hour; none = unlimited.
    pub per_hour: Option<u32>,
    /// Calls in flight at once; none = unlimited.
    pub concurrent: Option<u32>,
}

/// At most `limit` calls in any window of `period`: a sliding log of the last `limit` start
/// times. Unlike a token bucket (which smooths, or lets up to twice the limit through in one
/// window when its burst equals the limit), this lets exactly as many calls through as the
/// remote's window allows, as early as it allows them.
struct SlidingWindow {
    limit: usize,
    period: Duration,
    log: Mutex<VecDeque<Instant>>,
}

impl SlidingWindow {
    fn new(limit: u32, period: Duration) -> Self {
        // A small margin: our start time is earlier than the remote's arrival time, and
        // arrivals can bunch up on the way.
        SlidingWindow {
            limit: limit.max(1) as usize,
            period: period + period / 50,
            log: Mutex::new(VecDeque::new()),
        }
    }

    /// The wait before a call may start, recording the call when it may start now.
    fn try_take(&self, now: Instant) -> Option<Duration> {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        while log.front().is_some_and(|t| now.duration_since(*t) >= self.period) {
            log.pop_front();
        }
        if log.len() < self.limit {
            log.push_back(now);
            return None;
        }
        let oldest = *log.front()?;
        Some(
            (oldest + self.period)
                .saturating_duration_since(now)
                .max(Duration::from_millis(1)),
        )
    }

    async fn acquire(&self) {
        while let Some(wait) = self.try_take(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The limiter of one account, shared by every client that uses the same account key.
pub struct Limiter {
    minute: Option<SlidingWindow>,
    hour: Option<SlidingWindow>,
    concurrent: Option<Arc<Semaphore>>,
    waited: AtomicU64,
}

impl Limiter {
    /// A limiter for these limits.
    pub fn new(limits: &RateLimits) -> Self {
        Limiter {
            minute: limits
                .per_minute
                .map(|n| SlidingWindow::new(n, Duration::from_secs(60))),
            hour: limits
                .per_hour
                .map(|n| SlidingWindow::new(n, Duration::from_secs(3600))),
            concurrent: limits
                .concurrent
                .map(|n| Arc::new(Semaphore::new(n.max(1) as usize))),
            waited: AtomicU64::new(0),
        }
    }

    /// Waits for a slot; the permit ends the concurrent call when dropped.
    async fn acquire(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let started = Instant::now();
        let permit = match &self.concurrent {
            Some(s) => s.clone().acquire_owned().await.ok(),
            None => None,
        };
        // The hour window first: a call must fit both, and taking a minute slot while waiting
        // for the hour would waste it.
        if let Some(h) = &self.hour {
            h.acquire().await;
        }
        if let Some(m) = &self.minute {
            m.acquire().await;
        }
        self.waited
            .fetch_add(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        permit
    }

    /// Milliseconds spent waiting for the limits so far (for reports and benchmarks).
    pub fn waited_ms(&self) -> u64 {
        self.waited.load(Ordering::Relaxed)
    }
}

/// The limiter for an external account: every client built for the same `account` key (e.g.
/// one SnelStart administration used by two pairs) shares one.
pub fn limiter_for(account: &str, limits: &RateLimits) -> Arc<Limiter> {
    type Limiters = Mutex<HashMap<(String, RateLimits), Arc<Limiter>>>;
    static LIMITERS: OnceLock<Limiters> = OnceLock::new();
    let map = LIMITERS.get_or_init(Default::default);
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    map.entry((account.to_owned(), *limits))
        .or_insert_with(|| Arc::new(Limiter::new(limits)))
        .clone()
}

/// Adds credentials to requests and refreshes them after a 401.
#[async_trait]
pub trait AuthProvider: Send + Sync {
    /// Adds credentials to `request`; returns the generation of the credential used, which
    /// [`AuthProvider::refresh`] gets back after a 401.
    async fn authorize(&self, request: &mut reqwest::Request) -> Result<u64>;

    /// The remote answered 401 to a request authorised with `generation`. Refresh the
    /// credential (unless another request already did) and return true if a retry may help.
    async fn refresh(&self, generation: u64) -> Result<bool> {
        let _ = generation;
        Ok(false)
    }
}

struct CachedToken {
    token: Secret,
    expires_at: Instant,
    generation: u64,
}

/// A bearer-token cache with single-flight fetching: concurrent callers wait for one fetch,
/// and a 401 seen by many requests causes one refresh, not a stampede.
#[derive(Default)]
pub struct TokenCache {
    inner: tokio::sync::Mutex<Option<CachedToken>>,
    generation: AtomicU64,
    fetches: AtomicU64,
}

impl TokenCache {
    /// The current token, fetching one with `fetch` (token, lifetime) when there is none or it
    /// expires within `margin`. Returns the token and its generation.
    pub async fn get<F, Fut>(&self, margin: Duration, fetch: F) -> Result<(Secret, u64)>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Secret, Duration)>>,
    {
        let mut guard = self.inner.lock().await;
        if let Some(t) = guard.as_ref() {
            if t.expires_at > Instant::now() + margin {
                return Ok((t.token.clone(), t.generation));
            }
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let (token, lifetime) = fetch().await?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        *guard = Some(CachedToken {
            token: token.clone(),
            expires_at: Instant::now() + lifetime,
            generation,
        });
        Ok((token, generation))
    }

    /// Drops the token of `generation` (a newer one is kept). Returns whether it was dropped.
    pub async fn invalidate(&self, generation: u64) -> bool {
        let mut guard = self.inner.lock().await;
        match guard.as_ref() {
            Some(t) if t.generation == generation => {
                *guard = None;
                true
            }
            Some(_) => true, // already refreshed by another request: retrying helps
            None => true,
        }
    }

    /// How many tokens were fetched (for tests and reports).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }
}

/// Whether a request may be sent twice without harm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Safety {
    /// GET, PUT of a whole record, DELETE: retried on any transient failure.
    Idempotent,
    /// A POST that creates: retried only when the request surely was not processed
    /// (connection refused, 429); a timeout or 5xx becomes [`Error::Uncertain`].
    NonIdempotent,
}

/// A response read to the end.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Parses the JSON body; a mismatch is a [`Error::Protocol`] naming the JSON path.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        let de = &mut serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(de)
            .map_err(|e| Error::protocol(format!("unreadable response body at {}: {}", e.path(), e.inner())))
    }

    /// The `Retry-After` header as a duration (seconds or HTTP date).
    pub fn retry_after(&self) -> Option<Duration> {
        parse_retry_after(&self.headers)
    }
}

/// Reads `Retry-After` as delta-seconds or an HTTP date.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// The status-based classification every connector starts from; connectors parse their own
/// error bodies first and fall back to this.
pub fn default_classify(resp: &RawResponse) -> Error {
    let status = resp.status;
    let snippet: String = resp.text().chars().take(500).collect();
    match status.as_u16() {
        400 | 422 => Error::Rejected(Rejection::new("", None, format!("HTTP {status}: {snippet}"))),
        401 => Error::Auth {
            message: format!("HTTP 401 unauthorised: check the credentials ({snippet})"),
        },
        403 => Error::Auth {
            message: format!("HTTP 403 forbidden: the credentials lack a permission ({snippet})"),
        },
        404 => Error::NotFound {
            what: format!("HTTP 404: {snippet}"),
        },
        409 => Error::Conflict {
            message: format!("HTTP 409: {snippet}"),
        },
        429 => Error::RateLimited {
            message: format!("HTTP 429: {snippet}"),
            retry_after: resp.retry_after(),
        },
        500..=599 => Error::Transient {
            message: format!("HTTP {status}: {snippet}"),
            retry_after: resp.retry_after(),
        },
        _ => Error::protocol(format!("unexpected HTTP {status}: {snippet}")),
    }
}

/// Turns a non-2xx response into an error.
pub type Classifier = Arc<dyn Fn(&RawResponse) -> Error + Send + Sync>;

/// One row of the request counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCount {
    /// HTTP method.
    pub method: String,
    /// Endpoint template, e.g. `/verkooporders` or `/products/{sku}`.
    pub endpoint: String,
    /// Status; 0 when no response came (timeout, connection error).
    pub status: u16,
    /// How many.
    pub count: u64,
}

/// Request counters of one client, readable at any time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Requests sent, including retries.
    pub total: u64,
    /// Of those, retries.
    pub retries: u64,
    /// Counts by method, endpoint and status.
    pub requests: Vec<RequestCount>,
}

impl StatsSnapshot {
    /// Adds another snapshot (a connector with several clients).
    pub fn merge(mut self, other: StatsSnapshot) -> StatsSnapshot {
        self.total += other.total;
        self.retries += other.retries;
        let mut map: BTreeMap<(String, String, u16), u64> = BTreeMap::new();
        for r in self.requests.drain(..).chain(other.requests) {
            *map.entry((r.method, r.endpoint, r.status)).or_default() += r.count;
        }
        self.requests = map
            .into_iter()
            .map(|((method, endpoint, status), count)| RequestCount {
                method,
                endpoint,
                status,
                count,
            })
            .collect();
        self
    }

    /// Requests counted since `earlier` (for per-flow figures).
    pub fn since(&self, earlier: &StatsSnapshot) -> u64 {
        self.total.saturating_sub(earlier.total)
    }
}

#[derive(Default)]
struct Stats {
    counts: Mutex<BTreeMap<(String, String, u16), u64>>,
    total: AtomicU64,
    retries: AtomicU64,
}

impl Stats {
    fn record(&self, method: &str, endpoint: &str, status: u16) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *c.entry((method.to_owned(), endpoint.to_owned(), status))
            .or_default() += 1;
    }

    fn snapshot(&self) -> StatsSnapshot {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        StatsSnapshot {
            total: self.total.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            requests: c
                .iter()
                .map(|((m, e, s), n)| RequestCount {
                    method: m.clone(),
                    endpoint: e.clone(),
                    status: *s,
                    count: *n,
                })
                .collect(),
        }
    }
}

/// The shared HTTP client. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    name: &'static str,
    client: reqwest::Client,
    policy: HttpPolicy,
    limiter: Arc<Limiter>,
    auth: Option<Arc<dyn AuthProvider>>,
    classify: Classifier,
    redactor: Arc<Mutex<Redactor>>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("name", &self.name)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Builds a [`HttpClient`].
pub struct HttpClientBuilder {
    name: &'static str,
    policy: HttpPolicy,
    account: String,
    limits: RateLimits,
    auth: Option<Arc<dyn AuthProvider>>,
    classify: Classifier,
    secrets: Vec<Secret>,
}

impl HttpClientBuilder {
    /// Timeouts and retries.
    pub fn policy(mut self, policy: HttpPolicy) -> Self {
        self.policy = policy;
        self
    }
    /// Rate limits of the external account named `account` (shared across clients).
    pub fn rate_limits(mut self, account: impl Into<String>, limits: RateLimits) -> Self {
        self.account = account.into();
        self.limits = limits;
        self
    }
    /// The credential provider.
    pub fn auth(mut self, auth: Arc<dyn AuthProvider>) -> Self {
        self.auth = Some(auth);
        self
    }
    /// The connector's error classifier (falls back to [`default_classify`] itself).
    pub fn classifier(mut self, classify: Classifier) -> Self {
        self.classify = classify;
        self
    }
    /// A secret to redact from every log line and error.
    pub fn secret(mut self, secret: &Secret) -> Self {
        self.secrets.push(secret.clone());
        self
    }
    /// Builds the client (rustls, TLS verification on).
    pub fn build(self) -> Result<HttpClient> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(Duration::from_secs(self.policy.timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(self.policy.connect_timeout_secs.max(1)))
            .user_agent(concat!("koppel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("cannot build HTTP client: {e}")))?;
        Ok(HttpClient {
            name: self.name,
            client,
            limiter: limiter_for(&self.account, &self.limits),
            policy: self.policy,
            auth: self.auth,
            classify: self.classify,
            redactor: Arc::new(Mutex::new(Redactor::new(self.secrets.iter()))),
            stats: Arc::default(),
        })
    }
}

impl HttpClient {
    /// Starts a builder for the connector named `name`.
    pub fn builder(name: &'static str) -> HttpClientBuilder {
        HttpClientBuilder {
            name,
            policy: HttpPolicy::default(),
            account: format!("{name}:default"),
            limits: RateLimits::default(),
            auth: None,
            classify: Arc::new(default_classify),
            secrets: Vec::new(),
        }
    }

    /// The underlying reqwest client, for building requests.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.client
    }

    /// Registers a secret learned at run time (e.g. an access token) for redaction.
    pub fn add_secret(&self, value: &str) {
        self.redactor.lock().unwrap_or_else(|p| p.into_inner()).add(value);
    }

    /// Redacts known secrets from text.
    pub fn redact(&self, text: &str) -> String {
        self.redactor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .redact(text)
    }

    fn redact_url(&self, url: &url::Url) -> String {
        self.redactor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .redact_url(url)
    }

    /// Request counters so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Redacts secrets from the text fields of an error.
    fn scrub(&self, e: Error) -> Error {
        let r = |s: String| self.redact(&s);
        match e {
            Error::Transient { message, retry_after } => Error::Transient {
                message: r(message),
                retry_after,
            },
            Error::RateLimited { message, retry_after } => Error::RateLimited {
                message: r(message),
                retry_after,
            },
            Error::Uncertain { message } => Error::Uncertain { message: r(message) },
            Error::Auth { message } => Error::Auth { message: r(message) },
            Error::Config { path, message } => Error::Config {
                path,
                message: r(message),
            },
            Error::NotFound { what } => Error::NotFound { what: r(what) },
            Error::Conflict { message } => Error::Conflict { message: r(message) },
            Error::Rejected(mut rej) => {
                rej.message = r(rej.message);
                Error::Rejected(rej)
            }
            Error::Protocol { message } => Error::Protocol { message: r(message) },
            Error::Internal { message } => Error::Internal { message: r(message) },
        }
    }

    /// Sends a request under the policy. `endpoint` is the path template used in counters
    /// and logs (`/verkooporders/{id}`). Non-2xx answers become errors via the classifier.
    pub async fn send(
        &self,
        request: reqwest::Request,
        endpoint: &str,
        safety: Safety,
    ) -> Result<RawResponse> {
        let method = request.method().as_str().to_owned();
        let span = tracing::info_span!("http", connector = self.name, %method, endpoint);
        self.send_inner(request, endpoint, &method, safety)
            .instrument(span)
            .await
            .map_err(|e| self.scrub(e))
    }

    async fn send_inner(
        &self,
        request: reqwest::Request,
        endpoint: &str,
        method: &str,
        safety: Safety,
    ) -> Result<RawResponse> {
        let url_for_log = self.redact_url(request.url());
        let mut attempt: u32 = 0;
        let mut refreshed = false;
        loop {
            let Some(mut req) = request.try_clone() else {
                return Err(Error::internal("request body cannot be replayed"));
            };
            let generation = match &self.auth {
                Some(a) => a.authorize(&mut req).await?,
                None => 0,
            };
            let started = Instant::now();
            let result = {
                let _permit = self.limiter.acquire().await;
                match self.client.execute(req).await {
                    Ok(resp) => {
                        let status = resp.status();
                        let headers = resp.headers().clone();
                        match resp.bytes().await {
                            Ok(b) => Ok(RawResponse {
                                status,
                                headers,
                                body: b.to_vec(),
                            }),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                }
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let error = match result {
                Ok(resp) => {
                    self.stats.record(method, endpoint, resp.status.as_u16());
                    tracing::debug!(url = %url_for_log, status = resp.status.as_u16(), attempt, elapsed_ms, "response");
                    if resp.status.is_success() {
                        return Ok(resp);
                    }
                    if resp.status == StatusCode::UNAUTHORIZED && !refreshed {
                        if let Some(a) = &self.auth {
                            refreshed = true;
                            if a.refresh(generation).await? {
                                tracing::info!(url = %url_for_log, "401: credentials refreshed, retrying once");
                                continue;
                            }
                        }
                    }
                    let e = (self.classify)(&resp);
                    match (&e, safety) {
                        (Error::Transient { .. }, Safety::NonIdempotent) => {
                            // a 5xx after a create was sent: it may have been applied
                            return Err(Error::Uncertain {
                                message: format!("{method} {url_for_log}: HTTP {}: {e}", resp.status),
                            });
                        }
                        _ => e,
                    }
                }
                Err(e) => {
                    self.stats.record(method, endpoint, 0);
                    let e = e.without_url();
                    tracing::debug!(url = %url_for_log, error = %e, attempt, elapsed_ms, "no response");
                    let sent = !e.is_connect();
                    if sent && safety == Safety::NonIdempotent {
                        return Err(Error::Uncertain {
                            message: format!("{method} {url_for_log}: {e}"),
                        });
                    }
                    Error::transient(format!("{method} {url_for_log}: {e}"))
                }
            };
            if !error.is_retryable() || attempt >= self.policy.max_retries {
                if error.is_retryable() {
                    tracing::warn!(url = %url_for_log, attempts = attempt + 1, error = %self.redact(&error.to_string()), "giving up");
                    let msg = format!("gave up after {} attempts: {error}", attempt + 1);
                    return Err(match error {
                        Error::RateLimited { retry_after, .. } => Error::RateLimited {
                            message: msg,
                            retry_after,
                        },
                        Error::Transient { retry_after, .. } => Error::Transient {
                            message: msg,
                            retry_after,
                        },
                        other => other,
                    });
                }
                return Err(error);
            }
            let wait = match error.retry_after() {
                Some(ra) if ra > Duration::from_secs(self.policy.max_retry_after_secs) => {
                    return Err(error);
                }
                Some(ra) => ra,
                None => self.policy.backoff(attempt),
            };
            tracing::info!(url = %url_for_log, attempt, wait_ms = wait.as_millis() as u64, error = %self.redact(&error.to_string()), "retrying");
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
