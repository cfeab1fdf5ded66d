//! [`Product`] and [`StockLevel`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Check, Kind, Money, Record, Sku, TaxMode, ValidationError, VatRate};

/// An article: SnelStart is the master, the shop receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Product {
    /// SKU (SnelStart `artikelcode`).
    pub sku: Sku,
    /// Name (SnelStart `omschrijving`).
    pub name: String,
    /// Sales price; see `tax_mode` for whether it includes VAT.
    pub price: Money,
    /// Whether `price` includes VAT (SnelStart: excl.).
    pub tax_mode: TaxMode,
    /// VAT rate of the article, from its omzetgroep.
    pub vat: Option<VatRate>,
    /// Sellable (SnelStart: not `isNonActief`).
    pub active: bool,
    /// Unit (`eenheid`), e.g. `stuk`.
    pub unit: Option<String>,
    /// Weight in kg, from the field mapping.
    pub weight: Option<Decimal>,
    /// Category path, root first (e.g. `["Koffie", "Bonen"]`), from the field mapping.
    pub category: Vec<String>,
    /// Further mapped fields: shop attribute code -> value.
    pub attributes: BTreeMap<String, String>,
    /// Id at the source (SnelStart article GUID).
    pub source_id: Option<String>,
    /// Last change at the source.
    pub modified: Option<DateTime<Utc>>,
}

impl Record for Product {
    const KIND: Kind = Kind::Product;
    fn key(&self) -> String {
        self.sku.to_string()
    }
    fn modified(&self) -> Option<DateTime<Utc>> {
        self.modified
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let label = self.label();
        let c = Check { record: &label };
        c.non_empty("name", &self.name)?;
        c.not_negative("price.amount", self.price.amount)?;
        if let Some(w) = self.weight {
            c.not_negative("weight", w)?;
        }
        for (i, part) in self.category.iter().enumerate() {
            c.non_empty(&format!("category[{i}]"), part)?;
        }
        Ok(())
    }
}

/// A stock level of one SKU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StockLevel {
    /// SKU.
    pub sku: Sku,
    /// Quantity on hand (technical or free stock, per config); may be negative in SnelStart.
    pub quantity: Decimal,
    /// Id at the source.
    pub source_id: Option<String>,
    /// Last change at the source.
    pub modified: Option<DateTime<Utc>>,
}

impl Record for StockLevel {
    const KIND: Kind = Kind::StockLevel;
    fn key(&self) -> String {
        self.sku.to_string()
    }
    fn modified(&self) -> Option<DateTime<Utc>> {
        self.modified
    }
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}
