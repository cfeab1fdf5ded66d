//! `stock.get` and `stock.set`: quantities by SKU or model.

use serde_json::{json, Value};

use super::{item_error, items, key, lookup, Answer, App};

pub(super) fn stock_get(app: &App, req: &Value) -> Answer {
    let key = key(req)?;
    let shop = app.shop();
    let out: Vec<Value> = items(req)?
        .iter()
        .map(|c| {
            let code = c.as_str().unwrap_or("");
            match lookup(&shop, &key, code) {
                Ok(None) => json!({"code": code, "found": false}),
                Ok(Some(id)) => json!({"code": code, "found": true, "product_id": id,
                    "quantity": shop.products.get(&id).map(|p| p.quantity)}),
                Err(e) => json!({"code": code, "found": true, "error": e}),
            }
        })
        .collect();
    Ok(json!({ "items": out }))
}

pub(super) fn stock_set(app: &App, req: &Value) -> Answer {
    let key = key(req)?;
    let mut shop = app.shop();
    let mut out = Vec::new();
    for it in items(req)? {
        let code = it["code"].as_str().unwrap_or("").to_owned();
        let id = match lookup(&shop, &key, &code) {
            Ok(Some(id)) => id,
            Ok(None) => {
                out.push(json!({"code": code, "error": item_error(&key, format!("no product with {key} \"{code}\" in the shop"))}));
                continue;
            }
            Err(e) => {
                out.push(json!({"code": code, "error": e}));
                continue;
            }
        };
        let Some(q) = it["quantity"].as_i64() else {
            out.push(json!({"code": code, "error": item_error("quantity", "must be an integer")}));
            continue;
        };
        if let Some(p) = shop.products.get_mut(&id) {
            let before = p.quantity;
            p.quantity = q;
            out.push(json!({"code": code, "product_id": id, "before": before, "quantity": q}));
        }
    }
    Ok(json!({ "items": out }))
}
