//! Orders read keyset-paged on `(date_modified, order_id)`, only the configured statuses.

use async_trait::async_trait;
use koppel_core::{Order, Page, ReadRequest, Rejection, Result, Source};
use serde_json::json;

use super::OpenCartShop;
use crate::mapping;
use crate::models::WireOrder;

#[async_trait]
#[async_trait]
impl Source<Order> for OpenCartShop {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Order>> {
        let body = json!({ "statuses": self.cfg.orders.statuses });
        self.read_list(
            "orders.list",
            body,
            req,
            self.cfg.orders.page_size,
            ("order", "order_id", "date_modified"),
            |v| {
                let w: WireOrder = serde_json::from_value(v).map_err(|e| {
                    Rejection::new("", None, format!("unreadable order from the bridge: {e}"))
                })?;
                mapping::order(&w, &self.orders)
            },
        )
        .await
    }
}
