//! Source<Order>: orders by `date_upd` in the configured states, keyset-paged by id.

use async_trait::async_trait;
use koppel_core::{Order, Page, ReadRequest, Rejection, Result, Source};

use crate::client::or_list;
use crate::mapping::{self, Lookups};
use crate::models::Obj;

use super::{q, PrestaShopShop};

impl PrestaShopShop {
    async fn read_orders(&self, req: &ReadRequest) -> Result<Page<Order>> {
        let mut extra = Vec::new();
        if !self.cfg.orders.states.is_empty() {
            let states: Vec<String> = self.cfg.orders.states.iter().map(u32::to_string).collect();
            extra.push(q("filter[current_state]", or_list(&states)));
        }
        let (items, next) = self
            .window_page("orders", req, self.cfg.orders.page_size, extra)
            .await?;
        let objs: Vec<Option<Obj>> = items.into_iter().map(Obj::from_value).collect();
        let ids = |k: &str| -> Vec<u64> {
            let mut v: Vec<u64> = objs
                .iter()
                .flatten()
                .filter_map(|o| o.id(k).ok().flatten())
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let order_ids: Vec<String> = ids("id").iter().map(u64::to_string).collect();
        let mut address_ids = ids("id_address_invoice");
        address_ids.extend(ids("id_address_delivery"));
        address_ids.sort_unstable();
        address_ids.dedup();
        let mut lookups = Lookups {
            tz: Some(self.tz),
            countries: self.iso_table(&self.countries, "countries").await?,
            currencies: self.iso_table(&self.currencies, "currencies").await?,
            addresses: self.by_ids("addresses", &address_ids, &[]).await?,
            customers: self.by_ids("customers", &ids("id_customer"), &[]).await?,
            ..Default::default()
        };
        if !order_ids.is_empty() {
            for d in self
                .client
                .list_by("order_details", "id_order", &order_ids, &[], 100)
                .await?
            {
                if let Ok(Some(oid)) = d.id("id_order") {
                    lookups.details.entry(oid).or_default().push(d);
                }
            }
        }
        let mut out = Vec::new();
        for o in objs {
            let Some(o) = o else {
                out.push(Err(Rejection::new("order ?", None, "not a JSON object")));
                continue;
            };
            match mapping::order_from_wire(&o, &lookups) {
                Ok(order) if !mapping::in_window(order.modified, req.since, req.until) => {}
                other => out.push(other),
            }
        }
        Ok(Page { items: out, next })
    }
}

#[async_trait]
impl Source<Order> for PrestaShopShop {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Order>> {
        self.read_orders(req).await
    }
}
