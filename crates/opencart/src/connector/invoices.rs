//! Open amounts and payments from SnelStart's invoices, written as order history (status +
//! comment, as OpenCart's `addOrderHistory` records it).

use async_trait::async_trait;
use koppel_core::{
    Error, FieldChange, OpenAmount, PaymentStatus, Prepared, Record, Rejection, Result, Sink, Verdict,
    WriteItem, WriteOutcome,
};
use serde_json::{json, Value};

use super::OpenCartShop;
use crate::client::item_rejection;
use crate::mapping;
use crate::models::HistoryItem;

impl OpenCartShop {
    /// `(label, order number, entry)` per item, or why it cannot be written; `None` entry:
    /// nothing to write (an unpaid invoice).
    async fn prepare_history(
        &self,
        entries: Vec<(
            String,
            String,
            std::result::Result<Option<HistoryItem>, Rejection>,
        )>,
    ) -> Vec<Result<Prepared>> {
        let mut ask = Vec::new();
        let mut parsed = Vec::with_capacity(entries.len());
        for (label, number, entry) in entries {
            let id = number.parse::<u64>().map_err(|_| {
                Error::rejected(
                    label.clone(),
                    Some("order_number"),
                    format!("{number:?} is not an OpenCart order id"),
                )
            });
            let marker = match &entry {
                Ok(Some(h)) => h.marker.clone(),
                _ => String::new(),
            };
            if let Ok(id) = &id {
                ask.push((*id, marker));
            }
            parsed.push((label, id, entry));
        }
        let found = match self.client.history_check(&ask).await {
            Ok(f) => f,
            Err(e) => return parsed.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut found = found.into_iter();
        parsed
            .into_iter()
            .map(|(label, id, entry)| {
                let id = id?;
                let have = found
                    .next()
                    .ok_or_else(|| Error::protocol("history.check: fewer answers than asked"))?;
                if !have.found || have.order_status_id == Some(0) {
                    return Err(Error::rejected(
                        label,
                        Some("order_number"),
                        format!("no confirmed order {id} in the shop"),
                    ));
                }
                let entry = entry.map_err(Error::Rejected)?;
                let target = id.to_string();
                match entry {
                    None => Ok(Prepared::unchanged(target)),
                    Some(_) if have.history_id.is_some() => Ok(Prepared::unchanged(target)),
                    Some(h) => {
                        let mut changes = vec![FieldChange {
                            path: "history".into(),
                            before: Value::Null,
                            after: json!(h.comment),
                        }];
                        if let Some(s) = h.order_status_id {
                            if have.order_status_id != Some(s) {
                                changes.push(FieldChange {
                                    path: "order_status_id".into(),
                                    before: json!(have.order_status_id),
                                    after: json!(s),
                                });
                            }
                        }
                        Ok(Prepared::update(target, changes).with_carry(h))
                    }
                }
            })
            .collect()
    }

    async fn apply_history(&self, labels: Vec<String>, prepared: &[Prepared]) -> Vec<Result<WriteOutcome>> {
        let mut out: Vec<Option<Result<WriteOutcome>>> = vec![None; prepared.len()];
        let mut send = Vec::new();
        let mut at = Vec::new();
        for (i, p) in prepared.iter().enumerate() {
            match (p.verdict, p.carried::<HistoryItem>()) {
                (Verdict::Unchanged, _) => {
                    out[i] = Some(Ok(WriteOutcome::Unchanged {
                        target_id: p.target_id.clone().unwrap_or_default(),
                    }))
                }
                (_, Some(h)) => {
                    send.push(h.clone());
                    at.push(i);
                }
                (_, None) => out[i] = Some(Err(Error::internal("prepared history without its entry"))),
            }
        }
        if !send.is_empty() {
            match self.client.history_add(&send).await {
                Ok(answers) => {
                    for (i, a) in at.into_iter().zip(answers) {
                        let label = labels.get(i).cloned().unwrap_or_default();
                        out[i] = Some(match &a.error {
                            Some(e) => Err(item_rejection(&label, e)),
                            None if a.existing => Ok(WriteOutcome::Unchanged {
                                target_id: a.order_id.to_string(),
                            }),
                            None => Ok(WriteOutcome::Updated {
                                target_id: a.order_id.to_string(),
                            }),
                        });
                    }
                }
                Err(e) => {
                    for i in at {
                        out[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::internal("no history result"))))
            .collect()
    }

    fn history_entry(
        order_number: &str,
        comment: String,
        marker: String,
        status: Option<u32>,
    ) -> std::result::Result<Option<HistoryItem>, Rejection> {
        let order_id = order_number.parse::<u64>().unwrap_or(0);
        Ok(Some(HistoryItem {
            order_id,
            order_status_id: status,
            comment: format!("{comment} {marker}"),
            marker,
        }))
    }

    /// The history entry of an open amount (marker: invoice and open amount).
    pub fn open_amount_entry(&self, r: &OpenAmount) -> std::result::Result<Option<HistoryItem>, Rejection> {
        let due = r.due_date.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
        let comment = mapping::fill(
            &self.cfg.open_amounts.comment,
            &r.invoice_number,
            &r.open_amount.to_string(),
            &r.invoice_amount.to_string(),
            &due,
        );
        let marker = format!(
            "[koppel:open:{}:{}]",
            r.invoice_number,
            r.open_amount.amount.normalize()
        );
        Self::history_entry(&r.order_number, comment, marker, self.cfg.open_amounts.status)
    }

    /// The history entry of a payment (only when fully paid; marker: invoice and amount).
    pub fn payment_entry(&self, r: &PaymentStatus) -> std::result::Result<Option<HistoryItem>, Rejection> {
        if !r.paid {
            // nothing to report until the invoice is settled
            return Ok(None);
        }
        let comment = mapping::fill(
            &self.cfg.payments.comment,
            &r.invoice_number,
            &r.paid_amount.to_string(),
            &r.paid_amount.to_string(),
            "",
        );
        let marker = format!(
            "[koppel:paid:{}:{}]",
            r.invoice_number,
            r.paid_amount.amount.normalize()
        );
        Self::history_entry(&r.order_number, comment, marker, self.cfg.payments.status)
    }
}

#[async_trait]
#[async_trait]
impl Sink<OpenAmount> for OpenCartShop {
    async fn prepare(&self, items: &[WriteItem<OpenAmount>]) -> Vec<Result<Prepared>> {
        let entries = items
            .iter()
            .map(|i| {
                (
                    i.record.label(),
                    i.record.order_number.clone(),
                    self.open_amount_entry(&i.record),
                )
            })
            .collect();
        self.prepare_history(entries).await
    }
    async fn apply(
        &self,
        items: &[WriteItem<OpenAmount>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        self.apply_history(items.iter().map(|i| i.record.label()).collect(), prepared)
            .await
    }
    fn batch_size(&self) -> usize {
        100
    }
}

#[async_trait]
#[async_trait]
impl Sink<PaymentStatus> for OpenCartShop {
    async fn prepare(&self, items: &[WriteItem<PaymentStatus>]) -> Vec<Result<Prepared>> {
        let entries = items
            .iter()
            .map(|i| {
                (
                    i.record.label(),
                    i.record.order_number.clone(),
                    self.payment_entry(&i.record),
                )
            })
            .collect();
        self.prepare_history(entries).await
    }
    async fn apply(
        &self,
        items: &[WriteItem<PaymentStatus>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        self.apply_history(items.iter().map(|i| i.record.label()).collect(), prepared)
            .await
    }
    fn batch_size(&self) -> usize {
        100
    }
}
