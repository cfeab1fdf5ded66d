//! Reads: the associations computed on output, `filter[...]`/`sort`/`limit`/`display`
//! (`manageFilters`, codes 28-39), the list and the single record.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::prestashop::data::{AssocItem, Rec, Shop, Val, SHOP_ID};
use crate::prestashop::schema::ResourceDef;
use crate::prestashop::{wire, PrestaVersion};

use super::{fail, App, Fail, Req};

/// A record with the associations PrestaShop computes on output: a product's combinations and
/// stock rows (and its `quantity`, read from its stock row), an order's rows (its details).
pub(super) fn computed(shop: &Shop, def: &ResourceDef, id: u64, rec: &Rec) -> Rec {
    let mut r = rec.clone();
    let idtext = id.to_string();
    match def.name {
        "products" => {
            let combos: Vec<AssocItem> = shop
                .table("combinations")
                .into_iter()
                .flatten()
                .filter(|(_, c)| c.get("id_product") == idtext)
                .map(|(cid, _)| AssocItem::from([("id".to_owned(), cid.to_string())]))
                .collect();
            let mut stock = Vec::new();
            for (sid, s) in shop.table("stock_availables").into_iter().flatten() {
                if s.get("id_product") == idtext && s.get("id_shop") == SHOP_ID.to_string() {
                    if s.get("id_product_attribute") == "0" {
                        r.set("quantity", s.get("quantity"));
                    }
                    stock.push(AssocItem::from([
                        ("id".to_owned(), sid.to_string()),
                        (
                            "id_product_attribute".to_owned(),
                            s.get("id_product_attribute").to_owned(),
                        ),
                    ]));
                }
            }
            r.assoc.insert("combinations".into(), combos);
            r.assoc.insert("stock_availables".into(), stock);
            r.assoc.entry("categories".into()).or_default();
        }
        "orders" => {
            let rows: Vec<AssocItem> = shop
                .table("order_details")
                .into_iter()
                .flatten()
                .filter(|(_, d)| d.get("id_order") == idtext)
                .map(|(did, d)| {
                    let mut item = AssocItem::new();
                    item.insert("id".into(), did.to_string());
                    for (from, to) in [
                        ("product_id", "product_id"),
                        ("product_attribute_id", "product_attribute_id"),
                        ("product_quantity", "product_quantity"),
                        ("product_name", "product_name"),
                        ("product_reference", "product_reference"),
                        ("product_ean13", "product_ean13"),
                        ("product_price", "product_price"),
                        ("unit_price_tax_incl", "unit_price_tax_incl"),
                        ("unit_price_tax_excl", "unit_price_tax_excl"),
                    ] {
                        item.insert(to.into(), d.get(from).to_owned());
                    }
                    item.insert("id_customization".into(), "0".into());
                    item
                })
                .collect();
            r.assoc.insert("order_rows".into(), rows);
        }
        _ => {}
    }
    r
}

#[derive(Debug)]
pub(super) enum Cond {
    In(Vec<String>),
    Between(String, String),
    Gt(String),
    Lt(String),
    Not(String),
    Begins(String),
    Ends(String),
    Contains(String),
    Eq(String),
}

pub(super) fn bracket(v: &str, pre: &str, post: &str) -> Option<String> {
    v.strip_prefix(pre)
        .and_then(|x| x.strip_suffix(post))
        .map(str::to_owned)
}

/// The filter syntax of the docs' cheat sheet (SQLUtils::getSQLRetrieveFilter).
pub(super) fn parse_cond(v: &str) -> Cond {
    if let Some(x) = bracket(v, ">[", "]") {
        return Cond::Gt(x);
    }
    if let Some(x) = bracket(v, "<[", "]") {
        return Cond::Lt(x);
    }
    if let Some(x) = bracket(v, "![", "]") {
        return Cond::Not(x);
    }
    if let Some(x) = bracket(v, "%[", "]%") {
        return Cond::Contains(x);
    }
    if let Some(x) = bracket(v, "%[", "]") {
        return Cond::Ends(x);
    }
    if let Some(x) = bracket(v, "[", "]%") {
        return Cond::Begins(x);
    }
    if let Some(x) = bracket(v, "[", "]") {
        if x.contains('|') {
            return Cond::In(x.split('|').map(str::to_owned).collect());
        }
        if let Some((a, b)) = x.split_once(',') {
            return Cond::Between(a.to_owned(), b.to_owned());
        }
        return Cond::Eq(x);
    }
    Cond::Eq(v.to_owned())
}

pub(super) fn cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.trim().parse::<Decimal>(), b.trim().parse::<Decimal>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

