//! Flow tests against the Magento simulator (`koppel_sandbox::magento`) over HTTP on loopback.

mod common;

use std::collections::BTreeSet;

use chrono::Utc;
use common::{product_of, shop};
use koppel_core::model::{convert_tax_mode, Kind};
use koppel_core::{
    Connector, Customer, Error, Money, OpenAmount, Order, PaymentStatus, Product, ReadRequest, Record, Sink,
    Sku, Source, StockLevel, TaxMode, VatRate, WriteItem, WriteOutcome,
};
use koppel_magento::client::{Filter, SearchCriteria};
use koppel_magento::models::{SearchResult, WireComment};
use koppel_magento::MagentoConnector;
use koppel_sandbox::magento::{MagentoOptions, ACCESS_TOKEN, TAX_CLASS_HIGH, TAX_CLASS_LOW};
use koppel_sandbox::seed::{self, SeedArticle, SeedConfig};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

fn with(cfg: &serde_json::Value, f: impl FnOnce(&mut serde_json::Value)) -> MagentoConnector {
    let mut v = cfg.clone();
    f(&mut v);
    MagentoConnector::new(koppel_magento::parse(v).unwrap(), "test").unwrap()
}

fn articles() -> Vec<SeedArticle> {
    seed::articles(&SeedConfig::default())
}

/// The first `n` seed articles as products written for the first time.
fn first_items(arts: &[SeedArticle], n: usize) -> Vec<WriteItem<Product>> {
    arts.iter()
        .take(n)
        .map(|a| WriteItem::new(product_of(a)))
        .collect()
}

async fn write_all<R: Record>(
    sink: &dyn Sink<R>,
    items: &[WriteItem<R>],
) -> Vec<koppel_core::Result<WriteOutcome>> {
    let mut out = Vec::new();
    for chunk in items.chunks(sink.batch_size()) {
        out.extend(sink.write_batch(chunk).await);
    }
    out
}

const PRODUCT_PUT: &str = "/rest/{store}/V1/products/{sku}";

#[tokio::test]
async fn products_are_upserted_and_unchanged_ones_cost_nothing() {
    let opts = MagentoOptions::default();
    let (sim, c, _) = shop(opts).await;
    let sink = c.endpoints().product_sink.unwrap();
    let arts = articles();
    let mut products: Vec<Product> = arts.iter().take(30).map(product_of).collect();
    products[25].attributes.insert("color".into(), "Blauw".into());
    let items: Vec<WriteItem<Product>> = products.iter().cloned().map(WriteItem::new).collect();
    let first = write_all(sink.as_ref(), &items).await;
    let mut created = 0;
    let mut written = 0;
    for (i, r) in first.iter().enumerate() {
        match r.as_ref().unwrap() {
            WriteOutcome::Created { target_id } => {
                assert!(i >= 20, "{i} exists in the seeded shop");
                assert_eq!(target_id, &arts[i].sku);
                created += 1;
                written += 1;
            }
            WriteOutcome::Updated { .. } => written += 1,
            WriteOutcome::Unchanged { .. } => {
                // seeded with an older price on odd positions
                assert!(i % 2 == 0, "product {i} had an older price and must be updated");
            }
        }
    }
    assert_eq!(created, 10);
    let stats = sim.control.stats();
    assert_eq!(stats.count("PUT", PRODUCT_PUT), written);

    // the price is the incl. VAT price, rounded half away from zero to cents
    let a = &arts[1];
    let vat = VatRate::new(a.vat.percentage(), None).unwrap();
    let expected = convert_tax_mode(a.price_excl, TaxMode::Exclusive, TaxMode::Inclusive, &vat, 2);
    let shop = c.shop();
    let p: koppel_magento::models::WireProduct = shop
        .client()
        .get("default", &["products", &a.sku], &[], "/V1/products/{sku}")
        .await
        .unwrap();
    assert_eq!(p.price, Some(expected));
    let class = if a.vat.percentage() == dec!(21) {
        TAX_CLASS_HIGH
    } else {
        TAX_CLASS_LOW
    };
    assert_eq!(p.attribute("tax_class_id"), Some(class.to_string()));
    // the select attribute got the option id of its label
    let blue: koppel_magento::models::WireProduct = shop
        .client()
        .get("default", &["products", &arts[25].sku], &[], "/V1/products/{sku}")
        .await
        .unwrap();
    let options: Vec<koppel_magento::models::AttributeOption> = shop
        .client()
        .get("all", &["products", "attributes", "color", "options"], &[], "/x")
        .await
        .unwrap();
    let blue_id = options
        .iter()
        .find(|o| o.label.as_deref() == Some("Blauw"))
        .and_then(|o| o.value.clone());
    assert!(blue_id.is_some());
    assert_eq!(blue.attribute("color"), blue_id);
    assert!(!blue.category_ids().is_empty(), "category link written");

    // second push with what was written before: no request at all
    sim.control.clear();
    let again: Vec<WriteItem<Product>> = products
        .iter()
        .map(|p| WriteItem {
            previous: Some(p.clone()),
            target_id: Some(p.sku.to_string()),
            ..WriteItem::new(p.clone())
        })
        .collect();
    for r in write_all(sink.as_ref(), &again).await {
        assert!(matches!(r.unwrap(), WriteOutcome::Unchanged { .. }));
    }
    assert_eq!(sim.control.stats().total(), 0, "unchanged products made requests");

    // without the previous record the shop is read, and still nothing is written
    for r in write_all(sink.as_ref(), &items).await {
        assert!(matches!(r.unwrap(), WriteOutcome::Unchanged { .. }));
    }
    assert_eq!(sim.control.stats().count("PUT", PRODUCT_PUT), 0);

    // one changed price sends only the price
    let mut changed = again[3].clone();
    changed.record.price.amount += dec!(1);
    assert!(matches!(
        sink.write(&changed).await.unwrap(),
        WriteOutcome::Updated { .. }
    ));
    assert_eq!(sim.control.stats().count("PUT", PRODUCT_PUT), 1);
}

