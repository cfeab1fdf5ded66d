//! The resources: reads with OData, writes with SnelStart's validation rules, and the
//! simulator-only control actions (invoice an order, register a payment).

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use serde_json::Value;

use super::Sim;

mod artikelen;
mod control;
mod reads;
mod relaties;
mod verkooporders;
mod writes;

use artikelen::*;
use control::*;
use reads::*;
use relaties::*;
use verkooporders::*;
use writes::*;

pub(super) use control::{control_edit_during_read, control_invoice, control_payment, EditDuringRead};

pub(super) fn api_routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/artikelen", get(list_any).post(create_any))
        .route(
            "/artikelen/{id}",
            get(get_any).put(put_any).delete(delete_article),
        )
        .route("/artikelomzetgroepen", get(list_any))
        .route("/artikelomzetgroepen/{id}", get(get_any))
        .route("/btwtarieven", get(list_any))
        .route("/landen", get(list_any))
        .route("/landen/{id}", get(get_any))
        .route("/relaties", get(list_any).post(create_any))
        .route("/relaties/{id}", get(get_any).put(put_any))
        .route("/verkooporders", get(list_any).post(create_any))
        .route(
            "/verkooporders/{id}",
            get(get_any).put(put_any).delete(delete_order),
        )
        .route("/verkoopfacturen", get(list_any))
        .route("/verkoopfacturen/{id}", get(get_any))
        .route("/companyInfo", get(company_info))
        .route("/echo/{input}", get(echo))
}

type Errors = Vec<Value>;
