//! The webservice's formats: XML input (the only input 1.7 and 8.x read), JSON and XML output.
//!
//! Output shapes follow classes/webservice/WebserviceOutputJSON.php and WebserviceOutputXML.php:
//! a list is `{"products":[{...}]}` (an empty list is `[]`, PrestaShop/PrestaShop#10172), a
//! record `{"product":{...}}`; multilingual values are `[{"id":"1","value":".."}]`, or a plain
//! string when only one language is rendered (docs: tutorials/advanced-use/multilang-fields).
//! XML wraps every value in CDATA.

use std::collections::BTreeMap;

use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, Event};
use quick_xml::{Reader, Writer};
use serde_json::{json, Map, Value};

use super::data::{Rec, Val};
use super::schema::ResourceDef;

/// A parsed XML element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Tag name.
    pub name: String,
    /// Attributes.
    pub attrs: BTreeMap<String, String>,
    /// Child elements.
    pub children: Vec<Element>,
    /// Text and CDATA content.
    pub text: String,
}

impl Element {
    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Parses an XML document into its root element; `Err` carries the parser's message.
pub fn parse_xml(input: &[u8]) -> Result<Element, String> {
    let mut reader = Reader::from_reader(input);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => stack.push(start_element(&e)?),
            Ok(Event::Empty(e)) => {
                let el = start_element(&e)?;
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
                }
            }
            Ok(Event::End(_)) => {
                let el = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
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
    if !stack.is_empty() {
        return Err("unclosed element".into());
    }
    root.ok_or_else(|| "String could not be parsed as XML".into())
}

fn start_element(e: &BytesStart<'_>) -> Result<Element, String> {
    let mut el = Element {
        name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
        ..Default::default()
    };
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let v = a.unescape_value().map_err(|e| e.to_string())?;
        el.attrs.insert(
            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
            v.into_owned(),
        );
    }
    Ok(el)
}

/// How a response renders multilingual fields.
#[derive(Debug, Clone)]
pub struct Render {
    /// Languages rendered (all installed, or the `language` parameter's).
    pub languages: Vec<u32>,
    /// 8.x single-record JSON: drop every field whose value is `""`, `"0"` or null (the
    /// `array_filter` in WebserviceOutputJSON; PrestaShop/PrestaShop#34794).
    pub drop_empty: bool,
}

/// The JSON of one record: `fields` None = every field and the associations.
pub fn record_json(def: &ResourceDef, id: u64, rec: &Rec, fields: Option<&[String]>, r: &Render) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(id));
    for f in def.fields {
        if f.name == "id" {
            continue;
        }
        if let Some(list) = fields {
            if !list.iter().any(|x| x == f.name) {
                continue;
            }
        }
        let v = match rec.fields.get(f.name) {
            Some(Val::Lang(m)) => {
                if r.languages.len() == 1 {
                    Value::String(m.get(&r.languages[0]).cloned().unwrap_or_default())
                } else {
                    Value::Array(
                        r.languages
                            .iter()
                            .map(|l| json!({"id": l.to_string(), "value": m.get(l).cloned().unwrap_or_default()}))
                            .collect(),
                    )
                }
            }
            Some(Val::Text(t)) => Value::String(t.clone()),
            None => Value::String(String::new()),
        };
        if r.drop_empty && matches!(&v, Value::String(s) if s.is_empty() || s == "0") {
            continue;
        }
        o.insert(f.name.into(), v);
    }
    if fields.is_none() && !rec.assoc.is_empty() {
        let mut a = Map::new();
        for (name, items) in &rec.assoc {
            a.insert(
                name.clone(),
                Value::Array(
                    items
                        .iter()
                        .map(|i| Value::Object(i.iter().map(|(k, v)| (k.clone(), json!(v))).collect()))
                        .collect(),
                ),
            );
        }
        o.insert("associations".into(), Value::Object(a));
    }
    Value::Object(o)
}

/// The blank schema of a resource as JSON (`?schema=blank`).
pub fn blank_json(def: &ResourceDef, languages: &[u32]) -> Value {
    let mut o = Map::new();
    for f in def.fields {
        let v = if f.lang {
            Value::Array(
                languages
                    .iter()
                    .map(|l| json!({"id": l.to_string(), "value": ""}))
                    .collect(),
            )
        } else {
            json!("")
        };
        o.insert(f.name.into(), v);
    }
    if !def.assocs.is_empty() {
        let mut a = Map::new();
        for assoc in def.assocs {
            a.insert(assoc.name.into(), json!([]));
        }
        o.insert("associations".into(), Value::Object(a));
    }
    json!({ def.single: o })
}

type W = Writer<Vec<u8>>;

fn io(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn cdata(w: &mut W, tag: &str, attrs: &[(&str, &str)], text: &str) -> Result<(), String> {
    let mut s = BytesStart::new(tag);
    for (k, v) in attrs {
        s.push_attribute((*k, *v));
    }
    w.write_event(Event::Start(s)).map_err(io)?;
    if !text.is_empty() {
        // a `]]>` inside a value is split over two CDATA sections
        for (i, part) in text.split("]]>").enumerate() {
            if i > 0 {
                w.write_event(Event::CData(BytesCData::new("]]"))).map_err(io)?;
                w.write_event(Event::CData(BytesCData::new(">"))).map_err(io)?;
            }
            w.write_event(Event::CData(BytesCData::new(part))).map_err(io)?;
        }
    }
    w.write_event(Event::End(BytesEnd::new(tag))).map_err(io)
}

fn open(w: &mut W, tag: &str, attrs: &[(&str, &str)]) -> Result<(), String> {
    let mut s = BytesStart::new(tag);
    for (k, v) in attrs {
        s.push_attribute((*k, *v));
    }
    w.write_event(Event::Start(s)).map_err(io)
}

fn close(w: &mut W, tag: &str) -> Result<(), String> {
    w.write_event(Event::End(BytesEnd::new(tag))).map_err(io)
}

fn document(body: impl FnOnce(&mut W) -> Result<(), String>) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    let run = |w: &mut W| -> Result<(), String> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .map_err(io)?;
        open(
            w,
            "prestashop",
            &[("xmlns:xlink", "http://www.w3.org/1999/xlink")],
        )?;
        body(w)?;
        close(w, "prestashop")
    };
    match run(&mut w) {
        Ok(()) => w.into_inner(),
        Err(e) => format!("<?xml version=\"1.0\"?><prestashop><errors><error><code>0</code><message>{e}</message></error></errors></prestashop>").into_bytes(),
    }
}

