//! Checks of every source: incremental reads, a cursor in the far future, malformed records.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tracing::instrument::WithSubscriber;

use super::capture::guarded;
use super::read::read_all;
use super::{Conformance, ConformanceReport};
use crate::connector::{Endpoints, ReadRequest, Routed};

fn far_future() -> DateTime<Utc> {
    Utc::now() + TimeDelta::days(3650)
}

impl Conformance {
    pub(super) async fn source_checks<R: Routed>(
        &self,
        report: &mut ConformanceReport,
        dispatch: &tracing::Dispatch,
        e: &Endpoints,
    ) {
        let Some(source) = R::source_of(e) else {
            return;
        };
        let kind = R::KIND;

        // incremental: a second read after the first one's `until` returns only later changes
        let until1 = Utc::now();
        let first = read_all(dispatch, source.clone(), None, Some(until1)).await;
        let result = match first {
            Err(e) => Err(format!("first read failed: {e}")),
            Ok((n1, _)) => {
                if let Some(touch) = &self.touch {
                    // simulators may stamp whole seconds: touch in the next second
                    let next =
                        (until1 + TimeDelta::seconds(1)).timestamp_millis() - Utc::now().timestamp_millis();
                    tokio::time::sleep(Duration::from_millis(next.max(0) as u64 + 20)).await;
                    touch(kind).with_subscriber(dispatch.clone()).await;
                }
                match read_all(dispatch, source.clone(), Some(until1), Some(Utc::now())).await {
                    Err(e) => Err(format!("second read failed: {e}")),
                    Ok((n2, times)) => {
                        let older: Vec<_> = times.iter().flatten().filter(|t| **t <= until1).collect();
                        if !older.is_empty() {
                            Err(format!(
                                "second read (since {until1}) returned {} record(s) changed before it, e.g. {}",
                                older.len(),
                                older[0]
                            ))
                        } else if self.touch.is_some() && n2 == 0 {
                            Err("second read did not return the record changed after the first read".into())
                        } else {
                            Ok(format!("first read {n1}, second read {n2}"))
                        }
                    }
                }
            }
        };
        report.push(format!("incremental_read({kind})"), result);

        let future = match read_all(dispatch, source.clone(), Some(far_future()), None).await {
            Ok((0, _)) => Ok("no records".into()),
            Ok((n, _)) => Err(format!("a cursor in the far future still returned {n} item(s)")),
            Err(e) => Err(format!("read failed: {e}")),
        };
        report.push(format!("far_future_cursor({kind})"), future);

        if let Some(malformed) = &self.malformed {
            malformed(true).with_subscriber(dispatch.clone()).await;
            let s = source.clone();
            let page = guarded(dispatch, async move { s.read(&ReadRequest::default()).await }).await;
            malformed(false).with_subscriber(dispatch.clone()).await;
            let result = match page {
                Ok(Ok(p)) => {
                    let rejected: Vec<String> = p
                        .items
                        .iter()
                        .filter_map(|i| i.as_ref().err())
                        .map(|r| r.to_string())
                        .collect();
                    if rejected.is_empty() {
                        Err(format!(
                            "no Rejection among {} item(s) with the malformed fault on",
                            p.items.len()
                        ))
                    } else {
                        Ok(format!("{} rejected, e.g. {}", rejected.len(), rejected[0]))
                    }
                }
                Ok(Err(e)) => Err(format!(
                    "the whole read failed ({} error: {e}); expected per-record Rejections",
                    e.class()
                )),
                Err(p) => Err(p),
            };
            report.push(format!("malformed_record({kind})"), result);
        }
    }
}
