//! Products: canonical product -> the payloads the shop gets; product search matching.

use std::collections::BTreeMap;

use koppel_core::model::convert_tax_mode;
use koppel_core::{Product, Rejection};
use rust_decimal::Decimal;

use crate::models::{CategoryLink, CustomAttribute, PayloadExtension, ProductPayload, WireProduct};

use super::order_tax_mode;

/// The shop-side rules a product is mapped with.
#[derive(Debug, Clone, Default)]
pub struct ProductRules {
    /// Catalog prices include VAT.
    pub prices_include_tax: bool,
    /// Decimals of a converted price.
    pub price_decimals: u32,
    /// Normalised VAT percentage -> tax class id; empty: tax classes are not managed.
    pub tax_classes: BTreeMap<String, u32>,
}

/// What the shop should hold for a product, before ids are resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredProduct {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Price in the shop's tax mode.
    pub price: Decimal,
    /// 1 enabled, 2 disabled.
    pub status: u8,
    /// Weight, when mapped.
    pub weight: Option<Decimal>,
    /// Tax class, when tax classes are managed.
    pub tax_class_id: Option<u32>,
    /// Category path under the root category (empty: categories are not managed).
    pub category: Vec<String>,
    /// Attribute code -> value (labels for select attributes).
    pub attributes: BTreeMap<String, String>,
}

/// Maps a product to what the shop should hold. The price is converted to the shop's tax mode
/// with the article's VAT rate, rounded half away from zero to `price_decimals`; a product
/// without a VAT rate, or whose rate has no tax class, is rejected naming `vat`.
pub fn desired_product(p: &Product, rules: &ProductRules) -> Result<DesiredProduct, Rejection> {
    let record = format!("product {}", p.sku);
    let shop_mode = order_tax_mode(rules.prices_include_tax);
    let price = if p.tax_mode == shop_mode {
        p.price.amount
    } else {
        let vat = p.vat.as_ref().ok_or_else(|| {
            Rejection::new(
                &record,
                Some("vat"),
                "no VAT rate: the price cannot be converted to the shop's tax mode",
            )
        })?;
        convert_tax_mode(p.price.amount, p.tax_mode, shop_mode, vat, rules.price_decimals)
    };
    let tax_class_id = if rules.tax_classes.is_empty() {
        None
    } else {
        let vat = p
            .vat
            .as_ref()
            .ok_or_else(|| Rejection::new(&record, Some("vat"), "no VAT rate, so no tax class"))?;
        let key = vat.percentage.normalize().to_string();
        Some(*rules.tax_classes.get(&key).ok_or_else(|| {
            Rejection::new(
                &record,
                Some("vat"),
                format!("VAT rate {key}% has no tax class in products.tax_classes"),
            )
        })?)
    };
    Ok(DesiredProduct {
        sku: p.sku.to_string(),
        name: p.name.trim().to_owned(),
        price,
        status: if p.active { 1 } else { 2 },
        weight: p.weight,
        tax_class_id,
        category: p.category.iter().map(|c| c.trim().to_owned()).collect(),
        attributes: p.attributes.clone(),
    })
}

/// Which fields differ between two desired states.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Name differs.
    pub name: bool,
    /// Price differs.
    pub price: bool,
    /// Status differs.
    pub status: bool,
    /// Weight differs (and is set now).
    pub weight: bool,
    /// Tax class differs (and is set now).
    pub tax_class: bool,
    /// Category path differs (and is set now).
    pub category: bool,
    /// Attribute codes whose value differs (set now).
    pub attributes: Vec<String>,
}

impl Changes {
    /// Nothing differs.
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

impl DesiredProduct {
    /// The fields that differ from what was written before. Fields koppel no longer maps
    /// (e.g. a weight that became unset) are left alone in the shop.
    pub fn changes_since(&self, previous: &DesiredProduct) -> Changes {
        Changes {
            name: self.name != previous.name,
            price: self.price != previous.price,
            status: self.status != previous.status,
            weight: self.weight.is_some() && self.weight != previous.weight,
            tax_class: self.tax_class_id.is_some() && self.tax_class_id != previous.tax_class_id,
            category: !self.category.is_empty() && self.category != previous.category,
            attributes: self
                .attributes
                .iter()
                .filter(|(k, v)| previous.attributes.get(*k) != Some(v))
                .map(|(k, _)| k.clone())
                .collect(),
        }
    }
}

/// Ids resolved in the shop for a desired product.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolved {
    /// The category of the path's last element.
    pub category_id: Option<u64>,
    /// Attribute code -> value as sent (option id for select attributes).
    pub attributes: BTreeMap<String, String>,
}

