//! Wire types of the SnelStart B2B API v2 (`shared/specs/snelstart-b2b-api-v2.yaml`). Every
//! response field is optional: SnelStart leaves fields null or out, and a 201 may come with an
//! empty body. Dates stay strings here (no offset, Dutch local time) and are parsed in
//! [`crate::mapping`], so a bad date rejects one record, not a page. Amounts are read as
//! [`Decimal`] from JSON numbers or strings; amounts we send are written as JSON numbers.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A reference to another object: `{ "id": "<guid>", "uri": "…" }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IdRef {
    /// The GUID.
    #[serde(default)]
    pub id: Option<String>,
}

impl IdRef {
    /// A reference to `id`.
    pub fn new(id: impl Into<String>) -> Self {
        IdRef { id: Some(id.into()) }
    }
}

/// The token endpoint's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: Option<String>,
    /// Lifetime in seconds (a number, sometimes a string).
    #[serde(default)]
    pub expires_in: Option<serde_json::Value>,
}

/// `extraVelden[]` of an article, `extraVeldenKlant[]` of a relatie.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtraVeld {
    /// Field name.
    #[serde(default)]
    pub naam: Option<String>,
    /// Value, always text.
    #[serde(default)]
    pub waarde: Option<String>,
}

/// `ArtikelModel` as read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artikel {
    /// GUID.
    #[serde(default)]
    pub id: Option<String>,
    /// The article code (SKU).
    #[serde(default)]
    pub artikelcode: Option<String>,
    /// Description.
    #[serde(default)]
    pub omschrijving: Option<String>,
    /// Article group (carries the VAT kind).
    #[serde(default)]
    pub artikel_omzetgroep: Option<IdRef>,
    /// Sales price (excl. VAT unless the administration says otherwise).
    #[serde(default)]
    pub verkoopprijs: Option<Decimal>,
    /// Unit.
    #[serde(default)]
    pub eenheid: Option<String>,
    /// Last change, Dutch local time without offset.
    #[serde(default)]
    pub modified_on: Option<String>,
    /// Not sellable any more.
    #[serde(default)]
    pub is_non_actief: Option<bool>,
    /// Stock is tracked.
    #[serde(default)]
    pub voorraad_controle: Option<bool>,
    /// Stock on hand.
    #[serde(default)]
    pub technische_voorraad: Option<Decimal>,
    /// Stock on hand minus reserved.
    #[serde(default)]
    pub vrije_voorraad: Option<Decimal>,
    /// Custom fields.
    #[serde(default)]
    pub extra_velden: Option<Vec<ExtraVeld>>,
}

/// `ArtikelOmzetGroepModel`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Omzetgroep {
    /// GUID.
    #[serde(default)]
    pub id: Option<String>,
    /// Group number.
    #[serde(default)]
    pub nummer: Option<i64>,
    /// Description.
    #[serde(default)]
    pub omschrijving: Option<String>,
    /// `Geen`, `Laag`, `Hoog`, `Overig`.
    #[serde(default)]
    pub verkoop_nederland_btw_soort: Option<String>,
}

/// `BtwTariefModel`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BtwTarief {
    /// `Geen`, `Laag`, `Hoog`, `Overig`.
    #[serde(default)]
    pub btw_soort: Option<String>,
    /// Percentage.
    #[serde(default)]
    pub btw_percentage: Option<Decimal>,
    /// Valid from (inclusive).
    #[serde(default)]
    pub datum_vanaf: Option<String>,
    /// Valid until (inclusive); none = open.
    #[serde(default)]
    pub datum_tot_en_met: Option<String>,
}

/// `LandModel`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Land {
    /// GUID.
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    #[serde(default)]
    pub naam: Option<String>,
    /// ISO 3166-1 alpha-2 code.
    #[serde(rename = "landcodeISO", default)]
    pub landcode_iso: Option<String>,
    /// SnelStart's own code.
    #[serde(default)]
    pub landcode: Option<String>,
}

/// The parts of `CompanyInfoModel` the connector uses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyInfo {
    /// Tenant GUID.
    #[serde(default)]
    pub administratie_identifier: Option<String>,
    /// Administration name.
    #[serde(default)]
    pub administratie_naam: Option<String>,
    /// Whether article sales prices exclude VAT.
    #[serde(default)]
    pub verkoopprijs_artikelbestand_exclusief_btw: Option<bool>,
    /// Decimals of article prices.
    #[serde(default)]
    pub aantal_decimalen_artikelprijzen: Option<u32>,
}

/// `AdresModel`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Adres {
    /// Contact person, ≤ 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contactpersoon: Option<String>,
    /// Street and house number, ≤ 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub straat: Option<String>,
    /// Postal code, ≤ 25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// City, ≤ 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaats: Option<String>,
    /// Country by GUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub land: Option<IdRef>,
}

