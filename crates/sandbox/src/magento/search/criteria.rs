//! `searchCriteria` read from the query tree: filter groups, sort orders, page size and page,
//! with Magento's errors for unknown keys and condition types.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::query::Node;
use crate::magento::wire::{self, MageError};

/// One filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Field (top-level attribute).
    pub field: String,
    /// Value as sent.
    pub value: String,
    /// Condition type, lower case (`eq` when not given).
    pub condition: String,
}

/// A parsed `searchCriteria`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchCriteria {
    /// Whether `searchCriteria` was in the query at all.
    pub present: bool,
    /// Filter groups: OR within, AND across.
    pub groups: Vec<Vec<Filter>>,
    /// Sort orders: field and descending?
    pub sort: Vec<(String, bool)>,
    /// Page size as sent.
    pub page_size: Option<u64>,
    /// Current page as sent.
    pub current_page: Option<u64>,
}

const CONDITIONS: &[&str] = &[
    "eq", "neq", "gt", "gteq", "lt", "lteq", "moreq", "in", "nin", "like", "nlike", "from", "to", "null",
    "notnull", "finset", "nfinset",
];

/// `filter_groups`, `filterGroups` and `FilterGroups` are the same key to Magento.
fn norm(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_')
        .flat_map(|c| c.to_lowercase())
        .collect()
}

fn children(node: &Node) -> Vec<(String, &Node)> {
    match node {
        Node::Map(m) => m.iter().map(|(k, v)| (norm(k), v)).collect(),
        Node::Leaf(_) => Vec::new(),
    }
}

fn leaf(node: &Node) -> String {
    match node {
        Node::Leaf(s) => s.clone(),
        Node::Map(_) => String::new(),
    }
}

fn unknown_property(key: &str, class: &str) -> MageError {
    let mut m = Map::new();
    m.insert(key.to_owned(), Value::Null);
    wire::check_fields(&m, &[], class)
        .err()
        .unwrap_or_else(MageError::internal)
}

fn parse_u64(node: &Node) -> Result<u64, MageError> {
    let s = leaf(node);
    s.trim()
        .parse::<u64>()
        .map_err(|_| MageError::wrong_type(&Value::String(s), "int"))
}

impl SearchCriteria {
    /// Reads `searchCriteria` from the query tree.
    pub fn from_query(root: &Node) -> Result<SearchCriteria, MageError> {
        let Some(sc) = root.get("searchCriteria") else {
            return Ok(SearchCriteria::default());
        };
        let mut out = SearchCriteria {
            present: true,
            ..Default::default()
        };
        for (key, node) in children(sc) {
            match key.as_str() {
                "filtergroups" => {
                    for (_, group) in children(node) {
                        let mut filters = Vec::new();
                        for (gk, fs) in children(group) {
                            if gk != "filters" {
                                return Err(unknown_property(
                                    &gk,
                                    "Magento\\Framework\\Api\\Search\\FilterGroup",
                                ));
                            }
                            for (_, f) in children(fs) {
                                filters.push(Self::filter(f)?);
                            }
                        }
                        out.groups.push(filters);
                    }
                }
                "sortorders" => {
                    for (_, so) in children(node) {
                        let mut field = None;
                        let mut desc = false;
                        for (k, v) in children(so) {
                            match k.as_str() {
                                "field" => field = Some(leaf(v)),
                                "direction" => {
                                    let d = leaf(v);
                                    desc = match d.to_ascii_uppercase().as_str() {
                                        "ASC" | "" => false,
                                        "DESC" => true,
                                        _ => {
                                            return Err(MageError::with_params(
                                                StatusCode::BAD_REQUEST,
                                                "Sort order \"%1\" is not supported.",
                                                json!([d]),
                                            ))
                                        }
                                    }
                                }
                                other => {
                                    return Err(unknown_property(other, "Magento\\Framework\\Api\\SortOrder"))
                                }
                            }
                        }
                        let field = field
                            .filter(|f| !f.is_empty())
                            .ok_or_else(|| MageError::required("field"))?;
                        out.sort.push((field, desc));
                    }
                }
                "pagesize" => out.page_size = Some(parse_u64(node)?),
                "currentpage" => out.current_page = Some(parse_u64(node)?),
                other => {
                    return Err(unknown_property(
                        other,
                        "Magento\\Framework\\Api\\SearchCriteriaInterface",
                    ));
                }
            }
        }
        Ok(out)
    }

