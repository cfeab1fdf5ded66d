//! The core conformance kit against the Tinyshop simulator.

use koppel_core::testing::ShopConformance;
use koppel_core::{Money, Product, Sku, TaxMode};
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
    // Tinyshop has no sources: no order to read, no malformed fault, no churn. A shop with
    // orders and customers adds `malformed: Some(malformed_fault(sim.base_url()))` and
    // `churn: Some(records_churn(format!("{}/_sandbox/tinyshop/records", sim.base_url())))`.
    let kit = ShopConformance {
        descriptor: koppel_tinyshop::descriptor(),
        good_config: good,
        bad_credentials_config: bad,
        secrets: vec![TOKEN.into(), "wrong-token".into()],
        products: vec![product("TS-1", "Kop"), product("TS-2", "Schotel")],
        stock: vec![Sku::new("TS-1").unwrap()],
        malformed: None,
        churn: None,
    }
    .conformance()
    .await;
    let report = kit.run().await;
    report.print();
    report.assert_passed();
    // both sinks were written through (a sink missing from `endpoints()` would skip its check)
    for check in ["write_twice(product)", "write_twice(stock_level)"] {
        assert!(
            report.checks.iter().any(|c| c.name == check),
            "{check} did not run"
        );
    }
}
