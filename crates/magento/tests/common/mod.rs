//! Shared by the Magento connector's test crates.
#![allow(dead_code)] // each test crate uses its own part

use koppel_core::{Money, Product, Sku, TaxMode, VatRate};
use koppel_magento::MagentoConnector;
use koppel_sandbox::control::Running;
use koppel_sandbox::magento::{
    start, MagentoOptions, ACCESS_TOKEN, ACCESS_TOKEN_SECRET, CONSUMER_KEY, CONSUMER_SECRET, TAX_CLASS_HIGH,
    TAX_CLASS_LOW,
};
use koppel_sandbox::seed::SeedArticle;
use serde_json::json;

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

/// The connector config pointing at the simulator.
pub fn config(sim: &Running, opts: &MagentoOptions) -> serde_json::Value {
    json!({
        "base_url": sim.base_url(),
        "store_code": "default",
        "prices_include_tax": opts.prices_include_tax,
        "auth": {
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
            "access_token": ACCESS_TOKEN,
            "access_token_secret": ACCESS_TOKEN_SECRET,
        },
        "products": {
            "tax_classes": {"21": TAX_CLASS_HIGH, "9": TAX_CLASS_LOW},
            "create_categories": true,
        },
        "stock": {"input_limit": opts.input_limit},
        "orders": {"statuses": ["processing", "complete"], "page_size": 7},
        "customers": {"page_size": 6},
        "http": {"max_retries": 1, "initial_backoff_ms": 10, "max_backoff_ms": 20},
    })
}

pub async fn shop(opts: MagentoOptions) -> (Running, MagentoConnector, serde_json::Value) {
    let sim = start("127.0.0.1:0".parse().unwrap(), opts.clone()).await.unwrap();
    let cfg = config(&sim, &opts);
    let c = MagentoConnector::new(koppel_magento::parse(cfg.clone()).unwrap(), "test").unwrap();
    (sim, c, cfg)
}
