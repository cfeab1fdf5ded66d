//! The seed: countries, currencies, order states, categories, part of the catalogue with
//! stock, customers with addresses, and orders (broken ones included).

use std::collections::BTreeMap;

use chrono::{TimeDelta, Utc};
use chrono_tz::Tz;
use rand::Rng;
use rust_decimal::Decimal;

use crate::prestashop::schema::resource;
use crate::seed::{SeedConfig, SeedVat};

use super::{
    local_time, AssocItem, Shop, COUNTRY_NL, SHOP_ID, STATE_AWAITING_BANKWIRE, STATE_CANCELED,
    STATE_PAYMENT_ACCEPTED, STATE_PROCESSING, STATE_SHIPPED, TAX_RULES_HIGH, TAX_RULES_LOW,
};
use crate::seed;

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

fn money6(d: Decimal) -> String {
    format!("{:.6}", d.round_dp(6))
}

fn r2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

impl Shop {
    /// The seeded shop: countries, currencies, order states, categories, part of the
    /// catalogue (with stock), registered and guest customers with addresses, and orders
    /// (broken ones included: an order row without reference, an address in an unknown country).
    pub fn seeded(cfg: &SeedConfig, languages: Vec<u32>, tz: Tz) -> Self {
        let mut s = Shop::empty(languages, tz);
        let now = Utc::now();
        let long_ago = local_time(now - TimeDelta::days(60), tz);
        let t = |x: &str| x.to_owned();

        // countries: the ids of a default install (DE 1, BE 3, NL 13)
        for (id, iso, name) in [
            (1u64, "DE", "Duitsland"),
            (3, "BE", "België"),
            (13, "NL", "Nederland"),
        ] {
            s.next_id.insert("countries", id);
            s.insert(
                "countries",
                &[
                    ("iso_code", t(iso)),
                    ("name", t(name)),
                    ("active", t("1")),
                    ("id_zone", t("1")),
                    ("id_currency", t("0")),
                    ("contains_states", t("0")),
                    ("need_zip_code", t("1")),
                ],
            );
        }
        for (iso, rate) in [("EUR", "1.000000"), ("USD", "1.080000")] {
            s.insert(
                "currencies",
                &[
                    ("name", t(iso)),
                    ("iso_code", t(iso)),
                    ("precision", t("2")),
                    ("conversion_rate", t(rate)),
                    ("deleted", t("0")),
                    ("active", t("1")),
                ],
            );
        }
        // order states of a default install (classes/order/OrderState.php, install data)
        for (id, name, paid, shipped, logable) in [
            (1u64, "Awaiting check payment", "0", "0", "0"),
            (2, "Payment accepted", "1", "0", "1"),
            (3, "Processing in progress", "1", "0", "1"),
            (4, "Shipped", "1", "1", "1"),
            (5, "Delivered", "1", "1", "1"),
            (6, "Canceled", "0", "0", "0"),
            (7, "Refunded", "1", "0", "0"),
            (8, "Payment error", "0", "0", "0"),
            (10, "Awaiting bank wire payment", "0", "0", "0"),
            (11, "Remote payment accepted", "1", "0", "1"),
        ] {
            s.next_id.insert("order_states", id);
            s.insert(
                "order_states",
                &[
                    ("name", t(name)),
                    ("paid", t(paid)),
                    ("shipped", t(shipped)),
                    ("delivery", t(shipped)),
                    ("logable", t(logable)),
                    ("send_email", t("1")),
                    ("invoice", t(paid)),
                    ("unremovable", t("1")),
                    ("hidden", t("0")),
                    ("deleted", t("0")),
                    ("color", t("#32CD32")),
                ],
            );
        }
        // categories: 1 Root, 2 Home (the root of the front office), then the seed's names
        let root = s.insert(
            "categories",
            &[
                ("name", t("Root")),
                ("link_rewrite", t("root")),
                ("id_parent", t("0")),
                ("level_depth", t("0")),
                ("active", t("1")),
                ("is_root_category", t("0")),
                ("position", t("0")),
                ("date_add", long_ago.clone()),
                ("date_upd", long_ago.clone()),
            ],
        );
        let home = s.insert(
            "categories",
            &[
                ("name", t("Home")),
                ("link_rewrite", t("home")),
                ("id_parent", root.to_string()),
                ("level_depth", t("1")),
                ("active", t("1")),
                ("is_root_category", t("1")),
                ("position", t("0")),
                ("date_add", long_ago.clone()),
                ("date_upd", long_ago.clone()),
            ],
        );
        let arts = seed::articles(cfg);
        let mut cats: BTreeMap<String, u64> = BTreeMap::new();
        for a in &arts {
            if !cats.contains_key(&a.category) {
                let pos = cats.len();
                let id = s.insert(
                    "categories",
                    &[
                        ("name", a.category.clone()),
                        ("link_rewrite", slug(&a.category)),
                        ("id_parent", home.to_string()),
                        ("level_depth", t("2")),
                        ("active", t("1")),
                        ("is_root_category", t("0")),
                        ("position", pos.to_string()),
                        ("date_add", long_ago.clone()),
                        ("date_upd", long_ago.clone()),
                    ],
                );
                cats.insert(a.category.clone(), id);
            }
        }

        // a quarter of the catalogue already in the shop, with stock rows
        let in_shop = arts.len().min(50);
        let mut products: Vec<(u64, Decimal, Decimal, String, String)> = Vec::new();
        for a in arts.iter().take(in_shop) {
            let rules = match a.vat {
                SeedVat::Hoog => TAX_RULES_HIGH,
                SeedVat::Laag => TAX_RULES_LOW,
            };
            let cat = cats.get(&a.category).copied().unwrap_or(home);
            let id = s.insert(
                "products",
                &[
                    ("id_manufacturer", t("0")),
                    ("id_supplier", t("0")),
                    ("id_category_default", cat.to_string()),
                    ("new", t("")),
                    ("cache_default_attribute", t("0")),
                    ("id_default_image", t("")),
                    ("id_default_combination", t("0")),
                    ("id_tax_rules_group", rules.to_string()),
                    ("position_in_category", t("1")),
                    ("manufacturer_name", t("")),
                    ("quantity", a.stock.to_string()),
                    ("type", t("simple")),
                    ("id_shop_default", t("1")),
                    ("reference", a.sku.clone()),
                    ("width", t("0.000000")),
                    ("height", t("0.000000")),
                    ("depth", t("0.000000")),
                    ("weight", format!("{:.6}", a.weight)),
                    ("quantity_discount", t("0")),
                    ("ean13", t("")),
                    ("cache_is_pack", t("0")),
                    ("cache_has_attachments", t("0")),
                    ("is_virtual", t("0")),
                    ("state", t("1")),
                    ("on_sale", t("0")),
                    ("online_only", t("0")),
                    ("ecotax", t("0.000000")),
                    ("minimal_quantity", t("1")),
                    ("low_stock_threshold", t("")),
                    ("low_stock_alert", t("0")),
                    ("price", money6(a.price_excl)),
                    ("wholesale_price", money6(a.price_excl * Decimal::new(6, 1))),
                    ("unity", t("")),
                    ("unit_price_ratio", t("0.000000")),
                    ("additional_shipping_cost", t("0.000000")),
                    ("customizable", t("0")),
                    ("active", t("1")),
                    ("redirect_type", t("301-category")),
                    ("available_for_order", t("1")),
                    ("available_date", t("0000-00-00")),
                    ("show_condition", t("0")),
                    ("condition", t("new")),
                    ("show_price", t("1")),
                    ("indexed", t("1")),
                    ("visibility", t("both")),
                    ("advanced_stock_management", t("0")),
                    ("date_add", long_ago.clone()),
                    ("date_upd", long_ago.clone()),
                    ("pack_stock_type", t("3")),
                    ("link_rewrite", slug(&a.name)),
                    ("name", a.name.clone()),
                    ("description", format!("<p>{}</p>", a.name)),
                    ("description_short", t("")),
                    ("meta_title", t("")),
                    ("meta_description", t("")),
                    ("meta_keywords", t("")),
                    ("available_now", t("Op voorraad")),
                    ("available_later", t("")),
                ],
            );
            let mut cat_items = vec![AssocItem::from([("id".to_owned(), home.to_string())])];
            if cat != home {
                cat_items.push(AssocItem::from([("id".to_owned(), cat.to_string())]));
            }
            s.set_assoc("products", id, "categories", cat_items);
            s.insert(
                "stock_availables",
                &[
                    ("id_product", id.to_string()),
                    ("id_product_attribute", t("0")),
                    ("id_shop", SHOP_ID.to_string()),
                    ("id_shop_group", t("0")),
                    ("quantity", a.stock.to_string()),
                    ("depends_on_stock", t("0")),
                    ("out_of_stock", t("2")),
                    ("location", t("")),
                ],
            );
            products.push((
                id,
                a.price_excl,
                a.vat.percentage(),
                a.sku.clone(),
                a.name.clone(),
            ));
        }

        // registered customers, each with one address
        let mut rng = seed::rng(cfg, 12);
        let first = [
            "Jan", "Sanne", "Pieter", "Fleur", "Daan", "Emma", "Lucas", "Julia",
        ];
        let last = [
            "Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder",
        ];
        let cities = [
            ("Utrecht", "3511 AB"),
            ("Amsterdam", "1012 JS"),
            ("Gent", "9000"),
            ("Köln", "50667"),
        ];
        let mut customers: Vec<(u64, u64)> = Vec::new();
        let add_customer = |s: &mut Shop, i: usize, guest: bool, rng: &mut rand::rngs::StdRng| {
            let fname = first[i % first.len()].to_owned();
            let lname = last[(i / first.len() + i) % last.len()].to_owned();
            let company = (i % 4 == 1).then(|| format!("{lname} B.V."));
            let when = local_time(now - TimeDelta::days(30) + TimeDelta::minutes(i as i64), tz);
            let email = format!(
                "{}.{}{}@example.{}",
                fname.to_lowercase(),
                slug(&lname),
                i + 1,
                if guest { "com" } else { "nl" }
            );
            let cid = s.insert(
                "customers",
                &[
                    ("id_default_group", t(if guest { "2" } else { "3" })),
                    ("id_lang", t("1")),
                    ("secure_key", format!("{:032x}", rng.random::<u128>())),
                    ("deleted", t("0")),
                    ("passwd", t("$2y$10$sandboxsandboxsandboxsandboxsandboxsandbox")),
                    ("lastname", lname.clone()),
                    ("firstname", fname.clone()),
                    ("email", email),
                    ("id_gender", t("0")),
                    ("birthday", t("0000-00-00")),
                    ("newsletter", t("0")),
                    ("optin", t("0")),
                    ("company", company.clone().unwrap_or_default()),
                    ("outstanding_allow_amount", t("0.000000")),
                    ("max_payment_days", t("0")),
                    ("active", t("1")),
                    ("is_guest", t(if guest { "1" } else { "0" })),
                    ("id_shop", t("1")),
                    ("id_shop_group", t("1")),
                    ("date_add", when.clone()),
                    ("date_upd", when.clone()),
                ],
            );
            let (city, postcode) = cities[i % cities.len()];
            let country = match city {
                "Gent" => 3,
                "Köln" => 1,
                _ => COUNTRY_NL,
            };
            let vat = company
                .as_ref()
                .map(|_| format!("NL{:09}B01", 100_000_000 + i))
                .unwrap_or_default();
            let aid = s.insert(
                "addresses",
                &[
                    ("id_customer", cid.to_string()),
                    ("id_manufacturer", t("0")),
                    ("id_supplier", t("0")),
                    ("id_warehouse", t("0")),
                    ("id_country", country.to_string()),
                    ("id_state", t("0")),
                    ("alias", t("Mijn adres")),
                    ("company", company.unwrap_or_default()),
                    ("lastname", lname),
                    ("firstname", fname),
                    ("vat_number", vat),
                    ("address1", format!("Dorpsstraat {}", i + 1)),
                    ("address2", t("")),
                    ("postcode", t(postcode)),
                    ("city", t(city)),
                    ("phone", format!("030-{:07}", 1_000_000 + i)),
                    ("deleted", t("0")),
                    ("date_add", when.clone()),
                    ("date_upd", when),
                ],
            );
            (cid, aid)
        };
        for i in 0..cfg.customers {
            let c = add_customer(&mut s, i, false, &mut rng);
            customers.push(c);
        }

        // orders
        let eur = 1u64;
        let mut order_rng = seed::rng(cfg, 13);
        for i in 0..cfg.orders {
            if products.is_empty() {
                break;
            }
            let (cid, aid) = if i % 3 != 0 && !customers.is_empty() {
                customers[i % customers.len()]
            } else {
                add_customer(&mut s, 1000 + i, true, &mut order_rng)
            };
            // an address in a country the shop does not have any more (a broken record)
            let invoice_address = if i == 13 {
                let mut rec = s.get("addresses", aid).cloned().unwrap_or_default();
                rec.set("id_country", "999");
                let id = s.take_id("addresses");
                s.table_mut("addresses").insert(id, rec);
                id
            } else {
                aid
            };
            let round_type: u8 = match i % 7 {
                3 => 1,
                5 => 3,
                _ => 2,
            };
            let state = match i % 10 {
                4 => STATE_AWAITING_BANKWIRE,
                8 => STATE_CANCELED,
                6 => STATE_SHIPPED,
                1 | 5 => STATE_PROCESSING,
                _ => STATE_PAYMENT_ACCEPTED,
            };
            let placed = now - TimeDelta::hours((cfg.orders - i) as i64 * 3 + 1);
            let when = local_time(placed, tz);
            let reference: String = (0..9)
                .map(|_| char::from(b'A' + order_rng.random_range(0..26u8)))
                .collect();
            let oid = s.take_id("orders");
            let n_rows = 1 + i % 3;
            let mut products_excl = Decimal::ZERO;
            let mut products_incl = Decimal::ZERO;
            for r in 0..n_rows {
                let (pid, price, rate, sku, name) = products[(i * 7 + r * 3) % products.len()].clone();
                let qty = Decimal::from(1 + ((i + r) % 4) as i64);
                let factor = Decimal::ONE + rate / Decimal::ONE_HUNDRED;
                let unit_incl = (price * factor).round_dp(6);
                // PaymentModule / OrderDetail: per item, per line or on the total (round_type)
                let (total_excl, total_incl) = match round_type {
                    1 => (r2(price * qty), r2(price * factor) * qty),
                    3 => (price * qty, (price * qty * factor).round_dp(6)),
                    _ => (r2(price * qty), r2(price * qty * factor)),
                };
                products_excl += total_excl;
                products_incl += total_incl;
                let reference = if i == 7 && r == 0 { String::new() } else { sku };
                s.insert(
                    "order_details",
                    &[
                        ("id_order", oid.to_string()),
                        ("product_id", pid.to_string()),
                        ("product_attribute_id", t("0")),
                        ("product_quantity", qty.to_string()),
                        ("product_name", name),
                        ("product_reference", reference),
                        ("product_ean13", t("")),
                        ("product_price", money6(price)),
                        ("unit_price_tax_incl", money6(unit_incl)),
                        ("unit_price_tax_excl", money6(price)),
                        ("total_price_tax_incl", money6(total_incl)),
                        ("total_price_tax_excl", money6(total_excl)),
                        ("reduction_percent", t("0.00")),
                        ("reduction_amount", t("0.000000")),
                        ("reduction_amount_tax_incl", t("0.000000")),
                        ("reduction_amount_tax_excl", t("0.000000")),
                        ("product_weight", t("0.500000")),
                        (
                            "id_tax_rules_group",
                            t(if rate == Decimal::from(21) { "1" } else { "2" }),
                        ),
                        ("tax_computation_method", t("0")),
                        ("tax_name", format!("BTW NL {rate}%")),
                        ("tax_rate", format!("{rate:.3}")),
                    ],
                );
            }
            let products_excl = r2(products_excl);
            let products_incl = r2(products_incl);
            let ship_excl = Decimal::new(413, 2);
            let ship_incl = r2(ship_excl * Decimal::new(121, 2));
            let (disc_excl, disc_incl) = if i % 5 == 2 {
                (Decimal::new(500, 2), Decimal::new(605, 2))
            } else {
                (Decimal::ZERO, Decimal::ZERO)
            };
            let paid_excl = products_excl + ship_excl - disc_excl;
            let paid_incl = products_incl + ship_incl - disc_incl;
            let paid = matches!(state, STATE_PAYMENT_ACCEPTED | STATE_PROCESSING | STATE_SHIPPED);
            let m2 = |d: Decimal| money6(d);
            let rec = s.blank(
                resource("orders").expect("orders"),
                &[
                    ("id_address_delivery", aid.to_string()),
                    ("id_address_invoice", invoice_address.to_string()),
                    ("id_cart", (1000 + i).to_string()),
                    ("id_currency", eur.to_string()),
                    ("id_lang", t("1")),
                    ("id_customer", cid.to_string()),
                    ("id_carrier", t("2")),
                    ("current_state", state.to_string()),
                    (
                        "module",
                        t(if state == STATE_AWAITING_BANKWIRE {
                            "ps_wirepayment"
                        } else {
                            "mollie"
                        }),
                    ),
                    ("invoice_number", if paid { (i + 1).to_string() } else { t("0") }),
                    (
                        "invoice_date",
                        if paid {
                            when.clone()
                        } else {
                            t("0000-00-00 00:00:00")
                        },
                    ),
                    ("delivery_number", t("0")),
                    ("delivery_date", t("0000-00-00 00:00:00")),
                    ("valid", t(if paid { "1" } else { "0" })),
                    ("date_add", when.clone()),
                    ("date_upd", when.clone()),
                    ("shipping_number", t("")),
                    ("id_shop_group", t("1")),
                    ("id_shop", t("1")),
                    ("secure_key", format!("{:032x}", order_rng.random::<u128>())),
                    (
                        "payment",
                        t(if state == STATE_AWAITING_BANKWIRE {
                            "Bank transfer"
                        } else {
                            "iDEAL"
                        }),
                    ),
                    ("recyclable", t("0")),
                    ("gift", t("0")),
                    ("gift_message", t("")),
                    ("mobile_theme", t("0")),
                    // the legacy totals are tax-included copies (classes/order/Order.php)
                    ("total_discounts", m2(disc_incl)),
                    ("total_discounts_tax_incl", m2(disc_incl)),
                    ("total_discounts_tax_excl", m2(disc_excl)),
                    ("total_paid", m2(paid_incl)),
                    ("total_paid_tax_incl", m2(paid_incl)),
                    ("total_paid_tax_excl", m2(paid_excl)),
                    (
                        "total_paid_real",
                        m2(if paid { paid_incl } else { Decimal::ZERO }),
                    ),
                    ("total_products", m2(products_excl)),
                    ("total_products_wt", m2(products_incl)),
                    ("total_shipping", m2(ship_incl)),
                    ("total_shipping_tax_incl", m2(ship_incl)),
                    ("total_shipping_tax_excl", m2(ship_excl)),
                    ("carrier_tax_rate", t("21.000")),
                    ("total_wrapping", t("0.000000")),
                    ("total_wrapping_tax_incl", t("0.000000")),
                    ("total_wrapping_tax_excl", t("0.000000")),
                    // PS_PRICE_ROUND_MODE 2 = PS_ROUND_HALF_UP; PS_ROUND_TYPE as chosen above
                    ("round_mode", t("2")),
                    ("round_type", round_type.to_string()),
                    ("conversion_rate", t("1.000000")),
                    ("reference", reference),
                ],
            );
            s.table_mut("orders").insert(oid, rec);
            s.insert(
                "order_histories",
                &[
                    ("id_employee", t("0")),
                    ("id_order_state", state.to_string()),
                    ("id_order", oid.to_string()),
                    ("date_add", when),
                ],
            );
        }
        s
    }
}
