//! Pure functions between SnelStart's wire types and koppel's canonical model. No I/O: the
//! connector fetches what these need (reference data, resolved articles) and passes it in.
//!
//! Rules worth knowing:
//! - **Time.** SnelStart timestamps carry no offset and are Dutch local time; they are
//!   converted to/from UTC with `Europe/Amsterdam` (an ambiguous autumn hour takes the
//!   earlier instant, a skipped spring hour the instant after the gap).
//! - **Relatie names.** `naam` is the company when there is one (the person then goes in the
//!   address's `contactpersoon`), else the person, else the e-mail address. Street lines are
//!   joined with a space into `straat`. A value that does not fit its SnelStart field is a
//!   rejection naming the field and the limit; nothing is cut.
//! - **Order amounts.** Each regel's `totaal` equals the shop's row total: `stuksprijs` is the
//!   shop's unit price when `aantal × stuksprijs` gives the row total, else the row total
//!   divided by the quantity when that divides to the administration's price decimals, else the
//!   line is split into the undiscounted line plus a correction line on the same article (so
//!   the VAT rate stays right). Shipping, payment fees and order discounts go on the configured
//!   articles; without one, a priced text line only with `orders.priced_text_lines`, else the
//!   order is rejected naming the setting. The order total is computed as SnelStart does (sum of regel
//!   totals, VAT per rate for exclusive orders, rounded half away from zero to cents) and must
//!   equal the shop's grand total to the cent (an exclusive order SnelStart would round
//!   differently is booked with incl. regel totals, see [`order_to_verkooporder`]).
//! - **VAT.** Judged on the shop's amounts under its rounding rule ([`koppel_core::vat`]), never
//!   on percentages rebuilt from rounded cents; the rejection names the amounts and the rates
//!   tried (`lines[2].tax`, `shipping_cost.tax`, `tax_total` for per-total orders).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use koppel_core::model::round_money;
use koppel_core::vat::{self, ShopVat, TaxedRow};
use koppel_core::{
    Address, Currency, Customer, Money, OpenAmount, Order, PaymentStatus, Product, Record, Rejection, Sku,
    StockLevel, TaxMode, VatKind, VatRate, VatRounding,
};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::config::{CategorySource, OrdersConfig, ProductsConfig, StockKind, WeightSource, WeightUnit};
use crate::models::{
    Adres, Artikel, BtwTarief, CompanyInfo, IdRef, Land, Omzetgroep, RelatieWrite, Verkoopfactuur,
    VerkooporderRegel, VerkooporderWrite,
};

// ---------------------------------------------------------------------------------------------
// Time, OData literals, numbers
// ---------------------------------------------------------------------------------------------

/// Parses a SnelStart timestamp (`2023-06-29T21:44:48.51`, Dutch local time). A timestamp with
/// an offset or `Z` is taken as it says.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    local_to_utc(naive)
}

/// Dutch local time to UTC.
pub fn local_to_utc(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    match Amsterdam.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        // in the spring gap: the wall-clock time an hour later exists
        LocalResult::None => match Amsterdam.from_local_datetime(&(naive + chrono::Duration::hours(1))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
            LocalResult::None => None,
        },
    }
}

/// UTC to Dutch local time.
pub fn utc_to_local(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&Amsterdam).naive_local()
}

