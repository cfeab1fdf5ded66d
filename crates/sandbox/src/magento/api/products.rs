//! Products: list, get, save (create/update) and their JSON.

use std::collections::BTreeSet;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::magento::data::{slug, Product, Shop, StockItem, PRODUCT_TAX_CLASSES};
use crate::magento::search::{self, Fields};
use crate::magento::wire::{bool_of, check_fields, decimal_of, int_of, money, now, string_of, ts, MageError};

use super::{criteria, empty_attribute, product_not_found, url_key_exists, Params, Res, St, RES_PRODUCTS};

pub(super) fn stock_json(s: &StockItem) -> Value {
    json!({
        "item_id": s.item_id,
        "product_id": s.product_id,
        "stock_id": 1,
        "qty": money(s.qty),
        "is_in_stock": s.is_in_stock,
        "is_qty_decimal": false,
        "show_default_notification_message": false,
        "use_config_min_qty": true,
        "min_qty": 0,
        "use_config_min_sale_qty": 1,
        "min_sale_qty": 1,
        "use_config_max_sale_qty": true,
        "max_sale_qty": 10000,
        "use_config_backorders": s.backorders == 0,
        "backorders": s.backorders,
        "use_config_notify_stock_qty": true,
        "notify_stock_qty": 1,
        "use_config_qty_increments": true,
        "qty_increments": 0,
        "use_config_enable_qty_inc": true,
        "enable_qty_increments": false,
        "use_config_manage_stock": true,
        "manage_stock": s.manage_stock,
        "low_stock_date": null,
        "is_decimal_divided": false,
        "stock_status_changed_auto": 0,
    })
}

pub(super) fn product_json(shop: &Shop, p: &Product, with_stock: bool) -> Value {
    let mut ext = Map::new();
    ext.insert("website_ids".into(), json!(p.website_ids));
    if !p.category_links.is_empty() {
        ext.insert(
            "category_links".into(),
            Value::Array(
                p.category_links
                    .iter()
                    .map(|(pos, id)| json!({ "position": pos, "category_id": id.to_string() }))
                    .collect(),
            ),
        );
    }
    if with_stock {
        if let Some(s) = shop.stock.get(&p.id) {
            ext.insert("stock_item".into(), stock_json(s));
        }
    }
    if p.type_id == "configurable" {
        let values: BTreeSet<String> = p
            .children
            .iter()
            .filter_map(|c| shop.products.get(c))
            .filter_map(|c| c.attr("color").and_then(string_of))
            .collect();
        ext.insert(
            "configurable_product_options".into(),
            json!([{
                "id": p.id,
                "attribute_id": "93",
                "label": "Color",
                "position": 0,
                "values": values.iter().map(|v| json!({ "value_index": v.parse::<i64>().unwrap_or_default() })).collect::<Vec<_>>(),
                "product_id": p.id,
            }]),
        );
        ext.insert("configurable_product_links".into(), json!(p.children));
    }
    let mut m = Map::new();
    m.insert("id".into(), json!(p.id));
    m.insert("sku".into(), json!(p.sku));
    m.insert("name".into(), json!(p.name));
    m.insert("attribute_set_id".into(), json!(p.attribute_set_id));
    m.insert("price".into(), money(p.price));
    m.insert("status".into(), json!(p.status));
    m.insert("visibility".into(), json!(p.visibility));
    m.insert("type_id".into(), json!(p.type_id));
    m.insert("created_at".into(), json!(ts(p.created_at)));
    m.insert("updated_at".into(), json!(ts(p.updated_at)));
    if let Some(w) = p.weight {
        m.insert("weight".into(), money(w));
    }
    m.insert("extension_attributes".into(), Value::Object(ext));
    m.insert("product_links".into(), json!([]));
    m.insert("options".into(), json!([]));
    m.insert("media_gallery_entries".into(), json!([]));
    m.insert("tier_prices".into(), json!([]));
    m.insert(
        "custom_attributes".into(),
        Value::Array(
            p.custom
                .iter()
                .map(|(c, v)| json!({ "attribute_code": c, "value": v }))
                .collect(),
        ),
    );
    Value::Object(m)
}

