//! Records edited while the first sync reads them are never lost (issue 9), through the
//! `koppel` binary against `koppel sandbox`.
//!
//! The simulators' control endpoints `POST /_sandbox/snelstart/edit-during-read` and
//! `POST /_sandbox/magento/edit-during-read` edit records after a number of full list pages
//! were served, i.e. between two page reads of koppel's first run: the oldest records, which
//! koppel has already read. With offset paging inside the `since < modified <= until` window
//! the edited records leave the window, every later record shifts back, and as many unchanged
//! records fall between two pages: the cursor then moves past them and they are never
//! written. With keyset pages nothing moves: every record is written by the first run and the
//! edits by the second.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{koppel, run, text, wait_until};
use koppel::sim::SnelStartAdmin;
use reqwest::Method;
use serde_json::{json, Value};

/// Articles in SnelStart (as in the reproduction).
const ARTICLES: usize = 400;
/// Articles edited in SnelStart during the first read.
const EDITED: usize = 6;

/// `koppel sandbox` with `ARTICLES` articles; stopped on drop.
struct Sandbox(std::process::Child);

impl Drop for Sandbox {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            common::sigterm(&self.0);
            let _ = self.0.wait();
        }
    }
}

fn start(dir: &Path, orders: usize) -> Sandbox {
    let config = dir.join("koppel.toml");
    let child = koppel()
        .current_dir(dir)
        .args([
            "sandbox",
            "--snelstart",
            "127.0.0.1:0",
            "--shop",
            "magento@127.0.0.1:0",
        ])
        .args([
            "--articles",
            &ARTICLES.to_string(),
            "--orders",
            &orders.to_string(),
        ])
        .args(["--limits", "unlimited", "--state", "koppel.db", "--config-out"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start koppel sandbox");
    let sb = Sandbox(child);
    wait_until("the sandbox config", || config.exists());
    sb
}

/// The `auth_url` host of the SnelStart side and the shop's `base_url`, from the config.
fn urls(dir: &Path) -> (String, String) {
    let cfg: toml::Table =
        toml::from_str(&std::fs::read_to_string(dir.join("koppel.toml")).unwrap()).unwrap();
    let pair = &cfg["pairs"].as_array().unwrap()[0];
    let auth = pair["accounting"]["auth_url"].as_str().unwrap();
    let shop = pair["shop"]["base_url"].as_str().unwrap();
    (
        auth.trim_end_matches("/b2b/token").to_owned(),
        shop.trim_end_matches('/').to_owned(),
    )
}

/// Records a `plan --full` would still create, per flow: what the runs never wrote.
fn never_written(dir: &Path, flow: &str) -> u64 {
    let out = run(dir, &["--flow", flow, "plan", "--full", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    json[0]["flows"][0]["created"]
        .as_u64()
        .unwrap_or_else(|| panic!("{json}"))
}

fn koppel_run(dir: &Path, flow: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_koppel"))
        .current_dir(dir)
        .env_remove("KOPPEL_CONFIG")
        .env("RUST_LOG", "warn")
        .args(["--flow", flow, "run", "--json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)))
}

#[test]
fn articles_edited_during_the_first_product_sync_are_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _sb = start(d, 12);
    let (snel, _) = urls(d);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let admin = rt.block_on(SnelStartAdmin::login(&snel)).unwrap();
    // After koppel read 3 pages of 25, someone edits the 6 oldest articles (on page 1).
    rt.block_on(admin.call(
        Method::POST,
        "/_sandbox/snelstart/edit-during-read",
        Some(json!({"resource": "artikelen", "after_pages": 3, "count": EDITED})),
    ))
    .unwrap();

    let first = koppel_run(d, "products");
    let second = koppel_run(d, "products");
    let flow = |r: &Value, k: &str| r[0]["flows"][0][k].as_u64().unwrap_or(0);
    let lost = never_written(d, "products");
    eprintln!(
        "products: first run read {} created {}, second run read {} created {} updated {}; never written: {lost}",
        flow(&first, "read"),
        flow(&first, "created"),
        flow(&second, "read"),
        flow(&second, "created"),
        flow(&second, "updated"),
    );
    assert_eq!(
        lost, 0,
        "articles never written to the shop\nfirst: {first}\nsecond: {second}"
    );
    // The edits reach the shop in the second run at the latest.
    assert!(
        flow(&second, "updated") + flow(&first, "updated") >= EDITED as u64,
        "first: {first}\nsecond: {second}"
    );
}

/// Orders edited in the shop during the first order sync.
const EDITED_ORDERS: usize = 5;

#[test]
fn orders_edited_during_the_first_order_sync_are_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _sb = start(d, 60);
    let (_, shop) = urls(d);
    // pages of 10 orders, so the 60 take several pages
    let path = d.join("koppel.toml");
    let cfg = std::fs::read_to_string(&path).unwrap();
    let cfg = cfg.replacen(
        "\n[pairs.shop.products]",
        "\n[pairs.shop.orders]\npage_size = 10\n\n[pairs.shop.products]",
        1,
    );
    std::fs::write(&path, cfg).unwrap();
    // The orders a first sync must export or quarantine, as the plan sees them before any edit.
    let out = run(d, &["--flow", "orders", "plan", "--full", "--json"]);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    let eligible: BTreeSet<String> = plan[0]["flows"][0]["records"]
        .as_array()
        .unwrap()
        .iter()
        // an order cancelled before export is skipped, never exported: not eligible
        .filter(|c| c["kind"] == "order" && c["action"] != "skip")
        .map(|c| c["key"].as_str().unwrap().to_owned())
        .collect();
    assert!(eligible.len() > 20, "{plan}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    // After koppel read the first page, the shop owner comments on the 5 oldest orders.
    let resp = rt
        .block_on(
            reqwest::Client::new()
                .post(format!("{shop}/_sandbox/magento/edit-during-read"))
                .json(&json!({"resource": "orders", "after_pages": 1, "count": EDITED_ORDERS}))
                .send(),
        )
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    // The shop stamps whole seconds: a second of latency per request puts the edit after the
    // run's `until` (taken at its start), as an edit during a real read would be.
    let resp = rt
        .block_on(
            reqwest::Client::new()
                .post(format!("{shop}/_sandbox/faults"))
                .json(&json!({"latency_ms": 1000}))
                .send(),
        )
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());

    let first = koppel_run(d, "customers,orders");
    let second = koppel_run(d, "customers,orders");

    // Exported (SnelStart's verkooporders by orderreferentie) and quarantined (status).
    let (snel, _) = urls(d);
    let admin = rt.block_on(SnelStartAdmin::login(&snel)).unwrap();
    let mut refs = Vec::new();
    let mut skip = 0;
    loop {
        let page = rt
            .block_on(admin.call(
                Method::GET,
                &format!("/v2/verkooporders?$skip={skip}&$top=500"),
                None,
            ))
            .unwrap();
        let page = page.as_array().unwrap().clone();
        refs.extend(
            page.iter()
                .filter_map(|o| o["orderreferentie"].as_str().map(str::to_owned)),
        );
        if page.len() < 500 {
            break;
        }
        skip += 500;
    }
    let exported: BTreeSet<String> = refs.iter().cloned().collect();
    assert_eq!(
        exported.len(),
        refs.len(),
        "an order was exported twice: {refs:?}"
    );
    let out = run(d, &["status", "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    let quarantined: BTreeSet<String> = status["quarantine"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["kind"] == "order")
        .map(|q| q["key"].as_str().unwrap().to_owned())
        .collect();
    let lost: Vec<&String> = eligible
        .iter()
        .filter(|k| !exported.contains(*k) && !quarantined.contains(*k))
        .collect();
    eprintln!(
        "orders: {} eligible; exported {}, quarantined {}; never exported nor quarantined: {}",
        eligible.len(),
        exported.len(),
        quarantined.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "orders lost: {lost:?}\nfirst: {first}\nsecond: {second}"
    );
}
