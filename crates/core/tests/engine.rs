//! Engine and state store tests with in-memory connectors.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use koppel_core::engine::{
    ChangeAction, Engine, FaultPoint, Flow, FlowOptions, FlowStatus, Mode, Pair, Progress, RunOptions,
};
use koppel_core::state::{JournalOutcome, SqliteStore, StateStore};
use koppel_core::testing::samples::{customer, order, product, stock};
use koppel_core::testing::{MemoryConnector, MemorySink, MemorySource};
use koppel_core::{
    Connector, Customer, Dependency, Error, Kind, Order, Product, Record, Rejection, StockLevel,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn ago(mins: i64) -> Option<chrono::DateTime<Utc>> {
    Some(Utc::now() - TimeDelta::minutes(mins))
}

struct World {
    store: Arc<dyn StateStore>,
    engine: Engine,
    pair: Pair,
    acc: Arc<MemoryConnector>,
    shop: Arc<MemoryConnector>,
}

fn world() -> World {
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::in_memory().unwrap());
    world_on(store)
}

fn world_on(store: Arc<dyn StateStore>) -> World {
    let acc = MemoryConnector::new("memacc");
    let shop = MemoryConnector::new("memshop");
    let pair = Pair {
        name: "p1".into(),
        accounting: acc.clone() as Arc<dyn Connector>,
        shop: shop.clone() as Arc<dyn Connector>,
    };
    World {
        engine: Engine::new(store.clone()),
        store,
        pair,
        acc,
        shop,
    }
}

fn opts(flow: Flow) -> Vec<(Flow, FlowOptions)> {
    vec![(flow, FlowOptions::default())]
}

fn opts_with(flow: Flow, f: impl FnOnce(&mut FlowOptions)) -> Vec<(Flow, FlowOptions)> {
    let mut o = FlowOptions::default();
    f(&mut o);
    vec![(flow, o)]
}

/// Orders from the shop to an accounting sink that cannot deduplicate, with customers.
struct OrderWorld {
    w: World,
    #[allow(dead_code)]
    src: Arc<MemorySource<Order>>,
    orders: Arc<MemorySink<Order>>,
    customers: Arc<MemorySink<Customer>>,
}

fn order_world(n: usize) -> OrderWorld {
    let w = world();
    let src = w.shop.source::<Order>();
    let orders = w.acc.sink::<Order>();
    let customers = w.acc.sink::<Customer>();
    orders.exactly_once(true);
    customers.exactly_once(true);
    orders.dependencies_with(|o: &Order| {
        let mut d = vec![Dependency::Customer(Box::new(o.customer.clone()))];
        for l in &o.lines {
            if let Some(s) = &l.sku {
                d.push(Dependency::Product(s.clone()));
            }
        }
        d
    });
    for i in 0..n {
        // customers c0, c1 shared by several orders
        src.put(order(
            &format!("1000{i}"),
            &format!("c{}", i % 2),
            "KP-0001",
            ago(60 - i as i64),
        ));
    }
    OrderWorld {
        w,
        src,
        orders,
        customers,
    }
}

// ------------------------------------------------------------------------------------------
// 1. state store
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn store_file_is_created_migrated_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/state.db");
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), 1);
    let t = Utc::now();
    s.set_cursor("p", Flow::Stock, t).await.unwrap();
    drop(s);
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), 1);
    let c = s.cursor("p", Flow::Stock).await.unwrap().unwrap();
    assert_eq!(c.timestamp_micros(), t.timestamp_micros());
    assert_eq!(s.cursors("p").await.unwrap().len(), 1);
    // WAL mode: the -wal file sits beside the database
    assert!(dir.path().join("sub/state.db-wal").exists());
}

// ------------------------------------------------------------------------------------------
// 3. flow engine: cursor, overlap, bindings
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn products_flow_writes_once_and_then_only_changes() {
    let w = world();
    let src = w.acc.source::<Product>();
    let sink = w.shop.sink::<Product>();
    src.page_size(2);
    for (i, code) in ["KP-0001", "KP-0002", "KP-0003"].iter().enumerate() {
        src.put(product(code, dec!(10) + Decimal::from(i), ago(60 - i as i64)));
    }
    let r = w
        .engine
        .run(&w.pair, &opts(Flow::Products), &RunOptions::default())
        .await
        .unwrap();
    let f = r.flow(Flow::Products).unwrap();
    assert_eq!((f.read, f.created, f.updated, f.unchanged), (3, 3, 0, 0), "{f:?}");
    assert_eq!(f.status, FlowStatus::Ok);
    assert_eq!(sink.creates(), 3);
    assert_eq!(f.cursor, Some(r.started_at));
    assert!(f.requests.accounting >= 2, "{:?}", f.requests); // two pages
    assert_eq!(f.requests.shop, 6); // per batch of 1: one read (prepare) and one write

    // nothing changed: nothing read (outside the overlap window), nothing written
    let r = w
        .engine
        .run(&w.pair, &opts(Flow::Products), &RunOptions::default())
        .await
        .unwrap();
    let f = r.flow(Flow::Products).unwrap();
    assert_eq!((f.read, f.created, f.updated), (0, 0, 0), "{f:?}");
    assert_eq!(sink.calls(), 3);
    assert_eq!(f.since, Some(f.since.unwrap()));

    // one price change: read and updated; a touch without change inside the overlap: unchanged
    src.put(product("KP-0002", dec!(99), Some(Utc::now())));
    let mut same = product("KP-0003", dec!(12), Some(Utc::now()));
    same.source_id = Some("other-guid".into()); // volatile: not a change
    src.put(same);
    let r = w
        .engine
        .run(&w.pair, &opts(Flow::Products), &RunOptions::default())
        .await
        .unwrap();
    let f = r.flow(Flow::Products).unwrap();
    assert_eq!((f.read, f.updated, f.unchanged), (2, 1, 1), "{f:?}");
    assert_eq!(sink.calls(), 4);
    assert_eq!(sink.get("KP-0002").unwrap().1.price.amount, dec!(99));
    // the update carried the binding's target id and the previous record
    let last = sink.seen().pop().unwrap();
    assert_eq!(
        last.target_id.as_deref(),
        Some(sink.get("KP-0002").unwrap().0.as_str())
    );
    assert_eq!(last.previous.unwrap().price.amount, dec!(11));

    // the runs table holds every flow run
    let runs = w.store.recent_runs("p1", Some(Flow::Products), 10).await.unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].updated, 1);
    assert_eq!(runs[2].created, 3);
    assert_eq!(runs[0].report["requests"]["shop"], 2); // the read of prepare, the write
}

