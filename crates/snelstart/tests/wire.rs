//! The wire protocol against wiremock: token grant and caching, headers, refresh on 401,
//! paging, error bodies over HTTP, the orderreferentie fallback, and `check`'s messages.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use koppel_core::{Connector, Customer, Error, Order, ReadRequest, Record, Sink, Source, WriteItem};
use koppel_core::{Product, StockLevel};
use koppel_snelstart::{Config, SnelStartConnector};
use serde_json::{json, Value};
use wiremock::matchers::{bearer_token, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CLIENT_KEY: &str = "test-koppelsleutel-123";
const SUB_KEY: &str = "test-subscription-456";

fn config(server: &str, extra: Value) -> Config {
    let mut v = json!({
        "client_key": CLIENT_KEY,
        "subscription_key": SUB_KEY,
        "api_base_url": format!("{server}/v2"),
        "auth_url": format!("{server}/b2b/token"),
        "http": { "max_retries": 1, "initial_backoff_ms": 5, "max_backoff_ms": 10, "timeout_secs": 5, "connect_timeout_secs": 2 },
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    koppel_snelstart::parse(v).unwrap()
}

fn connector(server: &MockServer, extra: Value) -> SnelStartConnector {
    SnelStartConnector::new(config(&server.uri(), extra)).unwrap()
}

/// Hands out `tok-1`, `tok-2`, … and counts.
struct Tokens(Arc<AtomicUsize>);
impl Respond for Tokens {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("tok-{n}"), "token_type": "bearer", "expires_in": 3599
        }))
    }
}

async fn token_endpoint(server: &MockServer) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(format!(
            "grant_type=clientkey&clientkey={CLIENT_KEY}"
        )))
        .respond_with(Tokens(count.clone()))
        .mount(server)
        .await;
    count
}

fn article(code: &str) -> Value {
    json!({
        "id": format!("00000000-0000-0000-0000-{:012}", code.len()),
        "artikelcode": code, "omschrijving": format!("Artikel {code}"),
        "artikelOmzetgroep": { "id": "11111111-0000-0000-0000-000000000001" },
        "verkoopprijs": 10.0, "modifiedOn": "2024-01-15T10:00:00", "isNonActief": false,
        "voorraadControle": true, "technischeVoorraad": 5, "vrijeVoorraad": 4
    })
}

