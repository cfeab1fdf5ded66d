//! searchCriteria: filters, groups, sort, paging (with the legacy quirk), limits, fields=.

mod magento_common;

use koppel_sandbox::magento::MagentoOptions;
use magento_common::{filter, q, Mage};
use serde_json::{json, Value};

fn skus(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(v: &Value) -> Vec<u64> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["entity_id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn filters_or_within_a_group_and_across_groups() {
    let m = Mage::start(MagentoOptions::default()).await;
    // OR: two SKUs in one group.
    let mut p = filter(0, 0, "sku", "KP-0001", "eq");
    p.extend(filter(0, 1, "sku", "kp-0003", "eq"));
    let v = m.get("/products", &q(&p)).await;
    assert_eq!(skus(&v), ["KP-0001", "KP-0003"]);
    assert_eq!(v["total_count"], 2);
    assert_eq!(
        v["search_criteria"]["filter_groups"][0]["filters"][1]["value"],
        "kp-0003"
    );

    // AND: like KP-000% and tax class 5.
    let mut p = filter(0, 0, "sku", "KP-000%", "like");
    p.extend(filter(1, 0, "tax_class_id", "5", "eq"));
    let v = m.get("/products", &q(&p)).await;
    let all = m
        .get("/products", &q(&filter(0, 0, "sku", "KP-000%", "like")))
        .await;
    assert_eq!(all["total_count"], 9);
    let low: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["custom_attributes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["attribute_code"] == "tax_class_id" && a["value"] == "5")
        })
        .map(|i| i["sku"].as_str().unwrap().to_owned())
        .collect();
    assert!(!low.is_empty() && low.len() < 9);
    assert_eq!(skus(&v), low);

    // in / nin / gt on a number, category_id, configurable type.
    let v = m
        .get(
            "/products",
            &q(&filter(0, 0, "sku", "KP-0002,KP-0004,NOPE", "in")),
        )
        .await;
    assert_eq!(skus(&v), ["KP-0002", "KP-0004"]);
    let v = m
        .get("/products", &q(&filter(0, 0, "type_id", "configurable", "eq")))
        .await;
    assert!(skus(&v).iter().all(|s| s.starts_with("CFG-")) && v["total_count"].as_u64().unwrap() >= 1);
    let v = m.get("/products", &q(&filter(0, 0, "price", "100", "gt"))).await;
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["price"].as_f64().unwrap() > 100.0));

    // Unknown attribute: Magento's 400.
    let (s, v) = m
        .call("GET", "/products", &q(&filter(0, 0, "colour", "1", "eq")), None)
        .await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"message": "Invalid attribute name: %1", "parameters": ["colour"]})
        )
    );
}

#[tokio::test]
async fn orders_by_updated_at_and_status_sorted() {
    let m = Mage::start(MagentoOptions::default()).await;
    let mut p = filter(0, 0, "updated_at", "2025-03-05 00:00:00", "gteq");
    p.extend(filter(1, 0, "status", "processing,complete", "in"));
    p.push(("searchCriteria[sortOrders][0][field]".into(), "updated_at".into()));
    p.push(("searchCriteria[sortOrders][0][direction]".into(), "DESC".into()));
    let v = m.get("/orders", &q(&p)).await;
    let items = v["items"].as_array().unwrap();
    assert!(!items.is_empty());
    let times: Vec<&str> = items.iter().map(|o| o["updated_at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(times, sorted);
    assert!(times.iter().all(|t| *t >= "2025-03-05 00:00:00"));
    assert!(items
        .iter()
        .all(|o| o["status"] == "processing" || o["status"] == "complete"));
    assert_eq!(
        v["search_criteria"]["sort_orders"],
        json!([{"field": "updated_at", "direction": "DESC"}])
    );
    // null / notnull: guests have no customer_id.
    let guests = m
        .get("/orders", &q(&filter(0, 0, "customer_id", "", "null")))
        .await;
    let known = m
        .get("/orders", &q(&filter(0, 0, "customer_id", "", "notnull")))
        .await;
    assert_eq!(
        guests["total_count"].as_u64().unwrap() + known["total_count"].as_u64().unwrap(),
        50
    );
    assert!(guests["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["customer_is_guest"] == 1));
    // from/to on created_at.
    let mut p = filter(0, 0, "created_at", "2025-03-03 08:00:00", "from");
    p.extend(filter(1, 0, "created_at", "2025-03-03 14:34:00", "to"));
    assert_eq!(ids(&m.get("/orders", &q(&p)).await), [1, 2, 3]);
}

#[tokio::test]
async fn paging_total_count_and_the_legacy_quirk() {
    let m = Mage::start(MagentoOptions::default()).await;
    let page = |n: &'static str| {
        vec![
            ("searchCriteria[pageSize]", "20"),
            ("searchCriteria[currentPage]", n),
        ]
    };
    let p1 = m.get("/orders", &page("1")).await;
    let p3 = m.get("/orders", &page("3")).await;
    assert_eq!(p1["total_count"], 50);
    assert_eq!(ids(&p1), (1..=20).collect::<Vec<_>>());
    assert_eq!(ids(&p3), (41..=50).collect::<Vec<_>>());
    // Past the end: older Magento repeats the last page.
    let p4 = m.get("/orders", &page("4")).await;
    assert_eq!(ids(&p4), ids(&p3));
    assert_eq!(p4["search_criteria"]["current_page"], 4);
    // No pageSize: everything.
    let all = m.get("/orders", &[("searchCriteria", "")]).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 50);

    let fixed = Mage::start(MagentoOptions {
        legacy_paging: false,
        ..Default::default()
    })
    .await;
    let p4 = fixed.get("/orders", &page("4")).await;
    assert_eq!(p4["items"], json!([]));
    assert_eq!(p4["total_count"], 50);

    // searchCriteria is required on list endpoints.
    let (s, v) = m.call("GET", "/orders", &[], None).await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"message": "\"%fieldName\" is required. Enter and try again.", "parameters": {"fieldName": "searchCriteria"}})
        )
    );
    let (s, _) = m
        .call("GET", "/orders", &[("searchCriteria[pageSize]", "ten")], None)
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn input_limit_page_sizes() {
    let m = Mage::start(MagentoOptions {
        input_limit: Some(20),
        ..Default::default()
    })
    .await;
    let v = m.get("/orders", &[("searchCriteria", "")]).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 20, "default page size 20");
    assert_eq!(v["total_count"], 50);
    let (s, v) = m
        .call("GET", "/orders", &[("searchCriteria[pageSize]", "301")], None)
        .await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"message": "Maximum SearchCriteria pageSize is %max", "parameters": {"max": 300}})
        )
    );
    assert_eq!(
        m.get("/orders", &[("searchCriteria[pageSize]", "300")]).await["items"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
}

#[tokio::test]
async fn fields_trims_the_response() {
    let m = Mage::start(MagentoOptions::default()).await;
    let v = m
        .get(
            "/orders",
            &[
                ("searchCriteria[pageSize]", "2"),
                ("fields", "items[increment_id,entity_id],total_count"),
            ],
        )
        .await;
    assert_eq!(
        v,
        json!({"items": [{"increment_id": "000000001", "entity_id": 1}, {"increment_id": "000000002", "entity_id": 2}], "total_count": 50})
    );
}
