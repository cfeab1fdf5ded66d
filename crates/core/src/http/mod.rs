//! The HTTP policy every connector uses: timeouts, retries with exponential backoff and jitter
//! honouring `Retry-After`, rate limits per external account, a token-refresh hook (once on 401,
//! single-flight), secret redaction, a `tracing` span per request, and request counters.
//!
//! Connectors build a [`HttpClient`] and supply only an [`AuthProvider`] and a classifier that
//! turns their error bodies into [`Error`]s.
//!
//! This file holds the client itself: building it and sending a request under the policy (the
//! attempt loop). What it uses lives one job per file: `policy` ([`HttpPolicy`], [`Safety`]),
//! `retry` (backoff, `Retry-After`), `limits` (the rate limiter), `auth` ([`AuthProvider`],
//! [`TokenCache`]), `response` ([`RawResponse`] and its classification), `stats` (request
//! counters) and `redact` (secret redaction).

mod auth;
mod limits;
mod policy;
mod redact;
mod response;
mod retry;
mod stats;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::secret::{Redactor, Secret};

pub use auth::{AuthProvider, TokenCache};
pub use limits::{limiter_for, Limiter, RateLimits};
pub use policy::{HttpPolicy, Safety};
pub use response::{default_classify, Classifier, RawResponse};
pub use retry::parse_retry_after;
pub use stats::{RequestCount, StatsSnapshot};

use stats::Stats;

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

    /// Request counters so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
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
            self.stats.record_retry();
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests;