pub(super) const PRODUCT_KEYS: &[&str] = &[
    "id",
    "sku",
    "name",
    "attribute_set_id",
    "price",
    "status",
    "visibility",
    "type_id",
    "created_at",
    "updated_at",
    "weight",
    "extension_attributes",
    "product_links",
    "options",
    "media_gallery_entries",
    "tier_prices",
    "custom_attributes",
];
pub(super) const PRODUCT_EXT_KEYS: &[&str] = &[
    "website_ids",
    "category_links",
    "stock_item",
    "configurable_product_options",
    "configurable_product_links",
    "bundle_product_options",
    "downloadable_product_links",
    "downloadable_product_samples",
];
pub(super) const STOCK_KEYS: &[&str] = &[
    "item_id",
    "product_id",
    "stock_id",
    "qty",
    "is_in_stock",
    "is_qty_decimal",
    "show_default_notification_message",
    "use_config_min_qty",
    "min_qty",
    "use_config_min_sale_qty",
    "min_sale_qty",
    "use_config_max_sale_qty",
    "max_sale_qty",
    "use_config_backorders",
    "backorders",
    "use_config_notify_stock_qty",
    "notify_stock_qty",
    "use_config_qty_increments",
    "qty_increments",
    "use_config_enable_qty_inc",
    "enable_qty_increments",
    "use_config_manage_stock",
    "manage_stock",
    "low_stock_date",
    "is_decimal_divided",
    "stock_status_changed_auto",
    "extension_attributes",
];
pub(super) const PRODUCT_TYPES: &[&str] = &[
    "simple",
    "virtual",
    "configurable",
    "bundle",
    "grouped",
    "downloadable",
];

/// Product search fields: top-level keys, `category_id`, and EAV attributes.
pub(super) struct ProductFields<'a> {
    attributes: BTreeSet<&'a str>,
}

impl Fields for ProductFields<'_> {
    fn values(&self, record: &Value, field: &str) -> Vec<Value> {
        if field == "category_id" {
            return record
                .pointer("/extension_attributes/category_links")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|l| l.get("category_id").cloned()).collect())
                .unwrap_or_default();
        }
        if let Some(v) = record
            .get(field)
            .filter(|v| !v.is_null() && field != "custom_attributes")
        {
            return vec![v.clone()];
        }
        record
            .get("custom_attributes")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .find(|c| c.get("attribute_code").and_then(Value::as_str) == Some(field))
            })
            .and_then(|c| c.get("value"))
            .filter(|v| !v.is_null())
            .map(|v| vec![v.clone()])
            .unwrap_or_default()
    }
    fn known(&self, field: &str) -> bool {
        field == "category_id"
            || field == "entity_id"
            || (PRODUCT_KEYS.contains(&field)
                && !matches!(field, "extension_attributes" | "custom_attributes"))
            || self.attributes.contains(field)
    }
    fn unknown(&self, field: &str) -> MageError {
        MageError::with_params(
            StatusCode::BAD_REQUEST,
            "Invalid attribute name: %1",
            json!([field]),
        )
    }
}

pub(super) const EAV_ATTRIBUTES: &[&str] = &[
    "description",
    "short_description",
    "url_key",
    "meta_title",
    "meta_keyword",
    "meta_description",
    "special_price",
    "special_from_date",
    "special_to_date",
    "cost",
    "tax_class_id",
    "news_from_date",
    "news_to_date",
    "gift_message_available",
];

pub(super) async fn products_list(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_PRODUCTS).await?;
    let sc = criteria(&cx, true)?;
    let result = {
        let shop = app.shop();
        let mut attributes: BTreeSet<&str> = EAV_ATTRIBUTES.iter().copied().collect();
        attributes.extend(shop.attributes.iter().map(|a| a.code.as_str()));
        attributes.extend(
            shop.products
                .values()
                .flat_map(|p| p.custom.iter().map(|(c, _)| c.as_str())),
        );
        let records: Vec<Value> = shop
            .products
            .values()
            .map(|p| product_json(&shop, p, false))
            .collect();
        search::run(records, &sc, &ProductFields { attributes }, "id", app.paging())?
    };
    Ok(cx.reply(app.maybe_malform(result)))
}

