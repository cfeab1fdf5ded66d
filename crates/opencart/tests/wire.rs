//! The koppel bridge protocol (bridge/PROTOCOL.md) against wiremock: every request a signed
//! `POST <bridge URL>?op=<operation>` (signature checked here independently of the connector's
//! signer, a fresh nonce per attempt, the secret never sent), the keyset paging token, and the
//! bridge's error bodies (HTTP and per item) as clear errors.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use koppel_core::{Connector, Error, ReadRequest, Sku, StockLevel, WriteItem, WriteOutcome};
use koppel_opencart::OpenCartConnector;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SECRET: &str = "wire-secret-0123456789abcdef-0123456789";
/// The bridge below a sub-directory: the signed PATH is the request target as sent.
const BRIDGE: &str = "/shop/koppel-bridge.php";

fn connector(server: &MockServer, extra: Value) -> OpenCartConnector {
    let mut cfg = json!({
        "bridge_url": format!("{}{BRIDGE}", server.uri()),
        "secret": SECRET,
        "products": {"tax_classes": {"21": 9, "9": 12}},
        "http": {"max_retries": 0},
    });
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    OpenCartConnector::new(koppel_opencart::parse(cfg).unwrap(), "wire").unwrap()
}

fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Why PROTOCOL.md's bridge would refuse this request, if it would: the headers, the
/// timestamp window, the nonce format and the HMAC over the canonical text, computed here.
fn refusal(r: &Request) -> Option<String> {
    let (Some(ts), Some(nonce), Some(sig)) = (
        header(r, "X-Koppel-Timestamp"),
        header(r, "X-Koppel-Nonce"),
        header(r, "X-Koppel-Signature"),
    ) else {
        return Some("a signing header is missing".into());
    };
    let Ok(t) = ts.parse::<i64>() else {
        return Some(format!("timestamp {ts:?} is not Unix seconds"));
    };
    if (Utc::now().timestamp() - t).abs() > 300 {
        return Some(format!("timestamp {t} is more than 300 s off"));
    }
    let nonce_ok = (16..=128).contains(&nonce.len())
        && nonce
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !nonce_ok {
        return Some(format!("nonce {nonce:?} is not 16-128 of [A-Za-z0-9_-]"));
    }
    let target = match r.url.query() {
        Some(q) => format!("{}?{q}", r.url.path()),
        None => r.url.path().to_owned(),
    };
    let canonical = format!(
        "{}\n{target}\n{ts}\n{nonce}\n{}",
        r.method.as_str(),
        hex::encode(Sha256::digest(&r.body))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(canonical.as_bytes());
    let want = hex::encode(mac.finalize().into_bytes());
    (sig != want).then(|| format!("signature {sig} is not {want} (lower-case hex HMAC-SHA256)"))
}

/// A bridge: refuses what the real one refuses with its 401 body, and otherwise answers with
/// the next of `answers` (the last one repeated).
#[derive(Clone)]
struct Bridge {
    answers: Arc<Mutex<Vec<ResponseTemplate>>>,
    refused: Arc<Mutex<Vec<String>>>,
}

impl Bridge {
    fn new(answers: Vec<ResponseTemplate>) -> Bridge {
        Bridge {
            answers: Arc::new(Mutex::new(answers)),
            refused: Arc::default(),
        }
    }
}

impl Respond for Bridge {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        if let Some(why) = refusal(r) {
            self.refused.lock().unwrap().push(why.clone());
            return ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"kind": "unauthorized", "message": why}}));
        }
        let mut a = self.answers.lock().unwrap();
        if a.len() > 1 {
            a.remove(0)
        } else {
            a[0].clone()
        }
    }
}

fn ping_answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "bridge_version": "1", "opencart_version": "4.0.2.3", "schema": "4.0",
        "transactions": true, "php_version": "8.2.0", "timezone": "Europe/Amsterdam",
        "languages": ["en-gb"], "max_batch": 500
    }))
}

fn error(status: u16, kind: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {"kind": kind, "message": message}}))
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

