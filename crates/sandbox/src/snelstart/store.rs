//! The administration's state: records kept as the JSON objects the API serves (camelCase,
//! every declared property present, `null` when unset), plus the seed.

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, Utc};
use rand::Rng;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::seed::{self, SeedConfig, SeedVat};

/// Records of one resource, in creation order, indexed by id and by `modifiedOn`.
///
/// The `modifiedOn` index lets a list ordered by `ModifiedOn` (the keyset pages koppel reads)
/// start at the filter's lower bound and stop after one page, so a page costs time in
/// proportion to the page, not to the table.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    items: Vec<Value>,
    index: HashMap<Uuid, usize>,
    by_modified: BTreeSet<(Option<NaiveDateTime>, Uuid)>,
}

/// The `modifiedOn` of a record, parsed (`None` when absent or not a timestamp).
pub fn modified_of(v: &Value) -> Option<NaiveDateTime> {
    v.get("modifiedOn")
        .and_then(Value::as_str)
        .and_then(super::spec::parse_datetime)
}

/// A record borrowed for changing; the `modifiedOn` index follows the change when the borrow
/// ends.
pub struct RecordMut<'a> {
    coll: &'a mut Collection,
    at: usize,
    id: Uuid,
    before: Option<NaiveDateTime>,
}

impl std::ops::Deref for RecordMut<'_> {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.coll.items[self.at]
    }
}

impl std::ops::DerefMut for RecordMut<'_> {
    fn deref_mut(&mut self) -> &mut Value {
        &mut self.coll.items[self.at]
    }
}

impl Drop for RecordMut<'_> {
    fn drop(&mut self) {
        let after = modified_of(&self.coll.items[self.at]);
        if after != self.before {
            self.coll.by_modified.remove(&(self.before, self.id));
            self.coll.by_modified.insert((after, self.id));
        }
    }
}

impl Collection {
    /// All records in creation order.
    pub fn all(&self) -> &[Value] {
        &self.items
    }

    /// One record.
    pub fn get(&self, id: &Uuid) -> Option<&Value> {
        self.index.get(id).map(|&i| &self.items[i])
    }

    /// One record, to change in place.
    pub fn get_mut(&mut self, id: &Uuid) -> Option<RecordMut<'_>> {
        let at = *self.index.get(id)?;
        let before = modified_of(&self.items[at]);
        Some(RecordMut {
            coll: self,
            at,
            id: *id,
            before,
        })
    }

    /// Records with `modifiedOn` in `range`, oldest first (ties by id); records without a
    /// `modifiedOn` come first when the range is unbounded below.
    pub fn by_modified(
        &self,
        lower: std::ops::Bound<NaiveDateTime>,
        upper: std::ops::Bound<NaiveDateTime>,
    ) -> impl Iterator<Item = &Value> + '_ {
        use std::ops::Bound;
        let lo = match lower {
            Bound::Unbounded => Bound::Unbounded,
            Bound::Included(t) => Bound::Included((Some(t), Uuid::nil())),
            Bound::Excluded(t) => Bound::Excluded((Some(t), Uuid::max())),
        };
        let hi = match upper {
            Bound::Unbounded => Bound::Unbounded,
            Bound::Included(t) => Bound::Included((Some(t), Uuid::max())),
            Bound::Excluded(t) => Bound::Excluded((Some(t), Uuid::nil())),
        };
        self.by_modified
            .range((lo, hi))
            .filter_map(|(_, id)| self.get(id))
    }

    /// Adds or replaces a record (keyed by its `id`).
    pub fn put(&mut self, record: Value) {
        let Some(id) = id_of(&record) else { return };
        let m = modified_of(&record);
        match self.index.get(&id) {
            Some(&i) => {
                self.by_modified.remove(&(modified_of(&self.items[i]), id));
                self.items[i] = record;
            }
            None => {
                self.index.insert(id, self.items.len());
                self.items.push(record);
            }
        }
        self.by_modified.insert((m, id));
    }

    /// Removes a record.
    pub fn remove(&mut self, id: &Uuid) -> Option<Value> {
        let i = self.index.remove(id)?;
        let v = self.items.remove(i);
        self.by_modified.remove(&(modified_of(&v), *id));
        for idx in self.index.values_mut() {
            if *idx > i {
                *idx -= 1;
            }
        }
        Some(v)
    }
}

