//! Orders: list, get, address edit and the status history comments.

use std::collections::BTreeSet;

use axum::extract::{Path, Request, State};
use serde_json::{json, Value};

use crate::magento::search::{self, TopLevel};
use crate::magento::wire::{bool_of, check_fields, now, string_of, ts, MageError};

use super::{criteria, entity_not_found, id_param, Params, Res, St, RES_COMMENT, RES_ORDERS};

pub(super) const ORDER_OPTIONAL: &[&str] = &[
    "customer_id",
    "coupon_code",
    "discount_description",
    "total_canceled",
    "total_invoiced",
    "customer_taxvat",
    "customer_dob",
    "customer_middlename",
    "customer_prefix",
    "customer_suffix",
    "ext_order_id",
    "hold_before_state",
    "hold_before_status",
    "total_refunded",
    "remote_ip",
];

pub(super) fn union_keys<'a>(records: impl Iterator<Item = &'a Value>, extra: &[&'a str]) -> Vec<&'a str> {
    let mut set: BTreeSet<&str> = extra.iter().copied().collect();
    for r in records {
        if let Some(m) = r.as_object() {
            set.extend(m.keys().map(String::as_str));
        }
    }
    set.into_iter().collect()
}

pub(super) async fn orders_list(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_ORDERS).await?;
    let sc = criteria(&cx, true)?;
    let result = {
        let shop = app.shop();
        let known = union_keys(shop.orders.values(), ORDER_OPTIONAL);
        let records: Vec<Value> = shop.orders.values().cloned().collect();
        search::run(
            records,
            &sc,
            &TopLevel { known: &known },
            "entity_id",
            app.paging(),
        )?
    };
    let served: Vec<u64> = result["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|o| o["entity_id"].as_u64()).collect())
        .unwrap_or_default();
    if served.len() > 1 && Some(served.len() as u64) == sc.page_size {
        app.edit_during_read("orders", &served);
    }
    Ok(cx.reply(app.maybe_malform(result)))
}

pub(super) async fn order_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_ORDERS).await?;
    let id = id_param(&cx, "id")?;
    let shop = app.shop();
    let o = shop.orders.get(&id).ok_or_else(entity_not_found)?;
    Ok(cx.reply(o.clone()))
}

/// `PUT /V1/orders/{parent_id}` with `{"entity": address}`: edits an order address
/// (`Magento\Sales\Api\OrderAddressRepositoryInterface::save`, route `/V1/orders/:parent_id`
/// in Magento_Sales' webapi.xml). The address is found by its `entity_id` (else by
/// `address_type`); the fields given replace the stored ones; the order's `updated_at` moves.
/// Answers the saved address.
pub(super) async fn order_address_put(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_COMMENT).await?;
    let id = id_param(&cx, "id")?;
    let body = cx.body()?;
    let entity = body
        .get("entity")
        .and_then(Value::as_object)
        .ok_or_else(|| MageError::required("entity"))?
        .clone();
    let mut shop = app.shop();
    let order = shop.orders.get_mut(&id).ok_or_else(entity_not_found)?;
    let want_id = entity.get("entity_id").and_then(Value::as_u64);
    let want_type = entity
        .get("address_type")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let matches = |a: &Value| match (want_id, &want_type) {
        (Some(i), _) => a.get("entity_id").and_then(Value::as_u64) == Some(i),
        (None, Some(t)) => a.get("address_type").and_then(Value::as_str) == Some(t.as_str()),
        (None, None) => false,
    };
    let pointer = if order.get("billing_address").is_some_and(&matches) {
        "/billing_address"
    } else if order
        .pointer("/extension_attributes/shipping_assignments/0/shipping/address")
        .is_some_and(&matches)
    {
        "/extension_attributes/shipping_assignments/0/shipping/address"
    } else {
        return Err(entity_not_found());
    };
    let Some(address) = order.pointer_mut(pointer) else {
        return Err(entity_not_found());
    };
    if let Some(obj) = address.as_object_mut() {
        for (k, v) in entity {
            if k != "entity_id" && k != "parent_id" {
                obj.insert(k, v);
            }
        }
    }
    let saved = address.clone();
    order["updated_at"] = json!(ts(now()));
    Ok(cx.reply(saved))
}

pub(super) async fn comments_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_ORDERS).await?;
    let id = id_param(&cx, "id")?;
    let shop = app.shop();
    let o = shop.orders.get(&id).ok_or_else(entity_not_found)?;
    let items = o.get("status_histories").cloned().unwrap_or_else(|| json!([]));
    let total = items.as_array().map_or(0, Vec::len);
    Ok(cx.reply(json!({ "items": items, "search_criteria": { "filter_groups": [] }, "total_count": total })))
}

/// The state a status belongs to (Magento's default status-to-state assignment).
pub(super) fn state_of(status: &str) -> Option<&'static str> {
    Some(match status {
        "pending" => "new",
        "pending_payment" => "pending_payment",
        "processing" => "processing",
        "complete" => "complete",
        "closed" => "closed",
        "canceled" => "canceled",
        "holded" => "holded",
        "payment_review" | "fraud" => "payment_review",
        _ => return None,
    })
}

pub(super) async fn comment_post(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_COMMENT).await?;
    let id = id_param(&cx, "id")?;
    let body = cx.body()?;
    let h = body
        .get("statusHistory")
        .and_then(Value::as_object)
        .ok_or_else(|| MageError::required("statusHistory"))?;
    check_fields(
        h,
        &[
            "comment",
            "created_at",
            "entity_id",
            "entity_name",
            "is_customer_notified",
            "is_visible_on_front",
            "parent_id",
            "status",
            "extension_attributes",
        ],
        "Magento\\Sales\\Api\\Data\\OrderStatusHistoryInterface",
    )?;
    let flag = |k: &str| -> Result<i64, MageError> {
        match h.get(k) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => bool_of(v)
                .map(i64::from)
                .ok_or_else(|| MageError::wrong_type(v, "int")),
        }
    };
    let notified = flag("is_customer_notified")?;
    let visible = flag("is_visible_on_front")?;
    let comment = h.get("comment").and_then(string_of).unwrap_or_default();
    let status = h.get("status").and_then(string_of).filter(|s| !s.is_empty());
    let mut shop = app.shop();
    let history_id = shop.next_history_id;
    let order = shop.orders.get_mut(&id).ok_or_else(entity_not_found)?;
    let current = order
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let status = status.unwrap_or(current.clone());
    let t = ts(now());
    let entry = json!({
        "comment": comment, "created_at": t, "entity_id": history_id, "entity_name": "order",
        "is_customer_notified": notified, "is_visible_on_front": visible, "parent_id": id, "status": status,
    });
    if let Some(Value::Array(list)) = order.get_mut("status_histories") {
        list.insert(0, entry);
    }
    if status != current {
        order["status"] = json!(status);
        if let Some(state) = state_of(&status) {
            order["state"] = json!(state);
        }
        order["updated_at"] = json!(t);
    }
    shop.next_history_id += 1;
    Ok(cx.reply(json!(true)))
}
