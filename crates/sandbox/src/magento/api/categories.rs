//! Categories: the tree, get and create.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::magento::data::{slug, Category, Shop};
use crate::magento::wire::{bool_of, check_fields, now, string_of, ts, MageError};

use super::{id_param, int_field, no_such_entity, url_key_exists, Params, Res, St, RES_CATEGORIES};

pub(super) fn category_tree(shop: &Shop, c: &Category, depth: Option<i64>) -> Value {
    let mut kids: Vec<&Category> = shop.categories.values().filter(|k| k.parent_id == c.id).collect();
    kids.sort_by_key(|k| (k.position, k.id));
    let children: Vec<Value> = match depth {
        Some(d) if d <= 0 => Vec::new(),
        _ => kids
            .into_iter()
            .map(|k| category_tree(shop, k, depth.map(|d| d - 1)))
            .collect(),
    };
    let count = shop
        .products
        .values()
        .filter(|p| p.category_links.iter().any(|(_, id)| *id == c.id))
        .count();
    json!({
        "id": c.id, "parent_id": c.parent_id, "name": c.name, "is_active": c.is_active,
        "position": c.position, "level": c.level, "product_count": count, "children_data": children,
    })
}

pub(super) fn category_path(shop: &Shop, c: &Category) -> String {
    let mut ids = vec![c.id];
    let mut cur = c.parent_id;
    while let Some(p) = shop.categories.get(&cur) {
        ids.push(p.id);
        cur = p.parent_id;
    }
    ids.iter().rev().map(u64::to_string).collect::<Vec<_>>().join("/")
}

pub(super) fn category_json(shop: &Shop, c: &Category) -> Value {
    let children: Vec<String> = shop
        .categories
        .values()
        .filter(|k| k.parent_id == c.id)
        .map(|k| k.id.to_string())
        .collect();
    json!({
        "id": c.id, "parent_id": c.parent_id, "name": c.name, "is_active": c.is_active,
        "position": c.position, "level": c.level, "children": children.join(","),
        "created_at": ts(c.created_at), "updated_at": ts(c.updated_at), "path": category_path(shop, c),
        "available_sort_by": [], "include_in_menu": c.include_in_menu,
        "custom_attributes": [
            { "attribute_code": "url_key", "value": c.url_key },
            { "attribute_code": "url_path", "value": c.url_key },
            { "attribute_code": "is_anchor", "value": "1" },
        ],
    })
}

pub(super) async fn categories_tree(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_CATEGORIES).await?;
    let root = match cx.query_leaf("rootCategoryId") {
        Some(r) => r
            .parse::<u64>()
            .map_err(|_| MageError::wrong_type(&Value::String(r), "int"))?,
        None => 2,
    };
    let depth = match cx.query_leaf("depth") {
        Some(d) => Some(
            d.parse::<i64>()
                .map_err(|_| MageError::wrong_type(&Value::String(d), "int"))?,
        ),
        None => None,
    };
    let shop = app.shop();
    let c = shop
        .categories
        .get(&root)
        .ok_or_else(|| no_such_entity("id", json!(root)))?;
    Ok(cx.reply(category_tree(&shop, c, depth)))
}

pub(super) async fn category_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_CATEGORIES).await?;
    let id = id_param(&cx, "id")?;
    let shop = app.shop();
    let c = shop
        .categories
        .get(&id)
        .ok_or_else(|| no_such_entity("id", json!(id)))?;
    Ok(cx.reply(category_json(&shop, c)))
}

pub(super) async fn category_post(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_CATEGORIES).await?;
    let body = cx.body()?;
    let c = body
        .get("category")
        .and_then(Value::as_object)
        .ok_or_else(|| MageError::required("category"))?;
    check_fields(
        c,
        &[
            "id",
            "parent_id",
            "name",
            "is_active",
            "position",
            "level",
            "children",
            "created_at",
            "updated_at",
            "path",
            "available_sort_by",
            "include_in_menu",
            "extension_attributes",
            "custom_attributes",
        ],
        "Magento\\Catalog\\Api\\Data\\CategoryInterface",
    )?;
    let name = c.get("name").and_then(string_of).unwrap_or_default();
    if name.trim().is_empty() {
        return Err(MageError::with_params(
            StatusCode::BAD_REQUEST,
            "Could not save category: %1",
            json!(["The \"Name\" attribute value is empty. Set the attribute and try again."]),
        ));
    }
    let parent_id = match c.get("parent_id") {
        Some(v) => u64::try_from(int_field(v, "parent_id")?).unwrap_or(0),
        None => 2,
    };
    let url_key = c
        .get("custom_attributes")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|x| x.get("attribute_code").and_then(Value::as_str) == Some("url_key"))
        })
        .and_then(|x| x.get("value"))
        .and_then(string_of)
        .unwrap_or_else(|| slug(&name));
    let mut shop = app.shop();
    let parent = shop
        .categories
        .get(&parent_id)
        .cloned()
        .ok_or_else(|| no_such_entity("id", json!(parent_id)))?;
    if shop
        .categories
        .values()
        .any(|k| k.parent_id == parent_id && k.url_key == url_key)
    {
        return Err(url_key_exists());
    }
    let now = now();
    let id = shop.next_category_id;
    shop.next_category_id += 1;
    let position = match c.get("position") {
        Some(v) => int_field(v, "position")?,
        None => {
            shop.categories
                .values()
                .filter(|k| k.parent_id == parent_id)
                .count() as i64
                + 1
        }
    };
    let is_active = match c.get("is_active") {
        Some(v) => bool_of(v).ok_or_else(|| MageError::wrong_type(v, "bool"))?,
        None => false,
    };
    let include_in_menu = match c.get("include_in_menu") {
        Some(v) => bool_of(v).ok_or_else(|| MageError::wrong_type(v, "bool"))?,
        None => true,
    };
    let cat = Category {
        id,
        parent_id,
        name: name.trim().to_owned(),
        is_active,
        position,
        level: parent.level + 1,
        include_in_menu,
        url_key,
        created_at: now,
        updated_at: now,
    };
    shop.categories.insert(id, cat.clone());
    Ok(cx.reply(category_json(&shop, &cat)))
}
