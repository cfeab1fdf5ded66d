//! Sink<Product> by `reference`: categories by name path, create from `schema=blank`,
//! full-record PUT (or PATCH on 8.x).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use koppel_core::http::Safety;
use koppel_core::wire::on_record;
use koppel_core::{
    Error, FieldChange, Prepared, Product, Record, Result, Sink, Verdict, WriteItem, WriteOutcome,
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::fits_filter;
use crate::mapping::{self, DesiredProduct};
use crate::models::{Obj, XmlAssoc, XmlEntity, XmlVal};

use super::{
    entity_from_current, q, validation, CategoryIndex, PrestaShopShop, PRODUCT_LANG, PRODUCT_READ_ONLY,
};

impl PrestaShopShop {
    async fn category_index(&self, refresh: bool) -> Result<CategoryIndex> {
        self.categories
            .get_or_load_if(refresh, || self.load_category_index())
            .await
    }

    async fn load_category_index(&self) -> Result<CategoryIndex> {
        let lang = self.cfg.language_id.to_string();
        let items = self
            .client
            .list(
                "categories",
                &[q("display", "[id,id_parent,name]"), q("language", lang)],
            )
            .await?;
        let mut nodes: HashMap<u64, (u64, String)> = HashMap::new();
        for o in items.into_iter().filter_map(Obj::from_value) {
            if let (Ok(Some(id)), Ok(parent)) = (o.id("id"), o.id("id_parent")) {
                let name = o.lang("name", self.cfg.language_id).unwrap_or_default();
                nodes.insert(id, (parent.unwrap_or(0), name.trim().to_lowercase()));
            }
        }
        let root = self.cfg.products.root_category_id;
        let mut index = CategoryIndex::new();
        for id in nodes.keys() {
            let mut path = Vec::new();
            let mut cur = *id;
            let mut ok = false;
            for _ in 0..64 {
                if cur == root {
                    ok = true;
                    break;
                }
                let Some((parent, name)) = nodes.get(&cur) else {
                    break;
                };
                path.push(name.clone());
                cur = *parent;
            }
            if ok && !path.is_empty() {
                path.reverse();
                // the lowest id wins when two categories share a path
                let e = index.entry(path).or_insert(*id);
                *e = (*e).min(*id);
            }
        }
        Ok(index)
    }

    /// The category of a path: `Ok(Some(id))`, `Ok(None)` when it is to be created (allowed),
    /// or a rejection when it is missing and creating is off.
    async fn resolve_category(&self, path: &[String]) -> Result<Option<u64>> {
        let key: Vec<String> = path.iter().map(|p| p.trim().to_lowercase()).collect();
        let index = self.category_index(false).await?;
        if let Some(id) = index.get(&key) {
            return Ok(Some(*id));
        }
        if !self.cfg.products.create_categories {
            return Err(Error::rejected(
                "",
                Some("category"),
                format!(
                    "category {:?} does not exist under category {} (set products.create_categories to create it)",
                    path.join(" / "),
                    self.cfg.products.root_category_id
                ),
            ));
        }
        Ok(None)
    }

    /// Creates the missing categories of a path (in `apply`); returns the leaf's id.
    async fn ensure_category(&self, path: &[String]) -> Result<u64> {
        let key: Vec<String> = path.iter().map(|p| p.trim().to_lowercase()).collect();
        let index = self.category_index(true).await?;
        if let Some(id) = index.get(&key) {
            return Ok(*id);
        }
        let mut parent = self.cfg.products.root_category_id;
        for depth in 1..=path.len() {
            if let Some(id) = index.get(&key[..depth]) {
                parent = *id;
                continue;
            }
            let name = path[depth - 1].trim().to_owned();
            let mut e = XmlEntity::new("category");
            e.text("id_parent", parent.to_string());
            e.text("active", "1");
            let langs = self.languages_of_blank().await?;
            e.set(
                "name",
                XmlVal::Lang(langs.iter().map(|l| (*l, name.clone())).collect()),
            );
            e.set(
                "link_rewrite",
                XmlVal::Lang(langs.iter().map(|l| (*l, mapping::slug(&name))).collect()),
            );
            let created = self
                .client
                .write(Method::POST, "categories", &e, &[], Safety::NonIdempotent)
                .await?;
            parent = created
                .id("id")
                .ok()
                .flatten()
                .ok_or_else(|| Error::protocol("POST categories: no id in the answer"))?;
        }
        self.category_index(true).await?;
        Ok(parent)
    }

    /// The product blank schema (`?schema=blank`), read once.
    async fn blank_product(&self) -> Result<&Obj> {
        self.blank
            .get_or_try_init(|| async {
                let v = self
                    .client
                    .get_value(&["products"], &[q("schema", "blank")])
                    .await?;
                v.get("product")
                    .cloned()
                    .and_then(Obj::from_value)
                    .ok_or_else(|| Error::protocol("products?schema=blank: no \"product\" in the answer"))
            })
            .await
    }

    async fn languages_of_blank(&self) -> Result<Vec<u32>> {
        let blank = self.blank_product().await?;
        let langs: Vec<u32> = match blank.0.get("name") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|i| {
                    i.get("id").and_then(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .or_else(|| v.as_u64().map(|n| n.to_string()))
                    })
                })
                .filter_map(|s| s.parse().ok())
                .collect(),
            _ => Vec::new(),
        };
        Ok(if langs.is_empty() {
            vec![self.cfg.language_id]
        } else {
            langs
        })
    }
}

