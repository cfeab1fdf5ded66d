//! The orders flow through koppel's engine into the SnelStart simulator, with the process
//! killed between the POST and journalling its outcome: the restart resolves the open intent
//! by `orderreferentie` and posts nothing twice.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use koppel_core::engine::{Engine, FaultHook, FaultPoint, Flow, FlowOptions, Pair, RunOptions};
use koppel_core::state::SqliteStore;
use koppel_core::testing::MemoryConnector;
use koppel_core::{Kind, Order};
use koppel_sandbox::snelstart::SnelStartOptions;
use serde_json::json;

#[tokio::test]
async fn orders_flow_survives_a_crash_between_post_and_journal() {
    let sim = sim(SnelStartOptions::default()).await;
    let snelstart = Arc::new(connector(&sim, json!({})));
    let setup = order_setup(&sim, &snelstart).await;
    let api = SimApi::new(&sim).await;

    let shop = MemoryConnector::new("shop");
    let orders = shop.source::<Order>();
    for (i, n) in ["ENG-1", "ENG-2", "ENG-3"].iter().enumerate() {
        let mut o = shop_order(n, &setup, &[("KP-0001", 1 + i as i64), ("KP-0002", 1)]);
        o.modified = Some(o.created_at - chrono::Duration::seconds(10 - i as i64));
        orders.put(o);
    }
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let engine = Engine::new(store);
    let pair = Pair {
        name: "p1".into(),
        accounting: snelstart.clone(),
        shop: shop.clone(),
    };
    let flows = vec![(
        Flow::Orders,
        FlowOptions {
            concurrency: 1,
            ..Default::default()
        },
    )];

    // the process dies right after the first verkooporder was POSTed
    let fired = Arc::new(AtomicBool::new(false));
    let f = fired.clone();
    let fault: FaultHook = Arc::new(move |point, kind, _keys| {
        point == FaultPoint::AfterCallBeforeOutcome && kind == Kind::Order && !f.swap(true, Ordering::SeqCst)
    });
    let crash = RunOptions {
        fault: Some(fault),
        ..Default::default()
    };
    let err = engine.run(&pair, &flows, &crash).await.unwrap_err();
    assert!(err.to_string().contains("injected fault"), "{err}");
    assert_eq!(sim.control.stats().count("POST", "/v2/verkooporders"), 1);

    // the restart resolves the open intent by lookup and writes the rest
    let report = engine.run(&pair, &flows, &RunOptions::default()).await.unwrap();
    let f = report.flow(Flow::Orders).unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(f.intents_resolved, 1, "{f:?}");
    assert_eq!(f.created, 2, "{f:?}");
    assert_eq!(f.quarantined, 0, "{f:?}");
    let stats = sim.control.stats();
    assert_eq!(stats.count("POST", "/v2/verkooporders"), 3);
    for n in ["ENG-1", "ENG-2", "ENG-3"] {
        let found = api
            .get(&format!("/verkooporders?$filter=Orderreferentie%20eq%20'{n}'"))
            .await;
        assert_eq!(found.as_array().unwrap().len(), 1, "{n}");
    }

    // a third run writes nothing
    let report = engine.run(&pair, &flows, &RunOptions::default()).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(sim.control.stats().count("POST", "/v2/verkooporders"), 3);
    assert_eq!(sim.control.stats().with_status(429), 0);
}
