//! Customers read keyset-paged on `(changed_at, customer_id)`.

use async_trait::async_trait;
use koppel_core::{Customer, Page, ReadRequest, Rejection, Result, Source};
use serde_json::json;

use super::OpenCartShop;
use crate::mapping;
use crate::models::WireCustomer;

#[async_trait]
#[async_trait]
impl Source<Customer> for OpenCartShop {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Customer>> {
        self.read_list(
            "customers.list",
            json!({}),
            req,
            self.cfg.customers.page_size,
            ("customer", "customer_id", "changed_at"),
            |v| {
                let w: WireCustomer = serde_json::from_value(v).map_err(|e| {
                    Rejection::new("", None, format!("unreadable customer from the bridge: {e}"))
                })?;
                mapping::customer(&w)
            },
        )
        .await
    }
}
