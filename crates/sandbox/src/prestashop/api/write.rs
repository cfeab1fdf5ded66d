//! Writes (`saveEntityFromXml`: codes 41, 84, 85, 86, 90-93, 127): full-record PUT, PATCH on
//! 8.x, POST from XML.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::json;

use crate::prestashop::data::{local_time, AssocItem, Shop, Val, SHOP_ID};
use crate::prestashop::schema::ResourceDef;
use crate::prestashop::wire::{self, parse_xml, Element};

use super::{computed, fail, App, Fail, Req};

/// Webservice fields without an object property (`getter`/`setter` in the webservice
/// parameters): saveEntityFromXml only nulls omitted fields the object has (`property_exists`).
pub(super) const VIRTUAL: &[&str] = &[
    "position_in_category",
    "manufacturer_name",
    "quantity",
    "nb_products_recursive",
];

pub(super) fn numeric_field(name: &str) -> bool {
    name.starts_with("id_")
        || matches!(
            name,
            "price"
                | "weight"
                | "quantity"
                | "depends_on_stock"
                | "out_of_stock"
                | "active"
                | "minimal_quantity"
        )
}

pub(super) fn class_name(def: &ResourceDef) -> String {
    let mut s = String::new();
    for part in def.single.split('_') {
        let mut c = part.chars();
        if let Some(f) = c.next() {
            s.push(f.to_ascii_uppercase());
            s.extend(c);
        }
    }
    s
}