pub(super) fn custom(code: &str, value: String) -> CustomAttribute {
    CustomAttribute {
        attribute_code: code.to_owned(),
        value: serde_json::Value::String(value),
    }
}

/// A write of only the changed fields (after a previous write whose result is known). When the
/// category changed, `links` is the new full set of category links.
pub fn payload_for_changes(
    d: &DesiredProduct,
    r: &Resolved,
    changes: &Changes,
    links: Option<Vec<u64>>,
) -> ProductPayload {
    let mut custom_attributes = Vec::new();
    if changes.tax_class {
        if let Some(t) = d.tax_class_id {
            custom_attributes.push(custom("tax_class_id", t.to_string()));
        }
    }
    for code in &changes.attributes {
        if let Some(v) = r.attributes.get(code) {
            custom_attributes.push(custom(code, v.clone()));
        }
    }
    ProductPayload {
        sku: d.sku.clone(),
        name: changes.name.then(|| d.name.clone()),
        price: changes.price.then_some(d.price),
        status: changes.status.then_some(d.status),
        weight: if changes.weight { d.weight } else { None },
        extension_attributes: links.filter(|_| changes.category).map(link_payload),
        custom_attributes,
        ..Default::default()
    }
}

pub(super) fn link_payload(ids: Vec<u64>) -> PayloadExtension {
    PayloadExtension {
        category_links: ids
            .into_iter()
            .map(|category_id| CategoryLink {
                position: 0,
                category_id,
            })
            .collect(),
    }
}

/// The category links after moving a product from `old` (koppel's earlier category, if any)
/// to `new`: links the merchant added by hand stay.
pub fn merge_links(current: &[u64], old: Option<u64>, new: u64) -> Vec<u64> {
    let mut out: Vec<u64> = current
        .iter()
        .copied()
        .filter(|c| Some(*c) != old || *c == new)
        .collect();
    if !out.contains(&new) {
        out.push(new);
    }
    out
}

/// A write of the fields that differ from the product as the shop has it; `old_category` is
/// koppel's previous category, whose link is replaced.
pub fn payload_against(
    d: &DesiredProduct,
    r: &Resolved,
    current: &WireProduct,
    old_category: Option<u64>,
) -> ProductPayload {
    let mut custom_attributes = Vec::new();
    if let Some(t) = d.tax_class_id {
        if current.attribute("tax_class_id").as_deref() != Some(t.to_string().as_str()) {
            custom_attributes.push(custom("tax_class_id", t.to_string()));
        }
    }
    for (code, v) in &r.attributes {
        if current.attribute(code).as_deref() != Some(v.as_str()) {
            custom_attributes.push(custom(code, v.clone()));
        }
    }
    let links = r.category_id.and_then(|new| {
        let cur = current.category_ids();
        let merged = merge_links(&cur, old_category, new);
        let (mut a, mut b) = (cur, merged.clone());
        a.sort_unstable();
        b.sort_unstable();
        (a != b).then_some(merged)
    });
    ProductPayload {
        sku: d.sku.clone(),
        name: (current.name.as_deref().map(str::trim) != Some(d.name.as_str())).then(|| d.name.clone()),
        price: (current.price != Some(d.price)).then_some(d.price),
        status: (current.status != Some(u64::from(d.status))).then_some(d.status),
        weight: d.weight.filter(|w| current.weight != Some(*w)),
        extension_attributes: links.map(link_payload),
        custom_attributes,
        ..Default::default()
    }
}

