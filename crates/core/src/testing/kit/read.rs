//! Reading every page of a source the way the engine does, for the read checks.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::capture::guarded;
use crate::connector::{ReadRequest, Source};
use crate::error::Error;
use crate::model::Record;

/// Reads every page; returns the keys of the readable records, in read order.
pub(super) async fn read_keys<R: Record>(
    dispatch: &tracing::Dispatch,
    source: Arc<dyn Source<R>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> std::result::Result<Vec<String>, String> {
    read_keys_from(dispatch, source, since, until, None).await
}

/// Reads every page from `page` on; returns the keys of the readable records, in read order.
pub(super) async fn read_keys_from<R: Record>(
    dispatch: &tracing::Dispatch,
    source: Arc<dyn Source<R>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    page: Option<String>,
) -> std::result::Result<Vec<String>, String> {
    let fut = async move {
        let mut req = ReadRequest { since, until, page };
        let mut keys = Vec::new();
        for _ in 0..10_000 {
            let page = source.read(&req).await?;
            keys.extend(page.items.iter().filter_map(|i| i.as_ref().ok()).map(Record::key));
            match page.next {
                Some(next) => req.page = Some(next),
                None => return Ok(keys),
            }
        }
        Err(Error::protocol("more than 10000 pages: paging does not end"))
    };
    match guarded(dispatch, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(p),
    }
}

/// Reads every page; returns the item count and the change times of the records.
pub(super) async fn read_all<R: Record>(
    dispatch: &tracing::Dispatch,
    source: Arc<dyn Source<R>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> std::result::Result<(usize, Vec<Option<DateTime<Utc>>>), String> {
    let fut = async move {
        let mut req = ReadRequest {
            since,
            until,
            page: None,
        };
        let mut n = 0;
        let mut times = Vec::new();
        for _ in 0..10_000 {
            let page = source.read(&req).await?;
            n += page.items.len();
            times.extend(
                page.items
                    .iter()
                    .filter_map(|i| i.as_ref().ok())
                    .map(Record::modified),
            );
            match page.next {
                Some(next) => req.page = Some(next),
                None => return Ok((n, times)),
            }
        }
        Err(Error::protocol("more than 10000 pages: paging does not end"))
    };
    match guarded(dispatch, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(p),
    }
}
