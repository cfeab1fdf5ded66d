//! OAuth 1.0a and Bearer authentication, store codes and unknown routes.

mod magento_common;

use koppel_sandbox::magento::{MagentoOptions, ACCESS_TOKEN};
use magento_common::{Creds, Mage};
use serde_json::json;

fn unauthorized(resource: &str) -> serde_json::Value {
    json!({"message": "The consumer isn't authorized to access %resources.", "parameters": {"resources": resource}})
}

#[tokio::test]
async fn signed_requests_are_accepted_and_bad_ones_get_magentos_401() {
    let m = Mage::start(MagentoOptions::default()).await;
    let (s, v) = m
        .call("GET", "/products", &[("searchCriteria[pageSize]", "2")], None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 2);

    let wrong_secret = Creds {
        token_secret: "nope".into(),
        ..Creds::default()
    };
    let (s, v) = m
        .call_as(
            "GET",
            "/products",
            &[("searchCriteria[pageSize]", "2")],
            None,
            &wrong_secret,
            None,
        )
        .await;
    assert_eq!((s, v), (401, unauthorized("Magento_Catalog::products")));

    let unknown_consumer = Creds {
        consumer_key: "someoneelse".into(),
        ..Creds::default()
    };
    let (s, _) = m
        .call_as("GET", "/orders/1", &[], None, &unknown_consumer, None)
        .await;
    assert_eq!(s, 401);

    // Signature over other query parameters than sent.
    let url = m.url("/products");
    let auth = m.authorization(
        "GET",
        &url,
        &[("searchCriteria[pageSize]", "2")],
        &Creds::default(),
        "tampered1",
    );
    let (s, v) = m
        .raw(
            "GET",
            &format!("{url}?searchCriteria%5BpageSize%5D=3"),
            Some(auth),
            None,
        )
        .await;
    assert_eq!((s, v), (401, unauthorized("Magento_Catalog::products")));

    // No Authorization header at all; the 401 names the resource of the route.
    let (s, v) = m.raw("GET", &m.url("/orders/1"), None, None).await;
    assert_eq!((s, v), (401, unauthorized("Magento_Sales::actions_view")));
}

#[tokio::test]
async fn a_nonce_is_accepted_once() {
    let m = Mage::start(MagentoOptions::default()).await;
    let c = Creds::default();
    let (s, _) = m
        .call_as("GET", "/orders/1", &[], None, &c, Some("same-nonce"))
        .await;
    assert_eq!(s, 200);
    let (s, _) = m
        .call_as("GET", "/orders/1", &[], None, &c, Some("same-nonce"))
        .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn bearer_only_when_enabled() {
    let off = Mage::start(MagentoOptions::default()).await;
    let bearer = Some(format!("Bearer {ACCESS_TOKEN}"));
    let (s, v) = off.raw("GET", &off.url("/orders/1"), bearer.clone(), None).await;
    assert_eq!((s, v), (401, unauthorized("Magento_Sales::actions_view")));

    let on = Mage::start(MagentoOptions {
        bearer_allowed: true,
        ..Default::default()
    })
    .await;
    let (s, v) = on.raw("GET", &on.url("/orders/1"), bearer, None).await;
    assert_eq!(s, 200);
    assert_eq!(v["increment_id"], "000000001");
    let (s, _) = on
        .raw("GET", &on.url("/orders/1"), Some("Bearer wrong".into()), None)
        .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn store_codes_and_routes() {
    let mut m = Mage::start(MagentoOptions::default()).await;
    m.store = "all".into();
    assert_eq!(m.get("/orders/2", &[]).await["entity_id"], 2);
    m.store = "fr".into();
    let (s, v) = m.call("GET", "/orders/2", &[], None).await;
    assert_eq!(
        (s, v),
        (404, json!({"message": "Request does not match any route."}))
    );
    m.store = "default".into();
    let (s, v) = m.call("GET", "/no/such/thing", &[], None).await;
    assert_eq!(
        (s, v),
        (404, json!({"message": "Request does not match any route."}))
    );
    // Wrong method on a known path: also no route.
    let (s, _) = m.call("DELETE", "/orders/2", &[], None).await;
    assert_eq!(s, 404);
    // Without a store code the default store view is used; the signature covers that path.
    let url = format!("{}/rest/V1/orders/3", m.sim.base_url());
    let auth = m.authorization("GET", &url, &[], &Creds::default(), "nostore");
    let (s, v) = m.raw("GET", &url, Some(auth), None).await;
    assert_eq!((s, v["entity_id"].clone()), (200, json!(3)));
    let stats = m.sim.control.stats();
    assert!(stats.count("GET", "/rest/{store}/V1/orders/{id}") >= 1);
}
