//! Deserialisers for the loose shapes Magento sends: ids and flags as numbers or strings,
//! regions as text or objects.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

/// `deserialize_with` for flags Magento sends as `0`/`1`, `"0"`/`"1"` or booleans.
pub fn de_flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => b,
        Some(serde_json::Value::Number(n)) => n.as_i64().is_some_and(|i| i != 0),
        Some(serde_json::Value::String(s)) => !matches!(s.trim(), "" | "0" | "false"),
        Some(other) => return Err(D::Error::custom(format!("not a flag: {other}"))),
    })
}

/// `deserialize_with` for ids Magento sends as a number or a numeric string.
pub fn de_opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("not an id: {n}"))),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("not an id: {s:?}"))),
        Some(other) => Err(D::Error::custom(format!("not an id: {other}"))),
    }
}

/// `deserialize_with` for a required id (number or numeric string).
pub fn de_id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    de_opt_id(d)?.ok_or_else(|| D::Error::custom("missing id"))
}

/// `deserialize_with` for text that may come as a string, a number, or (customer addresses)
/// an object with a `region` field.
pub fn de_opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::Object(o)) => o.get("region").and_then(|r| r.as_str()).map(str::to_owned),
        _ => None,
    })
}

pub(super) fn ser_id_string<S: Serializer>(id: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.to_string())
}

pub(super) fn de_opt_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(
        Option::<serde_json::Value>::deserialize(d)?.and_then(|v| match v {
            serde_json::Value::Bool(b) => Some(b),
            serde_json::Value::Number(n) => n.as_u64().map(|n| n != 0),
            serde_json::Value::String(s) => match s.as_str() {
                "1" | "true" => Some(true),
                "0" | "false" | "" => Some(false),
                _ => None,
            },
            _ => None,
        }),
    )
}
