//! The connector against the bridge simulator (crates/sandbox/src/opencart, written from
//! bridge/PROTOCOL.md): the core conformance kit, and a signature the simulator refuses.

use koppel_core::testing::{Conformance, Samples};
use koppel_core::{
    ConnectorContext, Money, OpenAmount, PaymentStatus, Product, ReadRequest, Sku, StockLevel, TaxMode,
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
    let kit = Conformance {
        descriptor: koppel_opencart::descriptor(),
        good_config: good,
        bad_credentials_config: bad,
        secrets: vec![SECRET.into(), "a-wrong-secret-of-enough-length-000000".into()],
        samples,
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
}

/// The simulator refuses what the real bridge refuses (tests/bridge.rs): unsigned, forged,
/// stale and replayed requests get 401.
#[tokio::test]
async fn simulator_refuses_unsigned_forged_stale_and_replayed_requests() {
    use koppel_opencart::auth;
    let sim = start("127.0.0.1:0".parse().unwrap(), OpenCartOptions::default())
        .await
        .unwrap();
    let url = format!("{}/koppel-bridge.php?op=ping", sim.base_url());
    let http = reqwest::Client::new();
    let send = |secret: &str, ts: i64, nonce: String| {
        let sig = auth::sign(
            &koppel_core::Secret::new(secret),
            "POST",
            "/koppel-bridge.php?op=ping",
            ts,
            &nonce,
            b"{}",
        );
        http.post(&url)
            .header(auth::TIMESTAMP_HEADER, ts.to_string())
            .header(auth::NONCE_HEADER, nonce)
            .header(auth::SIGNATURE_HEADER, sig)
            .body("{}")
            .send()
    };
    let now = chrono::Utc::now().timestamp();
    assert_eq!(http.post(&url).body("{}").send().await.unwrap().status(), 401);
    assert_eq!(
        send("forged-forged-forged-forged-forged-0", now, auth::nonce())
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        send(SECRET, now - 400, auth::nonce()).await.unwrap().status(),
        401
    );
    let n = auth::nonce();
    assert_eq!(send(SECRET, now, n.clone()).await.unwrap().status(), 200);
    assert_eq!(send(SECRET, now, n).await.unwrap().status(), 401);
}