pub(super) async fn product_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_PRODUCTS).await?;
    let shop = app.shop();
    let product = shop
        .product_by_sku(&cx.param("sku"))
        .ok_or_else(product_not_found)?;
    Ok(cx.reply(product_json(&shop, product, true)))
}

pub(super) async fn product_put(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_PRODUCTS).await?;
    let body = cx.body()?;
    let mut shop = app.shop();
    let id = save_product(&mut shop, Some(&cx.param("sku")), &body)?;
    let product = shop.products.get(&id).ok_or_else(MageError::internal)?;
    Ok(cx.reply(product_json(&shop, product, true)))
}

pub(super) async fn product_post(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_PRODUCTS).await?;
    let body = cx.body()?;
    let mut shop = app.shop();
    let id = save_product(&mut shop, None, &body)?;
    let product = shop.products.get(&id).ok_or_else(MageError::internal)?;
    Ok(cx.reply(product_json(&shop, product, true)))
}

pub(super) fn int_field(v: &Value, field: &str) -> Result<i64, MageError> {
    int_of(v)
        .ok_or_else(|| MageError::wrong_type(v, "int"))
        .map_err(|e| {
            if v.is_string() || v.is_number() {
                e
            } else {
                MageError::invalid_field(field, v.clone())
            }
        })
}

