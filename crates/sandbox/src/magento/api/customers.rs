//! Customers: search and get.

use axum::extract::{Path, Request, State};
use serde_json::{json, Value};

use crate::magento::search::{self, TopLevel};

use super::{criteria, id_param, no_such_entity, union_keys, Params, Res, St, RES_CUSTOMERS};

pub(super) async fn customers_search(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_CUSTOMERS).await?;
    let sc = criteria(&cx, true)?;
    let result = {
        let shop = app.shop();
        let known = union_keys(
            shop.customers.values(),
            &["taxvat", "dob", "middlename", "prefix", "suffix"],
        );
        let records: Vec<Value> = shop.customers.values().cloned().collect();
        let fields = search::Aliased {
            inner: TopLevel { known: &known },
            aliases: &[("entity_id", "id")],
        };
        search::run(records, &sc, &fields, "id", app.paging())?
    };
    Ok(cx.reply(app.maybe_malform(result)))
}

pub(super) async fn customer_get(State(app): St, Path(p): Params, req: Request) -> Res {
    let cx = app.ctx(p, req, RES_CUSTOMERS).await?;
    let id = id_param(&cx, "id")?;
    let shop = app.shop();
    let c = shop
        .customers
        .get(&id)
        .ok_or_else(|| no_such_entity("customerId", json!(id)))?;
    Ok(cx.reply(c.clone()))
}
