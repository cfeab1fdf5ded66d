//! Products: a canonical product as the bridge's upsert item, and what differs from the shop.

use std::collections::{BTreeMap, BTreeSet};

use koppel_core::model::convert_tax_mode;
use koppel_core::{FieldChange, Product, Record, Rejection, TaxMode};
use rust_decimal::Decimal;
use serde_json::json;

use crate::models::{ShopProduct, UpsertItem};

/// A URL keyword: `<name>-<sku>`, lower case, letters and digits joined by `-`.
pub fn keyword(name: &str, sku: &str) -> String {
    let mut out = String::new();
    for c in format!("{name} {sku}").chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(200).collect()
}

/// What a product needs from the config to be written.
#[derive(Debug, Clone)]
pub struct ProductRules {
    /// VAT percentage (normalised) -> tax_class_id.
    pub tax_classes: BTreeMap<String, u32>,
    /// Kilogram's weight class.
    pub weight_class_id: u32,
    /// Write a keyword.
    pub seo_keyword: bool,
}

/// A product as the bridge's upsert item; the error names the field.
pub fn upsert_item(p: &Product, rules: &ProductRules) -> Result<UpsertItem, Rejection> {
    p.validate().map_err(Rejection::from)?;
    let label = p.label();
    let Some(vat) = &p.vat else {
        return Err(Rejection::new(
            label,
            Some("vat"),
            "the article has no VAT rate, OpenCart needs a tax class",
        ));
    };
    let key = vat.percentage.normalize().to_string();
    let Some(class) = rules.tax_classes.get(&key) else {
        return Err(Rejection::new(
            label,
            Some("vat"),
            format!("no tax class for VAT {key}% in products.tax_classes"),
        ));
    };
    // OpenCart stores prices excl. tax with 4 decimals (decimal(15,4)).
    let price = convert_tax_mode(p.price.amount, p.tax_mode, TaxMode::Exclusive, vat, 4);
    Ok(UpsertItem {
        code: p.sku.to_string(),
        name: p.name.clone(),
        price: format!("{:.4}", price),
        tax_class_id: *class,
        weight: p.weight.map(|w| format!("{:.8}", w)),
        weight_class_id: p.weight.map(|_| rules.weight_class_id),
        status: p.active,
        categories: (!p.category.is_empty()).then(|| vec![p.category.clone()]),
        keyword: rules.seo_keyword.then(|| keyword(&p.name, p.sku.as_str())),
    })
}

/// The fields of `want` that differ from what the shop holds. Categories compare as the ids
/// the bridge resolved the item's name paths to (`wanted_categories`; names may be in another
/// language than the shop's default); a product may be in more categories than koppel gives
/// it: only missing ones count.
pub fn product_changes(
    have: &ShopProduct,
    want: &UpsertItem,
    wanted_categories: Option<&[u64]>,
) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut diff = |path: &str, before: serde_json::Value, after: serde_json::Value| {
        if before != after {
            out.push(FieldChange {
                path: path.into(),
                before,
                after,
            });
        }
    };
    diff("name", json!(have.name), json!(want.name));
    let dec = |s: &str| s.parse::<Decimal>().ok().map(|d| d.normalize().to_string());
    diff(
        "price",
        json!(have.price.map(|p| p.normalize().to_string())),
        json!(dec(&want.price)),
    );
    diff("tax_class_id", json!(have.tax_class_id), json!(want.tax_class_id));
    if let Some(w) = &want.weight {
        diff(
            "weight",
            json!(have.weight.map(|p| p.normalize().to_string())),
            json!(dec(w)),
        );
        diff(
            "weight_class_id",
            json!(have.weight_class_id),
            json!(want.weight_class_id),
        );
    }
    diff("status", json!(have.status == 1), json!(want.status));
    if let (Some(cats), Some(ids)) = (&want.categories, wanted_categories) {
        let held: BTreeSet<&u64> = have.category_ids.iter().collect();
        if ids.iter().any(|c| !held.contains(c)) {
            diff("categories", json!(have.categories), json!(cats));
        }
    }
    if let Some(k) = &want.keyword {
        if have.keyword.is_none() {
            diff("keyword", json!(have.keyword), json!(k));
        }
    }
    out
}
