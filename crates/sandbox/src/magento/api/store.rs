//! Tax classes, rates and rules; store views, configs and websites.

use axum::extract::{Path, Request, State};
use serde_json::{json, Value};

use crate::magento::data::{tax_rate, CUSTOMER_TAX_CLASS, PRODUCT_TAX_CLASSES};
use crate::magento::search::{self, TopLevel};
use crate::magento::wire::money;

use super::{criteria, union_keys, App, Ctx, Params, Res, St, RES_STORE, RES_TAX};

pub(super) async fn search_static(app: &App, cx: &Ctx, records: Vec<Value>, id: &str) -> Res {
    let sc = criteria(cx, true)?;
    let known = union_keys(records.iter(), &[]);
    let result = search::run(
        records.clone(),
        &sc,
        &TopLevel { known: &known },
        id,
        app.paging(),
    )?;
    Ok(cx.reply(result))
}

pub(super) async fn tax_classes(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_TAX).await?;
    let mut records: Vec<Value> = PRODUCT_TAX_CLASSES
        .iter()
        .map(|(id, name, _)| json!({ "class_id": id, "class_name": name, "class_type": "PRODUCT" }))
        .collect();
    records.push(
        json!({ "class_id": CUSTOMER_TAX_CLASS, "class_name": "Retail Customer", "class_type": "CUSTOMER" }),
    );
    search_static(&app, &cx, records, "class_id").await
}

pub(super) async fn tax_rates(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_TAX).await?;
    let records: Vec<Value> = PRODUCT_TAX_CLASSES
        .iter()
        .enumerate()
        .map(|(i, (class, _, rate))| {
            json!({
                "id": i + 1, "tax_country_id": "NL", "tax_region_id": 0, "tax_postcode": "*",
                "rate": money(tax_rate(*class)), "code": format!("NL-BTW-{rate}"), "titles": [],
            })
        })
        .collect();
    search_static(&app, &cx, records, "id").await
}

pub(super) async fn tax_rules(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_TAX).await?;
    let records: Vec<Value> = PRODUCT_TAX_CLASSES
        .iter()
        .enumerate()
        .map(|(i, (class, name, rate))| {
            json!({
                "id": i + 1, "code": format!("{name} {rate}%"), "priority": 0, "position": 0,
                "customer_tax_class_ids": [CUSTOMER_TAX_CLASS], "product_tax_class_ids": [class],
                "tax_rate_ids": [i + 1], "calculate_subtotal": false,
            })
        })
        .collect();
    search_static(&app, &cx, records, "id").await
}

pub(super) async fn store_views(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_STORE).await?;
    Ok(cx.reply(json!([
        { "id": 0, "code": "admin", "name": "Admin", "website_id": 0, "store_group_id": 0, "is_active": 1 },
        { "id": 1, "code": "default", "name": "Default Store View", "website_id": 1, "store_group_id": 1, "is_active": 1 },
    ])))
}

pub(super) async fn store_configs(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_STORE).await?;
    let base = format!("{}/", cx.base_url);
    Ok(cx.reply(json!([{
        "id": 1, "code": "default", "website_id": 1, "locale": "nl_NL",
        "base_currency_code": "EUR", "default_display_currency_code": "EUR",
        "timezone": "Europe/Amsterdam", "weight_unit": "kgs",
        "base_url": base, "base_link_url": base,
        "base_static_url": format!("{base}static/"), "base_media_url": format!("{base}media/"),
        "secure_base_url": base, "secure_base_link_url": base,
        "secure_base_static_url": format!("{base}static/"), "secure_base_media_url": format!("{base}media/"),
    }])))
}

pub(super) async fn websites(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_STORE).await?;
    Ok(cx.reply(json!([
        { "id": 0, "code": "admin", "name": "Admin", "default_group_id": 0 },
        { "id": 1, "code": "base", "name": "Main Website", "default_group_id": 1 },
    ])))
}
