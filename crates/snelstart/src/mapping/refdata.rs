//! Reference data read once per run: article groups, VAT rates, countries, company settings.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use koppel_core::{VatKind, VatRate};
use rust_decimal::Decimal;

use crate::models::{Artikel, BtwTarief, CompanyInfo, Land, Omzetgroep};

use super::{parse_timestamp, utc_to_local};

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

pub(super) fn parse_date(s: &str) -> Option<NaiveDate> {
    parse_timestamp(s)
        .map(|t| utc_to_local(t).date())
        .or_else(|| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok())
}

/// Today in the Netherlands.
pub fn today_nl() -> NaiveDate {
    utc_to_local(Utc::now()).date()
}
