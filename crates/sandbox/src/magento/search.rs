//! `searchCriteria` as Magento reads it from a PHP-style bracketed query string
//! (`searchCriteria[filter_groups][0][filters][1][condition_type]=eq`), its evaluation over
//! JSON records (OR within a filter group, AND across groups, sort, paging), and the `fields=`
//! response filter.

use std::cmp::Ordering;

use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::wire::{parse_datetime, MageError};

/// A node of a bracketed query: a value or an ordered map of children (PHP array semantics:
/// insertion order kept, a repeated key overwrites, `[]` appends).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A scalar value.
    Leaf(String),
    /// Children in insertion order.
    Map(Vec<(String, Node)>),
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            Node::Leaf(_) => None,
        }
    }
}

/// Splits `a[b][c]` into `["a", "b", "c"]`; a key with unbalanced brackets stays whole.
fn split_key(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_owned()];
    };
    if open == 0 {
        return vec![key.to_owned()];
    }
    let mut parts = vec![key[..open].to_owned()];
    let mut rest = &key[open..];
    while let Some(r) = rest.strip_prefix('[') {
        let Some(close) = r.find(']') else {
            return vec![key.to_owned()];
        };
        parts.push(r[..close].to_owned());
        rest = &r[close + 1..];
    }
    if !rest.is_empty() {
        // PHP ignores what follows the last closing bracket.
        return parts;
    }
    parts
}

fn insert(map: &mut Vec<(String, Node)>, path: &[String], value: &str) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let key = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    let pos = map.iter().position(|(k, _)| *k == key);
    if rest.is_empty() {
        let leaf = Node::Leaf(value.to_owned());
        match pos {
            Some(i) => map[i].1 = leaf,
            None => map.push((key, leaf)),
        }
        return;
    }
    let i = match pos {
        Some(i) => {
            if matches!(map[i].1, Node::Leaf(_)) {
                map[i].1 = Node::Map(Vec::new());
            }
            i
        }
        None => {
            map.push((key, Node::Map(Vec::new())));
            map.len() - 1
        }
    };
    if let Node::Map(children) = &mut map[i].1 {
        insert(children, rest, value);
    }
}

/// Builds the nested parameter tree from decoded query pairs.
pub fn parse_nested(pairs: &[(String, String)]) -> Node {
    let mut root = Vec::new();
    for (k, v) in pairs {
        insert(&mut root, &split_key(k), v);
    }
    Node::Map(root)
}

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
    super::wire::check_fields(&m, &[], class)
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

/// Paging limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Page size used when none is sent (`None`: all matches).
    pub default_page_size: Option<u64>,
    /// Largest page size accepted.
    pub max_page_size: Option<u64>,
    /// Past the last page, return the last page again (older Magento).
    pub legacy: bool,
}

/// How a resource exposes its records' fields to filters and sort orders.
pub trait Fields {
    /// The values of `field` in `record` (empty when absent or null; several for multi-valued
    /// fields such as a product's `category_id`).
    fn values(&self, record: &Value, field: &str) -> Vec<Value>;
    /// Whether `field` is a known, filterable field of this resource.
    fn known(&self, field: &str) -> bool;
    /// The error for a filter on an unknown field.
    fn unknown(&self, field: &str) -> MageError;
}

/// Top-level JSON keys, for flat resources (orders, customers, source items...).
pub struct TopLevel<'a> {
    /// The fields a record of this resource can have.
    pub known: &'a [&'a str],
}

impl Fields for TopLevel<'_> {
    fn values(&self, record: &Value, field: &str) -> Vec<Value> {
        match record.get(field) {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => vec![v.clone()],
        }
    }
    fn known(&self, field: &str) -> bool {
        self.known.contains(&field)
    }
    fn unknown(&self, _field: &str) -> MageError {
        // A column that does not exist makes the SQL query fail: Magento answers a 500.
        MageError::internal()
    }
}

/// A flat resource whose table column has another name than the JSON key (a customer's
/// `entity_id` is its `id`): filters and sorts on the column work like on the key.
pub struct Aliased<'a> {
    /// The fields a record of this resource can have.
    pub inner: TopLevel<'a>,
    /// (column, JSON key) pairs.
    pub aliases: &'a [(&'a str, &'a str)],
}

impl Aliased<'_> {
    fn key<'f>(&'f self, field: &'f str) -> &'f str {
        self.aliases
            .iter()
            .find(|(column, _)| *column == field)
            .map(|(_, key)| *key)
            .unwrap_or(field)
    }
}

impl Fields for Aliased<'_> {
    fn values(&self, record: &Value, field: &str) -> Vec<Value> {
        self.inner.values(record, self.key(field))
    }
    fn known(&self, field: &str) -> bool {
        self.inner.known(self.key(field))
    }
    fn unknown(&self, field: &str) -> MageError {
        self.inner.unknown(field)
    }
}

fn as_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    s.parse::<Decimal>().ok()
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        other => other.to_string(),
    }
}

/// Compares a record value with a filter value the way MySQL would: numbers numerically,
/// timestamps as timestamps, other text case-insensitively.
fn compare(record: &Value, filter: &str) -> Ordering {
    let text = scalar_text(record);
    if let (Some(a), Some(b)) = (as_decimal(&text), as_decimal(filter)) {
        return a.cmp(&b);
    }
    if text.len() >= 10 && filter.len() >= 10 {
        if let (Some(a), Some(b)) = (parse_datetime(&text), parse_datetime(filter)) {
            return a.cmp(&b);
        }
    }
    text.to_lowercase().cmp(&filter.to_lowercase())
}

