//! PrestaShop's wire shapes, read loosely: the JSON output renders most values as strings
//! (`"12.500000"`, `"0"`), ids as numbers or strings, multilingual fields as `[{id, value}]` or
//! a plain string (one language) [PrestaShop docs: webservice/tutorials/advanced-use/
//! multilang-fields], and an empty list as `[]` (PrestaShop/PrestaShop#10172) or, on 8.0.0, `{}`
//! (#27465). Writes are XML documents built with quick-xml: values are escaped by the library,
//! never concatenated.

use std::collections::BTreeMap;

use koppel_core::{Error, Result};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// One record of a JSON answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Obj(pub Map<String, Value>);

impl Obj {
    /// Wraps a JSON value; `None` when it is not an object.
    pub fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Object(m) => Some(Obj(m)),
            _ => None,
        }
    }

    /// A plain value as text (strings as they are, numbers and booleans printed); `None` when
    /// absent or null.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(if *b { "1".into() } else { "0".into() }),
            _ => None,
        }
    }

    /// A plain value as trimmed, non-empty text.
    pub fn non_empty(&self, key: &str) -> Option<String> {
        self.text(key)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    /// An id (`0` and empty count as none); an unreadable one is an error naming the field.
    pub fn id(&self, key: &str) -> std::result::Result<Option<u64>, String> {
        match self.non_empty(key) {
            None => Ok(None),
            Some(s) => s
                .parse::<u64>()
                .map(|n| (n != 0).then_some(n))
                .map_err(|_| format!("{s:?} is not an id")),
        }
    }

    /// An amount; absent or empty is `None`, unreadable is an error naming the value.
    pub fn dec(&self, key: &str) -> std::result::Result<Option<Decimal>, String> {
        match self.non_empty(key) {
            None => Ok(None),
            Some(s) => koppel_core::wire::decimal::parse_text(&s).map(Some),
        }
    }

    /// A multilingual value in language `lang`: from `[{id, value}]`, or the plain string of a
    /// one-language answer.
    pub fn lang(&self, key: &str, lang: u32) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Array(items) => items.iter().find_map(|i| {
                let o = i.as_object()?;
                let id = match o.get("id")? {
                    Value::String(s) => s.parse::<u32>().ok()?,
                    Value::Number(n) => u32::try_from(n.as_u64()?).ok()?,
                    _ => return None,
                };
                (id == lang).then(|| o.get("value").and_then(Value::as_str).unwrap_or("").to_owned())
            }),
            _ => None,
        }
    }

    /// The items of an association (`associations.categories`), each as an object.
    pub fn assoc(&self, name: &str) -> Vec<Obj> {
        self.0
            .get("associations")
            .and_then(|a| a.get(name))
            .and_then(Value::as_array)
            .map(|items| items.iter().cloned().filter_map(Obj::from_value).collect())
            .unwrap_or_default()
    }
}

/// The records of a list answer: `{"<resource>": [...]}`, or `[]` / `{}` when empty.
pub fn list_items(body: &[u8], resource: &str) -> Result<Vec<Value>> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        Error::protocol(format!(
            "{resource}: the answer is not JSON ({e}); is output_format=JSON honoured?"
        ))
    })?;
    match v {
        Value::Array(a) if a.is_empty() => Ok(Vec::new()),
        Value::Object(mut o) => match o.remove(resource) {
            Some(Value::Array(items)) => Ok(items),
            None if o.is_empty() => Ok(Vec::new()),
            Some(other) => Err(Error::protocol(format!(
                "{resource}: expected a list, got {}",
                kind_of(&other)
            ))),
            None => Err(Error::protocol(format!(
                "{resource}: the answer has no {resource:?} list (keys: {})",
                o.keys().cloned().collect::<Vec<_>>().join(", ")
            ))),
        },
        other => Err(Error::protocol(format!(
            "{resource}: expected an object, got {}",
            kind_of(&other)
        ))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlVal {
    /// A plain value.
    Text(String),
    /// A multilingual value: language id -> text (every language is sent).
    Lang(BTreeMap<u32, String>),
}

/// An association to write: container name, item name, items (field -> value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlAssoc {
    /// e.g. `categories`.
    pub name: String,
    /// e.g. `category`.
    pub item: String,
    /// The items.
    pub items: Vec<Vec<(String, String)>>,
}

/// One entity to write: `<prestashop><product>...</product></prestashop>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlEntity {
    /// The singular node name (`product`).
    pub node: String,
    /// Fields in order.
    pub fields: Vec<(String, XmlVal)>,
    /// Associations.
    pub assocs: Vec<XmlAssoc>,
}

impl XmlEntity {
    /// An entity with no fields yet.
    pub fn new(node: &str) -> Self {
        XmlEntity {
            node: node.into(),
            ..Default::default()
        }
    }

