//! Wire details checked with wiremock: request signing, batch isolation.

use koppel_core::{Connector, Sku, StockLevel, WriteItem, WriteOutcome};
use koppel_magento::MagentoConnector;
use rust_decimal_macros::dec;
use serde_json::json;
use wiremock::matchers::{body_string_contains, header_regex, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn connector(server: &MockServer, auth: serde_json::Value) -> MagentoConnector {
    let cfg = json!({
        "base_url": server.uri(),
        "auth": auth,
        "stock": {"msi": "on", "input_limit": 20},
        "http": {"max_retries": 0},
    });
    MagentoConnector::new(koppel_magento::parse(cfg).unwrap(), "t").unwrap()
}

fn level(sku: &str) -> WriteItem<StockLevel> {
    WriteItem::new(StockLevel {
        sku: Sku::new(sku).unwrap(),
        quantity: dec!(5),
        source_id: None,
        modified: None,
    })
}

#[tokio::test]
async fn a_rejected_batch_is_retried_item_by_item() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/default/V1/inventory/sources"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"items": [{"source_code": "default"}], "total_count": 1})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/all/V1/inventory/source-items"))
        .and(body_string_contains("BAD-1"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "message": "Validation Failed", "errors": [{"message": "\"%field\" can not be empty.", "parameters": {"field": "sku"}}]
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/all/V1/inventory/source-items"))
        .and(header_regex("authorization", "^Bearer tok$"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .with_priority(2)
        .expect(2)
        .mount(&server)
        .await;
    let c = connector(&server, json!({"mode": "bearer", "access_token": "tok"}));
    let sink = c.endpoints().stock_sink.unwrap();
    let res = sink
        .write_batch(&[level("A-1"), level("BAD-1"), level("B-1")])
        .await;
    assert_eq!(
        res[0].as_ref().unwrap(),
        &WriteOutcome::Updated {
            target_id: "A-1".into()
        }
    );
    assert_eq!(
        res[2].as_ref().unwrap(),
        &WriteOutcome::Updated {
            target_id: "B-1".into()
        }
    );
    match &res[1] {
        Err(koppel_core::Error::Rejected(r)) => {
            assert_eq!(r.record, "stock BAD-1");
            assert_eq!(r.message, "Validation Failed: \"sku\" can not be empty.");
        }
        other => panic!("{other:?}"),
    }
    // one batch of 3 (rejected), then 3 single writes
    let posts = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 4);
}

#[tokio::test]
async fn oauth_requests_carry_a_signature_over_the_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/default/V1/orders"))
        .and(header_regex(
            "authorization",
            r#"^OAuth oauth_consumer_key="ck",oauth_nonce="[A-Za-z0-9]{32}",oauth_signature_method="HMAC-SHA256",oauth_timestamp="\d+",oauth_token="tk",oauth_version="1.0",oauth_signature="[A-Za-z0-9%]+"$"#,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": [], "total_count": 0})))
        .expect(1)
        .mount(&server)
        .await;
    let c = connector(
        &server,
        json!({"consumer_key": "ck", "consumer_secret": "cs", "access_token": "tk", "access_token_secret": "ts"}),
    );
    let src = c.endpoints().order_source.unwrap();
    let page = src.read(&koppel_core::ReadRequest::default()).await.unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
    let req = &server.received_requests().await.unwrap()[0];
    let q = req.url.query().unwrap_or_default();
    // keyset order: updated_at, then entity_id; always the first page
    assert!(
        q.contains("searchCriteria%5BsortOrders%5D%5B0%5D%5Bfield%5D=updated_at")
            && q.contains("searchCriteria%5BsortOrders%5D%5B1%5D%5Bfield%5D=entity_id")
            && q.contains("searchCriteria%5BcurrentPage%5D=1"),
        "{q}"
    );
    assert!(q.contains("condition_type%5D=in"), "{q}");
}
