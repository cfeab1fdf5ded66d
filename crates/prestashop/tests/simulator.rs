//! The connector against the PrestaShop simulator: the traps real shops hit, per version.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use koppel_core::{
    ConnectorContext, Error, Money, Order, PaymentStatus, Product, ReadRequest, Sink, Sku, StockLevel,
    VatRounding, Verdict, WriteItem, WriteOutcome,
};
use koppel_prestashop::PrestaShopConnector;
use koppel_sandbox::prestashop::data::Val;
use koppel_sandbox::prestashop::{
    start_inspectable, PrestaOptions, PrestaVersion, STATE_PAYMENT_ACCEPTED, WS_KEY,
};
use koppel_sandbox::seed::{self, SeedConfig};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::Value;

fn connector(base: &str) -> PrestaShopConnector {
    koppel_prestashop::PrestaShopConnector::new(koppel_prestashop::parse(common::config(base)).unwrap())
        .unwrap()
}

fn product(i: usize) -> Product {
    common::product_of(&seed::articles(&SeedConfig::default())[i])
}

type Fields = BTreeMap<String, Val>;

fn fields_of(state: &koppel_sandbox::prestashop::Inspect, res: &str, id: u64) -> Fields {
    state.with(|s| s.get(res, id).unwrap().fields.clone())
}

async fn update_keeps_every_field(
    version: PrestaVersion,
    patch_permission: bool,
) -> koppel_sandbox::control::Stats {
    update_keeps_every_field_in(version, patch_permission, vec![1, 2]).await
}

