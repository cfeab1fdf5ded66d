//! Simulator-only control actions: edit records during a paged read, invoice an order, register a payment.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::snelstart::store::{dec, fmt_dt, id_of, new_id, now_local, num, reference, Db};
use crate::snelstart::{message, Sim};

use super::{bump, created, not_found};

/// What `POST /_sandbox/snelstart/edit-during-read` armed: after `after_pages` more full
/// pages of `resource` were served, change the first `count` records of it (creation order).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(crate) struct EditDuringRead {
    /// `artikelen` (the only resource edited so far).
    resource: String,
    /// Full pages to serve before the edit.
    after_pages: u32,
    /// Records to change.
    count: usize,
}

/// `POST /_sandbox/snelstart/edit-during-read {"resource": "artikelen", "after_pages": 3,
/// "count": 6}`: a user edits articles in SnelStart while koppel reads them. After the given
/// number of full list pages of the resource (a page of `$top` records: a paged read, not a
/// lookup), the first `count` articles (creation order, the seed's oldest) get a price one euro
/// higher and `modifiedOn` = now. One-shot; answers 200 `{}`.
pub(crate) async fn control_edit_during_read(
    State(sim): State<Arc<Sim>>,
    Json(req): Json<EditDuringRead>,
) -> Response {
    if req.resource != "artikelen" {
        return message(
            StatusCode::BAD_REQUEST,
            "only resource \"artikelen\" is supported",
        );
    }
    *sim.edit_plan() = Some(req);
    Json(json!({})).into_response()
}

pub(super) fn edit_during_read(sim: &Sim, db: &mut Db, path: &str) {
    let mut plan = sim.edit_plan();
    let Some(p) = plan.as_mut() else { return };
    if path.trim_start_matches('/') != p.resource {
        return;
    }
    p.after_pages = p.after_pages.saturating_sub(1);
    if p.after_pages > 0 {
        return;
    }
    let count = p.count;
    *plan = None;
    drop(plan);
    let stamp = fmt_dt(now_local());
    let ids: Vec<Uuid> = db.artikelen.all().iter().filter_map(id_of).take(count).collect();
    for id in ids {
        if let Some(mut a) = db.artikelen.get_mut(&id) {
            let price = dec(&a["verkoopprijs"]).unwrap_or(Decimal::ZERO) + Decimal::ONE;
            a["verkoopprijs"] = num(price);
            a["modifiedOn"] = json!(stamp);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Control: invoice an order, register a payment

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct InvoiceRequest {
    verkooporder_id: Uuid,
}

/// `POST /_sandbox/snelstart/invoice {"verkooporderId"}`: SnelStart's user invoices an order.
pub(crate) async fn control_invoice(
    State(sim): State<Arc<Sim>>,
    Json(req): Json<InvoiceRequest>,
) -> Response {
    let mut db = sim.db();
    let Some(order) = db.verkooporders.get(&req.verkooporder_id).cloned() else {
        return not_found("Verkooporder", &req.verkooporder_id.to_string());
    };
    if !order["verkoopfactuur"].is_null() {
        return message(StatusCode::CONFLICT, "Verkooporder is al gefactureerd.");
    }
    let now = now_local();
    let stamp = fmt_dt(now);
    let today = now.date().and_hms_opt(0, 0, 0).unwrap_or(now);
    let days = order["krediettermijn"].as_i64().unwrap_or(14);
    let verval = today + chrono::Duration::days(days);
    let fid = new_id();
    let nummer = db.company["volgendFactuurnummer"].as_i64().unwrap_or(1);
    bump(&mut db, "volgendFactuurnummer");
    let bedrag = order["totaalInclusiefBtw"].clone();
    let oid = req.verkooporder_id;
    let factuur = json!({
        "id": fid.to_string(), "uri": format!("/verkoopfacturen/{fid}"),
        "factuurnummer": nummer.to_string(),
        "factuurDatum": fmt_dt(today),
        "vervalDatum": fmt_dt(verval),
        "factuurBedrag": bedrag.clone(),
        "openstaandSaldo": bedrag,
        "relatie": order["relatie"].clone(),
        "verkoopBoeking": reference("verkoopboekingen", &new_id()),
        "verkoopOrders": [reference("verkooporders", &oid)],
        "modifiedOn": stamp,
    });
    // Invoicing delivers the goods: technical stock drops, the reservation is released.
    if let Some(regels) = order["regels"].as_array() {
        for r in regels {
            let Some(aid) = id_of(&r["artikel"]) else { continue };
            let aantal = dec(&r["aantal"]).unwrap_or(Decimal::ZERO);
            let reserved = db.reserved.get(&aid).copied().unwrap_or(Decimal::ZERO);
            if let Some(mut a) = db.artikelen.get_mut(&aid) {
                if a["voorraadControle"] != json!(true) {
                    continue;
                }
                let tech = dec(&a["technischeVoorraad"]).unwrap_or(Decimal::ZERO) - aantal;
                a["technischeVoorraad"] = num(tech);
                a["vrijeVoorraad"] = num(tech - (reserved - aantal));
                a["modifiedOn"] = json!(stamp);
            }
            db.reserved.insert(aid, reserved - aantal);
        }
    }
    if let Some(mut o) = db.verkooporders.get_mut(&oid) {
        o["verkoopfactuur"] = reference("verkoopfacturen", &fid);
        o["procesStatus"] = json!("Factuur");
        o["modifiedOn"] = json!(stamp);
    }
    db.verkoopfacturen.put(factuur.clone());
    created(factuur)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PaymentRequest {
    verkoopfactuur_id: Uuid,
    bedrag: Value,
}

/// `POST /_sandbox/snelstart/payment {"verkoopfactuurId", "bedrag"}`: a bank payment was
/// matched to the invoice; its outstanding amount drops.
pub(crate) async fn control_payment(
    State(sim): State<Arc<Sim>>,
    Json(req): Json<PaymentRequest>,
) -> Response {
    let Some(bedrag) = dec(&req.bedrag).filter(|b| *b > Decimal::ZERO) else {
        return message(StatusCode::BAD_REQUEST, "bedrag must be a positive decimal");
    };
    let mut db = sim.db();
    let Some(mut f) = db.verkoopfacturen.get_mut(&req.verkoopfactuur_id) else {
        return not_found("Verkoopfactuur", &req.verkoopfactuur_id.to_string());
    };
    let open = dec(&f["openstaandSaldo"]).unwrap_or(Decimal::ZERO);
    f["openstaandSaldo"] = num(open - bedrag);
    f["modifiedOn"] = json!(fmt_dt(now_local()));
    Json(f.clone()).into_response()
}
