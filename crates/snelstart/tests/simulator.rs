//! The connector against the SnelStart simulator (`koppel_sandbox::snelstart`) over real HTTP
//! on loopback: products and stock read incrementally, customers matched or created, orders
//! written exactly once (also after a crash between the POST and recording its outcome), open
//! amounts and payments read back, SnelStart's error bodies mapped, and no 429 under the
//! default limits.

mod common;

use std::sync::Arc;

use common::*;
use koppel_core::{
    Connector, Error, OpenAmount, Page, PaymentStatus, Product, ReadRequest, Source, StockLevel, TaxMode,
    WriteItem, WriteOutcome,
};
use koppel_sandbox::seed::articles;
use koppel_sandbox::snelstart::{RateLimits, SnelStartOptions};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

#[tokio::test]
async fn products_and_stock_are_read_incrementally() {
    let sim = sim(SnelStartOptions::default()).await;
    let c = connector(&sim, json!({ "stock": { "kind": "free" } }));
    let ep = c.endpoints();
    let products = ep.product_source.unwrap();
    let stock = ep.stock_source.unwrap();

    let all = read_all(&products, None).await;
    assert_eq!(all.len(), 60);
    let seed = articles(&SEED);
    let p1 = all.iter().find(|p| p.sku.as_str() == "KP-0001").unwrap();
    assert_eq!(p1.price.amount, seed[0].price_excl);
    assert_eq!(p1.tax_mode, TaxMode::Exclusive);
    assert_eq!(p1.vat.as_ref().unwrap().percentage, seed[0].vat.percentage());
    assert_eq!(p1.weight, Some(seed[0].weight));
    assert_eq!(p1.category, vec![seed[0].category.clone()]);
    assert!(!all.iter().find(|p| p.sku.as_str() == "KP-0040").unwrap().active);
    // 60 articles, 25 per request, read in slices (never `$skip`): the records without change
    // time (none), the whole window (full, so split at the change times it returned), its
    // four parts; and reference data once
    let s = sim.control.stats();
    assert_eq!(s.count("GET", "/v2/artikelen"), 6);
    assert_eq!(s.count("GET", "/v2/btwtarieven"), 1);

    let levels = read_all(&stock, None).await;
    assert_eq!(levels.len(), 60);
    let l1 = levels.iter().find(|l| l.sku.as_str() == "KP-0001").unwrap();
    assert_eq!(l1.quantity, Decimal::from(seed[0].stock - seed[0].backorders));

    // the cursor: the newest change seen
    let cursor = all.iter().filter_map(|p| p.modified).max().unwrap();
    assert!(read_all(&products, Some(cursor)).await.is_empty());

    // a SnelStart user changes one price
    let api = SimApi::new(&sim).await;
    api.set_price("KP-0002", 99.95).await;

    let changed = read_all(&products, Some(cursor)).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].sku.as_str(), "KP-0002");
    assert_eq!(changed[0].price.amount, dec!(99.95));
    let changed_stock = read_all(&stock, Some(cursor)).await;
    assert_eq!(
        changed_stock.iter().map(|l| l.sku.as_str()).collect::<Vec<_>>(),
        vec!["KP-0002"]
    );
    // the stock reads asked only for the fields they need
    no_429(&sim);
}

/// The articles orders book costs on (`orders.*_article`) and those in `products.exclude` are
/// not shop products: the products and stock flows leave them out.
#[tokio::test]
async fn service_and_excluded_articles_are_not_products() {
    let sim = sim(SnelStartOptions::default()).await;
    let api = SimApi::new(&sim).await;
    api.create_article("VERZEND", "Hoog").await;
    let c = connector(
        &sim,
        json!({
            "orders": { "shipping_article": "VERZEND" },
            "products": { "exclude": ["KP-0003"] },
            "stock": { "skip_untracked": false },
        }),
    );
    let ep = c.endpoints();
    let products = read_all(&ep.product_source.unwrap(), None).await;
    let skus: Vec<&str> = products.iter().map(|p| p.sku.as_str()).collect();
    assert_eq!(
        skus.len(),
        59,
        "60 seeded + VERZEND - VERZEND - KP-0003: {skus:?}"
    );
    assert!(!skus.contains(&"VERZEND") && !skus.contains(&"KP-0003"));
    let levels = read_all(&ep.stock_source.unwrap(), None).await;
    assert!(levels
        .iter()
        .all(|l| l.sku.as_str() != "VERZEND" && l.sku.as_str() != "KP-0003"));
    assert_eq!(levels.len(), 59);
}

