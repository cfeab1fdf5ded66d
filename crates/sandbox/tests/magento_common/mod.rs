//! Test client for the Magento simulator: signs every request with OAuth 1.0a HMAC-SHA256,
//! written here independently of the simulator's own verifier.
#![allow(dead_code)]

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use hmac::{Hmac, Mac};
use koppel_sandbox::control::Running;
use koppel_sandbox::magento::{self, MagentoOptions};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::Value;
use sha2::Sha256;

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub fn enc(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

pub struct Creds {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub token: String,
    pub token_secret: String,
}

impl Default for Creds {
    fn default() -> Self {
        Creds {
            consumer_key: magento::CONSUMER_KEY.into(),
            consumer_secret: magento::CONSUMER_SECRET.into(),
            token: magento::ACCESS_TOKEN.into(),
            token_secret: magento::ACCESS_TOKEN_SECRET.into(),
        }
    }
}

pub struct Mage {
    pub sim: Running,
    pub http: reqwest::Client,
    pub store: String,
    counter: AtomicU64,
}

pub fn d(v: &Value) -> Decimal {
    Decimal::from_str(&v.to_string()).unwrap_or_else(|_| panic!("not a decimal: {v}"))
}

impl Mage {
    pub async fn start(opts: MagentoOptions) -> Mage {
        let sim = magento::start("127.0.0.1:0".parse().unwrap(), opts)
            .await
            .unwrap();
        Mage {
            sim,
            http: reqwest::Client::new(),
            store: "default".into(),
            counter: AtomicU64::new(0),
        }
    }

    pub fn authorization(
        &self,
        method: &str,
        url: &str,
        query: &[(&str, &str)],
        creds: &Creds,
        nonce: &str,
    ) -> String {
        let ts = chrono::Utc::now().timestamp().to_string();
        let oauth = [
            ("oauth_consumer_key", creds.consumer_key.as_str()),
            ("oauth_token", creds.token.as_str()),
            ("oauth_signature_method", "HMAC-SHA256"),
            ("oauth_timestamp", ts.as_str()),
            ("oauth_nonce", nonce),
            ("oauth_version", "1.0"),
        ];
        let mut all: Vec<(String, String)> = query
            .iter()
            .chain(oauth.iter())
            .map(|(k, v)| (enc(k), enc(v)))
            .collect();
        all.sort();
        let norm = all
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let base = format!("{}&{}&{}", method, enc(url), enc(&norm));
        let key = format!("{}&{}", enc(&creds.consumer_secret), enc(&creds.token_secret));
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(base.as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let mut parts: Vec<String> = oauth.iter().map(|(k, v)| format!("{k}=\"{}\"", enc(v))).collect();
        parts.push(format!("oauth_signature=\"{}\"", enc(&sig)));
        format!("OAuth {}", parts.join(", "))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/rest/{}/V1{}", self.sim.base_url(), self.store, path)
    }

    fn query_string(query: &[(&str, &str)]) -> String {
        query
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// A signed request with the integration's credentials.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_as(method, path, query, body, &Creds::default(), None)
            .await
    }

    /// A signed request with chosen credentials and nonce (`None`: fresh nonce).
    pub async fn call_as(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
        creds: &Creds,
        nonce: Option<&str>,
    ) -> (u16, Value) {
        let url = self.url(path);
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let nonce = nonce
            .map(str::to_owned)
            .unwrap_or_else(|| format!("nonce{n}x{}", std::process::id()));
        let auth = self.authorization(method, &url, query, creds, &nonce);
        let full = if query.is_empty() {
            url
        } else {
            format!("{url}?{}", Self::query_string(query))
        };
        self.raw(method, &full, Some(auth), body).await
    }

    pub async fn raw(
        &self,
        method: &str,
        url: &str,
        auth: Option<String>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(Method::from_bytes(method.as_bytes()).unwrap(), url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let (s, v) = self.call("GET", path, query, None).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }
}

/// `searchCriteria[filter_groups][g][filters][f][...]` triples for one filter.
pub fn filter(g: usize, f: usize, field: &str, value: &str, cond: &str) -> Vec<(String, String)> {
    let p = format!("searchCriteria[filter_groups][{g}][filters][{f}]");
    vec![
        (format!("{p}[field]"), field.to_owned()),
        (format!("{p}[value]"), value.to_owned()),
        (format!("{p}[condition_type]"), cond.to_owned()),
    ]
}

pub fn q(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