#[tokio::test]
async fn bad_products_are_rejected_naming_the_field() {
    let (_sim, c, _) = shop(MagentoOptions::default()).await;
    let sink = c.endpoints().product_sink.unwrap();
    let arts = articles();
    let mut p = product_of(&arts[40]);
    p.attributes.insert("color".into(), "Paars".into());
    match sink.write(&WriteItem::new(p)).await {
        Err(Error::Rejected(r)) => {
            assert_eq!(r.field.as_deref(), Some("attributes.color"));
            assert!(r.record.starts_with("product KP-"), "{r}");
        }
        other => panic!("{other:?}"),
    }
    let mut p = product_of(&arts[41]);
    p.vat = Some(VatRate::new(dec!(6), None).unwrap());
    match sink.write(&WriteItem::new(p)).await {
        Err(Error::Rejected(r)) => assert_eq!(r.field.as_deref(), Some("vat")),
        other => panic!("{other:?}"),
    }
}

const OPTIONS_GET: &str = "/rest/{store}/V1/products/attributes/{code}/options";

#[tokio::test]
async fn attribute_options_are_read_once_and_again_after_an_unknown_label() {
    let (sim, c, _) = shop(MagentoOptions::default()).await;
    let sink = c.endpoints().product_sink.unwrap();
    let arts = articles();
    let coloured = |i: usize, colour: &str| {
        let mut p = product_of(&arts[i]);
        p.attributes.insert("color".into(), colour.into());
        WriteItem::new(p)
    };
    sim.control.clear();
    let items: Vec<WriteItem<Product>> = (42..46).map(|i| coloured(i, "Blauw")).collect();
    for r in write_all(sink.as_ref(), &items).await {
        r.unwrap();
    }
    sink.write(&coloured(46, "blauw")).await.unwrap();
    assert_eq!(
        sim.control.stats().count("GET", OPTIONS_GET),
        1,
        "five products of one attribute read its options once"
    );
    // a label the cached list lacks reads the options once more, then rejects
    assert!(matches!(
        sink.write(&coloured(47, "Paars")).await,
        Err(Error::Rejected(_))
    ));
    assert_eq!(sim.control.stats().count("GET", OPTIONS_GET), 2);
}

fn stock(sku: &str, q: Decimal) -> WriteItem<StockLevel> {
    WriteItem::new(StockLevel {
        sku: Sku::new(sku).unwrap(),
        quantity: q,
        source_id: None,
        modified: None,
    })
}

