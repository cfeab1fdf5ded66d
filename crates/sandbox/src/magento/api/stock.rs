//! Stock: the legacy stock items and MSI sources / source items.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::magento::data::Shop;
use crate::magento::search::{self, TopLevel};
use crate::magento::wire::{check_fields, decimal_of, int_of, money, string_of, MageError};

use super::{
    apply_stock, criteria, product_not_found, stock_json, Params, Res, St, RES_SOURCE, RES_SOURCE_ITEM,
    RES_STOCK, STOCK_KEYS,
};

pub(super) async fn stock_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_STOCK).await?;
    let shop = app.shop();
    let product = shop
        .product_by_sku(&cx.param("sku"))
        .ok_or_else(product_not_found)?;
    let item = shop.stock.get(&product.id).ok_or_else(product_not_found)?;
    Ok(cx.reply(stock_json(item)))
}

pub(super) async fn stock_put(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_STOCK).await?;
    let body = cx.body()?;
    let s = body
        .get("stockItem")
        .and_then(Value::as_object)
        .ok_or_else(|| MageError::required("stockItem"))?;
    check_fields(
        s,
        STOCK_KEYS,
        "Magento\\CatalogInventory\\Api\\Data\\StockItemInterface",
    )?;
    let mut shop = app.shop();
    let id = shop
        .product_by_sku(&cx.param("sku"))
        .map(|p| p.id)
        .ok_or_else(product_not_found)?;
    let mut item = shop.stock.get(&id).cloned().ok_or_else(product_not_found)?;
    apply_stock(&mut item, s)?;
    let item_id = item.item_id;
    shop.stock.insert(id, item);
    Ok(cx.reply(json!(item_id)))
}

pub(super) fn source_item_records(shop: &Shop) -> Vec<Value> {
    let mut out: Vec<Value> = shop
        .products
        .values()
        .filter(|p| p.type_id == "simple" || p.type_id == "virtual")
        .filter_map(|p| {
            shop.stock.get(&p.id).map(|s| {
                json!({ "sku": p.sku, "source_code": "default", "quantity": money(s.qty), "status": i64::from(s.is_in_stock) })
            })
        })
        .collect();
    out.extend(shop.source_items.iter().map(|((sku, code), (qty, status))| {
        json!({ "sku": sku, "source_code": code, "quantity": money(*qty), "status": status })
    }));
    out
}

pub(super) async fn sources_list(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_SOURCE).await?;
    let sc = criteria(&cx, false)?;
    let records: Vec<Value> = app
        .shop()
        .sources
        .iter()
        .map(|s| {
            json!({
                "source_code": s.code, "name": s.name, "enabled": s.enabled, "description": s.name,
                "latitude": 0, "longitude": 0, "country_id": s.country_id, "postcode": s.postcode,
                "use_default_carrier_config": true, "carrier_links": [],
            })
        })
        .collect();
    let known = [
        "source_code",
        "name",
        "enabled",
        "description",
        "country_id",
        "postcode",
    ];
    let result = search::run(
        records,
        &sc,
        &TopLevel { known: &known },
        "source_code",
        app.paging(),
    )?;
    Ok(cx.reply(result))
}

pub(super) async fn source_items_list(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_SOURCE_ITEM).await?;
    let sc = criteria(&cx, true)?;
    let records = source_item_records(&app.shop());
    let known = ["sku", "source_code", "quantity", "status"];
    let result = search::run(records, &sc, &TopLevel { known: &known }, "sku", app.paging())?;
    Ok(cx.reply(result))
}

pub(super) async fn source_items_post(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_SOURCE_ITEM).await?;
    let body = cx.body()?;
    let list = body
        .get("sourceItems")
        .and_then(Value::as_array)
        .ok_or_else(|| MageError::required("sourceItems"))?;
    let mut shop = app.shop();
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for item in list {
        let Some(o) = item.as_object() else {
            return Err(MageError::wrong_type(item, "object"));
        };
        check_fields(
            o,
            &["sku", "source_code", "quantity", "status", "extension_attributes"],
            "Magento\\InventoryApi\\Api\\Data\\SourceItemInterface",
        )?;
        let field_err = |msg: &str, field: &str| json!({ "message": msg, "parameters": { "field": field } });
        let sku = o.get("sku").and_then(string_of).unwrap_or_default();
        let code = o.get("source_code").and_then(string_of).unwrap_or_default();
        if sku.trim().is_empty() {
            errors.push(field_err("\"%field\" can not be empty.", "sku"));
        }
        if code.trim().is_empty() {
            errors.push(field_err("\"%field\" can not be empty.", "source_code"));
        }
        let qty = match o.get("quantity") {
            Some(v) => decimal_of(v),
            None => Some(Decimal::ZERO),
        };
        if qty.is_none() {
            errors.push(field_err("\"%field\" should be numeric.", "quantity"));
        }
        let status = o.get("status").map(int_of).unwrap_or(Some(0));
        if !matches!(status, Some(0 | 1)) {
            errors.push(field_err("\"%field\" should be numeric.", "status"));
        }
        parsed.push((sku, code, qty.unwrap_or_default(), status.unwrap_or_default()));
    }
    if !errors.is_empty() {
        return Err(MageError {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "message": "Validation Failed", "errors": errors }),
        });
    }
    if parsed
        .iter()
        .any(|(_, code, _, _)| !shop.sources.iter().any(|s| s.code == *code))
    {
        return Err(MageError::new(
            StatusCode::BAD_REQUEST,
            "Could not save Source Item",
        ));
    }
    for (sku, code, qty, status) in parsed {
        shop.set_source_item(&sku, &code, qty, status);
    }
    Ok(cx.reply(json!([])))
}
