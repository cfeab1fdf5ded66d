//! The resources: reads with OData, writes with SnelStart's validation rules, and the
//! simulator-only control actions (invoice an order, register a payment).

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

use super::odata::{self, Filter};
use super::spec::{self, parse_datetime};
use super::store::{dec, fmt_dt, id_of, new_id, now_local, num, reference, round, Collection, Db};
use super::{bad_request, error_item, message, violations_to_items, JsonBody, OpRef, Sim};

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

// ---------------------------------------------------------------------------------------
// Reads

/// The records a list reads from: a collection (with its `modifiedOn` index) or a plain list.
enum Rows<'a> {
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
fn list(sim: &Sim, op: &spec::Op, rows: Rows<'_>, query: Option<&str>) -> (Response, usize) {
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

fn one(coll: &Collection, id: &str, what: &str) -> Response {
    match Uuid::parse_str(id).ok().and_then(|u| coll.get(&u)) {
        Some(v) => Json(v.clone()).into_response(),
        None => not_found(what, id),
    }
}

fn not_found(what: &str, id: &str) -> Response {
    message(
        StatusCode::NOT_FOUND,
        format!("{what} met id '{id}' is niet gevonden."),
    )
}

/// The collection a path template reads from, and its name for 404 messages.
fn collection<'a>(db: &'a Db, template: &str) -> Option<(&'a Collection, &'static str)> {
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
async fn list_any(
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
pub(super) async fn control_edit_during_read(
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

fn edit_during_read(sim: &Sim, db: &mut Db, path: &str) {
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

/// `DELETE /artikelen/{id}`: "Verwijdert een actief artikel" (the definition); 200 `{}`.
async fn delete_article(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let mut db = sim.db();
    let Some(uid) = parse_path_id(&id).filter(|u| db.artikelen.get(u).is_some()) else {
        return not_found("Artikel", &id);
    };
    db.artikelen.remove(&uid);
    db.reserved.remove(&uid);
    Json(json!({})).into_response()
}

/// `GET /{resource}/{id}`: every simulated read by id.
async fn get_any(
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

async fn company_info(State(sim): State<Arc<Sim>>) -> Response {
    Json(sim.db().company.clone()).into_response()
}

async fn echo(Path(input): Path<String>) -> Response {
    if input.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    Json(Value::String(input)).into_response()
}

// ---------------------------------------------------------------------------------------
// Shared write helpers

fn text<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

fn too_long(s: Option<&str>, max: usize) -> bool {
    s.is_some_and(|s| s.chars().count() > max)
}

/// Checks the body against the definition strictly (lengths, ranges, required): whatever the
/// domain rules did not already report.
fn leftover_spec_errors(op: &spec::Op, body: &Value) -> Errors {
    match (spec::spec(), &op.body) {
        (Ok(d), Some(schema)) => violations_to_items(&d.validate(schema, body, spec::Mode::Request)),
        _ => Vec::new(),
    }
}

/// Normalises a reference in the body to `{id, uri}` if its id is a known record.
fn resolve_ref(body: &Value, key: &str, resource: &str, coll: &Collection) -> Result<Option<Value>, ()> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(r) => match id_of(r) {
            Some(id) if coll.get(&id).is_some() => Ok(Some(reference(resource, &id))),
            _ => Err(()),
        },
    }
}

struct AddressCodes {
    contactpersoon: &'static str,
    straat: &'static str,
    postcode: &'static str,
    plaats: &'static str,
    land: &'static str,
}

/// Validates an `AdresModel` and returns it normalised (land as `{id, uri}`).
fn address(db: &Db, body: &Value, key: &str, codes: &AddressCodes, errors: &mut Errors) -> Value {
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

fn body_id_rules(body: &Value, path_id: Option<&Uuid>, errors: &mut Errors) {
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

fn parse_path_id(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

/// The stored record as the operation's response model for `status` declares it.
fn as_response(op: &spec::Op, status: StatusCode, record: &Value) -> Response {
    let shaped = match (spec::spec(), op.responses.get(status.as_str())) {
        (Ok(d), Some(Some(schema))) => d.project(schema, record),
        _ => record.clone(),
    };
    (status, Json(shaped)).into_response()
}

// ---------------------------------------------------------------------------------------
// Relaties

fn valid_email(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// ISO country code to the VAT prefix (Greece uses EL).
fn vat_prefix(iso: &str) -> &str {
    if iso == "GR" {
        "EL"
    } else {
        iso
    }
}

fn relatie_from_body(db: &Db, body: &Value, existing: Option<&Value>, id: Uuid) -> Result<Value, Errors> {
    let mut errors = Vec::new();
    body_id_rules(body, existing.map(|_| &id), &mut errors);
    let mut r = super::store::empty_relatie(&id);

    // relatiesoort
    let soorten: Vec<String> = body
        .get("relatiesoort")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if soorten.is_empty() || soorten.iter().any(|s| s != "Klant" && s != "Leverancier") {
        errors.push(error_item(
            "REL-0001",
            "Relatiesoort is verplicht en moet 'Klant' of 'Leverancier' zijn.",
        ));
    } else if soorten.iter().any(|s| s == "Klant") && soorten.iter().any(|s| s == "Leverancier") {
        errors.push(error_item(
            "REL-0065",
            "Een relatie kan niet tegelijk klant en leverancier zijn.",
        ));
    }
    if let Some(old) = existing {
        if old.get("relatiesoort") != Some(&json!(soorten)) {
            errors.push(error_item(
                "REL-0064",
                "De relatiesoort kan niet worden gewijzigd.",
            ));
        }
    }

    // naam
    match text(body, "naam").map(str::trim) {
        None | Some("") => errors.push(error_item("REL-0007", "Naam is verplicht.")),
        Some(n) if n.chars().count() > 50 => {
            errors.push(error_item("REL-0010", "Naam mag maximaal 50 tekens bevatten."))
        }
        _ => {}
    }

    // relatiecode: 0 or absent lets SnelStart number it
    let code = body
        .get("relatiecode")
        .and_then(Value::as_i64)
        .filter(|c| *c != 0);
    if let Some(c) = code {
        let taken = db
            .relaties
            .all()
            .iter()
            .any(|o| o["relatiecode"].as_i64() == Some(c) && id_of(o) != Some(id));
        if taken {
            errors.push(error_item(
                "REL-0008",
                format!("Relatiecode {c} is al in gebruik."),
            ));
        }
    }

    let vest_codes = AddressCodes {
        contactpersoon: "REL-0070",
        straat: "REL-0071",
        postcode: "REL-0072",
        plaats: "REL-0073",
        land: "REL-0055",
    };
    let corr_codes = AddressCodes {
        land: "REL-0056",
        ..vest_codes
    };
    let vest = address(db, body, "vestigingsAdres", &vest_codes, &mut errors);
    if vest.is_object() {
        let set = |k: &str| {
            vest[k].as_str().is_some_and(|s| !s.trim().is_empty()) || (k == "land" && !vest[k].is_null())
        };
        let fields = ["straat", "postcode", "plaats", "land"];
        if fields.iter().any(|k| set(k)) && !fields.iter().all(|k| set(k)) {
            errors.push(error_item(
                "REL-0060",
                "Als een veld van het vestigingsadres is ingevuld, moeten straat, postcode, plaats en land allemaal zijn ingevuld.",
            ));
        }
    }
    let corr = address(db, body, "correspondentieAdres", &corr_codes, &mut errors);

    // email
    if let Some(e) = text(body, "email").filter(|e| !e.trim().is_empty()) {
        if e.chars().count() > 250 {
            errors.push(error_item("REL-0084", "Email mag maximaal 250 tekens bevatten."));
        } else if !e.split(';').all(valid_email) {
            errors.push(error_item(
                "REL-0061",
                format!("'{e}' is geen geldig emailadres."),
            ));
        }
    }
    if too_long(text(body, "telefoon"), 25) {
        errors.push(error_item(
            "REL-0012",
            "Telefoon mag maximaal 25 tekens bevatten.",
        ));
    }
    if too_long(text(body, "mobieleTelefoon"), 25) {
        errors.push(error_item(
            "REL-0013",
            "Mobiele telefoon mag maximaal 25 tekens bevatten.",
        ));
    }

    let land_iso = vest["land"]
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .and_then(|id| db.land(&id))
        .and_then(|l| l["landcodeISO"].as_str())
        .map(str::to_owned);
    if let Some(k) = text(body, "kvkNummer").filter(|s| !s.is_empty()) {
        let nl = land_iso.as_deref().is_none_or(|c| c == "NL");
        let ok = if nl {
            k.len() == 8 && k.chars().all(|c| c.is_ascii_digit())
        } else {
            k.chars().count() <= 12 && k.chars().all(|c| c.is_ascii_alphanumeric())
        };
        if !ok {
            errors.push(error_item(
                "REL-0006",
                format!("'{k}' is geen geldig KvK-nummer."),
            ));
        }
    }
    if let Some(b) = text(body, "btwNummer").filter(|s| !s.is_empty()) {
        let n = b.chars().count();
        if !(2..=50).contains(&n) || !b.chars().all(|c| c.is_ascii_alphanumeric()) {
            errors.push(error_item(
                "REL-0057",
                "Het BTW-nummer moet 2 tot 50 letters of cijfers bevatten.",
            ));
        } else {
            let prefix = &b[..2];
            let has_prefix = prefix.chars().all(|c| c.is_ascii_alphabetic());
            if let (true, Some(iso)) = (has_prefix, land_iso.as_deref()) {
                if !prefix.eq_ignore_ascii_case(vat_prefix(iso)) {
                    errors.push(error_item(
                        "REL-0058",
                        format!("De landcode van het BTW-nummer ({prefix}) past niet bij het land van het vestigingsadres ({iso})."),
                    ));
                }
            }
            if prefix.eq_ignore_ascii_case("NL") {
                let rest: Vec<char> = b[2..].chars().collect();
                let ok = rest.len() == 12
                    && rest[..9].iter().all(char::is_ascii_digit)
                    && rest[9].eq_ignore_ascii_case(&'B')
                    && rest[10..].iter().all(char::is_ascii_digit);
                if !ok {
                    errors.push(error_item(
                        "REL-0059",
                        format!("'{b}' is geen geldig Nederlands BTW-nummer (NL999999999B99)."),
                    ));
                }
            }
        }
    }
    if let Some(t) = body.get("krediettermijn").and_then(Value::as_i64) {
        if !(-365..=1000).contains(&t) {
            errors.push(error_item(
                "REL-0003",
                "Krediettermijn moet tussen -365 en 1000 dagen liggen.",
            ));
        }
    }
    for key in [
        "offerteEmailVersturen",
        "bevestigingsEmailVersturen",
        "factuurEmailVersturen",
        "aanmaningEmailVersturen",
        "offerteAanvraagEmailVersturen",
        "bestellingEmailVersturen",
    ] {
        if let Some(m) = body.get(key).filter(|v| v.is_object()) {
            let send = m.get("shouldSend").and_then(Value::as_bool).unwrap_or(false);
            if send && text(m, "email").is_none_or(|e| e.trim().is_empty()) {
                errors.push(error_item(
                    "REL-0029",
                    format!("{key}: een emailadres is verplicht als er email verstuurd moet worden."),
                ));
            }
            r[key] = json!({
                "shouldSend": send,
                "email": m.get("email").cloned().unwrap_or(Value::Null),
                "ccEmail": m.get("ccEmail").cloned().unwrap_or(Value::Null),
            });
        }
    }
    let factuur_relatie = resolve_ref(body, "factuurRelatie", "relaties", &db.relaties);
    if factuur_relatie.is_err() {
        errors.push(error_item("REL-0048", "De factuurrelatie is onbekend."));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Copy the plain writable fields.
    for key in [
        "telefoon",
        "mobieleTelefoon",
        "email",
        "btwNummer",
        "factuurkorting",
        "krediettermijn",
        "kredietLimiet",
        "memo",
        "kvkNummer",
        "websiteUrl",
        "aanmaningsoort",
        "ublBestandAlsBijlage",
        "iban",
        "bic",
        "incassoSoort",
        "fax",
        "oin",
        "nonactief",
        "naam",
    ] {
        if let Some(v) = body.get(key) {
            r[key] = v.clone();
        }
    }
    if r["incassoSoort"].is_null() {
        r["incassoSoort"] = json!("Geen");
    }
    if r["nonactief"].is_null() {
        r["nonactief"] = json!(false);
    }
    if r["ublBestandAlsBijlage"].is_null() {
        r["ublBestandAlsBijlage"] = json!(false);
    }
    r["bankieren"] = json!(matches!(r["incassoSoort"].as_str(), Some("Core" | "B2B")));
    r["relatiesoort"] = json!(soorten);
    r["vestigingsAdres"] = vest;
    r["correspondentieAdres"] = corr;
    r["factuurRelatie"] = factuur_relatie.ok().flatten().unwrap_or(Value::Null);
    r["relatiecode"] = match (code, existing) {
        (Some(c), _) => json!(c),
        (None, Some(old)) => old["relatiecode"].clone(),
        (None, None) => {
            let max = db
                .relaties
                .all()
                .iter()
                .filter_map(|o| o["relatiecode"].as_i64())
                .max()
                .unwrap_or(1000);
            json!(max + 1)
        }
    };
    if let Some(old) = existing {
        r["extraVeldenKlant"] = old["extraVeldenKlant"].clone();
        r["documents"] = old["documents"].clone();
    }
    r["modifiedOn"] = json!(fmt_dt(now_local()));
    Ok(r)
}

// ---------------------------------------------------------------------------------------
// Artikelen

fn artikel_from_body(db: &Db, body: &Value, existing: Option<&Value>, id: Uuid) -> Result<Value, Errors> {
    let mut errors = Vec::new();
    body_id_rules(body, existing.map(|_| &id), &mut errors);
    let code = text(body, "artikelcode").map(str::trim).unwrap_or("");
    if code.is_empty() {
        errors.push(error_item("ART-0002", "Artikelcode is verplicht."));
    } else {
        let max = db.company["artikelcodeMaxLengte"].as_u64().unwrap_or(20) as usize;
        if code.chars().count() > max {
            errors.push(error_item(
                "ART-0004",
                format!("Artikelcode mag maximaal {max} tekens bevatten."),
            ));
        }
        if db.company["artikelcodeSoort"] == "Numeriek" && !code.chars().all(|c| c.is_ascii_digit()) {
            errors.push(error_item("ART-0003", "Artikelcode moet numeriek zijn."));
        }
        if db
            .artikelen
            .all()
            .iter()
            .any(|a| a["artikelcode"].as_str() == Some(code) && id_of(a) != Some(id))
        {
            errors.push(error_item(
                "ART-0005",
                format!("Artikelcode '{code}' bestaat al."),
            ));
        }
    }
    if text(body, "omschrijving").is_none_or(|s| s.trim().is_empty()) {
        errors.push(error_item("ART-0006", "Omschrijving is verplicht."));
    }
    let groep = resolve_ref(body, "artikelOmzetgroep", "artikelomzetgroepen", &db.omzetgroepen);
    match &groep {
        Ok(Some(_)) => {}
        Ok(None) => errors.push(error_item("ART-0008", "Artikelomzetgroep is verplicht.")),
        Err(()) => errors.push(error_item("ART-0009", "De artikelomzetgroep is onbekend.")),
    }
    let relatie = resolve_ref(body, "relatie", "relaties", &db.relaties);
    match &relatie {
        Err(()) => errors.push(error_item("ART-0016", "De leverancier is onbekend.")),
        Ok(Some(r)) => {
            let lev = id_of(r).and_then(|i| db.relaties.get(&i)).is_some_and(|r| {
                r["relatiesoort"]
                    .as_array()
                    .is_some_and(|a| a.contains(&json!("Leverancier")))
            });
            if !lev {
                errors.push(error_item(
                    "ART-0017",
                    "De relatie van een artikel moet een leverancier zijn.",
                ));
            }
        }
        Ok(None) => {}
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (tech, vrij) = match existing {
        Some(old) => (old["technischeVoorraad"].clone(), old["vrijeVoorraad"].clone()),
        None => (json!(0), json!(0)),
    };
    Ok(json!({
        "id": id.to_string(), "uri": format!("/artikelen/{id}"),
        "artikelcode": code,
        "omschrijving": body["omschrijving"].clone(),
        "artikelOmzetgroep": groep.ok().flatten(),
        "verkoopprijs": body.get("verkoopprijs").cloned().unwrap_or(json!(0)),
        "inkoopprijs": body.get("inkoopprijs").cloned().unwrap_or(json!(0)),
        "eenheid": body.get("eenheid").cloned().unwrap_or(Value::Null),
        "modifiedOn": fmt_dt(now_local()),
        "relatie": relatie.ok().flatten(),
        "isNonActief": body.get("isNonActief").and_then(Value::as_bool).unwrap_or(false),
        "voorraadControle": body.get("voorraadControle").and_then(Value::as_bool).unwrap_or(false),
        "technischeVoorraad": tech,
        "vrijeVoorraad": vrij,
        "extraVelden": body.get("extraVelden").filter(|v| v.is_array()).cloned().unwrap_or(json!([])),
        "isHoofdartikel": false,
        "subartikelen": [],
    }))
}

// ---------------------------------------------------------------------------------------
// Verkooporders

/// The VAT percentage of a kind on a date, from the rate history.
fn vat_percentage(db: &Db, soort: &str, on: NaiveDate) -> Decimal {
    db.btwtarieven
        .iter()
        .filter(|t| t["btwSoort"] == soort)
        .find(|t| {
            let from = t["datumVanaf"]
                .as_str()
                .and_then(parse_datetime)
                .map(|d| d.date());
            let to = t["datumTotEnMet"]
                .as_str()
                .and_then(parse_datetime)
                .map(|d| d.date());
            from.is_none_or(|f| f <= on) && to.is_none_or(|t| on <= t)
        })
        .and_then(|t| dec(&t["btwPercentage"]))
        .unwrap_or(Decimal::ZERO)
}

fn article_vat(db: &Db, artikel: &Value, on: NaiveDate) -> Decimal {
    let soort = artikel["artikelOmzetgroep"]
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .and_then(|g| db.omzetgroepen.get(&g))
        .and_then(|g| g["verkoopNederlandBtwSoort"].as_str())
        .unwrap_or("Geen");
    vat_percentage(db, soort, on)
}

fn order_from_body(db: &Db, body: &Value, existing: Option<&Value>, id: Uuid) -> Result<Value, Errors> {
    let mut errors = Vec::new();
    body_id_rules(body, existing.map(|_| &id), &mut errors);
    if let Some(old) = existing {
        if !old["verkoopfactuur"].is_null() {
            errors.push(error_item(
                "VOR-0015",
                "Verkooporder is gefactureerd en kan niet worden aangepast.",
            ));
            return Err(errors);
        }
    }
    let relatie = match body.get("relatie").filter(|v| !v.is_null()) {
        None => {
            errors.push(error_item("VOR-0001", "Relatie is verplicht."));
            None
        }
        Some(r) => {
            let found = id_of(r).and_then(|i| db.relaties.get(&i));
            let klant = found.is_some_and(|r| {
                r["relatiesoort"]
                    .as_array()
                    .is_some_and(|a| a.contains(&json!("Klant")))
            });
            if !klant {
                errors.push(error_item(
                    "VOR-0002",
                    "De relatie bestaat niet of is geen klant.",
                ));
            }
            found.filter(|_| klant).cloned()
        }
    };
    let datum = match body.get("datum").filter(|v| !v.is_null()) {
        None => {
            errors.push(error_item("VOR-0003", "Datum is verplicht."));
            None
        }
        Some(d) => d.as_str().and_then(parse_datetime),
    };
    let status = text(body, "procesStatus").unwrap_or("Order");
    if matches!(status, "Factuur" | "Contantbon") {
        errors.push(error_item(
            "VOR-0004",
            format!("Processtatus '{status}' is niet beschikbaar via de API."),
        ));
    }
    if existing.is_none() && body.get("nummer").is_some_and(|n| !n.is_null()) {
        errors.push(error_item(
            "VOR-0005",
            "Het ordernummer moet leeg zijn; SnelStart kent het nummer toe.",
        ));
    }
    if too_long(text(body, "orderreferentie"), 50) {
        errors.push(error_item(
            "VOR-0011",
            "Orderreferentie mag maximaal 50 tekens bevatten.",
        ));
    }
    let codes = AddressCodes {
        contactpersoon: "VOR-0006",
        straat: "VOR-0007",
        postcode: "VOR-0008",
        plaats: "VOR-0009",
        land: "VOR-0010",
    };
    let aflever = address(db, body, "afleveradres", &codes, &mut errors);
    let factuur = address(db, body, "factuuradres", &codes, &mut errors);

    let on = datum.map(|d| d.date()).unwrap_or_else(|| now_local().date());
    let inclusief = text(body, "verkooporderBtwIngaveModel") == Some("Inclusief");
    let empty = Vec::new();
    let regels_in = body.get("regels").and_then(Value::as_array).unwrap_or(&empty);
    let mut regels = Vec::new();
    // (line total, VAT percentage) per priced line
    let mut amounts: Vec<(Decimal, Decimal)> = Vec::new();
    for (i, regel) in regels_in.iter().enumerate() {
        let aantal = regel.get("aantal").and_then(dec).unwrap_or(Decimal::ONE);
        let korting = regel
            .get("kortingsPercentage")
            .and_then(dec)
            .unwrap_or(Decimal::ZERO);
        let artikel = match regel.get("artikel").filter(|v| !v.is_null()) {
            None => None,
            Some(r) => match id_of(r).and_then(|a| db.artikelen.get(&a)) {
                Some(a) => Some(a),
                None => {
                    errors.push(error_item(
                        "VOR-0012",
                        format!("regels[{i}]: het artikel is onbekend."),
                    ));
                    continue;
                }
            },
        };
        let Some(artikel) = artikel else {
            // A text line: no article, no amount.
            let priced = regel
                .get("stuksprijs")
                .and_then(dec)
                .is_some_and(|p| !p.is_zero());
            if priced {
                errors.push(error_item(
                    "VOR-0013",
                    format!("regels[{i}]: een regel met een bedrag moet een artikel hebben."),
                ));
            }
            regels.push(json!({
                "artikel": null, "omschrijving": regel.get("omschrijving").cloned().unwrap_or(Value::Null),
                "stuksprijs": 0, "aantal": 0, "kortingsPercentage": 0, "totaal": 0,
                "extraRegelVelden": regel.get("extraRegelVelden").cloned().unwrap_or(json!([])),
            }));
            continue;
        };
        let pct = article_vat(db, artikel, on);
        let stuksprijs = match regel.get("stuksprijs").and_then(dec) {
            Some(p) => p,
            None => {
                let excl = dec(&artikel["verkoopprijs"]).unwrap_or(Decimal::ZERO);
                if inclusief {
                    round(excl * (Decimal::ONE_HUNDRED + pct) / Decimal::ONE_HUNDRED, 2)
                } else {
                    excl
                }
            }
        };
        let totaal = round(
            aantal * stuksprijs * (Decimal::ONE - korting / Decimal::ONE_HUNDRED),
            2,
        );
        amounts.push((totaal, pct));
        let aid = id_of(artikel).unwrap_or_default();
        let oms = regel
            .get("omschrijving")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| json!(s))
            .unwrap_or_else(|| artikel["omschrijving"].clone());
        regels.push(json!({
            "artikel": reference("artikelen", &aid),
            "omschrijving": oms,
            "stuksprijs": num(stuksprijs),
            "aantal": num(aantal),
            "kortingsPercentage": num(korting),
            "totaal": num(totaal),
            "extraRegelVelden": regel.get("extraRegelVelden").cloned().unwrap_or(json!([])),
        }));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Totals: per VAT rate, apply the invoice discount, then compute VAT (or extract it).
    let factuurkorting = body.get("factuurkorting").and_then(dec).unwrap_or(Decimal::ZERO);
    let mut groups: Vec<(Decimal, Decimal)> = Vec::new();
    for (amount, pct) in amounts {
        match groups.iter_mut().find(|(p, _)| *p == pct) {
            Some(g) => g.1 += amount,
            None => groups.push((pct, amount)),
        }
    }
    let (mut excl, mut incl) = (Decimal::ZERO, Decimal::ZERO);
    for (pct, sum) in groups {
        let base = round(sum * (Decimal::ONE - factuurkorting / Decimal::ONE_HUNDRED), 2);
        if inclusief {
            excl += round(base * Decimal::ONE_HUNDRED / (Decimal::ONE_HUNDRED + pct), 2);
            incl += base;
        } else {
            excl += base;
            incl += base + round(base * pct / Decimal::ONE_HUNDRED, 2);
        }
    }

    let nummer = match existing {
        Some(old) => old["nummer"].clone(),
        None => db.company["volgendVerkoopordernummer"].clone(),
    };
    let relatie_ref = relatie
        .as_ref()
        .and_then(id_of)
        .map(|r| reference("relaties", &r))
        .unwrap_or(Value::Null);
    let krediettermijn = body
        .get("krediettermijn")
        .filter(|v| !v.is_null())
        .cloned()
        .or_else(|| relatie.as_ref().map(|r| r["krediettermijn"].clone()))
        .unwrap_or(Value::Null);
    let pass = |k: &str| body.get(k).cloned().unwrap_or(Value::Null);
    Ok(json!({
        "id": id.to_string(), "uri": format!("/verkooporders/{id}"),
        "relatie": relatie_ref,
        "procesStatus": status,
        "verkoopOrderStatus": text(body, "verkoopOrderStatus").unwrap_or("InBehandeling"),
        "nummer": nummer,
        "modifiedOn": fmt_dt(now_local()),
        "datum": datum.map(fmt_dt),
        "krediettermijn": krediettermijn,
        "omschrijving": pass("omschrijving"),
        "betalingskenmerk": pass("betalingskenmerk"),
        "incassomachtiging": pass("incassomachtiging"),
        "afleveradres": aflever,
        "factuuradres": factuur,
        "verkooporderBtwIngaveModel": if inclusief { "Inclusief" } else { "Exclusief" },
        "kostenplaats": pass("kostenplaats"),
        "regels": regels,
        "memo": pass("memo"),
        "orderreferentie": pass("orderreferentie"),
        "factuurkorting": num(factuurkorting),
        "verkoopordersjabloon": pass("verkoopordersjabloon"),
        "geblokkeerd": body.get("geblokkeerd").and_then(Value::as_bool).unwrap_or(false),
        "totaalExclusiefBtw": num(excl),
        "totaalInclusiefBtw": num(incl),
        "extraHoofdVelden": body.get("extraHoofdVelden").cloned().unwrap_or(json!([])),
        "verkoopfactuur": existing.map(|o| o["verkoopfactuur"].clone()).unwrap_or(Value::Null),
    }))
}

/// Adds (`sign` 1) or releases (`sign` −1) the stock an order reserves, and updates the
/// free stock and `modifiedOn` of the articles concerned.
fn reserve(db: &mut Db, order: &Value, sign: Decimal, now: &str) {
    let Some(regels) = order["regels"].as_array() else {
        return;
    };
    for r in regels {
        let Some(aid) = id_of(&r["artikel"]) else { continue };
        let aantal = dec(&r["aantal"]).unwrap_or(Decimal::ZERO);
        let tracked = db
            .artikelen
            .get(&aid)
            .is_some_and(|a| a["voorraadControle"] == json!(true));
        if !tracked || aantal.is_zero() {
            continue;
        }
        let reserved = {
            let e = db.reserved.entry(aid).or_insert(Decimal::ZERO);
            *e += sign * aantal;
            *e
        };
        if let Some(mut a) = db.artikelen.get_mut(&aid) {
            let tech = dec(&a["technischeVoorraad"]).unwrap_or(Decimal::ZERO);
            a["vrijeVoorraad"] = num(tech - reserved);
            a["modifiedOn"] = json!(now);
        }
    }
}

fn bump(db: &mut Db, key: &str) {
    let n = db.company[key].as_i64().unwrap_or(1);
    db.company[key] = json!(n + 1);
}

async fn delete_order(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let mut db = sim.db();
    let Some(old) = parse_path_id(&id).and_then(|u| db.verkooporders.get(&u).cloned()) else {
        return not_found("Verkooporder", &id);
    };
    if !old["verkoopfactuur"].is_null() {
        return bad_request(vec![error_item(
            "VOR-0015",
            "Verkooporder is gefactureerd en kan niet worden verwijderd.",
        )]);
    }
    let now = fmt_dt(now_local());
    reserve(&mut db, &old, -Decimal::ONE, &now);
    if let Some(uid) = id_of(&old) {
        db.verkooporders.remove(&uid);
    }
    // The definition declares 201 with an empty object ("HTTP 200 OK" in the text).
    (StatusCode::CREATED, Json(json!({}))).into_response()
}

// ---------------------------------------------------------------------------------------
// Writes: POST and PUT of relaties, artikelen, verkooporders

type Build = fn(&Db, &Value, Option<&Value>, Uuid) -> Result<Value, Errors>;

async fn create_any(
    State(sim): State<Arc<Sim>>,
    Extension(OpRef(op)): Extension<OpRef>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Response {
    write(&sim, op, &body, None)
}

async fn put_any(
    State(sim): State<Arc<Sim>>,
    Extension(OpRef(op)): Extension<OpRef>,
    Path(id): Path<String>,
    Extension(JsonBody(body)): Extension<JsonBody>,
) -> Response {
    write(&sim, op, &body, Some(&id))
}

/// Builds the record with the resource's rules, then checks what the definition still
/// objects to, then stores it (orders also number and reserve stock).
fn write(sim: &Sim, op: &spec::Op, body: &Value, path_id: Option<&str>) -> Response {
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

// ---------------------------------------------------------------------------------------
// Control: invoice an order, register a payment

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct InvoiceRequest {
    verkooporder_id: Uuid,
}

/// `POST /_sandbox/snelstart/invoice {"verkooporderId"}`: SnelStart's user invoices an order.
pub(super) async fn control_invoice(
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
pub(super) struct PaymentRequest {
    verkoopfactuur_id: Uuid,
    bedrag: Value,
}

/// `POST /_sandbox/snelstart/payment {"verkoopfactuurId", "bedrag"}`: a bank payment was
/// matched to the invoice; its outstanding amount drops.
pub(super) async fn control_payment(
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
