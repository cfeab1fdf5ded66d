//! Orders read keyset-paged on `(date_modified, order_id)`, only the configured statuses.

use async_trait::async_trait;
use koppel_core::{Order, Page, ReadRequest, Result, Source};
use serde_json::json;

use koppel_core::wire::parse_value;

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
                // the field path of what is unreadable is kept; read_list labels the record
                let w: WireOrder = parse_value(&v, |_| String::new())?;
                mapping::order(&w, &self.orders)
            },
        )
        .await
    }
}