#[tokio::test]
async fn overlap_rereads_and_bindings_absorb_duplicates() {
    let w = world();
    let src = w.acc.source::<StockLevel>();
    let sink = w.shop.sink::<StockLevel>();
    src.put(stock("KP-0001", dec!(5), ago(2)));
    w.engine
        .run(&w.pair, &opts(Flow::Stock), &RunOptions::default())
        .await
        .unwrap();
    // within the 5 minute overlap the record is read again, but costs no write
    let r = w
        .engine
        .run(&w.pair, &opts(Flow::Stock), &RunOptions::default())
        .await
        .unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!((f.read, f.unchanged, f.created), (1, 1, 0));
    assert_eq!(sink.calls(), 1);
    // with no overlap it is not read at all
    let r = w
        .engine
        .run(
            &w.pair,
            &opts_with(Flow::Stock, |o| o.overlap = Duration::ZERO),
            &RunOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.flow(Flow::Stock).unwrap().read, 0);
    // full ignores the cursor
    let r = w
        .engine
        .run(
            &w.pair,
            &opts_with(Flow::Stock, |o| o.full = true),
            &RunOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.flow(Flow::Stock).unwrap().read, 1);
}

#[tokio::test]
async fn reads_are_capped_at_the_run_start() {
    let w = world();
    let src = w.acc.source::<StockLevel>();
    let _sink = w.shop.sink::<StockLevel>();
    src.put(stock("KP-0001", dec!(5), ago(10)));
    src.put(stock("KP-0002", dec!(5), Some(Utc::now() + TimeDelta::hours(1))));
    let r = w
        .engine
        .run(&w.pair, &opts(Flow::Stock), &RunOptions::default())
        .await
        .unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!(f.read, 1);
    assert_eq!(f.until, Some(r.started_at));
    let stored = w.store.cursor("p1", Flow::Stock).await.unwrap().unwrap();
    assert_eq!(stored.timestamp_micros(), r.started_at.timestamp_micros());
}

#[tokio::test]
async fn batches_with_bounded_concurrency() {
    let w = world();
    let src = w.acc.source::<StockLevel>();
    let sink = w.shop.sink::<StockLevel>();
    sink.batch_size(3);
    for i in 0..10 {
        src.put(stock(&format!("KP-{i:04}"), Decimal::from(i), ago(30)));
    }
    let r = w
        .engine
        .run(
            &w.pair,
            &opts_with(Flow::Stock, |o| o.concurrency = 2),
            &RunOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.flow(Flow::Stock).unwrap().created, 10);
    assert_eq!(sink.batches(), 4);
    assert_eq!(sink.creates(), 10);
}

/// A sink that looks up 10 records per batch but writes each with a call of its own
/// (`apply_size` 1): the engine runs those calls side by side, never more at once than the
/// smaller of the flow's `concurrency` and the sink's own limit, across batches.
#[tokio::test]
async fn the_engine_schedules_a_sinks_calls_within_both_limits() {
    for (flow_limit, sink_limit, want) in [(4, usize::MAX, 4), (4, 2, 2), (1, usize::MAX, 1)] {
        let w = world();
        let src = w.acc.source::<StockLevel>();
        let sink = w.shop.sink::<StockLevel>();
        sink.batch_size(10);
        sink.apply_size(Some(1));
        sink.concurrency(sink_limit);
        sink.call_delay(Duration::from_millis(15));
        for i in 0..20 {
            src.put(stock(&format!("KP-{i:04}"), Decimal::from(i), ago(30)));
        }
        let r = w
            .engine
            .run(
                &w.pair,
                &opts_with(Flow::Stock, |o| o.concurrency = flow_limit),
                &RunOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(r.flow(Flow::Stock).unwrap().created, 20);
        assert_eq!(sink.creates(), 20);
        // one apply call per record, and two lookups (prepare) of 10
        assert_eq!(sink.batches(), 20);
        assert_eq!(sink.prepares(), 20);
        assert_eq!(
            sink.max_in_flight(),
            want as u64,
            "flow {flow_limit}, sink {sink_limit}"
        );
    }
    // the default apply size is the batch: one apply call per batch of 10
    let w = world();
    let src = w.acc.source::<StockLevel>();
    let sink = w.shop.sink::<StockLevel>();
    sink.batch_size(10);
    for i in 0..20 {
        src.put(stock(&format!("KP-{i:04}"), Decimal::from(i), ago(30)));
    }
    w.engine
        .run(&w.pair, &opts(Flow::Stock), &RunOptions::default())
        .await
        .unwrap();
    assert_eq!((sink.batches(), sink.creates()), (2, 20));
}

#[tokio::test]
async fn missing_endpoint_is_refused_before_io() {
    let w = world();
    let src = w.acc.source::<Product>();
    src.put(product("KP-0001", dec!(1), ago(1)));
    // the shop has no product sink
    let e = w
        .engine
        .run(&w.pair, &opts(Flow::Products), &RunOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Config { path, .. } if path == "pairs.p1.flows.products"),
        "{e}"
    );
    assert!(e.to_string().contains("memshop"), "{e}");
    assert_eq!(src.reads(), 0);
    assert!(w.store.lease("p1").await.unwrap().is_none());
}

// ------------------------------------------------------------------------------------------
// 2. leases
// ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_runs_one_gets_a_clear_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    // two "processes": two stores on one file, two engines
    let w = world_on(Arc::new(SqliteStore::open(&path).unwrap()));
    let src = w.acc.source::<StockLevel>();
    let sink = w.shop.sink::<StockLevel>();
    for i in 0..5 {
        src.put(stock(&format!("KP-{i:04}"), Decimal::from(i), ago(30)));
    }
    let other = Engine::new(Arc::new(SqliteStore::open(&path).unwrap())).with_holder("other-host:42:abc");
    let held = src.hold.write().await; // the first run stalls in its first read
    let engine = Arc::new(w.engine);
    let (e2, pair2) = (engine.clone(), w.pair.clone());
    let first = tokio::spawn(async move { e2.run(&pair2, &opts(Flow::Stock), &RunOptions::default()).await });
    while w.store.lease("p1").await.unwrap().is_none() {
        tokio::task::yield_now().await;
    }
    let err = other
        .run(&w.pair, &opts(Flow::Stock), &RunOptions::default())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert!(
        msg.contains("pair p1 is being synced by")
            && msg.contains(engine.holder())
            && msg.contains("lease expires at"),
        "{msg}"
    );
    drop(held);
    let r = first.await.unwrap().unwrap();
    assert_eq!(r.flow(Flow::Stock).unwrap().created, 5);
    assert_eq!(sink.calls(), 5, "only one run wrote");
    // released at the end: the other engine may run now
    assert!(w.store.lease("p1").await.unwrap().is_none());
    let r = other
        .run(&w.pair, &opts(Flow::Stock), &RunOptions::default())
        .await
        .unwrap();
    assert_eq!(r.flow(Flow::Stock).unwrap().created, 0);
}

