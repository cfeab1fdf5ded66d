//! Per-item tolerant parsing of a JSON list: one unreadable record becomes a [`Rejection`]
//! naming the record and the field path that failed (`items[0].qty`), and the rest of the page
//! is still read. The engine quarantines the rejection; the run goes on.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::Rejection;

/// Parses one item of a list as `T`. On failure the rejection's record is `label(item)` (the
/// item read as a loose JSON value, so the label can use whatever id it carries; `Null` when
/// the text is not JSON at all), its field the path to the failing value (`None` at the root)
/// and its message serde's.
pub fn parse_item<T: DeserializeOwned>(raw: &str, label: impl Fn(&Value) -> String) -> Result<T, Rejection> {
    let de = &mut serde_json::Deserializer::from_str(raw);
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let head: Value = serde_json::from_str(raw).unwrap_or_default();
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        Rejection::new(label(&head), field.as_deref(), e.into_inner().to_string())
    })
}

/// [`parse_item`] for a list kept as raw JSON values (e.g. `Vec<Box<RawValue>>`).
pub fn parse_items<T: DeserializeOwned>(
    raws: &[Box<RawValue>],
    label: impl Fn(&Value) -> String,
) -> Vec<Result<T, Rejection>> {
    raws.iter().map(|r| parse_item(r.get(), &label)).collect()
}

/// [`parse_item`] for an item already read as a [`Value`] (the path is kept the same way).
pub fn parse_value<T: DeserializeOwned>(v: &Value, label: impl Fn(&Value) -> String) -> Result<T, Rejection> {
    serde_path_to_error::deserialize::<_, T>(v).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        Rejection::new(label(v), field.as_deref(), e.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Line {
        sku: String,
        qty: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        id: u64,
        items: Vec<Line>,
    }

    fn label(v: &Value) -> String {
        format!("order {}", v.get("id").and_then(Value::as_u64).unwrap_or(0))
    }

    #[test]
    fn keeps_the_field_path_and_reads_the_rest() {
        let raws: Vec<Box<RawValue>> = serde_json::from_str(
            r#"[{"id":1,"items":[{"sku":"A","qty":1}]},
                {"id":2,"items":[{"sku":"B","qty":"many"}]},
                {"id":3}]"#,
        )
        .unwrap();
        let out = parse_items::<Doc>(&raws, label);
        assert_eq!(out.len(), 3);
        assert!(out[0].is_ok());
        let r = out[1].as_ref().unwrap_err();
        assert_eq!(r.record, "order 2");
        assert_eq!(r.field.as_deref(), Some("items[0].qty"));
        assert!(r.message.contains("invalid type"), "{}", r.message);
        let r = out[2].as_ref().unwrap_err();
        assert_eq!(r.record, "order 3");
        assert!(r.message.contains("items"), "{}", r.message);
    }

    #[test]
    fn values_and_root_errors() {
        let v = serde_json::json!({"id": 9, "items": [{"sku": 5, "qty": 1}]});
        let r = parse_value::<Doc>(&v, label).unwrap_err();
        assert_eq!(
            (r.record.as_str(), r.field.as_deref()),
            ("order 9", Some("items[0].sku"))
        );
        let r = parse_item::<Doc>("[1]", label).unwrap_err();
        assert_eq!(r.field, None);
        assert_eq!(r.record, "order 0");
    }
}