/// `yyyy-MM-ddTHH:mm:ss.fff` in Dutch local time, for `datetime'…'` literals.
pub fn format_filter_time(t: DateTime<Utc>) -> String {
    utc_to_local(t).format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// `yyyy-MM-ddTHH:mm:ss` in Dutch local time, for date fields we send.
pub fn format_send_time(t: DateTime<Utc>) -> String {
    utc_to_local(t).format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// An OData string literal: `'O''Brien'`.
pub fn odata_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The `$filter` for a change window: `ModifiedOn gt datetime'…' [and ModifiedOn le datetime'…']`.
pub fn modified_filter(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(s) = since {
        parts.push(format!("ModifiedOn gt datetime'{}'", format_filter_time(s)));
    }
    if let Some(u) = until {
        parts.push(format!("ModifiedOn le datetime'{}'", format_filter_time(u)));
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// Parses a number written the Dutch way (`0,250`, `1.234,5`) or the English way (`0.250`).
pub fn parse_decimal_nl(s: &str) -> Option<Decimal> {
    let t: String = s.trim().chars().filter(|c| !c.is_whitespace()).collect();
    if t.is_empty() {
        return None;
    }
    let normal = match (t.contains(','), t.contains('.')) {
        // "1.234,5": dots group thousands, the comma is the decimal separator
        (true, true) => {
            if t.rfind(',') > t.rfind('.') {
                t.replace('.', "").replace(',', ".")
            } else {
                t.replace(',', "")
            }
        }
        (true, false) => {
            if t.matches(',').count() > 1 {
                return None;
            }
            t.replace(',', ".")
        }
        _ => t,
    };
    normal.parse::<Decimal>().ok()
}

// ---------------------------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------------------------

/// Reference data read once per run: article groups, VAT rates, countries, company settings.
#[derive(Debug, Clone, Default)]
pub struct RefData {
    /// Article groups by GUID (lower case).
    pub omzetgroepen: HashMap<String, Omzetgroep>,
    /// VAT rate history.
    pub tarieven: Vec<BtwTarief>,
    /// Country GUID by ISO code (upper case).
    pub land_by_iso: HashMap<String, String>,
    /// Whether article prices exclude VAT (`verkoopprijsArtikelbestandExclusiefBtw`; default
    /// true when the administration does not say).
    pub prices_exclusive: bool,
    /// Decimals of article prices (`aantalDecimalenArtikelprijzen`; default 2).
    pub price_decimals: u32,
}

impl RefData {
    /// Builds the lookup tables.
    pub fn new(
        omzetgroepen: Vec<Omzetgroep>,
        tarieven: Vec<BtwTarief>,
        landen: Vec<Land>,
        company: &CompanyInfo,
    ) -> Self {
        RefData {
            omzetgroepen: omzetgroepen
                .into_iter()
                .filter_map(|g| g.id.clone().map(|id| (id.to_ascii_lowercase(), g)))
                .collect(),
            tarieven,
            land_by_iso: landen
                .into_iter()
                .filter_map(|l| Some((l.landcode_iso?.trim().to_ascii_uppercase(), l.id?)))
                .collect(),
            prices_exclusive: company.verkoopprijs_artikelbestand_exclusief_btw.unwrap_or(true),
            price_decimals: company.aantal_decimalen_artikelprijzen.unwrap_or(2).min(6),
        }
    }

    /// The VAT rate of a kind valid on `date`: `Geen` without a tariff is 0 %.
    pub fn vat_rate(&self, kind: VatKind, date: NaiveDate) -> Option<VatRate> {
        let found = self.tarieven.iter().find(|t| {
            let same_kind = t.btw_soort.as_deref().and_then(VatKind::parse) == Some(kind);
            let from_ok = t
                .datum_vanaf
                .as_deref()
                .and_then(parse_date)
                .is_none_or(|from| from <= date);
            let to_ok = t
                .datum_tot_en_met
                .as_deref()
                .and_then(parse_date)
                .is_none_or(|to| date <= to);
            same_kind && from_ok && to_ok
        });
        match (found.and_then(|t| t.btw_percentage), kind) {
            (Some(p), _) => VatRate::new(p, Some(kind)).ok(),
            (None, VatKind::Geen) => Some(VatRate {
                percentage: Decimal::ZERO,
                kind: Some(VatKind::Geen),
            }),
            (None, _) => None,
        }
    }

    /// Every VAT rate of the administration valid on `date`, one per kind that has one (Hoog,
    /// Laag, Geen (0 % even without a tariff), Overig): the rates a shop's VAT is judged against.
    pub fn rates_on(&self, date: NaiveDate) -> Vec<VatRate> {
        [VatKind::Hoog, VatKind::Laag, VatKind::Geen, VatKind::Overig]
            .into_iter()
            .filter_map(|k| self.vat_rate(k, date))
            .collect()
    }

    /// The VAT rate of an article on `date`, via its article group.
    pub fn article_vat(&self, article: &Artikel, date: NaiveDate) -> Result<VatRate, String> {
        let group_id = article
            .artikel_omzetgroep
            .as_ref()
            .and_then(|r| r.id.as_deref())
            .ok_or("the article has no artikelOmzetgroep")?;
        let group = self
            .omzetgroepen
            .get(&group_id.to_ascii_lowercase())
            .ok_or_else(|| format!("article group {group_id} is unknown"))?;
        let soort = group
            .verkoop_nederland_btw_soort
            .as_deref()
            .ok_or_else(|| format!("article group {group_id} has no verkoopNederlandBtwSoort"))?;
        let kind = VatKind::parse(soort)
            .ok_or_else(|| format!("article group {group_id} has unknown VAT kind {soort:?}"))?;
        self.vat_rate(kind, date)
            .ok_or_else(|| format!("no btwtarief for {soort} valid on {date}"))
    }

    /// The country GUID of an ISO code.
    pub fn land_id(&self, iso: &str) -> Option<&str> {
        self.land_by_iso
            .get(&iso.to_ascii_uppercase())
            .map(String::as_str)
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    parse_timestamp(s)
        .map(|t| utc_to_local(t).date())
        .or_else(|| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok())
}

/// Today in the Netherlands.
pub fn today_nl() -> NaiveDate {
    utc_to_local(Utc::now()).date()
}

// ---------------------------------------------------------------------------------------------
// Articles -> products and stock levels
// ---------------------------------------------------------------------------------------------

fn article_label(a: &Artikel) -> String {
    match (&a.artikelcode, &a.id) {
        (Some(code), _) => format!("article {code}"),
        (None, Some(id)) => format!("article {id}"),
        (None, None) => "article (without code or id)".to_owned(),
    }
}

fn extra<'a>(a: &'a Artikel, name: &str) -> Option<&'a str> {
    a.extra_velden
        .as_deref()?
        .iter()
        .find(|e| {
            e.naam
                .as_deref()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(name.trim()))
        })
        .and_then(|e| e.waarde.as_deref())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn sku_of(a: &Artikel) -> Result<Sku, Rejection> {
    let label = article_label(a);
    let code = a
        .artikelcode
        .as_deref()
        .ok_or_else(|| Rejection::new(&label, Some("artikelcode"), "missing"))?;
    Sku::new(code).map_err(|e| Rejection::new(&label, Some("artikelcode"), e.0))
}

fn modified_of(a_label: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, Rejection> {
    match raw {
        None => Ok(None),
        Some(s) => parse_timestamp(s)
            .map(Some)
            .ok_or_else(|| Rejection::new(a_label, Some("modifiedOn"), format!("{s:?} is not a date-time"))),
    }
}

fn weight_of(a: &Artikel, w: &WeightSource, label: &str) -> Result<Option<Decimal>, Rejection> {
    let Some(raw) = extra(a, &w.extra_field) else {
        return Ok(None);
    };
    let field = format!("extraVelden.{}", w.extra_field);
    let v = parse_decimal_nl(raw)
        .ok_or_else(|| Rejection::new(label, Some(&field), format!("{raw:?} is not a number")))?;
    if v < Decimal::ZERO {
        return Err(Rejection::new(
            label,
            Some(&field),
            format!("weight {raw:?} is negative"),
        ));
    }
    Ok(Some(match w.unit {
        WeightUnit::Kg => v,
        WeightUnit::G => v / Decimal::ONE_THOUSAND,
    }))
}

fn category_of(a: &Artikel, c: &CategorySource, refs: &RefData) -> Vec<String> {
    let raw = if c.omzetgroep {
        a.artikel_omzetgroep
            .as_ref()
            .and_then(|r| r.id.as_deref())
            .and_then(|id| refs.omzetgroepen.get(&id.to_ascii_lowercase()))
            .and_then(|g| g.omschrijving.clone())
            .map(|d| vec![d])
            .unwrap_or_default()
    } else {
        match c.extra_field.as_deref().and_then(|f| extra(a, f)) {
            Some(v) => v.split(c.separator.as_str()).map(str::to_owned).collect(),
            None => Vec::new(),
        }
    };
    raw.into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// An article as a product. `vat_date` picks the VAT rate in force (today, normally).
pub fn article_to_product(
    a: &Artikel,
    refs: &RefData,
    cfg: &ProductsConfig,
    vat_date: NaiveDate,
) -> Result<Product, Rejection> {
    let label = article_label(a);
    let sku = sku_of(a)?;
    let name = a
        .omschrijving
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Rejection::new(&label, Some("omschrijving"), "missing"))?
        .to_owned();
    let price = a
        .verkoopprijs
        .ok_or_else(|| Rejection::new(&label, Some("verkoopprijs"), "missing"))?;
    let vat = refs
        .article_vat(a, vat_date)
        .map_err(|m| Rejection::new(&label, Some("artikelOmzetgroep"), m))?;
    let weight = match &cfg.weight {
        Some(w) => weight_of(a, w, &label)?,
        None => None,
    };
    let category = cfg
        .category
        .as_ref()
        .map(|c| category_of(a, c, refs))
        .unwrap_or_default();
    let attributes: BTreeMap<String, String> = cfg
        .attributes
        .iter()
        .filter_map(|(code, field)| extra(a, field).map(|v| (code.clone(), v.to_owned())))
        .collect();
    let product = Product {
        sku,
        name,
        price: Money::eur(price),
        tax_mode: if refs.prices_exclusive {
            TaxMode::Exclusive
        } else {
            TaxMode::Inclusive
        },
        vat: Some(vat),
        active: !a.is_non_actief.unwrap_or(false),
        unit: a
            .eenheid
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned),
        weight,
        category,
        attributes,
        source_id: a.id.clone(),
        modified: modified_of(&label, a.modified_on.as_deref())?,
    };
    product.validate().map_err(Rejection::from)?;
    Ok(product)
}

/// An article's stock level; `None` when the article does not track stock and those are
/// skipped.
pub fn article_to_stock(
    a: &Artikel,
    kind: StockKind,
    skip_untracked: bool,
) -> Result<Option<StockLevel>, Rejection> {
    let label = article_label(a);
    let sku = sku_of(a)?;
    if skip_untracked && a.voorraad_controle == Some(false) {
        return Ok(None);
    }
    let (field, value) = match kind {
        StockKind::Technical => ("technischeVoorraad", a.technische_voorraad),
        StockKind::Free => ("vrijeVoorraad", a.vrije_voorraad),
    };
    let quantity = value.ok_or_else(|| Rejection::new(&label, Some(field), "missing"))?;
    Ok(Some(StockLevel {
        sku,
        quantity,
        source_id: a.id.clone(),
        modified: modified_of(&label, a.modified_on.as_deref())?,
    }))
}

// ---------------------------------------------------------------------------------------------
// Customers -> relaties
// ---------------------------------------------------------------------------------------------

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

fn non_empty(v: Option<&str>) -> Option<String> {
    v.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn fit(label: &str, field: &str, sn_field: &str, value: String, max: usize) -> Result<String, Rejection> {
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

fn person_of(first: Option<&str>, last: Option<&str>) -> Option<String> {
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

fn json_str(v: Option<&Value>) -> String {
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

// ---------------------------------------------------------------------------------------------
// Orders -> verkooporders
// ---------------------------------------------------------------------------------------------

/// An article resolved for an order line: its GUID and SnelStart's VAT rate on the order date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineArticle {
    /// Article GUID.
    pub id: String,
    /// Its artikelcode (for messages).
    pub code: String,
    /// Its VAT rate on the order date.
    pub vat: VatRate,
}

/// What an order needs besides itself, resolved by the connector.
#[derive(Debug, Clone)]
pub struct OrderInputs<'a> {
    /// GUID of the buyer's relatie.
    pub relatie_id: String,
    /// One resolved article per order line, in order.
    pub lines: Vec<LineArticle>,
    /// The shipping article, when configured.
    pub shipping_article: Option<LineArticle>,
    /// The payment fee article, when configured.
    pub payment_article: Option<LineArticle>,
    /// The discount article, when configured.
    pub discount_article: Option<LineArticle>,
    /// Reference data (countries, price decimals).
    pub refs: &'a RefData,
    /// The orders section of the config.
    pub config: &'a OrdersConfig,
}

/// A verkooporder ready to send, with the total SnelStart will compute and any warnings.
#[derive(Debug, Clone)]
pub struct OrderPlan {
    /// The request body.
    pub body: VerkooporderWrite,
    /// The total incl. VAT as SnelStart computes it.
    pub total_incl: Decimal,
    /// VAT mismatches written anyway (`vat_mismatch = "warn"`).
    pub warnings: Vec<String>,
}

/// The order date in the Netherlands (the VAT date).
pub fn order_date(o: &Order) -> NaiveDate {
    utc_to_local(o.created_at).date()
}

fn order_address(label: &str, path: &str, a: &Address, refs: &RefData) -> Result<Adres, Rejection> {
    let person = a.person();
    let company = non_empty(a.company.as_deref());
    let contact = match (company, person) {
        (Some(c), Some(p)) => {
            let both = format!("{c}, {p}");
            if both.chars().count() > limits::CONTACTPERSOON {
                return Err(Rejection::new(
                    label,
                    Some(&format!("{path}.company")),
                    format!(
                        "company and person ({} characters) do not fit SnelStart's contactpersoon (at most {})",
                        both.chars().count(),
                        limits::CONTACTPERSOON
                    ),
                ));
            }
            Some(both)
        }
        (Some(c), None) => Some(c),
        (None, p) => p,
    };
    address_to_adres(label, path, a, contact, refs)
}

struct Priced {
    stuksprijs: Decimal,
    totaal: Decimal,
    correction: Option<Decimal>,
}

/// Chooses `stuksprijs` so the regel total equals `row_total` (see the module doc).
fn price_line(quantity: Decimal, unit_price: Decimal, row_total: Decimal, decimals: u32) -> Priced {
    if round_money(quantity * unit_price, 2) == row_total && unit_price.normalize().scale() <= decimals {
        return Priced {
            stuksprijs: unit_price,
            totaal: row_total,
            correction: None,
        };
    }
    if !quantity.is_zero() {
        let candidate = round_money(row_total / quantity, decimals);
        if round_money(candidate * quantity, 2) == row_total {
            return Priced {
                stuksprijs: candidate,
                totaal: row_total,
                correction: None,
            };
        }
    }
    let stuksprijs = round_money(unit_price, decimals);
    let totaal = round_money(stuksprijs * quantity, 2);
    Priced {
        stuksprijs,
        totaal,
        correction: Some(row_total - totaal),
    }
}

/// How a row's VAT is judged: the order's tax mode and rounding rule, the administration's
/// rates on the order date, and what a mismatch does.
struct VatJudge<'a> {
    label: &'a str,
    mode: TaxMode,
    rounding: VatRounding,
    rates: Vec<VatRate>,
    policy: crate::config::VatMismatch,
}

fn rate_name(rate: &VatRate) -> String {
    match rate.kind {
        Some(k) => format!("{k:?} {} %", rate.percentage.normalize()),
        None => format!("{} %", rate.percentage.normalize()),
    }
}

impl VatJudge<'_> {
    /// The field a verdict names: `<base>.tax` when judged on the shop's amount, else
    /// `<base>.vat_percentage`.
    fn field(base: &str, shop: &ShopVat) -> String {
        if shop.row.is_some() {
            format!("{base}.tax")
        } else {
            format!("{base}.vat_percentage")
        }
    }

    fn verdict(&self, field: String, msg: String, warnings: &mut Vec<String>) -> Result<(), Rejection> {
        match self.policy {
            crate::config::VatMismatch::Quarantine => Err(Rejection::new(self.label, Some(&field), msg)),
            crate::config::VatMismatch::Warn => {
                warnings.push(format!("{}: {field}: {msg}", self.label));
                Ok(())
            }
        }
    }

    /// A row booked on an article: the article's rate must explain the shop's VAT (by amounts,
    /// see [`koppel_core::vat`]; by the stated percentage, exactly, when the shop gives no
    /// amount). Otherwise the message names the amounts, the rate that does explain them (or
    /// every rate tried) and the article's rate.
    fn article_row(
        &self,
        base: &str,
        shop: &ShopVat,
        article: &LineArticle,
        warnings: &mut Vec<String>,
    ) -> Result<(), Rejection> {
        if shop.row.is_none() && shop.percentage.is_none() {
            return Ok(());
        }
        let booked = std::slice::from_ref(&article.vat);
        if !vat::explaining(booked, shop, self.mode, self.rounding).is_empty() {
            return Ok(());
        }
        let code = &article.code;
        let booked_name = rate_name(&article.vat);
        let msg = match (
            &shop.row,
            vat::pick(&self.rates, shop, self.mode, self.rounding, None),
        ) {
            (Some(row), Ok(other)) => format!(
                "{}: that is {} VAT, but SnelStart books article {code} at {booked_name} (gives {:.2})",
                vat::describe(row, self.mode),
                rate_name(other),
                round_money(vat::rate_taxes(&article.vat, row, self.mode, self.rounding)[0], 2),
            ),
            (None, Ok(_)) | (None, Err(_)) => format!(
                "the shop charged {} % VAT, SnelStart's rate for article {code} is {} %",
                shop.percentage.unwrap_or_default().normalize(),
                article.vat.percentage.normalize()
            ),
            (Some(_), Err(u)) => format!("{u}; SnelStart books article {code} at {booked_name}"),
        };
        self.verdict(Self::field(base, shop), msg, warnings)
    }

    /// A row without an article (a priced text line): the rate is picked among the
    /// administration's rates by the amounts test; a row no rate explains is rejected.
    fn text_row(&self, base: &str, shop: &ShopVat) -> Result<VatRate, Rejection> {
        if shop.row.is_none() && shop.percentage.is_none() {
            // the shop says nothing: booked without VAT, as before
            return Ok(VatRate {
                percentage: Decimal::ZERO,
                kind: Some(VatKind::Geen),
            });
        }
        vat::pick(&self.rates, shop, self.mode, self.rounding, None)
            .cloned()
            .map_err(|u| Rejection::new(self.label, Some(&Self::field(base, shop)), u.to_string()))
    }
}

/// A priced line without an article is allowed only with `priced_text_lines`.
fn no_article(label: &str, field: &str, setting: &str, cfg: &OrdersConfig) -> Result<(), Rejection> {
    if cfg.priced_text_lines {
        Ok(())
    } else {
        Err(Rejection::new(
            label,
            Some(field),
            format!("no article to book it on: set {setting} (SnelStart needs an article for a line with an amount), or orders.priced_text_lines = true"),
        ))
    }
}

fn regel(
    artikel: Option<&LineArticle>,
    omschrijving: String,
    stuksprijs: Decimal,
    aantal: Decimal,
    totaal: Decimal,
) -> VerkooporderRegel {
    VerkooporderRegel {
        artikel: artikel.map(|a| IdRef::new(&a.id)),
        omschrijving,
        stuksprijs,
        aantal,
        kortings_percentage: Decimal::ZERO,
        totaal,
    }
}

/// A row of the order as it is booked: a line, a charge or the order discount, with the VAT
/// rate SnelStart books it at and the shop's VAT on it.
struct Booked<'a> {
    article: Option<&'a LineArticle>,
    /// `lines[i]`, `shipping_cost`, ...: where a correction line's name error points.
    field: String,
    name: String,
    quantity: Decimal,
    unit_price: Decimal,
    /// Row amount after discount in the order's tax mode.
    amount: Decimal,
    /// The VAT percentage SnelStart books the row at.
    pct: Decimal,
    /// The shop's VAT on the row, when it says.
    tax: Option<Decimal>,
    /// A line (priced by [`price_line`], may get a correction line) rather than a charge.
    is_line: bool,
}

/// A regel's (totaal, VAT percentage), as SnelStart totals them.
type RegelAmount = (Decimal, Decimal);

/// The regels for the booked rows, in the order's tax mode or, with `add_tax`, incl. the shop's
/// VAT on each row (for an exclusive order booked `Inclusief`); with the (totaal, VAT %) pairs
/// SnelStart totals.
fn regels_of(
    label: &str,
    rows: &[Booked<'_>],
    add_tax: bool,
    decimals: u32,
) -> Result<(Vec<VerkooporderRegel>, Vec<RegelAmount>), Rejection> {
    let mut regels = Vec::new();
    let mut amounts = Vec::new();
    for b in rows {
        let tax = if add_tax {
            b.tax.unwrap_or_default()
        } else {
            Decimal::ZERO
        };
        let amount = b.amount + tax;
        if !b.is_line {
            regels.push(regel(b.article, b.name.clone(), amount, Decimal::ONE, amount));
            amounts.push((amount, b.pct));
            continue;
        }
        let unit = if add_tax {
            round_money(
                b.unit_price * (Decimal::ONE + b.pct / Decimal::ONE_HUNDRED),
                decimals,
            )
        } else {
            b.unit_price
        };
        let p = price_line(b.quantity, unit, amount, decimals);
        regels.push(regel(
            b.article,
            b.name.clone(),
            p.stuksprijs,
            b.quantity,
            p.totaal,
        ));
        amounts.push((p.totaal, b.pct));
        if let Some(c) = p.correction.filter(|c| !c.is_zero()) {
            let text = fit(
                label,
                &format!("{}.name", b.field),
                "omschrijving",
                format!("Korting {}", b.name),
                limits::REGEL_OMSCHRIJVING,
            )?;
            regels.push(regel(b.article, text, c, Decimal::ONE, c));
            amounts.push((c, b.pct));
        }
    }
    Ok((regels, amounts))
}

/// Builds the verkooporder for an order and checks its VAT and total.
///
/// VAT is judged on amounts ([`koppel_core::vat`]): a line or charge on an article passes when
/// the article's SnelStart rate explains the shop's VAT amount under the order's rounding rule
/// (or, when the shop gives no amount, its stated percentage equals the rate exactly); a priced
/// text line gets the administration's rate that explains it; per-total orders are also judged
/// on the sum of their row taxes. The total SnelStart will compute must equal the shop's grand
/// total to the cent. An exclusive order whose per-row VAT SnelStart's per-rate rounding
/// cannot reproduce (a cent or so on orders with many rows) is booked `Inclusief` with each
/// regel incl. the shop's VAT, so its total is the shop's grand total.
pub fn order_to_verkooporder(o: &Order, inputs: &OrderInputs<'_>) -> Result<OrderPlan, Rejection> {
    let label = o.label();
    let cfg = inputs.config;
    let decimals = inputs.refs.price_decimals;
    if o.currency != Currency::eur() {
        return Err(Rejection::new(
            &label,
            Some("currency"),
            format!("{} orders cannot be booked: SnelStart works in EUR", o.currency),
        ));
    }
    let reference = fit(
        &label,
        "number",
        "orderreferentie",
        o.number.trim().to_owned(),
        limits::ORDERREFERENTIE,
    )?;
    if inputs.lines.len() != o.lines.len() {
        return Err(Rejection::new(
            &label,
            Some("lines"),
            "not every line has a resolved article",
        ));
    }
    let judge = VatJudge {
        label: &label,
        mode: o.tax_mode,
        rounding: o.vat_rounding,
        rates: inputs.refs.rates_on(order_date(o)),
        policy: cfg.vat_mismatch,
    };
    let mut warnings = Vec::new();
    let mut rows: Vec<Booked<'_>> = Vec::new();
    // the shop's rows with the rate each is booked at, for the per-total test
    let mut judged: Vec<(TaxedRow, VatRate)> = Vec::new();
    for (i, (line, art)) in o.lines.iter().zip(&inputs.lines).enumerate() {
        let base = format!("lines[{i}]");
        let shop = ShopVat::of_line(line);
        judge.article_row(&base, &shop, art, &mut warnings)?;
        if let Some(row) = shop.row {
            judged.push((row, art.vat.clone()));
        }
        let name = fit(
            &label,
            &format!("{base}.name"),
            "omschrijving",
            line.name.trim().to_owned(),
            limits::REGEL_OMSCHRIJVING,
        )?;
        rows.push(Booked {
            article: Some(art),
            field: base,
            name,
            quantity: line.quantity,
            unit_price: line.unit_price,
            amount: line.row_total,
            pct: art.vat.percentage,
            tax: line.tax,
            is_line: true,
        });
    }
    let charges = [
        (
            "shipping_cost",
            "orders.shipping_article",
            o.shipping_cost.as_ref(),
            inputs.shipping_article.as_ref(),
        ),
        (
            "payment_cost",
            "orders.payment_fee_article",
            o.payment_cost.as_ref(),
            inputs.payment_article.as_ref(),
        ),
    ];
    for (field, setting, charge, article) in charges {
        let Some(charge) = charge else { continue };
        if charge.amount.is_zero() {
            continue;
        }
        let shop = ShopVat::of_charge(charge);
        let rate = match article {
            Some(a) => {
                judge.article_row(field, &shop, a, &mut warnings)?;
                a.vat.clone()
            }
            None => {
                no_article(&label, field, setting, cfg)?;
                judge.text_row(field, &shop)?
            }
        };
        if let Some(row) = shop.row {
            judged.push((row, rate.clone()));
        }
        let text = fit(
            &label,
            &format!("{field}.description"),
            "omschrijving",
            charge.description.trim().to_owned(),
            limits::REGEL_OMSCHRIJVING,
        )?;
        rows.push(Booked {
            article,
            field: field.to_owned(),
            name: text,
            quantity: Decimal::ONE,
            unit_price: charge.amount,
            amount: charge.amount,
            pct: rate.percentage,
            tax: charge.tax,
            is_line: false,
        });
    }
    let per_total: Vec<(TaxedRow, &VatRate)> = judged.iter().map(|(row, rate)| (*row, rate)).collect();
    if let Err(msg) = vat::check_per_total(&per_total, o.tax_mode, o.vat_rounding) {
        judge.verdict("tax_total".to_owned(), msg, &mut warnings)?;
    }
    if o.discount > Decimal::ZERO {
        let amount = -o.discount;
        let pct = match &inputs.discount_article {
            Some(a) => a.vat.percentage,
            None => {
                no_article(&label, "discount", "orders.discount_article", cfg)?;
                Decimal::ZERO
            }
        };
        rows.push(Booked {
            article: inputs.discount_article.as_ref(),
            field: "discount".to_owned(),
            name: "Korting".to_owned(),
            quantity: Decimal::ONE,
            unit_price: amount,
            amount,
            pct,
            tax: None,
            is_line: false,
        });
    }
    let grand_total = round_money(o.grand_total, 2);
    let (mut regels, amounts) = regels_of(&label, &rows, false, decimals)?;
    let mut mode = o.tax_mode;
    let mut total_incl = snelstart_total(&amounts, mode);
    // SnelStart rounds an exclusive order's VAT per rate; a shop rounding per row (or unit)
    // can differ by cents: book the shop's own incl. amounts instead, when it gave every one.
    let rebook = o.tax_mode == TaxMode::Exclusive
        && total_incl != grand_total
        && o.discount.is_zero()
        && rows.iter().all(|b| b.tax.is_some());
    if rebook {
        let (incl_regels, incl_amounts) = regels_of(&label, &rows, true, decimals)?;
        let incl_total = snelstart_total(&incl_amounts, TaxMode::Inclusive);
        if incl_total == grand_total {
            regels = incl_regels;
            mode = TaxMode::Inclusive;
            total_incl = incl_total;
        }
    }
    if total_incl != grand_total {
        return Err(Rejection::new(
            &label,
            Some("grand_total"),
            format!(
                "SnelStart would total {total_incl} incl. VAT, the shop's grand_total is {}",
                o.grand_total
            ),
        ));
    }
    let body = VerkooporderWrite {
        relatie: IdRef::new(&inputs.relatie_id),
        datum: format_send_time(o.created_at),
        proces_status: cfg.process_status.as_str().to_owned(),
        verkooporder_btw_ingave_model: match mode {
            TaxMode::Inclusive => "Inclusief",
            TaxMode::Exclusive => "Exclusief",
        }
        .to_owned(),
        omschrijving: cfg.description.replace("{number}", &o.number),
        orderreferentie: reference,
        memo: o.note.clone().filter(|n| !n.trim().is_empty()),
        afleveradres: o
            .shipping
            .as_ref()
            .map(|a| order_address(&label, "shipping", a, inputs.refs))
            .transpose()?,
        factuuradres: Some(order_address(&label, "billing", &o.billing, inputs.refs)?),
        regels,
    };
    Ok(OrderPlan {
        body,
        total_incl,
        warnings,
    })
}

/// The order total incl. VAT as SnelStart computes it from regel totals: inclusive orders sum
/// the totals; exclusive orders add VAT per rate (each rounded to cents). Half away from zero.
pub fn snelstart_total(amounts: &[(Decimal, Decimal)], mode: TaxMode) -> Decimal {
    let sum: Decimal = amounts.iter().map(|(a, _)| *a).sum();
    match mode {
        TaxMode::Inclusive => round_money(sum, 2),
        TaxMode::Exclusive => {
            let mut by_rate: BTreeMap<Decimal, Decimal> = BTreeMap::new();
            for (a, pct) in amounts {
                *by_rate.entry(pct.normalize()).or_default() += *a;
            }
            let vat: Decimal = by_rate
                .iter()
                .map(|(pct, base)| round_money(*base * *pct / Decimal::ONE_HUNDRED, 2))
                .sum();
            round_money(sum, 2) + vat
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Invoices -> open amounts and payment status
// ---------------------------------------------------------------------------------------------

fn invoice_label(f: &Verkoopfactuur) -> String {
    match (&f.factuurnummer, &f.id) {
        (Some(n), _) => format!("invoice {n}"),
        (None, Some(id)) => format!("invoice {id}"),
        _ => "invoice (without number or id)".to_owned(),
    }
}

/// An invoice as the open amount of a shop order.
pub fn invoice_to_open_amount(f: &Verkoopfactuur, order_number: &str) -> Result<OpenAmount, Rejection> {
    let label = invoice_label(f);
    let number = non_empty(f.factuurnummer.as_deref())
        .ok_or_else(|| Rejection::new(&label, Some("factuurnummer"), "missing"))?;
    let total = f
        .factuur_bedrag
        .ok_or_else(|| Rejection::new(&label, Some("factuurBedrag"), "missing"))?;
    let open = f
        .openstaand_saldo
        .ok_or_else(|| Rejection::new(&label, Some("openstaandSaldo"), "missing"))?;
    let due_date = match f.verval_datum.as_deref() {
        Some(s) => Some(
            parse_date(s)
                .ok_or_else(|| Rejection::new(&label, Some("vervalDatum"), format!("{s:?} is not a date")))?,
        ),
        None => None,
    };
    Ok(OpenAmount {
        order_number: order_number.to_owned(),
        invoice_number: number,
        invoice_amount: Money::eur(total),
        open_amount: Money::eur(open),
        due_date,
        modified: modified_of(&label, f.modified_on.as_deref())?,
    })
}

/// An invoice as the payment status of a shop order: paid when nothing is open.
pub fn invoice_to_payment(f: &Verkoopfactuur, order_number: &str) -> Result<PaymentStatus, Rejection> {
    let oa = invoice_to_open_amount(f, order_number)?;
    Ok(PaymentStatus {
        order_number: oa.order_number,
        invoice_number: oa.invoice_number,
        paid: oa.open_amount.amount.is_zero(),
        paid_amount: Money::eur(oa.invoice_amount.amount - oa.open_amount.amount),
        modified: oa.modified,
    })
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