#[tokio::test]
async fn msi_stock_respects_the_input_limit() {
    let opts = MagentoOptions {
        input_limit: Some(20),
        ..Default::default()
    };
    let (sim, c, _) = shop(opts).await;
    let e = c.endpoints();
    // 45 products in the shop
    let arts = articles();
    let products: Vec<WriteItem<Product>> = first_items(&arts, 45);
    for r in write_all(e.product_sink.unwrap().as_ref(), &products).await {
        r.unwrap();
    }
    let sink = e.stock_sink.unwrap();
    assert_eq!(sink.batch_size(), 20);
    let mut items: Vec<WriteItem<StockLevel>> = arts
        .iter()
        .take(45)
        .enumerate()
        .map(|(i, a)| stock(&a.sku, Decimal::from(i as i64)))
        .collect();
    items[7].record.quantity = dec!(-4);
    sim.control.clear();
    // one call with all 45: the sink splits it itself
    let res = sink.write_batch(&items).await;
    assert_eq!(res.len(), 45);
    for r in &res {
        assert!(
            matches!(r.as_ref().unwrap(), WriteOutcome::Updated { .. }),
            "{r:?}"
        );
    }
    let stats = sim.control.stats();
    assert_eq!(stats.count("POST", "/rest/{store}/V1/inventory/source-items"), 3);
    assert_eq!(stats.with_status(400), 0);

    #[derive(serde::Deserialize)]
    struct Item {
        sku: String,
        source_code: String,
        #[serde(deserialize_with = "koppel_core::wire::decimal::de")]
        quantity: Decimal,
        status: u8,
    }
    let q = SearchCriteria::default()
        .and(Filter::new("sku", "eq", &arts[7].sku))
        .query();
    let found: SearchResult<Item> = c
        .shop()
        .client()
        .get("default", &["inventory", "source-items"], &q, "/x")
        .await
        .unwrap();
    let it = found.items.iter().find(|i| i.source_code == "default").unwrap();
    assert_eq!(
        (it.sku.as_str(), it.quantity, it.status),
        (arts[7].sku.as_str(), dec!(0), 0)
    );

    // unchanged against the previous write: no request
    sim.control.clear();
    let mut same = stock(&arts[2].sku, dec!(2));
    same.previous = Some(same.record.clone());
    assert!(matches!(
        sink.write(&same).await.unwrap(),
        WriteOutcome::Unchanged { .. }
    ));
    assert_eq!(sim.control.stats().total(), 0);
}

#[tokio::test]
async fn legacy_stock_items_without_msi() {
    let opts = MagentoOptions {
        msi: false,
        ..Default::default()
    };
    let (sim, c, _) = shop(opts).await;
    let sink = c.endpoints().stock_sink.unwrap();
    let arts = articles();
    let items = vec![stock(&arts[0].sku, dec!(12)), stock(&arts[1].sku, dec!(-1))];
    for r in sink.write_batch(&items).await {
        assert!(matches!(r.unwrap(), WriteOutcome::Updated { .. }));
    }
    assert!(!c.shop().msi_enabled().await.unwrap());
    let stats = sim.control.stats();
    assert_eq!(
        stats.count("PUT", "/rest/{store}/V1/products/{sku}/stockItems/{item_id}"),
        2
    );
    #[derive(serde::Deserialize)]
    struct Si {
        #[serde(deserialize_with = "koppel_core::wire::decimal::de")]
        qty: Decimal,
        is_in_stock: bool,
    }
    for (sku, qty, in_stock) in [(&arts[0].sku, dec!(12), true), (&arts[1].sku, dec!(0), false)] {
        let s: Si = c
            .shop()
            .client()
            .get("default", &["stockItems", sku], &[], "/x")
            .await
            .unwrap();
        assert_eq!((s.qty, s.is_in_stock), (qty, in_stock), "{sku}");
    }
}

async fn read_all<R: Record>(
    src: &dyn Source<R>,
    since: Option<chrono::DateTime<Utc>>,
    until: Option<chrono::DateTime<Utc>>,
) -> (Vec<R>, Vec<koppel_core::Rejection>, usize) {
    let mut req = ReadRequest {
        since,
        until,
        page: None,
    };
    let (mut ok, mut bad, mut pages) = (Vec::new(), Vec::new(), 0);
    loop {
        let page = src.read(&req).await.unwrap();
        pages += 1;
        for i in page.items {
            match i {
                Ok(r) => ok.push(r),
                Err(r) => bad.push(r),
            }
        }
        match page.next {
            Some(n) => req.page = Some(n),
            None => return (ok, bad, pages),
        }
        assert!(pages < 1000, "paging does not end");
    }
}

