//! PHP-style bracketed query strings (`a[b][0][c]=v`) as a tree of nodes, in PHP's order.

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
    /// The child under `key` (none for a leaf).
    pub(super) fn get(&self, key: &str) -> Option<&Node> {
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