/// `RelatieModel` as read (the fields koppel compares; the full object is kept as JSON for
/// updates, since a PUT replaces it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relatie {
    /// GUID.
    #[serde(default)]
    pub id: Option<String>,
    /// `Klant`, `Leverancier`, `Eigen`.
    #[serde(default)]
    pub relatiesoort: Option<Vec<String>>,
    /// Number.
    #[serde(default)]
    pub relatiecode: Option<i64>,
    /// Name.
    #[serde(default)]
    pub naam: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Inactive ("deleted").
    #[serde(default)]
    pub nonactief: Option<bool>,
}

/// The fields of `RelatieWriteModel` koppel writes. Fields left `None` are not sent on create
/// and keep their value on update.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelatieWrite {
    /// Always `["Klant"]`.
    pub relatiesoort: Vec<String>,
    /// Name, ≤ 50.
    pub naam: String,
    /// Address of establishment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vestigings_adres: Option<Adres>,
    /// Telephone, ≤ 25.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telefoon: Option<String>,
    /// E-mail, ≤ 250.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// VAT number, 2–50 letters/digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub btw_nummer: Option<String>,
    /// Chamber of commerce number, ≤ 12.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kvk_nummer: Option<String>,
}

/// `VerkooporderRegelModel` as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerkooporderRegel {
    /// Article; none for a text line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artikel: Option<IdRef>,
    /// Description, ≤ 250.
    pub omschrijving: String,
    /// Unit price (in the order's VAT mode).
    #[serde(serialize_with = "koppel_core::wire::decimal::ser")]
    pub stuksprijs: Decimal,
    /// Quantity.
    #[serde(serialize_with = "koppel_core::wire::decimal::ser")]
    pub aantal: Decimal,
    /// Discount percentage (always 0: discounts are priced into `stuksprijs` or on lines).
    #[serde(serialize_with = "koppel_core::wire::decimal::ser")]
    pub kortings_percentage: Decimal,
    /// Line total.
    #[serde(serialize_with = "koppel_core::wire::decimal::ser")]
    pub totaal: Decimal,
}

/// `VerkoopOrderModel` as sent on create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerkooporderWrite {
    /// The buyer (a Klant).
    pub relatie: IdRef,
    /// Order date, `yyyy-MM-ddTHH:mm:ss` Dutch local time.
    pub datum: String,
    /// Document status.
    pub proces_status: String,
    /// `Inclusief` or `Exclusief`.
    pub verkooporder_btw_ingave_model: String,
    /// Description.
    pub omschrijving: String,
    /// The shop order number (≤ 50): the exactly-once key.
    pub orderreferentie: String,
    /// Free text on the order (no length limit in the spec): the order's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// Delivery address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub afleveradres: Option<Adres>,
    /// Invoice address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factuuradres: Option<Adres>,
    /// Lines.
    pub regels: Vec<VerkooporderRegel>,
}

/// `VerkoopOrderModel` as read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verkooporder {
    /// GUID.
    #[serde(default)]
    pub id: Option<String>,
    /// Number assigned by SnelStart.
    #[serde(default)]
    pub nummer: Option<i64>,
    /// The shop order number, if koppel (or someone) set it.
    #[serde(default)]
    pub orderreferentie: Option<String>,
    /// Total excl. VAT, computed by SnelStart.
    #[serde(default)]
    pub totaal_exclusief_btw: Option<Decimal>,
    /// Total incl. VAT, computed by SnelStart.
    #[serde(default)]
    pub totaal_inclusief_btw: Option<Decimal>,
    /// Last change.
    #[serde(default)]
    pub modified_on: Option<String>,
}

/// `VerkoopfactuurModel`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verkoopfactuur {
    /// GUID.
    #[serde(default)]
    pub id: Option<String>,
    /// Invoice number, ≤ 25.
    #[serde(default)]
    pub factuurnummer: Option<String>,
    /// Due date.
    #[serde(default)]
    pub verval_datum: Option<String>,
    /// Invoice total.
    #[serde(default)]
    pub factuur_bedrag: Option<Decimal>,
    /// Still to be paid.
    #[serde(default)]
    pub openstaand_saldo: Option<Decimal>,
    /// Orders invoiced.
    #[serde(default)]
    pub verkoop_orders: Option<Vec<IdRef>>,
    /// Last change.
    #[serde(default)]
    pub modified_on: Option<String>,
}

/// SnelStart's validation error item: `{ "errorCode": "REL-0006", "message": "…" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    /// `RES-nnnn`.
    #[serde(default, rename = "errorCode", alias = "ErrorCode", alias = "code")]
    pub error_code: Option<String>,
    /// Dutch message.
    #[serde(default, alias = "Message")]
    pub message: Option<String>,
}
