//! The `acme` example against the simulators: its own connector (`acme_snelstart`, the stock
//! SnelStart connector with a field-mapping hook) and the stock Magento connector, run by the
//! runtime's daemon until the scheduled flows have run once, then one more pass.

#[path = "../acme.rs"]
#[allow(dead_code)]
mod acme;

use std::time::{Duration, Instant};

use koppel_core::engine::Flow;
use koppel_core::state::{SqliteStore, StateStore};
use koppel_runtime::Selection;
use koppel_sandbox::magento::{self, MagentoOptions};
use koppel_sandbox::registry::ShopConfigArgs;
use koppel_sandbox::seed::SeedConfig;
use koppel_sandbox::snelstart::{self, RateLimits, SnelStartOptions};

const PAIR: &str = "acme";

fn config(snel: &str, shop: &str) -> String {
    let shop_body = magento::registration::shop_config(&ShopConfigArgs {
        base_url: shop,
        unlimited: true,
        variant: "",
    });
    format!(
        "state = \"acme.db\"\n\n[[pairs]]\nname = \"{PAIR}\"\n\n[pairs.accounting]\n\
         type = \"acme_snelstart\"\nbrand = \"Acme\"\n\
         client_key = \"{}\"\nsubscription_key = \"{}\"\n\
         api_base_url = \"{snel}/v2\"\nauth_url = \"{snel}/b2b/token\"\n\
         rate_limits = {{ per_minute = 1000000, per_hour = 10000000, concurrent = 64 }}\n\n\
         [pairs.shop]\ntype = \"magento\"\n{}\n\
         [pairs.flows.products]\nschedule = \"1h\"\n\n[pairs.flows.stock]\nschedule = \"1h\"\n",
        snelstart::CLIENT_KEY,
        snelstart::SUBSCRIPTION_KEY,
        koppel_runtime::init::nest_headers(shop_body.trim_end(), "shop"),
    )
}

/// The name of a product in the Magento simulator (plain Bearer, allowed in this simulator).
async fn shop_name(base: &str, sku: &str) -> String {
    let v: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/rest/default/V1/products/{sku}"))
        .bearer_auth(magento::ACCESS_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["name"]
        .as_str()
        .unwrap_or_else(|| panic!("no product {sku}: {v}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acme_binary_syncs_with_its_hook_under_the_daemon() {
    let seed = SeedConfig {
        articles: 12,
        orders: 4,
        customers: 2,
        seed: 7,
    };
    let any = "127.0.0.1:0".parse().unwrap();
    let snel = snelstart::start(
        any,
        SnelStartOptions {
            seed,
            rate_limits: RateLimits::UNLIMITED,
            ..SnelStartOptions::default()
        },
    )
    .await
    .unwrap();
    let shop = magento::start(
        any,
        MagentoOptions {
            seed,
            bearer_allowed: true,
            ..MagentoOptions::default()
        },
    )
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acme.toml");
    std::fs::write(&path, config(&snel.base_url(), &shop.base_url())).unwrap();
    let sel = Selection::all(&path);

    // The runtime's daemon, stopped once both scheduled flows have run (the deadline only
    // guards against a hang; nothing here asserts on time).
    let state = dir.path().join("acme.db");
    let stop = async {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(Instant::now() < deadline, "the daemon did not run both flows");
            let Ok(store) = SqliteStore::open(&state) else {
                continue;
            };
            let mut done = 0;
            for flow in [Flow::Products, Flow::Stock] {
                if !store
                    .recent_runs(PAIR, Some(flow), 1)
                    .await
                    .unwrap_or_default()
                    .is_empty()
                {
                    done += 1;
                }
            }
            if done == 2 {
                return;
            }
        }
    };
    let code = koppel_runtime::daemon::daemon_until(&sel, stop).await.unwrap();
    assert_eq!(code, 0);

    let store = SqliteStore::open(&state).unwrap();
    let products = store.recent_runs(PAIR, Some(Flow::Products), 1).await.unwrap();
    assert_eq!(products[0].status, "ok", "{:?}", products[0]);
    // Every article reached the shop (the simulated shop already has a few of them).
    assert_eq!(products[0].created + products[0].updated, 12, "{:?}", products[0]);

    // The hook ran: the shop has the brand in front; SnelStart keeps the plain name.
    let plain = seed_name(&seed, "KP-0001");
    assert!(!plain.starts_with("Acme"), "{plain}");
    assert_eq!(
        shop_name(&shop.base_url(), "KP-0001").await,
        format!("Acme {plain}")
    );

    // One more pass: nothing new to write, exit 0; the hook does not prefix twice.
    let code = acme::once(&sel).await.unwrap();
    assert_eq!(code, 0);
    let products = store.recent_runs(PAIR, Some(Flow::Products), 1).await.unwrap();
    assert_eq!(
        (products[0].created, products[0].updated),
        (0, 0),
        "{:?}",
        products[0]
    );
    assert_eq!(
        shop_name(&shop.base_url(), "KP-0001").await,
        format!("Acme {plain}")
    );
}

fn seed_name(seed: &SeedConfig, sku: &str) -> String {
    koppel_sandbox::seed::articles(seed)
        .into_iter()
        .find(|a| a.sku == sku)
        .map(|a| a.name)
        .unwrap_or_else(|| panic!("no seeded article {sku}"))
}
