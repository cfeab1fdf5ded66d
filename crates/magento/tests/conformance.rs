//! The core conformance kit against the Magento simulator.

mod common;

use koppel_core::testing::{malformed_fault, records_churn, ShopConformance};
use koppel_core::Sku;
use koppel_sandbox::magento::{
    start, MagentoOptions, ACCESS_TOKEN, ACCESS_TOKEN_SECRET, CONSUMER_KEY, CONSUMER_SECRET, TAX_CLASS_HIGH,
    TAX_CLASS_LOW,
};
use koppel_sandbox::seed::{self, SeedConfig};
use serde_json::json;

/// The conformance kit against the Magento simulator.
#[tokio::test]
async fn magento_connector_conforms() {
    let sim = start("127.0.0.1:0".parse().unwrap(), MagentoOptions::default())
        .await
        .unwrap();
    let good = json!({
        "base_url": sim.base_url(),
        "auth": {
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
            "access_token": ACCESS_TOKEN,
            "access_token_secret": ACCESS_TOKEN_SECRET,
        },
        "prices_include_tax": true,
        "products": {"tax_classes": {"21": TAX_CLASS_HIGH, "9": TAX_CLASS_LOW}, "create_categories": true},
        "http": {"max_retries": 1, "initial_backoff_ms": 10, "max_backoff_ms": 20},
        // small pages, so the paging-under-change check has pages to cross
        "orders": {"page_size": 3},
        "customers": {"page_size": 2},
    });
    let mut bad = good.clone();
    bad["auth"]["access_token_secret"] = "wrong-token-secret".into();

    let arts = seed::articles(&SeedConfig::default());
    ShopConformance {
        descriptor: koppel_magento::descriptor(),
        good_config: good,
        bad_credentials_config: bad,
        secrets: vec![
            CONSUMER_KEY.into(),
            CONSUMER_SECRET.into(),
            ACCESS_TOKEN.into(),
            ACCESS_TOKEN_SECRET.into(),
            "wrong-token-secret".into(),
        ],
        products: arts.iter().skip(50).take(3).map(common::product_of).collect(),
        stock: arts
            .iter()
            .take(3)
            .map(|a| Sku::new(a.sku.clone()).unwrap())
            .collect(),
        malformed: Some(malformed_fault(sim.base_url())),
        churn: Some(records_churn(format!(
            "{}/_sandbox/magento/records",
            sim.base_url()
        ))),
    }
    .assert_conforms()
    .await;
}
