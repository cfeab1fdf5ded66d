//! The [`StateStore`] impl of [`SqliteStore`]: each call moves its arguments to the store
//! thread and runs there the query of its table's file.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{bindings, cursors, journal, leases, quarantine, runs, SqliteStore};
use crate::error::{Error, Result};
use crate::flows::Flow;
use crate::model::Kind;
use crate::state::{
    Binding, CursorRecord, JournalEntry, JournalOutcome, Lease, NewIntent, QuarantineEntry, RunRecord,
    StateStore, WriteCompletion,
};

#[async_trait]
impl StateStore for SqliteStore {
    async fn record_run(&self, run: &RunRecord) -> Result<()> {
        let run = run.clone();
        self.run(move |c| runs::record(c, &run)).await
    }

    async fn recent_runs(&self, pair: &str, flow: Option<Flow>, limit: usize) -> Result<Vec<RunRecord>> {
        let pair = pair.to_owned();
        self.run(move |c| runs::recent(c, &pair, flow, limit)).await
    }

    async fn cursor(&self, pair: &str, flow: Flow) -> Result<Option<DateTime<Utc>>> {
        let pair = pair.to_owned();
        self.run(move |c| cursors::get(c, &pair, flow)).await
    }

    async fn set_cursor(&self, pair: &str, flow: Flow, cursor: DateTime<Utc>) -> Result<()> {
        let pair = pair.to_owned();
        self.run(move |c| cursors::set(c, &pair, flow, cursor)).await
    }

    async fn cursors(&self, pair: &str) -> Result<Vec<CursorRecord>> {
        let pair = pair.to_owned();
        self.run(move |c| cursors::list(c, &pair)).await
    }

    async fn binding(&self, pair: &str, kind: Kind, key: &str) -> Result<Option<Binding>> {
        let (pair, key) = (pair.to_owned(), key.to_owned());
        self.run(move |c| bindings::get(c, &pair, kind, &key)).await
    }

    async fn bindings(&self, pair: &str, kind: Kind) -> Result<Vec<Binding>> {
        let pair = pair.to_owned();
        self.run(move |c| bindings::list(c, &pair, kind)).await
    }

    async fn put_binding(&self, b: &Binding) -> Result<()> {
        let b = b.clone();
        self.run(move |c| bindings::put(c, &b)).await
    }

    async fn journal_intent(&self, i: &NewIntent) -> Result<i64> {
        let ids = self.journal_intents(std::slice::from_ref(i)).await?;
        ids.first()
            .copied()
            .ok_or_else(|| Error::internal("state store: no journal row for the intent"))
    }

    async fn journal_intents(&self, intents: &[NewIntent]) -> Result<Vec<i64>> {
        if intents.is_empty() {
            return Ok(Vec::new());
        }
        let intents = intents.to_vec();
        self.run(move |c| journal::add_intents(c, &intents)).await
    }

    async fn journal_outcome(
        &self,
        id: i64,
        outcome: JournalOutcome,
        target_id: Option<&str>,
        detail: Option<&str>,
    ) -> Result<()> {
        self.complete_writes(&[WriteCompletion::Outcome {
            journal_id: id,
            outcome,
            target_id: target_id.map(str::to_owned),
            detail: detail.map(str::to_owned),
        }])
        .await
    }

    async fn complete_write(
        &self,
        journal_id: Option<i64>,
        outcome: JournalOutcome,
        binding: &Binding,
        label: &str,
    ) -> Result<()> {
        self.complete_writes(&[WriteCompletion::Bound {
            journal_id,
            outcome,
            binding: binding.clone(),
            label: label.to_owned(),
        }])
        .await
    }

    async fn complete_writes(&self, completions: &[WriteCompletion]) -> Result<()> {
        if completions.is_empty() {
            return Ok(());
        }
        let completions = completions.to_vec();
        self.run(move |c| journal::complete(c, &completions)).await
    }

    async fn open_intents(&self, pair: &str, kind: Kind) -> Result<Vec<JournalEntry>> {
        let pair = pair.to_owned();
        self.run(move |c| journal::open_intents(c, &pair, kind)).await
    }

    async fn journal(&self, pair: &str, limit: usize) -> Result<Vec<JournalEntry>> {
        let pair = pair.to_owned();
        self.run(move |c| journal::recent(c, &pair, limit)).await
    }

    async fn put_quarantine(&self, q: &QuarantineEntry) -> Result<()> {
        let q = q.clone();
        self.run(move |c| quarantine::put(c, &q)).await
    }

    async fn quarantine_entry(&self, pair: &str, kind: Kind, key: &str) -> Result<Option<QuarantineEntry>> {
        let (pair, key) = (pair.to_owned(), key.to_owned());
        self.run(move |c| quarantine::get(c, &pair, kind, &key)).await
    }

    async fn quarantined(&self, pair: &str, flow: Option<Flow>) -> Result<Vec<QuarantineEntry>> {
        let pair = pair.to_owned();
        self.run(move |c| quarantine::list(c, &pair, flow)).await
    }

    async fn release_quarantine(&self, pair: &str, kind: Kind, key: &str) -> Result<bool> {
        let (pair, key) = (pair.to_owned(), key.to_owned());
        self.run(move |c| quarantine::release(c, &pair, kind, &key)).await
    }

    async fn acquire_lease(
        &self,
        pair: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease> {
        let expires_at = now + leases::ttl_delta(ttl)?;
        let (pair, holder) = (pair.to_owned(), holder.to_owned());
        self.worker
            .run(move |c| leases::acquire(c, pair, holder, now, expires_at))
            .await
    }

    async fn renew_lease(
        &self,
        pair: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Lease> {
        let expires_at = now + leases::ttl_delta(ttl)?;
        let (pair, holder) = (pair.to_owned(), holder.to_owned());
        self.worker
            .run(move |c| leases::renew(c, &pair, &holder, expires_at))
            .await
    }

    async fn release_lease(&self, pair: &str, holder: &str) -> Result<()> {
        let (pair, holder) = (pair.to_owned(), holder.to_owned());
        self.run(move |c| leases::release(c, &pair, &holder)).await
    }

    async fn lease(&self, pair: &str) -> Result<Option<Lease>> {
        let pair = pair.to_owned();
        self.run(move |c| leases::get(c, &pair)).await
    }
}
