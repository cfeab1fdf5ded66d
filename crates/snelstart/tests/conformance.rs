//! The core conformance kit against the SnelStart simulator.

mod common;

use std::sync::Arc;

use common::*;
use koppel_core::testing::{hook, Conformance, Samples};
use koppel_core::{Connector, ConnectorContext, Kind};
use koppel_sandbox::control::Faults;
use koppel_sandbox::snelstart::{SnelStartOptions, CLIENT_KEY, SUBSCRIPTION_KEY};
use serde_json::json;

#[tokio::test]
async fn snelstart_connector_conforms() {
    let sim = sim(SnelStartOptions::default()).await;
    let good = config_json(&sim, json!({}));
    let mut bad = good.clone();
    bad["client_key"] = json!("wrong-koppelsleutel");

    // an invoiced order, so the open-amount and payment sources have something to read
    let c = connector(&sim, json!({}));
    let setup = order_setup(&sim, &c).await;
    let api = Arc::new(SimApi::new(&sim).await);
    let order_id = c
        .endpoints()
        .order_sink
        .unwrap()
        .write(&item(shop_order("CONF-0", &setup, &[("KP-0001", 2)]), &setup))
        .await
        .unwrap()
        .target_id()
        .to_owned();
    let factuur = api
        .control("invoice", json!({ "verkooporderId": order_id }))
        .await;
    let invoice_id = factuur["id"].as_str().unwrap().to_owned();

    let control = sim.control.clone();
    let malformed = hook(move |on: bool| {
        let control = control.clone();
        async move {
            control.set_faults(Faults {
                malformed_rate: if on { 1.0 } else { 0.0 },
                ..Default::default()
            })
        }
    });
    let touch_api = api.clone();
    let touch = hook(move |kind: Kind| {
        let api = touch_api.clone();
        let invoice_id = invoice_id.clone();
        async move {
            match kind {
                Kind::Product | Kind::StockLevel => {
                    let price = if kind == Kind::Product { 11.11 } else { 22.22 };
                    api.set_price("KP-0010", price).await;
                }
                Kind::OpenAmount | Kind::PaymentStatus => {
                    api.control(
                        "payment",
                        json!({ "verkoopfactuurId": invoice_id, "bedrag": 0.01 }),
                    )
                    .await;
                }
                Kind::Customer | Kind::Order => {}
            }
        }
    });
    let kit = Conformance {
        descriptor: koppel_snelstart::descriptor(),
        good_config: good,
        bad_credentials_config: bad,
        secrets: vec![
            CLIENT_KEY.into(),
            SUBSCRIPTION_KEY.into(),
            "wrong-koppelsleutel".into(),
        ],
        samples: Samples {
            customers: vec![customer("conf-1", "conformance@example.nl")],
            orders: vec![shop_order("CONF-1", &setup, &[("KP-0004", 1), ("KP-0007", 2)])],
            ..Default::default()
        },
        malformed: Some(malformed),
        touch: Some(touch),
        context: ConnectorContext::default(),
    };
    kit.assert_conforms().await;
    assert_eq!(sim.control.stats().with_status(429), 0);
    // the registry holds the same descriptor
    assert!(koppel_core::registry::find("snelstart").is_some());
}
