//! The simulated OpenCart shop's state, seeded the way OpenCart's checkout writes orders
//! (catalog/model/checkout/order.php addOrder): unit price excl. tax and the tax of one unit per
//! line, totals sub_total / shipping / one `tax` row per rate / total, 4 decimals. Some orders
//! are left at status 0 (never confirmed), some guests' checkouts asked only a shipping address
//! (OpenCart 4.x), as real shops have them. One more order, the last, used a fixed coupon on a
//! 21 % and a 9 % line ([`COUPON_CODE`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::Rng;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::seed::{self, SeedConfig, SeedVat};

/// Tax class of 21 % VAT (OpenCart's "Taxable Goods").
pub const TAX_CLASS_HIGH: u32 = 9;
/// Tax class of 9 % VAT.
pub const TAX_CLASS_LOW: u32 = 12;

/// The coupon of the seeded coupon order: a fixed amount off all products.
pub const COUPON_CODE: &str = "KORTING10";
/// The coupon's discount (`oc_coupon.discount`, type `F`).
pub const COUPON_DISCOUNT: Decimal = Decimal::TEN;

/// A product.
#[derive(Debug, Clone)]
pub struct SimProduct {
    /// `product_id`.
    pub id: u64,
    /// SKU.
    pub sku: String,
    /// Model.
    pub model: String,
    /// Name (every language).
    pub name: String,
    /// Price excl. tax, 4 decimals.
    pub price: Decimal,
    /// Tax class.
    pub tax_class_id: u32,
    /// Weight.
    pub weight: Decimal,
    /// Weight class.
    pub weight_class_id: u32,
    /// Enabled.
    pub status: bool,
    /// Stock.
    pub quantity: i64,
    /// Category ids.
    pub categories: Vec<u64>,
    /// Stores.
    pub stores: Vec<u32>,
    /// SEO keyword.
    pub keyword: Option<String>,
}

/// An order: its wire form (bridge/PROTOCOL.md `orders.list`) plus what paging needs.
#[derive(Debug, Clone)]
pub struct SimOrder {
    /// `order_id`.
    pub id: u64,
    /// Status id (0: never confirmed).
    pub status: u32,
    /// Last change (UTC).
    pub modified: DateTime<Utc>,
    /// The order as the bridge answers it, without status and dates.
    pub wire: Value,
    /// History: (status, comment).
    pub history: Vec<(u32, String)>,
}

/// A customer.
#[derive(Debug, Clone)]
pub struct SimCustomer {
    /// `customer_id`.
    pub id: u64,
    /// Its wire form without `changed_at`.
    pub wire: Value,
    /// When the bridge would have first seen its current data.
    pub changed_at: DateTime<Utc>,
}

/// The shop.
#[derive(Debug, Clone, Default)]
pub struct Shop {
    /// Products by id.
    pub products: BTreeMap<u64, SimProduct>,
    /// Orders by id.
    pub orders: BTreeMap<u64, SimOrder>,
    /// Customers by id.
    pub customers: BTreeMap<u64, SimCustomer>,
    /// Category name (any language) -> (id, parent id).
    pub categories: Vec<(String, u64, u64)>,
    /// Order statuses: id -> name.
    pub statuses: BTreeMap<u32, String>,
}