#[tokio::test]
async fn orders_are_read_incrementally_despite_the_paging_quirk() {
    let opts = MagentoOptions {
        legacy_paging: true,
        ..Default::default()
    };
    let (sim, c, _) = shop(opts).await;
    let src = c.endpoints().order_source.unwrap();
    // what the shop holds in those statuses, and its cancelled orders
    let mut crit = SearchCriteria::default().page(1, 1);
    crit.groups.push(vec![
        Filter::new("status", "in", "processing,complete"),
        Filter::new("state", "eq", "canceled"),
    ]);
    let total = c
        .shop()
        .client()
        .search::<serde_json::Value>(&["orders"], &crit, &[], "/x")
        .await
        .unwrap()
        .total_count as usize;
    assert!(total > 7, "the seed has more than one page ({total})");
    sim.control.clear();
    let until = Utc::now();
    let (orders, rejected, pages) = read_all(src.as_ref(), None, Some(until)).await;
    assert_eq!(orders.len() + rejected.len(), total);
    assert_eq!(pages, total.div_ceil(7));
    assert_eq!(
        sim.control.stats().count("GET", "/rest/{store}/V1/orders"),
        pages as u64
    );
    let keys: BTreeSet<String> = orders.iter().map(Order::key).collect();
    assert_eq!(keys.len(), orders.len(), "an order was read twice");
    // the seed's damaged orders are rejections naming order and field
    let fields: Vec<String> = rejected
        .iter()
        .map(|r| r.field.clone().unwrap_or_default())
        .collect();
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("lines[") && f.ends_with("].sku")),
        "{rejected:?}"
    );
    assert!(fields.iter().any(|f| f.ends_with(".country")), "{rejected:?}");
    assert!(rejected.iter().all(|r| r.record.starts_with("order ")));
    // everything else validates, guests carry their e-mail key, amounts are exact decimals
    for o in &orders {
        o.validate().unwrap();
        assert!(
            o.status == "processing" || o.status == "complete" || o.cancelled,
            "{}",
            o.status
        );
        if o.customer.is_guest {
            assert!(o.customer.key.starts_with("guest:"));
            assert_eq!(o.customer.key, o.customer.key.to_lowercase());
        }
        assert_eq!(o.tax_mode, TaxMode::Inclusive);
    }
    assert!(orders.iter().any(|o| o.customer.is_guest) && orders.iter().any(|o| !o.customer.is_guest));
    // discounts sit on the lines, not again on the order
    assert!(orders
        .iter()
        .any(|o| o.lines.iter().any(|l| l.discount > Decimal::ZERO)));
    assert!(orders.iter().all(|o| o.discount.is_zero()));
    assert!(orders.iter().any(|o| o.cancelled) && orders.iter().any(|o| !o.replaces.is_empty()));
    // incremental: nothing changed after `until`
    let (later, bad, _) = read_all(src.as_ref(), Some(until), None).await;
    assert!(later.is_empty() && bad.is_empty());
    // a window in the past holds only what changed in it
    let mid = orders.iter().filter_map(|o| o.modified).min().unwrap();
    let (window, _, _) = read_all(src.as_ref(), Some(mid), Some(until)).await;
    assert!(window.len() < orders.len());
    assert!(window.iter().all(|o| o.modified.unwrap() > mid));
}

#[tokio::test]
async fn customers_are_read() {
    let (_sim, c, _) = shop(MagentoOptions::default()).await;
    let src = c.endpoints().customer_source.unwrap();
    let (customers, rejected, pages) = read_all(src.as_ref(), None, None).await;
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(customers.len(), SeedConfig::default().customers);
    assert_eq!(pages, customers.len().div_ceil(6));
    for cu in &customers {
        cu.validate().unwrap();
        assert!(cu.billing.is_some() && !cu.is_guest);
        assert!(cu.key.parse::<u64>().is_ok());
    }
    let keys: BTreeSet<&str> = customers.iter().map(|c: &Customer| c.key.as_str()).collect();
    assert_eq!(keys.len(), customers.len());
}

