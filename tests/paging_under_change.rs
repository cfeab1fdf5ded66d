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
