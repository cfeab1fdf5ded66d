//! `koppel plan` predicts `koppel run` record by record, and writes nothing, for every shop
//! with a simulator; an order changed in the shop after its export is reported (and, when
//! configured, updated in SnelStart), never created twice. Drives the binary against
//! `koppel sandbox`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{run, text, Sandbox};
use serde_json::{json, Value};

/// The simulators' base URLs, from the config `koppel sandbox` wrote.
struct Urls {
    snelstart: String,
    /// `http://host:port` of the shop simulator (its control endpoints are below it).
    shop: String,
}

/// The origin of the shop table's URL (`base_url`, `bridge_url`, ...: whichever the
/// connector calls it).
fn shop_origin(table: &toml::Value) -> String {
    table
        .as_table()
        .unwrap()
        .values()
        .filter_map(toml::Value::as_str)
        .filter_map(|s| reqwest::Url::parse(s).ok())
        .find(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|| panic!("no URL in the shop table {table}"))
}

fn urls(config: &Path) -> Urls {
    let t: toml::Value = toml::from_str(&std::fs::read_to_string(config).unwrap()).unwrap();
    let pair = &t["pairs"][0];
    let api = pair["accounting"]["api_base_url"].as_str().unwrap();
    Urls {
        snelstart: api.trim_end_matches("/v2").to_owned(),
        shop: shop_origin(&pair["shop"]),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `/_sandbox/stats` of one simulator: (method, path) -> count.
fn stats(base: &str) -> BTreeMap<(String, String), u64> {
    let body: Value = rt().block_on(async {
        reqwest::get(format!("{base}/_sandbox/stats"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let mut out = BTreeMap::new();
    for r in body["requests"].as_array().unwrap() {
        let key = (
            r["method"].as_str().unwrap().to_owned(),
            r["path"].as_str().unwrap().to_owned(),
        );
        *out.entry(key).or_default() += r["count"].as_u64().unwrap();
    }
    out
}

/// Requests that change something (anything but GET, and but getting a token).
fn writes(before: &BTreeMap<(String, String), u64>, after: &BTreeMap<(String, String), u64>) -> Vec<String> {
    after
        .iter()
        .filter(|((m, p), _)| m != "GET" && m != "HEAD" && !p.ends_with("/token"))
        .filter(|(k, n)| before.get(*k).copied().unwrap_or(0) < **n)
        .map(|((m, p), n)| {
            format!(
                "{m} {p} x{}",
                n - before.get(&(m.clone(), p.clone())).copied().unwrap_or(0)
            )
        })
        .collect()
}

/// Per flow: its counts, and per record (kind, key) its action.
type Actions = BTreeMap<String, ((u64, u64, u64, u64, u64), BTreeMap<(String, String), String>)>;

fn actions(out: &std::process::Output) -> Actions {
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)));
    let mut all = Actions::new();
    for f in reports[0]["flows"].as_array().unwrap() {
        let n = |k: &str| f[k].as_u64().unwrap();
        assert_eq!(f["records_omitted"], 0, "{f}");
        let mut per = BTreeMap::new();
        for r in f["records"].as_array().unwrap() {
            let key = (
                r["kind"].as_str().unwrap().to_owned(),
                r["key"].as_str().unwrap().to_owned(),
            );
            assert!(
                per.insert(key.clone(), r["action"].as_str().unwrap().to_owned())
                    .is_none(),
                "{key:?} twice in {}",
                f["flow"]
            );
        }
        all.insert(
            f["flow"].as_str().unwrap().to_owned(),
            (
                (
                    n("created"),
                    n("updated"),
                    n("unchanged"),
                    n("quarantined"),
                    n("dependencies_created"),
                ),
                per,
            ),
        );
    }
    all
}

fn assert_same(plan: &Actions, run: &Actions, what: &str) {
    assert_eq!(plan.keys().collect::<Vec<_>>(), run.keys().collect::<Vec<_>>());
    for (flow, (counts, per)) in plan {
        let (rcounts, rper) = &run[flow];
        let differ: Vec<_> = per
            .iter()
            .filter(|(k, a)| rper.get(*k) != Some(*a))
            .map(|(k, a)| format!("{k:?}: plan {a}, run {:?}", rper.get(k)))
            .chain(
                rper.iter()
                    .filter(|(k, _)| !per.contains_key(*k))
                    .map(|(k, a)| format!("{k:?}: not in the plan, run {a}")),
            )
            .collect();
        assert!(differ.is_empty(), "{what}: flow {flow}: {differ:#?}");
        assert_eq!(counts, rcounts, "{what}: flow {flow} counts (c, u, n, q, deps)");
    }
}

/// In the SnelStart simulator: three booked orders invoiced, the first two paid in full.
fn invoice_three_pay_two(base: &str) {
    rt().block_on(async {
        let admin = koppel::sim::SnelStartAdmin::login(base).await.unwrap();
        let booked = admin
            .call(reqwest::Method::GET, "/v2/verkooporders", None)
            .await
            .unwrap();
        let mut booked = booked.as_array().unwrap().clone();
        assert!(booked.len() >= 3, "{booked:?}");
        // the same orders on every run of a seed, whatever order they were booked in
        booked.sort_by(|a, b| {
            a["orderreferentie"]
                .to_string()
                .cmp(&b["orderreferentie"].to_string())
        });
        for (i, o) in booked.iter().take(3).enumerate() {
            let invoice = admin
                .call(
                    reqwest::Method::POST,
                    "/_sandbox/snelstart/invoice",
                    Some(json!({"verkooporderId": o["id"]})),
                )
                .await
                .unwrap();
            if i < 2 {
                admin
                    .call(
                        reqwest::Method::POST,
                        "/_sandbox/snelstart/payment",
                        Some(json!({"verkoopfactuurId": invoice["id"], "bedrag": invoice["factuurBedrag"]})),
                    )
                    .await
                    .unwrap();
            }
        }
    });
}

/// Whether a simulator's API tells reads from writes by method: the plan read it with GET.
/// (The OpenCart bridge takes every call as a POST to one path; for it the second plan is
/// the check.)
fn reads_are_gets(before: &BTreeMap<(String, String), u64>, after: &BTreeMap<(String, String), u64>) -> bool {
    after.iter().any(|((m, p), n)| {
        m == "GET"
            && !p.starts_with("/_sandbox")
            && before.get(&(m.clone(), p.clone())).copied().unwrap_or(0) < *n
    })
}

/// On a fresh sandbox of `shop` seeded with `seed`: the plan sends no write to either simulator
/// and a second plan predicts exactly what the first did (so the plan changed nothing koppel
/// can see); then every record's action in the plan is the run's, in every flow; a second plan
/// and run (after changes settled) agree too. Returns every action the first plan predicted.
fn plan_is_run(shop: &str, seed: u64, articles: usize, orders: usize) -> Vec<String> {
    let what = format!("{shop}, seed {seed}");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sb = Sandbox::start_seeded_shop(d, shop, articles, orders, seed);
    let u = urls(&sb.config);
    let (s0, m0) = (stats(&u.snelstart), stats(&u.shop));
    let plan = run(d, &["plan", "--json", "--all", "--limit", "100000"]);
    assert!(
        matches!(plan.status.code(), Some(0 | 1)),
        "{what}: {}",
        text(&plan)
    );
    let (s1, m1) = (stats(&u.snelstart), stats(&u.shop));
    assert_eq!(
        writes(&s0, &s1),
        Vec::<String>::new(),
        "{what}: the plan wrote to SnelStart"
    );
    if reads_are_gets(&m0, &m1) {
        assert_eq!(
            writes(&m0, &m1),
            Vec::<String>::new(),
            "{what}: the plan wrote to the shop"
        );
    }
    let planned = actions(&plan);
    let replan = run(d, &["plan", "--json", "--all", "--limit", "100000"]);
    assert_same(&planned, &actions(&replan), &format!("{what}, plan twice"));
    let done = run(d, &["run", "--json", "--all", "--limit", "100000"]);
    assert!(
        matches!(done.status.code(), Some(0 | 1)),
        "{what}: {}",
        text(&done)
    );
    assert_same(&planned, &actions(&done), &format!("{what}, first run"));

    // SnelStart invoices three of the booked orders and two are paid: open amounts and
    // payments now have records to predict
    invoice_three_pay_two(&u.snelstart);
    // again: the run's own bindings and the quarantine now decide most records
    let again = actions(&run(
        d,
        &["plan", "--json", "--all", "--limit", "100000", "--full"],
    ));
    let done = run(d, &["run", "--json", "--all", "--limit", "100000", "--full"]);
    assert_same(&again, &actions(&done), &format!("{what}, second run"));
    let writes_in = |flow: &str| {
        again[flow]
            .1
            .values()
            .filter(|a| *a == "create" || *a == "update")
            .count()
    };
    // one record per invoiced order (a paid one the shop already shows paid is unchanged)
    assert_eq!(again["payments"].1.len(), 3, "{what}: {:?}", again["payments"]);
    assert!(
        writes_in("open_amounts") >= 1,
        "{what}: {:?}",
        again["open_amounts"]
    );
    // a third run, after the second wrote payments and open amounts to the shop (which touch
    // the shop's orders, so they are read again): an order SnelStart invoiced meanwhile is
    // not "changed after export", and nothing is quarantined that the first run was not
    let third = run(d, &["run", "--json", "--all", "--limit", "100000"]);
    let quarantined = |a: &Actions| -> Vec<(String, String)> {
        a["orders"]
            .1
            .iter()
            .filter(|(_, v)| *v == "quarantine")
            .map(|(k, _)| k.clone())
            .collect()
    };
    let newly: Vec<_> = quarantined(&actions(&third))
        .into_iter()
        .filter(|k| !quarantined(&planned).contains(k))
        .collect();
    assert!(
        newly.is_empty(),
        "{what}: third run quarantined {newly:?}:\n{}",
        text(&third)
    );
    let mut all: Vec<String> = planned.values().flat_map(|(_, p)| p.values().cloned()).collect();
    all.sort();
    all.dedup();
    all
}

/// Plan, then run, on fresh Magento sandboxes with several seeds (10 % of the products already
/// in the shop, some with an older price; broken orders; Laag/Hoog VAT mixes): the plan has
/// creates, updates, unchanged records and quarantines to predict, and predicts each.
#[test]
fn plan_predicts_run_record_by_record_and_writes_nothing() {
    for seed in [1u64, 7, 23] {
        let all = plan_is_run("magento", seed, 60, 30);
        for a in ["create", "update", "unchanged", "quarantine"] {
            assert!(all.iter().any(|x| x == a), "seed {seed}: no {a} in {all:?}");
        }
    }
}

/// The same for every registered shop simulator, on one seed.
#[test]
fn plan_predicts_run_for_every_shop_simulator() {
    let shops: Vec<&str> = koppel_sandbox::registry::shops().iter().map(|s| s.name).collect();
    assert_eq!(
        shops.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        common::shop_simulators(),
        "the binary's simulators are the registry's"
    );
    assert!(shops.len() >= 3, "{shops:?}");
    for shop in shops {
        let all = plan_is_run(shop, 7, 60, 30);
        assert!(
            all.iter().any(|x| x == "create"),
            "{shop}: nothing to create in {all:?}"
        );
    }
}

/// A shop client for test set-up (OAuth 1.0a, as koppel signs).
fn shop_client(base: &str) -> koppel_magento::MagentoConnector {
    use koppel_sandbox::magento::{ACCESS_TOKEN, ACCESS_TOKEN_SECRET, CONSUMER_KEY, CONSUMER_SECRET};
    let cfg = json!({
        "base_url": base,
        "store_code": "default",
        "auth": {
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
            "access_token": ACCESS_TOKEN,
            "access_token_secret": ACCESS_TOKEN_SECRET,
        },
    });
    koppel_magento::MagentoConnector::new(koppel_magento::parse(cfg).unwrap(), "test").unwrap()
}

/// The shop's order with this number, as JSON.
fn shop_order(c: &koppel_magento::MagentoConnector, number: &str) -> Value {
    rt().block_on(async {
        let shop = c.shop();
        let id = shop.order_id(number).await.unwrap();
        shop.client()
            .get::<Value>("default", &["orders", &id.to_string()], &[], "/V1/orders/{id}")
            .await
            .unwrap()
    })
}

fn snel_get(base: &str, path: &str) -> Value {
    rt().block_on(async {
        let admin = koppel::sim::SnelStartAdmin::login(base).await.unwrap();
        admin.call(reqwest::Method::GET, path, None).await.unwrap()
    })
}

fn order_record<'a>(out: &'a Value, key: &str) -> &'a Value {
    out[0]["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flow"] == "orders")
        .and_then(|f| f["records"].as_array().unwrap().iter().find(|r| r["key"] == key))
        .unwrap_or_else(|| panic!("no order {key} in {out}"))
}

