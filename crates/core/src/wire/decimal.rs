//! Exact amounts on the wire: read from the JSON text itself (a number or a string holding
//! one), written as a JSON number from the decimal's own digits. Never through `f64`, so `0.3`
//! stays `0.3` and a 15-digit total keeps every digit.
//!
//! Use on wire types as `#[serde(deserialize_with = "koppel_core::wire::decimal::de")]`,
//! `#[serde(serialize_with = "koppel_core::wire::decimal::ser")]` and the `_opt` variants.

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Parses a decimal from raw JSON text: a number (`12.10`, `1e2`) or a string holding one
/// (`"12.10"`, surrounding blanks ignored). The error names the text.
pub fn parse_json(raw: &str) -> Result<Decimal, String> {
    let raw = raw.trim();
    let text: std::borrow::Cow<'_, str> = if raw.starts_with('"') {
        let s: String = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        s.trim().to_owned().into()
    } else {
        raw.into()
    };
    parse_text(&text)
}

/// Parses a decimal from plain text (`"12.10"`, `"-3"`, `"1.5e2"`). The error names the text.
pub fn parse_text(text: &str) -> Result<Decimal, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty amount".into());
    }
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(text).map_err(|e| format!("{text:?} is not an amount: {e}"))
    } else {
        text.parse::<Decimal>()
            .map_err(|e| format!("{text:?} is not an amount: {e}"))
    }
}

/// `deserialize_with` for a required amount (JSON number or numeric string).
pub fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let raw = Box::<RawValue>::deserialize(d)?;
    parse_json(raw.get()).map_err(D::Error::custom)
}

/// `deserialize_with` for an optional amount: absent (with `#[serde(default)]`), `null` and
/// `""` are `None`.
pub fn de_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let raw = Option::<Box<RawValue>>::deserialize(d)?;
    match raw {
        None => Ok(None),
        Some(r) if matches!(r.get().trim(), "\"\"" | "null") => Ok(None),
        Some(r) => parse_json(r.get()).map(Some).map_err(D::Error::custom),
    }
}

/// The JSON number text of an amount: its digits, trailing zeros dropped (`12.10` -> `12.1`).
pub fn number_text(d: &Decimal) -> String {
    d.normalize().to_string()
}

/// `serialize_with` writing an amount as a JSON number from its decimal text (a raw JSON
/// value, so `serde_json::to_value` and `to_vec` see the same digits).
pub fn ser<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let raw = RawValue::from_string(number_text(d)).map_err(serde::ser::Error::custom)?;
    raw.serialize(s)
}

/// `serialize_with` for an optional amount (pair with `skip_serializing_if = "Option::is_none"`;
/// otherwise `None` is written as `null`).
pub fn ser_opt<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser(d, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use std::str::FromStr;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Row {
        #[serde(deserialize_with = "de", serialize_with = "ser")]
        price: Decimal,
        #[serde(default, deserialize_with = "de_opt", serialize_with = "ser_opt")]
        discount: Option<Decimal>,
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn reads_numbers_and_strings_exactly() {
        assert_eq!(parse_json("12.10").unwrap(), d("12.10"));
        assert_eq!(parse_json("\" 0.3 \"").unwrap(), d("0.3"));
        assert_eq!(parse_json("1e2").unwrap(), d("100"));
        assert_eq!(parse_json("123456789012.345").unwrap(), d("123456789012.345"));
        assert!(parse_json("\"\"").is_err());
        assert!(parse_json("\"abc\"").unwrap_err().contains("abc"));
        assert!(parse_json("true").is_err());
        assert_eq!(parse_text("-1.5E1").unwrap(), d("-15"));
    }

    #[test]
    fn optional_amounts() {
        let r: Row = serde_json::from_str(r#"{"price":"0.1","discount":""}"#).unwrap();
        assert_eq!(
            r,
            Row {
                price: d("0.1"),
                discount: None
            }
        );
        let r: Row = serde_json::from_str(r#"{"price":0.1,"discount":null}"#).unwrap();
        assert_eq!(r.discount, None);
        let r: Row = serde_json::from_str(r#"{"price":0.1}"#).unwrap();
        assert_eq!(r.discount, None);
        let r: Row = serde_json::from_str(r#"{"price":0.1,"discount":"2.50"}"#).unwrap();
        assert_eq!(r.discount, Some(d("2.5")));
        assert!(serde_json::from_str::<Row>(r#"{"price":"x"}"#).is_err());
    }

    #[test]
    fn writes_exact_numbers() {
        let r = Row {
            price: d("0.30"),
            discount: Some(d("1234567890123.45")),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"price":0.3,"discount":1234567890123.45}"#
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["price"].to_string(), "0.3");
        let r = Row {
            price: d("-5"),
            discount: None,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"price":-5,"discount":null}"#
        );
    }
}
