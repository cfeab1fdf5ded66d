//! Shop customers as relaties (`Sink<Customer>`).

use async_trait::async_trait;
use koppel_core::connector::Prepared;
use koppel_core::http::Safety;
use koppel_core::{Customer, Error, Record, Result, Sink, WriteItem, WriteOutcome};
use serde_json::Value;

use crate::client::Query;
use crate::config::{GuestPolicy, MatchKey};
use crate::mapping::{self};
use crate::models::Relatie;

use super::SnelStartAdministration;

impl SnelStartAdministration {
    pub(super) async fn relatie_json(&self, id: &str) -> Result<Option<Value>> {
        match self
            .client
            .get::<Value>(&format!("/relaties/{id}"), "/relaties/{id}")
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) fn match_filter(key: MatchKey, c: &Customer) -> Option<String> {
        let (field, value) = match key {
            MatchKey::Email => (
                "Email",
                c.email
                    .as_deref()
                    .map(str::trim)
                    .filter(|e| !e.is_empty())?
                    .to_owned(),
            ),
            MatchKey::VatNumber => (
                "BtwNummer",
                mapping::normalize_vat_number(c.vat_number.as_deref()?)?,
            ),
            MatchKey::KvkNumber => {
                let k = mapping::normalize_kvk(c.kvk_number.as_deref()?);
                if k.is_empty() {
                    return None;
                }
                ("KvkNummer", k)
            }
        };
        Some(format!(
            "{field} eq {} and Relatiesoort/any(r:r eq 'Klant')",
            mapping::odata_string(&value)
        ))
    }

