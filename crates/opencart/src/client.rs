//! The bridge client: one signed `POST <bridge_url>?op=<operation>` per call, under core's HTTP
//! policy (timeouts, retries, rate limits, redaction). Batching splits a list into calls of at
//! most the configured size; lists are keyset-paged on `(modified, id)`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use koppel_core::http::{default_classify, HttpClient, RawResponse, Safety, StatsSnapshot};
use koppel_core::paging::Keyset;
use koppel_core::{Error, Rejection, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use url::Url;

use crate::auth::BridgeAuth;
use crate::config::Config;
use crate::models::{
    ErrorBody, HistoryAnswer, HistoryItem, HistoryLookup, Items, ListPage, Ping, ProductLookup, StockLookup,
    UpsertItem, WriteAnswer,
};

/// Turns a bridge error body into an error: 401 is a credential problem (wrong secret or clock),
/// 400/404 a protocol mismatch between koppel and the bridge version, 5xx passing unless the
/// bridge says its setup is wrong.
pub fn classify(resp: &RawResponse) -> Error {
    let body: Option<ErrorBody> = serde_json::from_slice(&resp.body).ok();
    let Some(b) = body else {
        return default_classify(resp);
    };
    let m = b.error.message;
    match (resp.status.as_u16(), b.error.kind.as_str()) {
        (401, _) => Error::Auth {
            message: format!(
                "the bridge refused the signature ({m}): check that `secret` equals the bridge's \
                 koppel-bridge.json and that this machine's clock is right (±300 s)"
            ),
        },
        (_, "setup") => Error::config(
            "bridge_url",
            format!("the bridge is not set up: {m} (see bridge/INSTALL.md)"),
        ),
        (400 | 404 | 405 | 413, _) => Error::protocol(format!(
            "the bridge answered HTTP {}: {m} (is the bridge file the version koppel expects?)",
            resp.status
        )),
        (500..=599, _) => Error::Transient {
            message: format!("bridge HTTP {}: {m}", resp.status),
            retry_after: resp.retry_after(),
        },
        _ => default_classify(resp),
    }
}

/// The signed bridge client.
#[derive(Debug, Clone)]
pub struct BridgeClient {
    http: HttpClient,
    url: Url,
}

impl BridgeClient {
    /// Builds the client (no I/O).
    pub fn new(cfg: &Config, pair: &str) -> Result<Self> {
        let http = HttpClient::builder("opencart")
            .policy(cfg.http.clone())
            .rate_limits(format!("opencart:{pair}:{}", cfg.bridge_url), cfg.rate_limits)
            .auth(Arc::new(BridgeAuth::new(cfg.secret.clone())))
            .classifier(Arc::new(classify))
            .secret(&cfg.secret)
            .build()?;
        Ok(BridgeClient {
            http,
            url: cfg.bridge_url.clone(),
        })
    }

    /// Request counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.http.stats()
    }

    /// One call. Every operation is safe to repeat: reads, upserts by SKU, stock set to a
    /// value, and history entries deduplicated by their marker.
    pub async fn call<T: DeserializeOwned>(&self, op: &str, body: &impl Serialize) -> Result<T> {
        let mut url = self.url.clone();
        url.query_pairs_mut().append_pair("op", op);
        let bytes = koppel_core::wire::encode_json(body)?;
        let req = self
            .http
            .reqwest()
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bytes)
            .build()
            .map_err(|e| Error::internal(format!("build {op}: {e}")))?;
        let resp = self.http.send(req, op, Safety::Idempotent).await?;
        resp.json()
    }

    /// `ping`.
    pub async fn ping(&self) -> Result<Ping> {
        self.call("ping", &json!({})).await
    }

    /// Calls `op` with `items` in chunks of `batch`, and checks each answer holds one item per
    /// item asked.
    async fn batched<I: Serialize + Sync, T: DeserializeOwned>(
        &self,
        op: &str,
        extra: &Value,
        items: &[I],
        batch: usize,
    ) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(batch.max(1)) {
            let mut body = extra.clone();
            if let Some(o) = body.as_object_mut() {
                o.insert("items".into(), serde_json::to_value(chunk).unwrap_or(Value::Null));
            }
            let page: Items<T> = self.call(op, &body).await?;
            if page.items.len() != chunk.len() {
                return Err(Error::protocol(format!(
                    "{op}: asked {} items, the bridge answered {}",
                    chunk.len(),
                    page.items.len()
                )));
            }
            out.extend(page.items);
        }
        Ok(out)
    }

    /// Current product state per code.
    pub async fn products_get(
        &self,
        key: &str,
        codes: &[String],
        batch: usize,
    ) -> Result<Vec<ProductLookup>> {
        self.batched("products.get", &json!({ "key": key }), codes, batch)
            .await
    }

    /// Every check of an upsert without writing, and the current state per item.
    pub async fn products_plan(
        &self,
        key: &str,
        store_ids: &[u32],
        items: &[UpsertItem],
        batch: usize,
    ) -> Result<Vec<ProductLookup>> {
        self.batched(
            "products.plan",
            &json!({ "key": key, "store_ids": store_ids }),
            items,
            batch,
        )
        .await
    }

    /// Creates or updates products.
    pub async fn products_upsert(
        &self,
        key: &str,
        store_ids: &[u32],
        items: &[UpsertItem],
        batch: usize,
    ) -> Result<Vec<WriteAnswer>> {
        self.batched(
            "products.upsert",
            &json!({ "key": key, "store_ids": store_ids }),
            items,
            batch,
        )
        .await
    }

    /// Current quantities per code.
    pub async fn stock_get(&self, key: &str, codes: &[String], batch: usize) -> Result<Vec<StockLookup>> {
        self.batched("stock.get", &json!({ "key": key }), codes, batch)
            .await
    }

    /// Sets quantities: `(code, quantity)`.
    pub async fn stock_set(
        &self,
        key: &str,
        items: &[(String, i64)],
        batch: usize,
    ) -> Result<Vec<WriteAnswer>> {
        let items: Vec<Value> = items
            .iter()
            .map(|(c, q)| json!({ "code": c, "quantity": q }))
            .collect();
        self.batched("stock.set", &json!({ "key": key }), &items, batch)
            .await
    }

    /// One page of a keyset-paged list (`orders.list`, `customers.list`): records after `after`
    /// in `(modified, id)` order within `since < modified <= until`.
    pub async fn list_page(
        &self,
        op: &str,
        mut body: Value,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        after: Option<&Keyset>,
        limit: u32,
    ) -> Result<ListPage<Value>> {
        let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        if let Some(o) = body.as_object_mut() {
            o.insert("limit".into(), limit.into());
            if let Some(s) = since {
                o.insert("since".into(), fmt(s).into());
            }
            if let Some(u) = until {
                o.insert("until".into(), fmt(u).into());
            }
            if let Some(k) = after {
                o.insert(
                    "after".into(),
                    json!({ "modified": k.modified.map(fmt), "id": k.numeric_id()? }),
                );
            }
        }
        self.call(op, &body).await
    }

    /// Order status and marker presence per `(order_id, marker)`.
    pub async fn history_check(&self, items: &[(u64, String)]) -> Result<Vec<HistoryLookup>> {
        let items: Vec<Value> = items
            .iter()
            .map(|(o, m)| json!({ "order_id": o, "marker": m }))
            .collect();
        self.batched("history.check", &json!({}), &items, 100).await
    }

    /// Adds history entries.
    pub async fn history_add(&self, items: &[HistoryItem]) -> Result<Vec<HistoryAnswer>> {
        self.batched("history.add", &json!({}), items, 100).await
    }
}

/// A per-item error of the bridge as a record rejection.
pub fn item_rejection(label: &str, e: &crate::models::ItemError) -> Error {
    let field = (!e.field.is_empty()).then_some(e.field.as_str());
    Error::Rejected(Rejection::new(label, field, e.message.clone()))
}
