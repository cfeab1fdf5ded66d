//! `$select`: parsing the names and keeping those keys of a record.

use serde_json::Value;

use super::QueryError;
use crate::snelstart::spec::Spec;

/// Parses `$select` into the JSON keys to keep. Names may be UpperCamelCase or camelCase;
/// each must be a property of the entity schema.
pub fn parse_select(spec: &Spec, schema: &Value, text: &str) -> Result<Vec<String>, QueryError> {
    let props = spec
        .properties(schema)
        .ok_or_else(|| QueryError("$select is not supported here".into()))?;
    let mut keys = Vec::new();
    for name in text.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(QueryError("empty name in $select".into()));
        }
        let mut c = name.chars();
        let key: String = match c.next() {
            Some(f) => f.to_lowercase().chain(c).collect(),
            None => String::new(),
        };
        if !props.contains_key(&key) {
            return Err(QueryError(format!("Could not find a property named '{name}'")));
        }
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// Keeps only `keys` of a record.
pub fn select(record: &Value, keys: &[String]) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(obj) = record.as_object() {
        for (k, v) in obj {
            if keys.contains(k) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}