/// An exported order whose delivery address changes in the shop is reported as changed after
/// export (SnelStart's value -> the shop's), in plan, run, status and the status page, and is
/// not posted again; with `changed_after_export = "update"` a retry replaces the verkooporder
/// (it has no invoice). An order whose change does not touch the verkooporder (a status step)
/// is simply bound again.
#[test]
fn orders_changed_after_export_are_reported_then_updated_never_created_twice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sb = Sandbox::start_seeded(d, 30, 16, 5);
    let u = urls(&sb.config);
    let out = run(d, &["--flow", "customers,orders", "run", "--json"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    let created: Vec<(String, String)> = first[0]["flows"][1]["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "create" && r["kind"] == "order")
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["target_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(created.len() >= 3, "{first}");
    let posts = |s: &BTreeMap<(String, String), u64>| {
        s.get(&("POST".to_owned(), "/v2/verkooporders".to_owned()))
            .copied()
            .unwrap_or(0)
    };
    let posted = posts(&stats(&u.snelstart));

    // in the shop: a new delivery city for one order, a plain status step for another
    let shop = shop_client(&u.shop);
    let (moved, moved_id) = &created[0];
    let (completed, _) = &created[1];
    let o = shop_order(&shop, moved);
    let addr = &o["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"];
    let entity_id = o["entity_id"].as_u64().unwrap().to_string();
    rt().block_on(async {
        let s = shop.shop();
        let _: Value = s
            .client()
            .write(
                reqwest::Method::PUT,
                "default",
                &["orders", &entity_id],
                &json!({"entity": {"entity_id": addr["entity_id"], "city": "Zierikzee"}}),
                "/V1/orders/{parent_id}",
                koppel_core::http::Safety::Idempotent,
            )
            .await
            .unwrap();
        for (number, status) in [(completed, "complete")] {
            let id = s.order_id(number).await.unwrap().to_string();
            let _: Value = s
                .client()
                .write(
                    reqwest::Method::POST,
                    "default",
                    &["orders", &id, "comments"],
                    &json!({"statusHistory": {"comment": "changed by hand", "status": status, "parent_id": id.parse::<u64>().unwrap()}}),
                    "/V1/orders/{id}/comments",
                    koppel_core::http::Safety::NonIdempotent,
                )
                .await
                .unwrap();
        }
    });

    // the plan predicts it, naming the field with SnelStart's value and the shop's
    let plan = run(d, &["--flow", "orders", "plan", "--json", "--all"]);
    let p: Value = serde_json::from_slice(&plan.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&plan)));
    let r = order_record(&p, moved);
    assert_eq!(r["action"], "quarantine", "{r}");
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.contains("changed after export"), "{reason}");
    assert!(
        reason.contains("afleveradres.plaats") && reason.contains("Zierikzee"),
        "{reason}"
    );
    assert_eq!(order_record(&p, completed)["action"], "unchanged");

    // the run does what the plan said
    let out = run(d, &["--flow", "orders", "run", "--json", "--all"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [moved, completed] {
        assert_eq!(
            order_record(&done, key)["action"],
            order_record(&p, key)["action"],
            "{key}"
        );
    }
    assert_eq!(posts(&stats(&u.snelstart)), posted, "an order was posted again");
    let status = run(d, &["status", "--html", "status.html"]);
    let s = text(&status);
    assert!(s.contains("changed after export (1)"), "{s}");
    assert!(s.contains("Zierikzee"), "{s}");
    let html = std::fs::read_to_string(d.join("status.html")).unwrap();
    assert!(
        html.contains("Changed after export (1)") && html.contains("Zierikzee"),
        "{html}"
    );

    // with the update policy a retry replaces the verkooporder (no invoice yet)
    let config = std::fs::read_to_string(&sb.config).unwrap();
    let updated = config.replace(
        "[pairs.accounting.orders]\n",
        "[pairs.accounting.orders]\nchanged_after_export = \"update\"\n",
    );
    assert_ne!(updated, config);
    std::fs::write(&sb.config, updated).unwrap();
    let out = run(d, &["retry", "--key", moved, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = snel_get(&u.snelstart, &format!("/v2/verkooporders/{moved_id}"));
    assert_eq!(v["afleveradres"]["plaats"], "Zierikzee", "{v}");
    assert_eq!(posts(&stats(&u.snelstart)), posted, "an order was posted again");
    // and nothing is left to do for the updated order
    let plan = run(d, &["--flow", "orders", "plan", "--json", "--all", "--full"]);
    let p: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(order_record(&p, moved)["action"], "unchanged");
}