#[tokio::test]
async fn payment_and_open_amount_comments_are_written_once() {
    let (sim, _, cfg) = shop(MagentoOptions::default()).await;
    let c = with(
        &cfg,
        |v| v["payments"] = json!({"comment": "Betaald: factuur {invoice} ({amount})", "status": "complete"}),
    );
    let _ = &sim;
    let (orders, _, _) = read_all(c.endpoints().order_source.unwrap().as_ref(), None, None).await;
    let order = orders.iter().find(|o| o.status == "processing").unwrap();
    let pay = PaymentStatus {
        order_number: order.number.clone(),
        invoice_number: "F2025-0007".into(),
        paid: true,
        paid_amount: Money::eur(order.grand_total),
        modified: None,
    };
    let sink = c.endpoints().payment_sink.unwrap();
    sim.control.clear();
    let first = sink.write(&WriteItem::new(pay.clone())).await.unwrap();
    let id = order.source_id.clone().unwrap();
    assert_eq!(
        first,
        WriteOutcome::Updated {
            target_id: id.clone()
        }
    );
    let second = sink.write(&WriteItem::new(pay.clone())).await.unwrap();
    assert_eq!(
        second,
        WriteOutcome::Unchanged {
            target_id: id.clone()
        }
    );
    let stats = sim.control.stats();
    assert_eq!(stats.count("POST", "/rest/{store}/V1/orders/{id}/comments"), 1);
    assert_eq!(
        stats.count("GET", "/rest/{store}/V1/orders"),
        1,
        "the order id is cached"
    );
    let comments: SearchResult<WireComment> = c
        .shop()
        .client()
        .get("default", &["orders", &id, "comments"], &[], "/x")
        .await
        .unwrap();
    let text = format!("Betaald: factuur F2025-0007 (EUR {})", order.grand_total);
    assert_eq!(
        comments
            .items
            .iter()
            .filter(|x| x.comment.as_deref() == Some(text.as_str()))
            .count(),
        1
    );
    let now: koppel_magento::models::OrderRef = c
        .shop()
        .client()
        .get("default", &["orders", &id], &[], "/x")
        .await
        .unwrap();
    assert_eq!(now.status.as_deref(), Some("complete"));

    // open amount: a comment, the status stays
    let open = OpenAmount {
        order_number: orders[1].number.clone(),
        invoice_number: "F2025-0008".into(),
        invoice_amount: Money::eur(dec!(121.00)),
        open_amount: Money::eur(dec!(21.00)),
        due_date: chrono::NaiveDate::from_ymd_opt(2025, 4, 1),
        modified: None,
    };
    let os = c.endpoints().open_amount_sink.unwrap();
    assert!(matches!(
        os.write(&WriteItem::new(open.clone())).await.unwrap(),
        WriteOutcome::Updated { .. }
    ));
    assert!(matches!(
        os.write(&WriteItem::new(open)).await.unwrap(),
        WriteOutcome::Unchanged { .. }
    ));
    // an order the shop does not have
    let mut missing = pay;
    missing.order_number = "999999999".into();
    let e = sink.write(&WriteItem::new(missing)).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}

