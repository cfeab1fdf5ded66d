//! `/verkooporders`: an order body with its VAT and totals, stock reservation, deleting one.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::snelstart::spec::parse_datetime;
use crate::snelstart::store::{dec, fmt_dt, id_of, now_local, num, reference, round, Db};
use crate::snelstart::{bad_request, error_item, Sim};

use super::{address, body_id_rules, not_found, parse_path_id, text, too_long, AddressCodes, Errors};

// ---------------------------------------------------------------------------------------
// Verkooporders

/// The VAT percentage of a kind on a date, from the rate history.
pub(super) fn vat_percentage(db: &Db, soort: &str, on: NaiveDate) -> Decimal {
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

pub(super) fn article_vat(db: &Db, artikel: &Value, on: NaiveDate) -> Decimal {
    let soort = artikel["artikelOmzetgroep"]
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .and_then(|g| db.omzetgroepen.get(&g))
        .and_then(|g| g["verkoopNederlandBtwSoort"].as_str())
        .unwrap_or("Geen");
    vat_percentage(db, soort, on)
}

pub(super) fn order_from_body(
    db: &Db,
    body: &Value,
    existing: Option<&Value>,
    id: Uuid,
) -> Result<Value, Errors> {
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
pub(super) fn reserve(db: &mut Db, order: &Value, sign: Decimal, now: &str) {
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

pub(super) fn bump(db: &mut Db, key: &str) {
    let n = db.company[key].as_i64().unwrap_or(1);
    db.company[key] = json!(n + 1);
}

pub(super) async fn delete_order(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
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
