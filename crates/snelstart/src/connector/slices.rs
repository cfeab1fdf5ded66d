//! Change-window slices: paging over `ModifiedOn` windows that stays correct while records change.

use koppel_core::{Error, ReadRequest, Result};
use serde_json::Value;

use crate::client::Query;
use crate::mapping::{self};

use super::SnelStartAdministration;

/// Paging that stays correct while records change (issue 9: `$skip` inside a moving window
/// lost records).
///
/// Why this scheme: SnelStart documents `$filter` (with `gt`/`ge`/`le` on `ModifiedOn`, and
/// comparisons on `Artikelcode`, shown working by Invantive's forum), `$skip`, `$top` (25 on
/// articles) and a bare array per page; it documents no `$orderby` and no order of the
/// results (the simulator refuses undeclared options, as the definition declares none). So no
/// keyset over a server order is available, and `$skip` inside `ModifiedOn gt since and
/// ModifiedOn le until` is what lost records: an edited record leaves the window and the rest
/// shift back. Instead every request asks for a *slice* of the window by filter alone and
/// never skips: `$skip=0`, `$top=N`. A slice that comes back with fewer than `N` records is
/// complete, whatever the order; a full one may hold more and is split at the change times
/// (or, for records sharing one change time, at the codes) of what it returned, and its parts
/// are read instead. The page token is the list of slices still to read. A record edited
/// during the read moves out of the window (its `ModifiedOn` passes `until`) and is read by
/// the next run; records appearing or disappearing change no other record's slice, so every
/// record that stays unchanged is read exactly once. Slices are read oldest first and each
/// page is returned in change-time order, so the engine's mid-read checkpoint still works.
/// The cost: full slices are read and split (about twice the requests of offset paging on a
/// first full read; an incremental window is usually one short slice).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Slice {
    /// `ModifiedOn` after this (exclusive), SnelStart's local time as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gt: Option<String>,
    /// `ModifiedOn` before this (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lt: Option<String>,
    /// `ModifiedOn` up to this (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    le: Option<String>,
    /// `ModifiedOn` exactly this (records sharing one change time), or `null` with `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    eq: Option<String>,
    /// Records without `ModifiedOn` (`ModifiedOn eq null`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    none: bool,
    /// Code after this (exclusive), within one change time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_gt: Option<String>,
    /// Code up to this (inclusive), within one change time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_le: Option<String>,
}

/// How one list is sliced: the unique code that splits records sharing one change time.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sliced {
    /// OData property, e.g. `Artikelcode`.
    code: &'static str,
    /// JSON key, e.g. `artikelcode`.
    json: &'static str,
}

pub(super) const ARTICLES_SLICED: Sliced = Sliced {
    code: "Artikelcode",
    json: "artikelcode",
};
pub(super) const INVOICES_SLICED: Sliced = Sliced {
    code: "Factuurnummer",
    json: "factuurnummer",
};

/// At most this many requests per `read` while splitting full slices (then an empty page with
/// the remaining slices is returned, and the engine reads on).
pub(super) const MAX_SPLITS_PER_PAGE: usize = 32;

/// A plain local timestamp as SnelStart writes it (`2023-06-29T21:44:48.51`), parsed; only
/// such text goes into a `datetime'…'` literal.
pub(super) fn local_time(v: &Value) -> Option<(chrono::NaiveDateTime, String)> {
    let s = v.get("modifiedOn")?.as_str()?;
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| (t, s.to_owned()))
}

impl Sliced {
    /// The slices of a whole window: records without change time (only when there is no lower
    /// bound), then the window.
    fn initial(&self, request: &ReadRequest) -> Vec<Slice> {
        let window = Slice {
            gt: request.since.map(mapping::format_filter_time),
            le: request.until.map(mapping::format_filter_time),
            lt: None,
            eq: None,
            none: false,
            code_gt: None,
            code_le: None,
        };
        let mut out = vec![window];
        if request.since.is_none() {
            out.insert(
                0,
                Slice {
                    none: true,
                    gt: None,
                    lt: None,
                    le: None,
                    eq: None,
                    code_gt: None,
                    code_le: None,
                },
            );
        }
        out
    }

    /// The `$filter` of a slice (with the window's own bounds, which it carries).
    fn filter(&self, s: &Slice) -> String {
        let mut terms = Vec::new();
        if s.none {
            terms.push("ModifiedOn eq null".to_owned());
        }
        if let Some(t) = &s.eq {
            terms.push(format!("ModifiedOn eq datetime'{t}'"));
        }
        if let Some(t) = &s.gt {
            terms.push(format!("ModifiedOn gt datetime'{t}'"));
        }
        if let Some(t) = &s.lt {
            terms.push(format!("ModifiedOn lt datetime'{t}'"));
        }
        if let Some(t) = &s.le {
            terms.push(format!("ModifiedOn le datetime'{t}'"));
        }
        if let Some(c) = &s.code_gt {
            terms.push(format!("{} gt {}", self.code, mapping::odata_string(c)));
        }
        if let Some(c) = &s.code_le {
            terms.push(format!("{} le {}", self.code, mapping::odata_string(c)));
        }
        if !s.none && s.eq.is_none() && s.gt.is_none() && s.lt.is_none() && s.le.is_none() {
            // unbounded in time: the records without change time are a slice of their own
            terms.insert(0, "ModifiedOn ne null".to_owned());
        }
        terms.join(" and ")
    }

