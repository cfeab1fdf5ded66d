//! The real PHP bridge against a real MariaDB, on the schema of OpenCart 3.0, 4.0 and 4.1:
//! security (unsigned, forged, stale, replayed: 401) and every flow through the connector.
//! Skipped (with a message) without PHP/MariaDB; a failure under `CI=true`.

mod common;

use std::collections::BTreeMap;

use common::{available, raw, Shop, SECRET, VERSIONS};
use koppel_core::paging::Keyset;
use koppel_core::{
    Connector, ConnectorContext, Money, OpenAmount, Order, PaymentStatus, Product, ReadRequest, Sku, Source,
    StockLevel, TaxMode, VatKind, VatRate, VatRounding, Verdict, WriteItem, WriteOutcome,
};
use koppel_opencart::auth;
use rust_decimal_macros::dec;
use std::sync::Arc;

fn connector(shop: &Shop) -> Arc<dyn Connector> {
    koppel_opencart::factory(shop.config(), &ConnectorContext::default()).expect("config")
}

fn signed(op: &str, body: &str, secret: &str, ts: i64, nonce: &str) -> Vec<(&'static str, String)> {
    let path = format!("/koppel-bridge.php?op={op}");
    let sig = auth::sign(
        &koppel_core::Secret::new(secret),
        "POST",
        &path,
        ts,
        nonce,
        body.as_bytes(),
    );
    vec![
        (auth::TIMESTAMP_HEADER, ts.to_string()),
        (auth::NONCE_HEADER, nonce.to_owned()),
        (auth::SIGNATURE_HEADER, sig),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_forged_stale_and_replayed_requests_get_401() {
    if !available("unsigned_forged_stale_and_replayed_requests_get_401") {
        return;
    }
    for (variant, _) in VERSIONS {
        let shop = Shop::start(variant);
        let now = chrono::Utc::now().timestamp();
        let body = r#"{"statuses":[2]}"#;
        let leaks =
            |b: &str| b.contains("mysql") || b.contains("/tmp") || b.contains(".php") || b.contains("SQL");

        let (s, b) = raw(&shop.url, "orders.list", body, &[]).await;
        assert_eq!(s, 401, "{variant} unsigned: {b}");
        assert!(!b.contains("order_id") && !leaks(&b), "{variant}: {b}");

        let h = signed(
            "orders.list",
            body,
            "not-the-secret-0123456789abcdef0123",
            now,
            &auth::nonce(),
        );
        let (s, b) = raw(&shop.url, "orders.list", body, &h).await;
        assert_eq!(s, 401, "{variant} forged: {b}");

        // signed for another body / another operation
        let h = signed("orders.list", r#"{"statuses":[5]}"#, SECRET, now, &auth::nonce());
        assert_eq!(
            raw(&shop.url, "orders.list", body, &h).await.0,
            401,
            "{variant} body swapped"
        );
        let h = signed("ping", body, SECRET, now, &auth::nonce());
        assert_eq!(
            raw(&shop.url, "orders.list", body, &h).await.0,
            401,
            "{variant} op swapped"
        );

        let h = signed("orders.list", body, SECRET, now - 310, &auth::nonce());
        let (s, b) = raw(&shop.url, "orders.list", body, &h).await;
        assert_eq!(s, 401, "{variant} stale: {b}");
        let h = signed("orders.list", body, SECRET, now + 310, &auth::nonce());
        assert_eq!(
            raw(&shop.url, "orders.list", body, &h).await.0,
            401,
            "{variant} future"
        );

        let h = signed("orders.list", body, SECRET, now, &auth::nonce());
        let (s, b) = raw(&shop.url, "orders.list", body, &h).await;
        assert_eq!(s, 200, "{variant} good: {b}");
        assert!(b.contains("\"order_id\":1"), "{b}");
        let (s, b) = raw(&shop.url, "orders.list", body, &h).await;
        assert_eq!(s, 401, "{variant} replayed: {b}");
        assert!(b.contains("nonce"), "{b}");

        // A SKU shaped like SQL is data, not SQL (prepared statements only).
        let body = r#"{"key":"sku","items":["x' OR '1'='1","KOF-001"]}"#;
        let h = signed("products.get", body, SECRET, now, &auth::nonce());
        let (s, b) = raw(&shop.url, "products.get", body, &h).await;
        assert_eq!(s, 200, "{b}");
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v["items"][0]["found"], false, "{b}");
        assert_eq!(v["items"][1]["found"], true, "{b}");

        // An unknown operation and a broken body: generic errors, no paths or SQL.
        let h = signed("drop.tables", "{}", SECRET, now, &auth::nonce());
        let (s, b) = raw(&shop.url, "drop.tables", "{}", &h).await;
        assert_eq!(s, 404, "{b}");
        assert!(!leaks(&b), "{b}");

        // The connector with a wrong secret: an auth error naming what to fix, no secret shown.
        let mut cfg = shop.config();
        cfg["secret"] = "wrong-wrong-wrong-wrong-wrong-wrong-42".into();
        let c = koppel_opencart::factory(cfg, &ConnectorContext::default()).unwrap();
        let e = c.check().await.unwrap_err().to_string();
        assert!(e.contains("secret") && !e.contains("wrong-wrong"), "{e}");
    }
}

fn product(
    sku: &str,
    name: &str,
    price: rust_decimal::Decimal,
    vat: rust_decimal::Decimal,
    category: &[&str],
) -> Product {
    Product {
        sku: Sku::new(sku).unwrap(),
        name: name.into(),
        price: Money::eur(price),
        tax_mode: TaxMode::Exclusive,
        vat: Some(VatRate::new(vat, Some(VatKind::Hoog)).unwrap()),
        active: true,
        unit: None,
        weight: Some(dec!(1.25)),
        category: category.iter().map(|s| s.to_string()).collect(),
        attributes: BTreeMap::new(),
        source_id: None,
        modified: None,
    }
}

async fn read_all<R: koppel_core::Record>(
    src: &dyn Source<R>,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> (Vec<R>, Vec<koppel_core::Rejection>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    let mut req = ReadRequest {
        since,
        until: Some(chrono::Utc::now() + chrono::TimeDelta::days(3650)),
        page: None,
    };
    loop {
        let page = src.read(&req).await.expect("read");
        for i in page.items {
            match i {
                Ok(r) => ok.push(r),
                Err(e) => bad.push(e),
            }
        }
        match page.next {
            Some(n) => req.page = Some(n),
            None => break,
        }
    }
    (ok, bad)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_on_each_schema_variant() {
    if !available("every_flow_on_each_schema_variant") {
        return;
    }
    for (variant, version) in VERSIONS {
        let shop = Shop::start(variant);
        let c = connector(&shop);
        let e = c.endpoints();

        // check: bridge, OpenCart version, schema
        let report = c.check().await.expect("check");
        let text = report.checks.join("\n");
        assert!(
            text.contains(&format!("OpenCart {version} (schema {variant}")),
            "{text}"
        );

        // ----- products: plan (prepare) equals run (apply) -----
        let sink = e.product_sink.clone().unwrap();
        let items: Vec<WriteItem<Product>> = vec![
            product(
                "KOF-001",
                "Koffiebonen 1kg (vers)",
                dec!(11.5),
                dec!(21),
                &["Koffie", "Bonen"],
            ),
            product("NEW-1", "Nieuwe thee", dec!(3.3), dec!(9), &["Thee"]),
            product("BAD-CAT", "Bord", dec!(5), dec!(21), &["Servies"]),
            product("BAD-VAT", "Boek", dec!(5), dec!(6), &[]),
        ]
        .into_iter()
        .map(WriteItem::new)
        .collect();
        let plan = sink.prepare(&items).await;
        let verdicts: Vec<_> = plan.iter().map(|p| p.as_ref().map(|p| p.verdict).ok()).collect();
        assert_eq!(
            verdicts,
            [Some(Verdict::Update), Some(Verdict::Create), None, None],
            "{variant}: {plan:?}"
        );
        let errs: Vec<String> = plan
            .iter()
            .filter_map(|p| p.as_ref().err())
            .map(|e| e.to_string())
            .collect();
        assert!(
            errs[0].contains("product BAD-CAT")
                && errs[0].contains("category[0]")
                && errs[0].contains("Servies"),
            "{errs:?}"
        );
        assert!(
            errs[1].contains("product BAD-VAT") && errs[1].contains("vat"),
            "{errs:?}"
        );
        // nothing written by the plan
        assert_eq!(shop.value("SELECT COUNT(*) FROM oc_product"), "4");
        let run = sink.write_batch(&items).await;
        assert!(matches!(run[0], Ok(WriteOutcome::Updated { .. })), "{run:?}");
        assert!(matches!(run[1], Ok(WriteOutcome::Created { .. })), "{run:?}");
        assert!(
            run[2].as_ref().unwrap_err().is_record_fault() && run[3].as_ref().unwrap_err().is_record_fault()
        );
        let new_id = run[1].as_ref().unwrap().target_id().to_owned();
        // what the admin writes, and what the storefront reads (catalog/model/catalog/product.php getProduct)
        assert_eq!(
            shop.value(&format!(
                "SELECT COUNT(*) FROM oc_product p JOIN oc_product_description pd ON pd.product_id = p.product_id AND pd.language_id = 1 \
                 JOIN oc_product_to_store p2s ON p2s.product_id = p.product_id WHERE p.product_id = {new_id} AND p.status = 1 \
                 AND p.date_available <= NOW() AND p2s.store_id = 0"
            )),
            "1"
        );
        assert_eq!(
            shop.value(&format!(
                "SELECT COUNT(*) FROM oc_product_description WHERE product_id = {new_id}"
            )),
            "2"
        );
        assert_eq!(
            shop.value(&format!(
                "SELECT price FROM oc_product WHERE product_id = {new_id}"
            )),
            "3.3000"
        );
        assert_eq!(
            shop.value(&format!(
                "SELECT tax_class_id FROM oc_product WHERE product_id = {new_id}"
            )),
            "12"
        );
        assert_eq!(
            shop.value(&format!(
                "SELECT weight FROM oc_product WHERE product_id = {new_id}"
            )),
            "1.25000000"
        );
        assert_eq!(
            shop.value(&format!(
                "SELECT category_id FROM oc_product_to_category WHERE product_id = {new_id}"
            )),
            "102"
        );
        let seo = if variant == "3.0" {
            format!("SELECT COUNT(*) FROM oc_seo_url WHERE query = 'product_id={new_id}'")
        } else {
            format!("SELECT COUNT(*) FROM oc_seo_url WHERE `key` = 'product_id' AND value = '{new_id}'")
        };
        assert_eq!(shop.value(&seo), "2", "{variant}: one keyword per language");
        let sku = match variant {
            "4.1" => {
                format!("SELECT value FROM oc_product_code WHERE product_id = {new_id} AND code = 'SKU'")
            }
            _ => format!("SELECT sku FROM oc_product WHERE product_id = {new_id}"),
        };
        assert_eq!(shop.value(&sku), "NEW-1");
        if variant == "3.0" {
            assert_eq!(
                shop.value(&format!(
                    "SELECT COUNT(*) FROM oc_product_to_layout WHERE product_id = {new_id}"
                )),
                "1"
            );
        }
        assert_eq!(
            shop.value("SELECT name FROM oc_product_description WHERE product_id = 50 AND language_id = 2"),
            "Koffiebonen 1kg (vers)"
        );
        assert_eq!(
            shop.value("SELECT price FROM oc_product WHERE product_id = 50"),
            "11.5000"
        );
        // a second plan finds nothing to do
        let again = sink.prepare(&items[..2]).await;
        assert!(
            again
                .iter()
                .all(|p| p.as_ref().unwrap().verdict == Verdict::Unchanged),
            "{again:?}"
        );

        // ----- stock -----
        let stock = e.stock_sink.clone().unwrap();
        let lv = |sku: &str, q| {
            WriteItem::new(StockLevel {
                sku: Sku::new(sku).unwrap(),
                quantity: q,
                source_id: None,
                modified: None,
            })
        };
        let before_modified = shop.value("SELECT date_modified FROM oc_product WHERE product_id = 51");
        let items = vec![
            lv("THEE-01", dec!(7)),
            lv("NEW-1", dec!(3)),
            lv("MISSING", dec!(1)),
            lv("KOF-001", dec!(1.5)),
            lv("ECO-1", dec!(5)),
        ];
        let plan = stock.prepare(&items).await;
        let run = stock.write_batch(&items).await;
        for (p, r) in plan.iter().zip(&run) {
            match (p, r) {
                (Ok(p), Ok(r)) => assert_eq!(
                    p.verdict == Verdict::Unchanged,
                    matches!(r, WriteOutcome::Unchanged { .. }),
                    "{variant}: plan {p:?} run {r:?}"
                ),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                other => panic!("{variant}: plan and run differ: {other:?}"),
            }
        }
        assert!(
            matches!(run[4], Ok(WriteOutcome::Unchanged { .. })),
            "ECO-1 already has 5: {run:?}"
        );
        assert!(
            run[2].as_ref().unwrap_err().to_string().contains("stock MISSING"),
            "{run:?}"
        );
        assert!(
            run[3].as_ref().unwrap_err().to_string().contains("quantity"),
            "{run:?}"
        );
        assert_eq!(
            shop.value("SELECT quantity FROM oc_product WHERE product_id = 51"),
            "7"
        );
        assert_eq!(
            shop.value(&format!(
                "SELECT quantity FROM oc_product WHERE product_id = {new_id}"
            )),
            "3"
        );
        assert_eq!(
            shop.value("SELECT date_modified FROM oc_product WHERE product_id = 51"),
            before_modified
        );

        // ----- orders -----
        let orders = e.order_source.clone().unwrap();
        let (ok, bad) = read_all(orders.as_ref(), None).await;
        let numbers: Vec<&str> = ok.iter().map(|o| o.number.as_str()).collect();
        assert_eq!(
            numbers,
            ["1", "2"],
            "{variant}: status 0 never, order 4 quarantined; {bad:?}"
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].record, "order 4");
        assert_eq!(bad[0].field.as_deref(), Some("lines[0].sku"), "{bad:?}");
        check_order_1(variant, &ok[0]);
        check_order_2(variant, &ok[1]);

        // a page token stays correct while orders change: read page 1, change order 1, read on
        let req = ReadRequest {
            since: None,
            until: Some(chrono::Utc::now() + chrono::TimeDelta::days(3650)),
            page: None,
        };
        let p1 = orders.read(&req).await.unwrap();
        assert_eq!(p1.items.len(), 1);
        let token = p1.next.clone().unwrap();
        assert!(Keyset::decode(&token).is_ok());
        shop.exec("UPDATE oc_order SET date_modified = '2026-01-10 09:30:00' WHERE order_id = 2");
        let p2 = orders
            .read(&ReadRequest {
                page: Some(token),
                ..req.clone()
            })
            .await
            .unwrap();
        // order 2 moved before the token's position: it now belongs to the next read (its cursor
        // is the run's start), every unchanged order is still read exactly once
        let p2_ids: Vec<String> = p2
            .items
            .iter()
            .map(|i| match i {
                Ok(o) => o.number.clone(),
                Err(r) => r.record.clone(),
            })
            .collect();
        assert_eq!(p2_ids, ["order 4"], "{variant}: {p2_ids:?}");

        // ----- customers (no modification date: fingerprints) -----
        let customers = e.customer_source.clone().unwrap();
        let (cs, bad) = read_all(customers.as_ref(), None).await;
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(cs.len(), 2);
        assert_eq!(
            cs[0].billing.as_ref().unwrap().country.as_ref().unwrap().as_str(),
            "NL"
        );
        assert_eq!(cs[1].billing.as_ref().unwrap().city, "Antwerpen");
        let seen = cs.iter().filter_map(|c| c.modified).max().unwrap();
        let (none, _) = read_all(customers.as_ref(), Some(seen)).await;
        assert!(
            none.is_empty(),
            "{variant}: unchanged customers are not read again: {none:?}"
        );
        shop.exec("UPDATE oc_address SET city = 'Amersfoort' WHERE customer_id = 1");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (changed, _) = read_all(customers.as_ref(), Some(seen)).await;
        assert_eq!(changed.len(), 1, "{variant}: {changed:?}");
        assert_eq!(changed[0].key, "1");
        assert_eq!(changed[0].billing.as_ref().unwrap().city, "Amersfoort");

        // ----- payments and open amounts: order history, exactly once -----
        let pay = e.payment_sink.clone().unwrap();
        let p = |n: &str, paid| {
            WriteItem::new(PaymentStatus {
                order_number: n.into(),
                invoice_number: "F-2026-1".into(),
                paid,
                paid_amount: Money::eur(dec!(52.16)),
                modified: None,
            })
        };
        let items = vec![p("1", true), p("2", false), p("99", true), p("3", true)];
        let plan = pay.prepare(&items).await;
        assert_eq!(plan[0].as_ref().unwrap().verdict, Verdict::Update);
        assert_eq!(plan[1].as_ref().unwrap().verdict, Verdict::Unchanged);
        assert!(plan[2].as_ref().unwrap_err().is_record_fault());
        assert!(
            plan[3]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("no confirmed order 3"),
            "{plan:?}"
        );
        let run = pay.write_batch(&items).await;
        assert!(
            matches!(run[0], Ok(WriteOutcome::Updated { .. })),
            "{variant}: {run:?}"
        );
        let history = shop.sql("SELECT order_status_id, comment FROM oc_order_history WHERE order_id = 1 ORDER BY order_history_id");
        assert_eq!(history.len(), 2, "{history:?}");
        assert_eq!(history[1][0], "3");
        assert!(
            history[1][1].starts_with("Betaald: factuur F-2026-1 (EUR 52.16)"),
            "{history:?}"
        );
        assert_eq!(
            shop.value("SELECT order_status_id FROM oc_order WHERE order_id = 1"),
            "3"
        );
        // again: nothing twice
        let run = pay.write_batch(&items[..1]).await;
        assert!(matches!(run[0], Ok(WriteOutcome::Unchanged { .. })), "{run:?}");
        assert_eq!(
            shop.value("SELECT COUNT(*) FROM oc_order_history WHERE order_id = 1"),
            "2"
        );

        let open = e.open_amount_sink.clone().unwrap();
        let oa = WriteItem::new(OpenAmount {
            order_number: "2".into(),
            invoice_number: "F-2026-2".into(),
            invoice_amount: Money::eur(dec!(245.21)),
            open_amount: Money::eur(dec!(45.21)),
            due_date: None,
            modified: None,
        });
        let r = open.write(&oa).await.unwrap();
        assert!(matches!(r, WriteOutcome::Updated { .. }));
        assert!(matches!(
            open.write(&oa).await.unwrap(),
            WriteOutcome::Unchanged { .. }
        ));
        assert_eq!(
            shop.value("SELECT order_status_id FROM oc_order WHERE order_id = 2"),
            "5",
            "status kept"
        );
        assert_eq!(
            shop.value("SELECT COUNT(*) FROM oc_order_history WHERE order_id = 2"),
            "2"
        );

        assert!(
            !shop.php_errors().contains("uncaught"),
            "{variant}: {}",
            shop.php_errors()
        );
    }
}

fn check_order_1(variant: &str, o: &Order) {
    assert_eq!(o.vat_rounding, VatRounding::PerTotal);
    assert_eq!(o.tax_mode, TaxMode::Exclusive);
    // 2026-01-10 10:00 in Amsterdam is 09:00 UTC
    assert_eq!(
        o.created_at.to_rfc3339(),
        "2026-01-10T09:00:00+00:00",
        "{variant}"
    );
    assert_eq!(o.customer.key, "1");
    assert_eq!(o.billing.country.as_ref().unwrap().as_str(), "NL");
    assert_eq!(o.lines.len(), 2);
    assert_eq!(o.lines[0].sku.as_ref().unwrap().as_str(), "KOF-001");
    assert_eq!(o.lines[0].unit_price, dec!(10));
    assert_eq!(o.lines[0].vat_percentage, Some(dec!(21)));
    assert_eq!(o.lines[0].tax, Some(dec!(6.30)));
    assert_eq!(o.lines[1].vat_percentage, Some(dec!(9)));
    assert_eq!(o.lines[1].tax, Some(dec!(0.81)));
    let ship = o.shipping_cost.as_ref().unwrap();
    assert_eq!(
        (ship.amount, ship.tax, ship.vat_percentage),
        (dec!(5), Some(dec!(1.05)), Some(dec!(21)))
    );
    assert_eq!(o.tax_total, dec!(8.16));
    assert_eq!(o.grand_total, dec!(52.16));
    // reconciled to the cent: lines + shipping + VAT = total
    let lines: rust_decimal::Decimal = o.lines.iter().map(|l| l.row_total + l.tax.unwrap()).sum();
    assert_eq!(lines + ship.amount + ship.tax.unwrap(), o.grand_total);
    assert_eq!(o.payment_method.as_deref(), Some("bank_transfer"));
}

fn check_order_2(variant: &str, o: &Order) {
    // 4.x: only a shipping address was asked: billed to it. 3.0: both addresses are there.
    assert_eq!(o.billing.city, "Gent", "{variant}");
    assert_eq!(o.billing.country.as_ref().unwrap().as_str(), "BE");
    assert!(o.customer.is_guest);
    assert_eq!(o.customer.key, "guest:griet@example.be");
    // the eco tax (fixed 2.00) is not VAT: a fee of its own, the line keeps its price excl. VAT
    assert_eq!(o.lines[0].sku.as_ref().unwrap().as_str(), "ECO-1");
    assert_eq!(o.lines[0].unit_price, dec!(100));
    assert_eq!(o.fees.len(), 1, "{:?}", o.fees);
    assert_eq!(o.fees[0].description, "Eco Tax (-2.00)");
    assert_eq!(
        (o.fees[0].amount, o.fees[0].tax, o.fees[0].vat_percentage),
        (dec!(2), Some(dec!(0)), Some(dec!(0)))
    );
    assert_eq!(o.lines[0].vat_percentage, Some(dec!(21)));
    assert_eq!(o.lines[0].tax, Some(dec!(21.00)));
    // the sample product has no SKU: its model names it
    assert_eq!(o.lines[1].sku.as_ref().unwrap().as_str(), "product 11");
    assert_eq!(o.lines[1].tax, Some(dec!(21.21)));
    assert_eq!(o.tax_total, dec!(42.21));
    assert_eq!(o.grand_total, dec!(245.21));
    assert!(o.shipping_cost.is_none());
    let lines: rust_decimal::Decimal = o.lines.iter().map(|l| l.row_total + l.tax.unwrap()).sum();
    assert_eq!(lines + o.fees[0].amount, o.grand_total);
}
