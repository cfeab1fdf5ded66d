//! The core conformance kit against the Tinyshop simulator.

use koppel_core::testing::{Conformance, Samples};
use koppel_core::{ConnectorContext, Money, Product, Sku, StockLevel, TaxMode};
use koppel_sandbox::registry::ShopSimOptions;
use koppel_sandbox::seed::SeedConfig;
use koppel_tinyshop::simulator::{start, TOKEN};
use rust_decimal_macros::dec;
use serde_json::json;

fn product(sku: &str, name: &str) -> Product {
    Product {
        sku: Sku::new(sku).unwrap(),
        name: name.into(),
        price: Money::eur(dec!(12.50)),
        tax_mode: TaxMode::Exclusive,
        vat: None,
        active: true,
        unit: None,
        weight: None,
        category: Vec::new(),
        attributes: Default::default(),
        source_id: None,
        modified: None,
    }
}

#[tokio::test]
async fn tinyshop_connector_conforms() {
    let sim = start(
        "127.0.0.1:0".parse().unwrap(),
        ShopSimOptions {
            seed: SeedConfig::default(),
            ..ShopSimOptions::default()
        },
    )
    .await
    .unwrap();
    let good = json!({"base_url": sim.base_url(), "token": TOKEN});
    let bad = json!({"base_url": sim.base_url(), "token": "wrong-token"});
    let kit = Conformance {
        descriptor: koppel_tinyshop::descriptor(),
        good_config: good,
        bad_credentials_config: bad,
        secrets: vec![TOKEN.into(), "wrong-token".into()],
        samples: Samples {
            products: vec![product("TS-1", "Kop"), product("TS-2", "Schotel")],
            stock: vec![StockLevel {
                sku: Sku::new("TS-1").unwrap(),
                quantity: dec!(7),
                source_id: None,
                modified: None,
            }],
            ..Samples::default()
        },
        malformed: None,
        touch: None,
        context: ConnectorContext::default(),
    };
    kit.assert_conforms().await;
}