/// The full body that creates a product.
pub fn create_payload(
    d: &DesiredProduct,
    r: &Resolved,
    attribute_set_id: u32,
    visibility: u8,
) -> ProductPayload {
    let mut custom_attributes = Vec::new();
    if let Some(t) = d.tax_class_id {
        custom_attributes.push(custom("tax_class_id", t.to_string()));
    }
    for (code, v) in &r.attributes {
        custom_attributes.push(custom(code, v.clone()));
    }
    ProductPayload {
        sku: d.sku.clone(),
        name: Some(d.name.clone()),
        attribute_set_id: Some(attribute_set_id),
        type_id: Some("simple".into()),
        price: Some(d.price),
        status: Some(d.status),
        visibility: Some(visibility),
        weight: d.weight,
        extension_attributes: r.category_id.map(|c| link_payload(vec![c])),
        custom_attributes,
    }
}

/// Matches the items of one product search (`sku` `in` the requested SKUs) to the requested
/// SKUs: `Some(p)` the shop has it, `None` it certainly has not. A SKU missing from the map is
/// unknown and must be read on its own. Matching is exact, else ignoring ASCII case (as the
/// shop's SKU lookup). Absence is only concluded when the search is complete and fully
/// understood: every item parsed (`found` holds `None` for one that did not), as many items as
/// `total_count`, and each item matched to a requested SKU.
pub fn match_search(
    requested: &[&str],
    found: Vec<Option<WireProduct>>,
    total_count: u64,
) -> BTreeMap<String, Option<WireProduct>> {
    let mut out: BTreeMap<String, Option<WireProduct>> = BTreeMap::new();
    let mut sure = u64::try_from(found.len()).is_ok_and(|n| n == total_count);
    for item in found {
        let Some(p) = item else {
            sure = false;
            continue;
        };
        let hit = requested
            .iter()
            .find(|r| **r == p.sku)
            .or_else(|| requested.iter().find(|r| r.eq_ignore_ascii_case(&p.sku)));
        match hit {
            Some(r) if !out.contains_key(*r) => {
                out.insert((*r).to_owned(), Some(p));
            }
            _ => sure = false,
        }
    }
    if sure {
        for r in requested {
            out.entry((*r).to_owned()).or_insert(None);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use koppel_core::{Money, Sku, TaxMode, VatKind, VatRate};
    use rust_decimal_macros::dec;

    fn wire_product(sku: &str) -> WireProduct {
        serde_json::from_value(serde_json::json!({"sku": sku, "name": "x"})).unwrap()
    }

    #[test]
    fn search_results_are_matched_to_requested_skus() {
        let req = ["KP-1", "kp-2", "KP-3"];
        let m = match_search(
            &req,
            vec![Some(wire_product("KP-1")), Some(wire_product("KP-2"))],
            2,
        );
        assert_eq!(m["KP-1"].as_ref().unwrap().sku, "KP-1");
        // matched ignoring case, as Magento's own lookup does
        assert_eq!(m["kp-2"].as_ref().unwrap().sku, "KP-2");
        assert!(m["KP-3"].is_none(), "complete search: KP-3 is absent");
        assert_eq!(m.len(), 3);

        // incomplete (fewer items than total_count): absence is not concluded
        let m = match_search(&req, vec![Some(wire_product("KP-1"))], 2);
        assert_eq!(m.len(), 1);
        assert!(m["KP-1"].is_some());
        // an item that could not be parsed, or one matching nothing: the same
        let m = match_search(&req, vec![Some(wire_product("KP-1")), None], 2);
        assert_eq!(m.len(), 1);
        let m = match_search(
            &req,
            vec![Some(wire_product("KP-1")), Some(wire_product("KP-1é"))],
            2,
        );
        assert_eq!(m.len(), 1);
        // nothing found, complete: all absent
        let m = match_search(&req, vec![], 0);
        assert!(m.values().all(Option::is_none) && m.len() == 3);
    }

    fn product() -> Product {
        Product {
            sku: Sku::new("KP-0001").unwrap(),
            name: "Koffiebonen".into(),
            price: Money::eur(dec!(8.26)),
            tax_mode: TaxMode::Exclusive,
            vat: Some(VatRate::new(dec!(21.00), Some(VatKind::Hoog)).unwrap()),
            active: true,
            unit: None,
            weight: Some(dec!(0.5)),
            category: vec!["Koffie".into(), "Bonen".into()],
            attributes: [("color".to_string(), "Rood".to_string())].into(),
            source_id: None,
            modified: None,
        }
    }

    fn rules(incl: bool) -> ProductRules {
        ProductRules {
            prices_include_tax: incl,
            price_decimals: 2,
            tax_classes: [("21".to_string(), 2), ("9".to_string(), 5)].into(),
        }
    }

    #[test]
    fn product_price_follows_shop_tax_mode_and_tax_class_table() {
        let d = desired_product(&product(), &rules(true)).unwrap();
        assert_eq!(d.price, dec!(9.99)); // 8.26 * 1.21 = 9.9946 -> 9.99
        assert_eq!(d.tax_class_id, Some(2));
        assert_eq!(d.status, 1);
        let d = desired_product(&product(), &rules(false)).unwrap();
        assert_eq!(d.price, dec!(8.26));
        let mut p = product();
        p.vat = Some(VatRate::new(dec!(6), None).unwrap());
        let r = desired_product(&p, &rules(false)).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("vat"));
        assert!(r.message.contains("6%"), "{r}");
        let mut p = product();
        p.vat = None;
        assert_eq!(
            desired_product(&p, &rules(true)).unwrap_err().field.as_deref(),
            Some("vat")
        );
        p.active = false;
        let no_classes = ProductRules {
            tax_classes: BTreeMap::new(),
            ..rules(false)
        };
        let d = desired_product(&p, &no_classes).unwrap();
        assert_eq!((d.tax_class_id, d.status), (None, 2));
    }

    #[test]
    fn only_changed_fields_are_sent() {
        let prev = desired_product(&product(), &rules(true)).unwrap();
        assert!(prev.changes_since(&prev).is_empty());
        let mut p = product();
        p.price = Money::eur(dec!(9.00));
        p.attributes.insert("color".into(), "Blauw".into());
        let d = desired_product(&p, &rules(true)).unwrap();
        let ch = d.changes_since(&prev);
        assert_eq!(
            ch,
            Changes {
                price: true,
                attributes: vec!["color".into()],
                ..Default::default()
            }
        );
        let r = Resolved {
            category_id: Some(5),
            attributes: [("color".to_string(), "52".to_string())].into(),
        };
        let payload = payload_for_changes(&d, &r, &ch, None);
        assert_eq!(
            serde_json::to_value(&payload).unwrap(),
            serde_json::json!({"sku": "KP-0001", "price": 10.89,
                "custom_attributes": [{"attribute_code": "color", "value": "52"}]})
        );
    }

    #[test]
    fn payload_against_current_product() {
        let d = desired_product(&product(), &rules(true)).unwrap();
        let r = Resolved {
            category_id: Some(5),
            attributes: [("color".to_string(), "52".to_string())].into(),
        };
        let current: WireProduct = serde_json::from_value(serde_json::json!({
            "id": 1, "sku": "KP-0001", "name": "Koffiebonen", "price": 9.99, "status": 1, "weight": "0.5000",
            "extension_attributes": {"category_links": [{"position": 0, "category_id": "5"}]},
            "custom_attributes": [{"attribute_code": "tax_class_id", "value": "2"},
                                  {"attribute_code": "color", "value": "52"}]
        }))
        .unwrap();
        assert!(!payload_against(&d, &r, &current, None).has_changes());
        let current: WireProduct = serde_json::from_value(serde_json::json!({
            "sku": "KP-0001", "name": "Oud", "price": "9.99", "status": 2,
            "extension_attributes": {"category_links": [{"category_id": "3"}, {"category_id": "9"}]},
            "custom_attributes": [{"attribute_code": "tax_class_id", "value": "5"}]
        }))
        .unwrap();
        let p = payload_against(&d, &r, &current, Some(3));
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"sku": "KP-0001", "name": "Koffiebonen", "status": 1, "weight": 0.5,
                "extension_attributes": {"category_links": [{"position": 0, "category_id": "9"},
                                                            {"position": 0, "category_id": "5"}]},
                "custom_attributes": [{"attribute_code": "tax_class_id", "value": "2"},
                                      {"attribute_code": "color", "value": "52"}]})
        );
        let c = create_payload(&d, &r, 4, 4);
        assert_eq!(c.type_id.as_deref(), Some("simple"));
        assert_eq!(
            (c.attribute_set_id, c.visibility, c.price),
            (Some(4), Some(4), Some(dec!(9.99)))
        );
    }
}
