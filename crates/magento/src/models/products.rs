//! Products: as `GET /V1/products` returns them, and the body of a product write.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::lenient::{de_id, de_opt_id, ser_id_string};

/// `{attribute_code, value}` of a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomAttribute {
    /// Attribute code, e.g. `tax_class_id`.
    pub attribute_code: String,
    /// The value: option id for selects, text otherwise (arrays for multiselects).
    pub value: serde_json::Value,
}

/// A product category link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryLink {
    /// Position within the category.
    #[serde(default)]
    pub position: i64,
    /// Category id (Magento answers a string).
    #[serde(deserialize_with = "de_id", serialize_with = "ser_id_string")]
    pub category_id: u64,
}

/// Product extension attributes koppel reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProductExtension {
    /// Category assignments.
    #[serde(default)]
    pub category_links: Option<Vec<CategoryLink>>,
}

/// A product as `GET /V1/products/{sku}` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct WireProduct {
    /// Entity id.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub id: Option<u64>,
    /// SKU.
    pub sku: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Price.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub price: Option<Decimal>,
    /// 1 enabled, 2 disabled.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub status: Option<u64>,
    /// Visibility 1..4.
    #[serde(default, deserialize_with = "de_opt_id")]
    pub visibility: Option<u64>,
    /// Weight.
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    pub weight: Option<Decimal>,
    /// Extension attributes.
    #[serde(default)]
    pub extension_attributes: Option<ProductExtension>,
    /// Custom attributes.
    #[serde(default)]
    pub custom_attributes: Vec<CustomAttribute>,
}

impl WireProduct {
    /// A custom attribute's value as text (numbers as their text).
    pub fn attribute(&self, code: &str) -> Option<String> {
        self.custom_attributes
            .iter()
            .find(|a| a.attribute_code == code)
            .and_then(|a| value_text(&a.value))
    }

    /// The ids of the categories the product is in.
    pub fn category_ids(&self) -> Vec<u64> {
        self.extension_attributes
            .as_ref()
            .and_then(|e| e.category_links.as_ref())
            .map(|l| l.iter().map(|c| c.category_id).collect())
            .unwrap_or_default()
    }
}

/// A JSON scalar as text; arrays joined with `,` (multiselect).
pub fn value_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(if *b { "1".into() } else { "0".into() }),
        serde_json::Value::Array(a) => Some(a.iter().filter_map(value_text).collect::<Vec<_>>().join(",")),
        _ => None,
    }
}

/// The body of `PUT /V1/products/{sku}`: only the fields that are set are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProductPayload {
    /// SKU.
    pub sku: String,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Attribute set (creates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_set_id: Option<u32>,
    /// Product type (creates): `simple`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_id: Option<String>,
    /// Price.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "koppel_core::wire::decimal::ser_opt"
    )]
    pub price: Option<Decimal>,
    /// 1 enabled, 2 disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
    /// Visibility (creates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<u8>,
    /// Weight.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "koppel_core::wire::decimal::ser_opt"
    )]
    pub weight: Option<Decimal>,
    /// Category links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension_attributes: Option<PayloadExtension>,
    /// Custom attributes (including `tax_class_id`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_attributes: Vec<CustomAttribute>,
}

impl ProductPayload {
    /// Whether anything beyond the SKU is set.
    pub fn has_changes(&self) -> bool {
        *self
            != ProductPayload {
                sku: self.sku.clone(),
                ..Default::default()
            }
    }
}

/// `extension_attributes` of a product write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PayloadExtension {
    /// The full set of category links.
    pub category_links: Vec<CategoryLink>,
}

/// `{"product": ...}`.
#[derive(Debug, Serialize)]
pub struct ProductEnvelope<'a> {
    /// The product.
    pub product: &'a ProductPayload,
}