#[tokio::test]
async fn customers_are_matched_or_created() {
    let sim = sim(SnelStartOptions::default()).await;
    let c = connector(&sim, json!({}));
    let sink = c.endpoints().customer_sink.unwrap();
    let api = SimApi::new(&sim).await;

    // a seeded relatie: "Jansen Koffie B.V.", klant1@example.nl, Stationsstraat 1, Utrecht
    let seeded = api.get("/relaties?$filter=Relatiecode%20eq%201001").await[0].clone();
    let mut known = customer("11", "klant1@example.nl");
    known.first_name = None;
    known.last_name = None;
    known.company = Some("Jansen Koffie B.V.".into());
    known.billing = Some(koppel_core::Address {
        first_name: None,
        last_name: None,
        ..address(
            "Stationsstraat 1",
            seeded["vestigingsAdres"]["postcode"].as_str().unwrap(),
            "Utrecht",
        )
    });
    let out = sink.write(&WriteItem::new(known.clone())).await.unwrap();
    assert_eq!(
        out,
        WriteOutcome::Unchanged {
            target_id: seeded["id"].as_str().unwrap().to_owned()
        }
    );

    // a changed phone number: the whole relatie is PUT back, SnelStart's fields kept
    known.phone = Some("030-7654321".into());
    let mut item = WriteItem::new(known.clone());
    item.target_id = Some(out.target_id().to_owned());
    let out2 = sink.write(&item).await.unwrap();
    assert_eq!(
        out2,
        WriteOutcome::Updated {
            target_id: out.target_id().to_owned()
        }
    );
    let after = api.get(&format!("/relaties/{}", out.target_id())).await;
    assert_eq!(after["telefoon"], "030-7654321");
    assert_eq!(after["relatiecode"], 1001);
    assert_eq!(after["krediettermijn"], 14);

    // a new customer is created once; writing it again (bound) changes nothing
    let new = customer("12", "nieuw@example.nl");
    let created = sink.write(&WriteItem::new(new.clone())).await.unwrap();
    let WriteOutcome::Created { target_id } = &created else {
        panic!("{created:?}")
    };
    let r = api.get(&format!("/relaties/{target_id}")).await;
    assert_eq!(r["naam"], "Jan Jansen");
    assert_eq!(r["relatiesoort"], json!(["Klant"]));
    assert_eq!(r["vestigingsAdres"]["straat"], "Dorpsstraat 1");
    let mut again = WriteItem::new(new.clone());
    again.target_id = Some(target_id.clone());
    assert_eq!(
        sink.write(&again).await.unwrap(),
        WriteOutcome::Unchanged {
            target_id: target_id.clone()
        }
    );
    // unbound, it is found by e-mail instead of created twice
    assert_eq!(
        sink.write(&WriteItem::new(new)).await.unwrap().target_id(),
        target_id
    );
    let s = sim.control.stats();
    assert_eq!(s.count("POST", "/v2/relaties"), 1);
    assert_eq!(s.count("PUT", "/v2/relaties/{id}"), 1);

    // too long for SnelStart: rejected before any request, naming the field and the limit
    let mut long = customer("13", "lang@example.nl");
    long.company = Some("Een bedrijfsnaam die echt veel te lang is voor SnelStart".into());
    match sink.write(&WriteItem::new(long)).await.unwrap_err() {
        Error::Rejected(r) => {
            assert_eq!(r.field.as_deref(), Some("company"));
            assert!(r.message.contains("at most 50"), "{r}");
        }
        e => panic!("{e:?}"),
    }

    // SnelStart's own validation (REL-0059: a Dutch VAT number of the wrong shape) arrives as a
    // rejection with its code
    let mut bad_vat = customer("14", "btw@example.nl");
    bad_vat.vat_number = Some("NL12345".into());
    match sink.write(&WriteItem::new(bad_vat)).await.unwrap_err() {
        Error::Rejected(r) => {
            assert_eq!(r.code.as_deref(), Some("REL-0059"));
            assert_eq!(r.field.as_deref(), Some("vat_number"));
            assert_eq!(r.record, "customer 14");
        }
        e => panic!("{e:?}"),
    }

    // guests to one verzameldebiteur
    let collective = connector(
        &sim,
        json!({ "customers": { "guests": "collective", "collective_relatie_code": 1002 } }),
    );
    let mut guest = customer("guest:g@example.nl", "g@example.nl");
    guest.is_guest = true;
    let out = collective
        .endpoints()
        .customer_sink
        .unwrap()
        .write(&WriteItem::new(guest))
        .await
        .unwrap();
    let verzamel = api.get("/relaties?$filter=Relatiecode%20eq%201002").await[0]["id"].clone();
    assert_eq!(
        out,
        WriteOutcome::Unchanged {
            target_id: verzamel.as_str().unwrap().to_owned()
        }
    );
    no_429(&sim);
}