    /// Splits a slice that came back full, at the change times (or codes) of what it returned;
    /// each part leaves out some of the returned records, so splitting ends. Oldest first.
    fn split(&self, s: &Slice, items: &[Value]) -> Result<Vec<Slice>> {
        let single_time = s.none || s.eq.is_some();
        if !single_time {
            let mut times: Vec<(chrono::NaiveDateTime, String)> =
                items.iter().filter_map(local_time).collect();
            times.sort();
            times.dedup_by(|a, b| a.0 == b.0);
            if times.is_empty() {
                return Err(Error::protocol(format!(
                    "a full page of {} records without one readable `modifiedOn`: cannot split it",
                    items.len()
                )));
            }
            let mut parts = Vec::new();
            if times.len() == 1 {
                // One change time: before it, at it (split by code), after it.
                let m = times[0].1.clone();
                parts.push(Slice {
                    lt: Some(m.clone()),
                    le: None,
                    ..s.clone()
                });
                parts.push(Slice {
                    eq: Some(m.clone()),
                    gt: None,
                    lt: None,
                    le: None,
                    ..s.clone()
                });
                parts.push(Slice {
                    gt: Some(m),
                    ..s.clone()
                });
                return Ok(parts);
            }
            // Cut at up to three change times spread over what came back: every part leaves
            // out at least one returned record (the first part the newest, the others the
            // oldest), so each is smaller than the slice.
            let n = times.len();
            let mut cuts: Vec<String> = [n / 4, n / 2, (3 * n) / 4]
                .iter()
                .map(|&i| times[i.min(n - 2)].1.clone())
                .collect();
            cuts.dedup();
            let mut lower = s.gt.clone();
            for c in cuts {
                parts.push(Slice {
                    gt: lower.clone(),
                    le: Some(c.clone()),
                    lt: None,
                    ..s.clone()
                });
                lower = Some(c);
            }
            // The last part keeps the slice's own upper bound.
            parts.push(Slice {
                gt: lower,
                ..s.clone()
            });
            return Ok(parts);
        }
        let mut codes: Vec<String> = items
            .iter()
            .filter_map(|v| v.get(self.json)?.as_str().map(str::to_owned))
            .collect();
        codes.sort_by_key(|c| c.to_lowercase());
        codes.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        if codes.len() < 2 {
            return Err(Error::protocol(format!(
                "a full page of {} records with one change time and fewer than two distinct `{}`: cannot split it",
                items.len(),
                self.json
            )));
        }
        let n = codes.len();
        let mut cuts: Vec<String> = [n / 4, n / 2, (3 * n) / 4]
            .iter()
            .map(|&i| codes[i.min(n - 2)].clone())
            .collect();
        cuts.dedup();
        let mut parts = Vec::new();
        let mut lower = s.code_gt.clone();
        for c in cuts {
            parts.push(Slice {
                code_gt: lower.clone(),
                code_le: Some(c.clone()),
                ..s.clone()
            });
            lower = Some(c);
        }
        parts.push(Slice {
            code_gt: lower,
            ..s.clone()
        });
        Ok(parts)
    }
}

impl SnelStartAdministration {
    /// One page of a sliced list: reads slices until one comes back complete (fewer than `top`
    /// records) and returns it in change-time order, with the slices still to read as token.
    pub(super) async fn read_sliced(
        &self,
        resource: &str,
        sliced: Sliced,
        request: &ReadRequest,
        select: Option<&str>,
        top: u32,
        whole: bool,
    ) -> Result<(Vec<Value>, Option<String>)> {
        let mut todo: Vec<Slice> = match &request.page {
            None if whole => sliced.initial(&ReadRequest {
                since: None,
                until: None,
                page: None,
            }),
            None => sliced.initial(request),
            Some(t) => koppel_core::paging::decode_token(t)?,
        };
        // `todo` holds the slices oldest first; work from the front.
        todo.reverse();
        let token = |todo: &Vec<Slice>| {
            (!todo.is_empty()).then(|| {
                let mut rest = todo.clone();
                rest.reverse();
                koppel_core::paging::encode_token(&rest)
            })
        };
        for _ in 0..MAX_SPLITS_PER_PAGE {
            let Some(slice) = todo.pop() else {
                return Ok((Vec::new(), None));
            };
            let q = Query {
                filter: Some(sliced.filter(&slice)),
                select: select.map(str::to_owned),
                skip: 0,
                top,
            };
            let mut items = self.client.list_page(resource, &q).await?;
            if items.is_empty() && !todo.is_empty() {
                continue;
            }
            if items.len() < top as usize {
                // change-time order; records without a readable one last (stable)
                items.sort_by_key(|v| {
                    let t = local_time(v).map(|t| t.0);
                    (t.is_none(), t)
                });
                return Ok((items, token(&todo)));
            }
            for part in sliced.split(&slice, &items)?.into_iter().rev() {
                todo.push(part);
            }
        }
        Ok((Vec::new(), token(&todo)))
    }
}
