//! The connector against the bridge simulator (crates/sandbox/src/opencart, written from
//! bridge/PROTOCOL.md): the core conformance kit, with orders and customers changed, removed
//! and added at the simulator between two page reads (`churn`).

use koppel_core::testing::{mutator, Churn, Churned, Conformance, Samples};
use koppel_core::{
    ConnectorContext, Kind, Money, OpenAmount, PaymentStatus, Product, ReadRequest, Sku, StockLevel, TaxMode,
    VatKind, VatRate,
};
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

    let c = koppel_opencart::factory(good.clone(), &ConnectorContext::default()).unwrap();
    let page = c
        .endpoints()
        .order_source
        .unwrap()
        .read(&ReadRequest::default())
        .await
        .unwrap();
    let order = page.items.iter().flatten().next().unwrap().clone();

    let arts = seed::articles(&cfg);
    let products: Vec<Product> = arts.iter().take(3).map(product_of).collect();
    let stock: Vec<StockLevel> = products
        .iter()
        .map(|p| StockLevel {
            sku: p.sku.clone(),
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
    let base = sim.base_url();
    let kit = Conformance {
        descriptor: koppel_opencart::descriptor(),
        good_config: good,
        bad_credentials_config: bad,
        secrets: vec![SECRET.into(), "a-wrong-secret-of-enough-length-000000".into()],
        samples,
        malformed: None,
        touch: None,
        churn: Some(mutator(move |c: Churn| {
            let url = format!("{base}/_sandbox/opencart/records");
            async move {
                let resource = match c.kind {
                    Kind::Order => "orders",
                    Kind::Customer => "customers",
                    _ => return None,
                };
                // change the first read and the first unread, remove the second read (or the
                // second unread), add one
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
