//! Order shapes and totals, comments, customers, reset.

mod magento_common;

use koppel_sandbox::magento::MagentoOptions;
use koppel_sandbox::seed::{articles, SeedConfig};
use magento_common::{d, filter, q, Mage};
use rust_decimal::Decimal;
use serde_json::{json, Value};

async fn all_orders(m: &Mage) -> Vec<Value> {
    m.get("/orders", &[("searchCriteria", "")]).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn order_shapes_and_totals() {
    for incl in [true, false] {
        let m = Mage::start(MagentoOptions {
            prices_include_tax: incl,
            ..Default::default()
        })
        .await;
        let orders = all_orders(&m).await;
        assert_eq!(orders.len(), 50);
        let skus: Vec<String> = articles(&SeedConfig::default())
            .into_iter()
            .map(|a| a.sku)
            .collect();
        let mut states = std::collections::BTreeSet::new();
        let (
            mut configurable,
            mut guests,
            mut registered,
            mut discounted,
            mut missing_sku,
            mut unknown_country,
        ) = (0, 0, 0, 0, 0, 0);
        let (mut foreign, mut bundles) = (0, 0);
        for o in &orders {
            states.insert(o["status"].as_str().unwrap().to_owned());
            let id = o["entity_id"].as_u64().unwrap();
            if o.get("relation_parent_real_id").is_some() {
                // an edit: `<original>-<n>`, linked both ways
                let parent = o["relation_parent_real_id"].as_str().unwrap();
                assert_eq!(o["increment_id"], format!("{parent}-1"));
                let p = orders.iter().find(|x| x["increment_id"] == parent).unwrap();
                assert_eq!(
                    (p["state"].as_str(), &p["relation_child_real_id"]),
                    (Some("canceled"), &o["increment_id"])
                );
            } else {
                assert_eq!(o["increment_id"], format!("{id:09}"));
            }
            // Magento's total collectors, in the order and in the base currency
            for pre in ["", "base_"] {
                let f = |k: &str| d(&o[format!("{pre}{k}")]);
                assert_eq!(
                    f("grand_total"),
                    f("subtotal")
                        + f("tax_amount")
                        + f("discount_tax_compensation_amount")
                        + f("shipping_amount")
                        + f("discount_amount"),
                    "order {id} {pre}"
                );
            }
            if o["order_currency_code"] != "EUR" {
                foreign += 1;
                assert_eq!(o["base_currency_code"], "EUR");
                assert_ne!(o["grand_total"], o["base_grand_total"]);
            }
            assert_eq!(d(&o["payment"]["amount_ordered"]), d(&o["grand_total"]));
            if d(&o["discount_amount"]) < Decimal::ZERO {
                discounted += 1;
            }
            assert!(d(&o["discount_amount"]) <= Decimal::ZERO);
            // Shipping address only under shipping_assignments.
            assert!(o.get("shipping_address").is_none());
            let ship = &o["extension_attributes"]["shipping_assignments"][0]["shipping"];
            assert!(ship["address"]["street"].is_array());
            assert_eq!(ship["address"]["address_type"], "shipping");
            assert!(ship["method"].as_str().unwrap().contains('_'));
            assert_eq!(d(&ship["total"]["shipping_incl_tax"]), d(&o["shipping_incl_tax"]));
            assert_eq!(o["billing_address"]["address_type"], "billing");
            if o["billing_address"]["country_id"] == "ZZ" {
                unknown_country += 1;
            }
            if o["customer_is_guest"] == 1 {
                guests += 1;
                assert!(o.get("customer_id").is_none());
            } else {
                registered += 1;
                assert!(o["customer_email"].as_str().unwrap().starts_with("klant"));
            }
            let items = o["items"].as_array().unwrap();
            let mut sub_incl = Decimal::ZERO;
            for it in items {
                if it["sku"].is_null() {
                    missing_sku += 1;
                } else {
                    let sku = it["sku"].as_str().unwrap();
                    // a dynamic bundle's SKU is its own plus its options' (dynamic SKU type)
                    assert!(
                        skus.contains(&sku.to_owned()) || sku.starts_with("GESCHENKSET-KP-"),
                        "{sku}"
                    );
                }
                let parent = it
                    .get("parent_item_id")
                    .map(|pid| items.iter().find(|x| x["item_id"] == *pid).unwrap());
                match parent.map(|p| p["product_type"].as_str().unwrap()) {
                    Some("configurable") => {
                        configurable += 1;
                        let p = parent.unwrap();
                        assert_eq!(
                            p["sku"], it["sku"],
                            "the parent row carries the chosen child's SKU"
                        );
                        assert_eq!(d(&it["price"]), Decimal::ZERO);
                        assert_eq!(it["parent_item"]["item_id"], p["item_id"]);
                        continue;
                    }
                    // a fixed-price bundle's children are not priced
                    Some("bundle") if d(&it["price"]).is_zero() => continue,
                    Some("bundle") => {}
                    Some(other) => panic!("parent of type {other}"),
                    None if it["product_type"] == "bundle" => {
                        bundles += 1;
                        // a dynamic-price parent holds its children's sum: count the children
                        let sum: Decimal = items
                            .iter()
                            .filter(|x| x.get("parent_item_id") == Some(&it["item_id"]))
                            .map(|c| d(&c["row_total"]))
                            .sum();
                        if !sum.is_zero() {
                            assert_eq!(sum, d(&it["row_total"]));
                            continue;
                        }
                    }
                    None => {}
                }
                sub_incl += d(&it["row_total_incl_tax"]);
                let rate = d(&it["tax_percent"]);
                assert!(rate == Decimal::from(21) || rate == Decimal::from(9));
                // before the discount: row_total + the row's full VAT is the incl. row
                assert!(d(&it["row_total"]) < d(&it["row_total_incl_tax"]));
            }
            assert_eq!(sub_incl, d(&o["subtotal_incl_tax"]));
        }
        assert_eq!(
            states.into_iter().collect::<Vec<_>>(),
            ["canceled", "complete", "pending", "processing"]
        );
        assert!(configurable >= 1 && guests >= 1 && registered >= 1 && discounted >= 1);
        assert_eq!((foreign, bundles), (1, 2));
        assert_eq!((missing_sku, unknown_country), (1, 1));
    }
}

#[tokio::test]
async fn comments_change_status_and_updated_at() {
    let m = Mage::start(MagentoOptions::default()).await;
    let before = m.get("/orders/1", &[]).await;
    let body = json!({"statusHistory": {"comment": "Geboekt in SnelStart", "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": 1, "status": "holded"}});
    let (s, v) = m.call("POST", "/orders/1/comments", &[], Some(body)).await;
    assert_eq!((s, v), (200, json!(true)));
    let after = m.get("/orders/1", &[]).await;
    assert_eq!(
        (after["status"].clone(), after["state"].clone()),
        (json!("holded"), json!("holded"))
    );
    assert!(after["updated_at"].as_str().unwrap() > before["updated_at"].as_str().unwrap());
    let comments = m.get("/orders/1/comments", &[]).await;
    assert_eq!(comments["items"][0]["comment"], "Geboekt in SnelStart");
    assert_eq!(comments["items"][0]["entity_name"], "order");
    assert_eq!(after["status_histories"][0]["comment"], "Geboekt in SnelStart");
    // The order now shows up when polling by updated_at.
    let v = m
        .get(
            "/orders",
            &q(&filter(
                0,
                0,
                "updated_at",
                before["updated_at"].as_str().unwrap(),
                "gt",
            )),
        )
        .await;
    assert!(v["items"].as_array().unwrap().iter().any(|o| o["entity_id"] == 1));

    let (s, v) = m
        .call(
            "POST",
            "/orders/999/comments",
            &[],
            Some(json!({"statusHistory": {"comment": "x"}})),
        )
        .await;
    assert_eq!(
        (s, v),
        (
            404,
            json!({"message": "The entity that was requested doesn't exist. Verify the entity and try again."})
        )
    );
    let (s, v) = m
        .call(
            "POST",
            "/orders/1/comments",
            &[],
            Some(json!({"statusHistory": {"comment": "x", "exported": true}})),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(v["parameters"]["fieldName"], "Exported");

    // Reset restores the seeded state.
    let r = m
        .http
        .post(format!("{}/_sandbox/reset", m.sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(m.get("/orders/1", &[]).await, before);
}

#[tokio::test]
async fn customers_search_and_get() {
    let m = Mage::start(MagentoOptions::default()).await;
    let v = m
        .get(
            "/customers/search",
            &q(&filter(0, 0, "email", "klant3@example.nl", "eq")),
        )
        .await;
    assert_eq!(v["total_count"], 1);
    let c = &v["items"][0];
    assert_eq!(c["id"], 3);
    assert!(c["addresses"][0]["street"].is_array());
    let all = m
        .get("/customers/search", &[("searchCriteria[pageSize]", "100")])
        .await;
    assert_eq!(all["total_count"], 20);
    let countries: std::collections::BTreeSet<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["addresses"][0]["country_id"].as_str().unwrap())
        .collect();
    assert_eq!(countries.into_iter().collect::<Vec<_>>(), ["BE", "NL"]);
    assert_eq!(m.get("/customers/3", &[]).await, *c);
    let (s, v) = m.call("GET", "/customers/99", &[], None).await;
    assert_eq!(
        (s, v),
        (
            404,
            json!({"message": "No such entity with %fieldName = %fieldValue", "parameters": {"fieldName": "customerId", "fieldValue": 99}})
        )
    );
    let (s, v) = m.call("GET", "/customers/abc", &[], None).await;
    assert_eq!(s, 400, "{v}");
}

#[tokio::test]
async fn faults_and_stats_apply() {
    let m = Mage::start(MagentoOptions::default()).await;
    let url = format!("{}/_sandbox/faults", m.sim.base_url());
    m.http
        .post(&url)
        .json(&json!({"burst_429": 1, "retry_after_secs": 2}))
        .send()
        .await
        .unwrap();
    let (s, _) = m.call("GET", "/orders/1", &[], None).await;
    assert_eq!(s, 429);
    m.http
        .post(&url)
        .json(&json!({"malformed_rate": 1.0}))
        .send()
        .await
        .unwrap();
    let v = m.get("/orders", &[("searchCriteria[pageSize]", "2")]).await;
    assert!(v["items"][0].get("grand_total").is_none());
    assert!(v["items"][1].get("grand_total").is_some());
    let stats = m.sim.control.stats();
    assert_eq!(stats.count("GET", "/rest/{store}/V1/orders/{id}"), 1);
    assert_eq!(stats.with_status(429), 1);
}