    /// Sets (or replaces) a field.
    pub fn set(&mut self, name: &str, v: XmlVal) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = v,
            None => self.fields.push((name.into(), v)),
        }
    }

    /// Sets a plain field.
    pub fn text(&mut self, name: &str, v: impl Into<String>) {
        self.set(name, XmlVal::Text(v.into()));
    }

    /// Removes a field.
    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|(n, _)| n != name);
    }

    /// A field's value.
    pub fn get(&self, name: &str) -> Option<&XmlVal> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The XML document. No white space is added inside value tags (the docs warn it is
    /// kept); text is escaped by quick-xml.
    pub fn to_xml(&self) -> Result<Vec<u8>> {
        let mut w = Writer::new(Vec::new());
        let e = |e: std::io::Error| Error::internal(format!("cannot write XML: {e}"));
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .map_err(e)?;
        let mut root = BytesStart::new("prestashop");
        root.push_attribute(("xmlns:xlink", "http://www.w3.org/1999/xlink"));
        w.write_event(Event::Start(root)).map_err(e)?;
        w.write_event(Event::Start(BytesStart::new(self.node.as_str())))
            .map_err(e)?;
        for (name, v) in &self.fields {
            match v {
                XmlVal::Text(t) => leaf(&mut w, name, &[], t).map_err(e)?,
                XmlVal::Lang(m) => {
                    w.write_event(Event::Start(BytesStart::new(name.as_str())))
                        .map_err(e)?;
                    for (id, t) in m {
                        let id = id.to_string();
                        leaf(&mut w, "language", &[("id", id.as_str())], t).map_err(e)?;
                    }
                    w.write_event(Event::End(BytesEnd::new(name.as_str())))
                        .map_err(e)?;
                }
            }
        }
        if !self.assocs.is_empty() {
            w.write_event(Event::Start(BytesStart::new("associations")))
                .map_err(e)?;
            for a in &self.assocs {
                w.write_event(Event::Start(BytesStart::new(a.name.as_str())))
                    .map_err(e)?;
                for item in &a.items {
                    w.write_event(Event::Start(BytesStart::new(a.item.as_str())))
                        .map_err(e)?;
                    for (k, v) in item {
                        leaf(&mut w, k, &[], v).map_err(e)?;
                    }
                    w.write_event(Event::End(BytesEnd::new(a.item.as_str())))
                        .map_err(e)?;
                }
                w.write_event(Event::End(BytesEnd::new(a.name.as_str())))
                    .map_err(e)?;
            }
            w.write_event(Event::End(BytesEnd::new("associations")))
                .map_err(e)?;
        }
        w.write_event(Event::End(BytesEnd::new(self.node.as_str())))
            .map_err(e)?;
        w.write_event(Event::End(BytesEnd::new("prestashop")))
            .map_err(e)?;
        Ok(w.into_inner())
    }
}

fn leaf(w: &mut Writer<Vec<u8>>, name: &str, attrs: &[(&str, &str)], text: &str) -> std::io::Result<()> {
    let mut s = BytesStart::new(name);
    for a in attrs {
        s.push_attribute(*a);
    }
    w.write_event(Event::Start(s))?;
    if !text.is_empty() {
        w.write_event(Event::Text(BytesText::new(text)))?;
    }
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// A parsed XML element (for `GET /api/` and XML error bodies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlNode {
    /// Tag name.
    pub name: String,
    /// Attributes.
    pub attrs: BTreeMap<String, String>,
    /// Children.
    pub children: Vec<XmlNode>,
    /// Text and CDATA.
    pub text: String,
}

