//! The paging-under-change check of every source: records changed, removed and added between
//! two page reads must not make unchanged records vanish or repeat.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use tracing::instrument::WithSubscriber;

use super::capture::guarded;
use super::read::{read_keys, read_keys_from};
use super::{Churn, Conformance, ConformanceReport};
use crate::connector::{Endpoints, ReadRequest, Routed};
use crate::model::Record;

impl Conformance {
    /// Paging under change: reads the first page of the window `(None, until]`, lets the
    /// mutator change, remove and add records, reads the remaining pages, and asserts that
    /// every record that existed unchanged throughout was read **exactly once** (the rule of
    /// [`Source`]: a keyset token gives exactly once, so no de-duplication is assumed). Then
    /// a read after `until` (the next run) must return every changed and added record.
    ///
    /// [`Source`]: crate::connector::Source
    pub(super) async fn paging_check<R: Routed>(
        &self,
        report: &mut ConformanceReport,
        dispatch: &tracing::Dispatch,
        e: &Endpoints,
    ) {
        let Some(source) = R::source_of(e) else {
            return;
        };
        let kind = R::KIND;
        let name = format!("paging_under_change({kind})");
        let Some(churn) = &self.churn else {
            report.push(
                name,
                Err("no `churn` mutator given: the check cannot run (every source must page correctly while records change)".into()),
            );
            return;
        };
        let until = Utc::now();
        let baseline = match read_keys(dispatch, source.clone(), None, Some(until)).await {
            Ok(k) => k,
            Err(e) => return report.push(name, Err(format!("baseline read failed: {e}"))),
        };
        let s = source.clone();
        let req = ReadRequest {
            since: None,
            until: Some(until),
            page: None,
        };
        let first = match guarded(dispatch, async move { s.read(&req).await }).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return report.push(name, Err(format!("first page failed: {e}"))),
            Err(p) => return report.push(name, Err(p)),
        };
        let read1: Vec<String> = first
            .items
            .iter()
            .filter_map(|i| i.as_ref().ok())
            .map(Record::key)
            .collect();
        let Some(token) = first.next else {
            return report.push(
                name,
                Err(format!(
                    "the first page holds the whole window ({} records): seed more records or lower the page size, or the check exercises nothing",
                    baseline.len()
                )),
            );
        };
        let unread: Vec<String> = baseline.iter().filter(|k| !read1.contains(k)).cloned().collect();
        // Changes must land after `until` (simulators may stamp whole seconds).
        let next = (until + TimeDelta::seconds(1)).timestamp_millis() - Utc::now().timestamp_millis();
        tokio::time::sleep(Duration::from_millis(next.max(0) as u64 + 20)).await;
        let request = Churn {
            kind,
            read: read1.clone(),
            unread,
        };
        let Some(done) = churn(request).with_subscriber(dispatch.clone()).await else {
            return report.push(
                name,
                Ok(format!(
                    "not exercised: the mutator does not change {kind} records"
                )),
            );
        };
        if done.changed.is_empty() && done.removed.is_empty() {
            return report.push(name, Err("the mutator changed and removed nothing".into()));
        }
        let rest = match read_keys_from(dispatch, source.clone(), None, Some(until), Some(token)).await {
            Ok(k) => k,
            Err(e) => return report.push(name, Err(format!("reading the remaining pages failed: {e}"))),
        };
        let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for k in read1.iter().chain(&rest) {
            *counts.entry(k.as_str()).or_default() += 1;
        }
        let touched = |k: &String| done.changed.contains(k) || done.removed.contains(k);
        let expected: Vec<&String> = baseline.iter().filter(|k| !touched(k)).collect();
        let missing: Vec<&str> = expected
            .iter()
            .filter(|k| !counts.contains_key(k.as_str()))
            .map(|k| k.as_str())
            .collect();
        let twice: Vec<&str> = expected
            .iter()
            .filter(|k| counts.get(k.as_str()).is_some_and(|n| *n > 1))
            .map(|k| k.as_str())
            .collect();
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!(
                "{} unchanged record(s) never read: {}",
                missing.len(),
                missing.join(", ")
            ));
        }
        if !twice.is_empty() {
            problems.push(format!(
                "{} unchanged record(s) read more than once: {}",
                twice.len(),
                twice.join(", ")
            ));
        }
        // The next run (after `until`) picks up what changed during the read.
        match read_keys(dispatch, source.clone(), Some(until), Some(Utc::now())).await {
            Err(e) => problems.push(format!("the read after the window failed: {e}")),
            Ok(later) => {
                let lost: Vec<&str> = done
                    .changed
                    .iter()
                    .chain(&done.added)
                    .filter(|k| !later.contains(k))
                    .map(|k| k.as_str())
                    .collect();
                if !lost.is_empty() {
                    problems.push(format!(
                        "changed or added record(s) missing from the next read (since {until}): {}",
                        lost.join(", ")
                    ));
                }
            }
        }
        report.push(
            name,
            if problems.is_empty() {
                Ok(format!(
                    "{} in the window, {} on page 1; changed {}, removed {}, added {} between pages; all {} unchanged read exactly once, changes read next time",
                    baseline.len(),
                    read1.len(),
                    done.changed.len(),
                    done.removed.len(),
                    done.added.len(),
                    expected.len()
                ))
            } else {
                Err(problems.join("; "))
            },
        );
    }
}