#[tokio::test]
async fn orders_are_created_exactly_once() {
    let sim = sim(SnelStartOptions::default()).await;
    // every write looks the order up by orderreferentie first (in the sink's prepare)
    let c = connector(
        &sim,
        json!({ "orders": { "shipping_article": "VERZEND", "discount_article": "KORTING", "lookup_before_create": true } }),
    );
    let setup = order_setup(&sim, &c).await;
    let sink = c.endpoints().order_sink.unwrap();
    let api = SimApi::new(&sim).await;

    let order = shop_order("WEB-1001", &setup, &[("KP-0001", 2), ("KP-0003", 1)]);
    let created = sink.write(&item(order.clone(), &setup)).await.unwrap();
    let WriteOutcome::Created { target_id } = &created else {
        panic!("{created:?}")
    };
    let stored = api.get(&format!("/verkooporders/{target_id}")).await;
    assert_eq!(stored["orderreferentie"], "WEB-1001");
    assert_eq!(stored["verkooporderBtwIngaveModel"], "Inclusief");
    assert_eq!(stored["regels"].as_array().unwrap().len(), 3);
    assert_eq!(stored["afleveradres"]["plaats"], "Gouda");
    // SnelStart's total equals the shop's grand total to the cent
    let total: Decimal = serde_json::from_value(stored["totaalInclusiefBtw"].clone()).unwrap();
    assert_eq!(total, order.grand_total);

    // a second write of the same order (no binding yet) finds it and does not post again
    let again = sink.write(&item(order.clone(), &setup)).await.unwrap();
    assert_eq!(
        again,
        WriteOutcome::Unchanged {
            target_id: target_id.clone()
        }
    );
    // bound: never re-posted either
    let mut bound = item(order.clone(), &setup);
    bound.target_id = Some(target_id.clone());
    assert_eq!(sink.write(&bound).await.unwrap().target_id(), target_id);
    assert_eq!(sim.control.stats().count("POST", "/v2/verkooporders"), 1);
    assert_eq!(orders_with_reference(&api, "WEB-1001").await.len(), 1);

    // a crash between the POST and recording the outcome: the order was stored, the client
    // saw a 500; the outcome is uncertain, and lookup finds the order. (Prepared before the
    // fault, on a second connector with warm caches, so that the POST is the only request the
    // fault hits.)
    let direct = connector(&sim, json!({ "orders": { "shipping_article": "VERZEND" } }));
    let direct_sink = direct.endpoints().order_sink.unwrap();
    direct_sink
        .write(&item(shop_order("WEB-1000", &setup, &[("KP-0001", 1)]), &setup))
        .await
        .unwrap();
    let order2 = shop_order("WEB-1002", &setup, &[("KP-0001", 3)]);
    let items = [item(order2.clone(), &setup)];
    let prepared: Vec<_> = direct_sink
        .prepare(&items)
        .await
        .into_iter()
        .map(|p| p.unwrap())
        .collect();
    assert_eq!(prepared[0].verdict, koppel_core::Verdict::Create);
    sim.control.set_faults(koppel_sandbox::control::Faults {
        error_after_rate: 1.0,
        ..Default::default()
    });
    let e = direct_sink
        .apply(&items, &prepared)
        .await
        .pop()
        .unwrap()
        .unwrap_err();
    assert!(matches!(e, Error::Uncertain { .. }), "{e:?}");
    sim.control.set_faults(Default::default());
    let found = sink.lookup(&order2).await.unwrap().expect("the order was stored");
    assert_eq!(
        sink.write(&item(order2, &setup)).await.unwrap(),
        WriteOutcome::Unchanged { target_id: found }
    );
    assert_eq!(orders_with_reference(&api, "WEB-1002").await.len(), 1);

    // records at fault are rejected naming the field, and nothing is posted
    let posts = sim.control.stats().count("POST", "/v2/verkooporders");
    let mut unknown = shop_order("WEB-1003", &setup, &[("KP-0001", 1)]);
    unknown.lines[0].sku = Some(koppel_core::Sku::new("NOPE-1").unwrap());
    let e = sink.write(&item(unknown, &setup)).await.unwrap_err();
    assert!(
        matches!(&e, Error::Rejected(r) if r.field.as_deref() == Some("lines[0].sku")),
        "{e:?}"
    );
    let mut wrong_vat = shop_order("WEB-1004", &setup, &[("KP-0001", 1)]);
    wrong_vat.lines[0].vat_percentage = Some(dec!(7));
    let e = sink.write(&item(wrong_vat, &setup)).await.unwrap_err();
    assert!(
        matches!(&e, Error::Rejected(r) if r.field.as_deref() == Some("lines[0].vat_percentage")),
        "{e:?}"
    );
    let mut off = shop_order("WEB-1005", &setup, &[("KP-0001", 1)]);
    off.grand_total += dec!(0.01);
    let e = sink.write(&item(off, &setup)).await.unwrap_err();
    assert!(
        matches!(&e, Error::Rejected(r) if r.field.as_deref() == Some("grand_total")),
        "{e:?}"
    );
    let no_customer = WriteItem::new(shop_order("WEB-1006", &setup, &[("KP-0001", 1)]));
    let e = sink.write(&no_customer).await.unwrap_err();
    assert!(
        matches!(&e, Error::Rejected(r) if r.field.as_deref() == Some("customer")),
        "{e:?}"
    );
    assert_eq!(sim.control.stats().count("POST", "/v2/verkooporders"), posts);

    // a discount line on the configured article, refs by article id
    let mut disc = shop_order("WEB-1007", &setup, &[("KP-0002", 3)]);
    disc.discount = dec!(2.50);
    disc.grand_total -= dec!(2.50);
    let mut it = item(disc.clone(), &setup);
    let kp2 = api.get("/artikelen?$filter=Artikelcode%20eq%20'KP-0002'").await[0]["id"].clone();
    it.refs
        .insert("sku:KP-0002".into(), kp2.as_str().unwrap().to_owned());
    let out = sink.write(&it).await.unwrap();
    let stored = api.get(&format!("/verkooporders/{}", out.target_id())).await;
    let total: Decimal = serde_json::from_value(stored["totaalInclusiefBtw"].clone()).unwrap();
    assert_eq!(total, disc.grand_total);
    no_429(&sim);
}

