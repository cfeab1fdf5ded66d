//! Products (get, upsert, validation), attribute options, categories, legacy stock and MSI.

mod magento_common;

use koppel_sandbox::magento::{MagentoOptions, TAX_CLASS_LOW};
use koppel_sandbox::seed::{articles, SeedConfig};
use magento_common::{d, filter, q, Mage};
use rust_decimal::Decimal;
use serde_json::{json, Value};

fn attr<'a>(p: &'a Value, code: &str) -> &'a Value {
    p["custom_attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attribute_code"] == code)
        .map(|a| &a["value"])
        .unwrap_or(&Value::Null)
}

#[tokio::test]
async fn seeded_catalogue_matches_the_seed_articles() {
    let m = Mage::start(MagentoOptions::default()).await;
    let seed = articles(&SeedConfig::default());
    let p = m.get("/products/KP-0001", &[]).await;
    assert_eq!(p["name"], seed[0].name.as_str());
    // Prices include tax by default: excl * (1 + rate), rounded to cents.
    let rate = seed[0].vat.percentage();
    let incl = (seed[0].price_excl * (Decimal::ONE_HUNDRED + rate) / Decimal::ONE_HUNDRED).round_dp(2);
    assert_eq!(d(&p["price"]), incl);
    assert_eq!(
        p["extension_attributes"]["stock_item"]["qty"].as_i64(),
        Some(seed[0].stock)
    );
    assert_eq!(p["extension_attributes"]["website_ids"], json!([1]));
    let (s, v) = m.call("GET", "/products/KP-0150", &[], None).await;
    assert_eq!(
        (s, v),
        (
            404,
            json!({"message": "The product that was requested doesn't exist. Verify the product and try again."})
        )
    );
    let all = m
        .get("/products", &q(&filter(0, 0, "type_id", "simple", "eq")))
        .await;
    assert_eq!(all["total_count"], 20, "first 10 % of 200 articles exist");

    let excl = Mage::start(MagentoOptions {
        prices_include_tax: false,
        ..Default::default()
    })
    .await;
    assert_eq!(
        d(&excl.get("/products/KP-0001", &[]).await["price"]),
        seed[0].price_excl
    );
}

