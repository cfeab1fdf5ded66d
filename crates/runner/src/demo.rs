//! `koppel demo`: a full sync against the built-in simulators, with no account and no network.

use std::sync::Arc;
use std::time::Instant;

use koppel_core::engine::{Engine, Flow, FlowOptions, Mode, Pair, RunOptions, RunReport};
use koppel_core::state::{SqliteStore, StateStore};
use koppel_core::Kind;
use rust_decimal::Decimal;
use serde_json::json;

use crate::cli::DemoArgs;
use crate::config::Config;
use crate::report::{self, exit};
use crate::sim::{self, Limits, SimSetup, SnelStartAdmin};
use koppel_runtime::{CmdResult, Failure};

fn other(e: impl std::fmt::Display) -> Failure {
    Failure::Other(e.to_string())
}

async fn pass(
    engine: &Engine,
    pair: &Pair,
    flows: &[(Flow, FlowOptions)],
    mode: Mode,
) -> Result<RunReport, Failure> {
    let opts = RunOptions {
        mode,
        ..Default::default()
    };
    engine
        .run(pair, flows, &opts)
        .await
        .map_err(|e| Failure::from_error("demo", &e))
}

fn totals(reports: &[&RunReport]) -> (u64, u64, u64, u64) {
    reports
        .iter()
        .flat_map(|r| &r.flows)
        .fold((0, 0, 0, 0), |(c, u, n, q), f| {
            (c + f.created, u + f.updated, n + f.unchanged, q + f.quarantined)
        })
}

/// `koppel demo`: one demo for the chosen shop simulator, or one per registered shop
/// simulator (`--shop all`), one after the other.
pub async fn demo(args: &DemoArgs) -> CmdResult {
    // `all`: each simulator once, as its default variant (keeps CI time).
    let shops: Vec<String> = match args.shop.as_deref() {
        Some("all") => sim::shop_simulators().into_iter().map(str::to_owned).collect(),
        Some(spec) => vec![sim::shop_choice(spec).map_err(Failure::Other)?.label()],
        None => sim::shop_simulators()
            .into_iter()
            .take(1)
            .map(str::to_owned)
            .collect(),
    };
    if shops.is_empty() {
        return Err(Failure::Other("this koppel has no shop simulator".into()));
    }
    let mut code = exit::OK;
    for (i, shop) in shops.iter().enumerate() {
        if shops.len() > 1 {
            println!(
                "{}######## shop {} of {}: {shop} ########\n",
                if i > 0 { "\n" } else { "" },
                i + 1,
                shops.len()
            );
        }
        code = report::worst(code, demo_one(args, shop).await?);
    }
    Ok(code)
}