async fn reference_data(server: &MockServer) {
    let get = |p: &str, body: Value| {
        Mock::given(method("GET"))
            .and(path(format!("/v2{p}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
    };
    get("/artikelomzetgroepen", json!([{ "id": "11111111-0000-0000-0000-000000000001", "omschrijving": "Hoog", "verkoopNederlandBtwSoort": "Hoog" }]))
        .mount(server)
        .await;
    get("/btwtarieven", json!([{ "btwSoort": "Hoog", "btwPercentage": 21, "datumVanaf": "2012-10-01T00:00:00", "datumTotEnMet": null }]))
        .mount(server)
        .await;
    get(
        "/landen",
        json!([{ "id": "22222222-0000-0000-0000-000000000001", "landcodeISO": "NL" }]),
    )
    .mount(server)
    .await;
    get(
        "/companyInfo",
        json!({ "administratieNaam": "Test B.V.", "administratieIdentifier": "abc" }),
    )
    .mount(server)
    .await;
}

#[tokio::test]
async fn token_is_fetched_once_and_sent_with_the_subscription_key() {
    let server = MockServer::start().await;
    let tokens = token_endpoint(&server).await;
    reference_data(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/artikelen"))
        .and(bearer_token("tok-1"))
        .and(header("Ocp-Apim-Subscription-Key", SUB_KEY))
        .and(query_param("$top", "25"))
        .and(query_param("$skip", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([article("A1"), article("A22")])))
        .expect(2)
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let src: Arc<dyn Source<Product>> = c.endpoints().product_source.unwrap();
    // an incremental read is one slice of the window: a short answer is complete and the last
    let since = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    for _ in 0..2 {
        let req = ReadRequest {
            since: Some(since),
            ..Default::default()
        };
        let page = src.read(&req).await.unwrap();
        assert_eq!(page.items.len(), 2);
        assert!(page.next.is_none(), "a short page is the last");
    }
    assert_eq!(tokens.load(Ordering::SeqCst), 1, "one token for every call");
    // reference data read once, not per page
    let s = c.stats();
    let count = |ep: &str| {
        s.requests
            .iter()
            .filter(|r| r.endpoint == ep)
            .map(|r| r.count)
            .sum::<u64>()
    };
    assert_eq!(count("/btwtarieven"), 1);
    assert_eq!(count("/landen"), 1);
}

#[tokio::test]
async fn a_401_fetches_a_new_token_and_retries_once() {
    let server = MockServer::start().await;
    let tokens = token_endpoint(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/artikelen"))
        .and(bearer_token("tok-1"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": "Authorization has been denied for this request."})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/artikelen"))
        .and(bearer_token("tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!([{"id": "x", "artikelcode": "A", "technischeVoorraad": 3, "voorraadControle": true}]),
        ))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let src: Arc<dyn Source<StockLevel>> = c.endpoints().stock_source.unwrap();
    let page = src.read(&ReadRequest::default()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
    // the stock read selects only what it needs
    let reqs = server.received_requests().await.unwrap();
    let q = reqs
        .iter()
        .rev()
        .find(|r| r.url.path() == "/v2/artikelen")
        .unwrap()
        .url
        .query()
        .unwrap()
        .to_owned();
    assert!(
        q.contains("$select=Id,Artikelcode,ModifiedOn,VoorraadControle,TechnischeVoorraad"),
        "{q}"
    );
}

#[tokio::test]
async fn paging_and_incremental_filter() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    reference_data(&server).await;
    // all changed at one moment inside the window
    let full: Vec<Value> = (0..25)
        .map(|i| {
            let mut a = article(&format!("F{i:03}"));
            a["modifiedOn"] = json!("2024-06-02T10:00:00");
            a
        })
        .collect();
    let window = "ModifiedOn gt datetime'2024-06-01T10:00:00.000'";
    // The whole window comes back full; its parts (any other filter) are short.
    Mock::given(method("GET"))
        .and(path("/v2/artikelen"))
        .and(query_param("$filter", window))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(full)))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/artikelen"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([article("LAST")])))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let src: Arc<dyn Source<Product>> = c.endpoints().product_source.unwrap();
    let since = chrono::DateTime::parse_from_rfc3339("2024-06-01T08:00:00Z")
        .unwrap()
        .to_utc();
    let mut req = ReadRequest {
        since: Some(since),
        ..Default::default()
    };
    // the full window is split at the change time it returned (one: before, at, after it)
    let p1 = src.read(&req).await.unwrap();
    assert_eq!(p1.items.len(), 1);
    req.page = p1.next;
    assert!(req.page.is_some());
    let mut pages = 1;
    while req.page.is_some() {
        let p = src.read(&req).await.unwrap();
        req.page = p.next;
        pages += 1;
        assert!(pages < 10);
    }
    assert_eq!(pages, 3, "before, at and after the one change time");
    let reqs = server.received_requests().await.unwrap();
    let listed: Vec<_> = reqs.iter().filter(|r| r.url.path() == "/v2/artikelen").collect();
    assert_eq!(listed.len(), 4);
    for r in &listed {
        let pairs: Vec<(String, String)> = r
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        // 08:00 UTC in June is 10:00 in Amsterdam; every slice stays inside the window: its
        // own lower bound, or the change time the window returned (before, at, after it)
        let f = get("$filter");
        assert!(
            f.contains(window) || f.contains("datetime'2024-06-02T10:00:00'"),
            "{f}"
        );
        // never an offset
        assert_eq!(get("$skip"), "0");
        // spaces and quotes are percent-encoded, never '+'
        assert!(!r.url.query().unwrap().contains('+'));
    }
}

#[tokio::test]
async fn a_malformed_record_is_a_rejection_not_a_failed_page() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    reference_data(&server).await;
    let mut bad = article("BAD");
    bad["modifiedOn"] = json!(12345);
    Mock::given(method("GET"))
        .and(path("/v2/artikelen"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([article("GOOD"), bad])))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let src: Arc<dyn Source<Product>> = c.endpoints().product_source.unwrap();
    let page = src.read(&ReadRequest::default()).await.unwrap();
    assert!(page.items[0].is_ok());
    let r = page.items[1].as_ref().unwrap_err();
    assert_eq!(r.record, "article BAD");
}

fn customer() -> Customer {
    serde_json::from_value(json!({
        "key": "7", "email": "o'brien@example.nl", "first_name": "Jan", "last_name": "O'Brien",
        "company": null, "phone": null, "vat_number": null, "kvk_number": "1234567",
        "billing": null, "shipping": null, "is_guest": false, "modified": null
    }))
    .unwrap()
}

#[tokio::test]
async fn error_bodies_over_http_become_rejections_with_code_and_record() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    reference_data(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/relaties"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/relaties"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!([{"errorCode": "REL-0006", "message": "'1234567' is geen geldig KvK-nummer."}]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let sink: Arc<dyn Sink<Customer>> = c.endpoints().customer_sink.unwrap();
    let e = sink.write(&WriteItem::new(customer())).await.unwrap_err();
    match e {
        Error::Rejected(r) => {
            assert_eq!(r.record, "customer 7");
            assert_eq!(r.code.as_deref(), Some("REL-0006"));
            assert_eq!(r.field.as_deref(), Some("kvk_number"));
        }
        other => panic!("{other:?}"),
    }
    // the match queries escaped the quote and asked for Klant relaties only
    let reqs = server.received_requests().await.unwrap();
    let filters: Vec<String> = reqs
        .iter()
        .filter(|r| r.url.path() == "/v2/relaties" && r.method.as_str() == "GET")
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "$filter")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(
        filters,
        vec![
            "Email eq 'o''brien@example.nl' and Relatiesoort/any(r:r eq 'Klant')".to_owned(),
            "KvkNummer eq '1234567' and Relatiesoort/any(r:r eq 'Klant')".to_owned()
        ]
    );
    // the POST body: Klant, naam = person, no id
    let post = reqs
        .iter()
        .find(|r| r.method.as_str() == "POST" && r.url.path() == "/v2/relaties")
        .unwrap();
    let body: Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(body["relatiesoort"], json!(["Klant"]));
    assert_eq!(body["naam"], "Jan O'Brien");
    assert!(body.get("id").is_none());
}

fn order() -> Order {
    serde_json::from_value(json!({
        "number": "WEB-1001", "source_id": "1", "created_at": "2024-06-01T10:00:00Z", "modified": null,
        "status": "processing", "currency": "EUR", "tax_mode": "inclusive",
        "customer": serde_json::to_value(customer()).unwrap(),
        "billing": { "first_name": "Jan", "last_name": "Jansen", "company": null, "street": ["Dorpsstraat 1"],
                     "postcode": "1234 AB", "city": "Utrecht", "region": null, "country": "NL", "phone": null },
        "shipping": null,
        "lines": [{ "sku": "A1", "name": "A", "quantity": "1", "unit_price": "12.10", "vat_percentage": "21", "discount": "0", "row_total": "12.10" }],
        "shipping_cost": null, "payment_cost": null, "discount": "0", "payment_method": null,
        "grand_total": "12.10", "tax_total": "2.10"
    }))
    .unwrap()
}

#[tokio::test]
async fn order_lookup_falls_back_when_the_filter_is_refused() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    // the API refuses a filter on Orderreferentie ...
    Mock::given(method("GET"))
        .and(path("/v2/verkooporders"))
        .and(query_param("$filter", "Orderreferentie eq 'WEB-1001'"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!([{"errorCode": "ALG-0104", "message": "Filter ongeldig"}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    // ... so the lookup pages through orders changed since two days before the order
    Mock::given(method("GET"))
        .and(path("/v2/verkooporders"))
        .and(query_param(
            "$filter",
            "ModifiedOn gt datetime'2024-05-30T12:00:00.000'",
        ))
        .and(query_param("$select", "Id,Orderreferentie"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "o-1", "orderreferentie": "WEB-1000"},
            {"id": "o-2", "orderreferentie": "WEB-1001"}
        ])))
        .expect(2)
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let sink: Arc<dyn Sink<Order>> = c.endpoints().order_sink.unwrap();
    assert!(sink.needs_exactly_once());
    assert_eq!(sink.lookup(&order()).await.unwrap().as_deref(), Some("o-2"));
    // the refusal is remembered: the second lookup goes straight to the fallback
    assert_eq!(sink.lookup(&order()).await.unwrap().as_deref(), Some("o-2"));
    // a bound order is never posted again: written again (the engine does so when the shop
    // changed it since), it is compared with SnelStart's verkooporder, here gone, and reported
    let mut item = WriteItem::new(order());
    item.target_id = Some("o-2".into());
    match sink.write(&item).await {
        Err(koppel_core::Error::Rejected(r)) => {
            assert_eq!(
                r.code.as_deref(),
                Some(koppel_core::connector::CHANGED_AFTER_EXPORT),
                "{r}"
            )
        }
        other => panic!("{other:?}"),
    }
    let received = server.received_requests().await.unwrap_or_default();
    assert!(received
        .iter()
        .all(|r| r.method.as_str() != "POST" || r.url.path().ends_with("/token")));
    // dependencies: the customer and each article
    let deps = sink.dependencies(&order());
    assert_eq!(deps.len(), 2);
    assert_eq!(order().key(), "WEB-1001");
}

// ---------------------------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn check_reports_what_it_verified() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    reference_data(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/artikelen"))
        .and(query_param("$top", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": "x", "artikelcode": "A"}])))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let report = c.check().await.unwrap();
    assert_eq!(report.checks.len(), 3, "{report:?}");
    assert!(report.checks[1].contains("Test B.V."), "{report:?}");
    // nothing was written
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs
        .iter()
        .all(|r| r.method.as_str() == "GET" || r.url.path() == "/b2b/token"));
}

fn auth_message(e: Error) -> String {
    match e {
        Error::Auth { message } => message,
        other => panic!("expected Auth, got {other:?}"),
    }
}

#[tokio::test]
async fn check_bad_koppelsleutel() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/b2b/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let m = auth_message(c.check().await.unwrap_err());
    assert!(
        m.contains("koppelsleutel") && m.contains("client_key") && m.contains("invalid_grant"),
        "{m}"
    );
    assert!(!m.contains(CLIENT_KEY), "{m}");
}

#[tokio::test]
async fn check_bad_subscription_key() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/companyInfo"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "statusCode": 401,
            "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
        })))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let m = auth_message(c.check().await.unwrap_err());
    assert!(m.contains("subscription_key"), "{m}");
    assert!(!m.contains(SUB_KEY), "{m}");
}