fn record_xml_into(
    w: &mut W,
    def: &ResourceDef,
    id: Option<u64>,
    rec: &Rec,
    r: &Render,
) -> Result<(), String> {
    open(w, def.single, &[])?;
    for f in def.fields {
        if f.name == "id" {
            cdata(w, "id", &[], &id.map(|i| i.to_string()).unwrap_or_default())?;
            continue;
        }
        match rec.fields.get(f.name) {
            Some(Val::Lang(m)) => {
                open(w, f.name, &[])?;
                for l in &r.languages {
                    let id = l.to_string();
                    cdata(
                        w,
                        "language",
                        &[("id", &id)],
                        m.get(l).map(String::as_str).unwrap_or(""),
                    )?;
                }
                close(w, f.name)?;
            }
            Some(Val::Text(t)) => cdata(w, f.name, &[], t)?,
            None => cdata(w, f.name, &[], "")?,
        }
    }
    if !def.assocs.is_empty() {
        open(w, "associations", &[])?;
        for a in def.assocs {
            open(w, a.name, &[("nodeType", a.item), ("api", a.name)])?;
            for item in rec.assoc.get(a.name).map(Vec::as_slice).unwrap_or(&[]) {
                open(w, a.item, &[])?;
                for (k, v) in item {
                    cdata(w, k, &[], v)?;
                }
                close(w, a.item)?;
            }
            close(w, a.name)?;
        }
        close(w, "associations")?;
    }
    close(w, def.single)
}

/// One record as an XML document.
pub fn record_xml(def: &ResourceDef, id: Option<u64>, rec: &Rec, r: &Render) -> Vec<u8> {
    document(|w| record_xml_into(w, def, id, rec, r))
}

/// A list as XML: `full` renders every record in full, else `<product id="1"/>` links.
pub fn list_xml(def: &ResourceDef, items: &[(u64, &Rec)], full: bool, r: &Render) -> Vec<u8> {
    document(|w| {
        open(w, def.name, &[])?;
        for (id, rec) in items {
            if full {
                record_xml_into(w, def, Some(*id), rec, r)?;
            } else {
                let mut s = BytesStart::new(def.single);
                let ids = id.to_string();
                s.push_attribute(("id", ids.as_str()));
                w.write_event(Event::Empty(s)).map_err(io)?;
            }
        }
        close(w, def.name)
    })
}

/// The blank (or synopsis, with `required`) schema as XML.
pub fn schema_xml(def: &ResourceDef, languages: &[u32], synopsis: bool) -> Vec<u8> {
    document(|w| {
        open(w, def.single, &[])?;
        for f in def.fields {
            let mut attrs: Vec<(&str, &str)> = Vec::new();
            if synopsis && f.required {
                attrs.push(("required", "true"));
            }
            if synopsis && f.read_only {
                attrs.push(("read_only", "true"));
            }
            if f.lang {
                open(w, f.name, &attrs)?;
                for l in languages {
                    let id = l.to_string();
                    cdata(w, "language", &[("id", &id)], "")?;
                }
                close(w, f.name)?;
            } else {
                cdata(w, f.name, &attrs, "")?;
            }
        }
        close(w, def.single)
    })
}

/// An error document, XML: `<prestashop><errors><error><code/><message/></error></errors>`.
pub fn errors_xml(errors: &[(u32, String)]) -> Vec<u8> {
    document(|w| {
        open(w, "errors", &[])?;
        for (code, msg) in errors {
            open(w, "error", &[])?;
            cdata(w, "code", &[], &code.to_string())?;
            cdata(w, "message", &[], msg)?;
            close(w, "error")?;
        }
        close(w, "errors")
    })
}

/// The resource index (`GET /api/`) as XML: one element per resource the key may use, with
/// `get`/`put`/`post`/`patch`/`delete`/`head` attributes (WebserviceOutputBuilder::getResourcesList).
pub fn index_xml(base: &str, perms: &[(&str, Vec<&str>)]) -> Vec<u8> {
    document(|w| {
        open(w, "api", &[("shopName", "koppel sandbox")])?;
        for (res, methods) in perms {
            let href = format!("{base}/api/{res}");
            let mut s = BytesStart::new(*res);
            s.push_attribute(("xlink:href", href.as_str()));
            for m in ["get", "put", "post", "patch", "delete", "head"] {
                let allowed = methods.iter().any(|x| x.eq_ignore_ascii_case(m));
                s.push_attribute((m, if allowed { "true" } else { "false" }));
            }
            w.write_event(Event::Start(s)).map_err(io)?;
            cdata(w, "description", &[], &format!("The {res}"))?;
            close(w, res)?;
        }
        close(w, "api")
    })
}
