//! Shared by the PrestaShop connector's test crates.
#![allow(dead_code)]

use koppel_core::{Money, Product, Sku, TaxMode, VatRate};
use koppel_sandbox::control::Running;
use koppel_sandbox::prestashop::{
    start_inspectable, Inspect, PrestaOptions, PrestaVersion, TAX_RULES_HIGH, TAX_RULES_LOW, WS_KEY,
};
use koppel_sandbox::seed::SeedArticle;
use serde_json::{json, Value};

/// A seeded SnelStart article as the product koppel writes to the shop.
pub fn product_of(a: &SeedArticle) -> Product {
    Product {
        sku: Sku::new(a.sku.clone()).unwrap(),
        name: a.name.clone(),
        price: Money::eur(a.price_excl),
        tax_mode: TaxMode::Exclusive,
        vat: Some(VatRate::new(a.vat.percentage(), None).unwrap()),
        active: true,
        unit: None,
        weight: Some(a.weight),
        category: vec![a.category.clone()],
        attributes: Default::default(),
        source_id: None,
        modified: None,
    }
}

/// The connector config for a simulator at `base`.
pub fn config(base: &str) -> Value {
    json!({
        "base_url": base,
        "key": WS_KEY,
        "products": {
            "tax_rules_groups": {"21": TAX_RULES_HIGH, "9": TAX_RULES_LOW},
            "create_categories": true,
        },
        "orders": {"states": [2, 3, 4, 5], "page_size": 7},
        "customers": {"page_size": 6},
        "payments": {"state": 2},
        "http": {"max_retries": 1, "initial_backoff_ms": 10, "max_backoff_ms": 20},
    })
}

/// A simulator of this version.
pub async fn sim(version: PrestaVersion) -> (Running, Inspect) {
    start_inspectable(
        "127.0.0.1:0".parse().unwrap(),
        PrestaOptions {
            version,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}