/// `check` sends `POST <bridge>?op=ping` with a JSON body and the three signing headers; the
/// signature is HMAC-SHA256 over METHOD, the path and query as sent, timestamp, nonce and the
/// body's SHA-256; the secret is in neither the URL, a header nor the body.
#[tokio::test]
async fn every_request_is_signed_as_the_protocol_says_and_never_carries_the_secret() {
    let server = MockServer::start().await;
    let bridge = Bridge::new(vec![ping_answer()]);
    Mock::given(path(BRIDGE))
        .respond_with(bridge.clone())
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let report = c.check().await.unwrap();
    assert!(
        report.checks[0].contains("signature accepted"),
        "{:?}",
        report.checks
    );
    assert!(bridge.refused.lock().unwrap().is_empty());
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method.as_str(), "POST");
    assert_eq!(r.url.path(), BRIDGE);
    assert_eq!(r.url.query(), Some("op=ping"));
    assert_eq!(header(r, "content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body, json!({}));
    let sig = header(r, "X-Koppel-Signature").unwrap();
    assert!(
        sig.len() == 64 && sig.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
        "{sig}"
    );
    assert!(!r.url.as_str().contains(SECRET), "{}", r.url);
    for (name, v) in &r.headers {
        assert!(
            !v.to_str().unwrap_or("").contains(SECRET),
            "secret in header {name}"
        );
    }
    assert!(!String::from_utf8_lossy(&r.body).contains(SECRET));
}

/// A wrong secret is refused (401 `unauthorized`): an auth error naming `secret` and the clock,
/// without the secret.
#[tokio::test]
async fn a_refused_signature_is_an_auth_error_naming_secret_and_clock() {
    let server = MockServer::start().await;
    let bridge = Bridge::new(vec![ping_answer()]);
    Mock::given(path(BRIDGE))
        .respond_with(bridge.clone())
        .mount(&server)
        .await;
    let wrong = "another-secret-0123456789abcdef-01234567";
    let c = connector(&server, json!({"secret": wrong}));
    match c.check().await {
        Err(Error::Auth { message }) => {
            assert!(message.contains("signature"), "{message}");
            assert!(
                message.contains("`secret`") && message.contains("clock"),
                "{message}"
            );
            assert!(!message.contains(wrong) && !message.contains(SECRET), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(bridge.refused.lock().unwrap().len(), 1);
}

/// A retried request gets a new timestamp and nonce (the bridge refuses a nonce it has seen),
/// so a retry is never a replay.
#[tokio::test]
async fn a_retry_is_signed_anew_with_a_fresh_nonce() {
    let server = MockServer::start().await;
    let bridge = Bridge::new(vec![
        error(503, "database", "the database is not reachable"),
        ping_answer(),
    ]);
    Mock::given(path(BRIDGE))
        .respond_with(bridge.clone())
        .mount(&server)
        .await;
    let c = connector(
        &server,
        json!({"http": {"max_retries": 1, "initial_backoff_ms": 5, "max_backoff_ms": 10}}),
    );
    c.check().await.unwrap();
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert!(bridge.refused.lock().unwrap().is_empty());
    let nonces: Vec<&str> = reqs
        .iter()
        .map(|r| header(r, "X-Koppel-Nonce").unwrap())
        .collect();
    assert_ne!(nonces[0], nonces[1]);
}

fn customer(id: u64, changed_at: &str) -> Value {
    json!({
        "customer_id": id, "customer_group_id": 1, "firstname": "An", "lastname": "Jansen",
        "email": format!("c{id}@example.nl"), "telephone": "", "status": 1,
        "addresses": [{"address_id": id + 100, "default": true, "firstname": "An", "lastname": "Jansen",
            "company": "", "address_1": "Kerkstraat 1", "address_2": "", "city": "Goes",
            "postcode": "4461 AA", "country_id": 150, "iso_code_2": "NL"}],
        "date_added": "2024-01-01T00:00:00Z", "changed_at": changed_at
    })
}

/// `customers.list` pages on `(changed_at, customer_id)`: the first call sends the window and
/// `limit`, `more: true` gives a token, and the next call sends `after` = the last record read;
/// `more: false` ends the read.
#[tokio::test]
async fn the_paging_token_is_the_last_record_read() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BRIDGE))
        .and(query_param("op", "customers.list"))
        .and(body_partial_json(
            json!({"after": {"modified": "2024-05-01T10:00:05Z", "id": 12}}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"items": [customer(13, "2024-05-01T10:00:07Z")], "more": false})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(BRIDGE))
        .and(query_param("op", "customers.list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [customer(11, "2024-05-01T10:00:05Z"), customer(12, "2024-05-01T10:00:05Z")],
            "more": true
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    let c = connector(&server, json!({"customers": {"page_size": 2}}));
    let src = c.endpoints().customer_source.unwrap();
    let since: DateTime<Utc> = "2024-05-01T00:00:00Z".parse().unwrap();
    let until: DateTime<Utc> = "2024-05-02T00:00:00Z".parse().unwrap();
    let mut req = ReadRequest {
        since: Some(since),
        until: Some(until),
        ..Default::default()
    };
    let first = src.read(&req).await.unwrap();
    let keys: Vec<String> = first
        .items
        .iter()
        .map(|c| c.as_ref().unwrap().key.clone())
        .collect();
    assert_eq!(keys, ["11", "12"]);
    req.page = Some(first.next.expect("more: true gives a next page"));
    let second = src.read(&req).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].as_ref().unwrap().key, "13");
    assert!(second.next.is_none(), "more: false is the last page");

    let bodies: Vec<Value> = requests(&server)
        .await
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies[0],
        json!({"limit": 2, "since": "2024-05-01T00:00:00Z", "until": "2024-05-02T00:00:00Z"})
    );
    assert_eq!(
        bodies[1],
        json!({"limit": 2, "since": "2024-05-01T00:00:00Z", "until": "2024-05-02T00:00:00Z",
               "after": {"modified": "2024-05-01T10:00:05Z", "id": 12}})
    );
}

