//! The core conformance kit against the Magento simulator.

mod common;

use koppel_core::testing::{hook, mutator, Churn, Churned, Conformance, Samples};
use koppel_core::{
    ConnectorContext, Kind, Money, OpenAmount, PaymentStatus, Product, ReadRequest, Sku, StockLevel,
};
use koppel_sandbox::control::Faults;
use koppel_sandbox::magento::{
    start, MagentoOptions, ACCESS_TOKEN, ACCESS_TOKEN_SECRET, CONSUMER_KEY, CONSUMER_SECRET, TAX_CLASS_HIGH,
    TAX_CLASS_LOW,
};
use koppel_sandbox::seed::{self, SeedConfig};
use rust_decimal_macros::dec;
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

    // an order the shop has, for the order-comment sinks
    let c = koppel_magento::factory(good.clone(), &ConnectorContext::default()).unwrap();
    let page = c
        .endpoints()
        .order_source
        .unwrap()
        .read(&ReadRequest::default())
        .await
        .unwrap();
    let order = page.items.iter().flatten().next().unwrap().clone();

    let arts = seed::articles(&SeedConfig::default());
    let products: Vec<Product> = arts.iter().skip(50).take(3).map(common::product_of).collect();
    let stock: Vec<StockLevel> = arts
        .iter()
        .take(3)
        .map(|a| StockLevel {
            sku: Sku::new(a.sku.clone()).unwrap(),
            quantity: dec!(7),
            source_id: None,
            modified: None,
        })
        .collect();
    let samples = Samples {
        products,
        stock,
        open_amounts: vec![OpenAmount {
            order_number: order.number.clone(),
            invoice_number: "F-1".into(),
            invoice_amount: Money::eur(order.grand_total),
            open_amount: Money::eur(order.grand_total),
            due_date: None,
            modified: None,
        }],
        payments: vec![PaymentStatus {
            order_number: order.number.clone(),
            invoice_number: "F-1".into(),
            paid: true,
            paid_amount: Money::eur(order.grand_total),
            modified: None,
        }],
        ..Default::default()
    };
    let control = sim.control.clone();
    let base = sim.base_url();
    let kit = Conformance {
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
        samples,
        malformed: Some(hook(move |on: bool| {
            let control = control.clone();
            async move {
                control.set_faults(Faults {
                    malformed_rate: if on { 1.0 } else { 0.0 },
                    ..Default::default()
                });
            }
        })),
        touch: None,
        churn: Some(mutator(move |c: Churn| {
            let url = format!("{base}/_sandbox/magento/records");
            async move {
                let resource = match c.kind {
                    Kind::Order => "orders",
                    Kind::Customer => "customers",
                    _ => return None,
                };
                // change the first read and the first unread, remove the second read (or the second
                // unread), add one
                let change: Vec<String> = [c.read.first(), c.unread.first()]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
                let remove: Vec<String> = c.read.get(1).or(c.unread.get(1)).into_iter().cloned().collect();
                let answer: serde_json::Value = reqwest::Client::new()
                    .post(url)
                    .json(&json!({"resource": resource, "change": change, "remove": remove, "add": 1}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let added = answer["added"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap().to_owned())
                    .collect();
                Some(Churned {
                    changed: change,
                    removed: remove,
                    added,
                })
            }
        })),
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
}
