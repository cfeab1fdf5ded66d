//! The connector driven by `koppel_core::engine::Engine` against the Magento and SnelStart
//! simulators.

mod common;

use std::collections::BTreeSet;

use common::{config, shop};
use koppel_magento::client::{Filter, SearchCriteria};
use koppel_magento::models::SearchResult;
use koppel_magento::MagentoConnector;
use koppel_sandbox::control::Running;
use koppel_sandbox::magento::MagentoOptions;
use rust_decimal::Decimal;
use serde_json::json;

/// A token and the SnelStart simulator's API, for checking what was booked.
async fn snelstart_api(sim: &Running) -> (reqwest::Client, String, String) {
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let t: serde_json::Value = http
        .post(format!("{base}/b2b/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=clientkey&clientkey={}",
            koppel_sandbox::snelstart::CLIENT_KEY.replace('=', "%3D")
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (http, base, t["access_token"].as_str().unwrap().to_owned())
}

async fn snelstart_call(
    api: &(reqwest::Client, String, String),
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let (http, base, token) = api;
    let mut rb = http
        .request(method, format!("{base}/v2{path}"))
        .bearer_auth(token)
        .header(
            "Ocp-Apim-Subscription-Key",
            koppel_sandbox::snelstart::SUBSCRIPTION_KEY,
        );
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

/// The seed's orders (each discount setting, a 100 % coupon, an edit with its cancelled
/// parent, bundles of both price types, a USD order in an EUR shop) through koppel's engine
/// into the SnelStart simulator: each booked once, SnelStart's total equal to Magento's
/// `grand_total` (the EUR `base_grand_total` for the USD order) to the cent.
#[tokio::test]
async fn seeded_orders_are_booked_once_with_the_shops_totals() {
    use koppel_core::engine::{Engine, Flow, FlowOptions, Pair, RunOptions};
    use koppel_core::state::SqliteStore;
    use std::sync::Arc;

    let opts = MagentoOptions::default();
    let (msim, shop, _) = shop(opts.clone()).await;
    let ssim = koppel_sandbox::snelstart::start(
        "127.0.0.1:0".parse().unwrap(),
        koppel_sandbox::snelstart::SnelStartOptions {
            seed: opts.seed,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let api = snelstart_api(&ssim).await;
    let groups = snelstart_call(&api, reqwest::Method::GET, "/artikelomzetgroepen", None).await;
    let high = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["verkoopNederlandBtwSoort"] == "Hoog")
        .unwrap()["id"]
        .clone();
    for code in ["VERZEND", "KORTING"] {
        let body = json!({"artikelcode": code, "omschrijving": code, "artikelOmzetgroep": {"id": high},
            "verkoopprijs": 0, "voorraadControle": false});
        snelstart_call(&api, reqwest::Method::POST, "/artikelen", Some(body)).await;
    }
    let base = ssim.base_url();
    let snelstart = koppel_snelstart::SnelStartConnector::new(
        koppel_snelstart::parse(json!({
            "client_key": koppel_sandbox::snelstart::CLIENT_KEY,
            "subscription_key": koppel_sandbox::snelstart::SUBSCRIPTION_KEY,
            "api_base_url": format!("{base}/v2"),
            "auth_url": format!("{base}/b2b/token"),
            "orders": {"shipping_article": "VERZEND", "discount_article": "KORTING"},
        }))
        .unwrap(),
    )
    .unwrap();
    let engine = Engine::new(Arc::new(SqliteStore::in_memory().unwrap()));
    let pair = Pair {
        name: "p".into(),
        accounting: Arc::new(snelstart),
        shop: Arc::new(shop),
    };
    let flows = vec![(
        Flow::Orders,
        FlowOptions {
            create_customers: true,
            ..Default::default()
        },
    )];
    let report = engine.run(&pair, &flows, &RunOptions::default()).await.unwrap();
    let f = report.flow(Flow::Orders).unwrap().clone();

    // what the shop holds
    let mut crit = SearchCriteria::default().page(300, 1);
    crit.groups.push(vec![
        Filter::new("status", "in", "processing,complete"),
        Filter::new("state", "eq", "canceled"),
    ]);
    let c = MagentoConnector::new(koppel_magento::parse(config(&msim, &opts)).unwrap(), "check").unwrap();
    let held: SearchResult<serde_json::Value> = c
        .shop()
        .client()
        .search(&["orders"], &crit, &[], "/x")
        .await
        .unwrap();
    let booked = snelstart_call(&api, reqwest::Method::GET, "/verkooporders", None).await;
    let booked = booked.as_array().unwrap();
    let by_ref = |n: &str| -> Vec<&serde_json::Value> {
        booked.iter().filter(|v| v["orderreferentie"] == n).collect()
    };
    let d = |v: &serde_json::Value| v.to_string().trim_matches('"').parse::<Decimal>().unwrap();
    let (mut checked, mut cancelled) = (0, 0);
    let mut shapes = BTreeSet::new();
    for o in &held.items {
        let n = o["increment_id"].as_str().unwrap();
        let broken = o["billing_address"]["country_id"] == "ZZ"
            || o["items"].as_array().unwrap().iter().any(|i| i["sku"].is_null());
        let got = by_ref(n);
        if o["state"] == "canceled" {
            cancelled += 1;
            assert!(got.is_empty(), "cancelled before export, yet booked: {n}");
            continue;
        }
        if broken {
            assert!(got.is_empty(), "{n}");
            continue;
        }
        assert_eq!(
            got.len(),
            1,
            "order {n} booked {} times: {:?}",
            got.len(),
            f.errors
        );
        let want = if o["order_currency_code"] == "EUR" {
            d(&o["grand_total"])
        } else {
            shapes.insert("foreign currency");
            assert!(got[0]["memo"].as_str().unwrap().contains("USD"), "{}", got[0]);
            d(&o["base_grand_total"])
        };
        assert_eq!(d(&got[0]["totaalInclusiefBtw"]), want, "order {n}");
        if want.is_zero() {
            shapes.insert("100 % coupon");
        }
        if o.get("relation_parent_real_id").is_some() {
            shapes.insert("edit");
        }
        for i in o["items"].as_array().unwrap() {
            if i["product_type"] == "bundle" {
                shapes.insert(
                    if d(&i["price"]).is_zero()
                        || o["items"].as_array().unwrap().iter().all(|c| {
                            c.get("parent_item_id") != Some(&i["item_id"]) || d(&c["price"]).is_zero()
                        })
                    {
                        "fixed bundle"
                    } else {
                        "dynamic bundle"
                    },
                );
            }
        }
        checked += 1;
    }
    assert_eq!(
        shapes.into_iter().collect::<Vec<_>>(),
        [
            "100 % coupon",
            "dynamic bundle",
            "edit",
            "fixed bundle",
            "foreign currency"
        ]
    );
    assert_eq!(f.created as usize, checked, "{f:?}");
    assert_eq!(f.skipped as usize, cancelled, "{f:?}");
    assert_eq!(
        f.quarantined, 2,
        "the missing SKU and the unknown country: {:?}",
        f.errors
    );
    assert_eq!(booked.len(), checked, "nothing else was booked");

    // a second run books nothing again
    let again = engine.run(&pair, &flows, &RunOptions::default()).await.unwrap();
    let g = again.flow(Flow::Orders).unwrap();
    assert_eq!(g.created, 0, "{g:?}");
    let booked = snelstart_call(&api, reqwest::Method::GET, "/verkooporders", None).await;
    assert_eq!(booked.as_array().unwrap().len(), checked);
}