impl XmlNode {
    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&XmlNode> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Parses an XML document; `Err` carries the parser's message.
pub fn parse_xml(input: &[u8]) -> std::result::Result<XmlNode, String> {
    let mut reader = Reader::from_reader(input);
    let mut stack: Vec<XmlNode> = Vec::new();
    let mut root = None;
    let mut buf = Vec::new();
    let start = |e: &BytesStart<'_>| -> std::result::Result<XmlNode, String> {
        let mut n = XmlNode {
            name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
            ..Default::default()
        };
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            let v = a.unescape_value().map_err(|e| e.to_string())?;
            n.attrs.insert(
                String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                v.into_owned(),
            );
        }
        Ok(n)
    };
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => stack.push(start(&e)?),
            Ok(Event::Empty(e)) => {
                let n = start(&e)?;
                match stack.last_mut() {
                    Some(p) => p.children.push(n),
                    None => root = Some(n),
                }
            }
            Ok(Event::End(_)) => {
                let n = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(p) => p.children.push(n),
                    None => root = Some(n),
                }
            }
            Ok(Event::Text(t)) => {
                if let Some(p) = stack.last_mut() {
                    let s = t.decode().map_err(|e| e.to_string())?;
                    let s = quick_xml::escape::unescape(&s).map_err(|e| e.to_string())?;
                    p.text.push_str(&s);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(p) = stack.last_mut() {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    let ent = format!("&{name};");
                    let s = quick_xml::escape::unescape(&ent).map_err(|e| e.to_string())?;
                    p.text.push_str(&s);
                }
            }
            Ok(Event::CData(c)) => {
                if let Some(p) = stack.last_mut() {
                    p.text.push_str(&String::from_utf8_lossy(&c));
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
        buf.clear();
    }
    root.ok_or_else(|| "empty document".into())
}

/// The `errors` of an error body, JSON (`{"errors":[{"code","message"}]}`) or XML
/// (`<prestashop><errors><error><code/><message/>`).
pub fn error_list(body: &[u8]) -> Vec<(Option<u32>, String)> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return v
            .get("errors")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let code = match e.get("code") {
                            Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                            Some(Value::String(s)) => s.trim().parse().ok(),
                            _ => None,
                        };
                        let msg = e.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
                        (code, msg)
                    })
                    .collect()
            })
            .unwrap_or_default();
    }
    match parse_xml(body) {
        Ok(root) => root
            .child("errors")
            .map(|errs| {
                errs.children
                    .iter()
                    .filter(|e| e.name == "error")
                    .map(|e| {
                        (
                            e.child("code").and_then(|c| c.text.trim().parse().ok()),
                            e.child("message")
                                .map(|m| m.text.trim().to_owned())
                                .unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_both_multilang_shapes_and_loose_values() {
        let o = Obj::from_value(json!({
            "id": 5, "price": "12.500000", "active": "1", "id_manufacturer": "0",
            "name": [{"id": "1", "value": "Mok"}, {"id": "2", "value": "Mug"}],
            "link_rewrite": "mok",
            "associations": {"categories": [{"id": "2"}, {"id": 7}]}
        }))
        .unwrap();
        assert_eq!(o.text("id").as_deref(), Some("5"));
        assert_eq!(o.dec("price").unwrap(), Some(Decimal::new(125, 1)));
        assert_eq!(o.id("id_manufacturer").unwrap(), None);
        assert_eq!(o.lang("name", 2).as_deref(), Some("Mug"));
        assert_eq!(o.lang("link_rewrite", 1).as_deref(), Some("mok"));
        assert_eq!(o.assoc("categories").len(), 2);
        assert!(o.dec("active").is_ok());
        let bad = Obj::from_value(json!({"price": "12,5x"})).unwrap();
        assert!(bad.dec("price").is_err());
    }

    #[test]
    fn empty_lists_in_every_shape() {
        assert!(list_items(b"[]", "orders").unwrap().is_empty());
        assert!(list_items(b"{}", "orders").unwrap().is_empty());
        assert_eq!(
            list_items(br#"{"orders":[{"id":1}]}"#, "orders").unwrap().len(),
            1
        );
        assert!(list_items(b"<xml/>", "orders").is_err());
        assert!(list_items(br#"{"customers":[]}"#, "orders").is_err());
    }

    #[test]
    fn xml_is_escaped_by_the_library() {
        let mut e = XmlEntity::new("product");
        e.text("id", "5");
        e.text("reference", "A&B <x>");
        e.set(
            "name",
            XmlVal::Lang(BTreeMap::from([
                (1, "Mok \"groot\" ]]>".to_owned()),
                (2, String::new()),
            ])),
        );
        e.assocs.push(XmlAssoc {
            name: "categories".into(),
            item: "category".into(),
            items: vec![vec![("id".into(), "2".into())]],
        });
        let xml = String::from_utf8(e.to_xml().unwrap()).unwrap();
        assert!(xml.contains("<reference>A&amp;B &lt;x&gt;</reference>"), "{xml}");
        assert!(xml.contains("<language id=\"2\"></language>"), "{xml}");
        let back = parse_xml(xml.as_bytes()).unwrap();
        let p = back.child("product").unwrap();
        assert_eq!(p.child("reference").unwrap().text, "A&B <x>");
        assert_eq!(p.child("name").unwrap().children[0].text, "Mok \"groot\" ]]>");
    }

    #[test]
    fn error_bodies_json_and_xml() {
        assert_eq!(
            error_list(br#"{"errors":[{"code":23,"message":"Method PATCH is not valid"}]}"#),
            vec![(Some(23), "Method PATCH is not valid".to_owned())]
        );
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?><prestashop><errors><error><code><![CDATA[41]]></code><message><![CDATA[parameter "price" required]]></message></error></errors></prestashop>"#;
        assert_eq!(
            error_list(xml),
            vec![(Some(41), "parameter \"price\" required".to_owned())]
        );
        assert!(error_list(b"<html>oops").is_empty());
    }
}
