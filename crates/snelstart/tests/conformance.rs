//! The core conformance kit against the SnelStart simulator.

mod common;

use std::sync::Arc;

use common::*;
use koppel_core::testing::{hook, malformed_fault, mutator, Churn, Churned, Conformance, Samples};
use koppel_core::{Connector, ConnectorContext, Kind};
use koppel_sandbox::snelstart::{SnelStartOptions, CLIENT_KEY, SUBSCRIPTION_KEY};
use serde_json::json;

#[tokio::test]
async fn snelstart_connector_conforms() {
    let sim = sim(SnelStartOptions::default()).await;
    // small invoice pages, so the paging-under-change check has pages to cross
    let good = config_json(&sim, json!({ "page_size": 2 }));
    let mut bad = good.clone();
    bad["client_key"] = json!("wrong-koppelsleutel");

    // an invoiced order, so the open-amount and payment sources have something to read
    let c = connector(&sim, json!({}));
    let setup = order_setup(&sim, &c).await;
    let api = Arc::new(SimApi::new(&sim).await);
    // five invoiced orders and one to invoice during the paging check
    let mut invoices = std::collections::HashMap::new();
    let mut to_invoice = String::new();
    for n in 0..6 {
        let number = format!("PAGE-{n}");
        let order_id = c
            .endpoints()
            .order_sink
            .unwrap()
            .write(&item(shop_order(&number, &setup, &[("KP-0001", 2)]), &setup))
            .await
            .unwrap()
            .target_id()
            .to_owned();
        if n == 5 {
            to_invoice = order_id;
            break;
        }
        let factuur = api
            .control("invoice", json!({ "verkooporderId": order_id }))
            .await;
        invoices.insert(number, factuur["id"].as_str().unwrap().to_owned());
    }
    let invoice_id = invoices["PAGE-0"].clone();
    let invoices = Arc::new(invoices);

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
    let churn_api = api.clone();
    let churn = mutator(move |c: Churn| {
        let api = churn_api.clone();
        let invoices = invoices.clone();
        let to_invoice = to_invoice.clone();
        async move {
            let mut done = Churned::default();
            match c.kind {
                // Articles: edit the first and third read and the first unread, delete the
                // second read, add one.
                Kind::Product | Kind::StockLevel => {
                    for k in [c.read.first(), c.read.get(2), c.unread.first()]
                        .into_iter()
                        .flatten()
                    {
                        api.set_price(k, 33.33).await;
                        done.changed.push(k.clone());
                    }
                    if let Some(k) = c.read.get(1) {
                        let list = api
                            .get(&format!("/artikelen?$filter=Artikelcode%20eq%20'{k}'"))
                            .await;
                        let id = list[0]["id"].as_str().unwrap().to_owned();
                        api.call(reqwest::Method::DELETE, &format!("/artikelen/{id}"), None)
                            .await;
                        done.removed.push(k.clone());
                    }
                    let code = format!("CHURN-{}", c.kind);
                    api.create_article(&code, "Hoog").await;
                    // (untracked, so the stock source may skip it: added only for products)
                    if c.kind == Kind::Product {
                        done.added.push(code);
                    }
                }
                // Invoices (one per order): a payment on the first read, a new invoice. No
                // invoice can be deleted in SnelStart.
                Kind::OpenAmount | Kind::PaymentStatus => {
                    let first = c.read.first()?;
                    api.control(
                        "payment",
                        json!({ "verkoopfactuurId": invoices[first], "bedrag": 0.01 }),
                    )
                    .await;
                    done.changed.push(first.clone());
                    if c.kind == Kind::OpenAmount {
                        api.control("invoice", json!({ "verkooporderId": to_invoice }))
                            .await;
                        done.added.push("PAGE-5".into());
                    }
                }
                Kind::Customer | Kind::Order => return None,
            }
            Some(done)
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
        malformed: Some(malformed_fault(sim.base_url())),
        touch: Some(touch),
        churn: Some(churn),
        context: ConnectorContext::default(),
    };
    kit.assert_conforms().await;
    assert_eq!(sim.control.stats().with_status(429), 0);
    // the registry holds the same descriptor
    assert!(koppel_core::registry::find("snelstart").is_some());
}
