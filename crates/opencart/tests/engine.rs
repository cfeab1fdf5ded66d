//! Every flow through koppel's engine, with the config the runner parses (`koppel.toml`),
//! between the SnelStart simulator and the OpenCart bridge simulator: the plan predicts the
//! run flow by flow and writes nothing, the shop receives what SnelStart has, invoices paid in
//! SnelStart reach the shop once, and a run with nothing changed writes nothing on either side.

// name the crate so the linker keeps its registration
extern crate koppel_opencart;

use std::sync::Arc;

use koppel::config::Config;
use koppel::sim::{config_toml_for, create_service_articles, Limits, SnelStartAdmin};
use koppel_core::engine::{Engine, Flow, FlowOptions, Mode, RunOptions, RunReport};
use koppel_core::http::StatsSnapshot;
use koppel_core::model::round_money;
use koppel_core::state::{SqliteStore, StateStore};
use koppel_core::Kind;
use koppel_opencart::OpenCartConnector;
use koppel_sandbox::control::Stats;
use koppel_sandbox::opencart::{start, OpenCartOptions, SECRET, TAX_CLASS_HIGH, TAX_CLASS_LOW};
use koppel_sandbox::seed::{self, SeedConfig, SeedVat};
use koppel_sandbox::snelstart::{self, RateLimits, SnelStartOptions};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// The bridge operations that change the shop (bridge/PROTOCOL.md).
const WRITE_OPS: [&str; 3] = ["products.upsert", "stock.set", "history.add"];

/// Requests that change SnelStart (anything but GET and the token).
fn snel_writes(s: &Stats) -> u64 {
    s.requests
        .iter()
        .filter(|r| r.method != "GET" && !r.path.starts_with("/_sandbox") && !r.path.contains("token"))
        .map(|r| r.count)
        .sum()
}

/// Writing bridge calls koppel made (every bridge call is a POST to one path, so the
/// simulator's counters cannot tell them apart; the client counts per operation).
fn shop_writes(s: &StatsSnapshot) -> u64 {
    s.requests
        .iter()
        .filter(|r| WRITE_OPS.contains(&r.endpoint.as_str()))
        .map(|r| r.count)
        .sum()
}

fn counts(r: &RunReport, flow: Flow) -> (u64, u64, u64) {
    let f = r.flow(flow).unwrap_or_else(|| panic!("no {flow:?} in {r:?}"));
    (f.created, f.updated, f.quarantined)
}

fn assert_plan_is_run(plan: &RunReport, run: &RunReport, what: &str) {
    assert_eq!(plan.flows.len(), run.flows.len(), "{what}");
    for (p, r) in plan.flows.iter().zip(&run.flows) {
        assert_eq!(p.flow, r.flow, "{what}");
        assert_eq!(
            (p.created, p.updated, p.unchanged, p.quarantined),
            (r.created, r.updated, r.unchanged, r.quarantined),
            "{what}: {:?}: plan {p:?} run {r:?}",
            p.flow
        );
    }
}

fn amount(v: &Value) -> Decimal {
    v.as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| v.to_string())
        .parse()
        .unwrap()
}

