//! The deterministic seed of the catalogue (products, categories, attributes, stock, MSI
//! sources) and the customers, with the names and addresses orders use too.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::magento::wire::{round2, ts};
use crate::magento::{TAX_CLASS_HIGH, TAX_CLASS_LOW};
use crate::seed::{self, SeedConfig, SeedVat};

use super::{slug, Attribute, Category, Product, Shop, Source, StockItem, PRODUCT_TAX_CLASSES};

pub(super) fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(h, 0, 0))
        .unwrap_or_default()
}

/// Converts an excl.-VAT price to the shop's tax mode.
pub(super) fn shop_price(excl: Decimal, rate: Decimal, incl: bool) -> Decimal {
    if incl {
        round2(excl * (Decimal::ONE_HUNDRED + rate) / Decimal::ONE_HUNDRED)
    } else {
        excl
    }
}

pub(super) const COLOR_IDS: &[&str] = &["5", "6", "7", "8", "9"];
pub(super) const BRAND_IDS: &[&str] = &["10", "11", "12", "13"];
pub(super) const FIRST: &[&str] = &[
    "Jan", "Sanne", "Pieter", "Eva", "Daan", "Lotte", "Bram", "Femke", "Luuk", "Noor", "Thijs", "Anouk",
];
pub(super) const LAST: &[&str] = &[
    "de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Peeters", "Claes",
    "Janssens", "Willems",
];
pub(super) const NL_CITIES: &[(&str, &str)] = &[
    ("Amsterdam", "1012 AB"),
    ("Utrecht", "3511 AA"),
    ("Rotterdam", "3011 AD"),
    ("Groningen", "9711 AA"),
    ("Eindhoven", "5611 AB"),
];
pub(super) const BE_CITIES: &[(&str, &str)] = &[("Antwerpen", "2000"), ("Gent", "9000"), ("Brussel", "1000")];
pub(super) const STREETS: &[&str] = &[
    "Kerkstraat",
    "Dorpsstraat",
    "Stationsweg",
    "Molenlaan",
    "Schoolstraat",
];

/// A person with an address, for customers and order addresses.
#[derive(Debug, Clone)]
pub(super) struct Person {
    pub(super) firstname: String,
    pub(super) lastname: String,
    pub(super) street: String,
    pub(super) city: String,
    pub(super) postcode: String,
    pub(super) country: String,
    pub(super) telephone: String,
    pub(super) company: Option<String>,
    pub(super) vat_id: Option<String>,
}

pub(super) fn person(k: usize, belgian: bool, business: bool) -> Person {
    let firstname = FIRST[k % FIRST.len()].to_owned();
    let lastname = LAST[(k * 7 + 3) % LAST.len()].to_owned();
    let (city, postcode) = if belgian {
        BE_CITIES[k % BE_CITIES.len()]
    } else {
        NL_CITIES[k % NL_CITIES.len()]
    };
    let country = if belgian { "BE" } else { "NL" };
    let vat_id = business.then(|| {
        if belgian {
            format!("BE0{:09}", 400_000_000 + k * 7919)
        } else {
            format!("NL{:09}B01", 800_000_000 + k * 7919)
        }
    });
    Person {
        company: business.then(|| format!("{} {} BV", lastname, city)),
        firstname,
        lastname,
        street: format!("{} {}", STREETS[k % STREETS.len()], 1 + (k * 13) % 180),
        city: city.to_owned(),
        postcode: postcode.to_owned(),
        country: country.to_owned(),
        telephone: format!("06{:08}", 10_000_000 + k * 104_729 % 89_999_999),
        vat_id,
    }
}

pub(super) fn order_address(
    p: &Person,
    kind: &str,
    entity_id: u64,
    parent_id: u64,
    email: &str,
    customer_address: Option<u64>,
) -> Value {
    let mut m = Map::new();
    m.insert("address_type".into(), json!(kind));
    m.insert("city".into(), json!(p.city));
    if let Some(c) = &p.company {
        m.insert("company".into(), json!(c));
    }
    m.insert("country_id".into(), json!(p.country));
    if let Some(id) = customer_address {
        m.insert("customer_address_id".into(), json!(id));
    }
    m.insert("email".into(), json!(email));
    m.insert("entity_id".into(), json!(entity_id));
    m.insert("firstname".into(), json!(p.firstname));
    m.insert("lastname".into(), json!(p.lastname));
    m.insert("parent_id".into(), json!(parent_id));
    m.insert("postcode".into(), json!(p.postcode));
    m.insert("street".into(), json!([p.street]));
    m.insert("telephone".into(), json!(p.telephone));
    if let Some(v) = &p.vat_id {
        m.insert("vat_id".into(), json!(v));
    }
    Value::Object(m)
}