#[tokio::test]
async fn check_and_auth_errors_are_actionable() {
    let (_sim, c, cfg) = shop(MagentoOptions::default()).await;
    let report = c.check().await.unwrap();
    assert!(
        report
            .checks
            .iter()
            .any(|l| l.starts_with("authentication (oauth1): ok")),
        "{report:?}"
    );
    assert!(
        report.checks.iter().any(|l| l.contains("Multi-Source Inventory")),
        "{report:?}"
    );
    // plain Bearer is refused by a 2.4.4+ shop that did not enable it
    let bearer = with(&cfg, |v| v["auth"]["mode"] = "bearer".into());
    match bearer.check().await {
        Err(Error::Auth { message }) => assert!(message.contains("oauth1"), "{message}"),
        other => panic!("{other:?}"),
    }
    let wrong = with(&cfg, |v| {
        v["auth"]["access_token_secret"] = "not-the-secret".into()
    });
    match wrong.check().await {
        Err(Error::Auth { message }) => {
            assert!(message.contains("auth.access_token_secret"), "{message}");
            assert!(!message.contains("not-the-secret"));
        }
        other => panic!("{other:?}"),
    }
    let store = with(&cfg, |v| v["store_code"] = "nl".into());
    match store.check().await {
        Err(Error::Config { path, message }) => {
            assert_eq!(path, "store_code");
            assert!(message.contains("default"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bearer_works_where_the_shop_allows_it() {
    let opts = MagentoOptions {
        bearer_allowed: true,
        msi: false,
        ..Default::default()
    };
    let (_sim, _c, cfg) = shop(opts).await;
    let c = with(&cfg, |v| {
        v["auth"] = json!({"mode": "bearer", "access_token": ACCESS_TOKEN});
    });
    let report = c.check().await.unwrap();
    assert!(
        report.checks.iter().any(|l| l.contains("legacy stock")),
        "{report:?}"
    );
}

#[tokio::test]
async fn excl_tax_shop_gets_snelstart_prices_unchanged() {
    let opts = MagentoOptions {
        prices_include_tax: false,
        ..Default::default()
    };
    let (_sim, c, _) = shop(opts).await;
    let a = &articles()[60];
    let out = c
        .endpoints()
        .product_sink
        .unwrap()
        .write(&WriteItem::new(product_of(a)))
        .await
        .unwrap();
    assert!(matches!(out, WriteOutcome::Created { .. }));
    let p: koppel_magento::models::WireProduct = c
        .shop()
        .client()
        .get("default", &["products", &a.sku], &[], "/x")
        .await
        .unwrap();
    assert_eq!(p.price, Some(a.price_excl));
    let _ = Kind::Product;
}

const PRODUCT_GET: &str = "/rest/{store}/V1/products/{sku}";
const PRODUCT_SEARCH: &str = "/rest/{store}/V1/products";

/// A product as the shop holds it, without its timestamps.
async fn stored(c: &MagentoConnector, sku: &str) -> serde_json::Value {
    let mut v: serde_json::Value = c
        .shop()
        .client()
        .get("default", &["products", sku], &[], "/x")
        .await
        .unwrap();
    let m = v.as_object_mut().unwrap();
    m.remove("created_at");
    m.remove("updated_at");
    v
}

/// A first push: 20 products the seeded shop has (odd ones with an older price), 20 it has
/// not, one with a comma in its SKU, one the shop cannot take (no tax class for 6 %), and one
/// written before whose price changed since.
fn first_push() -> Vec<WriteItem<Product>> {
    let arts = articles();
    let mut items: Vec<WriteItem<Product>> = first_items(&arts, 40);
    let mut comma = product_of(&arts[40]);
    comma.sku = Sku::new("KP-COMMA,1").unwrap();
    items.push(WriteItem::new(comma));
    let mut bad = product_of(&arts[41]);
    bad.vat = Some(VatRate::new(dec!(6), None).unwrap());
    items.insert(5, WriteItem::new(bad));
    let before = product_of(&arts[2]);
    let mut now = before.clone();
    now.price.amount += dec!(1);
    items[2] = WriteItem {
        previous: Some(before.clone()),
        target_id: Some(before.sku.to_string()),
        ..WriteItem::new(now)
    };
    items
}

fn outcome_kinds(res: &[koppel_core::Result<WriteOutcome>]) -> Vec<String> {
    res.iter()
        .map(|r| match r {
            Ok(o) => format!("{o:?}"),
            Err(Error::Rejected(r)) => format!("rejected {} {:?}", r.record, r.field),
            Err(e) => format!("error {e}"),
        })
        .collect()
}

#[tokio::test]
async fn a_first_push_reads_the_shop_with_one_search_per_batch() {
    let items = first_push();
    let n = items.len() as u64;
    // the same push written one by one (no batch: one GET per product), as the reference
    let (ref_sim, ref_c, _) = shop(MagentoOptions::default()).await;
    let ref_sink = ref_c.endpoints().product_sink.unwrap();
    let mut expected = Vec::new();
    for i in &items {
        expected.push(ref_sink.write(i).await);
    }
    let ref_stats = ref_sim.control.stats();
    assert_eq!(ref_stats.count("GET", PRODUCT_SEARCH), 0);
    assert_eq!(
        ref_stats.count("GET", PRODUCT_GET),
        n - 1,
        "one GET each but the rejected (a changed product is compared with the shop too)"
    );

    let (sim, _, cfg) = shop(MagentoOptions {
        input_limit: Some(20),
        ..Default::default()
    })
    .await;
    let batch = 7u64;
    // the sink writes one product at a time (the engine alone runs writes side by side), so new
    // products and categories get the same ids as in the reference
    let c = with(&cfg, |v| {
        v["products"]["batch_size"] = batch.into();
    });
    let sink = c.endpoints().product_sink.unwrap();
    assert_eq!(sink.batch_size(), 7);
    let got = write_all(sink.as_ref(), &items).await;
    assert_eq!(outcome_kinds(&got), outcome_kinds(&expected));
    let written = got
        .iter()
        .filter(|r| matches!(r, Ok(WriteOutcome::Created { .. } | WriteOutcome::Updated { .. })))
        .count() as u64;
    assert!(written >= 20, "{written}");
    assert!(got
        .iter()
        .any(|r| matches!(r, Ok(WriteOutcome::Unchanged { .. }))));
    match &got[5] {
        Err(Error::Rejected(r)) => assert_eq!(r.field.as_deref(), Some("vat")),
        other => panic!("{other:?}"),
    }
    let stats = sim.control.stats();
    assert!(
        stats.count("GET", PRODUCT_SEARCH) <= n.div_ceil(batch),
        "{} searches for {n} products in batches of {batch}",
        stats.count("GET", PRODUCT_SEARCH)
    );
    assert!(stats.count("GET", PRODUCT_SEARCH) > 0);
    // only the SKU with a comma cannot be searched with `in`
    assert_eq!(stats.count("GET", PRODUCT_GET), 1);
    assert_eq!(stats.count("PUT", PRODUCT_PUT), written);
    assert_eq!(
        stats.count("PUT", PRODUCT_PUT),
        ref_stats.count("PUT", PRODUCT_PUT)
    );
    assert_eq!(stats.with_status(400), 0);
    // and the shop holds the same products as after writing them one by one
    for (n, i) in items.iter().enumerate().filter(|(n, _)| *n != 5) {
        let sku = i.record.sku.to_string();
        assert_eq!(stored(&c, &sku).await, stored(&ref_c, &sku).await, "{n}: {sku}");
    }

    // the same push again without previous records: searches only, nothing written (item 2
    // only had its price sent, since its previous record claimed the rest was written)
    let again: Vec<WriteItem<Product>> = items.iter().map(|i| WriteItem::new(i.record.clone())).collect();
    write_all(sink.as_ref(), &again[2..3]).await[0].as_ref().unwrap();
    sim.control.clear();
    for (i, r) in write_all(sink.as_ref(), &again).await.into_iter().enumerate() {
        if i != 5 {
            let r = r.unwrap();
            assert!(matches!(r, WriteOutcome::Unchanged { .. }), "{i}: {r:?}");
        }
    }
    let stats = sim.control.stats();
    assert_eq!(stats.count("PUT", PRODUCT_PUT), 0);
    assert!(stats.count("GET", PRODUCT_SEARCH) <= n.div_ceil(batch));
}

#[tokio::test]
async fn a_failed_search_falls_back_to_one_get_per_product() {
    let (sim, c, _) = shop(MagentoOptions::default()).await;
    let sink = c.endpoints().product_sink.unwrap();
    let arts = articles();
    let items: Vec<WriteItem<Product>> = first_items(&arts, 25);
    // the search is the batch's first request: 429 on it and on its one retry
    sim.control.set_faults(koppel_sandbox::control::Faults {
        burst_429: 2,
        ..Default::default()
    });
    let res = sink.write_batch(&items).await;
    let stats = sim.control.stats();
    assert_eq!(stats.count("GET", PRODUCT_SEARCH), 2);
    assert_eq!(stats.with_status(429), 2);
    assert_eq!(stats.count("GET", PRODUCT_GET), 25);
    for (i, r) in res.iter().enumerate() {
        match (i, r.as_ref().unwrap()) {
            (20.., WriteOutcome::Created { .. })
            | (..20, WriteOutcome::Updated { .. } | WriteOutcome::Unchanged { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}
