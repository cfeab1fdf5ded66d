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
        // Tinyshop offers no source, so the read checks (malformed records, incremental
        // reads, paging under change) do not run; a shop with sources needs all three.
        malformed: None,
        touch: None,
        churn: None,
        context: ConnectorContext::default(),
    };
    let report = kit.run().await;
    for c in &report.checks {
        println!(
            "{} {}: {}",
            if c.passed { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    report.assert_passed();
    // both sinks were written through (a sink missing from `endpoints()` would skip its check)
    for check in ["write_twice(product)", "write_twice(stock_level)"] {
        assert!(
            report.checks.iter().any(|c| c.name == check),
            "{check} did not run"
        );
    }
}
