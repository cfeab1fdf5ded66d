//! The customer flow: `Source<Customer>`.

use async_trait::async_trait;
use koppel_core::{Customer, Page, ReadRequest, Result, Source};

use super::MagentoShop;
use crate::mapping::{self};

pub(super) fn customer_label(v: &serde_json::Value) -> String {
    format!("customer {}", v.get("id").cloned().unwrap_or_default())
}

#[async_trait]
impl Source<Customer> for MagentoShop {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Customer>> {
        let c = self.window(req);
        self.read_page(
            (&["customers", "search"], "/V1/customers/search"),
            c,
            self.cfg.customers.page_size,
            req,
            ("id", customer_label),
            mapping::customer_from_wire,
        )
        .await
    }
}