/// Creates or updates a product from `{"product": {...}}`; only the fields given change.
pub(super) fn save_product(
    shop: &mut Shop,
    path_sku: Option<&str>,
    body: &Map<String, Value>,
) -> Result<u64, MageError> {
    let p = body
        .get("product")
        .and_then(Value::as_object)
        .ok_or_else(|| MageError::required("product"))?;
    check_fields(p, PRODUCT_KEYS, "Magento\\Catalog\\Api\\Data\\ProductInterface")?;
    let sku = match path_sku {
        Some(s) => s.to_owned(),
        None => p.get("sku").and_then(string_of).unwrap_or_default(),
    };
    let sku = sku.trim().to_owned();
    if sku.is_empty() {
        return Err(empty_attribute("SKU"));
    }
    if sku.chars().count() > 64 {
        return Err(MageError::with_params(
            StatusCode::BAD_REQUEST,
            "SKU length should be %1 characters maximum.",
            json!([64]),
        ));
    }
    let now = now();
    let existing = shop.product_by_sku(&sku).cloned();
    let is_new = existing.is_none();
    let mut prod = existing.unwrap_or_else(|| Product {
        id: 0,
        sku: sku.clone(),
        name: String::new(),
        attribute_set_id: 4,
        price: Decimal::ZERO,
        status: 1,
        visibility: 4,
        type_id: "simple".into(),
        weight: None,
        created_at: now,
        updated_at: now,
        website_ids: vec![1],
        category_links: Vec::new(),
        custom: Vec::new(),
        children: Vec::new(),
    });
    let mut price_given = false;
    if let Some(v) = p.get("name") {
        prod.name = string_of(v).ok_or_else(|| MageError::wrong_type(v, "string"))?;
    }
    if let Some(v) = p.get("price") {
        let price = decimal_of(v).ok_or_else(|| MageError::wrong_type(v, "float"))?;
        if price < Decimal::ZERO {
            return Err(MageError::invalid_field("price", v.clone()));
        }
        prod.price = price;
        price_given = true;
    }
    if let Some(v) = p.get("status") {
        let s = int_field(v, "status")?;
        if !matches!(s, 1 | 2) {
            return Err(MageError::invalid_field("status", v.clone()));
        }
        prod.status = s;
    }
    if let Some(v) = p.get("visibility") {
        let s = int_field(v, "visibility")?;
        if !(1..=4).contains(&s) {
            return Err(MageError::invalid_field("visibility", v.clone()));
        }
        prod.visibility = s;
    }
    if let Some(v) = p.get("type_id") {
        let t = string_of(v).unwrap_or_default();
        if !PRODUCT_TYPES.contains(&t.as_str()) {
            return Err(MageError::invalid_field("type_id", v.clone()));
        }
        prod.type_id = t;
    }
    if let Some(v) = p.get("attribute_set_id") {
        let s = int_field(v, "attribute_set_id")?;
        if s != 4 {
            return Err(MageError::invalid_field("attribute_set_id", v.clone()));
        }
        prod.attribute_set_id = s;
    }
    if let Some(v) = p.get("weight") {
        prod.weight = if v.is_null() {
            None
        } else {
            Some(decimal_of(v).ok_or_else(|| MageError::wrong_type(v, "float"))?)
        };
    }
    let mut url_key_given = false;
    if let Some(v) = p.get("custom_attributes") {
        let list = v.as_array().ok_or_else(|| MageError::wrong_type(v, "array"))?;
        for a in list {
            let a = a.as_object().ok_or_else(|| MageError::wrong_type(a, "object"))?;
            check_fields(
                a,
                &["attribute_code", "value"],
                "Magento\\Framework\\Api\\AttributeInterface",
            )?;
            let code = a
                .get("attribute_code")
                .and_then(Value::as_str)
                .ok_or_else(|| MageError::required("attribute_code"))?;
            let value = a.get("value").cloned().unwrap_or(Value::Null);
            if let Some(attr) = shop.attributes.iter().find(|x| x.code == code) {
                let text = string_of(&value).unwrap_or_default();
                if !text.is_empty() && !attr.options.iter().any(|(id, _)| *id == text) {
                    return Err(MageError::invalid_field(code, value));
                }
            }
            if code == "url_key" {
                url_key_given = true;
            }
            let value = match value {
                Value::Number(n) => Value::String(n.to_string()),
                other => other,
            };
            prod.set_attr(code, value);
        }
    }
    let mut stock_given: Option<&Map<String, Value>> = None;
    if let Some(ext) = p.get("extension_attributes") {
        let ext = ext
            .as_object()
            .ok_or_else(|| MageError::wrong_type(ext, "object"))?;
        check_fields(
            ext,
            PRODUCT_EXT_KEYS,
            "Magento\\Catalog\\Api\\Data\\ProductExtensionInterface",
        )?;
        if let Some(v) = ext.get("website_ids") {
            let ids = v.as_array().ok_or_else(|| MageError::wrong_type(v, "array"))?;
            let mut out = Vec::new();
            for id in ids {
                let w = int_field(id, "website_ids")?;
                if w != 1 {
                    return Err(MageError::with_params(
                        StatusCode::NOT_FOUND,
                        "The website with id %1 that was requested wasn't found. Verify the website and try again.",
                        json!([w]),
                    ));
                }
                out.push(w);
            }
            prod.website_ids = out;
        }
        if let Some(v) = ext.get("category_links") {
            let links = v.as_array().ok_or_else(|| MageError::wrong_type(v, "array"))?;
            let mut out = Vec::new();
            for l in links {
                let l = l.as_object().ok_or_else(|| MageError::wrong_type(l, "object"))?;
                check_fields(
                    l,
                    &["position", "category_id", "extension_attributes"],
                    "Magento\\Catalog\\Api\\Data\\CategoryLinkInterface",
                )?;
                let cat = l
                    .get("category_id")
                    .ok_or_else(|| MageError::required("category_id"))?;
                let cat_id = int_field(cat, "category_id")?;
                let position = l
                    .get("position")
                    .map(|v| int_field(v, "position"))
                    .transpose()?
                    .unwrap_or(0);
                let exists = u64::try_from(cat_id)
                    .ok()
                    .and_then(|c| shop.categories.get(&c))
                    .is_some_and(|c| c.level > 0);
                if !exists {
                    return Err(MageError::with_params(
                        StatusCode::BAD_REQUEST,
                        "Could not save product \"%1\" with position %2 to category %3",
                        json!([prod.sku, position, cat_id]),
                    ));
                }
                out.push((position, cat_id as u64));
            }
            prod.category_links = out;
        }
        if let Some(v) = ext.get("configurable_product_links") {
            let ids = v.as_array().ok_or_else(|| MageError::wrong_type(v, "array"))?;
            let mut out = Vec::new();
            for id in ids {
                let c = int_field(id, "configurable_product_links")?;
                let c = u64::try_from(c).ok().filter(|c| shop.products.contains_key(c));
                let c = c.ok_or_else(|| {
                    MageError::with_params(
                        StatusCode::BAD_REQUEST,
                        "The product that was requested doesn't exist. Verify the product and try again.",
                        json!([]),
                    )
                })?;
                out.push(c);
            }
            prod.children = out;
        }
        if let Some(v) = ext.get("stock_item") {
            let s = v.as_object().ok_or_else(|| MageError::wrong_type(v, "object"))?;
            check_fields(
                s,
                STOCK_KEYS,
                "Magento\\CatalogInventory\\Api\\Data\\StockItemInterface",
            )?;
            stock_given = Some(s);
        }
    }
    // Validation of the resulting product.
    if prod.name.trim().is_empty() {
        return Err(empty_attribute("Product Name"));
    }
    if is_new && !price_given && prod.type_id != "configurable" {
        return Err(empty_attribute("Price"));
    }
    if let Some(v) = prod.attr("tax_class_id") {
        let class = int_of(v);
        if !matches!(class, Some(0))
            && !class.is_some_and(|c| PRODUCT_TAX_CLASSES.iter().any(|(id, _, _)| *id == c))
        {
            return Err(MageError::invalid_field("tax_class_id", v.clone()));
        }
    } else if is_new {
        prod.set_attr("tax_class_id", json!(crate::magento::TAX_CLASS_HIGH.to_string()));
    }
    if !url_key_given && prod.attr("url_key").is_none() {
        prod.set_attr("url_key", json!(slug(&prod.name)));
    }
    let url_key = prod.attr("url_key").and_then(string_of).unwrap_or_default();
    if shop.products.values().any(|o| {
        o.id != prod.id && o.attr("url_key").and_then(string_of).as_deref() == Some(url_key.as_str())
    }) {
        return Err(url_key_exists());
    }
    if is_new {
        prod.id = shop.next_product_id;
        shop.next_product_id += 1;
        prod.created_at = now;
    }
    prod.updated_at = now;
    let id = prod.id;
    let existing = shop.stock.get(&id).cloned();
    // a default source item saved before the product existed becomes its stock item
    let early = match existing {
        Some(_) => None,
        None => shop.take_default_source_item(&prod.sku),
    };
    let mut item = existing.unwrap_or(StockItem {
        item_id: id,
        product_id: id,
        qty: early.map(|(q, _)| q).unwrap_or_default(),
        is_in_stock: early.is_some_and(|(_, s)| s == 1),
        manage_stock: true,
        backorders: 0,
    });
    if let Some(s) = stock_given {
        apply_stock(&mut item, s)?;
    }
    shop.products.insert(id, prod);
    shop.stock.insert(id, item);
    Ok(id)
}

/// Applies a stock item body; an item at or below zero without backorders is out of stock.
pub(super) fn apply_stock(item: &mut StockItem, s: &Map<String, Value>) -> Result<(), MageError> {
    if let Some(v) = s.get("qty") {
        item.qty = decimal_of(v).ok_or_else(|| MageError::wrong_type(v, "float"))?;
    }
    if let Some(v) = s.get("manage_stock") {
        item.manage_stock = bool_of(v).ok_or_else(|| MageError::wrong_type(v, "bool"))?;
    }
    if let Some(v) = s.get("backorders") {
        item.backorders = int_field(v, "backorders")?;
    }
    match s.get("is_in_stock") {
        Some(v) => item.is_in_stock = bool_of(v).ok_or_else(|| MageError::wrong_type(v, "bool"))?,
        None if s.contains_key("qty") => item.is_in_stock = item.qty > Decimal::ZERO,
        None => {}
    }
    if item.manage_stock && item.backorders == 0 && item.qty <= Decimal::ZERO {
        item.is_in_stock = false;
    }
    Ok(())
}
