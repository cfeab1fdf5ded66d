//! Record hashing and plan diffs: the canonical JSON of a record, its hash, and the
//! [`FieldChange`]s between two of them (used by the engine and by `Sink::prepare` helpers).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// One changed field: `path` (JSON path, e.g. `price.amount`, `lines[2].quantity`), the value
/// the target holds now (or, without a read of the target, the value last written) and the
/// value that would be written (`null` when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Field path.
    pub path: String,
    /// Value the target holds now.
    pub before: serde_json::Value,
    /// Value that would be written.
    pub after: serde_json::Value,
}

/// Top-level fields that do not count as a change: when the source touched the record, and
/// the source's own id.
const VOLATILE: &[&str] = &["modified", "source_id"];

fn canonical(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, canonical(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// The record as JSON with object keys sorted (what bindings and quarantine store).
pub fn record_json<R: Serialize>(record: &R) -> Result<Value> {
    serde_json::to_value(record)
        .map(canonical)
        .map_err(|e| Error::internal(format!("cannot serialise record: {e}")))
}

/// The hash that decides "unchanged": SHA-256 of the canonical JSON without the top-level
/// `modified` and `source_id` fields, hex.
pub fn record_hash(json: &Value) -> String {
    let mut v = canonical(json.clone());
    if let Value::Object(map) = &mut v {
        for k in VOLATILE {
            map.remove(*k);
        }
    }
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// The changed fields between two record JSONs (ignoring `modified` and `source_id` at the
/// top level). Objects are compared per key, arrays per index; paths look like
/// `price.amount`, `lines[2].quantity`, `attributes.color`.
pub fn diff_json(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", before, after, true, &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: &str, before: &Value, after: &Value, top: bool, out: &mut Vec<FieldChange>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                if top && VOLATILE.contains(&k.as_str()) {
                    continue;
                }
                let bv = b.get(k).unwrap_or(&Value::Null);
                let av = a.get(k).unwrap_or(&Value::Null);
                walk(&join(path, k), bv, av, false, out);
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            for i in 0..b.len().max(a.len()) {
                let bv = b.get(i).unwrap_or(&Value::Null);
                let av = a.get(i).unwrap_or(&Value::Null);
                walk(&format!("{path}[{i}]"), bv, av, false, out);
            }
        }
        (b, a) => {
            if b != a {
                out.push(FieldChange {
                    path: path.to_owned(),
                    before: b.clone(),
                    after: a.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_ignores_volatile_fields_and_key_order() {
        let a = json!({"sku": "A", "name": "x", "modified": "2024-01-01T00:00:00Z", "source_id": "1"});
        let b = json!({"name": "x", "sku": "A", "modified": "2025-01-01T00:00:00Z", "source_id": "2"});
        assert_eq!(record_hash(&a), record_hash(&b));
        let c = json!({"name": "y", "sku": "A"});
        assert_ne!(record_hash(&a), record_hash(&c));
        // a nested `modified` is content, not volatile
        let d = json!({"sku": "A", "customer": {"modified": "1"}});
        let e = json!({"sku": "A", "customer": {"modified": "2"}});
        assert_ne!(record_hash(&d), record_hash(&e));
    }

    #[test]
    fn diff_names_paths() {
        let before = json!({"price": {"amount": "9.99"}, "lines": [{"q": 1}], "modified": "a"});
        let after = json!({"price": {"amount": "10.99"}, "lines": [{"q": 1}, {"q": 2}], "modified": "b"});
        let d = diff_json(&before, &after);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].path, "lines[1]");
        assert_eq!(d[0].before, Value::Null);
        assert_eq!(d[1].path, "price.amount");
        assert_eq!(d[1].after, json!("10.99"));
    }
}
