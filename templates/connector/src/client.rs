//! HTTP: core's client (retries, rate limits, redaction) with Tinyshop's error bodies.

use std::sync::Arc;

use koppel_core::http::{HttpClient, RawResponse, Safety};
use koppel_core::{Error, Result};
use serde::Serialize;

use crate::auth::BearerToken;
use crate::config::Config;
use crate::models::{ErrorBody, Saved};

/// Tinyshop's API client.
pub struct Client {
    http: HttpClient,
    api: url::Url,
}

/// Errors from Tinyshop's `{"error": ...}` bodies: 401/403 auth, 404/422 the record's fault,
/// the rest as core classifies them.
fn classify(resp: &RawResponse) -> Error {
    let message = resp
        .json::<ErrorBody>()
        .map(|b| b.error)
        .unwrap_or_else(|_| resp.text());
    match resp.status.as_u16() {
        404 | 422 => Error::rejected("", None, message),
        _ => koppel_core::http::default_classify(resp),
    }
}

impl Client {
    /// A client for `config` (no I/O).
    pub fn new(config: &Config, pair: &str) -> Result<Self> {
        let http = HttpClient::builder("tinyshop")
            .rate_limits(format!("tinyshop:{pair}:{}", config.base_url), Default::default())
            .auth(Arc::new(BearerToken(config.token.clone())))
            .classifier(Arc::new(classify))
            .secret(&config.token)
            .build()?;
        let api = config
            .base_url
            .join("api/v1/")
            .map_err(|e| Error::config("base_url", e.to_string()))?;
        Ok(Client { http, api })
    }

    fn url(&self, path: &str) -> Result<url::Url> {
        self.api
            .join(path)
            .map_err(|e| Error::internal(format!("bad path {path}: {e}")))
    }

    /// `GET /api/v1/shop`: the shop's name (checks the token).
    pub async fn shop_name(&self) -> Result<String> {
        let req = self
            .http
            .reqwest()
            .get(self.url("shop")?)
            .build()
            .map_err(|e| Error::internal(e.to_string()))?;
        let v: serde_json::Value = self.http.send(req, "/shop", Safety::Idempotent).await?.json()?;
        Ok(v["name"].as_str().unwrap_or("?").to_owned())
    }

    /// `PUT /api/v1/{what}/{sku}` with a JSON body; a whole record, so idempotent.
    pub async fn put<B: Serialize>(&self, what: &str, sku: &str, body: &B) -> Result<Saved> {
        let mut url = self.url(what)?;
        url.path_segments_mut()
            .map_err(|_| Error::internal("base URL cannot have segments"))?
            .push(sku);
        let req = self
            .http
            .reqwest()
            .put(url)
            .json(body)
            .build()
            .map_err(|e| Error::internal(e.to_string()))?;
        self.http
            .send(req, &format!("/{what}/{{sku}}"), Safety::Idempotent)
            .await?
            .json()
    }

    /// Request counters.
    pub fn stats(&self) -> koppel_core::http::StatsSnapshot {
        self.http.stats()
    }
}
