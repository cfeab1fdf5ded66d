//! The core conformance kit against the PrestaShop simulator, in 1.7 and 8.x modes.

mod common;

use koppel_core::testing::{hook, mutator, Churn, Churned, Conformance, Samples};
use koppel_core::{
    ConnectorContext, Kind, Money, OpenAmount, PaymentStatus, Product, ReadRequest, Sku, StockLevel,
};
use koppel_sandbox::control::Faults;
use koppel_sandbox::prestashop::{PrestaVersion, WS_KEY};
use koppel_sandbox::seed::{self, SeedConfig};
use rust_decimal_macros::dec;

async fn conforms(version: PrestaVersion) {
    let (sim, state) = common::sim(version).await;
    let good = common::config(&sim.base_url());
    let mut bad = good.clone();
    bad["key"] = "WRONGKEYWRONGKEYWRONGKEYWRONGKEY".into();

    let c = koppel_prestashop::factory(good.clone(), &ConnectorContext::default()).unwrap();
    let page = c
        .endpoints()
        .order_source
        .unwrap()
        .read(&ReadRequest::default())
        .await
        .unwrap();
    let order = page.items.iter().flatten().next().unwrap().clone();

    let arts = seed::articles(&SeedConfig::default());
    // two new products and one the shop already has
    let products: Vec<Product> = arts.iter().skip(49).take(3).map(common::product_of).collect();
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
    let kit = Conformance {
        descriptor: koppel_prestashop::descriptor(),
        good_config: good,
        bad_credentials_config: bad,
        secrets: vec![WS_KEY.into(), "WRONGKEYWRONGKEYWRONGKEYWRONGKEY".into()],
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
            let state = state.clone();
            async move {
                let resource = match c.kind {
                    Kind::Order => "orders",
                    Kind::Customer => "customers",
                    _ => return None,
                };
                // change the first read and the first unread, remove the second read (or the
                // second unread), add one; keys are the shop's ids
                let change: Vec<String> = [c.read.first(), c.unread.first()]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
                let remove: Vec<String> = c.read.get(1).or(c.unread.get(1)).into_iter().cloned().collect();
                let ids = |keys: &[String]| -> Vec<u64> { keys.iter().map(|k| k.parse().unwrap()).collect() };
                let added = state
                    .churn(resource, &ids(&change), &ids(&remove), 1)
                    .into_iter()
                    .map(|id| id.to_string())
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

#[tokio::test]
async fn prestashop_8_conforms() {
    conforms(PrestaVersion::V8).await;
}

#[tokio::test]
async fn prestashop_17_conforms() {
    conforms(PrestaVersion::V17).await;
}