/// SQL `LIKE` with `%` and `_`, case-insensitive.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    // dp[j]: pattern[..i] matches text[..j]
    let mut dp = vec![false; t.len() + 1];
    dp[0] = true;
    for pc in &p {
        let mut next = vec![false; t.len() + 1];
        if *pc == '%' {
            let mut any = false;
            for j in 0..=t.len() {
                any |= dp[j];
                next[j] = any;
            }
        } else {
            for j in 1..=t.len() {
                next[j] = dp[j - 1] && (*pc == '_' || *pc == t[j - 1]);
            }
        }
        dp = next;
    }
    dp[t.len()]
}

fn list(value: &str) -> Vec<&str> {
    value.split(',').map(str::trim).collect()
}

/// Whether one filter holds for a record's values (SQL semantics: a NULL field satisfies
/// only `null`).
fn holds(filter: &Filter, values: &[Value]) -> bool {
    let c = filter.condition.as_str();
    match c {
        "null" => return values.is_empty(),
        "notnull" => return !values.is_empty(),
        _ => {}
    }
    if values.is_empty() {
        return false;
    }
    let v = filter.value.as_str();
    let any = |f: &dyn Fn(&Value) -> bool| values.iter().any(f);
    match c {
        "eq" => any(&|x| compare(x, v) == Ordering::Equal),
        "neq" => !any(&|x| compare(x, v) == Ordering::Equal),
        "gt" => any(&|x| compare(x, v) == Ordering::Greater),
        "gteq" | "moreq" | "from" => any(&|x| compare(x, v) != Ordering::Less),
        "lt" => any(&|x| compare(x, v) == Ordering::Less),
        "lteq" | "to" => any(&|x| compare(x, v) != Ordering::Greater),
        "in" => any(&|x| list(v).iter().any(|i| compare(x, i) == Ordering::Equal)),
        "nin" => !any(&|x| list(v).iter().any(|i| compare(x, i) == Ordering::Equal)),
        "like" => any(&|x| like(&scalar_text(x), v)),
        "nlike" => !any(&|x| like(&scalar_text(x), v)),
        "finset" => any(&|x| list(&scalar_text(x)).contains(&v)),
        "nfinset" => !any(&|x| list(&scalar_text(x)).contains(&v)),
        _ => false,
    }
}

fn sort_cmp(a: &[Value], b: &[Value]) -> Ordering {
    match (a.first(), b.first()) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => compare(x, &scalar_text(y)),
    }
}

/// Runs a search: filters, sorts (ties by `id_field`), pages. Returns the
/// `{items, search_criteria, total_count}` body.
pub fn run(
    records: Vec<Value>,
    sc: &SearchCriteria,
    fields: &dyn Fields,
    id_field: &str,
    paging: Paging,
) -> Result<Value, MageError> {
    for f in sc.fields() {
        if !fields.known(f) {
            return Err(fields.unknown(f));
        }
    }
    if let (Some(max), Some(size)) = (paging.max_page_size, sc.page_size) {
        if size > max {
            return Err(MageError::with_params(
                StatusCode::BAD_REQUEST,
                "Maximum SearchCriteria pageSize is %max",
                json!({ "max": max }),
            ));
        }
    }
    let mut matched: Vec<Value> = records
        .into_iter()
        .filter(|r| {
            sc.groups
                .iter()
                .all(|g| g.is_empty() || g.iter().any(|f| holds(f, &fields.values(r, &f.field))))
        })
        .collect();
    matched.sort_by(|a, b| {
        for (field, desc) in &sc.sort {
            let o = sort_cmp(&fields.values(a, field), &fields.values(b, field));
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        sort_cmp(&fields.values(a, id_field), &fields.values(b, id_field))
    });
    let total = matched.len() as u64;
    let size = match sc.page_size {
        Some(0) | None => paging.default_page_size,
        Some(n) => Some(n),
    };
    let items: Vec<Value> = match size {
        None => matched,
        Some(size) => {
            let pages = total.div_ceil(size);
            let mut page = sc.current_page.unwrap_or(1).max(1);
            if page > pages && paging.legacy {
                page = pages.max(1);
            }
            let start = (page - 1).saturating_mul(size);
            matched
                .into_iter()
                .skip(usize::try_from(start).unwrap_or(usize::MAX))
                .take(usize::try_from(size).unwrap_or(usize::MAX))
                .collect()
        }
    };
    Ok(json!({ "items": items, "search_criteria": sc.echo(), "total_count": total }))
}

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

    fn q(s: &str) -> Node {
        parse_nested(&super::super::oauth::form_params(s))
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

    #[test]
    fn like_and_conditions() {
        assert!(like("KP-0012", "kp-001%"));
        assert!(like("abc", "a_c"));
        assert!(!like("abcd", "a_c"));
        let f = |c: &str, v: &str| Filter {
            field: "x".into(),
            value: v.into(),
            condition: c.into(),
        };
        let vals = [json!(12.5)];
        assert!(holds(&f("gt", "9"), &vals));
        assert!(!holds(&f("gt", "100"), &vals));
        assert!(holds(&f("in", "1, 12.5"), &vals));
        assert!(holds(&f("nin", "1,2"), &vals));
        assert!(!holds(&f("neq", "1"), &[]));
        assert!(holds(&f("null", ""), &[]));
        let t = [json!("2025-03-03 08:00:00")];
        assert!(holds(&f("gteq", "2025-03-03T08:00:00Z"), &t));
        assert!(!holds(&f("gt", "2025-03-03 08:00:00"), &t));
        assert!(holds(&f("from", "2025-03-01"), &t));
    }

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