pub(super) fn matches(value: &str, c: &Cond) -> bool {
    use std::cmp::Ordering::*;
    let lower = value.to_lowercase();
    match c {
        Cond::In(list) => list.iter().any(|x| cmp(value, x) == Equal),
        Cond::Between(a, b) => cmp(value, a) != Less && cmp(value, b) != Greater,
        Cond::Gt(x) => cmp(value, x) == Greater,
        Cond::Lt(x) => cmp(value, x) == Less,
        Cond::Not(x) => cmp(value, x) != Equal,
        Cond::Begins(x) => lower.starts_with(&x.to_lowercase()),
        Cond::Ends(x) => lower.ends_with(&x.to_lowercase()),
        Cond::Contains(x) => lower.contains(&x.to_lowercase()),
        Cond::Eq(x) => cmp(value, x) == Equal,
    }
}

pub(super) fn is_date(name: &str) -> bool {
    name == "date_add" || name == "date_upd"
}

pub(super) fn list(app: &App, shop: &Shop, def: &'static ResourceDef, req: &Req) -> Result<Response, Fail> {
    let render = app.render(req, shop)?;
    if let Some(schema) = req.param("schema") {
        return match schema {
            "blank" | "synopsis" => {
                let body = if req.json {
                    serde_json::to_vec(&wire::blank_json(def, &render.languages)).unwrap_or_default()
                } else {
                    wire::schema_xml(def, &render.languages, schema == "synopsis")
                };
                Ok(app.respond(req, StatusCode::OK, body))
            }
            _ => Err(fail(
                400,
                28,
                "Please select a schema of type 'synopsis' to get the whole schema informations (which fields are required, which kind of content...) or 'blank' to get an empty schema to fill before using POST request",
            )),
        };
    }
    let date_on = req.param("date").is_some_and(|d| !d.is_empty() && d != "0");
    let available: Vec<&str> = def
        .fields
        .iter()
        .filter(|f| !f.lang && (date_on || !is_date(f.name)))
        .map(|f| f.name)
        .collect();
    let mut filters: Vec<(&str, bool, Cond)> = Vec::new();
    for (k, v) in &req.query {
        let Some(field) = k.strip_prefix("filter[").and_then(|x| x.strip_suffix(']')) else {
            continue;
        };
        let lang = def.field(field).is_some_and(|f| f.lang);
        let Some(name) = def.fields.iter().map(|f| f.name).find(|n| *n == field) else {
            return Err(fail(
                400,
                32,
                format!(
                    "This filter does not exist. Did you mean: \"{}\"? The full list is: \"{}\"",
                    available.first().copied().unwrap_or("id"),
                    available.join("\", \"")
                ),
            ));
        };
        if !lang && !available.contains(&name) {
            // date_add / date_upd are filters only with date=1 (manageFilters)
            return Err(fail(
                400,
                32,
                format!(
                    "This filter does not exist. Did you mean: \"{name}\"? The full list is: \"{}\"",
                    available.join("\", \"")
                ),
            ));
        }
        if v.is_empty() {
            return Err(fail(400, 33, format!("The filter \"{field}\" is malformed.")));
        }
        filters.push((name, lang, parse_cond(v)));
    }
    let mut sorts: Vec<(String, bool)> = Vec::new();
    if let Some(s) = req.param("sort") {
        let inner = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(s);
        for part in inner.split(',') {
            let Some((field, dir)) = part.rsplit_once('_') else {
                return Err(fail(400, 37, "The \"sort\" value has to be formed as this example: \"field_ASC\" or '[field_1_DESC,field_2_ASC,field_3_ASC,...]' (\"field\" has to be an available field)"));
            };
            let dir = dir.to_ascii_uppercase();
            if dir != "ASC" && dir != "DESC" {
                return Err(fail(400, 37, "The \"sort\" value has to be formed as this example: \"field_ASC\" or '[field_1_DESC,field_2_ASC,field_3_ASC,...]' (\"field\" has to be an available field)"));
            }
            if !available.contains(&field) {
                return Err(fail(
                    400,
                    38,
                    format!(
                        "Unable to filter by this field. However, these are available: {}",
                        available.join(", ")
                    ),
                ));
            }
            sorts.push((field.to_owned(), dir == "DESC"));
        }
    }
    let (offset, count) = match req.param("limit") {
        None => (0usize, usize::MAX),
        Some(l) => {
            let parts: Vec<&str> = l.split(',').collect();
            let num = |s: &str| s.trim().parse::<usize>().unwrap_or(0);
            match parts.as_slice() {
                [n] => (0, num(n)),
                [o, n] => (num(o), num(n)),
                _ => {
                    return Err(fail(
                        400,
                        39,
                        "The \"limit\" value has to be formed as this example: \"5,25\" or \"10\"",
                    ))
                }
            }
        }
    };
    let display: Option<Option<Vec<String>>> = match req.param("display") {
        None => None,
        Some("full") => Some(None),
        Some(d) => {
            let Some(inner) = d.strip_prefix('[').and_then(|x| x.strip_suffix(']')) else {
                return Err(fail(
                    400,
                    36,
                    "The 'display' syntax is wrong. You can set 'full' or '[field_1,field_2,field_3,...]'.",
                ));
            };
            let names: Vec<String> = inner.split(',').map(|x| x.trim().to_owned()).collect();
            if let Some(bad) = names.iter().find(|n| def.field(n).is_none()) {
                return Err(fail(
                    400,
                    35,
                    format!(
                        "Unable to display this field \"{bad}\". However, these are available: {}",
                        def.fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            Some(Some(names))
        }
    };
    let empty = BTreeMap::new();
    let table = shop.table(def.name).unwrap_or(&empty);
    let mut rows: Vec<(u64, Rec)> = table
        .iter()
        .map(|(id, r)| (*id, computed(shop, def, *id, r)))
        .filter(|(id, r)| {
            filters.iter().all(|(name, lang, c)| {
                if *name == "id" {
                    return matches(&id.to_string(), c);
                }
                match r.fields.get(*name) {
                    Some(Val::Lang(m)) if *lang => m.values().any(|v| matches(v, c)),
                    Some(v) => matches(v.text(0), c),
                    None => matches("", c),
                }
            })
        })
        .collect();
    if !sorts.is_empty() {
        rows.sort_by(|(ia, a), (ib, b)| {
            for (field, desc) in &sorts {
                let (x, y) = if field == "id" {
                    (ia.to_string(), ib.to_string())
                } else {
                    (a.get(field).to_owned(), b.get(field).to_owned())
                };
                let o = cmp(&x, &y);
                if o != std::cmp::Ordering::Equal {
                    return if *desc { o.reverse() } else { o };
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let mut rows: Vec<(u64, Rec)> = rows.into_iter().skip(offset).take(count).collect();
    if app.control.roll_malformed() {
        if let Some((_, r)) = rows.first_mut() {
            // a record the shop's own data made unreadable (a hand-edited row)
            if r.fields.contains_key("date_upd") {
                r.set("date_upd", "not a date");
            }
            for money in ["total_paid_tax_incl", "price"] {
                if r.fields.contains_key(money) {
                    r.set(money, "12,34.5x");
                }
            }
        }
    }
    let body = if req.json {
        if rows.is_empty() {
            // an empty list is `[]`, not `{"products":[]}` (PrestaShop/PrestaShop#10172)
            b"[]".to_vec()
        } else {
            let fields: Option<Vec<String>> = match &display {
                None => Some(Vec::new()),
                Some(None) => None,
                Some(Some(f)) => Some(f.clone()),
            };
            let items: Vec<Value> = rows
                .iter()
                .map(|(id, r)| wire::record_json(def, *id, r, fields.as_deref(), &render))
                .collect();
            serde_json::to_vec(&json!({ def.name: items })).unwrap_or_default()
        }
    } else {
        let refs: Vec<(u64, &Rec)> = rows.iter().map(|(i, r)| (*i, r)).collect();
        wire::list_xml(def, &refs, display.is_some(), &render)
    };
    Ok(app.respond(req, StatusCode::OK, body))
}

pub(super) fn one(
    app: &App,
    shop: &Shop,
    def: &'static ResourceDef,
    id: &str,
    req: &Req,
) -> Result<Response, Fail> {
    let mut render = app.render(req, shop)?;
    let n: u64 = id.trim().parse().unwrap_or(0);
    let Some(rec) = shop.get(def.name, n) else {
        // getFilteredObjectDetails: a missing object is a 404 without a body
        return Ok(app.respond(req, StatusCode::NOT_FOUND, Vec::new()));
    };
    let rec = computed(shop, def, n, rec);
    let body = if req.json {
        if req.param("display").is_some() {
            // any request with `display` answers in the list shape
            let v = wire::record_json(def, n, &rec, None, &render);
            serde_json::to_vec(&json!({ def.name: [v] })).unwrap_or_default()
        } else {
            render.drop_empty = app.opts.version == PrestaVersion::V8;
            let v = wire::record_json(def, n, &rec, None, &render);
            serde_json::to_vec(&json!({ def.single: v })).unwrap_or_default()
        }
    } else {
        wire::record_xml(def, Some(n), &rec, &render)
    };
    Ok(app.respond(req, StatusCode::OK, body))
}
