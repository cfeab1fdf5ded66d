//! Open amounts and payments: `Sink<OpenAmount>` and `Sink<PaymentStatus>` as order comments.

use async_trait::async_trait;
use koppel_core::http::Safety;
use koppel_core::wire::on_record;
use koppel_core::{
    Error, FieldChange, OpenAmount, PaymentStatus, Prepared, Record, Result, Sink, WriteItem, WriteOutcome,
};
use reqwest::Method;

use super::MagentoShop;
use crate::client::{Filter, SearchCriteria, SCOPE_ALL};
use crate::config::OrderNoteConfig;
use crate::mapping::{self};
use crate::models::{CommentEnvelope, CommentPayload, OrderRef, SearchResult, WireComment};

impl MagentoShop {
    /// The entity id of the order with this number (`increment_id`), cached.
    pub async fn order_id(&self, number: &str) -> Result<u64> {
        if let Some(id) = self
            .order_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(number)
        {
            return Ok(*id);
        }
        let c = SearchCriteria::default()
            .and(Filter::new("increment_id", "eq", number))
            .page(1, 1);
        let res: SearchResult<OrderRef> = self.client.search(&["orders"], &c, &[], "/V1/orders").await?;
        let id = res
            .items
            .first()
            .map(|o| o.entity_id)
            .ok_or_else(|| Error::NotFound {
                what: format!("order {number} in the shop"),
            })?;
        self.order_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(number.to_owned(), id);
        Ok(id)
    }

    /// The read-only half of adding `text` to the order's comments: unchanged when the order
    /// already carries it; otherwise an update, carrying the comment to post with `status` (or
    /// the order's current status).
    pub(super) async fn prepare_note(
        &self,
        number: &str,
        text: &str,
        status: Option<&str>,
        note: &OrderNoteConfig,
    ) -> Result<Prepared> {
        let id = self.order_id(number).await?;
        let target_id = id.to_string();
        let comments: SearchResult<WireComment> = self
            .client
            .get(
                self.client.store_code(),
                &["orders", &target_id, "comments"],
                &[],
                "/V1/orders/{id}/comments",
            )
            .await?;
        if comments
            .items
            .iter()
            .any(|c| c.comment.as_deref().map(str::trim) == Some(text.trim()))
        {
            return Ok(Prepared::unchanged(target_id));
        }
        let status = match status {
            Some(s) => s.to_owned(),
            None => {
                let current: OrderRef = self
                    .client
                    .get(
                        self.client.store_code(),
                        &["orders", &target_id],
                        &[],
                        "/V1/orders/{id}",
                    )
                    .await?;
                current.status.unwrap_or_default()
            }
        };
        let body = CommentEnvelope {
            status_history: CommentPayload {
                comment: text.to_owned(),
                is_customer_notified: u8::from(note.notify_customer),
                is_visible_on_front: 0,
                parent_id: id,
                status,
            },
        };
        Ok(Prepared::update(
            target_id,
            vec![FieldChange {
                path: "comments[+]".into(),
                before: serde_json::Value::Null,
                after: serde_json::Value::String(text.to_owned()),
            }],
        )
        .with_carry(body))
    }

    /// Posts the comment a note's prepare decided on.
    pub(super) async fn apply_note(&self, prepared: &Prepared) -> Result<WriteOutcome> {
        let target_id = prepared.target_id.clone().unwrap_or_default();
        let Some(body) = prepared.carried::<CommentEnvelope>() else {
            return Err(Error::internal("order comment without a prepared body"));
        };
        let _: serde_json::Value = self
            .client
            .write(
                Method::POST,
                SCOPE_ALL,
                &["orders", &target_id, "comments"],
                body,
                "/V1/orders/{id}/comments",
                Safety::NonIdempotent,
            )
            .await?;
        Ok(WriteOutcome::Updated { target_id })
    }

    /// The comment for an open amount.
    pub fn open_amount_note(&self, r: &OpenAmount) -> String {
        mapping::fill_template(
            &self.cfg.open_amounts.comment,
            &[
                ("invoice", r.invoice_number.clone()),
                ("amount", r.open_amount.to_string()),
                ("total", r.invoice_amount.to_string()),
                (
                    "due",
                    r.due_date
                        .map_or_else(|| "-".to_owned(), |d| d.format("%Y-%m-%d").to_string()),
                ),
            ],
        )
    }

    /// The comment for a paid order.
    pub fn payment_note(&self, r: &PaymentStatus) -> String {
        mapping::fill_template(
            &self.cfg.payments.comment,
            &[
                ("invoice", r.invoice_number.clone()),
                ("amount", r.paid_amount.to_string()),
                ("total", r.paid_amount.to_string()),
                ("due", "-".to_owned()),
            ],
        )
    }
}

pub(super) fn unchanged_by_previous<R: PartialEq>(item: &WriteItem<R>) -> Option<Prepared> {
    match (&item.previous, &item.target_id) {
        (Some(p), Some(id)) if *p == item.record => Some(Prepared::unchanged(id.clone())),
        _ => None,
    }
}

#[async_trait]
impl Sink<OpenAmount> for MagentoShop {
    /// The order and its comments: unchanged when it already carries the note.
    async fn prepare(&self, items: &[WriteItem<OpenAmount>]) -> Vec<Result<Prepared>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(p) = unchanged_by_previous(item) {
                out.push(Ok(p));
                continue;
            }
            let r = &item.record;
            let text = self.open_amount_note(r);
            out.push(
                self.prepare_note(
                    &r.order_number,
                    &text,
                    self.cfg.open_amounts.status.as_deref(),
                    &self.cfg.open_amounts,
                )
                .await
                .map_err(|e| on_record(e, &r.label())),
            );
        }
        out
    }

    async fn apply(
        &self,
        items: &[WriteItem<OpenAmount>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(
                self.apply_note(p)
                    .await
                    .map_err(|e| on_record(e, &item.record.label())),
            );
        }
        out
    }
}

#[async_trait]
impl Sink<PaymentStatus> for MagentoShop {
    /// Unpaid: nothing to report (unchanged). Paid: the order's comments, as for open amounts.
    async fn prepare(&self, items: &[WriteItem<PaymentStatus>]) -> Vec<Result<Prepared>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(p) = unchanged_by_previous(item) {
                out.push(Ok(p));
                continue;
            }
            let r = &item.record;
            let label = r.label();
            if !r.paid {
                // nothing to report until the invoice is settled
                out.push(
                    self.order_id(&r.order_number)
                        .await
                        .map(|id| Prepared::unchanged(id.to_string()))
                        .map_err(|e| on_record(e, &label)),
                );
                continue;
            }
            let text = self.payment_note(r);
            out.push(
                self.prepare_note(
                    &r.order_number,
                    &text,
                    self.cfg.payments.status.as_deref(),
                    &self.cfg.payments,
                )
                .await
                .map_err(|e| on_record(e, &label)),
            );
        }
        out
    }

    async fn apply(
        &self,
        items: &[WriteItem<PaymentStatus>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(
                self.apply_note(p)
                    .await
                    .map_err(|e| on_record(e, &item.record.label())),
            );
        }
        out
    }
}