fn dec4(d: Decimal) -> String {
    format!("{:.4}", d.round_dp(4))
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

impl Shop {
    /// The seeded shop: categories, order statuses, the seed's customers and orders. It holds
    /// no products: they all come from koppel's products flow.
    pub fn seeded(cfg: &SeedConfig) -> Shop {
        let mut shop = Shop {
            categories: vec![
                ("Koffie".into(), 100, 0),
                ("Coffee".into(), 100, 0),
                ("Thee".into(), 102, 0),
                ("Tea".into(), 102, 0),
                ("Servies".into(), 103, 0),
                ("Apparaten".into(), 104, 0),
            ],
            statuses: [
                (1, "Pending"),
                (2, "Processing"),
                (3, "Shipped"),
                (5, "Complete"),
                (7, "Canceled"),
                (15, "Processed"),
            ]
            .into_iter()
            .map(|(i, n)| (i, n.to_owned()))
            .collect(),
            ..Shop::default()
        };
        let articles = seed::articles(cfg);
        let mut rng = seed::rng(cfg, 13);
        let countries = [
            ("NL", "Netherlands", "Utrecht", "3511 AB"),
            ("BE", "Belgium", "Gent", "9000"),
        ];
        for c in 0..cfg.customers {
            let id = c as u64 + 1;
            let (iso, _, city, pc) = countries[c % 2];
            let wire = json!({
                "customer_id": id, "customer_group_id": 1, "firstname": format!("Klant{id}"), "lastname": "Jansen",
                "email": format!("klant{id}@example.nl"), "telephone": "0612345678", "status": 1,
                "addresses": [{"address_id": id, "default": true, "firstname": format!("Klant{id}"), "lastname": "Jansen",
                    "company": "", "address_1": format!("Dorpsstraat {id}"), "address_2": "", "city": city, "postcode": pc,
                    "country_id": if iso == "NL" { 150 } else { 21 }, "iso_code_2": iso}],
                "date_added": base_time().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            });
            shop.customers.insert(
                id,
                SimCustomer {
                    id,
                    wire,
                    changed_at: base_time(),
                },
            );
        }
        for o in 0..cfg.orders {
            let id = o as u64 + 1;
            let mut lines = Vec::new();
            let mut sub = Decimal::ZERO;
            let mut taxes: BTreeMap<u32, Decimal> = BTreeMap::new();
            for l in 0..(1 + o % 2) {
                let Some(a) = articles.get((o * 3 + l * 7) % articles.len().max(1)) else {
                    continue;
                };
                let qty: i64 = rng.random_range(1..=3);
                let rate = a.vat.percentage();
                // getTax: price x rate / 100 per unit, kept with 4 decimals
                let unit_tax = (a.price_excl * rate / Decimal::ONE_HUNDRED).round_dp(4);
                let class = match a.vat {
                    SeedVat::Hoog => TAX_CLASS_HIGH,
                    SeedVat::Laag => TAX_CLASS_LOW,
                };
                sub += a.price_excl * Decimal::from(qty);
                *taxes.entry(class).or_default() += unit_tax * Decimal::from(qty);
                lines.push(json!({
                    "order_product_id": id * 10 + l as u64, "product_id": 1000 + l as u64, "name": a.name, "model": a.sku,
                    "quantity": qty, "price": dec4(a.price_excl), "total": dec4(a.price_excl * Decimal::from(qty)),
                    "tax": dec4(unit_tax), "sku": a.sku, "product_model": a.sku, "tax_class_id": class, "options": [],
                }));
            }
            let shipping = Decimal::new(495, 2);
            *taxes.entry(TAX_CLASS_HIGH).or_default() +=
                (shipping * Decimal::from(21) / Decimal::ONE_HUNDRED).round_dp(4);
            let mut totals = vec![
                json!({"code": "sub_total", "title": "Sub-Total", "value": dec4(sub), "sort_order": 1}),
                json!({"code": "shipping", "title": "Flat Shipping Rate", "value": dec4(shipping), "sort_order": 3}),
            ];
            let mut tax_sum = Decimal::ZERO;
            for (class, t) in &taxes {
                tax_sum += t;
                let title = if *class == TAX_CLASS_HIGH {
                    "BTW 21%"
                } else {
                    "BTW 9%"
                };
                totals.push(json!({"code": "tax", "title": title, "value": dec4(*t), "sort_order": 5}));
            }
            let total = sub + shipping + tax_sum;
            totals.push(json!({"code": "total", "title": "Total", "value": dec4(total), "sort_order": 9}));
            let registered = cfg.customers > 0 && o % 3 != 0;
            let cid = if registered {
                (o % cfg.customers.max(1)) as u64 + 1
            } else {
                0
            };
            let (iso, country, city, pc) = countries[o % 2];
            let addr = json!({"firstname": "Jan", "lastname": format!("Koper{id}"), "company": "", "address_1": format!("Kerkstraat {id}"),
                "address_2": "", "city": city, "postcode": pc, "country": country, "country_id": if iso == "NL" { 150 } else { 21 },
                "iso_code_2": iso, "zone": ""});
            // A 4.x guest checkout that asked only the shipping address: payment_* empty.
            let payment = if !registered && o % 2 == 0 {
                Value::Null
            } else {
                addr.clone()
            };
            let status = if o % 10 == 9 {
                0
            } else if o % 4 == 3 {
                5
            } else {
                2
            };
            let added = base_time() + Duration::minutes(o as i64 * 7);
            let wire = json!({
                "order_id": id, "store_id": 0, "invoice_prefix": "INV-2026-00", "invoice_no": 0, "customer_id": cid,
                "customer_group_id": 1, "firstname": "Jan", "lastname": format!("Koper{id}"),
                "email": if registered { format!("klant{cid}@example.nl") } else { format!("gast{id}@example.nl") },
                "telephone": "0612345678", "payment_address": payment, "shipping_address": addr,
                "payment_method": {"name": "Bank Transfer", "code": "bank_transfer"},
                "shipping_method": {"name": "Flat Shipping Rate", "code": "flat.flat"}, "comment": "",
                "total": dec4(total), "currency_code": "EUR", "currency_value": "1.00000000",
                "date_added": added.format("%Y-%m-%dT%H:%M:%SZ").to_string(), "lines": lines, "totals": totals,
                "tax_rates": {
                    TAX_CLASS_HIGH.to_string(): [{"tax_rate_id": 86, "name": "BTW 21%", "rate": "21.0000", "type": "P", "geo_zone_id": 3, "based": "shipping"}],
                    TAX_CLASS_LOW.to_string(): [{"tax_rate_id": 88, "name": "BTW 9%", "rate": "9.0000", "type": "P", "geo_zone_id": 3, "based": "shipping"}],
                },
            });
            shop.orders.insert(
                id,
                SimOrder {
                    id,
                    status,
                    modified: added,
                    wire,
                    history: if status > 0 {
                        vec![(status, String::new())]
                    } else {
                        Vec::new()
                    },
                },
            );
        }
        if cfg.orders > 0 {
            if let Some(o) = coupon_order(cfg, &articles) {
                shop.orders.insert(o.id, o);
            }
        }
        shop
    }

    /// The product with this code in the `sku` or `model` column, and how many there are.
    pub fn find(&self, key: &str, code: &str) -> Vec<u64> {
        self.products
            .values()
            .filter(|p| {
                if key == "model" {
                    p.model == code
                } else {
                    p.sku == code
                }
            })
            .map(|p| p.id)
            .collect()
    }

    /// A category id by name path (root first), as the bridge resolves it.
    pub fn category(&self, path: &[String]) -> Result<u64, (String, String)> {
        let mut parent = 0;
        for (i, name) in path.iter().enumerate() {
            let ids: Vec<u64> = {
                let mut v: Vec<u64> = self
                    .categories
                    .iter()
                    .filter(|(n, _, p)| n == name && *p == parent)
                    .map(|(_, id, _)| *id)
                    .collect();
                v.dedup();
                v
            };
            match ids.as_slice() {
                [one] => parent = *one,
                _ => {
                    return Err((
                        format!("category[{i}]"),
                        format!(
                            "no category \"{}\" in the shop (create it in the OpenCart admin)",
                            path[..=i].join(" > ")
                        ),
                    ))
                }
            }
        }
        Ok(parent)
    }
}

/// The coupon order, id `cfg.orders + 1`: a 21 % and a 9 % article, flat shipping at 21 %, and
/// [`COUPON_CODE`] on all products, totalled as OpenCart 3.0/4.x's coupon total does it
/// (catalog/model/extension/total/coupon.php `getTotal`): each product's discount is
/// `discount x product total / sub_total`, each percentage tax of its class is reduced by
/// `rate x discount` unrounded, one `coupon` row holds `-discount`; amounts stored with 4
/// decimals. `None` when the seed has no article of either rate.
fn coupon_order(cfg: &SeedConfig, articles: &[seed::SeedArticle]) -> Option<SimOrder> {
    let high = articles.iter().find(|a| a.vat == SeedVat::Hoog)?;
    let low = articles.iter().find(|a| a.vat == SeedVat::Laag)?;
    let id = cfg.orders as u64 + 1;
    let picked = [(high, 2i64, TAX_CLASS_HIGH), (low, 3i64, TAX_CLASS_LOW)];
    let sub: Decimal = picked
        .iter()
        .map(|(a, q, _)| a.price_excl * Decimal::from(*q))
        .sum();
    // type F: at most the sub-total
    let discount = COUPON_DISCOUNT.min(sub);
    let shipping = Decimal::new(495, 2);
    let mut taxes: BTreeMap<u32, Decimal> = BTreeMap::new();
    let mut lines = Vec::new();
    for (l, (a, qty, class)) in picked.iter().enumerate() {
        let rate = a.vat.percentage();
        let unit_tax = (a.price_excl * rate / Decimal::ONE_HUNDRED).round_dp(4);
        let total = a.price_excl * Decimal::from(*qty);
        let share = discount * (total / sub);
        *taxes.entry(*class).or_default() +=
            unit_tax * Decimal::from(*qty) - rate / Decimal::ONE_HUNDRED * share;
        lines.push(json!({
            "order_product_id": id * 10 + l as u64, "product_id": 1000 + l as u64, "name": a.name, "model": a.sku,
            "quantity": qty, "price": dec4(a.price_excl), "total": dec4(total),
            "tax": dec4(unit_tax), "sku": a.sku, "product_model": a.sku, "tax_class_id": class, "options": [],
        }));
    }
    *taxes.entry(TAX_CLASS_HIGH).or_default() += shipping * Decimal::from(21) / Decimal::ONE_HUNDRED;
    let mut totals = vec![
        json!({"code": "sub_total", "title": "Sub-Total", "value": dec4(sub), "sort_order": 1}),
        json!({"code": "shipping", "title": "Flat Shipping Rate", "value": dec4(shipping), "sort_order": 3}),
        json!({"code": "coupon", "title": format!("Coupon ({COUPON_CODE})"), "value": dec4(-discount), "sort_order": 4}),
    ];
    for (class, t) in &taxes {
        let title = if *class == TAX_CLASS_HIGH {
            "BTW 21%"
        } else {
            "BTW 9%"
        };
        totals.push(json!({"code": "tax", "title": title, "value": dec4(*t), "sort_order": 5}));
    }
    let total = sub + shipping - discount + taxes.values().copied().sum::<Decimal>();
    totals.push(json!({"code": "total", "title": "Total", "value": dec4(total), "sort_order": 9}));
    let cid: u64 = if cfg.customers > 0 { 1 } else { 0 };
    let email = if cid > 0 {
        "klant1@example.nl".to_owned()
    } else {
        format!("gast{id}@example.nl")
    };
    let addr = json!({"firstname": "Jan", "lastname": format!("Koper{id}"), "company": "", "address_1": format!("Kerkstraat {id}"),
        "address_2": "", "city": "Utrecht", "postcode": "3511 AB", "country": "Netherlands", "country_id": 150,
        "iso_code_2": "NL", "zone": ""});
    let added = base_time() + Duration::minutes(cfg.orders as i64 * 7);
    let wire = json!({
        "order_id": id, "store_id": 0, "invoice_prefix": "INV-2026-00", "invoice_no": 0, "customer_id": cid,
        "customer_group_id": 1, "firstname": "Jan", "lastname": format!("Koper{id}"), "email": email,
        "telephone": "0612345678", "payment_address": addr.clone(), "shipping_address": addr,
        "payment_method": {"name": "Bank Transfer", "code": "bank_transfer"},
        "shipping_method": {"name": "Flat Shipping Rate", "code": "flat.flat"}, "comment": "",
        "total": dec4(total), "currency_code": "EUR", "currency_value": "1.00000000",
        "date_added": added.format("%Y-%m-%dT%H:%M:%SZ").to_string(), "lines": lines, "totals": totals,
        "tax_rates": {
            TAX_CLASS_HIGH.to_string(): [{"tax_rate_id": 86, "name": "BTW 21%", "rate": "21.0000", "type": "P", "geo_zone_id": 3, "based": "shipping"}],
            TAX_CLASS_LOW.to_string(): [{"tax_rate_id": 88, "name": "BTW 9%", "rate": "9.0000", "type": "P", "geo_zone_id": 3, "based": "shipping"}],
        },
    });
    Some(SimOrder {
        id,
        status: 2,
        modified: added,
        wire,
        history: vec![(2, String::new())],
    })
}