/// The bridge's error bodies (`{"error":{"kind","message"}}`) become errors that say what is
/// wrong: `setup` -> the config's `bridge_url`, 400/404 -> a protocol mismatch, 503 -> passing.
#[tokio::test]
async fn error_bodies_become_clear_errors() {
    let cases = [
        (500, "setup", "koppel-bridge.json has no secret"),
        (400, "request", "items must be a list"),
        (404, "operation", "unknown operation ping"),
        (503, "database", "the database is not reachable"),
    ];
    for (status, kind, message) in cases {
        let server = MockServer::start().await;
        Mock::given(path(BRIDGE))
            .respond_with(Bridge::new(vec![error(status, kind, message)]))
            .mount(&server)
            .await;
        let c = connector(&server, json!({}));
        let e = c.shop().client().ping().await.unwrap_err();
        let text = e.to_string();
        assert!(text.contains(message), "{status} {kind}: {text}");
        match (status, &e) {
            (500, Error::Config { path, .. }) => assert_eq!(path, "bridge_url"),
            (400 | 404, Error::Protocol { message }) => {
                assert!(message.contains(&format!("HTTP {status}")), "{message}")
            }
            (503, Error::Transient { .. }) => {}
            _ => panic!("{status} {kind}: {e:?}"),
        }
    }
}

fn level(sku: &str, q: rust_decimal::Decimal) -> WriteItem<StockLevel> {
    WriteItem::new(StockLevel {
        sku: Sku::new(sku).unwrap(),
        quantity: q,
        source_id: None,
        modified: None,
    })
}

/// A record's own fault inside a batch is its item's `error`: that record is rejected naming
/// itself and the field, the others go on; only they are sent to `stock.set`.
#[tokio::test]
async fn an_item_error_rejects_that_record_only() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BRIDGE))
        .and(query_param("op", "stock.get"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": [
            {"code": "A-1", "found": true, "product_id": 41, "quantity": 3},
            {"code": "B-2", "found": false, "error": {"field": "sku", "message": "two products have SKU B-2"}}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(BRIDGE))
        .and(query_param("op", "stock.set"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"items": [{"code": "A-1", "product_id": 41, "before": 3, "quantity": 5}]}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let sink = c.endpoints().stock_sink.unwrap();
    let res = sink
        .write_batch(&[level("A-1", dec!(5)), level("B-2", dec!(7))])
        .await;
    assert_eq!(
        res[0].as_ref().unwrap(),
        &WriteOutcome::Updated {
            target_id: "41".into()
        }
    );
    match &res[1] {
        Err(Error::Rejected(r)) => {
            assert_eq!(r.record, "stock B-2");
            assert_eq!(r.field.as_deref(), Some("sku"));
            assert_eq!(r.message, "two products have SKU B-2");
        }
        other => panic!("{other:?}"),
    }
    let set = requests(&server)
        .await
        .into_iter()
        .find(|r| r.url.query() == Some("op=stock.set"))
        .unwrap();
    let body: Value = serde_json::from_slice(&set.body).unwrap();
    assert_eq!(
        body,
        json!({"key": "sku", "items": [{"code": "A-1", "quantity": 5}]})
    );
}

/// An answer with another number of items than asked is a protocol error, not a silent
/// mismatch of records.
#[tokio::test]
async fn an_answer_with_too_few_items_is_a_protocol_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BRIDGE))
        .and(query_param("op", "stock.get"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": [
            {"code": "A-1", "found": true, "product_id": 41, "quantity": 3}
        ]})))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let sink = c.endpoints().stock_sink.unwrap();
    let res = sink
        .prepare(&[level("A-1", dec!(5)), level("B-2", dec!(7))])
        .await;
    for r in &res {
        match r {
            Err(Error::Protocol { message }) => {
                assert!(
                    message.contains("asked 2 items, the bridge answered 1"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
