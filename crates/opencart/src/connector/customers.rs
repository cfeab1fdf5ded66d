//! Customers read keyset-paged on `(changed_at, customer_id)`.

use async_trait::async_trait;
use koppel_core::{Customer, Page, ReadRequest, Result, Source};
use serde_json::json;

use koppel_core::wire::parse_value;

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
                // the field path of what is unreadable is kept; read_list labels the record
                let w: WireCustomer = parse_value(&v, |_| String::new())?;
                mapping::customer(&w)
            },
        )
        .await
    }
}
