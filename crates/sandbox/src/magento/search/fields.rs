//! The `fields=` response filter: `items[sku,name],total_count` parsed and applied.

use serde_json::{Map, Value};

/// One selector of a `fields=` parameter: a key and, optionally, what to keep inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSel {
    /// Key.
    pub name: String,
    /// Nested selection (`items[sku,name]`).
    pub children: Option<Vec<FieldSel>>,
}

/// Parses `items[increment_id,entity_id],total_count`.
pub fn parse_fields(s: &str) -> Vec<FieldSel> {
    fn level(chars: &[char], pos: &mut usize) -> Vec<FieldSel> {
        let mut out = Vec::new();
        let mut name = String::new();
        while *pos < chars.len() {
            let c = chars[*pos];
            *pos += 1;
            match c {
                ',' => {
                    if !name.trim().is_empty() {
                        out.push(FieldSel {
                            name: name.trim().to_owned(),
                            children: None,
                        });
                    }
                    name.clear();
                }
                '[' => {
                    let kids = level(chars, pos);
                    out.push(FieldSel {
                        name: name.trim().to_owned(),
                        children: Some(kids),
                    });
                    name.clear();
                    // skip a following comma
                    if chars.get(*pos) == Some(&',') {
                        *pos += 1;
                    }
                }
                ']' => break,
                other => name.push(other),
            }
        }
        if !name.trim().is_empty() {
            out.push(FieldSel {
                name: name.trim().to_owned(),
                children: None,
            });
        }
        out
    }
    let chars: Vec<char> = s.chars().collect();
    let mut pos = 0;
    level(&chars, &mut pos)
}

/// Keeps only the selected fields of a response.
pub fn apply_fields(value: Value, sel: &[FieldSel]) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(|v| apply_fields(v, sel)).collect()),
        Value::Object(mut m) => {
            let mut out = Map::new();
            for s in sel {
                if let Some(v) = m.remove(&s.name) {
                    let v = match &s.children {
                        Some(kids) => apply_fields(v, kids),
                        None => v,
                    };
                    out.insert(s.name.clone(), v);
                }
            }
            Value::Object(out)
        }
        other => other,
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_selector() {
        let sel = parse_fields("items[sku,extension_attributes[website_ids]],total_count");
        let v = json!({"items":[{"sku":"a","name":"n","extension_attributes":{"website_ids":[1],"x":1}}],"total_count":1,"search_criteria":{}});
        assert_eq!(
            apply_fields(v, &sel),
            json!({"items":[{"sku":"a","extension_attributes":{"website_ids":[1]}}],"total_count":1})
        );
    }
}
