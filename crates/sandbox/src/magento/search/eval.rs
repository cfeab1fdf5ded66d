//! A search run over JSON records: OR within a filter group, AND across groups, comparisons
//! the way MySQL makes them, sort (ties by id), paging.

use std::cmp::Ordering;

use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::criteria::{Filter, SearchCriteria};
use crate::magento::wire::{parse_datetime, MageError};

/// Paging limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Page size used when none is sent (`None`: all matches).
    pub default_page_size: Option<u64>,
    /// Largest page size accepted.
    pub max_page_size: Option<u64>,
    /// Past the last page, return the last page again (older Magento).
    pub legacy: bool,
}

/// How a resource exposes its records' fields to filters and sort orders.
pub trait Fields {
    /// The values of `field` in `record` (empty when absent or null; several for multi-valued
    /// fields such as a product's `category_id`).
    fn values(&self, record: &Value, field: &str) -> Vec<Value>;
    /// Whether `field` is a known, filterable field of this resource.
    fn known(&self, field: &str) -> bool;
    /// The error for a filter on an unknown field.
    fn unknown(&self, field: &str) -> MageError;
}

/// Top-level JSON keys, for flat resources (orders, customers, source items...).
pub struct TopLevel<'a> {
    /// The fields a record of this resource can have.
    pub known: &'a [&'a str],
}

impl Fields for TopLevel<'_> {
    fn values(&self, record: &Value, field: &str) -> Vec<Value> {
        match record.get(field) {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => vec![v.clone()],
        }
    }
    fn known(&self, field: &str) -> bool {
        self.known.contains(&field)
    }
    fn unknown(&self, _field: &str) -> MageError {
        // A column that does not exist makes the SQL query fail: Magento answers a 500.
        MageError::internal()
    }
}

/// A flat resource whose table column has another name than the JSON key (a customer's
/// `entity_id` is its `id`): filters and sorts on the column work like on the key.
pub struct Aliased<'a> {
    /// The fields a record of this resource can have.
    pub inner: TopLevel<'a>,
    /// (column, JSON key) pairs.
    pub aliases: &'a [(&'a str, &'a str)],
}

impl Aliased<'_> {
    fn key<'f>(&'f self, field: &'f str) -> &'f str {
        self.aliases
            .iter()
            .find(|(column, _)| *column == field)
            .map(|(_, key)| *key)
            .unwrap_or(field)
    }
}

impl Fields for Aliased<'_> {
    fn values(&self, record: &Value, field: &str) -> Vec<Value> {
        self.inner.values(record, self.key(field))
    }
    fn known(&self, field: &str) -> bool {
        self.inner.known(self.key(field))
    }
    fn unknown(&self, field: &str) -> MageError {
        self.inner.unknown(field)
    }
}

fn as_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    s.parse::<Decimal>().ok()
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        other => other.to_string(),
    }
}

/// Compares a record value with a filter value the way MySQL would: numbers numerically,
/// timestamps as timestamps, other text case-insensitively.
fn compare(record: &Value, filter: &str) -> Ordering {
    let text = scalar_text(record);
    if let (Some(a), Some(b)) = (as_decimal(&text), as_decimal(filter)) {
        return a.cmp(&b);
    }
    if text.len() >= 10 && filter.len() >= 10 {
        if let (Some(a), Some(b)) = (parse_datetime(&text), parse_datetime(filter)) {
            return a.cmp(&b);
        }
    }
    text.to_lowercase().cmp(&filter.to_lowercase())
}

/// SQL `LIKE` with `%` and `_`, case-insensitive.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    // dp[j]: pattern[..i] matches text[..j]
    let mut dp = vec![false; t.len() + 1];
    dp[0] = true;
    for pc in &p {
        let mut next = vec![false; t.len() + 1];
        if *pc == '%' {
            let mut any = false;
            for j in 0..=t.len() {
                any |= dp[j];
                next[j] = any;
            }
        } else {
            for j in 1..=t.len() {
                next[j] = dp[j - 1] && (*pc == '_' || *pc == t[j - 1]);
            }
        }
        dp = next;
    }
    dp[t.len()]
}

fn list(value: &str) -> Vec<&str> {
    value.split(',').map(str::trim).collect()
}

