//! `products.get`, `products.plan` and `products.upsert`: products by SKU or model, with
//! every check the bridge makes before it writes.

use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::{item_error, items, key, lookup, Answer, App};
use crate::opencart::data::{Shop, SimProduct, TAX_CLASS_HIGH, TAX_CLASS_LOW};

pub(super) fn product_json(p: &SimProduct, shop: &Shop) -> Value {
    let paths: Vec<Vec<String>> = p
        .categories
        .iter()
        .filter_map(|c| {
            shop.categories
                .iter()
                .find(|(_, id, _)| id == c)
                .map(|(n, _, _)| vec![n.clone()])
        })
        .collect();
    json!({
        "product_id": p.id, "code": p.sku, "model": p.model, "name": p.name, "description": "",
        "price": format!("{:.4}", p.price), "tax_class_id": p.tax_class_id, "weight": format!("{:.8}", p.weight),
        "weight_class_id": p.weight_class_id, "status": u8::from(p.status), "quantity": p.quantity,
        "category_ids": p.categories, "categories": paths, "store_ids": p.stores, "keyword": p.keyword,
    })
}

pub(super) fn products_get(app: &App, req: &Value) -> Answer {
    let key = key(req)?;
    let shop = app.shop();
    let out: Vec<Value> = items(req)?
        .iter()
        .map(|c| {
            let code = c.as_str().unwrap_or("");
            match lookup(&shop, &key, code) {
                Ok(None) => json!({"code": code, "found": false}),
                Ok(Some(id)) => json!({"code": code, "found": true, "product": shop.products.get(&id).map(|p| product_json(p, &shop))}),
                Err(e) => json!({"code": code, "found": true, "error": e}),
            }
        })
        .collect();
    Ok(json!({ "items": out }))
}

struct Checked {
    id: Option<u64>,
    name: String,
    price: Decimal,
    tax_class_id: u32,
    weight: Option<Decimal>,
    weight_class_id: Option<u32>,
    status: bool,
    categories: Option<Vec<u64>>,
    keyword: Option<String>,
}

/// Every check products.upsert makes (bridge: koppel_upsert_one up to the writes).
fn check(shop: &Shop, key: &str, item: &Value) -> Result<Checked, Value> {
    let code = item["code"].as_str().unwrap_or("");
    if code.is_empty() || code.len() > 64 {
        return Err(item_error("code", "must be 1-64 characters"));
    }
    let name = item["name"].as_str().unwrap_or("").to_owned();
    if name.trim().is_empty() || name.chars().count() > 255 {
        return Err(item_error("name", "must be 1-255 characters"));
    }
    let dec = |k: &str| -> Result<Decimal, Value> {
        item[k]
            .as_str()
            .and_then(|s| s.parse::<Decimal>().ok())
            .ok_or_else(|| item_error(k, "must be a decimal number as text"))
    };
    let price = dec("price")?;
    let tax_class_id = item["tax_class_id"]
        .as_u64()
        .ok_or_else(|| item_error("tax_class_id", "must be an integer >= 0"))? as u32;
    if tax_class_id != 0 && tax_class_id != TAX_CLASS_HIGH && tax_class_id != TAX_CLASS_LOW {
        return Err(item_error(
            "tax_class_id",
            format!("tax class {tax_class_id} does not exist in the shop"),
        ));
    }
    let weight = if item.get("weight").is_some() {
        Some(dec("weight")?)
    } else {
        None
    };
    let categories = match item["categories"].as_array() {
        None => None,
        Some(paths) => {
            let mut ids = Vec::new();
            for p in paths {
                let path: Vec<String> = p
                    .as_array()
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                if !path.is_empty() {
                    let id = shop.category(&path).map_err(|(f, m)| item_error(&f, m))?;
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
            Some(ids)
        }
    };
    let id = lookup(shop, key, code)?;
    let keyword = item["keyword"]
        .as_str()
        .filter(|k| !k.is_empty())
        .map(str::to_owned);
    if let Some(k) = &keyword {
        if let Some(other) = shop
            .products
            .values()
            .find(|p| p.keyword.as_deref() == Some(k) && Some(p.id) != id)
        {
            return Err(item_error(
                "keyword",
                format!("SEO keyword \"{k}\" is already used by product_id={}", other.id),
            ));
        }
    }
    Ok(Checked {
        id,
        name,
        price,
        tax_class_id,
        weight,
        weight_class_id: item["weight_class_id"].as_u64().map(|w| w as u32),
        status: item["status"].as_bool().unwrap_or(false),
        categories,
        keyword,
    })
}

pub(super) fn products_plan(app: &App, req: &Value) -> Answer {
    let key = key(req)?;
    let shop = app.shop();
    let out: Vec<Value> = items(req)?
        .iter()
        .map(|item| {
            let code = item["code"].as_str().unwrap_or("");
            match check(&shop, &key, item) {
                Err(e) => json!({"code": code, "found": false, "error": e}),
                Ok(c) => match c.id.and_then(|id| shop.products.get(&id)) {
                    Some(p) => json!({"code": code, "found": true, "product": product_json(p, &shop), "category_ids": c.categories}),
                    None => json!({"code": code, "found": false, "category_ids": c.categories}),
                },
            }
        })
        .collect();
    Ok(json!({ "items": out }))
}

pub(super) fn products_upsert(app: &App, req: &Value) -> Answer {
    let key = key(req)?;
    let stores: Vec<u32> = req["store_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_u64().map(|s| s as u32)).collect())
        .unwrap_or_else(|| vec![0]);
    let mut shop = app.shop();
    let mut out = Vec::new();
    for item in items(req)? {
        let code = item["code"].as_str().unwrap_or("").to_owned();
        let c = match check(&shop, &key, &item) {
            Ok(c) => c,
            Err(e) => {
                out.push(json!({"code": code, "error": e}));
                continue;
            }
        };
        let created = c.id.is_none();
        let id =
            c.id.unwrap_or_else(|| shop.products.keys().next_back().copied().unwrap_or(49).max(49) + 1);
        let p = shop.products.entry(id).or_insert_with(|| SimProduct {
            id,
            sku: if key == "sku" { code.clone() } else { String::new() },
            model: code.clone(),
            name: String::new(),
            price: Decimal::ZERO,
            tax_class_id: 0,
            weight: Decimal::ZERO,
            weight_class_id: 0,
            status: false,
            quantity: 0,
            categories: Vec::new(),
            stores: stores.clone(),
            keyword: None,
        });
        p.name = c.name;
        p.price = c.price.round_dp(4);
        p.tax_class_id = c.tax_class_id;
        if let Some(w) = c.weight {
            p.weight = w;
        }
        if let Some(w) = c.weight_class_id {
            p.weight_class_id = w;
        }
        p.status = c.status;
        if let Some(cats) = c.categories {
            p.categories = cats;
        }
        for s in &stores {
            if !p.stores.contains(s) {
                p.stores.push(*s);
            }
        }
        if c.keyword.is_some() {
            p.keyword = c.keyword;
        }
        out.push(json!({"code": code, "product_id": id, "created": created}));
    }
    Ok(json!({ "items": out }))
}
