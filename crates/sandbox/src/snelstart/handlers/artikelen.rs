//! `/artikelen`: an artikel body, and deleting one.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::snelstart::store::{fmt_dt, id_of, now_local, Db};
use crate::snelstart::{error_item, Sim};

use super::{body_id_rules, not_found, parse_path_id, resolve_ref, text, Errors};

// ---------------------------------------------------------------------------------------
// Artikelen

pub(super) fn artikel_from_body(
    db: &Db,
    body: &Value,
    existing: Option<&Value>,
    id: Uuid,
) -> Result<Value, Errors> {
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

/// `DELETE /artikelen/{id}`: "Verwijdert een actief artikel" (the definition); 200 `{}`.
pub(super) async fn delete_article(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let mut db = sim.db();
    let Some(uid) = parse_path_id(&id).filter(|u| db.artikelen.get(u).is_some()) else {
        return not_found("Artikel", &id);
    };
    db.artikelen.remove(&uid);
    db.reserved.remove(&uid);
    Json(json!({})).into_response()
}
