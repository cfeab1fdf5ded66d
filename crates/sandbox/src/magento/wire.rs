//! Magento's wire conventions: error bodies, amounts as JSON numbers, timestamps, reading
//! numbers and strings out of request bodies.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{NaiveDate, NaiveDateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Map, Number, Value};

/// A Magento error response: `{"message": "... %1 ...", "parameters": [...] | {...}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct MageError {
    /// HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: Value,
}

impl MageError {
    /// An error with a message and no parameters.
    pub fn new(status: StatusCode, message: &str) -> Self {
        MageError {
            status,
            body: json!({ "message": message }),
        }
    }

    /// An error with a message and parameters (array or name-keyed object).
    pub fn with_params(status: StatusCode, message: &str, parameters: Value) -> Self {
        MageError {
            status,
            body: json!({ "message": message, "parameters": parameters }),
        }
    }

    /// 404 for a path (or method) no route matches; also unknown store codes.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Request does not match any route.")
    }

    /// 400 `"%fieldName" is required. Enter and try again.`
    pub fn required(field: &str) -> Self {
        Self::with_params(
            StatusCode::BAD_REQUEST,
            "\"%fieldName\" is required. Enter and try again.",
            json!({ "fieldName": field }),
        )
    }

    /// 400 `Invalid value of "%value" provided for the %fieldName field.`
    pub fn invalid_field(field: &str, value: Value) -> Self {
        Self::with_params(
            StatusCode::BAD_REQUEST,
            "Invalid value of \"%value\" provided for the %fieldName field.",
            json!({ "fieldName": field, "value": value }),
        )
    }

    /// 400 for a value of the wrong type.
    pub fn wrong_type(value: &Value, expected: &str) -> Self {
        let shown = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Self::with_params(
            StatusCode::BAD_REQUEST,
            "The \"%value\" value's type is invalid. The \"%type\" type was expected. Verify and try again.",
            json!({ "value": shown, "type": expected }),
        )
    }

    /// 400 for a body that is not JSON.
    pub fn decoding() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Decoding error.")
    }

    /// 500 as Magento answers unexpected exceptions in production mode.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Error. Details are available in Magento log file. Report ID: webapi-sandbox",
        )
    }
}

impl IntoResponse for MageError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// Rounds money to cents, half away from zero.
pub fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A decimal as a JSON number, as Magento prints amounts (`34`, `12.5`, `117.25`).
///
/// Integral values become integers. Others go through their decimal text, parsed by Rust's
/// correctly rounded `f64` parser; `serde_json` prints an `f64` as the shortest text that reads
/// back as the same `f64`, which for amounts of at most 15 significant digits is the original
/// text, so no binary rounding error shows on the wire.
pub fn money(d: Decimal) -> Value {
    let d = d.normalize();
    if d.fract().is_zero() {
        if let Ok(i) = i64::try_from(d.trunc().mantissa()) {
            return Value::Number(Number::from(i));
        }
    }
    d.to_string()
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Reads a decimal from a JSON number or numeric string (Magento casts both).
pub fn decimal_of(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    text.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(&text).ok())
}

/// Reads an integer from a JSON number, numeric string or boolean.
pub fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// Reads a boolean from a JSON bool, 0/1 or "0"/"1"/"true"/"false".
pub fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(_) => int_of(v).map(|i| i != 0),
        Value::String(s) => match s.trim() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Reads a string from a JSON string or number.
pub fn string_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Magento's timestamp format, always UTC: `YYYY-MM-DD HH:MM:SS`.
pub const TS_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The current UTC time, truncated to seconds.
pub fn now() -> NaiveDateTime {
    use chrono::Timelike;
    let n = Utc::now().naive_utc();
    n.with_nanosecond(0).unwrap_or(n)
}

/// Formats a timestamp as Magento does.
pub fn ts(t: NaiveDateTime) -> String {
    t.format(TS_FORMAT).to_string()
}

/// Parses the date/time forms a filter may carry: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`,
/// `YYYY-MM-DDTHH:MM:SS` with optional `Z` or offset (converted to UTC).
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(t) = NaiveDateTime::parse_from_str(s, TS_FORMAT) {
        return Some(t);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Some(t);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Rejects keys of `obj` not in `allowed`, with Magento's message for a property that has no
/// accessor on the data interface `class`.
pub fn check_fields(obj: &Map<String, Value>, allowed: &[&str], class: &str) -> Result<(), MageError> {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            let camel: String = key
                .split('_')
                .map(|part| {
                    let mut c = part.chars();
                    match c.next() {
                        Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                        None => String::new(),
                    }
                })
                .collect();
            return Err(MageError::with_params(
                StatusCode::BAD_REQUEST,
                "Property \"%fieldName\" does not have accessor method \"%accessorMethod\" in class \"%className\".",
                json!({ "fieldName": camel, "accessorMethod": format!("get{camel}"), "className": class }),
            ));
        }
    }
    Ok(())
}

/// Parses a request body as a JSON object.
pub fn body_object(bytes: &[u8]) -> Result<Map<String, Value>, MageError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) | Err(_) => Err(MageError::decoding()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn money_prints_the_decimal_text() {
        for s in [
            "0.1",
            "0.3",
            "12.34",
            "117.25",
            "4.95",
            "0.86",
            "99999999.99",
            "-6.78",
            "1.005",
        ] {
            let v = money(Decimal::from_str(s).unwrap());
            assert_eq!(v.to_string(), s, "{s}");
            assert_eq!(decimal_of(&v), Some(Decimal::from_str(s).unwrap()));
        }
        assert_eq!(money(Decimal::from_str("34.00").unwrap()).to_string(), "34");
        assert_eq!(money(Decimal::from_str("12.50").unwrap()).to_string(), "12.5");
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round2(Decimal::from_str("0.125").unwrap()).to_string(), "0.13");
        assert_eq!(round2(Decimal::from_str("-0.125").unwrap()).to_string(), "-0.13");
    }

    #[test]
    fn datetimes_parse_in_the_filter_forms() {
        let t = parse_datetime("2025-03-03 08:00:00").unwrap();
        assert_eq!(parse_datetime("2025-03-03T08:00:00Z"), Some(t));
        assert_eq!(parse_datetime("2025-03-03T10:00:00+02:00"), Some(t));
        assert_eq!(ts(t), "2025-03-03 08:00:00");
        assert!(parse_datetime("yesterday").is_none());
    }
}