#[tokio::test]
async fn a_crashed_holders_lease_expires() {
    let s = SqliteStore::in_memory().unwrap();
    let long_ago = Utc::now() - TimeDelta::hours(1);
    s.acquire_lease("p1", "dead:1:x", long_ago, Duration::from_secs(60))
        .await
        .unwrap();
    // still valid at that time for someone else
    let e = s
        .acquire_lease(
            "p1",
            "live:2:y",
            long_ago + TimeDelta::seconds(30),
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("dead:1:x"), "{e}");
    // expired now
    let l = s
        .acquire_lease("p1", "live:2:y", Utc::now(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(l.holder, "live:2:y");
    // the dead holder cannot renew
    assert!(s
        .renew_lease("p1", "dead:1:x", Utc::now(), Duration::from_secs(60))
        .await
        .is_err());
    assert!(s
        .renew_lease("p1", "live:2:y", Utc::now(), Duration::from_secs(60))
        .await
        .is_ok());
}

#[tokio::test]
async fn a_lease_of_a_process_that_ended_on_this_host_is_taken_over_at_once() {
    let w = world();
    let src = w.acc.source::<StockLevel>();
    let _sink = w.shop.sink::<StockLevel>();
    src.put(stock("KP-0001", Decimal::from(3), ago(30)));
    // the host part of our own holder name (`host[/pidns]:pid:rand`)
    let ours = w.engine.holder().to_owned();
    let host = ours.rsplitn(3, ':').nth(2).unwrap().to_owned();
    // a process that has ended: its pid is free
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    if !std::path::Path::new("/proc/self").exists() {
        eprintln!("no /proc here: dead holders are only recognised on Linux; skipped");
        return;
    }
    w.store
        .acquire_lease(
            "p1",
            &format!("{host}:{dead_pid}:deadbeef"),
            Utc::now(),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    let r = w
        .engine
        .run(&w.pair, &opts(Flow::Stock), &RunOptions::default())
        .await
        .unwrap();
    assert_eq!(r.flow(Flow::Stock).unwrap().created, 1);

    // a live process on this host (ourselves, under another name), or a process on another
    // host: its lease is respected until it expires
    for holder in [
        format!("{host}:{}:cafebabe", std::process::id()),
        format!("other-host:{dead_pid}:cafebabe"),
    ] {
        w.store
            .acquire_lease("p1", &holder, Utc::now(), Duration::from_secs(600))
            .await
            .unwrap();
        let err = w
            .engine
            .run(&w.pair, &opts(Flow::Stock), &RunOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Conflict { .. }), "{holder}: {err}");
        w.store.release_lease("p1", &holder).await.unwrap();
    }
}

// ------------------------------------------------------------------------------------------
// 4. exactly once
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn crash_at_every_point_leaves_no_duplicates_and_nothing_missing() {
    const N: usize = 4;
    let points = [
        FaultPoint::BeforeCall,
        FaultPoint::AfterCallBeforeOutcome,
        FaultPoint::AfterOutcome,
    ];
    let mut cases = 0;
    for point in points {
        // kill the k-th write at this point (customer writes count too)
        for k in 0..(N + 2) {
            let ow = order_world(N);
            let calls = Arc::new(AtomicUsize::new(0));
            let c = calls.clone();
            let fault: koppel_core::engine::FaultHook =
                Arc::new(move |p, _kind, _keys| p == point && c.fetch_add(1, Ordering::SeqCst) == k);
            let crash = RunOptions {
                fault: Some(fault),
                ..Default::default()
            };
            let err =
                ow.w.engine
                    .run(&ow.w.pair, &opts(Flow::Orders), &crash)
                    .await
                    .unwrap_err();
            assert!(err.to_string().contains("injected fault"), "{err}");
            // the process is gone: its lease stays until it expires
            assert!(ow.w.store.lease("p1").await.unwrap().is_some());
            // restart (same holder, as a restarted process that kept its name, or after expiry)
            let r =
                ow.w.engine
                    .run(&ow.w.pair, &opts(Flow::Orders), &RunOptions::default())
                    .await
                    .unwrap();
            let f = r.flow(Flow::Orders).unwrap();
            assert_eq!(f.quarantined, 0, "{point:?}/{k}: {f:?}");
            assert!(
                ow.orders.duplicates().is_empty(),
                "{point:?}/{k}: duplicates {:?}",
                ow.orders.duplicates()
            );
            assert!(ow.customers.duplicates().is_empty(), "{point:?}/{k}");
            for i in 0..N {
                assert_eq!(
                    ow.orders.count(&format!("1000{i}")),
                    1,
                    "{point:?}/{k}: order {i} missing"
                );
            }
            assert_eq!(ow.orders.rows().len(), N);
            assert_eq!(ow.customers.rows().len(), 2);
            // every intent got an outcome
            assert!(ow
                .w
                .store
                .open_intents("p1", Kind::Order)
                .await
                .unwrap()
                .is_empty());
            // a third run writes nothing
            let before = ow.orders.calls();
            ow.w.engine
                .run(&ow.w.pair, &opts(Flow::Orders), &RunOptions::default())
                .await
                .unwrap();
            assert_eq!(ow.orders.calls(), before);
            cases += 1;
        }
    }
    assert_eq!(cases, 18);
}

#[tokio::test]
async fn uncertain_write_is_resolved_by_lookup() {
    let ow = order_world(2);
    ow.orders.uncertain_after_apply("10000"); // applied, but the answer was lost
    let r =
        ow.w.engine
            .run(&ow.w.pair, &opts(Flow::Orders), &RunOptions::default())
            .await
            .unwrap();
    let f = r.flow(Flow::Orders).unwrap();
    assert_eq!((f.created, f.quarantined), (1, 1), "{f:?}");
    assert_eq!(f.status, FlowStatus::Partial);
    let q = ow.w.store.quarantined("p1", Some(Flow::Orders)).await.unwrap();
    assert_eq!(q[0].error_class, "uncertain");
    assert_eq!(ow.w.store.open_intents("p1", Kind::Order).await.unwrap().len(), 1);
    // next run: the open intent is looked up first, found, bound; nothing is written again
    let calls = ow.orders.calls();
    let r =
        ow.w.engine
            .run(&ow.w.pair, &opts(Flow::Orders), &RunOptions::default())
            .await
            .unwrap();
    let f = r.flow(Flow::Orders).unwrap();
    assert_eq!(f.intents_resolved, 1);
    assert_eq!(ow.orders.calls(), calls);
    assert_eq!(ow.orders.count("10000"), 1);
    assert!(ow.w.store.quarantined("p1", None).await.unwrap().is_empty());
    let j = ow.w.store.journal("p1", 50).await.unwrap();
    assert!(j
        .iter()
        .any(|e| e.outcome == Some(JournalOutcome::ResolvedFound) && e.key == "10000"));
}

#[tokio::test]
async fn uncertain_write_not_applied_is_written_again_once() {
    let ow = order_world(1);
    ow.orders.fail_key(
        "10000",
        Some(Error::Uncertain {
            message: "timeout".into(),
        }),
    );
    let o = opts_with(Flow::Orders, |o| o.quarantine_backoff = Duration::ZERO);
    let r =
        ow.w.engine
            .run(&ow.w.pair, &o, &RunOptions::default())
            .await
            .unwrap();
    assert_eq!(r.flow(Flow::Orders).unwrap().quarantined, 1);
    ow.orders.fail_key("10000", None);
    let r =
        ow.w.engine
            .run(&ow.w.pair, &o, &RunOptions::default())
            .await
            .unwrap();
    let f = r.flow(Flow::Orders).unwrap();
    assert_eq!(
        (f.intents_resolved, f.retried, f.created, f.released),
        (1, 1, 1, 1),
        "{f:?}"
    );
    assert_eq!(ow.orders.count("10000"), 1);
    assert!(ow.w.store.quarantined("p1", None).await.unwrap().is_empty());
}

// ------------------------------------------------------------------------------------------
// 5. dependencies
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn order_dependencies_resolve_customers_and_products() {
    let ow = order_world(3);
    // the products flow bound KP-0001 earlier: accounting id = its source id
    let psrc = ow.w.acc.source::<Product>();
    let _psink = ow.w.shop.sink::<Product>();
    psrc.put(product("KP-0001", dec!(10), ago(90)));
    ow.w.engine
        .run(&ow.w.pair, &opts(Flow::Products), &RunOptions::default())
        .await
        .unwrap();
    // customer c1 already synced
    let csrc = ow.w.shop.source::<Customer>();
    csrc.put(customer("c1", ago(90)));
    ow.w.engine
        .run(&ow.w.pair, &opts(Flow::Customers), &RunOptions::default())
        .await
        .unwrap();
    assert_eq!(ow.customers.creates(), 1);

    let r =
        ow.w.engine
            .run(&ow.w.pair, &opts(Flow::Orders), &RunOptions::default())
            .await
            .unwrap();
    let f = r.flow(Flow::Orders).unwrap();
    assert_eq!(
        (f.created, f.dependencies_created, f.quarantined),
        (3, 1, 0),
        "{f:?}"
    );
    assert_eq!(ow.customers.creates(), 2); // c0 created once for two orders
    let c0 = ow.customers.get("c0").unwrap().0;
    let c1 = ow.customers.get("c1").unwrap().0;
    for item in ow.orders.seen() {
        let want = if item.record.customer.key == "c0" {
            &c0
        } else {
            &c1
        };
        assert_eq!(item.refs.get("customer"), Some(want));
        assert_eq!(
            item.refs.get("sku:KP-0001").map(String::as_str),
            Some("guid-KP-0001")
        );
    }
}

#[tokio::test]
async fn unmet_dependency_quarantines_with_the_reason() {
    let ow = order_world(1);
    ow.orders.validate_with(|item: &koppel_core::WriteItem<Order>| {
        if item.refs.contains_key("sku:KP-0001") {
            Ok(())
        } else {
            Err(Error::Rejected(
                Rejection::new("", Some("lines[0].sku"), "article KP-0001 unknown").with_code("ART-404"),
            ))
        }
    });
    let o = opts_with(Flow::Orders, |o| o.create_customers = false);
    let r =
        ow.w.engine
            .run(&ow.w.pair, &o, &RunOptions::default())
            .await
            .unwrap();
    let f = r.flow(Flow::Orders).unwrap();
    assert_eq!(f.quarantined, 1);
    assert!(
        f.errors[0].contains("customer c0 is not synced yet"),
        "{:?}",
        f.errors
    );
    assert_eq!(ow.orders.calls(), 0);
    // with customer creation on, the sink rejects the unknown article with a clear reason
    let r =
        ow.w.engine
            .retry_quarantined(&ow.w.pair, None, Some("10000"), &RunOptions::default())
            .await
            .unwrap();
    let f = r.flow(Flow::Orders).unwrap();
    assert_eq!(f.quarantined, 1);
    let q = &ow.w.store.quarantined("p1", None).await.unwrap()[0];
    assert_eq!(q.field.as_deref(), Some("lines[0].sku"));
    assert_eq!(q.code.as_deref(), Some("ART-404"));
    assert_eq!(q.attempts, 2);
    assert!(q.payload.is_some());
}

// ------------------------------------------------------------------------------------------
// 6. quarantine and retry
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn rejected_and_invalid_records_are_parked_and_the_run_goes_on() {
    let w = world();
    let src = w.acc.source::<Product>();
    let sink = w.shop.sink::<Product>();
    src.put(product("KP-0001", dec!(1), ago(50)));
    let mut bad = product("KP-0002", dec!(1), ago(49));
    bad.name = String::new();
    src.put(bad);
    src.put(product("KP-0003", dec!(1), ago(48)));
    src.put_unreadable(
        Utc::now() - TimeDelta::minutes(47),
        Rejection::new("product KP-0004", Some("prijs"), "not a number"),
    );
    sink.reject(
        "KP-0003",
        Some(Rejection::new("", Some("name"), "too long").with_code("E42")),
    );
    let o = opts_with(Flow::Products, |o| {
        o.quarantine_backoff = Duration::from_secs(60);
    });
    let r = w.engine.run(&w.pair, &o, &RunOptions::default()).await.unwrap();
    let f = r.flow(Flow::Products).unwrap();
    assert_eq!((f.read, f.created, f.quarantined), (4, 1, 3), "{f:?}");
    assert_eq!(f.status, FlowStatus::Partial);
    assert!(
        f.cursor.is_some(),
        "quarantined records do not hold the cursor back"
    );
    let q = w.store.quarantined("p1", Some(Flow::Products)).await.unwrap();
    let by = |k: &str| q.iter().find(|e| e.key == k).unwrap().clone();
    assert_eq!(by("KP-0002").error_class, "invalid");
    assert_eq!(by("KP-0002").field.as_deref(), Some("name"));
    assert_eq!(by("KP-0003").code.as_deref(), Some("E42"));
    assert_eq!(by("KP-0003").error_class, "rejected");
    assert_eq!(by("product KP-0004").error_class, "unreadable");
    assert!(by("product KP-0004").payload.is_none());

    // not due yet: a normal run does not retry; an on-demand retry does, with backoff doubling
    let r = w.engine.run(&w.pair, &o, &RunOptions::default()).await.unwrap();
    assert_eq!(r.flow(Flow::Products).unwrap().retried, 0);
    let r = w
        .engine
        .retry_quarantined_with(
            &w.pair,
            Some(Flow::Products),
            Some("KP-0003"),
            &o,
            &RunOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.flow(Flow::Products).unwrap().retried, 1);
    let e = w
        .store
        .quarantine_entry("p1", Kind::Product, "KP-0003")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.attempts, 2);
    assert_eq!((e.next_attempt - e.last_at).num_seconds(), 120);

    // the target accepts it now: a retry writes it and releases it
    sink.reject("KP-0003", None);
    let r = w
        .engine
        .retry_quarantined(&w.pair, None, None, &RunOptions::default())
        .await
        .unwrap();
    let f = r.flow(Flow::Products).unwrap();
    assert_eq!((f.created, f.released), (1, 1), "{f:?}");
    assert!(
        f.errors.iter().any(|e| e.contains("fix it at the source")),
        "{:?}",
        f.errors
    );
    // the invalid one is fixed at the source: read again, written, released
    src.put(product("KP-0002", dec!(1), Some(Utc::now())));
    let r = w.engine.run(&w.pair, &o, &RunOptions::default()).await.unwrap();
    assert_eq!(r.flow(Flow::Products).unwrap().created, 1);
    let left: Vec<String> = w
        .store
        .quarantined("p1", None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(left, vec!["product KP-0004".to_string()]);
    // unknown key
    let e = w
        .engine
        .retry_quarantined(&w.pair, None, Some("nope"), &RunOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }));
}

