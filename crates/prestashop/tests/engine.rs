//! Every flow through koppel's engine, with the config the runner parses (`koppel.toml`),
//! between the SnelStart simulator and the PrestaShop simulator, in 1.7 and 8.x modes: the
//! plan predicts the run flow by flow, the shop receives what SnelStart has, invoices paid in
//! SnelStart reach the shop once, and a run with nothing changed writes nothing on either side.
//!
//! (Through the `koppel` binary the same flows run in `tests/cli_flow.rs`, `tests/demo.rs` and
//! `tests/plan_run.rs`, which cover every registered shop simulator.)

// name the crate so the linker keeps its registration
extern crate koppel_prestashop;

use std::sync::Arc;

use koppel::config::Config;
use koppel::sim::{config_toml_for, create_service_articles, Limits, SnelStartAdmin};
use koppel_core::engine::{Engine, Flow, FlowOptions, Mode, RunOptions, RunReport};
use koppel_core::state::{SqliteStore, StateStore};
use koppel_core::Kind;
use koppel_sandbox::control::Stats;
use koppel_sandbox::prestashop::{start_inspectable, PrestaOptions, PrestaVersion, STATE_PAYMENT_ACCEPTED};
use koppel_sandbox::seed::SeedConfig;
use koppel_sandbox::snelstart::{self, RateLimits, SnelStartOptions};
use rust_decimal::Decimal;
use serde_json::json;

fn writes(s: &Stats) -> u64 {
    s.requests
        .iter()
        .filter(|r| r.method != "GET" && !r.path.starts_with("/_sandbox") && !r.path.contains("token"))
        .map(|r| r.count)
        .sum()
}

fn counts(r: &RunReport, flow: Flow) -> (u64, u64, u64) {
    let f = r.flow(flow).unwrap_or_else(|| panic!("no {flow:?} in {r:?}"));
    (f.created, f.updated, f.quarantined)
}

async fn every_flow(version: PrestaVersion) {
    let seed = SeedConfig {
        articles: 80,
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
    let (shop, state) = start_inspectable(
        "127.0.0.1:0".parse().unwrap(),
        PrestaOptions {
            seed,
            version,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("koppel.toml");
    let text = config_toml_for(
        &snel.base_url(),
        "prestashop",
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

    // the plan writes nothing and predicts the run
    let (snel0, shop0) = (writes(&snel.control.stats()), writes(&shop.control.stats()));
    let plan = engine.run(&pair, &all, &RunOptions::plan()).await.unwrap();
    assert_eq!(plan.mode, Mode::Plan);
    assert_eq!(
        writes(&snel.control.stats()),
        snel0,
        "the plan wrote to SnelStart"
    );
    assert_eq!(writes(&shop.control.stats()), shop0, "the plan wrote to the shop");
    let run = engine.run(&pair, &all, &RunOptions::default()).await.unwrap();
    // (the engine's plan still decides from bindings alone; the sinks' own prepare, which the
    // run uses, is checked against the apply in tests/simulator.rs)
    let (created, _, _) = counts(&run, Flow::Products);
    // (the service articles orders book costs on are not shop products)
    assert_eq!(created, 30, "80 articles, 50 already in the shop: {run:?}");
    let (orders, _, quarantined) = counts(&run, Flow::Orders);
    assert!(orders > 15, "{run:?}");
    // the broken seed orders: a row without reference, an address in an unknown country
    assert_eq!(quarantined, 2, "{run:?}");
    assert_eq!(state.with(|s| s.table("products").unwrap().len()), 80);

    // SnelStart invoices three orders; two are paid in full
    let admin = SnelStartAdmin::login(&snel.base_url()).await.unwrap();
    let mut bindings = store.bindings("sandbox", Kind::Order).await.unwrap();
    bindings.sort_by(|a, b| a.key.cmp(&b.key));
    // orders still "Processing in progress" in the shop (the others are in "Payment accepted")
    bindings.retain(|b| {
        let id: u64 = b.key.parse().unwrap();
        state.with(|s| s.get("orders", id).unwrap().get("current_state") == "3")
    });
    assert!(bindings.len() >= 3, "{bindings:?}");
    let mut paid_orders = Vec::new();
    for (i, b) in bindings.iter().take(3).enumerate() {
        let invoice = admin
            .call(
                reqwest::Method::POST,
                "/_sandbox/snelstart/invoice",
                Some(json!({"verkooporderId": b.target_id})),
            )
            .await
            .unwrap();
        if i < 2 {
            let total: Decimal = invoice["factuurBedrag"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| invoice["factuurBedrag"].to_string())
                .parse()
                .unwrap();
            admin
                .call(
                    reqwest::Method::POST,
                    "/_sandbox/snelstart/payment",
                    Some(json!({"verkoopfactuurId": invoice["id"], "bedrag": total})),
                )
                .await
                .unwrap();
            paid_orders.push(b.key.parse::<u64>().unwrap());
        }
    }
    let back: Vec<(Flow, FlowOptions)> = all
        .iter()
        .filter(|(f, _)| matches!(f, Flow::OpenAmounts | Flow::Payments))
        .cloned()
        .collect();
    let run2 = engine.run(&pair, &back, &RunOptions::default()).await.unwrap();
    assert_eq!(
        counts(&run2, Flow::Payments).1 + counts(&run2, Flow::Payments).0,
        2,
        "{run2:?}"
    );
    for id in &paid_orders {
        let states: Vec<String> = state.with(|s| {
            s.table("order_histories")
                .unwrap()
                .values()
                .filter(|h| h.get("id_order") == id.to_string())
                .map(|h| h.get("id_order_state").to_owned())
                .collect()
        });
        assert!(
            states.contains(&STATE_PAYMENT_ACCEPTED.to_string()),
            "order {id}: {states:?}"
        );
    }
    let messages = state.with(|s| s.table("messages").map_or(0, |t| t.len()));
    assert!(messages >= 1, "no open-amount message in the shop");
    assert_eq!(state.mails(), 0, "the shop mailed a customer");
    assert_eq!(
        shop.control.stats().count("PUT", "/api/{resource}") > 0,
        version == PrestaVersion::V17
    );

    // invoicing lowered SnelStart's stock: one more run writes it; after that nothing changes
    engine.run(&pair, &all, &RunOptions::default()).await.unwrap();
    let (snel1, shop1) = (writes(&snel.control.stats()), writes(&shop.control.stats()));
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
    for (p, r) in plan3.flows.iter().zip(&last.flows) {
        assert_eq!(
            (p.created, p.updated, p.quarantined),
            (r.created, r.updated, r.quarantined),
            "{:?}: plan {p:?} run {r:?}",
            p.flow
        );
    }
    assert_eq!(writes(&snel.control.stats()), snel1, "SnelStart was written to");
    assert_eq!(writes(&shop.control.stats()), shop1, "the shop was written to");
}

#[tokio::test]
async fn every_flow_against_prestashop_8() {
    every_flow(PrestaVersion::V8).await;
}

#[tokio::test]
async fn every_flow_against_prestashop_17() {
    every_flow(PrestaVersion::V17).await;
}