    /// The first active Klant relatie matching the customer by the configured keys.
    pub(super) async fn match_relatie(&self, c: &Customer) -> Result<Option<(String, Value)>> {
        for key in &self.config.customers.match_order {
            let Some(filter) = Self::match_filter(*key, c) else {
                continue;
            };
            let q = Query {
                filter: Some(filter),
                select: None,
                skip: 0,
                top: 10,
            };
            let items = self.client.list_page("/relaties", &q).await?;
            for v in items {
                let Ok(r) = serde_json::from_value::<Relatie>(v.clone()) else {
                    continue;
                };
                let klant = r
                    .relatiesoort
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|k| k == "Klant"));
                if klant && r.nonactief != Some(true) {
                    if let Some(id) = r.id {
                        tracing::debug!(customer = %c.label(), by = ?key, relatie = %id, "matched existing relatie");
                        return Ok(Some((id, v)));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The verzameldebiteur's GUID (looked up once by relatiecode).
    pub(super) async fn collective_relatie(&self) -> Result<String> {
        let mut guard = self.collective.lock().await;
        if let Some(id) = guard.as_ref() {
            return Ok(id.clone());
        }
        let code = self.config.customers.collective_relatie_code.ok_or_else(|| {
            Error::config(
                "customers.collective_relatie_code",
                "required when guests = \"collective\"",
            )
        })?;
        let q = Query {
            filter: Some(format!("Relatiecode eq {code}")),
            select: None,
            skip: 0,
            top: 2,
        };
        let items = self.client.list_page("/relaties", &q).await?;
        let id = items
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Relatie>(v).ok())
            .find(|r| r.relatiecode == Some(code))
            .and_then(|r| r.id)
            .ok_or_else(|| {
                Error::config(
                    "customers.collective_relatie_code",
                    format!("no relatie with relatiecode {code} in this administration"),
                )
            })?;
        *guard = Some(id.clone());
        Ok(id)
    }
}

/// What a customer's prepare decided to send.
pub(super) enum RelatieOp {
    /// `POST /relaties` of a new relatie.
    Post(crate::models::RelatieWrite),
    /// `PUT /relaties/{id}` of the merged relatie.
    Put { id: String, body: Value },
}

/// Create / update (with SnelStart's current value -> the new one) / unchanged for a relatie
/// as SnelStart holds it.
pub(super) fn relatie_verdict(id: &str, existing: &Value, desired: &crate::models::RelatieWrite) -> Prepared {
    match mapping::merge_relatie(existing, desired) {
        None => Prepared::unchanged(id),
        Some(body) => {
            let changes = koppel_core::engine::diff_json(existing, &body)
                .into_iter()
                .filter(|c| !c.after.is_null())
                .collect();
            Prepared::update(id, changes).with_carry(RelatieOp::Put {
                id: id.to_owned(),
                body,
            })
        }
    }
}

impl SnelStartAdministration {
    /// The read-only half of a customer write: the relatie bound, or matched by the configured
    /// keys, compared with what koppel would write.
    async fn prepare_customer(&self, item: &WriteItem<Customer>) -> Result<Prepared> {
        let c = &item.record;
        if c.is_guest && self.config.customers.guests == GuestPolicy::Collective {
            let id = self.collective_relatie().await?;
            return Ok(Prepared::unchanged(id));
        }
        let refs = self.refdata().await?;
        let desired = mapping::customer_to_relatie(c, &refs).map_err(Error::Rejected)?;
        if let Some(id) = &item.target_id {
            match self.relatie_json(id).await? {
                Some(existing) => return Ok(relatie_verdict(id, &existing, &desired)),
                None => {
                    tracing::info!(customer = %c.label(), relatie = %id, "bound relatie no longer exists; matching again")
                }
            }
        }
        if let Some((id, existing)) = self.match_relatie(c).await? {
            return Ok(relatie_verdict(&id, &existing, &desired));
        }
        let after = serde_json::to_value(&desired).ok();
        Ok(Prepared::create(after).with_carry(RelatieOp::Post(desired)))
    }

    async fn apply_customer(&self, item: &WriteItem<Customer>, prepared: &Prepared) -> Result<WriteOutcome> {
        let c = &item.record;
        let fresh;
        let prepared = match prepared.carried::<RelatieOp>() {
            Some(_) => prepared,
            None => {
                fresh = self.prepare_customer(item).await?;
                &fresh
            }
        };
        match prepared.carried::<RelatieOp>() {
            None => Ok(WriteOutcome::Unchanged {
                target_id: prepared.target_id.clone().unwrap_or_default(),
            }),
            Some(RelatieOp::Put { id, body }) => {
                self.client
                    .put(&format!("/relaties/{id}"), "/relaties/{id}", body)
                    .await
                    .map_err(|e| koppel_core::wire::on_record(e, &c.label()))?;
                Ok(WriteOutcome::Updated {
                    target_id: id.clone(),
                })
            }
            Some(RelatieOp::Post(desired)) => {
                let created = self
                    .client
                    .post("/relaties", desired, Safety::NonIdempotent)
                    .await
                    .map_err(|e| koppel_core::wire::on_record(e, &c.label()))?;
                match created.as_ref().and_then(|v| v.get("id")).and_then(Value::as_str) {
                    Some(id) => Ok(WriteOutcome::Created { target_id: id.to_owned() }),
                    None => match self.match_relatie(c).await? {
                        Some((id, _)) => Ok(WriteOutcome::Created { target_id: id }),
                        None => Err(Error::Uncertain {
                            message: format!("{}: POST /relaties answered without an id and the relatie cannot be found by its keys", c.label()),
                        }),
                    },
                }
            }
        }
    }
}

#[async_trait]
impl Sink<Customer> for SnelStartAdministration {
    /// Per customer: the bound relatie (`GET /relaties/{id}`) or the first matching one (by
    /// the configured keys), merged with what koppel writes: create, update of the fields that
    /// differ, or unchanged. Reads only.
    async fn prepare(&self, items: &[WriteItem<Customer>]) -> Vec<Result<Prepared>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(
                self.prepare_customer(item)
                    .await
                    .map_err(|e| koppel_core::wire::on_record(e, &item.record.label())),
            );
        }
        out
    }

    async fn apply(&self, items: &[WriteItem<Customer>], prepared: &[Prepared]) -> Vec<Result<WriteOutcome>> {
        let mut out = Vec::with_capacity(items.len());
        for (item, p) in items.iter().zip(prepared) {
            out.push(self.apply_customer(item, p).await);
        }
        out
    }

    async fn lookup(&self, record: &Customer) -> Result<Option<String>> {
        if record.is_guest && self.config.customers.guests == GuestPolicy::Collective {
            return self.collective_relatie().await.map(Some);
        }
        Ok(self.match_relatie(record).await?.map(|(id, _)| id))
    }
}