#[tokio::test]
async fn due_quarantined_records_are_retried_by_normal_runs() {
    let w = world();
    let src = w.acc.source::<StockLevel>();
    let sink = w.shop.sink::<StockLevel>();
    src.put(stock("KP-0001", dec!(1), ago(50)));
    sink.fail_key(
        "KP-0001",
        Some(Error::transient("gave up after 4 attempts: HTTP 503")),
    );
    let o = opts_with(Flow::Stock, |o| o.quarantine_backoff = Duration::ZERO);
    let r = w.engine.run(&w.pair, &o, &RunOptions::default()).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!(f.quarantined, 1, "transient errors park the record, not the run");
    assert!(f.fatal.is_none());
    sink.fail_key("KP-0001", None);
    let r = w.engine.run(&w.pair, &o, &RunOptions::default()).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!((f.read, f.retried, f.created, f.released), (0, 1, 1, 1), "{f:?}");
    assert!(w.store.quarantined("p1", None).await.unwrap().is_empty());
}

#[tokio::test]
async fn auth_errors_stop_the_flow_as_fatal_and_other_flows_run() {
    let w = world();
    let src = w.acc.source::<StockLevel>();
    let sink = w.shop.sink::<StockLevel>();
    let psrc = w.acc.source::<Product>();
    let psink = w.shop.sink::<Product>();
    for i in 0..3 {
        src.put(stock(&format!("KP-{i:04}"), dec!(1), ago(50)));
        psrc.put(product(&format!("KP-{i:04}"), dec!(1), ago(50)));
    }
    sink.fail_all(Some(Error::Auth {
        message: "token revoked".into(),
    }));
    psrc.fail_with(Some(Error::Auth {
        message: "bad key".into(),
    }));
    let one_at_a_time = FlowOptions {
        concurrency: 1,
        ..FlowOptions::default()
    };
    let flows = vec![
        (Flow::Stock, one_at_a_time),
        (Flow::Products, FlowOptions::default()),
    ];
    let r = w
        .engine
        .run(&w.pair, &flows, &RunOptions::default())
        .await
        .unwrap();
    let s = r.flow(Flow::Stock).unwrap();
    assert_eq!(s.status, FlowStatus::Failed);
    assert!(s.is_connector_fault());
    assert_eq!(s.quarantined, 0);
    assert_eq!(sink.calls(), 1, "no further batches after an auth error");
    assert!(s.cursor.is_none());
    assert!(w.store.cursor("p1", Flow::Stock).await.unwrap().is_none());
    let p = r.flow(Flow::Products).unwrap();
    assert_eq!(p.fatal_class.as_deref(), Some("auth"));
    assert!(!r.ok());
    assert_eq!(psink.calls(), 0);
    let runs = w.store.recent_runs("p1", None, 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.status == "failed" && r.error.is_some()));
}

