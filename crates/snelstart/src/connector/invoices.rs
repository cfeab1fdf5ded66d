//! Sales invoices as open amounts and payment statuses (`Source<OpenAmount>`, `Source<PaymentStatus>`).

use async_trait::async_trait;
use koppel_core::{Error, OpenAmount, Page, PaymentStatus, ReadRequest, Rejection, Result, Source};

use crate::mapping::{self};
use crate::models::{Verkoopfactuur, Verkooporder};

use super::slices::INVOICES_SLICED;
use super::{item_label, lock, read_item, SnelStartAdministration};

impl SnelStartAdministration {
    /// The orderreferentie of a verkooporder (GET, cached).
    pub(super) async fn order_reference(&self, id: &str) -> Result<Option<String>> {
        let key = id.to_ascii_lowercase();
        if let Some(r) = lock(&self.order_refs).get(&key) {
            return Ok(r.clone());
        }
        let r = match self
            .client
            .get::<Verkooporder>(&format!("/verkooporders/{id}"), "/verkooporders/{id}")
            .await
        {
            Ok(o) => o
                .orderreferentie
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            Err(Error::NotFound { .. }) => {
                tracing::debug!(verkooporder = id, "linked verkooporder not found");
                None
            }
            Err(e) => return Err(e),
        };
        lock(&self.order_refs).insert(key, r.clone());
        Ok(r)
    }

    /// One page of invoices with the shop order numbers they cover.
    pub(super) async fn read_invoices(
        &self,
        request: &ReadRequest,
    ) -> Result<(
        Vec<std::result::Result<(Verkoopfactuur, Vec<String>), Rejection>>,
        Option<String>,
    )> {
        let top = self.config.page_size;
        let (items, next) = self
            .read_sliced("/verkoopfacturen", INVOICES_SLICED, request, None, top, false)
            .await?;
        let mut out = Vec::with_capacity(items.len());
        for v in items {
            let label = item_label("invoice", &v);
            let inv: Verkoopfactuur = match read_item("invoice", &v) {
                Ok(i) => i,
                Err(r) => {
                    out.push(Err(r));
                    continue;
                }
            };
            let mut numbers = Vec::new();
            for o in inv.verkoop_orders.iter().flatten() {
                if let Some(id) = o.id.as_deref() {
                    if let Some(n) = self.order_reference(id).await? {
                        if !numbers.contains(&n) {
                            numbers.push(n);
                        }
                    }
                }
            }
            if numbers.is_empty() {
                tracing::debug!(invoice = %label, "skipped: no linked verkooporder with an orderreferentie");
                continue;
            }
            out.push(Ok((inv, numbers)));
        }
        Ok((out, next))
    }

    /// One page of invoices mapped with `map`, one record per shop order each invoice covers.
    pub(super) async fn invoice_page<R>(
        &self,
        request: &ReadRequest,
        map: fn(&Verkoopfactuur, &str) -> std::result::Result<R, Rejection>,
    ) -> Result<Page<R>> {
        let (invoices, next) = self.read_invoices(request).await?;
        let mut items = Vec::new();
        for inv in invoices {
            match inv {
                Err(r) => items.push(Err(r)),
                Ok((f, numbers)) => items.extend(numbers.iter().map(|n| map(&f, n))),
            }
        }
        Ok(Page { items, next })
    }
}

#[async_trait]
impl Source<OpenAmount> for SnelStartAdministration {
    async fn read(&self, request: &ReadRequest) -> Result<Page<OpenAmount>> {
        self.invoice_page(request, mapping::invoice_to_open_amount).await
    }
}

#[async_trait]
impl Source<PaymentStatus> for SnelStartAdministration {
    async fn read(&self, request: &ReadRequest) -> Result<Page<PaymentStatus>> {
        self.invoice_page(request, mapping::invoice_to_payment).await
    }
}
