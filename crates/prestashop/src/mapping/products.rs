//! Products out: what koppel wants a product to hold, and how it differs from the shop's.

use std::collections::BTreeMap;

use koppel_core::{FieldChange, Product, Rejection, TaxMode};
use rust_decimal::Decimal;
use serde_json::json;

use crate::models::Obj;

/// `Tools::str2url`-like slug: lower case, accents folded, every run of other characters one
/// `-`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let folded = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ä' => 'a',
            'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'Ò' | 'Ó' | 'Ô' | 'Ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
            'ç' | 'Ç' => 'c',
            'ñ' | 'Ñ' => 'n',
            other => other,
        };
        if folded.is_ascii_alphanumeric() {
            out.push(folded.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// How products are written.
#[derive(Debug, Clone, Default)]
pub struct ProductRules {
    /// VAT percentage (normalised) -> `id_tax_rules_group`.
    pub tax_rules: BTreeMap<String, u32>,
    /// Language koppel writes.
    pub language: u32,
}

/// What koppel wants a product to hold.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredProduct {
    /// `reference`.
    pub reference: String,
    /// `name` in koppel's language.
    pub name: String,
    /// `price`, tax-excluded, at most 6 decimals (PrestaShop's precision).
    pub price: Decimal,
    /// `id_tax_rules_group`, when the table is configured.
    pub tax_rules_group: Option<u32>,
    /// `weight`.
    pub weight: Option<Decimal>,
    /// `active`.
    pub active: bool,
    /// `description` in koppel's language, when mapped (`attributes.description`).
    pub description: Option<String>,
    /// The category path.
    pub category: Vec<String>,
}

/// What koppel wants for a product, or why it cannot be written.
pub fn desired_product(p: &Product, rules: &ProductRules) -> Result<DesiredProduct, Rejection> {
    let rec = format!("product {}", p.sku);
    let reject = |f: &str, m: String| Rejection::new(rec.as_str(), Some(f), m);
    let price = match p.tax_mode {
        TaxMode::Exclusive => p.price.amount,
        TaxMode::Inclusive => {
            let vat = p.vat.as_ref().ok_or_else(|| {
                reject(
                    "vat",
                    "an incl. VAT price needs the VAT rate to store it excl. VAT".into(),
                )
            })?;
            p.price.amount / vat.factor()
        }
    }
    .round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    .normalize();
    let tax_rules_group = if rules.tax_rules.is_empty() {
        None
    } else {
        let vat = p
            .vat
            .as_ref()
            .ok_or_else(|| reject("vat", "the product has no VAT rate".into()))?;
        let key = vat.percentage.normalize().to_string();
        Some(*rules.tax_rules.get(&key).ok_or_else(|| {
            reject(
                "vat",
                format!("no id_tax_rules_group for {key} % in products.tax_rules_groups"),
            )
        })?)
    };
    if p.sku.as_str().contains(['<', '>', ';', '=', '{', '}']) {
        // Validate::isReference: /^[^<>;={}]*$/u
        return Err(reject(
            "sku",
            "PrestaShop references cannot contain < > ; = { }".into(),
        ));
    }
    Ok(DesiredProduct {
        reference: p.sku.to_string(),
        name: p.name.trim().to_owned(),
        price,
        tax_rules_group,
        weight: p.weight.map(|w| w.normalize()),
        active: p.active,
        description: p.attributes.get("description").cloned(),
        category: p.category.clone(),
    })
}

fn dec_eq(current: Option<Decimal>, want: Decimal) -> bool {
    current.unwrap_or_default().normalize() == want.normalize()
}

/// The fields of `current` (the shop's product, list shape) that differ from `want`, as
/// target-now -> new. `category` is the id of the wanted category (None: leave it).
pub fn product_changes(
    current: &Obj,
    want: &DesiredProduct,
    lang: u32,
    category: Option<u64>,
) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut push = |path: &str, before: serde_json::Value, after: serde_json::Value| {
        out.push(FieldChange {
            path: path.into(),
            before,
            after,
        })
    };
    let name = current.lang("name", lang).unwrap_or_default();
    if name.trim() != want.name {
        push("name", json!(name), json!(want.name));
    }
    if current
        .lang("link_rewrite", lang)
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        push("link_rewrite", json!(""), json!(slug(&want.name)));
    }
    if !dec_eq(current.dec("price").ok().flatten(), want.price) {
        push(
            "price",
            json!(current.text("price")),
            json!(want.price.to_string()),
        );
    }
    if let Some(g) = want.tax_rules_group {
        if current.id("id_tax_rules_group").ok().flatten() != Some(u64::from(g)) {
            push(
                "id_tax_rules_group",
                json!(current.text("id_tax_rules_group")),
                json!(g.to_string()),
            );
        }
    }
    if let Some(w) = want.weight {
        if !dec_eq(current.dec("weight").ok().flatten(), w) {
            push("weight", json!(current.text("weight")), json!(w.to_string()));
        }
    }
    let active = current.text("active").as_deref() == Some("1");
    if active != want.active {
        push(
            "active",
            json!(current.text("active")),
            json!(if want.active { "1" } else { "0" }),
        );
    }
    if let Some(d) = &want.description {
        let cur = current.lang("description", lang).unwrap_or_default();
        if cur.trim() != d.trim() {
            push("description", json!(cur), json!(d));
        }
    }
    if let Some(cat) = category {
        let default = current.id("id_category_default").ok().flatten();
        let linked = current
            .assoc("categories")
            .iter()
            .any(|c| c.id("id").ok().flatten() == Some(cat));
        if default != Some(cat) || !linked {
            push(
                "id_category_default",
                json!(current.text("id_category_default")),
                json!(cat.to_string()),
            );
        }
    }
    out
}
