//! `koppel sandbox`: the simulators, standalone on chosen loopback ports, until stopped.

use crate::cli::SandboxArgs;
use crate::report::exit;
use crate::sim::{self, SimSetup};
use koppel_runtime::{CmdResult, Failure};

/// `koppel sandbox`.
pub async fn sandbox(args: &SandboxArgs) -> CmdResult {
    let snel_addr = sim::loopback(&args.snelstart).map_err(Failure::Other)?;
    let default_shop;
    let shop_arg = match &args.shop {
        Some(s) => s.as_str(),
        None => {
            let first = sim::shop_simulators()
                .first()
                .copied()
                .ok_or_else(|| Failure::Other("this koppel has no shop simulator".into()))?;
            default_shop = format!("{first}@127.0.0.1:8082");
            default_shop.as_str()
        }
    };
    let (shop, shop_addr) = shop_arg.split_once('@').ok_or_else(|| {
        Failure::Other(format!(
            "--shop {shop_arg:?}: write <type>[:<variant>]@<address>, e.g. {}@127.0.0.1:8082 (shops: {})",
            sim::shop_simulators().first().copied().unwrap_or("shop"),
            sim::shop_simulators().join(", ")
        ))
    })?;
    let shop_addr = sim::loopback(shop_addr).map_err(Failure::Other)?;
    let setup = SimSetup {
        articles: args.articles,
        orders: args.orders,
        seed: args.seed,
        latency_ms: args.latency_ms,
        limits: args.limits,
    };
    let sims = sim::start(snel_addr, shop, shop_addr, setup)
        .await
        .map_err(Failure::Other)?;
    let config = sim::config_toml(&sims, &args.state);
    eprintln!(
        "SnelStart simulator: {} (token {0}/b2b/token, API {0}/v2)",
        sims.snelstart.base_url()
    );
    let (api_path, variants) = sim::shop_simulator(sims.shop_type)
        .map(|s| (s.api_path, s.variants))
        .unwrap_or_default();
    let variant = if variants.is_empty() {
        String::new()
    } else {
        format!(", variant {} of {}", sims.shop_variant, variants.join(", "))
    };
    eprintln!(
        "{} simulator: {} (API {1}{api_path}{variant})",
        sims.shop_type,
        sims.shop.base_url()
    );
    eprintln!(
        "seeded: {} articles, {} orders, seed {}; latency {} ms; limits {:?}",
        args.articles, args.orders, args.seed, args.latency_ms, args.limits
    );
    if let Some(path) = &args.config_out {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &config)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| Failure::Other(format!("cannot write {}: {e}", path.display())))?;
        eprintln!(
            "config written to {}; try `koppel --config {0} plan`",
            path.display()
        );
    }
    println!("{config}");
    eprintln!("serving until Ctrl-C or SIGTERM");
    crate::daemon::wait_for_signal().await;
    let (a, b) = (
        sims.snelstart.control.stats().total(),
        sims.shop.control.stats().total(),
    );
    eprintln!("stopped after serving {a} SnelStart and {b} shop requests");
    Ok(exit::OK)
}
