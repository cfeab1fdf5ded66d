//! `/relaties`: SnelStart's validation of a relatie body.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::snelstart::error_item;
use crate::snelstart::store::{fmt_dt, id_of, now_local, Db};

use super::{address, body_id_rules, resolve_ref, text, too_long, AddressCodes, Errors};

// ---------------------------------------------------------------------------------------
// Relaties

pub(super) fn valid_email(s: &str) -> bool {
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
pub(super) fn vat_prefix(iso: &str) -> &str {
    if iso == "GR" {
        "EL"
    } else {
        iso
    }
}

pub(super) fn relatie_from_body(
    db: &Db,
    body: &Value,
    existing: Option<&Value>,
    id: Uuid,
) -> Result<Value, Errors> {
    let mut errors = Vec::new();
    body_id_rules(body, existing.map(|_| &id), &mut errors);
    let mut r = crate::snelstart::store::empty_relatie(&id);

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