    fn filter(node: &Node) -> Result<Filter, MageError> {
        let mut field = None;
        let mut value = String::new();
        let mut condition = "eq".to_owned();
        for (k, v) in children(node) {
            match k.as_str() {
                "field" => field = Some(leaf(v)),
                "value" => value = leaf(v),
                "conditiontype" => {
                    let c = leaf(v).to_ascii_lowercase();
                    if !c.is_empty() {
                        condition = c;
                    }
                }
                other => return Err(unknown_property(other, "Magento\\Framework\\Api\\Filter")),
            }
        }
        let field = field
            .filter(|f| !f.is_empty())
            .ok_or_else(|| MageError::required("field"))?;
        if !CONDITIONS.contains(&condition.as_str()) {
            return Err(MageError::invalid_field(
                "condition_type",
                Value::String(condition),
            ));
        }
        Ok(Filter {
            field,
            value,
            condition,
        })
    }

    /// The `search_criteria` echoed in a search result.
    pub fn echo(&self) -> Value {
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|g| {
                json!({ "filters": g.iter().map(|f| json!({
                    "field": f.field, "value": f.value, "condition_type": f.condition,
                })).collect::<Vec<_>>() })
            })
            .collect();
        let mut m = Map::new();
        m.insert("filter_groups".into(), Value::Array(groups));
        if !self.sort.is_empty() {
            let so: Vec<Value> = self
                .sort
                .iter()
                .map(|(f, d)| json!({ "field": f, "direction": if *d { "DESC" } else { "ASC" } }))
                .collect();
            m.insert("sort_orders".into(), Value::Array(so));
        }
        if let Some(p) = self.page_size {
            m.insert("page_size".into(), json!(p));
        }
        if let Some(p) = self.current_page {
            m.insert("current_page".into(), json!(p));
        }
        Value::Object(m)
    }

    /// Every field named by a filter or sort order.
    pub fn fields(&self) -> Vec<&str> {
        self.groups
            .iter()
            .flatten()
            .map(|f| f.field.as_str())
            .chain(self.sort.iter().map(|(f, _)| f.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::magento::oauth::form_params;
    use crate::magento::search::parse_nested;

    fn q(s: &str) -> Node {
        parse_nested(&form_params(s))
    }

    #[test]
    fn brackets_nest_in_php_order() {
        let n = q("searchCriteria[filter_groups][0][filters][0][field]=sku&searchCriteria[filter_groups][0][filters][0][value]=KP%25&searchCriteria[filter_groups][0][filters][0][condition_type]=like&searchCriteria[pageSize]=5&x[]=a&x[]=b");
        let sc = SearchCriteria::from_query(&n).unwrap();
        assert!(sc.present);
        assert_eq!(
            sc.groups,
            vec![vec![Filter {
                field: "sku".into(),
                value: "KP%".into(),
                condition: "like".into()
            }]]
        );
        assert_eq!(sc.page_size, Some(5));
        assert_eq!(
            n.get("x"),
            Some(&Node::Map(vec![
                ("0".into(), Node::Leaf("a".into())),
                ("1".into(), Node::Leaf("b".into()))
            ]))
        );
        assert!(!SearchCriteria::from_query(&q("other=1")).unwrap().present);
        assert!(SearchCriteria::from_query(&q("searchCriteria=")).unwrap().present);
        assert!(SearchCriteria::from_query(&q("searchCriteria[pageSize]=x")).is_err());
        assert!(SearchCriteria::from_query(&q("searchCriteria[limit]=1")).is_err());
        assert!(SearchCriteria::from_query(&q("searchCriteria[filterGroups][0][filters][0][field]=a&searchCriteria[filterGroups][0][filters][0][conditionType]=bogus")).is_err());
    }
}