/// The demo against one shop simulator (`<name>` or `<name>:<variant>`).
async fn demo_one(args: &DemoArgs, shop: &str) -> CmdResult {
    let started = Instant::now();
    println!("koppel demo: a SnelStart administration and a {shop} shop, both simulated on 127.0.0.1.");
    println!("No account, no network. Rate limits are off in the simulators and the connectors, so");
    println!("this takes seconds; real SnelStart allows 500 calls/min (test keys 100/min).\n");
    let setup = SimSetup {
        articles: args.articles,
        orders: args.orders,
        seed: args.seed,
        latency_ms: 0,
        limits: Limits::Unlimited,
    };
    let any = "127.0.0.1:0".parse().map_err(other)?;
    let sims = sim::start(any, shop, any, setup).await.map_err(Failure::Other)?;
    let about = koppel_sandbox::registry::find_shop(shop).map_or("", |s| s.description);
    println!(
        "SnelStart simulator {} ({} articles, plus service articles {}), {shop} simulator {} ({about}; seeded with about {} orders).",
        sims.snelstart.base_url(),
        args.articles,
        sim::SERVICE_ARTICLES.map(|a| a.0).join("/"),
        sims.shop.base_url(),
        args.orders
    );

    let dir = tempfile::tempdir().map_err(other)?;
    let config_path = dir.path().join("koppel.toml");
    let text = sim::config_toml(&sims, "koppel.db");
    std::fs::write(&config_path, &text).map_err(other)?;
    let env = |name: &str| std::env::var(name).ok();
    let config = Config::parse(&text, &config_path, &env)?;
    let spec = config
        .pairs
        .first()
        .ok_or_else(|| other("demo config has no pair"))?;
    let pair = spec.build().map_err(|e| Failure::from_error("demo", &e))?;
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::open(&config.state_path).map_err(other)?);
    let engine = Engine::new(store.clone());
    let all: Vec<(Flow, FlowOptions)> = spec.flows.iter().map(|f| (f.flow, f.options.clone())).collect();
    println!("Temporary config and state file in {}\n", dir.path().display());

    println!("== 1. plan (dry run: reads everything, writes nothing) ==");
    let plan = pass(&engine, &pair, &all, Mode::Plan).await?;
    for f in &plan.flows {
        println!(
            "  {:<13} {:>4} to create, {:>3} to update, {:>3} unchanged, {:>2} to quarantine",
            f.flow.as_str(),
            f.created,
            f.updated,
            f.unchanged,
            f.quarantined
        );
        for c in f
            .records
            .iter()
            .filter(|c| c.action != koppel_core::engine::ChangeAction::Unchanged)
            .take(2)
        {
            print!("{}", report::change_line(c, false));
        }
    }

    println!("\n== 2. run every flow ==");
    let first = pass(&engine, &pair, &all, Mode::Run).await?;
    print!("{}", report::summary(std::slice::from_ref(&first)));

    println!("\n== 3. in SnelStart: invoice a few of the new orders, and record bank payments ==");
    let settled = settle_some(&sims.snelstart.base_url(), store.as_ref(), &pair.name).await?;
    for s in &settled {
        println!("  {s}");
    }

    println!("\n== 4. run open_amounts and payments ==");
    let back: Vec<(Flow, FlowOptions)> = all
        .iter()
        .filter(|(f, _)| matches!(f, Flow::OpenAmounts | Flow::Payments))
        .cloned()
        .collect();
    let second = pass(&engine, &pair, &back, Mode::Run).await?;
    print!("{}", report::summary(std::slice::from_ref(&second)));

    println!("\n== 5. run everything again: only what changed since is written ==");
    let third = pass(&engine, &pair, &all, Mode::Run).await?;
    print!("{}", report::summary(std::slice::from_ref(&third)));
    let (c3, u3, _, _) = totals(&[&third]);

    let (c, u, n, q) = totals(&[&first, &second, &third]);
    let snel_stats = sims.snelstart.control.stats();
    let shop_stats = sims.shop.control.stats();
    println!("\n== what happened ==");
    println!(
        "requests: SnelStart {} (client {}), {shop} {} (client {})",
        snel_stats.total(),
        pair.accounting.stats().total,
        shop_stats.total(),
        pair.shop.stats().total
    );
    println!(
        "records: {c} created, {u} updated, {n} unchanged, {q} quarantined{}",
        if q > 0 {
            " (records the simulator seeds broken on purpose: quarantined with a reason, not written)"
        } else {
            ""
        }
    );
    let stock_writes = third
        .flow(Flow::Stock)
        .map(|f| f.created + f.updated)
        .unwrap_or(0);
    let other_writes = c3 + u3 - stock_writes;
    println!(
        "last run: {} write(s) besides {stock_writes} stock level(s) that invoicing lowered in SnelStart (delivered goods){}",
        other_writes,
        if other_writes == 0 {
            "; unchanged records cost no write"
        } else {
            ""
        }
    );
    println!("finished in {:.1}s", started.elapsed().as_secs_f64());
    println!(
        "\nNext: `koppel sandbox` serves the simulators on fixed ports and prints a config for `koppel run`;"
    );
    println!("`koppel init` writes a config for your own SnelStart administration and shop.");
    drop(sims);
    Ok(exit::OK)
}

/// Invoices the first few orders koppel created in SnelStart; pays three in full and one in
/// part (the rest stay open), through the simulator's control endpoints.
async fn settle_some(base: &str, store: &dyn StateStore, pair: &str) -> Result<Vec<String>, Failure> {
    let admin = SnelStartAdmin::login(base).await.map_err(Failure::Other)?;
    let mut bindings = store.bindings(pair, Kind::Order).await.map_err(other)?;
    bindings.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = Vec::new();
    for (i, b) in bindings.iter().take(6).enumerate() {
        let invoice = admin
            .call(
                reqwest::Method::POST,
                "/_sandbox/snelstart/invoice",
                Some(json!({"verkooporderId": b.target_id})),
            )
            .await
            .map_err(Failure::Other)?;
        let id = invoice["id"].as_str().unwrap_or_default().to_owned();
        let total: Decimal = invoice["factuurBedrag"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| invoice["factuurBedrag"].to_string())
            .parse()
            .map_err(|e| other(format!("invoice amount: {e}")))?;
        let nr = invoice["factuurnummer"].as_str().unwrap_or("?").to_owned();
        let paid = match i {
            0..=2 => total,
            3 => (total / Decimal::TWO).round_dp(2),
            _ => Decimal::ZERO,
        };
        if paid > Decimal::ZERO {
            admin
                .call(
                    reqwest::Method::POST,
                    "/_sandbox/snelstart/payment",
                    Some(json!({"verkoopfactuurId": id, "bedrag": paid})),
                )
                .await
                .map_err(Failure::Other)?;
        }
        out.push(format!(
            "order {}: invoice {nr} of EUR {total}, paid {}",
            b.key,
            if paid == total {
                "in full".to_owned()
            } else if paid.is_zero() {
                "nothing yet".to_owned()
            } else {
                format!("EUR {paid}")
            }
        ));
    }
    if out.is_empty() {
        out.push("no orders were created, so there is nothing to invoice".into());
    }
    Ok(out)
}