impl Shop {
    /// The seeded shop for a config.
    pub fn seeded(cfg: &SeedConfig, prices_include_tax: bool) -> Shop {
        let articles = seed::articles(cfg);
        let incl = prices_include_tax;
        let mut shop = Shop {
            prices_include_tax,
            products: BTreeMap::new(),
            next_product_id: 1,
            stock: BTreeMap::new(),
            source_items: BTreeMap::new(),
            sources: vec![
                Source {
                    code: "default".into(),
                    name: "Default Source".into(),
                    enabled: true,
                    country_id: "NL".into(),
                    postcode: "1012 AB".into(),
                },
                Source {
                    code: "winkel".into(),
                    name: "Winkel Amsterdam".into(),
                    enabled: true,
                    country_id: "NL".into(),
                    postcode: "1017 CT".into(),
                },
            ],
            categories: BTreeMap::new(),
            next_category_id: 1,
            attributes: vec![
                Attribute {
                    id: 93,
                    code: "color".into(),
                    label: "Color".into(),
                    options: ["Rood", "Blauw", "Zwart", "Wit", "Groen"]
                        .iter()
                        .zip(COLOR_IDS)
                        .map(|(l, v)| ((*v).to_owned(), (*l).to_owned()))
                        .collect(),
                    source_model: false,
                },
                Attribute {
                    id: 142,
                    code: "brand".into(),
                    label: "Brand".into(),
                    options: ["Koppel Koffie", "Bergthee", "Porselein & Co", "Huismerk"]
                        .iter()
                        .zip(BRAND_IDS)
                        .map(|(l, v)| ((*v).to_owned(), (*l).to_owned()))
                        .collect(),
                    source_model: false,
                },
                Attribute {
                    id: 132,
                    code: "tax_class_id".into(),
                    label: "Tax Class".into(),
                    options: std::iter::once(("0".to_owned(), "None".to_owned()))
                        .chain(
                            PRODUCT_TAX_CLASSES
                                .iter()
                                .map(|(id, n, _)| (id.to_string(), (*n).to_owned())),
                        )
                        .collect(),
                    source_model: true,
                },
            ],
            next_option_id: 14,
            orders: BTreeMap::new(),
            next_history_id: 1,
            customers: BTreeMap::new(),
        };

        // Categories: root, Default Category, the first half of the seed's category names, and
        // one the seed does not use.
        let t0 = at(2024, 9, 1, 8);
        let add_cat = |shop: &mut Shop, parent: u64, name: &str| -> u64 {
            let id = shop.next_category_id;
            shop.next_category_id += 1;
            let (level, position) = match shop.categories.get(&parent) {
                Some(p) => (
                    p.level + 1,
                    shop.categories.values().filter(|c| c.parent_id == parent).count() as i64 + 1,
                ),
                None => (0, 0),
            };
            shop.categories.insert(
                id,
                Category {
                    id,
                    parent_id: parent,
                    name: name.to_owned(),
                    is_active: true,
                    position,
                    level,
                    include_in_menu: true,
                    url_key: slug(name),
                    created_at: t0,
                    updated_at: t0,
                },
            );
            id
        };
        add_cat(&mut shop, 0, "Root Catalog");
        add_cat(&mut shop, 1, "Default Category");
        let mut names: Vec<&str> = Vec::new();
        for a in &articles {
            if !names.contains(&a.category.as_str()) {
                names.push(&a.category);
            }
        }
        let mut cat_ids: BTreeMap<String, u64> = BTreeMap::new();
        for name in names.iter().take(names.len().div_ceil(2)) {
            let id = add_cat(&mut shop, 2, name);
            cat_ids.insert((*name).to_owned(), id);
        }
        add_cat(&mut shop, 2, "Aanbiedingen");

        // Products: the first ~10 % of the seed's articles.
        let existing = articles.len().div_ceil(10);
        for (i, a) in articles.iter().take(existing).enumerate() {
            let id = shop.next_product_id;
            shop.next_product_id += 1;
            let class = match a.vat {
                SeedVat::Hoog => TAX_CLASS_HIGH,
                SeedVat::Laag => TAX_CLASS_LOW,
            };
            let mut price = shop_price(a.price_excl, a.vat.percentage(), incl);
            if i % 2 == 1 {
                // An older price, so a first sync has updates to make.
                price += Decimal::ONE;
            }
            let created = t0 + Duration::hours(i as i64);
            shop.products.insert(
                id,
                Product {
                    id,
                    sku: a.sku.clone(),
                    name: a.name.clone(),
                    attribute_set_id: 4,
                    price,
                    status: 1,
                    visibility: 4,
                    type_id: "simple".into(),
                    weight: Some(a.weight),
                    created_at: created,
                    updated_at: created + Duration::days(3),
                    website_ids: vec![1],
                    category_links: cat_ids
                        .get(&a.category)
                        .map(|c| vec![(0, *c)])
                        .unwrap_or_default(),
                    custom: vec![
                        ("description".into(), json!(format!("<p>{}</p>", a.name))),
                        ("tax_class_id".into(), json!(class.to_string())),
                        ("url_key".into(), json!(slug(&a.name))),
                        ("color".into(), json!(COLOR_IDS[(i + i / 10) % COLOR_IDS.len()])),
                        ("brand".into(), json!(BRAND_IDS[i % BRAND_IDS.len()])),
                    ],
                    children: Vec::new(),
                },
            );
            let qty = Decimal::from(if i % 2 == 0 { a.stock } else { a.stock + 5 });
            shop.stock.insert(
                id,
                StockItem {
                    item_id: id,
                    product_id: id,
                    qty,
                    is_in_stock: qty > Decimal::ZERO,
                    manage_stock: true,
                    backorders: 0,
                },
            );
        }

        // Configurable products: up to two, grouping existing simples by their first word.
        let mut groups: Vec<(String, Vec<u64>)> = Vec::new();
        for p in shop.products.values() {
            let noun = p.name.split(' ').next().unwrap_or_default().to_owned();
            match groups.iter_mut().find(|(n, _)| *n == noun) {
                Some((_, ids)) => ids.push(p.id),
                None => groups.push((noun, vec![p.id])),
            }
        }
        for (noun, kids) in groups.into_iter().filter(|(_, k)| k.len() >= 2).take(2) {
            let id = shop.next_product_id;
            shop.next_product_id += 1;
            let first = shop.products.get(&kids[0]).cloned();
            let Some(first) = first else { continue };
            let price = kids
                .iter()
                .filter_map(|k| shop.products.get(k).map(|p| p.price))
                .min()
                .unwrap_or(first.price);
            for k in &kids {
                if let Some(p) = shop.products.get_mut(k) {
                    p.visibility = 1;
                }
            }
            let name = format!("{noun} in kleuren");
            shop.products.insert(
                id,
                Product {
                    id,
                    sku: format!("CFG-{}", noun.to_uppercase()),
                    name: name.clone(),
                    attribute_set_id: 4,
                    price,
                    status: 1,
                    visibility: 4,
                    type_id: "configurable".into(),
                    weight: None,
                    created_at: first.created_at,
                    updated_at: first.updated_at,
                    website_ids: vec![1],
                    category_links: first.category_links.clone(),
                    custom: vec![
                        ("description".into(), json!(format!("<p>{name}</p>"))),
                        ("tax_class_id".into(), json!(first.tax_class().to_string())),
                        ("url_key".into(), json!(slug(&name))),
                    ],
                    children: kids,
                },
            );
            shop.stock.insert(
                id,
                StockItem {
                    item_id: id,
                    product_id: id,
                    qty: Decimal::ZERO,
                    is_in_stock: true,
                    manage_stock: true,
                    backorders: 0,
                },
            );
        }

        shop.seed_customers(cfg);
        shop.seed_orders(cfg);
        shop
    }