#[tokio::test]
async fn put_upserts_and_merges() {
    let m = Mage::start(MagentoOptions::default()).await;
    let before = m.get("/products/KP-0001", &[]).await;
    let (s, v) = m.call("PUT", "/products/KP-0001", &[], Some(json!({"product": {"price": 12.34, "custom_attributes": [{"attribute_code": "color", "value": "7"}]}}))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["price"].to_string(), "12.34");
    assert_eq!(v["name"], before["name"], "fields not given are kept");
    assert_eq!(attr(&v, "color"), "7");
    assert_eq!(attr(&v, "tax_class_id"), attr(&before, "tax_class_id"));
    assert!(v["updated_at"].as_str().unwrap() > before["updated_at"].as_str().unwrap());

    // Create through PUT with stock and a category.
    let body = json!({"product": {
        "sku": "ignored-body-sku", "name": "Nieuw Product", "price": "19.95", "type_id": "simple", "attribute_set_id": 4,
        "weight": 0.25, "status": 1, "visibility": 4,
        "extension_attributes": {"category_links": [{"position": 0, "category_id": "3"}], "stock_item": {"qty": 7, "is_in_stock": true}},
        "custom_attributes": [{"attribute_code": "tax_class_id", "value": TAX_CLASS_LOW.to_string()}, {"attribute_code": "brand", "value": "11"}]
    }});
    let (s, v) = m.call("PUT", "/products/KP-0100", &[], Some(body)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["sku"], "KP-0100");
    assert_eq!(v["extension_attributes"]["stock_item"]["qty"], 7);
    assert_eq!(
        v["extension_attributes"]["category_links"],
        json!([{"position": 0, "category_id": "3"}])
    );
    assert_eq!(attr(&v, "url_key"), "nieuw-product");
    let created_id = v["id"].clone();
    let again = m.get("/products/kp-0100", &[]).await;
    assert_eq!(again["id"], created_id);

    // POST creates too.
    let (s, v) = m
        .call(
            "POST",
            "/products",
            &[],
            Some(json!({"product": {"sku": "KP-0101", "name": "Ander Product", "price": 5}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(attr(&v, "tax_class_id"), "2");
}

#[tokio::test]
async fn product_validation_errors() {
    let m = Mage::start(MagentoOptions::default()).await;
    let put = |sku: &'static str, p: Value| {
        let m = &m;
        async move {
            m.call(
                "PUT",
                &format!("/products/{sku}"),
                &[],
                Some(json!({"product": p})),
            )
            .await
        }
    };
    let (s, v) = put("KP-0120", json!({"price": 1})).await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"message": "The \"%1\" attribute value is empty. Set the attribute and try again.", "parameters": ["Product Name"]})
        )
    );
    let (s, v) = put("KP-0120", json!({"name": "Zonder prijs"})).await;
    assert_eq!((s, v["parameters"].clone()), (400, json!(["Price"])));
    let (s, v) = put(
        "KP-0001",
        json!({"custom_attributes": [{"attribute_code": "tax_class_id", "value": "99"}]}),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"message": "Invalid value of \"%value\" provided for the %fieldName field.", "parameters": {"fieldName": "tax_class_id", "value": "99"}})
        )
    );
    let (s, v) = put(
        "KP-0001",
        json!({"custom_attributes": [{"attribute_code": "color", "value": "4242"}]}),
    )
    .await;
    assert_eq!((s, v["parameters"]["fieldName"].clone()), (400, json!("color")));
    let (s, v) = put(
        "KP-0001",
        json!({"extension_attributes": {"category_links": [{"position": 1, "category_id": "999"}]}}),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"message": "Could not save product \"%1\" with position %2 to category %3", "parameters": ["KP-0001", 1, 999]})
        )
    );
    let (s, v) = put("KP-0001", json!({"qty": 3})).await;
    assert_eq!(s, 400);
    assert_eq!(v["parameters"]["fieldName"], "Qty");
    let taken = attr(&m.get("/products/KP-0001", &[]).await, "url_key").clone();
    let (s, v) = put("KP-0121", json!({"name": "Dubbel", "price": 1, "custom_attributes": [{"attribute_code": "url_key", "value": taken}]})).await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"message": "URL key for specified store already exists."})
        )
    );
    let (s, v) = m
        .call("PUT", "/products/KP-0001", &[], Some(json!({"name": "x"})))
        .await;
    assert_eq!(
        (s, v["parameters"].clone()),
        (400, json!({"fieldName": "product"}))
    );
    let (s, v) = m.raw("PUT", &m.url("/products/KP-0001"), None, None).await;
    assert_eq!(
        (s, v["parameters"]["resources"].clone()),
        (401, json!("Magento_Catalog::products"))
    );
    // None of the rejected creates left a product behind.
    for sku in ["KP-0120", "KP-0121"] {
        assert_eq!(m.call("GET", &format!("/products/{sku}"), &[], None).await.0, 404);
    }
}

