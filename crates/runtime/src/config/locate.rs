//! Finds the line of a key path (`pairs[0].shop.base_url`) in the config text, for the
//! `file:line: key.path` errors.

/// Finds the line of a key path in the config text.
pub(super) struct Locator<'a> {
    text: &'a str,
    doc: Option<toml_edit::Document<String>>,
}

#[derive(Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(b) = rest.find('[') {
            if b > 0 {
                out.push(Seg::Key(rest[..b].to_owned()));
            }
            rest = &rest[b..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(end) = stripped.find(']') else { break };
                if let Ok(i) = stripped[..end].parse() {
                    out.push(Seg::Index(i));
                }
                rest = &stripped[end + 1..];
            }
        } else {
            out.push(Seg::Key(rest.to_owned()));
        }
    }
    out
}

impl<'a> Locator<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Locator {
            text,
            doc: toml_edit::Document::parse(text.to_owned()).ok(),
        }
    }

    pub(super) fn line_at(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    /// The line of the deepest part of `path` that is in the file.
    pub(super) fn line_of(&self, path: &str) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut node = Node::Table(doc.as_table());
        let mut best: Option<usize> = None;
        for seg in segments(path) {
            let Some((span, next)) = node.child(&seg) else {
                break;
            };
            if let Some(s) = span {
                best = Some(self.line_at(s.start));
            }
            node = next;
        }
        best
    }
}

/// A place in a toml_edit document.
#[derive(Clone, Copy)]
enum Node<'d> {
    Table(&'d toml_edit::Table),
    Item(&'d toml_edit::Item),
    Value(&'d toml_edit::Value),
}

type Span = Option<std::ops::Range<usize>>;

impl<'d> Node<'d> {
    fn child(self, seg: &Seg) -> Option<(Span, Node<'d>)> {
        use toml_edit::{Item, Value as V};
        let keyed = |get: &dyn Fn(&str) -> Option<(&'d toml_edit::Key, &'d Item)>, k: &str| {
            get(k)
                .or_else(|| get(&format!("{k}_file")))
                .map(|(key, it)| (key.span().or_else(|| it.span()), Node::Item(it)))
        };
        match (self, seg) {
            (Node::Table(t), Seg::Key(k)) => keyed(&|k| t.get_key_value(k), k),
            (Node::Item(Item::Table(t)), Seg::Key(k)) => keyed(&|k| t.get_key_value(k), k),
            (Node::Item(Item::Value(V::InlineTable(t))) | Node::Value(V::InlineTable(t)), Seg::Key(k)) => {
                keyed(&|k| t.get_key_value(k), k)
            }
            (Node::Item(Item::ArrayOfTables(a)), Seg::Index(i)) => {
                a.get(*i).map(|t| (t.span(), Node::Table(t)))
            }
            (Node::Item(Item::Value(V::Array(a))) | Node::Value(V::Array(a)), Seg::Index(i)) => {
                a.get(*i).map(|v| (v.span(), Node::Value(v)))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_split_into_segments() {
        assert_eq!(
            segments("pairs[0].shop.base_url"),
            vec![
                Seg::Key("pairs".into()),
                Seg::Index(0),
                Seg::Key("shop".into()),
                Seg::Key("base_url".into())
            ]
        );
        assert_eq!(segments(""), vec![]);
    }

    #[test]
    fn lines_are_found_for_keys_tables_and_file_keys() {
        let text = "state = \"k.db\"\n\n[[pairs]]\nname = \"a\"\n\n[pairs.shop]\ntype = \"magento\"\nbase_url = \"nope\"\ntoken_file = \"t\"\n\n[[pairs]]\nname = \"b\"\n[pairs.flows.orders]\nschedule = \"x\"\n";
        let l = Locator::new(text);
        assert_eq!(l.line_of("state"), Some(1));
        assert_eq!(l.line_of("pairs[0].name"), Some(4));
        assert_eq!(l.line_of("pairs[0].shop.base_url"), Some(8));
        // A missing key falls back to its table.
        assert_eq!(l.line_of("pairs[0].shop.missing"), Some(6));
        // A secret from a file is found at its `_file` key.
        assert_eq!(l.line_of("pairs[0].shop.token"), Some(9));
        assert_eq!(l.line_of("pairs[1].flows.orders.schedule"), Some(14));
        assert_eq!(l.line_at(0), 1);
    }
}