    pub(super) fn customer_person(k: usize) -> Person {
        person(k, k % 4 == 0, k % 3 == 0)
    }

    pub(super) fn seed_customers(&mut self, cfg: &SeedConfig) {
        for k in 1..=cfg.customers {
            let p = Self::customer_person(k);
            let id = k as u64;
            let created = at(2024, 9, 1, 10) + Duration::days(k as i64);
            let mut addr = Map::new();
            addr.insert("id".into(), json!(id));
            addr.insert("customer_id".into(), json!(id));
            addr.insert(
                "region".into(),
                json!({"region_code": null, "region": null, "region_id": 0}),
            );
            addr.insert("region_id".into(), json!(0));
            addr.insert("country_id".into(), json!(p.country));
            addr.insert("street".into(), json!([p.street]));
            if let Some(c) = &p.company {
                addr.insert("company".into(), json!(c));
            }
            addr.insert("telephone".into(), json!(p.telephone));
            addr.insert("postcode".into(), json!(p.postcode));
            addr.insert("city".into(), json!(p.city));
            addr.insert("firstname".into(), json!(p.firstname));
            addr.insert("lastname".into(), json!(p.lastname));
            if let Some(v) = &p.vat_id {
                addr.insert("vat_id".into(), json!(v));
            }
            addr.insert("default_shipping".into(), json!(true));
            addr.insert("default_billing".into(), json!(true));
            let mut c = Map::new();
            c.insert("id".into(), json!(id));
            c.insert("group_id".into(), json!(if p.company.is_some() { 2 } else { 1 }));
            c.insert("default_billing".into(), json!(id.to_string()));
            c.insert("default_shipping".into(), json!(id.to_string()));
            c.insert("created_at".into(), json!(ts(created)));
            c.insert(
                "updated_at".into(),
                json!(ts(created + Duration::hours(k as i64))),
            );
            c.insert("created_in".into(), json!("Default Store View"));
            c.insert("email".into(), json!(format!("klant{k}@example.nl")));
            c.insert("firstname".into(), json!(p.firstname));
            c.insert("lastname".into(), json!(p.lastname));
            c.insert("gender".into(), json!(0));
            c.insert("store_id".into(), json!(1));
            if let Some(v) = &p.vat_id {
                c.insert("taxvat".into(), json!(v));
            }
            c.insert("website_id".into(), json!(1));
            c.insert("addresses".into(), json!([Value::Object(addr)]));
            c.insert("disable_auto_group_change".into(), json!(0));
            c.insert("extension_attributes".into(), json!({"is_subscribed": false}));
            self.customers.insert(id, Value::Object(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_covers_the_real_shop_shapes() {
        let shop = Shop::seeded(&SeedConfig::default(), true);
        let o = |id: u64| &shop.orders[&id];
        assert_eq!(o(5)["grand_total"], json!(0), "the 100 % coupon");
        assert_eq!(o(7)["state"], "canceled");
        assert_eq!(o(7)["relation_child_real_id"], "000000007-1");
        assert_eq!(o(8)["increment_id"], "000000007-1");
        assert_eq!(o(8)["relation_parent_real_id"], "000000007");
        let types = |id: u64| -> Vec<String> {
            o(id)["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["product_type"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(types(9), ["bundle", "simple", "simple"]);
        assert_eq!(types(10), ["bundle", "simple", "simple"]);
        assert_eq!(o(11)["order_currency_code"], "USD");
        assert_eq!(o(11)["base_currency_code"], "EUR");
        assert_ne!(o(11)["grand_total"], o(11)["base_grand_total"]);
    }

    #[test]
    fn seed_is_deterministic() {
        let cfg = SeedConfig::default();
        let a = Shop::seeded(&cfg, true);
        let b = Shop::seeded(&cfg, true);
        assert_eq!(a.orders, b.orders);
        assert_eq!(a.products, b.products);
        assert_eq!(a.products.values().filter(|p| p.type_id == "simple").count(), 20);
        assert_eq!(slug("Koffiebonen Rood 1"), "koffiebonen-rood-1");
    }
}