#[tokio::test]
async fn attribute_options_and_categories() {
    let m = Mage::start(MagentoOptions::default()).await;
    let colors = m.get("/products/attributes/color/options", &[]).await;
    assert_eq!(colors[0], json!({"label": " ", "value": ""}));
    assert!(colors
        .as_array()
        .unwrap()
        .contains(&json!({"label": "Rood", "value": "5"})));
    let brands = m.get("/products/attributes/brand/options", &[]).await;
    assert_eq!(brands.as_array().unwrap().len(), 5);
    let (s, v) = m
        .call(
            "POST",
            "/products/attributes/brand/options",
            &[],
            Some(json!({"option": {"label": "Nieuw Merk"}})),
        )
        .await;
    assert_eq!(s, 200);
    let new_id = v.as_str().unwrap().to_owned();
    let brands = m.get("/products/attributes/brand/options", &[]).await;
    assert!(brands
        .as_array()
        .unwrap()
        .contains(&json!({"label": "Nieuw Merk", "value": new_id})));
    let (s, _) = m
        .call(
            "PUT",
            "/products/KP-0001",
            &[],
            Some(json!({"product": {"custom_attributes": [{"attribute_code": "brand", "value": new_id}]}})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = m
        .call("GET", "/products/attributes/nope/options", &[], None)
        .await;
    assert_eq!((s, v["parameters"].clone()), (404, json!(["nope"])));

    let tree = m.get("/categories", &[]).await;
    assert_eq!(
        (tree["id"].clone(), tree["name"].clone()),
        (json!(2), json!("Default Category"))
    );
    let names: Vec<&str> = tree["children_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let seed_names: Vec<String> = articles(&SeedConfig::default())
        .iter()
        .map(|a| a.category.clone())
        .collect();
    assert!(
        names.iter().any(|n| seed_names.iter().any(|s| s == n)),
        "some seed categories exist"
    );
    let missing: Vec<&String> = seed_names
        .iter()
        .filter(|s| !names.contains(&s.as_str()))
        .collect();
    assert!(!missing.is_empty(), "others do not");
    let (s, v) = m
        .call(
            "POST",
            "/categories",
            &[],
            Some(json!({"category": {"parent_id": 2, "name": missing[0], "is_active": true}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["level"], 2);
    assert_eq!(v["path"], format!("1/2/{}", v["id"]));
    let (s, v) = m
        .call(
            "POST",
            "/categories",
            &[],
            Some(json!({"category": {"parent_id": 2, "name": missing[0]}})),
        )
        .await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"message": "URL key for specified store already exists."})
        )
    );
    let (s, v) = m
        .call(
            "POST",
            "/categories",
            &[],
            Some(json!({"category": {"parent_id": 77, "name": "X"}})),
        )
        .await;
    assert_eq!(
        (s, v),
        (
            404,
            json!({"message": "No such entity with %fieldName = %fieldValue", "parameters": {"fieldName": "id", "fieldValue": 77}})
        )
    );
    let tree = m.get("/categories", &[]).await;
    assert!(tree["children_data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == missing[0].as_str()));
}

#[tokio::test]
async fn legacy_stock_and_msi() {
    let m = Mage::start(MagentoOptions::default()).await;
    let item = m.get("/stockItems/KP-0002", &[]).await;
    let item_id = item["item_id"].to_string();
    let (s, v) = m
        .call(
            "PUT",
            &format!("/products/KP-0002/stockItems/{item_id}"),
            &[],
            Some(json!({"stockItem": {"qty": 0, "is_in_stock": true}})),
        )
        .await;
    assert_eq!((s, v.clone()), (200, item["item_id"].clone()));
    let item = m.get("/stockItems/KP-0002", &[]).await;
    assert_eq!(
        (item["qty"].clone(), item["is_in_stock"].clone()),
        (json!(0), json!(false)),
        "qty 0 is out of stock"
    );

    // MSI: sources, and the default source mirrors the legacy stock item.
    let sources = m.get("/inventory/sources", &[]).await;
    let codes: Vec<&str> = sources["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["default", "winkel"]);
    let body = json!({"sourceItems": [
        {"sku": "KP-0002", "source_code": "default", "quantity": 12, "status": 1},
        {"sku": "KP-0002", "source_code": "winkel", "quantity": 3.5, "status": 1},
    ]});
    let (s, v) = m.call("POST", "/inventory/source-items", &[], Some(body)).await;
    assert_eq!((s, v), (200, json!([])));
    assert_eq!(m.get("/stockItems/KP-0002", &[]).await["qty"], 12);
    let v = m
        .get(
            "/inventory/source-items",
            &q(&filter(0, 0, "sku", "KP-0002", "eq")),
        )
        .await;
    assert_eq!(v["total_count"], 2);
    assert!(v["items"]
        .as_array()
        .unwrap()
        .contains(&json!({"sku": "KP-0002", "source_code": "winkel", "quantity": 3.5, "status": 1})));
    let (s, v) = m
        .call(
            "POST",
            "/inventory/source-items",
            &[],
            Some(
                json!({"sourceItems": [{"sku": "", "source_code": "default", "quantity": "x", "status": 1}]}),
            ),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(v["message"], "Validation Failed");
    assert_eq!(v["errors"].as_array().unwrap().len(), 2);
    let (s, _) = m.call("POST", "/inventory/source-items", &[], Some(json!({"sourceItems": [{"sku": "KP-0001", "source_code": "mars", "quantity": 1, "status": 1}]}))).await;
    assert_eq!(s, 400);

    // One row per (source, sku): a default source item saved before its product exists is
    // the product's legacy stock item once it is created, not a second (sku, "default") row;
    // a second save of the same key (other case) replaces the row.
    for (sku, qty) in [("NEW-1", 4), ("new-1", 7)] {
        let body =
            json!({"sourceItems": [{"sku": sku, "source_code": "default", "quantity": qty, "status": 1}]});
        let (s, _) = m.call("POST", "/inventory/source-items", &[], Some(body)).await;
        assert_eq!(s, 200);
    }
    let body = json!({"product": {"sku": "NEW-1", "name": "Nieuw", "attribute_set_id": 4, "price": 1, "type_id": "simple"}});
    let (s, v) = m.call("POST", "/products", &[], Some(body)).await;
    assert_eq!(s, 200, "{v}");
    let rows = m
        .get("/inventory/source-items", &q(&filter(0, 0, "sku", "NEW-1", "eq")))
        .await;
    assert_eq!(rows["total_count"], 1, "{rows}");
    assert_eq!(rows["items"][0]["quantity"], 7);
    assert_eq!(m.get("/stockItems/NEW-1", &[]).await["qty"], 7);
    let body =
        json!({"sourceItems": [{"sku": "NEW-1", "source_code": "default", "quantity": 2, "status": 1}]});
    m.call("POST", "/inventory/source-items", &[], Some(body)).await;
    let rows = m
        .get("/inventory/source-items", &q(&filter(0, 0, "sku", "NEW-1", "eq")))
        .await;
    assert_eq!(
        (rows["total_count"].clone(), rows["items"][0]["quantity"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(m.get("/stockItems/NEW-1", &[]).await["qty"], 2);

    let legacy = Mage::start(MagentoOptions {
        msi: false,
        ..Default::default()
    })
    .await;
    let (s, v) = legacy.call("GET", "/inventory/sources", &[], None).await;
    assert_eq!(
        (s, v),
        (404, json!({"message": "Request does not match any route."}))
    );
    assert_eq!(legacy.get("/stockItems/KP-0001", &[]).await["stock_id"], 1);
}

#[tokio::test]
async fn input_limit_on_request_arrays() {
    let m = Mage::start(MagentoOptions {
        input_limit: Some(20),
        ..Default::default()
    })
    .await;
    let items: Vec<Value> = (1..=21)
        .map(|i| json!({"sku": format!("KP-{i:04}"), "source_code": "default", "quantity": 999, "status": 1}))
        .collect();
    let (s, v) = m
        .call(
            "POST",
            "/inventory/source-items",
            &[],
            Some(json!({"sourceItems": items})),
        )
        .await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"message": "Maximum items of type \"%type\" is %max", "parameters": {"type": "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface", "max": 20}})
        )
    );
    assert_ne!(
        m.get("/stockItems/KP-0001", &[]).await["qty"],
        999,
        "nothing written"
    );
    let (s, _) = m
        .call(
            "POST",
            "/inventory/source-items",
            &[],
            Some(json!({"sourceItems": items[..20].to_vec()})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(m.get("/stockItems/KP-0001", &[]).await["qty"], 999);
}