pub(super) fn save(
    app: &App,
    shop: &mut Shop,
    def: &'static ResourceDef,
    req: &Req,
    create: bool,
) -> Result<Response, Fail> {
    let patch = req.method == "PATCH";
    let xml_error = |msg: &str| {
        fail(
            500,
            127,
            format!(
                "XML error : {msg}\nXML length : {}\nOriginal XML : {}",
                req.body.len(),
                String::from_utf8_lossy(&req.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        )
    };
    // the webservice reads XML only (a JSON body is "not XML"; PrestaShop/PrestaShop#14889)
    if req.body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'<') {
        return Err(xml_error("String could not be parsed as XML"));
    }
    let root = parse_xml(&req.body).map_err(|e| xml_error(&e))?;
    let Some(entity) = root.children.first() else {
        return Err(fail(400, 90, "id is required when modifying a resource"));
    };
    let id_text = entity
        .child("id")
        .map(|e| e.text.trim().to_owned())
        .unwrap_or_default();
    let mut rec;
    let id;
    if create {
        if !id_text.is_empty() {
            return Err(fail(400, 91, "id is forbidden when adding a new resource"));
        }
        rec = shop.blank(def, &[]);
        id = None;
    } else {
        if id_text.is_empty() {
            return Err(fail(400, 90, "id is required when modifying a resource"));
        }
        let n: u64 = id_text.parse().unwrap_or(0);
        rec = shop
            .get(def.name, n)
            .cloned()
            .ok_or_else(|| fail(404, 92, "Invalid ID"))?;
        id = Some(n);
    }
    let before = rec.clone();
    let langs = shop.languages.clone();
    for f in def.fields {
        if f.name == "id" {
            continue;
        }
        let present: Option<&Element> = entity.child(f.name);
        if patch && present.is_none() {
            continue;
        }
        if !f.lang {
            match present {
                Some(el) => {
                    if f.read_only {
                        return Err(fail(
                            400,
                            93,
                            format!(
                                "parameter \"{}\" not writable. Please remove this attribute of this XML",
                                f.name
                            ),
                        ));
                    }
                    rec.set(f.name, el.text.clone());
                }
                None if f.required => {
                    return Err(fail(400, 41, format!("parameter \"{}\" required", f.name)));
                }
                // a virtual field (a getter/setter, no object property) is left alone
                None if VIRTUAL.contains(&f.name) => {}
                // an omitted optional field becomes NULL (saveEntityFromXml)
                None => rec.set(f.name, ""),
            }
        } else {
            let mut m: BTreeMap<u32, String> = match rec.fields.get(f.name) {
                Some(Val::Lang(m)) => m.clone(),
                _ => BTreeMap::new(),
            };
            match present {
                Some(el) if el.children.iter().any(|c| c.name == "language") => {
                    for l in el.children.iter().filter(|c| c.name == "language") {
                        if let Some(lid) = l.attrs.get("id").and_then(|x| x.parse::<u32>().ok()) {
                            if langs.contains(&lid) {
                                m.insert(lid, l.text.clone());
                            }
                        }
                    }
                }
                Some(el) => {
                    for l in &langs {
                        m.insert(*l, el.text.clone());
                    }
                }
                // an omitted translation becomes '' in every language
                None => {
                    for l in &langs {
                        m.insert(*l, String::new());
                    }
                }
            }
            rec.fields.insert(f.name.to_owned(), Val::Lang(m));
        }
    }
    // special setters
    if def.name == "products" {
        if let Some(p) = entity.child("position_in_category") {
            let pos = p.text.trim();
            let n: u64 = pos.parse().unwrap_or(0);
            if n == 0 {
                return Err(fail(
                    400,
                    134,
                    "You cannot set 0 or an empty position, the system starts at 1.",
                ));
            }
            let count = shop.table("products").map_or(0, |t| t.len() as u64) + 1;
            if n > count {
                return Err(fail(400, 135, format!("You cannot set a position greater than the total number of products in the category, starting at 1. ({n} > {count})")));
            }
        }
    }
    if def.name == "stock_availables"
        && before.get("depends_on_stock") == "1"
        && rec.get("depends_on_stock") == "1"
        && entity.child("quantity").is_some()
        && rec.get("quantity") != before.get("quantity")
    {
        return Err(fail(400, 133, "You cannot change the quantity of a product that depends on the stock (advanced stock management)."));
    }
    // validation (ObjectModel::validateFieldsLang / validateFields)
    let default_lang = langs.first().copied().unwrap_or(1);
    for f in def.fields.iter().filter(|f| f.lang && f.required) {
        if rec
            .fields
            .get(f.name)
            .map(|v| v.text(default_lang))
            .unwrap_or("")
            .trim()
            .is_empty()
        {
            return Err(fail(
                400,
                84,
                format!(
                    "Validation error: \"Property {}->{} is empty.\"",
                    class_name(def),
                    f.name
                ),
            ));
        }
    }
    for f in def.fields.iter().filter(|f| !f.lang && numeric_field(f.name)) {
        let v = rec.get(f.name).trim().to_owned();
        if !v.is_empty() && v.parse::<Decimal>().is_err() {
            return Err(fail(
                400,
                85,
                format!(
                    "Validation error: \"Property {}->{} is not valid\"",
                    class_name(def),
                    f.name
                ),
            ));
        }
    }
    // associations: the ones with a setter are replaced, computed ones ignored
    if let Some(assocs) = entity.child("associations") {
        for a in &assocs.children {
            let Some(adef) = def.assoc(&a.name) else {
                return Err(fail(
                    400,
                    86,
                    format!("The association \"{}\" does not exists", a.name),
                ));
            };
            let settable = matches!(
                (def.name, adef.name),
                ("products", "categories")
                    | ("customers", "groups")
                    | ("combinations", "product_option_values")
                    | ("categories", _)
            );
            if !settable {
                continue;
            }
            let items: Vec<AssocItem> = a
                .children
                .iter()
                .map(|item| {
                    item.children
                        .iter()
                        .map(|c| (c.name.clone(), c.text.trim().to_owned()))
                        .collect()
                })
                .collect();
            rec.assoc.insert(adef.name.to_owned(), items);
        }
    }
    let now = local_time(Utc::now(), shop.tz);
    if def.field("date_upd").is_some() {
        // ObjectModel::update() / add() stamp date_upd whatever was sent
        rec.set("date_upd", now.clone());
    }
    if create && def.field("date_add").is_some() && rec.get("date_add").is_empty() {
        rec.set("date_add", now.clone());
    }
    // hooks of the object classes
    match def.name {
        "order_histories" if create => {
            let oid: u64 = rec.get("id_order").parse().unwrap_or(0);
            let sid: u64 = rec.get("id_order_state").parse().unwrap_or(0);
            if shop.get("order_states", sid).is_none() {
                return Err(fail(
                    400,
                    85,
                    "Validation error: \"Property OrderHistory->id_order_state is not valid\"",
                ));
            }
            let Some(order) = shop.table_mut("orders").get_mut(&oid) else {
                return Err(fail(
                    400,
                    85,
                    "Validation error: \"Property OrderHistory->id_order is not valid\"",
                ));
            };
            order.set("current_state", sid.to_string());
            order.set("date_upd", now.clone());
            if req.param("sendemail") == Some("1") {
                shop.mails += 1;
            }
        }
        "orders" if !create && rec.get("current_state") != before.get("current_state") => {
            // Order::update with a new current_state adds a history line and mails (#11154)
            let oid = id.unwrap_or(0).to_string();
            let state = rec.get("current_state").to_owned();
            shop.insert(
                "order_histories",
                &[
                    ("id_employee", "0".into()),
                    ("id_order_state", state),
                    ("id_order", oid),
                    ("date_add", now.clone()),
                ],
            );
            shop.mails += 1;
        }
        "stock_availables" if rec.get("id_shop").is_empty() => {
            // a PUT without id_shop stores 0: the row leaves its shop (#18953)
            rec.set("id_shop", "0");
        }
        "categories" if create => {
            let parent: u64 = rec.get("id_parent").parse().unwrap_or(0);
            let depth: u64 = shop
                .get("categories", parent)
                .map_or(0, |p| p.get("level_depth").parse().unwrap_or(0));
            rec.set("level_depth", (depth + 1).to_string());
        }
        _ => {}
    }
    let id = match id {
        Some(n) => n,
        None => shop.take_id(def.name),
    };
    if def.name == "products" && create {
        if rec.assoc.get("categories").is_none_or(Vec::is_empty) {
            let cat = rec.get("id_category_default").to_owned();
            if !cat.is_empty() && cat != "0" {
                rec.assoc.insert(
                    "categories".into(),
                    vec![AssocItem::from([("id".to_owned(), cat)])],
                );
            }
        }
        // Product::add creates the product-level stock row of each shop (quantity 0)
        shop.insert(
            "stock_availables",
            &[
                ("id_product", id.to_string()),
                ("id_product_attribute", "0".into()),
                ("id_shop", SHOP_ID.to_string()),
                ("id_shop_group", "0".into()),
                ("quantity", "0".into()),
                ("depends_on_stock", "0".into()),
                ("out_of_stock", "2".into()),
                ("location", String::new()),
            ],
        );
    }
    if def.name == "combinations" && create {
        shop.insert(
            "stock_availables",
            &[
                ("id_product", rec.get("id_product").to_owned()),
                ("id_product_attribute", id.to_string()),
                ("id_shop", SHOP_ID.to_string()),
                ("id_shop_group", "0".into()),
                ("quantity", "0".into()),
                ("depends_on_stock", "0".into()),
                ("out_of_stock", "2".into()),
                ("location", String::new()),
            ],
        );
    }
    shop.table_mut(def.name).insert(id, rec.clone());
    let rec = computed(shop, def, id, &rec);
    let render = app.render(req, shop)?;
    let body = if req.json {
        let v = wire::record_json(def, id, &rec, None, &render);
        serde_json::to_vec(&json!({ def.single: v })).unwrap_or_default()
    } else {
        wire::record_xml(def, Some(id), &rec, &render)
    };
    let status = if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(app.respond(req, status, body))
}