/// The `id` of a record or reference.
pub fn id_of(v: &Value) -> Option<Uuid> {
    v.get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// A reference `{id, uri}`.
pub fn reference(resource: &str, id: &Uuid) -> Value {
    json!({"id": id.to_string(), "uri": format!("/{resource}/{id}")})
}

/// Dutch local time now (the API emits timestamps without offset).
pub fn now_local() -> NaiveDateTime {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .naive_local()
}

/// Formats like .NET's `DateTime` round-trip without kind: `2023-06-29T21:44:48.51`
/// (fraction to milliseconds, trailing zeros dropped).
pub fn fmt_dt(dt: NaiveDateTime) -> String {
    let base = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let ms = dt.and_utc().timestamp_subsec_millis();
    if ms == 0 {
        base
    } else {
        let frac = format!("{ms:03}");
        format!("{base}.{}", frac.trim_end_matches('0'))
    }
}

/// A JSON number from a decimal (the wire format is a JSON number).
pub fn num(d: Decimal) -> Value {
    let d = d.normalize();
    if d.scale() == 0 {
        if let Some(i) = d.to_i64() {
            return Value::from(i);
        }
    }
    d.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A decimal from a JSON number (or numeric string), exactly as written.
pub fn dec(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(Decimal::from(i))
            } else {
                Decimal::from_str(&n.to_string())
                    .or_else(|_| Decimal::from_scientific(&n.to_string()))
                    .ok()
            }
        }
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

/// Rounds half away from zero to `dp` decimals.
pub fn round(d: Decimal, dp: u32) -> Decimal {
    d.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// The whole administration.
#[derive(Debug, Clone, Default)]
pub struct Db {
    /// Articles.
    pub artikelen: Collection,
    /// Revenue groups (carry the VAT kind).
    pub omzetgroepen: Collection,
    /// Countries.
    pub landen: Collection,
    /// VAT rate history (not addressable by id).
    pub btwtarieven: Vec<Value>,
    /// Customers and suppliers.
    pub relaties: Collection,
    /// Sales orders.
    pub verkooporders: Collection,
    /// Sales invoices.
    pub verkoopfacturen: Collection,
    /// Quantity reserved per article by open orders (free stock = technical − reserved).
    pub reserved: HashMap<Uuid, Decimal>,
    /// Company settings.
    pub company: Value,
}

const COUNTRIES: &[(&str, &str)] = &[
    ("NL", "Nederland"),
    ("BE", "België"),
    ("DE", "Duitsland"),
    ("FR", "Frankrijk"),
    ("GB", "Verenigd Koninkrijk"),
    ("US", "Verenigde Staten"),
    ("LU", "Luxemburg"),
    ("AT", "Oostenrijk"),
    ("ES", "Spanje"),
    ("IT", "Italië"),
    ("GR", "Griekenland"),
];

fn det_uuid(rng: &mut impl Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

fn dutch_decimal(d: Decimal, dp: u32) -> String {
    format!("{:.*}", dp as usize, round(d, dp)).replace('.', ",")
}

/// Seeded timestamps: a fixed moment, so the seed is deterministic.
fn seed_time(minutes: i64) -> String {
    let base = NaiveDate::from_ymd_opt(2025, 1, 6)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .unwrap_or_default();
    fmt_dt(base + chrono::Duration::minutes(minutes))
}

impl Db {
    /// The seeded administration for a config.
    pub fn seeded(cfg: &SeedConfig) -> Db {
        let mut rng = seed::rng(cfg, 0x5E17);
        let mut db = Db::default();

        for (iso, naam) in COUNTRIES {
            let id = det_uuid(&mut rng);
            db.landen.put(json!({
                "id": id.to_string(), "uri": format!("/landen/{id}"),
                "naam": naam, "landcodeISO": iso, "landcode": iso,
            }));
        }

        let until = |y: i32, m: u32, d: u32| {
            NaiveDate::from_ymd_opt(y, m, d)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(fmt_dt)
        };
        let open = until(9999, 12, 31);
        let rate = |soort: &str, pct: i64, from: Option<String>, to: Option<String>| json!({"btwSoort": soort, "btwPercentage": pct, "datumVanaf": from, "datumTotEnMet": to});
        db.btwtarieven = vec![
            rate("Geen", 0, until(1969, 1, 1), open.clone()),
            rate("Laag", 6, until(1986, 10, 1), until(2018, 12, 31)),
            rate("Laag", 9, until(2019, 1, 1), open.clone()),
            rate("Hoog", 19, until(2001, 1, 1), until(2012, 9, 30)),
            rate("Hoog", 21, until(2012, 10, 1), open),
        ];

        let mut groep = HashMap::new();
        for (nummer, (soort, oms)) in [
            ("Hoog", "Omzet hoog tarief"),
            ("Laag", "Omzet laag tarief"),
            ("Geen", "Omzet vrijgesteld"),
        ]
        .iter()
        .enumerate()
        {
            let id = det_uuid(&mut rng);
            let gb = det_uuid(&mut rng);
            db.omzetgroepen.put(json!({
                "id": id.to_string(), "uri": format!("/artikelomzetgroepen/{id}"),
                "nummer": nummer + 1, "omschrijving": oms,
                "verkoopGrootboekNederlandIdentifier": reference("grootboeken", &gb),
                "verkoopNederlandBtwSoort": soort,
            }));
            groep.insert(*soort, id);
        }

        let leverancier = det_uuid(&mut rng);
        for (i, a) in seed::articles(cfg).iter().enumerate() {
            let id = det_uuid(&mut rng);
            let g = match a.vat {
                SeedVat::Hoog => groep["Hoog"],
                SeedVat::Laag => groep["Laag"],
            };
            let stock = Decimal::from(a.stock);
            let reserved = Decimal::from(a.backorders);
            if !reserved.is_zero() {
                db.reserved.insert(id, reserved);
            }
            db.artikelen.put(json!({
                "id": id.to_string(), "uri": format!("/artikelen/{id}"),
                "artikelcode": a.sku, "omschrijving": a.name,
                "artikelOmzetgroep": reference("artikelomzetgroepen", &g),
                "verkoopprijs": num(a.price_excl),
                "inkoopprijs": num(round(a.price_excl * Decimal::new(55, 2), 2)),
                "eenheid": "stuk", "modifiedOn": seed_time(i as i64),
                "relatie": reference("relaties", &leverancier),
                "isNonActief": i % 40 == 39,
                "voorraadControle": true,
                "technischeVoorraad": num(stock),
                "vrijeVoorraad": num(stock - reserved),
                "extraVelden": [
                    {"naam": "Gewicht", "waarde": dutch_decimal(a.weight, 3)},
                    {"naam": "Categorie", "waarde": a.category},
                ],
                "isHoofdartikel": false, "subartikelen": [],
            }));
        }
        let nl = db
            .landen
            .all()
            .iter()
            .find(|l| l["landcodeISO"] == "NL")
            .and_then(id_of)
            .unwrap_or_default();
        let be = db
            .landen
            .all()
            .iter()
            .find(|l| l["landcodeISO"] == "BE")
            .and_then(id_of)
            .unwrap_or_default();
        let klanten: &[(&str, Option<&str>, &str, &str, Uuid)] = &[
            (
                "Jansen Koffie B.V.",
                Some("klant1@example.nl"),
                "Stationsstraat 1",
                "Utrecht",
                nl,
            ),
            (
                "De Vries Horeca",
                Some("klant2@example.nl"),
                "Markt 12",
                "Gouda",
                nl,
            ),
            (
                "Bakkerij Peters",
                Some("klant3@example.nl"),
                "Dorpsstraat 7",
                "Zwolle",
                nl,
            ),
            (
                "Café 't Hoekje",
                Some("info@hoekje.example.nl"),
                "Kerkplein 3",
                "Haarlem",
                nl,
            ),
            ("Brasserie Lambiek", None, "Grote Markt 5", "Gent", be),
        ];
        for (i, (naam, email, straat, plaats, land)) in klanten.iter().enumerate() {
            let id = det_uuid(&mut rng);
            let postcode = if *land == nl {
                format!("35{:02} AB", i + 11)
            } else {
                "9000".to_owned()
            };
            let mut r = empty_relatie(&id);
            r["relatiesoort"] = json!(["Klant"]);
            r["relatiecode"] = json!(1001 + i);
            r["naam"] = json!(naam);
            r["email"] = json!(email);
            r["vestigingsAdres"] = json!({"contactpersoon": null, "straat": straat, "postcode": postcode,
                "plaats": plaats, "land": reference("landen", land)});
            r["correspondentieAdres"] = r["vestigingsAdres"].clone();
            r["krediettermijn"] = json!(14);
            r["modifiedOn"] = json!(seed_time(i as i64));
            db.relaties.put(r);
        }
        let mut r = empty_relatie(&leverancier);
        r["relatiesoort"] = json!(["Leverancier"]);
        r["relatiecode"] = json!(2001);
        r["naam"] = json!("Groothandel Bonenburg");
        r["email"] = json!("verkoop@bonenburg.example.nl");
        r["modifiedOn"] = json!(seed_time(0));
        db.relaties.put(r);

        let admin = det_uuid(&mut rng);
        db.company = json!({
            "administratieIdentifier": admin.to_string(),
            "administratieNaam": "Koppel Sandbox B.V.",
            "bedrijfsnaam": "Koppel Sandbox B.V.",
            "adres": "Sandboxweg 1", "postcode": "1234 AB", "plaats": "Amsterdam",
            "email": "administratie@sandbox.example.nl", "telefoon": "020-1234567",
            "kvKNummer": "12345678", "btwNummer": "NL123456789B01",
            "iban": "NL91ABNA0417164300", "bic": "ABNANL2A",
            "verkoopprijsArtikelbestandExclusiefBtw": true,
            "inkoopprijsArtikelbestandExclusiefBtw": true,
            "aantalDecimalenArtikelprijzen": 2, "aantalDecimalenArtikelaantallen": 2,
            "artikelcodeSoort": "Alfanumeriek", "artikelcodeMaxLengte": 20,
            "regelkortingVerkooporder": "BerekenenOverRegelBedrag",
            "voorraadcontroleOrderinvoer": true, "backorderGebruiken": true,
            "verkooporderVoorraadVanafNiveau": "Alle",
            "volgendVerkoopordernummer": 1, "volgendFactuurnummer": 20250001,
            "huidigBoekjaar": 2025, "beginmaandFiscaleBoekjaar": 1,
            "btwAangiftePeriodeSoort": "Kwartaal", "rechtsvorm": "Bv",
        });
        db
    }

    /// The land with this id, if known.
    pub fn land(&self, id: &Uuid) -> Option<&Value> {
        self.landen.get(id)
    }
}

/// A relatie with every declared property unset, except the derived ones.
pub fn empty_relatie(id: &Uuid) -> Value {
    let mail = json!({"shouldSend": false, "email": null, "ccEmail": null});
    json!({
        "id": id.to_string(), "uri": format!("/relaties/{id}"),
        "modifiedOn": null, "relatiesoort": [], "relatiecode": null, "naam": null,
        "vestigingsAdres": null, "correspondentieAdres": null,
        "telefoon": null, "mobieleTelefoon": null, "email": null, "btwNummer": null,
        "factuurkorting": null, "krediettermijn": null, "bankieren": false,
        "nonactief": false, "kredietLimiet": null, "memo": null, "kvkNummer": null,
        "websiteUrl": null, "aanmaningsoort": null,
        "offerteEmailVersturen": mail.clone(), "bevestigingsEmailVersturen": mail.clone(),
        "factuurEmailVersturen": mail.clone(), "aanmaningEmailVersturen": mail.clone(),
        "offerteAanvraagEmailVersturen": mail.clone(), "bestellingEmailVersturen": mail,
        "ublBestandAlsBijlage": false, "iban": null, "bic": null, "incassoSoort": "Geen",
        "inkoopBoekingenUri": format!("/relaties/{id}/inkoopboekingen"),
        "verkoopBoekingenUri": format!("/relaties/{id}/verkoopboekingen"),
        "fax": null, "oin": null, "factuurRelatie": null, "extraVeldenKlant": [], "documents": [],
    })
}

/// A fresh random id.
pub fn new_id() -> Uuid {
    Uuid::new_v4()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_dotnet() {
        let dt = NaiveDate::from_ymd_opt(2023, 6, 29)
            .unwrap()
            .and_hms_milli_opt(21, 44, 48, 510)
            .unwrap();
        assert_eq!(fmt_dt(dt), "2023-06-29T21:44:48.51");
        assert_eq!(fmt_dt(dt.with_nanosecond(0).unwrap()), "2023-06-29T21:44:48");
        assert_eq!(dec(&json!(12.34)), Some(Decimal::new(1234, 2)));
        assert_eq!(num(Decimal::new(1234, 2)), json!(12.34));
        assert_eq!(round(Decimal::new(-125, 3), 2), Decimal::new(-13, 2));
    }

    use chrono::Timelike;

    #[test]
    fn seed_is_deterministic() {
        let cfg = SeedConfig::default();
        let a = Db::seeded(&cfg);
        let b = Db::seeded(&cfg);
        assert_eq!(a.artikelen.all(), b.artikelen.all());
        assert_eq!(a.artikelen.all().len(), cfg.articles);
        assert_eq!(a.artikelen.all()[0]["artikelcode"], "KP-0001");
        assert!(a.relaties.all().iter().any(|r| r["email"] == "klant1@example.nl"));
    }
}
