//! The simulated shop's state: one table of records per resource, and the seed.
//!
//! Values are kept as text, as PrestaShop's webservice renders them (`"12.500000"`, `"0"`,
//! `"2024-05-01 10:00:00"` in the shop's time zone); multilingual fields per language id.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::schema::{resource, ResourceDef};

mod churn;
mod seeding;

/// A field value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// A plain value (`null` is kept as the empty text, as the output renders it).
    Text(String),
    /// A multilingual value: language id -> text.
    Lang(BTreeMap<u32, String>),
}

impl Val {
    /// The text of a plain value, or of language `lang`.
    pub fn text(&self, lang: u32) -> &str {
        match self {
            Val::Text(t) => t,
            Val::Lang(m) => m.get(&lang).map(String::as_str).unwrap_or(""),
        }
    }
}

/// One association item: field -> value.
pub type AssocItem = BTreeMap<String, String>;

/// One record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rec {
    /// Field values by name (without associations).
    pub fields: BTreeMap<String, Val>,
    /// Stored associations (computed ones such as `order_rows` are added on output).
    pub assoc: BTreeMap<String, Vec<AssocItem>>,
}

impl Rec {
    /// A plain field's text (`""` when missing).
    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map(|v| v.text(0)).unwrap_or("")
    }
    /// Sets a plain field.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.fields.insert(name.to_owned(), Val::Text(value.into()));
    }
}

/// The tax rules group of Dutch high VAT (21 %).
pub const TAX_RULES_HIGH: u64 = 1;
/// The tax rules group of Dutch low VAT (9 %).
pub const TAX_RULES_LOW: u64 = 2;
/// Order state "Payment accepted" (PS_OS_PAYMENT).
pub const STATE_PAYMENT_ACCEPTED: u64 = 2;
/// Order state "Processing in progress" (PS_OS_PREPARATION).
pub const STATE_PROCESSING: u64 = 3;
/// Order state "Shipped".
pub const STATE_SHIPPED: u64 = 4;
/// Order state "Canceled".
pub const STATE_CANCELED: u64 = 6;
/// Order state "Awaiting bank wire payment" (PS_OS_BANKWIRE).
pub const STATE_AWAITING_BANKWIRE: u64 = 10;
/// Country id of the Netherlands in a default PrestaShop install.
pub const COUNTRY_NL: u64 = 13;
/// The shop's only shop and shop group.
pub const SHOP_ID: u64 = 1;

/// The simulated shop.
#[derive(Debug, Clone)]
pub struct Shop {
    /// Records per resource.
    pub tables: BTreeMap<&'static str, BTreeMap<u64, Rec>>,
    /// Next id per resource.
    pub next_id: BTreeMap<&'static str, u64>,
    /// Installed languages (the first is the default, `PS_LANG_DEFAULT`).
    pub languages: Vec<u32>,
    /// The shop's time zone (`PS_TIMEZONE`): every date is local time.
    pub tz: Tz,
    /// Customer e-mails the shop sent on state changes (order_histories with `sendemail=1`, and
    /// every PUT on `orders` that changes `current_state`).
    pub mails: u64,
}

/// Formats a time as PrestaShop stores it: local time, `YYYY-MM-DD HH:MM:SS`.
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

impl Shop {
    /// An empty shop.
    pub fn empty(languages: Vec<u32>, tz: Tz) -> Self {
        Shop {
            tables: BTreeMap::new(),
            next_id: BTreeMap::new(),
            languages,
            tz,
            mails: 0,
        }
    }

    /// The table of a resource.
    pub fn table(&self, res: &str) -> Option<&BTreeMap<u64, Rec>> {
        self.tables.get(res)
    }

    /// The table of a resource, mutable (created on first use).
    pub fn table_mut(&mut self, res: &'static str) -> &mut BTreeMap<u64, Rec> {
        self.tables.entry(res).or_default()
    }

    /// The record `id` of `res`.
    pub fn get(&self, res: &str, id: u64) -> Option<&Rec> {
        self.tables.get(res).and_then(|t| t.get(&id))
    }

    /// Takes the next id of a resource.
    pub fn take_id(&mut self, res: &'static str) -> u64 {
        let n = self.next_id.entry(res).or_insert(1);
        let id = *n;
        *n += 1;
        id
    }

    /// A record of `def` with every field present and empty, then `values` set (a name of a
    /// multilingual field sets every language).
    pub fn blank(&self, def: &ResourceDef, values: &[(&str, String)]) -> Rec {
        let mut rec = Rec::default();
        for f in def.fields {
            if f.name == "id" {
                continue;
            }
            let v = if f.lang {
                Val::Lang(self.languages.iter().map(|l| (*l, String::new())).collect())
            } else {
                Val::Text(String::new())
            };
            rec.fields.insert(f.name.to_owned(), v);
        }
        for (k, v) in values {
            let lang = def.field(k).is_some_and(|f| f.lang);
            let val = if lang {
                Val::Lang(self.languages.iter().map(|l| (*l, v.clone())).collect())
            } else {
                Val::Text(v.clone())
            };
            rec.fields.insert((*k).to_owned(), val);
        }
        rec
    }

    /// Inserts a record with these values; returns its id.
    pub fn insert(&mut self, res: &'static str, values: &[(&str, String)]) -> u64 {
        let def = resource(res).expect("known resource");
        let rec = self.blank(def, values);
        let id = self.take_id(res);
        self.table_mut(res).insert(id, rec);
        id
    }

    /// Sets an association list of a record.
    pub fn set_assoc(&mut self, res: &'static str, id: u64, name: &str, items: Vec<AssocItem>) {
        if let Some(r) = self.table_mut(res).get_mut(&id) {
            r.assoc.insert(name.to_owned(), items);
        }
    }
}
