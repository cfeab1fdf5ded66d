//! Time, OData literals and numbers: SnelStart timestamps are Dutch local time.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use rust_decimal::Decimal;

/// Parses a SnelStart timestamp (`2023-06-29T21:44:48.51`, Dutch local time). A timestamp with
/// an offset or `Z` is taken as it says.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    local_to_utc(naive)
}

/// Dutch local time to UTC.
pub fn local_to_utc(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    match Amsterdam.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        // in the spring gap: the wall-clock time an hour later exists
        LocalResult::None => match Amsterdam.from_local_datetime(&(naive + chrono::Duration::hours(1))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
            LocalResult::None => None,
        },
    }
}

/// UTC to Dutch local time.
pub fn utc_to_local(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&Amsterdam).naive_local()
}

/// `yyyy-MM-ddTHH:mm:ss.fff` in Dutch local time, for `datetime'…'` literals.
pub fn format_filter_time(t: DateTime<Utc>) -> String {
    utc_to_local(t).format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// `yyyy-MM-ddTHH:mm:ss` in Dutch local time, for date fields we send.
pub fn format_send_time(t: DateTime<Utc>) -> String {
    utc_to_local(t).format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// An OData string literal: `'O''Brien'`.
pub fn odata_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The `$filter` for a change window: `ModifiedOn gt datetime'…' [and ModifiedOn le datetime'…']`.
pub fn modified_filter(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(s) = since {
        parts.push(format!("ModifiedOn gt datetime'{}'", format_filter_time(s)));
    }
    if let Some(u) = until {
        parts.push(format!("ModifiedOn le datetime'{}'", format_filter_time(u)));
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// Parses a number written the Dutch way (`0,250`, `1.234,5`) or the English way (`0.250`).
pub fn parse_decimal_nl(s: &str) -> Option<Decimal> {
    let t: String = s.trim().chars().filter(|c| !c.is_whitespace()).collect();
    if t.is_empty() {
        return None;
    }
    let normal = match (t.contains(','), t.contains('.')) {
        // "1.234,5": dots group thousands, the comma is the decimal separator
        (true, true) => {
            if t.rfind(',') > t.rfind('.') {
                t.replace('.', "").replace(',', ".")
            } else {
                t.replace(',', "")
            }
        }
        (true, false) => {
            if t.matches(',').count() > 1 {
                return None;
            }
            t.replace(',', ".")
        }
        _ => t,
    };
    normal.parse::<Decimal>().ok()
}
