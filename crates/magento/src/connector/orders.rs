//! The order flow: `Source<Order>`.

use async_trait::async_trait;
use koppel_core::{Order, Page, ReadRequest, Result, Source};

use super::MagentoShop;
use crate::client::Filter;
use crate::mapping::{self};
use crate::models::WireOrder;

pub(super) fn order_label(v: &serde_json::Value) -> String {
    match v.get("increment_id").and_then(|i| i.as_str()) {
        Some(n) => format!("order {n}"),
        None => format!("order entity {}", v.get("entity_id").cloned().unwrap_or_default()),
    }
}

#[async_trait]
impl Source<Order> for MagentoShop {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Order>> {
        let mut c = self.window(req);
        if !self.cfg.orders.statuses.is_empty() {
            // cancelled orders too (OR in one filter group): the engine skips one never
            // exported and reports one that was (an edit cancels the original)
            c.groups.push(vec![
                Filter::new("status", "in", self.cfg.orders.statuses.join(",")),
                Filter::new("state", "eq", "canceled"),
            ]);
        }
        let mode = mapping::order_tax_mode(self.cfg.prices_include_tax);
        let rounding = self.cfg.tax_calculation_algorithm.vat_rounding();
        self.read_page(
            (&["orders"], "/V1/orders"),
            c,
            self.cfg.orders.page_size,
            req,
            ("entity_id", order_label),
            |w: &WireOrder| {
                mapping::order_from_wire(w, mode).map(|o| Order {
                    vat_rounding: rounding,
                    ..o
                })
            },
        )
        .await
    }
}