#[tokio::test]
async fn every_flow_against_opencart() {
    let seed = SeedConfig {
        articles: 60,
        orders: 30,
        customers: 12,
        seed: 7,
    };
    let snel = snelstart::start(
        "127.0.0.1:0".parse().unwrap(),
        SnelStartOptions {
            seed,
            rate_limits: RateLimits::UNLIMITED,
            ..SnelStartOptions::default()
        },
    )
    .await
    .unwrap();
    create_service_articles(&snel.base_url()).await.unwrap();
    let shop = start(
        "127.0.0.1:0".parse().unwrap(),
        OpenCartOptions {
            seed,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("koppel.toml");
    let text = config_toml_for(
        &snel.base_url(),
        "opencart",
        "",
        &shop.base_url(),
        Limits::Unlimited,
        "koppel.db",
    );
    std::fs::write(&path, &text).unwrap();
    let env = |_: &str| None;
    let config = Config::parse(&text, &path, &env).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let spec = &config.pairs[0];
    let pair = spec.build().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::open(&config.state_path).unwrap());
    let engine = Engine::new(store.clone());
    let all: Vec<(Flow, FlowOptions)> = spec.flows.iter().map(|f| (f.flow, f.options.clone())).collect();
    assert_eq!(all.len(), 6);

    // a client of its own to look into the shop through the bridge
    let look = OpenCartConnector::new(
        koppel_opencart::parse(json!({
            "bridge_url": format!("{}/koppel-bridge.php", shop.base_url()),
            "secret": SECRET,
            "products": {"tax_classes": {"21": TAX_CLASS_HIGH, "9": TAX_CLASS_LOW}},
        }))
        .unwrap(),
        "look",
    )
    .unwrap()
    .shop();
    let articles = seed::articles(&seed);
    let codes: Vec<String> = articles.iter().map(|a| a.sku.clone()).collect();
    let in_shop = || async {
        look.client()
            .products_get("sku", &codes, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|p| p.found)
            .count()
    };
    let before = in_shop().await;

    // the plan writes nothing and predicts the run
    let snel0 = snel_writes(&snel.control.stats());
    let plan = engine.run(&pair, &all, &RunOptions::plan()).await.unwrap();
    assert_eq!(plan.mode, Mode::Plan);
    assert_eq!(
        snel_writes(&snel.control.stats()),
        snel0,
        "the plan wrote to SnelStart"
    );
    assert_eq!(shop_writes(&pair.shop.stats()), 0, "the plan wrote to the shop");
    assert_eq!(in_shop().await, before, "the plan created products");
    let run = engine.run(&pair, &all, &RunOptions::default()).await.unwrap();
    assert_plan_is_run(&plan, &run, "first run");

    // the shop holds SnelStart's articles: name, price excl. VAT, tax class, weight, stock
    let (created, _, quarantined) = counts(&run, Flow::Products);
    assert_eq!(
        created as usize,
        articles.len() - before,
        "the articles not yet in the shop (service articles are not shop products): {run:?}"
    );
    assert_eq!(quarantined, 0, "{run:?}");
    let held = look.client().products_get("sku", &codes, 100).await.unwrap();
    for (a, p) in articles.iter().zip(&held) {
        assert_eq!(p.code, a.sku);
        let sp = p
            .product
            .as_ref()
            .unwrap_or_else(|| panic!("{} not in the shop", a.sku));
        assert_eq!(sp.name.as_deref(), Some(a.name.as_str()), "{}", a.sku);
        assert_eq!(
            sp.price.map(|d| d.normalize()),
            Some(a.price_excl.normalize()),
            "{}",
            a.sku
        );
        let class = match a.vat {
            SeedVat::Hoog => TAX_CLASS_HIGH,
            SeedVat::Laag => TAX_CLASS_LOW,
        };
        assert_eq!(sp.tax_class_id, class, "{}", a.sku);
        assert_eq!(
            sp.weight.map(|d| d.normalize()),
            Some(a.weight.normalize()),
            "{}",
            a.sku
        );
        assert_eq!(sp.quantity, a.stock, "{}: technical stock", a.sku);
    }

    // every listed order is booked in SnelStart once
    let (orders, _, quarantined) = counts(&run, Flow::Orders);
    let listed = look
        .client()
        .list_page(
            "orders.list",
            json!({"statuses": [2, 3, 5]}),
            None,
            None,
            None,
            500,
        )
        .await
        .unwrap();
    assert!(!listed.more);
    assert!(listed.items.len() > 15, "{}", listed.items.len());
    assert_eq!((orders as usize, quarantined), (listed.items.len(), 0), "{run:?}");
    let admin = SnelStartAdmin::login(&snel.base_url()).await.unwrap();
    let booked = admin
        .call(reqwest::Method::GET, "/v2/verkooporders", None)
        .await
        .unwrap();
    assert_eq!(booked.as_array().unwrap().len(), listed.items.len());

    // the coupon order (21 % and 9 % lines, a fixed coupon): booked at each line's rate, so
    // SnelStart's total is what the customer paid and its VAT per rate what the shop charged
    let coupon_id = (seed.orders + 1).to_string();
    let shop_order = listed
        .items
        .iter()
        .find(|o| o["order_id"] == json!(seed.orders + 1))
        .expect("the coupon order is listed");
    let rows = shop_order["totals"].as_array().unwrap();
    assert!(rows.iter().any(|t| t["code"] == "coupon"), "{shop_order}");
    let mut shop_vat: Vec<(Decimal, Decimal)> = rows
        .iter()
        .filter(|t| t["code"] == "tax")
        .map(|t| {
            let title = t["title"].as_str().unwrap();
            let pct: Decimal = title
                .trim_start_matches("BTW ")
                .trim_end_matches('%')
                .parse()
                .unwrap();
            (pct, round_money(amount(&t["value"]), 2))
        })
        .collect();
    shop_vat.sort();
    let vo = booked
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["orderreferentie"] == coupon_id.as_str())
        .expect("the coupon order is booked");
    assert_eq!(
        amount(&vo["totaalInclusiefBtw"]),
        round_money(amount(&shop_order["total"]), 2),
        "{vo}"
    );
    let mut base: std::collections::BTreeMap<Decimal, Decimal> = Default::default();
    for r in vo["regels"].as_array().unwrap() {
        let id = r["artikel"]["id"].as_str().unwrap();
        let art = admin
            .call(reqwest::Method::GET, &format!("/v2/artikelen/{id}"), None)
            .await
            .unwrap();
        let code = art["artikelcode"].as_str().unwrap();
        assert_ne!(
            code, "KORTING",
            "the coupon is on the lines, not the discount article: {vo}"
        );
        let pct = match articles.iter().find(|a| a.sku == code).map(|a| a.vat) {
            Some(SeedVat::Hoog) => Decimal::from(21),
            Some(SeedVat::Laag) => Decimal::from(9),
            None if code == "VERZEND" => Decimal::from(21),
            None => panic!("unexpected article {code} on {vo}"),
        };
        *base.entry(pct).or_default() += amount(&r["totaal"]);
    }
    // SnelStart's VAT per rate: on the excl. sum, or taken out of the incl. sum (an order whose
    // per-total VAT SnelStart's per-rate rounding cannot reproduce is booked incl.)
    let inclusive = vo["verkooporderBtwIngaveModel"] == "Inclusief";
    let snel_vat: Vec<(Decimal, Decimal)> = base
        .iter()
        .map(|(pct, b)| {
            let vat = if inclusive {
                b - round_money(b * Decimal::ONE_HUNDRED / (Decimal::ONE_HUNDRED + pct), 2)
            } else {
                round_money(b * pct / Decimal::ONE_HUNDRED, 2)
            };
            (*pct, vat)
        })
        .collect();
    assert_eq!(snel_vat, shop_vat, "VAT per rate: {vo}");
    assert_eq!(shop_vat.len(), 2, "{shop_order}");

    // SnelStart invoices three orders; two are paid in full
    let mut bindings = store.bindings("sandbox", Kind::Order).await.unwrap();
    bindings.sort_by(|a, b| a.key.cmp(&b.key));
    assert!(bindings.len() >= 3, "{bindings:?}");
    let mut paid = Vec::new();
    let mut open = Vec::new();
    for (i, b) in bindings.iter().take(3).enumerate() {
        let invoice = admin
            .call(
                reqwest::Method::POST,
                "/_sandbox/snelstart/invoice",
                Some(json!({"verkooporderId": b.target_id})),
            )
            .await
            .unwrap();
        let number = invoice["factuurnummer"].as_str().unwrap().to_owned();
        let total = amount(&invoice["factuurBedrag"]);
        let order: u64 = b.key.parse().unwrap();
        if i < 2 {
            admin
                .call(
                    reqwest::Method::POST,
                    "/_sandbox/snelstart/payment",
                    Some(json!({"verkoopfactuurId": invoice["id"], "bedrag": total})),
                )
                .await
                .unwrap();
            paid.push((order, format!("[koppel:paid:{number}:{}]", total.normalize())));
        } else {
            open.push((order, format!("[koppel:open:{number}:{}]", total.normalize())));
        }
    }
    let back: Vec<(Flow, FlowOptions)> = all
        .iter()
        .filter(|(f, _)| matches!(f, Flow::OpenAmounts | Flow::Payments))
        .cloned()
        .collect();
    let plan2 = engine.run(&pair, &back, &RunOptions::plan()).await.unwrap();
    let run2 = engine.run(&pair, &back, &RunOptions::default()).await.unwrap();
    assert_plan_is_run(&plan2, &run2, "payments run");
    let (c, u, _) = counts(&run2, Flow::Payments);
    assert_eq!(c + u, 2, "{run2:?}");
    let (c, u, _) = counts(&run2, Flow::OpenAmounts);
    assert!(c + u >= 1, "{run2:?}");
    let history = look
        .client()
        .history_check(&[paid.clone(), open.clone()].concat())
        .await
        .unwrap();
    for (h, (order, marker)) in history.iter().zip(paid.iter().chain(&open)) {
        assert_eq!(h.order_id, *order);
        assert!(h.history_id.is_some(), "order {order}: no history with {marker}");
    }
    // the unpaid invoice got no payment entry
    let (order, _) = &open[0];
    let no_paid = look
        .client()
        .history_check(&[(*order, "[koppel:paid:".to_owned())])
        .await
        .unwrap();
    assert_eq!(no_paid[0].history_id, None, "order {order} reported paid");

    // invoicing lowered SnelStart's stock: one more run writes it; after that nothing changes
    let run3 = engine.run(&pair, &all, &RunOptions::default()).await.unwrap();
    let (c, u, _) = counts(&run3, Flow::Payments);
    assert_eq!(c + u, 0, "a payment reached the shop twice: {run3:?}");
    let (snel1, shop1) = (
        snel_writes(&snel.control.stats()),
        shop_writes(&pair.shop.stats()),
    );
    let plan3 = engine.run(&pair, &all, &RunOptions::plan()).await.unwrap();
    let last = engine.run(&pair, &all, &RunOptions::default()).await.unwrap();
    for f in &last.flows {
        assert_eq!(
            (f.created, f.updated),
            (0, 0),
            "{:?} wrote on a run with nothing changed: {f:?}",
            f.flow
        );
    }
    assert_plan_is_run(&plan3, &last, "run with nothing changed");
    assert_eq!(
        snel_writes(&snel.control.stats()),
        snel1,
        "SnelStart was written to"
    );
    assert_eq!(shop_writes(&pair.shop.stats()), shop1, "the shop was written to");
    let again = look
        .client()
        .history_check(&[paid.clone(), open.clone()].concat())
        .await
        .unwrap();
    for (a, h) in again.iter().zip(&history) {
        assert_eq!(
            a.history_id, h.history_id,
            "order {}: history changed",
            a.order_id
        );
    }
}
