//! Reads: lists with OData options and paging, reads by id, company info, echo.

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::snelstart::odata::{self, Filter};
use crate::snelstart::spec::{self};
use crate::snelstart::store::{id_of, Collection, Db};
use crate::snelstart::{bad_request, error_item, message, OpRef, Sim};

use super::edit_during_read;

// ---------------------------------------------------------------------------------------
// Reads

/// The records a list reads from: a collection (with its `modifiedOn` index) or a plain list.
pub(super) enum Rows<'a> {
    Coll(&'a Collection),
    Plain(&'a [Value]),
}

impl<'a> Rows<'a> {
    fn all(&self) -> &'a [Value] {
        match self {
            Rows::Coll(c) => c.all(),
            Rows::Plain(v) => v,
        }
    }
}

/// A list GET: `$filter`, `$select`, `$skip`, `$top`. Only the page is cloned; a filter that
/// bounds `ModifiedOn` evaluates only the records in that range (the collection's
/// `modifiedOn` index), so a page of a narrow slice costs the slice, not the table.
pub(super) fn list(sim: &Sim, op: &spec::Op, rows: Rows<'_>, query: Option<&str>) -> (Response, usize) {
    let Ok(definition) = spec::spec() else {
        return (
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "OpenAPI definition unavailable",
            ),
            0,
        );
    };
    let Some(item_schema) = op.list_item_schema(definition) else {
        return (
            message(StatusCode::INTERNAL_SERVER_ERROR, "list without item schema"),
            0,
        );
    };
    let mut filter = None;
    let mut select = None;
    let mut skip = 0usize;
    let mut top = op
        .query_param("$top")
        .and_then(|s| s.get("maximum"))
        .and_then(Value::as_u64)
        .map(|m| m as usize);
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let odata_err = |e: odata::QueryError| {
            bad_request(vec![error_item(
                "ALG-0104",
                format!("De opgegeven OData-query ({k}) is ongeldig: {}", e.0),
            )])
        };
        match k.as_ref() {
            "$filter" => match Filter::parse(definition, item_schema, &v) {
                Ok(f) => filter = Some(f),
                Err(e) => return (odata_err(e), 0),
            },
            "$select" => match odata::parse_select(definition, item_schema, &v) {
                Ok(s) => select = Some(s),
                Err(e) => return (odata_err(e), 0),
            },
            // Already range-checked against the definition.
            "$skip" => skip = v.trim().parse().unwrap_or(0),
            "$top" => top = v.trim().parse().ok(),
            _ => {}
        }
    }
    let paged = skip > 0 || top.is_some();
    let top = top.unwrap_or(usize::MAX);
    let keep = |r: &&Value| filter.as_ref().is_none_or(|f| f.matches(r));
    // Candidates: a filter bounding `ModifiedOn` walks the collection's `modifiedOn` index;
    // only the records in that range are evaluated.
    let range = filter.as_ref().map(|f| f.modified_range());
    let mut matched: Vec<&Value> = match (&rows, range) {
        (Rows::Coll(coll), Some((lo, hi)))
            if !matches!(
                (&lo, &hi),
                (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded)
            ) =>
        {
            coll.by_modified(lo, hi).filter(keep).collect()
        }
        _ => rows.all().iter().filter(keep).collect(),
    };
    // With `$skip`/`$top` ASP.NET Web API OData orders by the key when no `$orderby` is given
    // (`EnsureStableOrdering`, true by default: Microsoft's documentation of
    // `ODataQuerySettings`), so pages are stable: the simulator orders by `Id`. The server's
    // order is not documented by SnelStart; clients must not depend on it.
    if paged && matches!(rows, Rows::Coll(_)) {
        matched.sort_by_key(|r| id_of(r));
    }
    let page: Vec<&Value> = matched.into_iter().skip(skip).take(top).collect();
    let mut out: Vec<Value> = page
        .into_iter()
        .map(|r| match &select {
            Some(keys) => odata::select(r, keys),
            None => r.clone(),
        })
        .collect();
    if !out.is_empty() && sim.control.roll_malformed() {
        let i = rand::Rng::random_range(&mut rand::rng(), 0..out.len());
        if let Some(obj) = out[i].as_object_mut() {
            obj.insert("id".into(), json!("malformed-record"));
            obj.insert("modifiedOn".into(), json!(12345));
        }
    }
    let full = top != usize::MAX && out.len() == top && top > 1;
    let served = if full { out.len() } else { 0 };
    (Json(Value::Array(out)).into_response(), served)
}

pub(super) fn one(coll: &Collection, id: &str, what: &str) -> Response {
    match Uuid::parse_str(id).ok().and_then(|u| coll.get(&u)) {
        Some(v) => Json(v.clone()).into_response(),
        None => not_found(what, id),
    }
}

pub(super) fn not_found(what: &str, id: &str) -> Response {
    message(
        StatusCode::NOT_FOUND,
        format!("{what} met id '{id}' is niet gevonden."),
    )
}

/// The collection a path template reads from, and its name for 404 messages.
pub(super) fn collection<'a>(db: &'a Db, template: &str) -> Option<(&'a Collection, &'static str)> {
    let resource = template.trim_start_matches('/').split('/').next().unwrap_or("");
    Some(match resource {
        "artikelen" => (&db.artikelen, "Artikel"),
        "artikelomzetgroepen" => (&db.omzetgroepen, "Artikelomzetgroep"),
        "landen" => (&db.landen, "Land"),
        "relaties" => (&db.relaties, "Relatie"),
        "verkooporders" => (&db.verkooporders, "Verkooporder"),
        "verkoopfacturen" => (&db.verkoopfacturen, "Verkoopfactuur"),
        _ => return None,
    })
}

/// `GET /{resource}`: every simulated list operation.
pub(super) async fn list_any(
    State(sim): State<Arc<Sim>>,
    Extension(OpRef(op)): Extension<OpRef>,
    RawQuery(q): RawQuery,
) -> Response {
    let mut db = sim.db();
    let (response, full_page) = match collection(&db, &op.path) {
        Some((coll, _)) => list(&sim, op, Rows::Coll(coll), q.as_deref()),
        None if op.path == "/btwtarieven" => list(&sim, op, Rows::Plain(&db.btwtarieven), q.as_deref()),
        None => return message(StatusCode::NOT_IMPLEMENTED, "not simulated"),
    };
    if full_page > 0 {
        edit_during_read(&sim, &mut db, &op.path);
    }
    response
}

/// `GET /{resource}/{id}`: every simulated read by id.
pub(super) async fn get_any(
    State(sim): State<Arc<Sim>>,
    Extension(OpRef(op)): Extension<OpRef>,
    Path(id): Path<String>,
) -> Response {
    let db = sim.db();
    match collection(&db, &op.path) {
        Some((coll, name)) => one(coll, &id, name),
        None => message(StatusCode::NOT_IMPLEMENTED, "not simulated"),
    }
}

pub(super) async fn company_info(State(sim): State<Arc<Sim>>) -> Response {
    Json(sim.db().company.clone()).into_response()
}

pub(super) async fn echo(Path(input): Path<String>) -> Response {
    if input.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    Json(Value::String(input)).into_response()
}