async fn update_keeps_every_field_in(
    version: PrestaVersion,
    patch_permission: bool,
    languages: Vec<u32>,
) -> koppel_sandbox::control::Stats {
    let (sim, state) = start_inspectable(
        "127.0.0.1:0".parse().unwrap(),
        PrestaOptions {
            version,
            patch_permission,
            languages,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let c = connector(&sim.base_url());
    let shop = c.shop();
    let before = fields_of(&state, "products", 1);
    // product 1 is KP-0001; these fields are "0" or empty in the shop (dropped by an 8.x
    // single-record JSON read)
    for f in ["on_sale", "id_manufacturer", "low_stock_alert", "ean13"] {
        assert!(
            matches!(before.get(f), Some(Val::Text(t)) if t.is_empty() || t == "0"),
            "{f}"
        );
    }
    let mut p = product(0);
    p.price = Money::eur(p.price.amount + dec!(1.25));
    let out = Sink::<Product>::write(shop.as_ref(), &WriteItem::new(p.clone()))
        .await
        .unwrap();
    assert_eq!(
        out,
        WriteOutcome::Updated {
            target_id: "1".into()
        }
    );
    let after = fields_of(&state, "products", 1);
    for (k, v) in &before {
        match k.as_str() {
            "price" => assert_eq!(after[k].text(0).parse::<Decimal>().unwrap(), p.price.amount),
            "date_upd" => {}
            _ => assert_eq!(after.get(k), Some(v), "field {k} changed by the update"),
        }
    }
    // the categories association is kept too
    let cats = state.with(|s| s.get("products", 1).unwrap().assoc["categories"].len());
    assert_eq!(cats, 2);
    // a second write finds nothing to change
    let again = Sink::<Product>::write(shop.as_ref(), &WriteItem::new(p))
        .await
        .unwrap();
    assert!(matches!(again, WriteOutcome::Unchanged { .. }));
    sim.control.stats()
}

#[tokio::test]
async fn a_put_on_17_keeps_every_field_the_shop_had() {
    let stats = update_keeps_every_field(PrestaVersion::V17, true).await;
    assert_eq!(stats.count("PUT", "/api/{resource}"), 1);
    assert_eq!(stats.count("PATCH", "/api/{resource}"), 0);
}

#[tokio::test]
async fn a_one_language_shop_answers_plain_strings_and_keeps_them() {
    // one language: JSON renders translations as plain strings (multilang-fields docs)
    let stats = update_keeps_every_field_in(PrestaVersion::V17, true, vec![1]).await;
    assert_eq!(stats.count("PUT", "/api/{resource}"), 1);
}

#[tokio::test]
async fn stock_of_a_combination_is_found_by_its_reference() {
    let (sim, state) = common::sim(PrestaVersion::V8).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/combinations?output_format=JSON", sim.base_url()))
        .basic_auth(WS_KEY, Some(""))
        .body("<prestashop><combination><id_product>3</id_product><reference>KP-0003-XL</reference><minimal_quantity>1</minimal_quantity></combination></prestashop>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let combo: Value = r.json().await.unwrap();
    let cid = combo["combination"]["id"].as_u64().unwrap();
    let shop = connector(&sim.base_url()).shop();
    let item = WriteItem::new(StockLevel {
        sku: Sku::new("KP-0003-XL").unwrap(),
        quantity: dec!(4),
        source_id: None,
        modified: None,
    });
    let out = Sink::<StockLevel>::write(shop.as_ref(), &item).await.unwrap();
    assert!(matches!(out, WriteOutcome::Updated { .. }), "{out:?}");
    let q = state.with(|s| {
        s.table("stock_availables")
            .unwrap()
            .values()
            .find(|r| r.get("id_product_attribute") == cid.to_string())
            .map(|r| r.get("quantity").to_owned())
    });
    assert_eq!(q.as_deref(), Some("4"));
    // the product-level row is untouched
    let p = state.with(|s| {
        s.get("stock_availables", 3)
            .unwrap()
            .get("id_product_attribute")
            .to_owned()
    });
    assert_eq!(p, "0");
}

#[tokio::test]
async fn an_update_on_8_is_a_patch_of_the_changed_fields() {
    let stats = update_keeps_every_field(PrestaVersion::V8, true).await;
    assert_eq!(stats.count("PATCH", "/api/{resource}"), 1);
    assert_eq!(stats.count("PUT", "/api/{resource}"), 0);
}

#[tokio::test]
async fn a_key_without_patch_on_8_gets_a_put_and_check_says_so() {
    let stats = update_keeps_every_field(PrestaVersion::V8, false).await;
    assert_eq!(stats.count("PATCH", "/api/{resource}"), 0);
    assert_eq!(stats.count("PUT", "/api/{resource}"), 1);
    let (sim, _) = start_inspectable(
        "127.0.0.1:0".parse().unwrap(),
        PrestaOptions {
            patch_permission: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let report = connector(&sim.base_url()).shop().check().await.unwrap();
    assert!(
        report.checks.iter().any(|c| c.contains("PATCH not granted")),
        "{:?}",
        report.checks
    );
}

#[tokio::test]
async fn the_plan_predicts_the_run_and_a_second_run_writes_nothing() {
    for version in [PrestaVersion::V17, PrestaVersion::V8] {
        let (sim, state) = common::sim(version).await;
        let shop = connector(&sim.base_url()).shop();
        let mut changed = product(3);
        changed.name = format!("{} XL", changed.name);
        let mut new_cat = product(60);
        new_cat.category = vec!["Cadeaus".into(), "Sets".into()];
        let mut bad = product(61);
        bad.vat = Some(koppel_core::VatRate::new(dec!(6), None).unwrap());
        let items: Vec<WriteItem<Product>> = [product(1), changed, product(55), new_cat, bad]
            .into_iter()
            .map(WriteItem::new)
            .collect();
        let writes_before = sim.control.stats().total();
        let plan = Sink::<Product>::prepare(shop.as_ref(), &items).await;
        let reads = sim.control.stats().total() - writes_before;
        assert!(reads <= 3, "prepare read {reads} times for 5 products");
        assert_eq!(
            state.with(|s| s.table("products").unwrap().len()),
            50,
            "prepare wrote something"
        );
        let verdicts: Vec<Option<Verdict>> =
            plan.iter().map(|p| p.as_ref().ok().map(|p| p.verdict)).collect();
        assert_eq!(
            verdicts,
            vec![
                Some(Verdict::Unchanged),
                Some(Verdict::Update),
                Some(Verdict::Create),
                Some(Verdict::Create),
                None
            ]
        );
        let changes = &plan[1].as_ref().unwrap().changes;
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "name");
        let e = plan[4].as_ref().unwrap_err();
        assert!(
            matches!(e, Error::Rejected(r) if r.field.as_deref() == Some("vat") && r.record.contains("KP-0062")),
            "{e}"
        );
        // the run: what the plan said
        let outcomes = Sink::<Product>::write_batch(shop.as_ref(), &items).await;
        assert!(matches!(outcomes[0], Ok(WriteOutcome::Unchanged { .. })));
        assert!(matches!(outcomes[1], Ok(WriteOutcome::Updated { .. })));
        assert!(matches!(outcomes[2], Ok(WriteOutcome::Created { .. })));
        assert!(matches!(outcomes[3], Ok(WriteOutcome::Created { .. })));
        assert!(outcomes[4].is_err());
        // the new category path exists, under Home
        let made = state.with(|s| {
            s.table("categories")
                .unwrap()
                .values()
                .filter(
                    |c| matches!(c.fields.get("name"), Some(Val::Lang(m)) if m.values().any(|n| n == "Sets")),
                )
                .count()
        });
        assert_eq!(made, 1);
        let again = Sink::<Product>::prepare(shop.as_ref(), &items[..4]).await;
        assert!(
            again
                .iter()
                .all(|p| p.as_ref().unwrap().verdict == Verdict::Unchanged),
            "{again:?}"
        );
    }
}

async fn all_orders(
    shop: &Arc<koppel_prestashop::PrestaShopShop>,
) -> (Vec<Order>, Vec<koppel_core::Rejection>) {
    let src: Arc<dyn koppel_core::Source<Order>> = shop.clone();
    let mut req = ReadRequest::default();
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    loop {
        let page = src.read(&req).await.unwrap();
        for i in page.items {
            match i {
                Ok(o) => ok.push(o),
                Err(r) => bad.push(r),
            }
        }
        match page.next {
            Some(n) => req.page = Some(n),
            None => return (ok, bad),
        }
    }
}

#[tokio::test]
async fn orders_carry_the_shops_own_tax_amounts_and_rounding() {
    let (sim, _) = common::sim(PrestaVersion::V8).await;
    let shop = connector(&sim.base_url()).shop();
    let (orders, rejected) = all_orders(&shop).await;
    assert_eq!(orders.len() + rejected.len(), 40);
    // the broken seed records, each named by record and field
    assert!(
        rejected
            .iter()
            .any(|r| r.record == "order 8" && r.field.as_deref() == Some("lines[0].sku")),
        "{rejected:?}"
    );
    assert!(
        rejected
            .iter()
            .any(|r| r.record == "order 14" && r.field.as_deref() == Some("billing.country")),
        "{rejected:?}"
    );
    let mut kinds = std::collections::BTreeSet::new();
    for o in &orders {
        kinds.insert(format!("{:?}", o.vat_rounding));
        let lines: Decimal = o.lines.iter().map(|l| l.row_total).sum();
        let ship = o.shipping_cost.as_ref().map_or(Decimal::ZERO, |s| s.amount);
        // the shop's incl. amounts add up to its total to the cent, whatever the rounding type
        // (what SnelStart sums for an "inclusief" order)
        assert_eq!(
            (lines + ship - o.discount).round_dp(2),
            o.grand_total,
            "order {}",
            o.number
        );
        if o.vat_rounding != VatRounding::PerTotal {
            let line_tax: Decimal = o.lines.iter().map(|l| l.tax.unwrap()).sum();
            let ship_tax = o.shipping_cost.as_ref().unwrap().tax.unwrap();
            let discount_tax = if o.discount.is_zero() {
                Decimal::ZERO
            } else {
                dec!(1.05)
            };
            assert_eq!(
                line_tax + ship_tax - discount_tax,
                o.tax_total,
                "order {}",
                o.number
            );
        }
        assert!(o
            .lines
            .iter()
            .all(|l| l.tax.is_some() && l.vat_percentage.is_some()));
        assert_eq!(o.shipping_cost.as_ref().unwrap().tax, Some(dec!(0.87)));
        assert_eq!(o.currency.as_str(), "EUR");
    }
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    // a guest order's buyer is keyed by e-mail, a registered one by id
    assert!(orders
        .iter()
        .any(|o| o.customer.is_guest && o.customer.key.starts_with("guest:")));
    assert!(orders
        .iter()
        .any(|o| !o.customer.is_guest && o.customer.key.parse::<u64>().is_ok()));
}

#[tokio::test]
async fn pages_stay_correct_while_orders_change() {
    let (sim, state) = common::sim(PrestaVersion::V17).await;
    let shop = connector(&sim.base_url()).shop();
    let src: Arc<dyn koppel_core::Source<Order>> = shop.clone();
    let until = chrono::Utc::now();
    let req = ReadRequest {
        since: None,
        until: Some(until),
        page: None,
    };
    let first = src.read(&req).await.unwrap();
    let seen: Vec<String> = first.items.iter().flatten().map(|o| o.number.clone()).collect();
    // an order of the first page changes (leaves the window), before the second page is read
    let moved: u64 = seen[0].parse().unwrap();
    state.with(|s| {
        let tz = s.tz;
        let o = s.table_mut("orders").get_mut(&moved).unwrap();
        o.set(
            "date_upd",
            koppel_sandbox::prestashop::data::local_time(
                chrono::Utc::now() + chrono::TimeDelta::hours(1),
                tz,
            ),
        );
    });
    let mut all = seen.clone();
    let mut rejected = first.items.iter().filter(|i| i.is_err()).count();
    let mut next = first.next;
    while let Some(n) = next {
        let page = src
            .read(&ReadRequest {
                page: Some(n),
                ..req.clone()
            })
            .await
            .unwrap();
        rejected += page.items.iter().filter(|i| i.is_err()).count();
        all.extend(page.items.iter().flatten().map(|o| o.number.clone()));
        next = page.next;
    }
    let mut uniq = all.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), all.len(), "an order was read twice");
    assert_eq!(all.len() + rejected, 40, "an unchanged order was skipped");
}

#[tokio::test]
async fn stock_writes_only_changed_quantities_and_keeps_id_shop() {
    for version in [PrestaVersion::V17, PrestaVersion::V8] {
        let (sim, state) = common::sim(version).await;
        let shop = connector(&sim.base_url()).shop();
        let level = |sku: &str, q: Decimal| {
            WriteItem::new(StockLevel {
                sku: Sku::new(sku).unwrap(),
                quantity: q,
                source_id: None,
                modified: None,
            })
        };
        let current: i64 = state.with(|s| {
            s.get("stock_availables", 2)
                .unwrap()
                .get("quantity")
                .parse()
                .unwrap()
        });
        let items = vec![
            level("KP-0001", dec!(5)),
            level("KP-0002", Decimal::from(current)),
            level("KP-0150", dec!(3)),
        ];
        let out = Sink::<StockLevel>::write_batch(shop.as_ref(), &items).await;
        assert!(matches!(out[0], Ok(WriteOutcome::Updated { .. })), "{out:?}");
        assert!(matches!(out[1], Ok(WriteOutcome::Unchanged { .. })), "{out:?}");
        assert!(
            matches!(&out[2], Err(Error::Rejected(r)) if r.field.as_deref() == Some("sku")),
            "{out:?}"
        );
        let row = state.with(|s| s.get("stock_availables", 1).unwrap().clone());
        assert_eq!(row.get("quantity"), "5");
        assert_eq!(row.get("id_shop"), "1");
        let stats = sim.control.stats();
        let writes = stats.count("PUT", "/api/{resource}") + stats.count("PATCH", "/api/{resource}");
        assert_eq!(writes, 1);
        assert_eq!(stats.count("POST", "/api/{resource}"), 0);
    }
}

#[tokio::test]
async fn a_paid_invoice_adds_one_order_state_and_mails_nobody() {
    let (sim, state) = common::sim(PrestaVersion::V8).await;
    let shop = connector(&sim.base_url()).shop();
    // order 2 is "Processing in progress" (3)
    assert_eq!(
        state.with(|s| s.get("orders", 2).unwrap().get("current_state").to_owned()),
        "3"
    );
    let item = WriteItem::new(PaymentStatus {
        order_number: "2".into(),
        invoice_number: "F-2".into(),
        paid: true,
        paid_amount: Money::eur(dec!(10)),
        modified: None,
    });
    let out = Sink::<PaymentStatus>::write(shop.as_ref(), &item).await.unwrap();
    assert_eq!(
        out,
        WriteOutcome::Updated {
            target_id: "2".into()
        }
    );
    assert_eq!(
        state.with(|s| s.get("orders", 2).unwrap().get("current_state").to_owned()),
        STATE_PAYMENT_ACCEPTED.to_string()
    );
    let again = Sink::<PaymentStatus>::write(shop.as_ref(), &item).await.unwrap();
    assert!(matches!(again, WriteOutcome::Unchanged { .. }));
    let stats = sim.control.stats();
    assert_eq!(stats.count("POST", "/api/{resource}"), 1);
    assert_eq!(stats.count("PUT", "/api/{resource}"), 0);
    assert_eq!(state.mails(), 0);
    // an order the shop does not have
    let missing = WriteItem::new(PaymentStatus {
        order_number: "9999".into(),
        ..item.record.clone()
    });
    assert!(matches!(
        Sink::<PaymentStatus>::write(shop.as_ref(), &missing).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn check_names_the_permissions_the_key_lacks() {
    let mut perms: BTreeMap<String, Vec<String>> = koppel_sandbox::prestashop::schema::RESOURCES
        .iter()
        .map(|r| {
            (
                r.name.to_owned(),
                vec!["GET".to_owned(), "PUT".to_owned(), "POST".to_owned()],
            )
        })
        .collect();
    perms.insert("stock_availables".into(), vec!["GET".into()]);
    perms.remove("order_details");
    let (sim, _) = start_inspectable(
        "127.0.0.1:0".parse().unwrap(),
        PrestaOptions {
            permissions: Some(perms),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let e = connector(&sim.base_url()).shop().check().await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Config { .. }), "{msg}");
    assert!(
        msg.contains("stock_availables PUT") && msg.contains("order_details GET"),
        "{msg}"
    );
    // a write the key may not do is an auth error naming resource and method
    let c =
        koppel_prestashop::factory(common::config(&sim.base_url()), &ConnectorContext::default()).unwrap();
    let sink = c.endpoints().stock_sink.unwrap();
    let r = sink
        .write(&WriteItem::new(StockLevel {
            sku: Sku::new("KP-0001").unwrap(),
            quantity: dec!(1),
            source_id: None,
            modified: None,
        }))
        .await;
    assert!(
        matches!(&r, Err(Error::Auth { message }) if message.contains("PUT") && message.contains("stock_availables")),
        "{r:?}"
    );
}

/// The simulator itself, through raw HTTP: what the docs and the source say the webservice does.
#[tokio::test]
async fn the_simulated_webservice_behaves_like_prestashop() {
    let (sim, _) = common::sim(PrestaVersion::V17).await;
    let base = sim.base_url();
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).basic_auth(WS_KEY, Some(""));
    // no key: 401 with the realm
    let r = http.get(format!("{base}/api/products")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("PrestaShop Webservice"));
    // date filters need date=1 (error 32)
    let r = get("/api/orders?output_format=JSON&filter[date_upd]=[2020-01-01 00:00:00,2030-01-01 00:00:00]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["code"], 32);
    // an empty list is []
    let r = get("/api/orders?output_format=JSON&filter[id]=[99999]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "[]");
    // a JSON body is not XML (127); PATCH does not exist on 1.7 (23); stock has no POST (101)
    let r = http
        .post(format!("{base}/api/products?output_format=JSON"))
        .basic_auth(WS_KEY, Some(""))
        .body(r#"{"product":{"price":"1"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.json::<Value>().await.unwrap()["errors"][0]["code"], 127);
    let r = http
        .patch(format!("{base}/api/products?output_format=JSON"))
        .basic_auth(WS_KEY, Some(""))
        .body("<prestashop><product><id>1</id></product></prestashop>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.json::<Value>().await.unwrap()["errors"][0]["code"], 23);
    let r = http
        .post(format!("{base}/api/stock_availables?output_format=JSON"))
        .basic_auth(WS_KEY, Some(""))
        .body("<prestashop><stock_available><quantity>1</quantity></stock_available></prestashop>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["errors"][0]["code"], 101);
    // a partial PUT wipes what it omits, and a missing required field is error 41
    let r = http
        .put(format!("{base}/api/products?output_format=JSON"))
        .basic_auth(WS_KEY, Some(""))
        .body("<prestashop><product><id>1</id><name><language id=\"1\">X</language></name></product></prestashop>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["errors"][0]["code"], 41);
    // read-only fields are refused (93)
    let r = http
        .put(format!("{base}/api/products?output_format=JSON"))
        .basic_auth(WS_KEY, Some(""))
        .body("<prestashop><product><id>1</id><price>1</price><quantity>5</quantity></product></prestashop>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["errors"][0]["code"], 93);

    // on 8.x a single-record JSON read drops "0" and "" fields; the list shape keeps them
    let (sim8, _) = common::sim(PrestaVersion::V8).await;
    let base = sim8.base_url();
    let one: Value = http
        .get(format!("{base}/api/products/1?output_format=JSON"))
        .basic_auth(WS_KEY, Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(one["product"].get("on_sale").is_none());
    let list: Value = http
        .get(format!(
            "{base}/api/products?output_format=JSON&display=full&filter[id]=[1]"
        ))
        .basic_auth(WS_KEY, Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["products"][0]["on_sale"], "0");
    assert_eq!(list["products"][0]["name"][0]["id"], "1");
}
