//! Customers -> relaties: names, addresses, field limits, the merge for a PUT.

use koppel_core::{Address, Customer, Record, Rejection};
use serde_json::Value;

use crate::models::{Adres, IdRef, RelatieWrite};

use super::RefData;

/// SnelStart's field limits (characters).
pub mod limits {
    /// `naam`
    pub const NAAM: usize = 50;
    /// `straat`
    pub const STRAAT: usize = 50;
    /// `postcode`
    pub const POSTCODE: usize = 25;
    /// `plaats`
    pub const PLAATS: usize = 50;
    /// `contactpersoon`
    pub const CONTACTPERSOON: usize = 50;
    /// `telefoon`
    pub const TELEFOON: usize = 25;
    /// `email`
    pub const EMAIL: usize = 250;
    /// `kvkNummer`
    pub const KVK: usize = 12;
    /// `btwNummer` (minimum 2)
    pub const BTW: usize = 50;
    /// `orderreferentie`
    pub const ORDERREFERENTIE: usize = 50;
    /// regel `omschrijving`
    pub const REGEL_OMSCHRIJVING: usize = 250;
}

pub(super) fn non_empty(v: Option<&str>) -> Option<String> {
    v.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

pub(super) fn fit(
    label: &str,
    field: &str,
    sn_field: &str,
    value: String,
    max: usize,
) -> Result<String, Rejection> {
    let n = value.chars().count();
    if n > max {
        Err(Rejection::new(
            label,
            Some(field),
            format!("{n} characters do not fit SnelStart's {sn_field} (at most {max})"),
        ))
    } else {
        Ok(value)
    }
}

pub(super) fn person_of(first: Option<&str>, last: Option<&str>) -> Option<String> {
    Address {
        first_name: first.map(str::to_owned),
        last_name: last.map(str::to_owned),
        ..Address::default()
    }
    .person()
}

/// An address as `AdresModel`: street lines joined into `straat`; the country by GUID.
/// `contactpersoon` is given by the caller. Every field must fit; a missing country or
/// postcode is a rejection (SnelStart wants all of straat, postcode, plaats and land, REL-0060).
pub fn address_to_adres(
    label: &str,
    path: &str,
    a: &Address,
    contactpersoon: Option<String>,
    refs: &RefData,
) -> Result<Adres, Rejection> {
    let straat = fit(
        label,
        &format!("{path}.street"),
        "straat",
        a.street_line(),
        limits::STRAAT,
    )?;
    if straat.is_empty() {
        return Err(Rejection::new(label, Some(&format!("{path}.street")), "missing"));
    }
    let postcode = a.postcode.trim().to_owned();
    if postcode.is_empty() {
        return Err(Rejection::new(
            label,
            Some(&format!("{path}.postcode")),
            "missing; SnelStart needs straat, postcode, plaats and land together",
        ));
    }
    let postcode = fit(
        label,
        &format!("{path}.postcode"),
        "postcode",
        postcode,
        limits::POSTCODE,
    )?;
    let plaats = fit(
        label,
        &format!("{path}.city"),
        "plaats",
        a.city.trim().to_owned(),
        limits::PLAATS,
    )?;
    if plaats.is_empty() {
        return Err(Rejection::new(label, Some(&format!("{path}.city")), "missing"));
    }
    let country = a
        .country
        .as_ref()
        .ok_or_else(|| Rejection::new(label, Some(&format!("{path}.country")), "missing"))?;
    let land = refs.land_id(country.as_str()).ok_or_else(|| {
        Rejection::new(
            label,
            Some(&format!("{path}.country")),
            format!("country {country} is not in SnelStart's landen"),
        )
    })?;
    let contactpersoon = match contactpersoon {
        Some(c) => Some(fit(
            label,
            &format!("{path}.last_name"),
            "contactpersoon",
            c,
            limits::CONTACTPERSOON,
        )?),
        None => None,
    };
    Ok(Adres {
        contactpersoon,
        straat: Some(straat),
        postcode: Some(postcode),
        plaats: Some(plaats),
        land: Some(IdRef::new(land)),
    })
}

/// Normalises a VAT number: spaces, dots and dashes removed, upper case; then 2–50 letters or
/// digits.
pub fn normalize_vat_number(v: &str) -> Option<String> {
    let n: String = v
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.' && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    (n.len() >= 2 && n.len() <= limits::BTW && n.chars().all(|c| c.is_ascii_alphanumeric())).then_some(n)
}

/// Normalises a KvK number: white space removed.
pub fn normalize_kvk(v: &str) -> String {
    v.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A customer as the relatie fields koppel writes.
pub fn customer_to_relatie(c: &Customer, refs: &RefData) -> Result<RelatieWrite, Rejection> {
    let label = c.label();
    let person = person_of(c.first_name.as_deref(), c.last_name.as_deref());
    let company = non_empty(c.company.as_deref());
    let email = non_empty(c.email.as_deref());
    let (naam, naam_field, contact) = match (&company, &person, &email) {
        (Some(co), p, _) => (co.clone(), "company", p.clone()),
        (None, Some(p), _) => (p.clone(), "last_name", None),
        (None, None, Some(e)) => (e.clone(), "email", None),
        (None, None, None) => {
            return Err(Rejection::new(
                &label,
                Some("last_name"),
                "no company, name or e-mail for naam",
            ))
        }
    };
    let naam = fit(&label, naam_field, "naam", naam, limits::NAAM)?;
    let address = c
        .billing
        .as_ref()
        .map(|a| ("billing", a))
        .or(c.shipping.as_ref().map(|a| ("shipping", a)));
    let vestigings_adres = match address {
        Some((path, a)) => Some(address_to_adres(&label, path, a, contact, refs)?),
        None => None,
    };
    let phone = non_empty(c.phone.as_deref()).or_else(|| {
        address
            .and_then(|(_, a)| a.phone.as_deref())
            .and_then(|p| non_empty(Some(p)))
    });
    let telefoon = phone
        .map(|p| fit(&label, "phone", "telefoon", p, limits::TELEFOON))
        .transpose()?;
    let email = email
        .map(|e| fit(&label, "email", "email", e, limits::EMAIL))
        .transpose()?;
    let btw_nummer = match non_empty(c.vat_number.as_deref()) {
        Some(v) => Some(normalize_vat_number(&v).ok_or_else(|| {
            Rejection::new(
                &label,
                Some("vat_number"),
                format!("{v:?} is not 2 to 50 letters and digits (SnelStart's btwNummer)"),
            )
        })?),
        None => None,
    };
    let kvk_nummer = non_empty(c.kvk_number.as_deref())
        .map(|k| fit(&label, "kvk_number", "kvkNummer", normalize_kvk(&k), limits::KVK))
        .transpose()?;
    Ok(RelatieWrite {
        relatiesoort: vec!["Klant".to_owned()],
        naam,
        vestigings_adres,
        telefoon,
        email,
        btw_nummer,
        kvk_nummer,
    })
}

pub(super) fn json_str(v: Option<&Value>) -> String {
    v.and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default()
        .to_owned()
}

/// The properties of `RelatieWriteModel` (SPEC): a PUT sends back what was read, minus what
/// only the read model has (`fax`).
pub const RELATIE_WRITE_FIELDS: &[&str] = &[
    "relatiesoort",
    "modifiedOn",
    "relatiecode",
    "naam",
    "vestigingsAdres",
    "correspondentieAdres",
    "telefoon",
    "mobieleTelefoon",
    "email",
    "btwNummer",
    "factuurkorting",
    "krediettermijn",
    "bankieren",
    "nonactief",
    "kredietLimiet",
    "memo",
    "kvkNummer",
    "oin",
    "websiteUrl",
    "aanmaningsoort",
    "offerteEmailVersturen",
    "bevestigingsEmailVersturen",
    "factuurEmailVersturen",
    "aanmaningEmailVersturen",
    "offerteAanvraagEmailVersturen",
    "bestellingEmailVersturen",
    "ublBestandAlsBijlage",
    "iban",
    "bic",
    "incassoSoort",
    "factuurRelatie",
    "inkoopBoekingenUri",
    "verkoopBoekingenUri",
    "documents",
    "id",
    "uri",
    "extraVeldenKlant",
];

/// Merges the fields koppel writes into a relatie as read (the whole object, since a PUT
/// replaces it), keeping only the properties of the write model. Returns `None` when nothing
/// would change. Fields the shop leaves empty keep SnelStart's value; `relatiesoort` is never
/// touched (it cannot change).
pub fn merge_relatie(existing: &Value, desired: &RelatieWrite) -> Option<Value> {
    let mut out = existing.clone();
    let obj = out.as_object_mut()?;
    obj.retain(|k, _| RELATIE_WRITE_FIELDS.contains(&k.as_str()));
    let mut changed = false;
    let mut set = |obj: &mut serde_json::Map<String, Value>, key: &str, v: &Option<String>, ci: bool| {
        if let Some(v) = v {
            let cur = json_str(obj.get(key));
            let same = if ci {
                cur.eq_ignore_ascii_case(v)
            } else {
                cur == *v
            };
            if !same {
                obj.insert(key.to_owned(), Value::String(v.clone()));
                changed = true;
            }
        }
    };
    set(obj, "naam", &Some(desired.naam.clone()), false);
    set(obj, "email", &desired.email, true);
    set(obj, "telefoon", &desired.telefoon, false);
    set(obj, "btwNummer", &desired.btw_nummer, true);
    set(obj, "kvkNummer", &desired.kvk_nummer, false);
    if let Some(adres) = &desired.vestigings_adres {
        let mut cur = obj
            .get("vestigingsAdres")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut addr_changed = false;
        for (key, v) in [
            ("contactpersoon", &adres.contactpersoon),
            ("straat", &adres.straat),
            ("postcode", &adres.postcode),
            ("plaats", &adres.plaats),
        ] {
            if let Some(v) = v {
                if json_str(cur.get(key)) != *v {
                    cur.insert(key.to_owned(), Value::String(v.clone()));
                    addr_changed = true;
                }
            }
        }
        if let Some(id) = adres.land.as_ref().and_then(|l| l.id.as_deref()) {
            let cur_id = cur
                .get("land")
                .and_then(|l| l.get("id"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !cur_id.eq_ignore_ascii_case(id) {
                cur.insert("land".to_owned(), serde_json::json!({ "id": id }));
                addr_changed = true;
            }
        }
        if addr_changed {
            obj.insert("vestigingsAdres".to_owned(), Value::Object(cur));
            changed = true;
        }
    }
    changed.then_some(out)
}
