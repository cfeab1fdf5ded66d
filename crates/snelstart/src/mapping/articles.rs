//! Articles -> products and stock levels.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use koppel_core::{Money, Product, Record, Rejection, Sku, StockLevel, TaxMode};
use rust_decimal::Decimal;

use crate::config::{CategorySource, ProductsConfig, StockKind, WeightSource, WeightUnit};
use crate::models::Artikel;

use super::{parse_decimal_nl, parse_timestamp, RefData};

pub(super) fn article_label(a: &Artikel) -> String {
    match (&a.artikelcode, &a.id) {
        (Some(code), _) => format!("article {code}"),
        (None, Some(id)) => format!("article {id}"),
        (None, None) => "article (without code or id)".to_owned(),
    }
}

pub(super) fn extra<'a>(a: &'a Artikel, name: &str) -> Option<&'a str> {
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

pub(super) fn sku_of(a: &Artikel) -> Result<Sku, Rejection> {
    let label = article_label(a);
    let code = a
        .artikelcode
        .as_deref()
        .ok_or_else(|| Rejection::new(&label, Some("artikelcode"), "missing"))?;
    Sku::new(code).map_err(|e| Rejection::new(&label, Some("artikelcode"), e.0))
}

pub(super) fn modified_of(a_label: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, Rejection> {
    match raw {
        None => Ok(None),
        Some(s) => parse_timestamp(s)
            .map(Some)
            .ok_or_else(|| Rejection::new(a_label, Some("modifiedOn"), format!("{s:?} is not a date-time"))),
    }
}

pub(super) fn weight_of(a: &Artikel, w: &WeightSource, label: &str) -> Result<Option<Decimal>, Rejection> {
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

pub(super) fn category_of(a: &Artikel, c: &CategorySource, refs: &RefData) -> Vec<String> {
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