#[tokio::test]
async fn check_missing_scope() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/companyInfo"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "Forbidden"})))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let m = auth_message(c.check().await.unwrap_err());
    assert!(m.contains("settings:read") && m.contains("/companyInfo"), "{m}");
}

#[tokio::test]
async fn check_unreachable() {
    // a port nobody listens on
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = SnelStartConnector::new(config(&format!("http://{addr}"), json!({}))).unwrap();
    match c.check().await.unwrap_err() {
        Error::Transient { message, .. } => {
            assert!(message.contains("cannot reach the token endpoint"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// exact amounts
// ---------------------------------------------------------------------------------------------

/// Answers `GET /v2/artikelen?$filter=Artikelcode eq '<code>'` with that article.
struct ArticleByCode;
impl Respond for ArticleByCode {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let filter = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "$filter")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let code = filter
            .strip_prefix("Artikelcode eq '")
            .and_then(|s| s.strip_suffix('\''))
            .unwrap_or_default()
            .to_owned();
        let mut a = article(&code);
        a["id"] = json!(format!("art-{code}"));
        ResponseTemplate::new(200).set_body_json(json!([a]))
    }
}

#[tokio::test]
async fn amounts_go_to_snelstart_with_exactly_their_decimal_digits() {
    use rust_decimal::Decimal;
    use std::str::FromStr;

    let server = MockServer::start().await;
    token_endpoint(&server).await;
    reference_data(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/artikelen"))
        .respond_with(ArticleByCode)
        .mount(&server)
        .await;
    // the lookup by orderreferentie before the create finds nothing
    Mock::given(method("GET"))
        .and(path("/v2/verkooporders"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/verkooporders"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "o-9" })))
        .expect(1)
        .mount(&server)
        .await;
    let c = connector(
        &server,
        json!({ "orders": { "shipping_article": "VERZEND", "payment_fee_article": "BETAAL" } }),
    );
    let sink: Arc<dyn Sink<Order>> = c.endpoints().order_sink.unwrap();

    let d = |s: &str| Decimal::from_str(s).unwrap();
    // 0.1 + 0.2 in decimals is 0.3 (in f64 0.30000000000000004); a 15-digit shipping charge;
    // a payment fee with 26 significant digits, which no f64 holds
    let point_three = d("0.1") + d("0.2");
    let fifteen = d("9999999999999.99");
    let long = d("1234567890.1234567890123456");
    let mut o = order();
    o.lines[0].unit_price = point_three;
    o.lines[0].row_total = point_three;
    o.shipping_cost = Some(koppel_core::Charge {
        description: "Verzending".into(),
        amount: fifteen,
        vat_percentage: None,
        tax: None,
    });
    o.payment_cost = Some(koppel_core::Charge {
        description: "Betaalkosten".into(),
        amount: long,
        vat_percentage: None,
        tax: None,
    });
    o.grand_total = koppel_core::model::round_money(point_three + fifteen + long, 2);
    let mut item = WriteItem::new(o);
    item.refs.insert("customer".into(), "rel-1".into());
    assert_eq!(sink.write(&item).await.unwrap().target_id(), "o-9");

    let reqs = server.received_requests().await.unwrap();
    let post = reqs
        .iter()
        .find(|r| r.method.as_str() == "POST" && r.url.path() == "/v2/verkooporders")
        .unwrap();
    let body = std::str::from_utf8(&post.body).unwrap();
    for expected in [
        r#""stuksprijs":0.3,"aantal":1,"kortingsPercentage":0,"totaal":0.3}"#,
        r#""stuksprijs":9999999999999.99,"aantal":1,"kortingsPercentage":0,"totaal":9999999999999.99}"#,
        r#""stuksprijs":1234567890.1234567890123456,"aantal":1,"kortingsPercentage":0,"totaal":1234567890.1234567890123456}"#,
    ] {
        assert!(body.contains(expected), "{expected} not in {body}");
    }
    assert!(!body.contains("0.30000000000000004"), "{body}");
    // still a JSON number to any JSON reader
    let v: Value = serde_json::from_str(body).unwrap();
    assert!(v["regels"][1]["totaal"].is_number());
}

#[tokio::test]
async fn an_unreadable_article_is_rejected_naming_its_field() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    reference_data(&server).await;
    let mut bad = article("B1");
    bad["verkoopprijs"] = json!("tien euro");
    Mock::given(method("GET"))
        .and(path("/v2/artikelen"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([article("A1"), bad])))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let src: Arc<dyn Source<Product>> = c.endpoints().product_source.unwrap();
    let page = src.read(&ReadRequest::default()).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.items[0].is_ok(), "the readable article is kept");
    let r = page.items[1].as_ref().unwrap_err();
    assert_eq!(r.record, "article B1");
    assert_eq!(r.field.as_deref(), Some("verkoopprijs"));
    assert!(r.message.starts_with("unreadable: "), "{}", r.message);
}