/// Whether one filter holds for a record's values (SQL semantics: a NULL field satisfies
/// only `null`).
fn holds(filter: &Filter, values: &[Value]) -> bool {
    let c = filter.condition.as_str();
    match c {
        "null" => return values.is_empty(),
        "notnull" => return !values.is_empty(),
        _ => {}
    }
    if values.is_empty() {
        return false;
    }
    let v = filter.value.as_str();
    let any = |f: &dyn Fn(&Value) -> bool| values.iter().any(f);
    match c {
        "eq" => any(&|x| compare(x, v) == Ordering::Equal),
        "neq" => !any(&|x| compare(x, v) == Ordering::Equal),
        "gt" => any(&|x| compare(x, v) == Ordering::Greater),
        "gteq" | "moreq" | "from" => any(&|x| compare(x, v) != Ordering::Less),
        "lt" => any(&|x| compare(x, v) == Ordering::Less),
        "lteq" | "to" => any(&|x| compare(x, v) != Ordering::Greater),
        "in" => any(&|x| list(v).iter().any(|i| compare(x, i) == Ordering::Equal)),
        "nin" => !any(&|x| list(v).iter().any(|i| compare(x, i) == Ordering::Equal)),
        "like" => any(&|x| like(&scalar_text(x), v)),
        "nlike" => !any(&|x| like(&scalar_text(x), v)),
        "finset" => any(&|x| list(&scalar_text(x)).contains(&v)),
        "nfinset" => !any(&|x| list(&scalar_text(x)).contains(&v)),
        _ => false,
    }
}

fn sort_cmp(a: &[Value], b: &[Value]) -> Ordering {
    match (a.first(), b.first()) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => compare(x, &scalar_text(y)),
    }
}

/// Runs a search: filters, sorts (ties by `id_field`), pages. Returns the
/// `{items, search_criteria, total_count}` body.
pub fn run(
    records: Vec<Value>,
    sc: &SearchCriteria,
    fields: &dyn Fields,
    id_field: &str,
    paging: Paging,
) -> Result<Value, MageError> {
    for f in sc.fields() {
        if !fields.known(f) {
            return Err(fields.unknown(f));
        }
    }
    if let (Some(max), Some(size)) = (paging.max_page_size, sc.page_size) {
        if size > max {
            return Err(MageError::with_params(
                StatusCode::BAD_REQUEST,
                "Maximum SearchCriteria pageSize is %max",
                json!({ "max": max }),
            ));
        }
    }
    let mut matched: Vec<Value> = records
        .into_iter()
        .filter(|r| {
            sc.groups
                .iter()
                .all(|g| g.is_empty() || g.iter().any(|f| holds(f, &fields.values(r, &f.field))))
        })
        .collect();
    matched.sort_by(|a, b| {
        for (field, desc) in &sc.sort {
            let o = sort_cmp(&fields.values(a, field), &fields.values(b, field));
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        sort_cmp(&fields.values(a, id_field), &fields.values(b, id_field))
    });
    let total = matched.len() as u64;
    let size = match sc.page_size {
        Some(0) | None => paging.default_page_size,
        Some(n) => Some(n),
    };
    let items: Vec<Value> = match size {
        None => matched,
        Some(size) => {
            let pages = total.div_ceil(size);
            let mut page = sc.current_page.unwrap_or(1).max(1);
            if page > pages && paging.legacy {
                page = pages.max(1);
            }
            let start = (page - 1).saturating_mul(size);
            matched
                .into_iter()
                .skip(usize::try_from(start).unwrap_or(usize::MAX))
                .take(usize::try_from(size).unwrap_or(usize::MAX))
                .collect()
        }
    };
    Ok(json!({ "items": items, "search_criteria": sc.echo(), "total_count": total }))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_and_conditions() {
        assert!(like("KP-0012", "kp-001%"));
        assert!(like("abc", "a_c"));
        assert!(!like("abcd", "a_c"));
        let f = |c: &str, v: &str| Filter {
            field: "x".into(),
            value: v.into(),
            condition: c.into(),
        };
        let vals = [json!(12.5)];
        assert!(holds(&f("gt", "9"), &vals));
        assert!(!holds(&f("gt", "100"), &vals));
        assert!(holds(&f("in", "1, 12.5"), &vals));
        assert!(holds(&f("nin", "1,2"), &vals));
        assert!(!holds(&f("neq", "1"), &[]));
        assert!(holds(&f("null", ""), &[]));
        let t = [json!("2025-03-03 08:00:00")];
        assert!(holds(&f("gteq", "2025-03-03T08:00:00Z"), &t));
        assert!(!holds(&f("gt", "2025-03-03 08:00:00"), &t));
        assert!(holds(&f("from", "2025-03-01"), &t));
    }
}
