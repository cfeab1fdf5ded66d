//! Writes: POST and PUT of relaties, artikelen and verkooporders, and the helpers they share.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::snelstart::spec::{self};
use crate::snelstart::store::{id_of, new_id, reference, Collection, Db};
use crate::snelstart::{bad_request, error_item, message, violations_to_items, JsonBody, OpRef, Sim};

use super::{
    artikel_from_body, bump, collection, not_found, order_from_body, relatie_from_body, reserve, Errors,
};

// ---------------------------------------------------------------------------------------
// Shared write helpers

pub(super) fn text<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

pub(super) fn too_long(s: Option<&str>, max: usize) -> bool {
    s.is_some_and(|s| s.chars().count() > max)
}

/// Checks the body against the definition strictly (lengths, ranges, required): whatever the
/// domain rules did not already report.
pub(super) fn leftover_spec_errors(op: &spec::Op, body: &Value) -> Errors {
    match (spec::spec(), &op.body) {
        (Ok(d), Some(schema)) => violations_to_items(&d.validate(schema, body, spec::Mode::Request)),
        _ => Vec::new(),
    }
}

/// Normalises a reference in the body to `{id, uri}` if its id is a known record.
pub(super) fn resolve_ref(
    body: &Value,
    key: &str,
    resource: &str,
    coll: &Collection,
) -> Result<Option<Value>, ()> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(r) => match id_of(r) {
            Some(id) if coll.get(&id).is_some() => Ok(Some(reference(resource, &id))),
            _ => Err(()),
        },
    }
}

pub(super) struct AddressCodes {
    pub(super) contactpersoon: &'static str,
    pub(super) straat: &'static str,
    pub(super) postcode: &'static str,
    pub(super) plaats: &'static str,
    pub(super) land: &'static str,
}

/// Validates an `AdresModel` and returns it normalised (land as `{id, uri}`).
pub(super) fn address(db: &Db, body: &Value, key: &str, codes: &AddressCodes, errors: &mut Errors) -> Value {
    let Some(a) = body.get(key).filter(|v| v.is_object()) else {
        return Value::Null;
    };
    let mut check = |field: &str, max: usize, code: &str| {
        if too_long(text(a, field), max) {
            errors.push(error_item(
                code,
                format!("{key}.{field} mag maximaal {max} tekens bevatten."),
            ));
        }
    };
    check("contactpersoon", 50, codes.contactpersoon);
    check("straat", 50, codes.straat);
    check("postcode", 25, codes.postcode);
    check("plaats", 50, codes.plaats);
    let land = match a.get("land") {
        None | Some(Value::Null) => Value::Null,
        Some(l) => match id_of(l).filter(|id| db.land(id).is_some()) {
            Some(id) => reference("landen", &id),
            None => {
                errors.push(error_item(codes.land, format!("Het land van {key} is onbekend.")));
                Value::Null
            }
        },
    };
    json!({
        "contactpersoon": a.get("contactpersoon").cloned().unwrap_or(Value::Null),
        "straat": a.get("straat").cloned().unwrap_or(Value::Null),
        "postcode": a.get("postcode").cloned().unwrap_or(Value::Null),
        "plaats": a.get("plaats").cloned().unwrap_or(Value::Null),
        "land": land,
    })
}

pub(super) fn body_id_rules(body: &Value, path_id: Option<&Uuid>, errors: &mut Errors) {
    let body_id = body.get("id").filter(|v| !v.is_null());
    match (path_id, body_id) {
        (None, Some(_)) => errors.push(error_item(
            "ALG-0100",
            "Het id moet leeg zijn bij het aanmaken van een nieuw object.",
        )),
        (Some(p), Some(b)) if id_of(&json!({"id": b})).as_ref() != Some(p) => errors.push(error_item(
            "ALG-0101",
            "Het id in de url komt niet overeen met het id in het object.",
        )),
        _ => {}
    }
}

pub(super) fn parse_path_id(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

pub(super) fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

/// The stored record as the operation's response model for `status` declares it.
pub(super) fn as_response(op: &spec::Op, status: StatusCode, record: &Value) -> Response {
    let shaped = match (spec::spec(), op.responses.get(status.as_str())) {
        (Ok(d), Some(Some(schema))) => d.project(schema, record),
        _ => record.clone(),
    };
    (status, Json(shaped)).into_response()
}

// ---------------------------------------------------------------------------------------
// Writes: POST and PUT of relaties, artikelen, verkooporders

pub(super) type Build = fn(&Db, &Value, Option<&Value>, Uuid) -> Result<Value, Errors>;

pub(super) async fn create_any(
    State(sim): State<Arc<Sim>>,
    Extension(OpRef(op)): Extension<OpRef>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Response {
    write(&sim, op, &body, None)
}

pub(super) async fn put_any(
    State(sim): State<Arc<Sim>>,
    Extension(OpRef(op)): Extension<OpRef>,
    Path(id): Path<String>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Response {
    write(&sim, op, &body, Some(&id))
}

/// Builds the record with the resource's rules, then checks what the definition still
/// objects to, then stores it (orders also number and reserve stock).
pub(super) fn write(sim: &Sim, op: &spec::Op, body: &Value, path_id: Option<&str>) -> Response {
    let mut db = sim.db();
    let resource = op.path.trim_start_matches('/').split('/').next().unwrap_or("");
    let build: Build = match resource {
        "relaties" => relatie_from_body,
        "artikelen" => artikel_from_body,
        "verkooporders" => order_from_body,
        _ => return message(StatusCode::NOT_IMPLEMENTED, "not simulated"),
    };
    let Some((coll, name)) = collection(&db, &op.path) else {
        return message(StatusCode::NOT_IMPLEMENTED, "not simulated");
    };
    let old = match path_id {
        None => None,
        Some(id) => match parse_path_id(id).and_then(|u| coll.get(&u).cloned()) {
            Some(old) => Some(old),
            None => return not_found(name, id),
        },
    };
    let id = old.as_ref().and_then(id_of).unwrap_or_else(new_id);
    let record = match build(&db, body, old.as_ref(), id) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let left = leftover_spec_errors(op, body);
    if !left.is_empty() {
        return bad_request(left);
    }
    match resource {
        "relaties" => db.relaties.put(record.clone()),
        "artikelen" => db.artikelen.put(record.clone()),
        _ => {
            let now = record["modifiedOn"].as_str().unwrap_or_default().to_owned();
            match &old {
                Some(old) => reserve(&mut db, old, -Decimal::ONE, &now),
                None => bump(&mut db, "volgendVerkoopordernummer"),
            }
            reserve(&mut db, &record, Decimal::ONE, &now);
            db.verkooporders.put(record.clone());
        }
    }
    let status = if old.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    as_response(op, status, &record)
}
