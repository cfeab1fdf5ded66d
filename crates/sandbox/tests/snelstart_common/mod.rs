//! Shared by the SnelStart simulator tests: start a simulator, get a token, call the API
//! over real HTTP, and check every response against the definition.

#![allow(dead_code)]

use koppel_sandbox::control::Running;
use koppel_sandbox::snelstart::{self, spec, SnelStartOptions, CLIENT_KEY, SUBSCRIPTION_KEY};
use serde_json::Value;

pub struct Api {
    pub sim: Running,
    pub http: reqwest::Client,
    pub token: String,
}

pub async fn start(opts: SnelStartOptions) -> Api {
    let sim = snelstart::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let token = token(&http, &sim.base_url()).await;
    Api { sim, http, token }
}

pub async fn token(http: &reqwest::Client, base: &str) -> String {
    let r = http
        .post(format!("{base}/b2b/token"))
        .form(&[("grant_type", "clientkey"), ("clientkey", CLIENT_KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "bearer");
    v["access_token"].as_str().unwrap().to_owned()
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}/v2{path}", self.sim.base_url())
    }

    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .header("Ocp-Apim-Subscription-Key", SUBSCRIPTION_KEY)
    }

    /// Sends, returns status and JSON body (Null when empty).
    pub async fn send(&self, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, body)
    }

    /// Calls an operation and checks the response against the definition's schema for
    /// `template` (e.g. `/relaties/{id}`).
    pub async fn call(&self, method: &str, path: &str, template: &str, body: Option<&Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.req(m, path);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let (status, v) = self.send(rb).await;
        if status < 300 {
            let violations = spec::spec().unwrap().check_response(method, template, status, &v);
            assert!(
                violations.is_empty(),
                "{method} {path} -> {status}: {violations:?}\n{v}"
            );
        }
        (status, v)
    }

    pub async fn get(&self, path: &str, template: &str) -> (u16, Value) {
        self.call("GET", path, template, None).await
    }

    pub async fn control(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.sim.base_url()))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap()
            },
        )
    }

    pub async fn stats(&self) -> koppel_sandbox::control::Stats {
        self.http
            .get(format!("{}/_sandbox/stats", self.sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// The error codes of a SnelStart 400 body (a JSON array of `{errorCode, message}`).
pub fn codes(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap_or_else(|| panic!("400 body is not an array: {body}"))
        .iter()
        .map(|e| {
            assert!(e["message"].is_string(), "{e}");
            e["errorCode"].as_str().unwrap().to_owned()
        })
        .collect()
}

pub fn land_id(landen: &Value, iso: &str) -> String {
    landen
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["landcodeISO"] == iso)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}
