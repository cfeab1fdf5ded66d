//! The seeded orders: every real shop shape (discount settings, coupons, edits, bundles,
//! foreign currency, broken records).

use std::collections::BTreeMap;

use chrono::Duration;
use rand::Rng;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::magento::wire::{money, round2, ts};
use crate::seed::{self, SeedConfig};

use calc::TaxSetting;

use super::{
    amounts, at, calc, item_json, order_address, person, row_of, shop_price, tax_rate, Amounts, Bundle,
    ItemRow, LineSpec, OrderCtx, Shop,
};

impl Shop {
    pub(super) fn seed_orders(&mut self, cfg: &SeedConfig) {
        let mut rng = seed::rng(cfg, 2);
        let simples: Vec<u64> = self
            .products
            .values()
            .filter(|p| p.type_id == "simple")
            .map(|p| p.id)
            .collect();
        if simples.is_empty() {
            return;
        }
        let parent_of: BTreeMap<u64, u64> = self
            .products
            .values()
            .flat_map(|p| p.children.iter().map(move |c| (*c, p.id)))
            .collect();
        let n = cfg.orders;
        // Special orders, so connector tests can show quarantine and the configurable shape.
        let missing_sku = n.checked_sub(1).map(|last| 3.min(last));
        let unknown_country = n
            .checked_sub(1)
            .map(|last| if last >= 5 { 5 } else { last.saturating_sub(1) });
        let forced_configurable = n.checked_sub(1).map(|last| 1.min(last));
        let forced_discount = n.checked_sub(1).map(|last| 2.min(last));
        // The shapes of issue 11: a 100 % coupon, an edited order and its cancelled parent,
        // bundles of both price types, a foreign-currency order, and each tax setting.
        let idx = |k: usize| (k < n).then_some(k);
        let coupon100 = idx(4);
        let edit_parent = idx(6).filter(|_| n > 7);
        let edit_child = edit_parent.map(|k| k + 1);
        let bundle_dynamic = idx(8);
        let bundle_fixed = idx(9);
        let foreign = idx(10);
        let forced_settings = [(idx(11), 1usize), (idx(12), 2), (idx(13), 3)];
        let incl = self.prices_include_tax;
        // a fixed-price bundle is an article of its own in the accounting (the seed article
        // after the ones the shop holds as simples)
        let seed_articles = seed::articles(cfg);
        let fixed_bundle = seed_articles
            .get(seed_articles.len().div_ceil(10))
            .map(|a| (a.sku.clone(), a.vat.percentage()));
        let mut edit_source: Option<(Vec<LineSpec>, bool, usize)> = None;
        let mut item_id = 1u64;
        let base = at(2025, 3, 3, 8);
        for o in 0..n {
            let id = o as u64 + 1;
            let roll: f64 = rng.random();
            let special = [coupon100, edit_child, bundle_dynamic, bundle_fixed, foreign]
                .into_iter()
                .chain(forced_settings.iter().map(|(k, _)| *k))
                .any(|k| k == Some(o));
            let (state, status) = if Some(o) == edit_parent {
                ("canceled", "canceled")
            } else if o == missing_sku.unwrap_or(usize::MAX)
                || o == unknown_country.unwrap_or(usize::MAX)
                || special
            {
                ("processing", "processing")
            } else if roll < 0.2 {
                ("new", "pending")
            } else if roll < 0.65 {
                ("processing", "processing")
            } else if roll < 0.9 {
                ("complete", "complete")
            } else {
                ("canceled", "canceled")
            };
            let created = base + Duration::minutes(o as i64 * 197);
            let updated = created
                + match state {
                    // cancelled by the edit that creates its successor
                    _ if Some(o) == edit_parent => Duration::minutes(197),
                    "processing" => Duration::hours(1),
                    "complete" => Duration::hours(26),
                    "canceled" => Duration::hours(2),
                    _ => Duration::zero(),
                };
            let ctx = OrderCtx {
                id,
                created,
                updated,
                state,
                incl: self.prices_include_tax,
            };
            let registered = cfg.customers > 0 && rng.random_bool(0.6);
            let customer_k = if registered {
                rng.random_range(1..=cfg.customers)
            } else {
                0
            };
            let forced_setting = forced_settings
                .iter()
                .find(|(k, _)| *k == Some(o))
                .map(|(_, s)| *s);
            let discount_pct = if Some(o) == coupon100 {
                Decimal::ONE_HUNDRED
            } else if Some(o) == forced_discount || forced_setting.is_some() || rng.random_bool(0.25) {
                Decimal::TEN
            } else {
                Decimal::ZERO
            };
            let mut setting = TaxSetting::ALL[forced_setting.unwrap_or(o % 4)];
            if !incl || Some(o) == coupon100 {
                // with prices excl. tax SnelStart computes VAT on the discounted rows, so the
                // seed's excl. shop taxes after discount; a 100 % coupon does too
                setting.after_discount = true;
            }
            if Some(o) == coupon100 {
                setting.discount_incl = incl;
            }
            // the edit keeps the parent's buyer
            let (registered, customer_k) = match (&edit_source, Some(o) == edit_child) {
                (Some((_, r, k)), true) => (*r, *k),
                _ => (registered, customer_k),
            };

            // Lines.
            let mut specs: Vec<LineSpec> = Vec::new();
            let lines = rng.random_range(1..=3usize);
            for l in 0..lines {
                let pid = simples[rng.random_range(0..simples.len())];
                let pid = if l == 0 && Some(o) == forced_configurable {
                    parent_of.keys().next().copied().unwrap_or(pid)
                } else {
                    pid
                };
                let Some(p) = self.products.get(&pid) else {
                    continue;
                };
                let qty = Decimal::from(rng.random_range(1..=3i64));
                let configurable = parent_of.get(&pid).and_then(|parent| {
                    let make = (l == 0 && Some(o) == forced_configurable) || rng.random_bool(0.5);
                    let parent = self.products.get(parent)?;
                    make.then(|| (parent.id, parent.name.clone(), p.name.clone()))
                });
                specs.push(LineSpec {
                    sku: Some(p.sku.clone()),
                    name: p.name.clone(),
                    product_id: Some(p.id),
                    qty,
                    rate: tax_rate(p.tax_class()),
                    unit: p.price,
                    weight: p.weight.unwrap_or_default(),
                    configurable,
                    bundle: None,
                });
            }
            if Some(o) == missing_sku {
                let rate = Decimal::from(21);
                specs.push(LineSpec {
                    sku: None,
                    name: "Cadeauverpakking".into(),
                    product_id: None,
                    qty: Decimal::ONE,
                    rate,
                    unit: shop_price(Decimal::new(207, 2), rate, self.prices_include_tax),
                    weight: Decimal::ZERO,
                    configurable: None,
                    bundle: None,
                });
            }
            let simple_spec = |k: usize, unit: Option<Decimal>| {
                let p = self.products.get(&simples[k % simples.len()])?;
                Some(LineSpec {
                    sku: Some(p.sku.clone()),
                    name: p.name.clone(),
                    product_id: Some(p.id),
                    qty: Decimal::ONE,
                    rate: tax_rate(p.tax_class()),
                    unit: unit.unwrap_or(p.price),
                    weight: p.weight.unwrap_or_default(),
                    configurable: None,
                    bundle: None,
                })
            };
            let kids = |zero: bool| -> Vec<LineSpec> {
                (0..2)
                    .filter_map(|k| simple_spec(o + k, zero.then_some(Decimal::ZERO)))
                    .collect()
            };
            if Some(o) == bundle_dynamic {
                let children = kids(false);
                let skus: Vec<String> = children.iter().filter_map(|c| c.sku.clone()).collect();
                specs = vec![LineSpec {
                    // a dynamic SKU: the bundle's SKU with its options' SKUs
                    sku: Some(format!("GESCHENKSET-{}", skus.join("-"))),
                    name: "Geschenkset (samengesteld)".into(),
                    product_id: None,
                    qty: Decimal::ONE,
                    rate: children.first().map(|c| c.rate).unwrap_or_default(),
                    unit: Decimal::ZERO,
                    weight: Decimal::ZERO,
                    configurable: None,
                    bundle: Some(Bundle::Dynamic(children)),
                }];
            }
            if let (true, Some((sku, rate))) = (Some(o) == bundle_fixed, &fixed_bundle) {
                let rate = *rate;
                specs = vec![LineSpec {
                    sku: Some(sku.clone()),
                    name: "Geschenkset (vaste prijs)".into(),
                    product_id: None,
                    qty: Decimal::from(2),
                    rate,
                    unit: shop_price(Decimal::new(2479, 2), rate, incl),
                    weight: Decimal::ZERO,
                    configurable: None,
                    bundle: Some(Bundle::Fixed(kids(true))),
                }];
            }
            if Some(o) == edit_parent {
                edit_source = Some((specs.clone(), registered, customer_k));
            }
            if let (true, Some((parent_specs, _, _))) = (Some(o) == edit_child, &edit_source) {
                // the admin added one more of the first article
                specs = parent_specs.clone();
                if let Some(first) = specs.first_mut() {
                    first.qty += Decimal::ONE;
                }
            }
            // a foreign-currency order: prices converted at the store's rate, every amount
            // computed again in the order currency (base_* stay EUR)
            let fx = (Some(o) == foreign).then(|| Decimal::new(10850, 4));
            let conv = |d: Decimal| fx.map_or(d, |r| round2(d * r));
            let calc = |s: &LineSpec| -> (Amounts, Amounts) {
                let b = amounts(s.unit, s.qty, s.rate, incl, discount_pct, setting);
                let a = match fx {
                    Some(_) => amounts(conv(s.unit), s.qty, s.rate, incl, discount_pct, setting),
                    None => b,
                };
                (a, b)
            };

            let mut items: Vec<Value> = Vec::new();
            let z = Decimal::ZERO;
            let (mut weight, mut qty_total) = (z, z);
            // sums of the priced rows, in the order and in the base currency
            let (mut tot, mut tot_base) = (Amounts::default(), Amounts::default());
            let mut applied: BTreeMap<Decimal, Decimal> = BTreeMap::new();
            for s in &specs {
                weight += s.weight * s.qty;
                qty_total += s.qty;
                let child_of =
                    |parent: &Map<String, Value>, mut child: Map<String, Value>, parent_id: u64| {
                        child.insert("parent_item".into(), Value::Object(parent.clone()));
                        child.insert("parent_item_id".into(), json!(parent_id));
                        Value::Object(child)
                    };
                match (&s.configurable, &s.bundle) {
                    (Some((parent_pid, parent_name, child_name)), _) => {
                        let (a, b) = calc(s);
                        tot = tot + a;
                        tot_base = tot_base + b;
                        *applied.entry(s.rate).or_default() += a.tax;
                        let parent_row = ItemRow {
                            name: parent_name,
                            product_id: Some(*parent_pid),
                            ..row_of(item_id, s, "configurable", discount_pct)
                        };
                        let parent_item = item_json(&ctx, &parent_row, &a, &b);
                        let child_row = ItemRow {
                            item_id: item_id + 1,
                            name: child_name,
                            product_id: s.product_id,
                            product_type: "simple",
                            rate: Decimal::ZERO,
                            discount_pct: Decimal::ZERO,
                            ..parent_row
                        };
                        let child = item_json(&ctx, &child_row, &Amounts::default(), &Amounts::default());
                        items.push(Value::Object(parent_item.clone()));
                        items.push(child_of(&parent_item, child, item_id));
                        item_id += 2;
                    }
                    (None, Some(Bundle::Dynamic(children))) => {
                        let parent_id = item_id;
                        let mut rows = Vec::new();
                        let (mut sum, mut sum_base) = (Amounts::default(), Amounts::default());
                        for (k, c) in children.iter().enumerate() {
                            let (a, b) = calc(c);
                            sum = sum + a;
                            sum_base = sum_base + b;
                            *applied.entry(c.rate).or_default() += a.tax;
                            rows.push(item_json(
                                &ctx,
                                &row_of(parent_id + 1 + k as u64, c, "simple", discount_pct),
                                &a,
                                &b,
                            ));
                        }
                        tot = tot + sum;
                        tot_base = tot_base + sum_base;
                        let parent = item_json(
                            &ctx,
                            &row_of(parent_id, s, "bundle", discount_pct),
                            &sum,
                            &sum_base,
                        );
                        items.push(Value::Object(parent.clone()));
                        items.extend(rows.into_iter().map(|r| child_of(&parent, r, parent_id)));
                        item_id += 1 + children.len() as u64;
                    }
                    (None, Some(Bundle::Fixed(children))) => {
                        let (a, b) = calc(s);
                        tot = tot + a;
                        tot_base = tot_base + b;
                        *applied.entry(s.rate).or_default() += a.tax;
                        let parent_id = item_id;
                        let parent = item_json(&ctx, &row_of(parent_id, s, "bundle", discount_pct), &a, &b);
                        items.push(Value::Object(parent.clone()));
                        for (k, c) in children.iter().enumerate() {
                            let row = ItemRow {
                                qty: c.qty * s.qty,
                                discount_pct: Decimal::ZERO,
                                ..row_of(parent_id + 1 + k as u64, c, "simple", discount_pct)
                            };
                            let child = item_json(&ctx, &row, &Amounts::default(), &Amounts::default());
                            items.push(child_of(&parent, child, parent_id));
                        }
                        item_id += 1 + children.len() as u64;
                    }
                    (None, None) => {
                        let (a, b) = calc(s);
                        tot = tot + a;
                        tot_base = tot_base + b;
                        *applied.entry(s.rate).or_default() += a.tax;
                        items.push(Value::Object(item_json(
                            &ctx,
                            &row_of(item_id, s, "simple", discount_pct),
                            &a,
                            &b,
                        )));
                        item_id += 1;
                    }
                }
            }
            let (subtotal, subtotal_incl, tax, dtc, discount) =
                (tot.row_total, tot.row_incl, tot.tax, tot.dtc, tot.discount);
            let (ship_incl, method, description) =
                if tot_base.row_incl >= Decimal::from(75) || Some(o) == coupon100 {
                    (
                        Decimal::ZERO,
                        "freeshipping_freeshipping",
                        "Gratis verzending - Gratis",
                    )
                } else {
                    (Decimal::new(495, 2), "flatrate_flatrate", "Flat Rate - Fixed")
                };
            let high = Decimal::from(21);
            let ship_tax_of = |incl: Decimal| round2(incl * high / (Decimal::ONE_HUNDRED + high));
            let base_ship_incl = ship_incl;
            let base_ship_tax = ship_tax_of(base_ship_incl);
            let base_ship_excl = base_ship_incl - base_ship_tax;
            let ship_incl = conv(ship_incl);
            let ship_tax = ship_tax_of(ship_incl);
            let ship_excl = ship_incl - ship_tax;
            if ship_tax > Decimal::ZERO {
                *applied.entry(high).or_default() += ship_tax;
            }
            let tax_total = tax + ship_tax;
            let discount_amount = -discount;
            // the total collectors: subtotal + shipping + discount + tax + compensation
            let grand_total = subtotal + ship_excl + discount_amount + tax_total + dtc;
            let base_grand_total = tot_base.row_total + base_ship_excl - tot_base.discount
                + tot_base.tax
                + base_ship_tax
                + tot_base.dtc;
            let paid = if matches!(state, "processing" | "complete") {
                grand_total
            } else {
                Decimal::ZERO
            };

            // Who and where.
            let (buyer, email, customer_address) = if registered {
                (
                    Self::customer_person(customer_k),
                    format!("klant{customer_k}@example.nl"),
                    Some(customer_k as u64),
                )
            } else {
                let k = 100 + o;
                (
                    person(k, o % 5 == 4, o % 6 == 0),
                    format!("gast{}@example.nl", o + 1),
                    None,
                )
            };
            let mut billing_person = buyer.clone();
            let mut shipping_person = if o % 7 == 3 {
                let mut other = person(200 + o, buyer.country == "BE", false);
                other.firstname = buyer.firstname.clone();
                other.lastname = buyer.lastname.clone();
                other
            } else {
                buyer.clone()
            };
            if Some(o) == unknown_country {
                billing_person.country = "ZZ".into();
                shipping_person.country = "ZZ".into();
            }
            let billing = order_address(
                &billing_person,
                "billing",
                id * 2 - 1,
                id,
                &email,
                customer_address,
            );
            let shipping = order_address(&shipping_person, "shipping", id * 2, id, &email, customer_address);
            let (pay_method, pay_info) = match o % 3 {
                0 => ("checkmo", "Check / Money order"),
                1 => ("banktransfer", "Bank Transfer Payment"),
                _ => ("mollie_methods_ideal", "iDEAL"),
            };
            let mut payment = Map::new();
            payment.insert("account_status".into(), Value::Null);
            payment.insert("additional_information".into(), json!([pay_info]));
            payment.insert("amount_ordered".into(), money(grand_total));
            if paid > Decimal::ZERO {
                payment.insert("amount_paid".into(), money(paid));
                payment.insert("base_amount_paid".into(), money(base_grand_total));
            }
            payment.insert("base_amount_ordered".into(), money(base_grand_total));
            payment.insert("base_shipping_amount".into(), money(base_ship_excl));
            payment.insert("cc_last4".into(), Value::Null);
            payment.insert("entity_id".into(), json!(id));
            payment.insert("method".into(), json!(pay_method));
            payment.insert("parent_id".into(), json!(id));
            payment.insert("shipping_amount".into(), money(ship_excl));

            let shipping_total = json!({
                "base_shipping_amount": money(base_ship_excl),
                "base_shipping_discount_amount": 0,
                "base_shipping_discount_tax_compensation_amnt": 0,
                "base_shipping_incl_tax": money(base_ship_incl),
                "base_shipping_tax_amount": money(base_ship_tax),
                "shipping_amount": money(ship_excl),
                "shipping_discount_amount": 0,
                "shipping_discount_tax_compensation_amount": 0,
                "shipping_incl_tax": money(ship_incl),
                "shipping_tax_amount": money(ship_tax),
            });
            let applied_taxes: Vec<Value> = applied
                .iter()
                .map(|(rate, amount)| {
                    let code = if *rate == high { "NL-BTW-21" } else { "NL-BTW-9" };
                    json!({"code": code, "title": code, "percent": money(*rate), "amount": money(*amount), "base_amount": money(*amount)})
                })
                .collect();
            let mut histories = Vec::new();
            if state == "complete" {
                histories.push(json!({
                    "comment": "Verzonden met PostNL",
                    "created_at": ts(updated),
                    "entity_id": self.next_history_id,
                    "entity_name": "shipment",
                    "is_customer_notified": 1,
                    "is_visible_on_front": 0,
                    "parent_id": id,
                    "status": status,
                }));
                self.next_history_id += 1;
            }

            let mut m = Map::new();
            let put = |m: &mut Map<String, Value>, k: &str, v: Value| {
                m.insert(k.to_owned(), v);
            };
            let base_paid = if paid > Decimal::ZERO {
                base_grand_total
            } else {
                Decimal::ZERO
            };
            put(&mut m, "base_currency_code", json!("EUR"));
            put(&mut m, "base_discount_amount", money(-tot_base.discount));
            put(
                &mut m,
                "base_discount_tax_compensation_amount",
                money(tot_base.dtc),
            );
            put(&mut m, "base_grand_total", money(base_grand_total));
            put(&mut m, "base_shipping_amount", money(base_ship_excl));
            put(&mut m, "base_shipping_incl_tax", money(base_ship_incl));
            put(&mut m, "base_shipping_tax_amount", money(base_ship_tax));
            put(&mut m, "base_shipping_discount_amount", json!(0));
            put(&mut m, "base_shipping_discount_tax_compensation_amnt", json!(0));
            put(&mut m, "base_subtotal", money(tot_base.row_total));
            put(&mut m, "base_subtotal_incl_tax", money(tot_base.row_incl));
            put(&mut m, "base_tax_amount", money(tot_base.tax + base_ship_tax));
            put(&mut m, "base_total_due", money(base_grand_total - base_paid));
            put(&mut m, "base_total_paid", money(base_paid));
            put(&mut m, "base_to_global_rate", json!(1));
            put(&mut m, "base_to_order_rate", fx.map_or(json!(1), money));
            put(&mut m, "billing_address_id", json!(id * 2 - 1));
            if discount > Decimal::ZERO {
                put(&mut m, "coupon_code", json!("KORTING10"));
            }
            put(&mut m, "created_at", json!(ts(created)));
            put(&mut m, "customer_email", json!(email));
            put(&mut m, "customer_firstname", json!(buyer.firstname));
            put(&mut m, "customer_group_id", json!(if registered { 1 } else { 0 }));
            if registered {
                put(&mut m, "customer_id", json!(customer_k));
            }
            put(&mut m, "customer_is_guest", json!(if registered { 0 } else { 1 }));
            put(&mut m, "customer_lastname", json!(buyer.lastname));
            put(&mut m, "customer_note_notify", json!(1));
            if let Some(v) = &billing_person.vat_id {
                put(&mut m, "customer_taxvat", json!(v));
            }
            put(&mut m, "discount_amount", money(discount_amount));
            if discount > Decimal::ZERO {
                put(&mut m, "discount_description", json!("KORTING10"));
            }
            put(&mut m, "discount_tax_compensation_amount", money(dtc));
            put(&mut m, "email_sent", json!(1));
            put(&mut m, "entity_id", json!(id));
            put(&mut m, "global_currency_code", json!("EUR"));
            put(&mut m, "grand_total", money(grand_total));
            match (Some(o) == edit_child, edit_parent) {
                (true, Some(k)) => {
                    // Magento\Sales\Model\AdminOrder\Create::createOrder numbers an edit
                    // `<original>-<n>` and links both ways
                    let parent = format!("{:09}", k + 1);
                    put(&mut m, "increment_id", json!(format!("{parent}-1")));
                    put(&mut m, "original_increment_id", json!(parent));
                    put(&mut m, "relation_parent_id", json!(k + 1));
                    put(&mut m, "relation_parent_real_id", json!(parent));
                    put(&mut m, "edit_increment", json!(1));
                }
                _ => {
                    put(&mut m, "increment_id", json!(format!("{id:09}")));
                }
            }
            if Some(o) == edit_parent {
                put(&mut m, "relation_child_id", json!(id + 1));
                put(&mut m, "relation_child_real_id", json!(format!("{id:09}-1")));
            }
            put(&mut m, "is_virtual", json!(0));
            put(
                &mut m,
                "order_currency_code",
                json!(if fx.is_some() { "USD" } else { "EUR" }),
            );
            put(
                &mut m,
                "protect_code",
                json!(format!("{:06x}", id * 2_654_435_761 % 0xFF_FFFF)),
            );
            put(&mut m, "quote_id", json!(id + 500));
            put(&mut m, "shipping_amount", money(ship_excl));
            put(&mut m, "shipping_description", json!(description));
            put(&mut m, "shipping_discount_amount", json!(0));
            put(&mut m, "shipping_incl_tax", money(ship_incl));
            put(&mut m, "shipping_tax_amount", money(ship_tax));
            put(&mut m, "state", json!(state));
            put(&mut m, "status", json!(status));
            put(&mut m, "store_currency_code", json!("EUR"));
            put(&mut m, "store_id", json!(1));
            put(
                &mut m,
                "store_name",
                json!("Main Website\nMain Website Store\nDefault Store View"),
            );
            put(&mut m, "subtotal", money(subtotal));
            put(&mut m, "subtotal_incl_tax", money(subtotal_incl));
            put(&mut m, "tax_amount", money(tax_total));
            if state == "canceled" {
                put(&mut m, "total_canceled", money(grand_total));
            }
            put(&mut m, "total_due", money(grand_total - paid));
            if paid > Decimal::ZERO {
                put(&mut m, "total_invoiced", money(paid));
            }
            put(&mut m, "total_item_count", json!(specs.len()));
            put(&mut m, "total_paid", money(paid));
            put(&mut m, "total_qty_ordered", money(qty_total));
            put(&mut m, "updated_at", json!(ts(updated)));
            put(&mut m, "weight", money(weight));
            put(&mut m, "items", Value::Array(items.clone()));
            put(&mut m, "billing_address", billing);
            put(&mut m, "payment", Value::Object(payment));
            put(&mut m, "status_histories", Value::Array(histories));
            put(
                &mut m,
                "extension_attributes",
                json!({
                    "shipping_assignments": [{
                        "shipping": { "address": shipping, "method": method, "total": shipping_total },
                        "items": items,
                    }],
                    "payment_additional_info": [{"key": "method_title", "value": pay_info}],
                    "applied_taxes": applied_taxes,
                }),
            );
            self.orders.insert(id, Value::Object(m));
        }
    }
}
