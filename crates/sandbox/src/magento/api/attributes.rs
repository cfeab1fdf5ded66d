//! Attribute options: list and add.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::magento::wire::{check_fields, string_of, MageError};

use super::{Params, Res, St, RES_ATTRIBUTES};

pub(super) fn attribute_not_found(code: &str) -> MageError {
    MageError::with_params(
        StatusCode::NOT_FOUND,
        "The attribute with a \"%1\" attributeCode doesn't exist. Verify the attribute and try again.",
        json!([code]),
    )
}

pub(super) async fn options_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_ATTRIBUTES).await?;
    let code = cx.param("code");
    let shop = app.shop();
    let attr = shop
        .attributes
        .iter()
        .find(|a| a.code == code)
        .ok_or_else(|| attribute_not_found(&code))?;
    let mut out = Vec::new();
    if !attr.source_model {
        out.push(json!({ "label": " ", "value": "" }));
    }
    out.extend(
        attr.options
            .iter()
            .map(|(v, l)| json!({ "label": l, "value": v })),
    );
    Ok(cx.reply(Value::Array(out)))
}

pub(super) async fn options_post(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_ATTRIBUTES).await?;
    let code = cx.param("code");
    let body = cx.body()?;
    let option = body
        .get("option")
        .and_then(Value::as_object)
        .ok_or_else(|| MageError::required("option"))?;
    check_fields(
        option,
        &[
            "label",
            "value",
            "sort_order",
            "is_default",
            "store_labels",
            "extension_attributes",
        ],
        "Magento\\Eav\\Api\\Data\\AttributeOptionInterface",
    )?;
    let label = option
        .get("label")
        .and_then(string_of)
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| {
            MageError::new(
                StatusCode::BAD_REQUEST,
                "The attribute option label is empty. Enter a value and try again.",
            )
        })?;
    let mut shop = app.shop();
    let next = shop.next_option_id;
    let attr = shop
        .attributes
        .iter_mut()
        .find(|a| a.code == code)
        .ok_or_else(|| attribute_not_found(&code))?;
    if attr.source_model {
        return Err(MageError::with_params(
            StatusCode::BAD_REQUEST,
            "The \"%1\" attribute doesn't work with options.",
            json!([code]),
        ));
    }
    if attr
        .options
        .iter()
        .any(|(_, l)| l.eq_ignore_ascii_case(label.trim()))
    {
        return Err(MageError::with_params(
            StatusCode::BAD_REQUEST,
            "Admin store attribute option label \"%1\" is already exists.",
            json!([label]),
        ));
    }
    attr.options.push((next.to_string(), label.trim().to_owned()));
    shop.next_option_id += 1;
    Ok(cx.reply(json!(next.to_string())))
}
