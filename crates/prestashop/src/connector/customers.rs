//! Source<Customer>: customers by `date_upd` with their addresses, keyset-paged by id.

use std::collections::HashMap;

use async_trait::async_trait;
use koppel_core::{Customer, Page, ReadRequest, Rejection, Result, Source};

use crate::mapping;
use crate::models::Obj;

use super::{q, PrestaShopShop};

impl PrestaShopShop {
    async fn read_customers(&self, req: &ReadRequest) -> Result<Page<Customer>> {
        let extra = vec![q("filter[is_guest]", "[0]")];
        let (items, next) = self
            .window_page("customers", req, self.cfg.customers.page_size, extra)
            .await?;
        let objs: Vec<Option<Obj>> = items.into_iter().map(Obj::from_value).collect();
        let ids: Vec<String> = objs
            .iter()
            .flatten()
            .filter_map(|o| o.id("id").ok().flatten())
            .map(|i| i.to_string())
            .collect();
        let countries = self.iso_table(&self.countries, "countries").await?;
        let mut addresses: HashMap<u64, Vec<Obj>> = HashMap::new();
        if !ids.is_empty() {
            for a in self
                .client
                .list_by("addresses", "id_customer", &ids, &[], 100)
                .await?
            {
                if let Ok(Some(c)) = a.id("id_customer") {
                    addresses.entry(c).or_default().push(a);
                }
            }
        }
        let mut out = Vec::new();
        for o in objs {
            let Some(o) = o else {
                out.push(Err(Rejection::new("customer ?", None, "not a JSON object")));
                continue;
            };
            let cid = o.id("id").ok().flatten().unwrap_or(0);
            let addrs: Vec<&Obj> = addresses
                .get(&cid)
                .map(|v| v.iter().collect())
                .unwrap_or_default();
            match mapping::customer_from_wire(&o, &addrs, &countries, self.tz) {
                Ok(c) if !mapping::in_window(c.modified, req.since, req.until) => {}
                other => out.push(other),
            }
        }
        Ok(Page { items: out, next })
    }

    // -----------------------------------------------------------------------------------------
    // Products
    // -----------------------------------------------------------------------------------------
}

#[async_trait]
impl Source<Customer> for PrestaShopShop {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Customer>> {
        self.read_customers(req).await
    }
}
