//! Sync benchmark: koppel's flows against the simulators with injected latency and SnelStart's
//! production rate limits, reported as requests made versus the minimum the APIs allow, and
//! wall time versus the floor that latency and rate limits impose.
//!
//! `cargo bench -p koppel --bench sync -- [--articles N] [--orders N] [--latency-ms N] [--test-key]`
//!
//! `--test-key` runs with SnelStart's test-key limits (100 calls/min, 1,000/hour, 5 concurrent)
//! in both the simulator and the connector, to show the client staying under them.
//!
//! Minimums (what any client needs at least, given the APIs):
//! - products: SnelStart: one `artikelen` page per 25 articles read (plus the short last page)
//!   and, once per process, one read each of `artikelomzetgroepen` and `btwtarieven`; shop: one `PUT /products/{sku}` per
//!   product that differs, plus one read of the category tree.
//! - stock: SnelStart: one page per 25 articles read; shop: one `source-items` POST per 100 changed
//!   levels (the batch koppel uses; Magento accepts any size when the input limit is off).
//! - customers: shop: one search page per 100 customers; SnelStart: one write per customer
//!   written, plus one listing of relaties to match against and one read of `landen`.
//! - orders: shop: one page per 100 orders; SnelStart: one POST per order plus one write per
//!   customer created for them.
//!
//! Floor: the larger of (a) SnelStart's rate limit (calls beyond the first `per_minute` wait for
//! the window to move on; the koppel limiter adds a 2 % margin) and (b) latency: sequential pages
//! times latency, plus writes times latency divided by the concurrency the flow may use.

use std::sync::Arc;
use std::time::{Duration, Instant};

use koppel::config::Config;
use koppel::sim::{self, Limits, SimSetup};
use koppel_core::engine::{Engine, Flow, FlowReport, RunOptions};
use koppel_core::state::{SqliteStore, StateStore};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const PASSES: [&str; 2] = ["first sync", "again, nothing changed"];

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b.max(1))
}

struct Row {
    label: String,
    report: FlowReport,
    min_acct: u64,
    min_shop: u64,
    floor: Duration,
}

fn minimums(
    r: &FlowReport,
    first: bool,
    concurrency: u64,
    latency: Duration,
    per_minute: u64,
    calls_before: u64,
) -> (u64, u64, Duration) {
    let written = r.created + r.updated;
    let (acct, shop, pages) = match r.flow {
        Flow::Products => {
            // reference data (omzetgroepen, VAT rates) once per process
            let pages = ceil_div(r.read + 1, 25) + if first { 2 } else { 0 };
            (pages, written + u64::from(written > 0), pages)
        }
        Flow::Stock => {
            let pages = ceil_div(r.read + 1, 25);
            (pages, ceil_div(written, 100), pages)
        }
        Flow::Customers => {
            let pages = ceil_div(r.read + 1, 100);
            (written + if written > 0 { 2 } else { 0 }, pages, pages)
        }
        Flow::Orders => {
            let pages = ceil_div(r.read + 1, 100);
            (written + r.dependencies_created, pages, pages)
        }
        _ => (0, 0, 0),
    };
    let writes = match r.flow {
        Flow::Products => shop.saturating_sub(1),
        Flow::Stock => shop,
        _ => acct,
    };
    let latency_floor = latency * (pages + ceil_div(writes, concurrency)) as u32;
    // SnelStart calls of this flow that fall into later minute windows (counting the calls
    // earlier flows already made in this benchmark)
    let windows_before = calls_before / per_minute;
    let windows_after = (calls_before + acct).saturating_sub(1) / per_minute;
    let rate_floor = Duration::from_secs(60 * windows_after.saturating_sub(windows_before));
    (acct, shop, latency_floor.max(rate_floor))
}

#[tokio::main]
async fn main() {
    let articles = arg("--articles", 200);
    let orders = arg("--orders", 50);
    let latency_ms = arg("--latency-ms", 20);
    let latency = Duration::from_millis(latency_ms);
    let test_key = std::env::args().any(|a| a == "--test-key");
    let (limits, per_minute, snel_concurrency, limits_text) = if test_key {
        (
            Limits::Test,
            100,
            5,
            "test-key limits (100/min, 1,000/h, 5 concurrent)",
        )
    } else {
        (
            Limits::Production,
            500,
            50,
            "production limits (500/min, 5,000/h, 50 concurrent)",
        )
    };
    println!(
        "koppel sync benchmark: {articles} articles, {orders} orders, {latency_ms} ms latency per request, SnelStart {limits_text}\n"
    );
    let setup = SimSetup {
        articles: articles as usize,
        orders: orders as usize,
        seed: 42,
        latency_ms,
        limits,
    };
    let any = "127.0.0.1:0".parse().expect("loopback address");
    let sims = sim::start(any, "magento", any, setup)
        .await
        .expect("simulators start");
    // The set-up's own calls (service articles created in SnelStart) count in the simulated
    // administration's minute window but not in koppel's limiter: with the test key's 100
    // calls a minute they would push koppel's first minute over the limit. Start koppel with
    // the window empty, as a scheduled run would find it.
    let setup_calls = sims.snelstart.control.stats().total();
    if test_key && setup_calls > 0 {
        println!("(waiting 61 s for the {setup_calls} set-up calls to leave SnelStart's minute window)\n");
        tokio::time::sleep(Duration::from_secs(61)).await;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("koppel.toml");
    let text = sim::config_toml(&sims, "koppel.db");
    let env = |_: &str| None;
    let config = Config::parse(&text, &path, &env).expect("sandbox config parses");
    let spec = &config.pairs[0];
    let pair = spec.build().expect("pair builds");
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::open(&config.state_path).expect("state store"));
    let engine = Engine::new(store);

    let flows = [Flow::Products, Flow::Stock, Flow::Customers, Flow::Orders];
    let mut rows = Vec::new();
    let mut snel_calls = 0;
    for pass in PASSES {
        for flow in flows {
            let options = spec.flow(flow).map(|f| f.options.clone()).unwrap_or_default();
            let concurrency = (options.concurrency as u64).min(snel_concurrency);
            let started = Instant::now();
            let report = engine
                .run(&pair, &[(flow, options)], &RunOptions::default())
                .await
                .expect("run");
            let wall = started.elapsed();
            let mut f = report.flows.into_iter().next().expect("one flow report");
            f.duration_ms = wall.as_millis() as u64;
            let (min_acct, min_shop, floor) = minimums(
                &f,
                pass == PASSES[0],
                concurrency,
                latency,
                per_minute,
                snel_calls,
            );
            snel_calls += f.requests.accounting;
            rows.push(Row {
                label: format!("{pass}: {}", flow.as_str()),
                report: f,
                min_acct,
                min_shop,
                floor,
            });
        }
    }

    let snel_429 = sims.snelstart.control.stats().with_status(429);
    println!(
        "{:<34} {:>7} {:>14} {:>14} {:>9} {:>9}",
        "flow", "written", "SnelStart/min", "shop/min", "wall", "floor"
    );
    for r in &rows {
        let f = &r.report;
        println!(
            "{:<34} {:>7} {:>14} {:>14} {:>8.2}s {:>8.2}s",
            r.label,
            f.created + f.updated,
            format!("{}/{}", f.requests.accounting, r.min_acct),
            format!("{}/{}", f.requests.shop, r.min_shop),
            f.duration_ms as f64 / 1000.0,
            r.floor.as_secs_f64()
        );
    }
    println!("\nSnelStart answered {snel_429} requests with 429 (koppel's limiter should keep this at 0).");
}