/// What `prepare` carries to `apply` for a product.
struct ProductPlan {
    desired: DesiredProduct,
    /// The shop's product as read (list shape), for updates.
    current: Option<Obj>,
    /// The category id, when it exists; `None` with `create_category` when it is to be made.
    category: Option<u64>,
    create_category: bool,
}

fn category_items(cur: Option<&Obj>, add: Option<u64>) -> Vec<Vec<(String, String)>> {
    let mut ids: Vec<u64> = cur
        .map(|c| {
            c.assoc("categories")
                .iter()
                .filter_map(|i| i.id("id").ok().flatten())
                .collect()
        })
        .unwrap_or_default();
    if let Some(a) = add {
        if !ids.contains(&a) {
            ids.push(a);
        }
    }
    ids.into_iter()
        .map(|i| vec![("id".to_owned(), i.to_string())])
        .collect()
}

impl PrestaShopShop {
    async fn prepare_products(&self, items: &[WriteItem<Product>]) -> Vec<Result<Prepared>> {
        let mut out: Vec<Option<Result<Prepared>>> = (0..items.len()).map(|_| None).collect();
        let mut desired: Vec<Option<DesiredProduct>> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let r = &item.record;
            let d = r
                .validate()
                .map_err(validation)
                .and_then(|()| mapping::desired_product(r, &self.rules).map_err(Error::Rejected))
                .and_then(|d| {
                    if fits_filter(&d.reference) {
                        Ok(d)
                    } else {
                        Err(Error::rejected(
                            r.label(),
                            Some("sku"),
                            "a reference with | , [ ] % or surrounding blanks cannot be looked up with the webservice's filters",
                        ))
                    }
                });
            match d {
                Ok(d) => desired.push(Some(d)),
                Err(e) => {
                    out[i] = Some(Err(e));
                    desired.push(None);
                }
            }
        }
        let refs: Vec<String> = desired.iter().flatten().map(|d| d.reference.clone()).collect();
        let found = if refs.is_empty() {
            Ok(Vec::new())
        } else {
            self.client
                .list_by(
                    "products",
                    "reference",
                    &refs,
                    &[],
                    self.cfg.products.batch_size as usize,
                )
                .await
        };
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                return out
                    .into_iter()
                    .map(|o| o.unwrap_or_else(|| Err(e.clone())))
                    .collect();
            }
        };
        let mut by_ref: HashMap<String, Vec<Obj>> = HashMap::new();
        for p in found {
            if let Some(r) = p.text("reference") {
                by_ref.entry(r).or_default().push(p);
            }
        }
        for (i, d) in desired.into_iter().enumerate() {
            let Some(d) = d else { continue };
            let label = items[i].record.label();
            out[i] = Some(
                self.prepare_product(d, &by_ref)
                    .await
                    .map_err(|e| on_record(e, &label)),
            );
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::internal("product left unprepared"))))
            .collect()
    }

    async fn prepare_product(
        &self,
        d: DesiredProduct,
        by_ref: &HashMap<String, Vec<Obj>>,
    ) -> Result<Prepared> {
        let (category, create_category) = if d.category.is_empty() {
            (None, false)
        } else {
            match self.resolve_category(&d.category).await? {
                Some(id) => (Some(id), false),
                None => (None, true),
            }
        };
        let matches = by_ref.get(&d.reference).map(Vec::as_slice).unwrap_or(&[]);
        if matches.len() > 1 {
            let ids: Vec<String> = matches.iter().filter_map(|m| m.text("id")).collect();
            return Err(Error::rejected(
                "",
                Some("sku"),
                format!(
                    "reference {:?} is used by several products ({}): make it unique in the shop",
                    d.reference,
                    ids.join(", ")
                ),
            ));
        }
        let lang = self.cfg.language_id;
        match matches.first() {
            None => {
                let after = json!({
                    "reference": d.reference,
                    "name": d.name,
                    "link_rewrite": mapping::slug(&d.name),
                    "price": d.price.to_string(),
                    "id_tax_rules_group": d.tax_rules_group,
                    "weight": d.weight.map(|w| w.to_string()),
                    "active": if d.active { "1" } else { "0" },
                    "category": d.category.join(" / "),
                });
                Ok(Prepared::create(Some(after)).with_carry(ProductPlan {
                    desired: d,
                    current: None,
                    category,
                    create_category,
                }))
            }
            Some(cur) => {
                let id = cur
                    .id("id")
                    .ok()
                    .flatten()
                    .ok_or_else(|| Error::protocol("a product without id in the list"))?;
                let mut changes = mapping::product_changes(cur, &d, lang, category);
                if create_category {
                    changes.push(FieldChange {
                        path: "id_category_default".into(),
                        before: json!(cur.text("id_category_default")),
                        after: json!(format!("(new) {}", d.category.join(" / "))),
                    });
                }
                let p = if changes.is_empty() {
                    Prepared::unchanged(id.to_string())
                } else {
                    Prepared::update(id.to_string(), changes)
                };
                Ok(p.with_carry(ProductPlan {
                    desired: d,
                    current: Some(cur.clone()),
                    category,
                    create_category,
                }))
            }
        }
    }

    async fn apply_product(&self, item: &WriteItem<Product>, p: &Prepared) -> Result<WriteOutcome> {
        let label = item.record.label();
        self.apply_product_inner(p)
            .await
            .map_err(|e| on_record(e, &label))
    }

    async fn apply_product_inner(&self, p: &Prepared) -> Result<WriteOutcome> {
        if p.verdict == Verdict::Unchanged {
            return Ok(WriteOutcome::Unchanged {
                target_id: p.target_id.clone().unwrap_or_default(),
            });
        }
        let plan = p
            .carried::<ProductPlan>()
            .ok_or_else(|| Error::internal("product prepared without its plan"))?;
        let d = &plan.desired;
        let category = if plan.create_category {
            Some(self.ensure_category(&d.category).await?)
        } else {
            plan.category
        };
        let lang = self.cfg.language_id;
        match (&plan.current, p.verdict) {
            (None, _) | (_, Verdict::Create) => {
                let blank = self.blank_product().await?;
                let mut e = XmlEntity::new("product");
                let langs = self.languages_of_blank().await?;
                let all = |v: &str| XmlVal::Lang(langs.iter().map(|l| (*l, v.to_owned())).collect());
                let mut set = |k: &str, v: XmlVal| {
                    if blank.0.contains_key(k) {
                        e.set(k, v);
                    }
                };
                set("reference", XmlVal::Text(d.reference.clone()));
                set("price", XmlVal::Text(d.price.to_string()));
                if let Some(g) = d.tax_rules_group {
                    set("id_tax_rules_group", XmlVal::Text(g.to_string()));
                }
                if let Some(w) = d.weight {
                    set("weight", XmlVal::Text(w.to_string()));
                }
                set("active", XmlVal::Text(if d.active { "1" } else { "0" }.into()));
                if let Some(c) = category {
                    set("id_category_default", XmlVal::Text(c.to_string()));
                }
                // what the back office sets on a new product: not a draft (8.x `state`), sold
                // one at a time, visible everywhere
                for (k, v) in [
                    ("state", "1"),
                    ("minimal_quantity", "1"),
                    ("visibility", "both"),
                    ("available_for_order", "1"),
                    ("show_price", "1"),
                    ("condition", "new"),
                    ("indexed", "1"),
                ] {
                    set(k, XmlVal::Text(v.into()));
                }
                set("name", all(&d.name));
                set("link_rewrite", all(&mapping::slug(&d.name)));
                if let Some(desc) = &d.description {
                    set("description", all(desc));
                }
                if category.is_some() {
                    e.assocs.push(XmlAssoc {
                        name: "categories".into(),
                        item: "category".into(),
                        items: category_items(None, category),
                    });
                }
                let created = self
                    .client
                    .write(Method::POST, "products", &e, &[], Safety::NonIdempotent)
                    .await?;
                let id = created
                    .id("id")
                    .ok()
                    .flatten()
                    .ok_or_else(|| Error::protocol("POST products: no id in the answer"))?;
                Ok(WriteOutcome::Created {
                    target_id: id.to_string(),
                })
            }
            (Some(cur), _) => {
                let id = p.target_id.clone().unwrap_or_default();
                let info = self.client.info().await?;
                let patch = info.patch("products");
                let mut e = if patch {
                    let mut e = XmlEntity::new("product");
                    e.text("id", id.clone());
                    e
                } else {
                    entity_from_current("product", cur, PRODUCT_READ_ONLY)
                };
                for c in &p.changes {
                    let after = c.after.as_str().map(str::to_owned).unwrap_or_default();
                    match c.path.as_str() {
                        f @ ("name" | "link_rewrite" | "description") => {
                            let mut m = match (patch, e.get(f)) {
                                (false, Some(XmlVal::Lang(m))) => m.clone(),
                                _ => BTreeMap::new(),
                            };
                            m.insert(lang, after);
                            e.set(f, XmlVal::Lang(m));
                        }
                        "id_category_default" => {
                            if let Some(cat) = category {
                                e.text("id_category_default", cat.to_string());
                                e.assocs.push(XmlAssoc {
                                    name: "categories".into(),
                                    item: "category".into(),
                                    items: category_items(Some(cur), Some(cat)),
                                });
                            }
                        }
                        other => e.text(other, after),
                    }
                }
                for f in PRODUCT_LANG {
                    // a one-language answer renders translations as plain strings
                    if let Some(XmlVal::Text(t)) = e.get(f).cloned() {
                        e.set(f, XmlVal::Lang(BTreeMap::from([(lang, t)])));
                    }
                }
                let method = if patch { Method::PATCH } else { Method::PUT };
                self.client
                    .write(method, "products", &e, &[], Safety::Idempotent)
                    .await?;
                Ok(WriteOutcome::Updated { target_id: id })
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Stock
    // -----------------------------------------------------------------------------------------
}

#[async_trait]
impl Sink<Product> for PrestaShopShop {
    async fn prepare(&self, items: &[WriteItem<Product>]) -> Vec<Result<Prepared>> {
        self.prepare_products(items).await
    }

    async fn apply(&self, items: &[WriteItem<Product>], prepared: &[Prepared]) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(self.apply_product(item, p).await);
        }
        out
    }

    fn batch_size(&self) -> usize {
        self.cfg.products.batch_size as usize
    }
}