/// An order read again from the shop after SnelStart invoiced it (the shop touched the order,
/// e.g. koppel wrote a payment note): SnelStart moved it on to `Factuur` and keeps its line
/// totals to the cent, yet nothing of the shop's order changed, so it is unchanged, not
/// "changed after export". With an exact four-decimal unit price (OpenCart's precision).
#[tokio::test]
async fn an_invoiced_order_read_again_is_unchanged() {
    let sim = sim(SnelStartOptions::default()).await;
    let c = connector(&sim, json!({ "orders": { "shipping_article": "VERZEND" } }));
    let setup = order_setup(&sim, &c).await;
    let sink = c.endpoints().order_sink.unwrap();
    let api = SimApi::new(&sim).await;
    let mut order = shop_order("WEB-2001", &setup, &[("KP-0001", 3)]);
    // 3 x 8.2645 = 24.7935: SnelStart keeps 24.79
    let l = &mut order.lines[0];
    let before = l.row_total;
    l.unit_price = dec!(8.2645);
    l.row_total = dec!(24.7935);
    order.grand_total = order.grand_total - before + dec!(24.79);
    let created = sink.write(&item(order.clone(), &setup)).await.unwrap();
    let WriteOutcome::Created { target_id } = &created else {
        panic!("{created:?}")
    };
    api.control("invoice", json!({ "verkooporderId": target_id }))
        .await;
    let stored = api.get(&format!("/verkooporders/{target_id}")).await;
    assert_eq!(stored["procesStatus"], "Factuur", "{stored}");
    let mut again = item(order.clone(), &setup);
    again.target_id = Some(target_id.clone());
    again.previous = Some(order.clone());
    let prepared = sink.prepare(std::slice::from_ref(&again)).await.pop().unwrap();
    let p = prepared.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.verdict, koppel_core::Verdict::Unchanged, "{p:?}");
    assert_eq!(
        sim.control
            .stats()
            .count("PUT", &format!("/v2/verkooporders/{target_id}")),
        0
    );
}

