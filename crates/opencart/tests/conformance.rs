//! The connector against the bridge simulator (crates/sandbox/src/opencart, written from
//! bridge/PROTOCOL.md): the core conformance kit, with orders and customers changed, removed
//! and added at the simulator between two page reads (`churn`).

use koppel_core::testing::{records_churn, ShopConformance};
use koppel_core::{Money, Product, Sku, TaxMode, VatKind, VatRate};
use koppel_sandbox::opencart::{start, OpenCartOptions, SECRET, TAX_CLASS_HIGH, TAX_CLASS_LOW};
use koppel_sandbox::seed::{self, SeedConfig, SeedVat};
use rust_decimal_macros::dec;
use serde_json::json;

fn product_of(a: &seed::SeedArticle) -> Product {
    let (pct, kind) = match a.vat {
        SeedVat::Hoog => (dec!(21), VatKind::Hoog),
        SeedVat::Laag => (dec!(9), VatKind::Laag),
    };
    Product {
        sku: Sku::new(a.sku.clone()).unwrap(),
        name: a.name.clone(),
        price: Money::eur(a.price_excl),
        tax_mode: TaxMode::Exclusive,
        vat: Some(VatRate::new(pct, Some(kind)).unwrap()),
        active: true,
        unit: None,
        weight: Some(a.weight),
        category: vec![a.category.clone()],
        attributes: Default::default(),
        source_id: None,
        modified: None,
    }
}

#[tokio::test]
async fn opencart_connector_conforms() {
    let cfg = SeedConfig {
        articles: 20,
        orders: 12,
        customers: 4,
        seed: 7,
    };
    let sim = start(
        "127.0.0.1:0".parse().unwrap(),
        OpenCartOptions {
            seed: cfg,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let good = json!({
        "bridge_url": format!("{}/koppel-bridge.php", sim.base_url()),
        "secret": SECRET,
        "products": {"tax_classes": {"21": TAX_CLASS_HIGH, "9": TAX_CLASS_LOW}},
        "orders": {"page_size": 3},
        "customers": {"page_size": 2},
        "http": {"max_retries": 1, "initial_backoff_ms": 10, "max_backoff_ms": 20},
    });
    let mut bad = good.clone();
    bad["secret"] = "a-wrong-secret-of-enough-length-000000".into();
    // the config the sandbox hands to koppel is one the connector accepts
    let mut generated: serde_json::Value =
        toml::from_str(&koppel_sandbox::opencart::shop_config(&sim.base_url())).unwrap();
    assert_eq!(generated["bridge_url"], good["bridge_url"]);
    generated["http"] = good["http"].clone();
    koppel_opencart::validate(&generated).unwrap();

    let products: Vec<Product> = seed::articles(&cfg).iter().take(3).map(product_of).collect();
    ShopConformance {
        descriptor: koppel_opencart::descriptor(),
        good_config: good,
        bad_credentials_config: bad,
        secrets: vec![SECRET.into(), "a-wrong-secret-of-enough-length-000000".into()],
        stock: products.iter().map(|p| p.sku.clone()).collect(),
        products,
        malformed: None,
        churn: Some(records_churn(format!(
            "{}/_sandbox/opencart/records",
            sim.base_url()
        ))),
    }
    .assert_conforms()
    .await;
}
