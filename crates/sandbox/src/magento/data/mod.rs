//! The simulated shop's state: the tables (catalogue, categories, attributes, tax classes,
//! legacy stock items, MSI sources, customers, orders) and their lookups. The seed and the
//! order calculator live in `seed`, `orders` and `calc`.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde_json::Value;

use super::{TAX_CLASS_HIGH, TAX_CLASS_LOW};

mod calc;
mod orders;
mod seeding;

pub use calc::TaxSetting;
use calc::*;
use seeding::*;

/// The customer tax class of registered and guest customers ("Retail Customer").
pub const CUSTOMER_TAX_CLASS: i64 = 3;

/// A catalogue product (flat view of Magento's EAV product, default scope).
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// entity_id.
    pub id: u64,
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Attribute set (4 = Default).
    pub attribute_set_id: i64,
    /// Price, in the shop's tax mode.
    pub price: Decimal,
    /// 1 enabled, 2 disabled.
    pub status: i64,
    /// 1..4.
    pub visibility: i64,
    /// `simple`, `configurable`, ...
    pub type_id: String,
    /// Weight in kg.
    pub weight: Option<Decimal>,
    /// Created, UTC.
    pub created_at: NaiveDateTime,
    /// Last saved, UTC.
    pub updated_at: NaiveDateTime,
    /// Websites.
    pub website_ids: Vec<i64>,
    /// (position, category id).
    pub category_links: Vec<(i64, u64)>,
    /// Custom attributes in order (`description`, `tax_class_id`, `url_key`, `color`, ...).
    pub custom: Vec<(String, Value)>,
    /// Children of a configurable product.
    pub children: Vec<u64>,
}

impl Product {
    /// A custom attribute's value.
    pub fn attr(&self, code: &str) -> Option<&Value> {
        self.custom.iter().find(|(c, _)| c == code).map(|(_, v)| v)
    }

    /// Sets (or adds) a custom attribute.
    pub fn set_attr(&mut self, code: &str, value: Value) {
        match self.custom.iter_mut().find(|(c, _)| c == code) {
            Some(slot) => slot.1 = value,
            None => self.custom.push((code.to_owned(), value)),
        }
    }

    /// The tax class id (0 = none).
    pub fn tax_class(&self) -> i64 {
        self.attr("tax_class_id")
            .and_then(super::wire::int_of)
            .unwrap_or(0)
    }
}

/// A legacy CatalogInventory stock item (stock 1); with MSI it mirrors the `default` source.
#[derive(Debug, Clone, PartialEq)]
pub struct StockItem {
    /// item_id.
    pub item_id: u64,
    /// Product.
    pub product_id: u64,
    /// Quantity.
    pub qty: Decimal,
    /// In stock flag.
    pub is_in_stock: bool,
    /// Manage stock.
    pub manage_stock: bool,
    /// Backorders mode (0 none).
    pub backorders: i64,
}

/// A category.
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    /// id.
    pub id: u64,
    /// Parent (0 for the tree root).
    pub parent_id: u64,
    /// Name.
    pub name: String,
    /// Active.
    pub is_active: bool,
    /// Position among siblings.
    pub position: i64,
    /// Depth (root 0).
    pub level: i64,
    /// Shown in the menu.
    pub include_in_menu: bool,
    /// URL key.
    pub url_key: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
}

/// A select attribute with options.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// attribute_id.
    pub id: u64,
    /// attribute_code.
    pub code: String,
    /// Frontend label.
    pub label: String,
    /// (value = option id, label).
    pub options: Vec<(String, String)>,
    /// Options come from a source model (tax classes), not editable.
    pub source_model: bool,
}

/// An MSI source.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// source_code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Enabled.
    pub enabled: bool,
    /// Country.
    pub country_id: String,
    /// Postcode.
    pub postcode: String,
}

/// The whole simulated shop.
#[derive(Debug, Clone)]
pub struct Shop {
    /// Catalogue prices include tax.
    pub prices_include_tax: bool,
    /// Products by id.
    pub products: BTreeMap<u64, Product>,
    /// Next product id.
    pub next_product_id: u64,
    /// Legacy stock items by product id.
    pub stock: BTreeMap<u64, StockItem>,
    /// MSI source items not backed by a legacy stock item: (sku, source_code) -> (quantity,
    /// status). On a single-source shop the `default` source item of a product *is* its legacy
    /// stock item (Magento keeps `cataloginventory_stock_item` and the default source's
    /// `inventory_source_item` row in sync, and `inventory_source_item` is unique on
    /// `(source_code, sku)`), so a `default` row lives here only while no product has the SKU;
    /// see [`Shop::set_source_item`].
    pub source_items: BTreeMap<(String, String), (Decimal, i64)>,
    /// MSI sources.
    pub sources: Vec<Source>,
    /// Categories by id.
    pub categories: BTreeMap<u64, Category>,
    /// Next category id.
    pub next_category_id: u64,
    /// Select attributes.
    pub attributes: Vec<Attribute>,
    /// Next attribute option id.
    pub next_option_id: u64,
    /// Orders by entity_id, as their JSON.
    pub orders: BTreeMap<u64, Value>,
    /// Next status-history id.
    pub next_history_id: u64,
    /// Customers by id, as their JSON.
    pub customers: BTreeMap<u64, Value>,
}

/// Product tax classes: (class_id, class_name, Dutch rate).
pub const PRODUCT_TAX_CLASSES: &[(i64, &str, i64)] = &[
    (TAX_CLASS_HIGH, "Taxable Goods", 21),
    (TAX_CLASS_LOW, "Verlaagd tarief", 9),
];

/// The rate of a product tax class (0 for none or unknown).
pub fn tax_rate(class: i64) -> Decimal {
    PRODUCT_TAX_CLASSES
        .iter()
        .find(|(id, _, _)| *id == class)
        .map(|(_, _, r)| Decimal::from(*r))
        .unwrap_or_default()
}

/// A URL key from a name, as Magento derives it.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

impl Shop {
    /// Saves one source item as MSI's `SourceItemsSaveInterface` does: the row is unique on
    /// `(source_code, sku)` (SKUs compared case-insensitively, as MySQL does); the `default`
    /// source of an existing product writes its legacy stock item, the same row.
    pub fn set_source_item(&mut self, sku: &str, code: &str, qty: Decimal, status: i64) {
        let product = self.product_by_sku(sku).map(|p| (p.id, p.sku.clone()));
        if code == "default" {
            if let Some(s) = product.as_ref().and_then(|(id, _)| self.stock.get_mut(id)) {
                s.qty = qty;
                s.is_in_stock = status == 1;
                return;
            }
        }
        self.source_items
            .retain(|(k, c), _| !(c == code && k.eq_ignore_ascii_case(sku)));
        let key_sku = product.map(|(_, s)| s).unwrap_or_else(|| sku.to_owned());
        self.source_items
            .insert((key_sku, code.to_owned()), (qty, status));
    }

    /// Removes and returns the `default` source item of a SKU that has no product yet, so the
    /// product's new legacy stock item takes it over (one row, not two).
    pub fn take_default_source_item(&mut self, sku: &str) -> Option<(Decimal, i64)> {
        let key = self
            .source_items
            .keys()
            .find(|(k, c)| c == "default" && k.eq_ignore_ascii_case(sku))
            .cloned()?;
        self.source_items.remove(&key)
    }

    /// The product with this SKU (case-insensitive, as MySQL compares).
    pub fn product_by_sku(&self, sku: &str) -> Option<&Product> {
        self.products.values().find(|p| p.sku.eq_ignore_ascii_case(sku))
    }
}