#[tokio::test]
async fn open_amounts_and_payments_are_read_back() {
    let sim = sim(SnelStartOptions::default()).await;
    let c = connector(&sim, json!({}));
    let setup = order_setup(&sim, &c).await;
    let api = SimApi::new(&sim).await;
    let ep = c.endpoints();
    let open_src: Arc<dyn Source<OpenAmount>> = ep.open_amount_source.unwrap();
    let pay_src: Arc<dyn Source<PaymentStatus>> = ep.payment_source.unwrap();

    let order = shop_order("WEB-2001", &setup, &[("KP-0001", 1)]);
    let id = ep
        .order_sink
        .unwrap()
        .write(&item(order.clone(), &setup))
        .await
        .unwrap()
        .target_id()
        .to_owned();
    // an order entered in SnelStart itself, without orderreferentie: its invoice is skipped
    let manual = api
        .call(
            reqwest::Method::POST,
            "/verkooporders",
            Some(json!({ "relatie": { "id": setup.relatie }, "datum": "2025-01-10T00:00:00",
                          "regels": [{ "artikel": { "id": api.get("/artikelen?$filter=Artikelcode%20eq%20'KP-0001'").await[0]["id"] }, "aantal": 1 }] })),
        )
        .await;
    assert!(read_all(&open_src, None).await.is_empty());

    let factuur = api.control("invoice", json!({ "verkooporderId": id })).await;
    api.control("invoice", json!({ "verkooporderId": manual["id"] }))
        .await;
    let open = read_all(&open_src, None).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].order_number, "WEB-2001");
    assert_eq!(open[0].open_amount.amount, order.grand_total);
    assert_eq!(open[0].invoice_number, factuur["factuurnummer"].as_str().unwrap());
    let pay = read_all(&pay_src, None).await;
    assert!(!pay[0].paid);
    let cursor = open[0].modified.unwrap();

    // the customer pays part, then the rest
    api.control(
        "payment",
        json!({ "verkoopfactuurId": factuur["id"], "bedrag": 10 }),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let open = read_all(&open_src, Some(cursor)).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].open_amount.amount, order.grand_total - dec!(10));
    let pay = read_all(&pay_src, Some(cursor)).await;
    assert_eq!((pay[0].paid, pay[0].paid_amount.amount), (false, dec!(10)));
    let cursor = open[0].modified.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let rest: f64 = (order.grand_total - dec!(10)).to_string().parse().unwrap();
    api.control(
        "payment",
        json!({ "verkoopfactuurId": factuur["id"], "bedrag": rest }),
    )
    .await;
    let pay = read_all(&pay_src, Some(cursor)).await;
    assert_eq!(pay.len(), 1);
    assert!(pay[0].paid, "{pay:?}");
    assert_eq!(pay[0].paid_amount.amount, order.grand_total);
    no_429(&sim);
}

