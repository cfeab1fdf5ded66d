//! Sink<PaymentStatus> and Sink<OpenAmount>: a new `order_histories` entry with the
//! configured state, and a private order message for open amounts.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use koppel_core::http::Safety;
use koppel_core::wire::on_record;
use koppel_core::{
    Error, FieldChange, OpenAmount, PaymentStatus, Prepared, Record, Result, Sink, Verdict, WriteItem,
    WriteOutcome,
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::mapping;
use crate::models::{Obj, XmlEntity};

use super::{q, validation, PrestaShopShop};

/// What `prepare` carries to `apply` for an order state or message.
struct NotePlan {
    order_id: u64,
    customer_id: Option<u64>,
    text: String,
}

impl PrestaShopShop {
    async fn orders_of(&self, numbers: &[&str]) -> Result<HashMap<u64, Obj>> {
        let ids: Vec<u64> = numbers.iter().filter_map(|n| n.parse().ok()).collect();
        self.by_ids("orders", &ids, &[]).await
    }

    fn order_id(number: &str, label: &str) -> Result<u64> {
        number.trim().parse().map_err(|_| {
            Error::rejected(
                label,
                Some("order_number"),
                format!("{number:?} is not a PrestaShop order id"),
            )
        })
    }

    async fn prepare_payments(&self, items: &[WriteItem<PaymentStatus>]) -> Vec<Result<Prepared>> {
        let Some(state) = self.cfg.payments.state else {
            return items
                .iter()
                .map(|i| Ok(Prepared::unchanged(i.record.order_number.clone())))
                .collect();
        };
        let todo: Vec<&str> = items
            .iter()
            .filter(|i| i.record.paid)
            .map(|i| i.record.order_number.as_str())
            .collect();
        let (orders, histories) = if todo.is_empty() {
            (HashMap::new(), Vec::new())
        } else {
            let ids: Vec<String> = todo
                .iter()
                .filter(|n| n.parse::<u64>().is_ok())
                .map(|n| n.to_string())
                .collect();
            let orders = self.orders_of(&todo).await;
            let hist = if ids.is_empty() {
                Ok(Vec::new())
            } else {
                self.client
                    .list_by("order_histories", "id_order", &ids, &[], 100)
                    .await
            };
            match (orders, hist) {
                (Ok(o), Ok(h)) => (o, h),
                (Err(e), _) | (_, Err(e)) => return items.iter().map(|_| Err(e.clone())).collect(),
            }
        };
        items
            .iter()
            .map(|item| {
                let r = &item.record;
                let label = r.label();
                r.validate().map_err(validation)?;
                if !r.paid {
                    // nothing to report until the invoice is settled
                    return Ok(Prepared::unchanged(r.order_number.clone()));
                }
                let id = Self::order_id(&r.order_number, &label)?;
                let order = orders.get(&id).ok_or_else(|| Error::NotFound {
                    what: format!("{label}: order {id} in the shop"),
                })?;
                let done = histories.iter().any(|h| {
                    h.id("id_order").ok().flatten() == Some(id)
                        && h.id("id_order_state").ok().flatten() == Some(u64::from(state))
                });
                if done {
                    return Ok(Prepared::unchanged(id.to_string()));
                }
                Ok(Prepared::update(
                    id.to_string(),
                    vec![FieldChange {
                        path: "current_state".into(),
                        before: json!(order.text("current_state")),
                        after: json!(state.to_string()),
                    }],
                )
                .with_carry(NotePlan {
                    order_id: id,
                    customer_id: order.id("id_customer").ok().flatten(),
                    text: state.to_string(),
                }))
            })
            .collect()
    }

    async fn apply_payment(&self, item: &WriteItem<PaymentStatus>, p: &Prepared) -> Result<WriteOutcome> {
        let target_id = p.target_id.clone().unwrap_or_default();
        if p.verdict == Verdict::Unchanged {
            return Ok(WriteOutcome::Unchanged { target_id });
        }
        let plan = p
            .carried::<NotePlan>()
            .ok_or_else(|| Error::internal("payment prepared without its plan"))?;
        // a new order_histories entry, never a PUT on orders (which re-fires the state hooks
        // and mails every time: PrestaShop/PrestaShop#11154); it mails only with sendemail=1
        let mut e = XmlEntity::new("order_history");
        e.text("id_order", plan.order_id.to_string());
        e.text("id_order_state", plan.text.clone());
        e.text("id_employee", "0");
        let query = if self.cfg.payments.send_email {
            vec![q("sendemail", "1")]
        } else {
            Vec::new()
        };
        self.client
            .write(Method::POST, "order_histories", &e, &query, Safety::NonIdempotent)
            .await
            .map_err(|e| on_record(e, &item.record.label()))?;
        Ok(WriteOutcome::Updated { target_id })
    }

    /// The message for an open amount.
    pub fn open_amount_message(&self, r: &OpenAmount) -> Option<String> {
        let t = self.cfg.open_amounts.message.as_ref()?;
        Some(mapping::fill_template(
            t,
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
        ))
    }

    async fn prepare_open_amounts(&self, items: &[WriteItem<OpenAmount>]) -> Vec<Result<Prepared>> {
        if self.cfg.open_amounts.message.is_none() {
            return items
                .iter()
                .map(|i| Ok(Prepared::unchanged(i.record.order_number.clone())))
                .collect();
        }
        let numbers: Vec<&str> = items.iter().map(|i| i.record.order_number.as_str()).collect();
        let ids: Vec<String> = numbers
            .iter()
            .filter(|n| n.parse::<u64>().is_ok())
            .map(|n| n.to_string())
            .collect();
        let orders = self.orders_of(&numbers).await;
        let messages = if ids.is_empty() {
            Ok(Vec::new())
        } else {
            self.client.list_by("messages", "id_order", &ids, &[], 100).await
        };
        let (orders, messages) = match (orders, messages) {
            (Ok(o), Ok(m)) => (o, m),
            (Err(e), _) | (_, Err(e)) => return items.iter().map(|_| Err(e.clone())).collect(),
        };
        items
            .iter()
            .map(|item| {
                let r = &item.record;
                let label = r.label();
                r.validate().map_err(validation)?;
                let id = Self::order_id(&r.order_number, &label)?;
                let order = orders.get(&id).ok_or_else(|| Error::NotFound {
                    what: format!("{label}: order {id} in the shop"),
                })?;
                let text = self.open_amount_message(r).unwrap_or_default();
                let seen: HashSet<String> = messages
                    .iter()
                    .filter(|m| m.id("id_order").ok().flatten() == Some(id))
                    .filter_map(|m| m.text("message").map(|t| t.trim().to_owned()))
                    .collect();
                if seen.contains(text.trim()) {
                    return Ok(Prepared::unchanged(id.to_string()));
                }
                Ok(Prepared::update(
                    id.to_string(),
                    vec![FieldChange {
                        path: "message".into(),
                        before: Value::Null,
                        after: json!(text),
                    }],
                )
                .with_carry(NotePlan {
                    order_id: id,
                    customer_id: order.id("id_customer").ok().flatten(),
                    text,
                }))
            })
            .collect()
    }

    async fn apply_open_amount(&self, item: &WriteItem<OpenAmount>, p: &Prepared) -> Result<WriteOutcome> {
        let target_id = p.target_id.clone().unwrap_or_default();
        if p.verdict == Verdict::Unchanged {
            return Ok(WriteOutcome::Unchanged { target_id });
        }
        let plan = p
            .carried::<NotePlan>()
            .ok_or_else(|| Error::internal("open amount prepared without its plan"))?;
        // a private message: employees see it on the order, the customer does not
        let mut e = XmlEntity::new("message");
        e.text("id_order", plan.order_id.to_string());
        if let Some(c) = plan.customer_id {
            e.text("id_customer", c.to_string());
        }
        e.text("id_employee", "0");
        e.text("message", plan.text.clone());
        e.text("private", "1");
        self.client
            .write(Method::POST, "messages", &e, &[], Safety::NonIdempotent)
            .await
            .map_err(|e| on_record(e, &item.record.label()))?;
        Ok(WriteOutcome::Updated { target_id })
    }
}

#[async_trait]
impl Sink<PaymentStatus> for PrestaShopShop {
    async fn prepare(&self, items: &[WriteItem<PaymentStatus>]) -> Vec<Result<Prepared>> {
        self.prepare_payments(items).await
    }

    async fn apply(
        &self,
        items: &[WriteItem<PaymentStatus>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(self.apply_payment(item, p).await);
        }
        out
    }

    fn batch_size(&self) -> usize {
        50
    }
}

#[async_trait]
impl Sink<OpenAmount> for PrestaShopShop {
    async fn prepare(&self, items: &[WriteItem<OpenAmount>]) -> Vec<Result<Prepared>> {
        self.prepare_open_amounts(items).await
    }

    async fn apply(
        &self,
        items: &[WriteItem<OpenAmount>],
        prepared: &[Prepared],
    ) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(self.apply_open_amount(item, p).await);
        }
        out
    }

    fn batch_size(&self) -> usize {
        50
    }
}
