//! Connector config tables.

use serde_json::Value;

/// The connector table without its `type = "<name>"` key: the runtime strips it before a
/// connector parses its table, but examples and tests hand over whole tables. Only a `type`
/// equal to `name` is removed, so a connector that has its own `type` field keeps it; a value
/// that is not a table is returned unchanged.
pub fn without_type(mut value: Value, name: &str) -> Value {
    if let Some(o) = value.as_object_mut() {
        if o.get("type").and_then(Value::as_str) == Some(name) {
            o.remove("type");
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_only_its_own_type() {
        assert_eq!(
            without_type(json!({"type": "magento", "url": "u"}), "magento"),
            json!({"url": "u"})
        );
        assert_eq!(
            without_type(json!({"type": "other", "url": "u"}), "magento"),
            json!({"type": "other", "url": "u"})
        );
        assert_eq!(without_type(json!({"url": "u"}), "magento"), json!({"url": "u"}));
        assert_eq!(without_type(json!(3), "magento"), json!(3));
    }
}