#[tokio::test]
async fn check_against_the_simulator() {
    let sim = sim(SnelStartOptions::default()).await;
    // the seed has no shipping article: check names the setting
    match connector(&sim, json!({})).check().await.unwrap_err() {
        Error::Config { path, message } => {
            assert_eq!(path, "orders.shipping_article");
            assert!(message.contains("no article \"VERZEND\""), "{message}");
        }
        e => panic!("{e:?}"),
    }
    let report = connector(&sim, json!({ "orders": {} })).check().await.unwrap();
    assert!(
        report.checks.iter().any(|l| l.contains("Koppel Sandbox B.V.")),
        "{report:?}"
    );

    let scoped = self::sim(SnelStartOptions {
        missing_scopes: vec!["settings:read".into()],
        ..Default::default()
    })
    .await;
    match connector(&scoped, json!({})).check().await.unwrap_err() {
        Error::Auth { message } => assert!(message.contains("settings:read"), "{message}"),
        e => panic!("{e:?}"),
    }
    let bad = connector(&sim, json!({ "client_key": "wrong-key" }));
    assert!(
        matches!(bad.check().await.unwrap_err(), Error::Auth { message } if message.contains("koppelsleutel"))
    );
    let bad = connector(&sim, json!({ "subscription_key": "wrong-subscription" }));
    assert!(
        matches!(bad.check().await.unwrap_err(), Error::Auth { message } if message.contains("subscription_key"))
    );
}

#[tokio::test]
async fn expired_tokens_and_malformed_records_are_handled() {
    let sim = sim(SnelStartOptions::default()).await;
    let c = connector(&sim, json!({}));
    let stock = c.endpoints().stock_source.unwrap();
    assert_eq!(read_all(&stock, None).await.len(), 60);
    // SnelStart drops the token early: one 401, a new token, the read goes on
    sim.control.set_faults(koppel_sandbox::control::Faults {
        expire_tokens: true,
        ..Default::default()
    });
    assert_eq!(read_all(&stock, None).await.len(), 60);
    assert_eq!(c.client().token_fetches(), 2);
    // a corrupted record is one rejection, the page goes on (reference data read before)
    let products: Arc<dyn Source<Product>> = c.endpoints().product_source.unwrap();
    assert!(products
        .read(&ReadRequest::default())
        .await
        .unwrap()
        .items
        .iter()
        .all(|i| i.is_ok()));
    sim.control.set_faults(koppel_sandbox::control::Faults {
        malformed_rate: 1.0,
        ..Default::default()
    });
    let page: Page<StockLevel> = stock.read(&ReadRequest::default()).await.unwrap();
    assert!((1..=25).contains(&page.items.len()), "{}", page.items.len());
    assert_eq!(page.items.iter().filter(|i| i.is_err()).count(), 1);
    let page = products.read(&ReadRequest::default()).await.unwrap();
    assert_eq!(page.items.iter().filter(|i| i.is_err()).count(), 1);
    no_429(&sim);
}

#[tokio::test]
async fn a_burst_on_a_test_key_stays_within_the_concurrency_limit() {
    // the simulator enforces 5 concurrent calls (test key); the per-minute budget is raised
    // so the test does not wait on it
    let limits = RateLimits {
        per_minute: 10_000,
        per_hour: 100_000,
        concurrent: 5,
    };
    let sim = sim(SnelStartOptions {
        rate_limits: limits,
        faults: koppel_sandbox::control::Faults {
            latency_ms: 20,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let c = connector(
        &sim,
        json!({ "key_kind": "test", "rate_limits": { "per_minute": 10000, "per_hour": 100000, "concurrent": 5 } }),
    );
    let stock = c.endpoints().stock_source.unwrap();
    let reads = (0..40).map(|_| {
        let s = stock.clone();
        async move { s.read(&ReadRequest::default()).await.map(|p| p.items.len()) }
    });
    let results = futures::future::join_all(reads).await;
    assert!(
        results.iter().all(|r| matches!(r, Ok(n) if (1..=25).contains(n))),
        "{results:?}"
    );
    no_429(&sim);
    assert_eq!(c.stats().retries, 0);
}