// ------------------------------------------------------------------------------------------
// 7. plan
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn plan_shows_creates_updates_unchanged_and_quarantines_and_writes_nothing() {
    let w = world();
    let src = w.acc.source::<Product>();
    let sink = w.shop.sink::<Product>();
    src.put(product("KP-0001", dec!(10), ago(50)));
    src.put(product("KP-0002", dec!(10), ago(50)));
    w.engine
        .run(
            &w.pair,
            &opts_with(Flow::Products, |o| o.full = true),
            &RunOptions::default(),
        )
        .await
        .unwrap();
    src.put(product("KP-0001", dec!(12.50), ago(1)));
    src.put(product("KP-0003", dec!(3), ago(1)));
    let mut bad = product("KP-0004", dec!(3), ago(1));
    bad.price.amount = dec!(-1);
    src.put(bad);

    let calls = sink.calls();
    let journal = w.store.journal("p1", 1000).await.unwrap().len();
    let cursor = w.store.cursor("p1", Flow::Products).await.unwrap();
    let runs = w.store.recent_runs("p1", None, 100).await.unwrap().len();
    let o = opts_with(Flow::Products, |o| o.full = true);
    let listed = RunOptions {
        list_unchanged: true,
        ..RunOptions::plan()
    };
    let r = w.engine.run(&w.pair, &o, &listed).await.unwrap();
    assert_eq!(r.mode, Mode::Plan);
    let f = r.flow(Flow::Products).unwrap();
    assert_eq!(
        (f.created, f.updated, f.unchanged, f.quarantined),
        (1, 1, 1, 1),
        "{f:?}"
    );
    let by = |k: &str| f.records.iter().find(|c| c.key == k).unwrap().clone();
    let up = by("KP-0001");
    assert_eq!(up.action, ChangeAction::Update);
    assert_eq!(up.changes.len(), 1, "{:?}", up.changes);
    assert_eq!(up.changes[0].path, "price.amount");
    assert_eq!(up.changes[0].before, serde_json::json!("10"));
    assert_eq!(up.changes[0].after, serde_json::json!("12.50"));
    assert_eq!(by("KP-0002").action, ChangeAction::Unchanged);
    assert_eq!(by("KP-0003").action, ChangeAction::Create);
    assert!(by("KP-0003").after.is_some());
    let q = by("KP-0004");
    assert_eq!(q.action, ChangeAction::Quarantine);
    assert!(q.reason.unwrap().contains("price.amount"));
    // serialisable
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["flows"][0]["records"].as_array().unwrap().len(), 4);
    // nothing changed anywhere
    assert_eq!(sink.calls(), calls);
    assert_eq!(w.store.journal("p1", 1000).await.unwrap().len(), journal);
    assert_eq!(w.store.cursor("p1", Flow::Products).await.unwrap(), cursor);
    assert_eq!(w.store.recent_runs("p1", None, 100).await.unwrap().len(), runs);
    assert!(w.store.quarantined("p1", None).await.unwrap().is_empty());
    assert!(w.store.lease("p1").await.unwrap().is_none());
    assert_eq!(
        w.store.binding("p1", Kind::Product, "KP-0003").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn plan_of_orders_plans_each_new_customer_once() {
    let ow = order_world(3);
    let r =
        ow.w.engine
            .run(&ow.w.pair, &opts(Flow::Orders), &RunOptions::plan())
            .await
            .unwrap();
    let f = r.flow(Flow::Orders).unwrap();
    assert_eq!((f.created, f.dependencies_created), (3, 2));
    let customers: Vec<_> = f.records.iter().filter(|c| c.kind == Kind::Customer).collect();
    assert_eq!(customers.len(), 2);
    assert_eq!(ow.customers.calls() + ow.orders.calls(), 0);
    // the plan looks each order up before a create, as the run does
    assert_eq!(ow.orders.lookups(), 3);
}

// ------------------------------------------------------------------------------------------
// 3 / 8. cancel, checkpoint, progress
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn cancel_stores_a_checkpoint_and_the_next_run_finishes() {
    let w = world();
    let src = w.acc.source::<StockLevel>();
    let sink = w.shop.sink::<StockLevel>();
    src.page_size(3);
    for i in 0..9 {
        src.put(stock(&format!("KP-{i:04}"), dec!(1), ago(60 - i)));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let (c, s) = (cancel.clone(), seen.clone());
    let ro = RunOptions {
        cancel: cancel.clone(),
        progress: Some(Arc::new(move |p: Progress| {
            if p.read >= 3 {
                c.store(true, Ordering::SeqCst);
            }
            s.lock().unwrap().push(p);
        })),
        ..Default::default()
    };
    let o = opts_with(Flow::Stock, |o| o.overlap = Duration::ZERO);
    let r = w.engine.run(&w.pair, &o, &ro).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!(f.status, FlowStatus::Cancelled);
    assert_eq!(f.created, 3);
    let cp = w.store.cursor("p1", Flow::Stock).await.unwrap().unwrap();
    assert!(cp < r.started_at);
    assert!(seen.lock().unwrap().iter().any(|p| p.done));
    let r = w.engine.run(&w.pair, &o, &RunOptions::default()).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!((f.read, f.created), (7, 6), "{f:?}"); // the checkpoint re-reads the last one
    assert_eq!(sink.creates(), 9);
}

#[tokio::test]
async fn flows_and_stores_round_trip_names() {
    for f in Flow::all() {
        assert_eq!(Flow::parse(f.as_str()), Some(f));
        assert_eq!(Flow::of_kind(f.kind()), f);
        assert_eq!(serde_json::to_value(f).unwrap(), serde_json::json!(f.as_str()));
    }
    assert!(Flow::Products.from_accounting() && !Flow::Orders.from_accounting());
    let _ = Record::key(&product("A", dec!(1), None));
}

// ------------------------------------------------------------------------------------------
// 3b. writes fill the sink's batches across small source pages
// ------------------------------------------------------------------------------------------

/// Stock in pages of `page` to a sink with batches of `batch`; `n` levels KP-0000.. (quantity
/// `qty`), changed a minute apart in key order.
fn stock_world(
    n: i64,
    qty: Decimal,
    page: usize,
    batch: usize,
) -> (World, Arc<MemorySource<StockLevel>>, Arc<MemorySink<StockLevel>>) {
    let w = world();
    let src = w.acc.source::<StockLevel>();
    let sink = w.shop.sink::<StockLevel>();
    src.page_size(page);
    sink.batch_size(batch);
    for i in 0..n {
        src.put(stock(&format!("KP-{i:04}"), qty, ago(60 - i)));
    }
    (w, src, sink)
}

/// Stock write intents without an outcome.
async fn open_stock_intents(w: &World) -> usize {
    w.store.open_intents("p1", Kind::StockLevel).await.unwrap().len()
}

/// Run options whose fault hook never fires but records the size of every write batch.
fn batch_sizes() -> (RunOptions, Arc<Mutex<Vec<usize>>>) {
    let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
    let s = sizes.clone();
    let ro = RunOptions {
        fault: Some(Arc::new(move |point: FaultPoint, _: Kind, keys: &[String]| {
            if point == FaultPoint::BeforeCall {
                s.lock().unwrap().push(keys.len());
            }
            false
        })),
        ..Default::default()
    };
    (ro, sizes)
}

/// Run options that call `f` once `read` records have been read (from the progress callback,
/// after the page's full batches were written).
fn after_reading(read: u64, f: impl Fn() + Send + Sync + 'static) -> RunOptions {
    RunOptions {
        progress: Some(Arc::new(move |p: Progress| {
            if p.read >= read {
                f();
            }
        })),
        ..Default::default()
    }
}

/// Run options that cancel the run once `read` records have been read.
fn cancel_after(read: u64) -> RunOptions {
    let cancel = Arc::new(AtomicBool::new(false));
    let c = cancel.clone();
    RunOptions {
        cancel,
        ..after_reading(read, move || c.store(true, Ordering::SeqCst))
    }
}

#[tokio::test]
async fn small_pages_fill_whole_batches() {
    let (w, src, sink) = stock_world(0, dec!(0), 3, 10);
    for i in 0..25 {
        src.put(stock(&format!("KP-{i:04}"), Decimal::from(i), ago(60 - i)));
    }
    let (ro, sizes) = batch_sizes();
    let r = w.engine.run(&w.pair, &opts(Flow::Stock), &ro).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!((f.read, f.created, f.status), (25, 25, FlowStatus::Ok), "{f:?}");
    assert_eq!(src.reads(), 9); // pages of 3
    assert_eq!(*sizes.lock().unwrap(), vec![10, 10, 5]);
    assert_eq!(sink.batches(), 3);
    assert_eq!(f.requests.shop, 25 + 3); // 25 writes, one read (prepare) per batch
    assert_eq!(f.cursor, Some(r.started_at));
    assert_eq!(open_stock_intents(&w).await, 0);

    // 13 changes among 25 (every other record): 10 + 3, the unchanged ones take no room
    for i in (0..25).step_by(2) {
        src.put(stock(&format!("KP-{i:04}"), dec!(1000), Some(Utc::now())));
    }
    sizes.lock().unwrap().clear();
    let o = opts_with(Flow::Stock, |o| o.full = true);
    let r = w.engine.run(&w.pair, &o, &ro).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!((f.read, f.updated, f.unchanged), (25, 13, 12), "{f:?}");
    assert_eq!(*sizes.lock().unwrap(), vec![10, 3]);
    assert_eq!(sink.get("KP-0024").unwrap().1.quantity, dec!(1000));
    assert_eq!(sink.get("KP-0001").unwrap().1.quantity, dec!(1));
}

#[tokio::test]
async fn a_key_on_two_pages_is_written_once_with_its_latest_version() {
    let (w, src, sink) = stock_world(10, dec!(1), 3, 10);
    // KP-0001 changed again while the source was being paged: on page 1 and on page 4
    src.push(stock("KP-0001", dec!(7), ago(30)));
    let (ro, sizes) = batch_sizes();
    let r = w.engine.run(&w.pair, &opts(Flow::Stock), &ro).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!((f.read, f.created), (11, 10), "{f:?}");
    assert_eq!(*sizes.lock().unwrap(), vec![10]);
    assert_eq!(sink.calls(), 10);
    assert_eq!(sink.count("KP-0001"), 1);
    assert_eq!(sink.get("KP-0001").unwrap().1.quantity, dec!(7));
    let written = sink
        .seen()
        .into_iter()
        .filter(|i| i.record.sku.as_str() == "KP-0001");
    assert_eq!(written.count(), 1);

    // changed on one page and changed back (to what the shop has) on a later one: not written
    let (w, src, sink) = stock_world(4, dec!(1), 3, 10);
    w.engine
        .run(&w.pair, &opts(Flow::Stock), &RunOptions::default())
        .await
        .unwrap();
    assert_eq!(sink.calls(), 4);
    src.put(stock("KP-0001", dec!(9), ago(5)));
    src.push(stock("KP-0002", dec!(9), ago(4)));
    src.push(stock("KP-0003", dec!(9), ago(3)));
    src.push(stock("KP-0001", dec!(1), ago(2)));
    // pages: [0000 0002 0003] unchanged, [0001=9 0002=9 0003=9] wait, [0001=1] unchanged
    let o = opts_with(Flow::Stock, |o| o.full = true);
    let r = w.engine.run(&w.pair, &o, &RunOptions::default()).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!((f.read, f.updated, f.unchanged), (7, 2, 4), "{f:?}");
    assert_eq!(sink.calls(), 6);
    assert_eq!(sink.get("KP-0001").unwrap().1.quantity, dec!(1));
    assert!(sink.seen()[4..]
        .iter()
        .all(|i| i.record.sku.as_str() != "KP-0001"));
}

#[tokio::test]
async fn a_failed_read_writes_what_was_buffered_then_stops_at_a_checkpoint() {
    let (w, src, sink) = stock_world(9, dec!(1), 3, 10);
    // the third page fails
    let s = src.clone();
    let ro = after_reading(6, move || s.fail_with(Some(Error::transient("connection reset"))));
    let o = opts_with(Flow::Stock, |o| o.overlap = Duration::ZERO);
    let r = w.engine.run(&w.pair, &o, &ro).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!(f.status, FlowStatus::Failed);
    assert!(f.fatal.as_deref().unwrap().contains("connection reset"), "{f:?}");
    assert_eq!((f.read, f.created), (6, 6), "{f:?}");
    assert_eq!(sink.batches(), 1);
    let cp = w.store.cursor("p1", Flow::Stock).await.unwrap().unwrap();
    assert!(cp < r.started_at);
    assert_eq!(open_stock_intents(&w).await, 0);

    src.fail_with(None);
    let r = w.engine.run(&w.pair, &o, &RunOptions::default()).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!((f.read, f.created, f.unchanged), (4, 3, 1), "{f:?}"); // re-reads the last one
    assert_eq!(sink.creates(), 9);
    assert!(sink.duplicates().is_empty());
}

#[tokio::test]
async fn cancel_leaves_buffered_records_unwritten_and_before_the_checkpoint() {
    let (w, _src, sink) = stock_world(12, dec!(1), 3, 4);
    let o = opts_with(Flow::Stock, |o| o.overlap = Duration::ZERO);
    // page 1: 3 wait; page 2: one batch of 4 written, KP-0004 and KP-0005 wait; cancelled
    let r = w.engine.run(&w.pair, &o, &cancel_after(6)).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!(f.status, FlowStatus::Cancelled);
    assert_eq!((f.read, f.created), (6, 4), "{f:?}");
    assert_eq!(sink.batches(), 1);
    assert!(sink.get("KP-0004").is_none());
    assert_eq!(open_stock_intents(&w).await, 0);
    // the checkpoint stops before the first record still waiting (just before KP-0003's
    // time, the last one written): the next run reads KP-0003..KP-0011
    let cp = w.store.cursor("p1", Flow::Stock).await.unwrap().unwrap();
    assert_eq!(
        f.cursor.map(|c| c.timestamp_micros()),
        Some(cp.timestamp_micros())
    );
    let r = w.engine.run(&w.pair, &o, &RunOptions::default()).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!((f.read, f.created, f.unchanged), (9, 8, 1), "{f:?}");
    assert_eq!(sink.creates(), 12);
    assert!(sink.duplicates().is_empty());

    // cancelled before any batch filled: nothing written, the cursor does not move
    let (w, _src, sink) = stock_world(9, dec!(1), 3, 10);
    let r = w.engine.run(&w.pair, &o, &cancel_after(6)).await.unwrap();
    let f = r.flow(Flow::Stock).unwrap();
    assert_eq!(
        (f.status, f.created, f.cursor),
        (FlowStatus::Cancelled, 0, None),
        "{f:?}"
    );
    assert_eq!(sink.calls(), 0);
    assert!(w.store.cursor("p1", Flow::Stock).await.unwrap().is_none());
    let r = w.engine.run(&w.pair, &o, &RunOptions::default()).await.unwrap();
    assert_eq!(r.flow(Flow::Stock).unwrap().created, 9);
    assert_eq!(sink.batches(), 1);
}

/// An order edit (`2000-1` replaces `2000`) is a change of the parent's export, never a second
/// order; an order cancelled before export is skipped, also in a plan; one cancelled after
/// export is a change of that export.
#[tokio::test]
async fn a_successor_changes_its_predecessors_export_and_cancelled_orders_are_not_imported() {
    let ow = order_world(0);
    let src = ow.w.shop.source::<Order>();
    src.put(order("2000", "c0", "KP-0001", ago(50)));
    let r =
        ow.w.engine
            .run(&ow.w.pair, &opts(Flow::Orders), &RunOptions::default())
            .await
            .unwrap();
    assert_eq!(r.flow(Flow::Orders).unwrap().created, 1);
    let exported = ow.orders.get("2000").unwrap().0;

    // the admin edits 2000 (cancelled, replaced by 2000-1); 3000 is cancelled before export;
    // 4000 was edited before export: its successor is new
    let cancel = |n: &str, mins| {
        let mut o = order(n, "c0", "KP-0001", ago(mins));
        o.cancelled = true;
        o
    };
    let successor = |n: &str, of: &[&str], mins| {
        let mut o = order(n, "c0", "KP-0001", ago(mins));
        o.replaces = of.iter().map(|s| s.to_string()).collect();
        o.lines[0].quantity += Decimal::ONE;
        o
    };
    src.put(cancel("2000", 0));
    src.put(successor("2000-1", &["2000"], 0));
    src.put(cancel("3000", 0));
    src.put(cancel("4000", 0));
    src.put(successor("4000-1", &["4000"], 0));

    let plan =
        ow.w.engine
            .run(&ow.w.pair, &opts(Flow::Orders), &RunOptions::plan())
            .await
            .unwrap();
    let p = plan.flow(Flow::Orders).unwrap();
    let action = |k: &str| p.records.iter().find(|c| c.key == k).map(|c| c.action);
    assert_eq!(action("3000"), Some(ChangeAction::Skip), "{p:?}");
    assert_eq!(action("4000"), Some(ChangeAction::Skip));
    assert_eq!(action("4000-1"), Some(ChangeAction::Create));
    assert_eq!(action("2000-1"), Some(ChangeAction::Update), "{:?}", p.records);
    assert_eq!((p.created, p.skipped), (1, 2), "{p:?}");

    let r =
        ow.w.engine
            .run(&ow.w.pair, &opts(Flow::Orders), &RunOptions::default())
            .await
            .unwrap();
    let f = r.flow(Flow::Orders).unwrap();
    assert_eq!((f.created, f.skipped, f.quarantined), (1, 2, 0), "{f:?}");
    assert_eq!(
        ow.orders.creates(),
        2,
        "2000 and 4000-1; never 2000-1, 3000 or 4000"
    );
    // the successor went to the sink as a change of 2000's export
    let seen = ow.orders.seen();
    let edit = seen.iter().find(|i| i.record.number == "2000-1").unwrap();
    assert_eq!(edit.target_id.as_deref(), Some(exported.as_str()));
    assert_eq!(edit.previous.as_ref().map(|o| o.number.as_str()), Some("2000"));
    assert!(seen
        .iter()
        .all(|i| i.record.number != "3000" && i.record.number != "4000"));
    // cancelled after export: a change of that export, not a skip
    let cancelled = seen.iter().rfind(|i| i.record.number == "2000").unwrap();
    assert!(cancelled.record.cancelled && cancelled.target_id.is_some());
}

// ------------------------------------------------------------------------------------------
// prepare / apply: a plan predicts the run
// ------------------------------------------------------------------------------------------

/// Per flow, per (kind, key): the action listed.
fn actions_of(r: &koppel_core::engine::RunReport) -> Vec<(Flow, Kind, String, ChangeAction)> {
    let mut out: Vec<_> = r
        .flows
        .iter()
        .flat_map(|f| {
            f.records
                .iter()
                .map(|c| (f.flow, c.kind, c.key.clone(), c.action))
        })
        .collect();
    out.sort_by_key(|a| (a.0, a.2.clone()));
    out
}

/// Products the shop already has (one the same, one with an older price), new ones, one the
/// sink rejects in its prepare and one invalid; then stock, which needs the product in the
/// shop (a product binding, or in a plan one the products flow would make): the plan lists
/// for every record what the run then does, prepares like the run, and writes nothing.
#[tokio::test]
async fn plan_predicts_the_run_record_by_record_across_flows() {
    let w = world();
    let src = w.acc.source::<Product>();
    let sink = w.shop.sink::<Product>();
    let ssrc = w.acc.source::<StockLevel>();
    let ssink = w.shop.sink::<StockLevel>();
    sink.batch_size(2);
    ssink.batch_size(3);
    ssink.dependencies_with(|s: &StockLevel| vec![Dependency::Product(s.sku.clone())]);
    ssink.validate_with(|i| {
        let sku = i.record.sku.to_string();
        if i.refs.contains_key(&format!("sku:{sku}")) {
            Ok(())
        } else {
            Err(Error::rejected(
                format!("stock {sku}"),
                Some("sku"),
                "no product in the shop yet",
            ))
        }
    });
    use koppel_core::Sink;
    // already in the shop, written by hand (no binding)
    for p in [
        product("KP-0001", dec!(10), ago(90)),
        product("KP-0002", dec!(10), ago(90)),
    ] {
        sink.write(&koppel_core::WriteItem::new(p)).await.unwrap();
    }
    src.put(product("KP-0001", dec!(10), ago(50)));
    src.put(product("KP-0002", dec!(12), ago(50)));
    src.put(product("KP-0003", dec!(3), ago(40)));
    src.put(product("KP-0004", dec!(4), ago(40)));
    src.put(product("KP-0005", dec!(5), ago(30)));
    let mut bad = product("KP-0006", dec!(6), ago(30));
    bad.price.amount = dec!(-1);
    src.put(bad);
    sink.reject(
        "KP-0005",
        Some(Rejection::new("", Some("name"), "the shop refuses it")),
    );
    for (i, code) in ["KP-0001", "KP-0002", "KP-0003", "KP-0005", "KP-0007"]
        .iter()
        .enumerate()
    {
        ssrc.put(stock(code, Decimal::from(i + 1), ago(20)));
    }
    let flows = vec![
        (Flow::Products, FlowOptions::default()),
        (Flow::Stock, FlowOptions::default()),
    ];
    let listed = RunOptions {
        list_unchanged: true,
        ..RunOptions::default()
    };
    let (calls, scalls) = (sink.calls(), ssink.calls());
    let plan = w
        .engine
        .run(
            &w.pair,
            &flows,
            &RunOptions {
                mode: Mode::Plan,
                ..listed.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!((sink.calls(), ssink.calls()), (calls, scalls), "the plan wrote");
    assert!(sink.prepares() >= 5 && ssink.prepares() >= 3);
    assert!(w.store.bindings("p1", Kind::Product).await.unwrap().is_empty());
    let p = plan.flow(Flow::Products).unwrap();
    assert_eq!(
        (p.created, p.updated, p.unchanged, p.quarantined),
        (2, 1, 1, 2),
        "{p:?}"
    );
    // the update's field diff is the shop's value -> the new one
    let up = p.records.iter().find(|c| c.key == "KP-0002").unwrap();
    assert_eq!(up.action, ChangeAction::Update);
    assert_eq!(up.changes[0].path, "price.amount");
    assert_eq!(up.changes[0].before, serde_json::json!("10"));
    assert_eq!(up.changes[0].after, serde_json::json!("12"));
    let s = plan.flow(Flow::Stock).unwrap();
    // KP-0003 is only created by the products flow of this same run: the plan knows
    assert_eq!((s.created, s.quarantined), (3, 2), "{s:?}");

    let run = w.engine.run(&w.pair, &flows, &listed).await.unwrap();
    assert_eq!(actions_of(&plan), actions_of(&run));
    for f in Flow::all()
        .into_iter()
        .filter(|f| matches!(f, Flow::Products | Flow::Stock))
    {
        let (a, b) = (plan.flow(f).unwrap(), run.flow(f).unwrap());
        assert_eq!(
            (a.created, a.updated, a.unchanged, a.quarantined),
            (b.created, b.updated, b.unchanged, b.quarantined),
            "{f}"
        );
    }
    // the run applied only what was not unchanged: 2 creates + 1 update, 3 stock creates
    assert_eq!(sink.calls() - calls, 3);
    assert_eq!(ssink.calls() - scalls, 3);
    // the unchanged product found by natural key is bound now
    assert!(w
        .store
        .binding("p1", Kind::Product, "KP-0001")
        .await
        .unwrap()
        .is_some());
}

/// `write_batch` is provided: prepare, then apply for what is not unchanged.
#[tokio::test]
async fn write_batch_prepares_then_applies_what_changes() {
    use koppel_core::{Sink, WriteItem, WriteOutcome};
    let w = world();
    let sink = w.shop.sink::<Product>();
    sink.write(&WriteItem::new(product("KP-0001", dec!(1), None)))
        .await
        .unwrap();
    let (calls, batches) = (sink.calls(), sink.batches());
    let items = [
        WriteItem::new(product("KP-0001", dec!(1), None)),
        WriteItem::new(product("KP-0002", dec!(2), None)),
        WriteItem::new(product("KP-0001", dec!(9), None)),
    ];
    let out = sink.write_batch(&items).await;
    assert!(matches!(out[0], Ok(WriteOutcome::Unchanged { .. })), "{out:?}");
    assert!(matches!(out[1], Ok(WriteOutcome::Created { .. })), "{out:?}");
    assert!(matches!(out[2], Ok(WriteOutcome::Updated { .. })), "{out:?}");
    assert_eq!(sink.calls() - calls, 2, "the unchanged one is not applied");
    assert_eq!(sink.batches() - batches, 1);
}

/// A plan lists at most `record_limit` records per flow and counts the rest.
#[tokio::test]
async fn a_plan_lists_up_to_the_limit_and_counts_the_rest() {
    let w = world();
    let src = w.acc.source::<Product>();
    w.shop.sink::<Product>();
    for i in 0..25 {
        src.put(product(&format!("KP-{i:04}"), dec!(1), ago(30 - i)));
    }
    let r = w
        .engine
        .run(
            &w.pair,
            &opts(Flow::Products),
            &RunOptions {
                record_limit: 10,
                ..RunOptions::plan()
            },
        )
        .await
        .unwrap();
    let f = r.flow(Flow::Products).unwrap();
    assert_eq!(f.created, 25);
    assert_eq!(f.records.len(), 10);
    assert_eq!(f.records_omitted, 15);
}
