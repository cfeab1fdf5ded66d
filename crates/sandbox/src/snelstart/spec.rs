//! The vendored SnelStart OpenAPI definition (`spec/snelstart-b2b-api-v2.yaml`), parsed once,
//! and a validator for the subset of OpenAPI 3.0 schema objects it uses (`$ref`, `type`,
//! `format` uuid/date-time/int32, `enum`, `maxLength`, `minimum`/`maximum`, `required`,
//! `properties`, `items`).
//!
//! The simulator checks every request against it; the contract tests check every response.
//! Two deliberate readings of the definition:
//! - `null` is accepted for every property: the definition never says `nullable`, but it is
//!   generated from a .NET server that serialises unset reference types as `null`.
//! - Properties the schema does not declare are rejected, in requests and in responses.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

/// The definition, byte for byte as vendored.
pub const SPEC_YAML: &str = include_str!("../../spec/snelstart-b2b-api-v2.yaml");

/// One operation of the definition.
#[derive(Debug, Clone)]
pub struct Op {
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template relative to the server URL, e.g. `/relaties/{id}`.
    pub path: String,
    /// Scopes named in the operation's description (`artikelen:read`, ...).
    pub scopes: Vec<String>,
    /// Declared query parameters and their schemas.
    pub query: Vec<(String, Value)>,
    /// The `application/json` request body schema, if any.
    pub body: Option<Value>,
    /// `application/json` response schemas by status code (`None`: no schema given).
    pub responses: HashMap<String, Option<Value>>,
}

impl Op {
    /// Whether the operation takes OData options (it declares `$filter`).
    pub fn is_odata(&self) -> bool {
        self.query.iter().any(|(n, _)| n == "$filter")
    }

    /// The schema of a declared query parameter.
    pub fn query_param(&self, name: &str) -> Option<&Value> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// The schema of the 200 response's array items (for list operations).
    pub fn list_item_schema<'a>(&'a self, spec: &'a Spec) -> Option<&'a Value> {
        let s = self.responses.get("200")?.as_ref()?;
        let s = spec.resolve(s);
        s.get("items").map(|i| spec.resolve(i))
    }
}

/// The parsed definition.
#[derive(Debug)]
pub struct Spec {
    root: Value,
    ops: Vec<Op>,
    by_template: HashMap<(String, String), usize>,
}

/// What went wrong where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON path of the offending value, e.g. `regels[0].artikel.id`, or `` for the root.
    pub path: String,
    /// The class of problem.
    pub kind: ViolationKind,
    /// Human-readable explanation.
    pub message: String,
}

/// Classes of schema violations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    /// Wrong JSON type or format.
    Type,
    /// Value not in the enum.
    Enum,
    /// Property not declared by the schema.
    Unknown,
    /// String longer than `maxLength`.
    MaxLength,
    /// Number outside `minimum`/`maximum`.
    Range,
    /// A `required` property is missing.
    Required,
}

/// Whether a request or a response is checked: `readOnly` properties may appear in both
/// (clients send back what they read), so the mode only affects messages today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A request body.
    Request,
    /// A response body.
    Response,
}

static SPEC: OnceLock<Result<Spec, String>> = OnceLock::new();

/// The definition, parsed on first use.
pub fn spec() -> Result<&'static Spec, String> {
    SPEC.get_or_init(|| Spec::parse(SPEC_YAML))
        .as_ref()
        .map_err(|e| e.clone())
}

fn scopes_of(description: &str) -> Vec<String> {
    match description.split_once("scopes benodigd:") {
        None => Vec::new(),
        Some((_, rest)) => rest
            .lines()
            .map(str::trim)
            .filter_map(|l| l.strip_prefix("- "))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    }
}

impl Spec {
    /// Parses a definition.
    pub fn parse(yaml: &str) -> Result<Spec, String> {
        let root: Value = serde_yaml::from_str(yaml).map_err(|e| format!("OpenAPI definition: {e}"))?;
        let mut ops = Vec::new();
        let paths = root
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("OpenAPI definition has no paths")?;
        for (path, item) in paths {
            let Some(item) = item.as_object() else { continue };
            for (method, op) in item {
                let method = method.to_ascii_uppercase();
                if !matches!(method.as_str(), "GET" | "POST" | "PUT" | "DELETE" | "PATCH") {
                    continue;
                }
                let query = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .map(|ps| {
                        ps.iter()
                            .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
                            .filter_map(|p| {
                                let name = p.get("name")?.as_str()?.to_owned();
                                Some((name, p.get("schema").cloned().unwrap_or(Value::Null)))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let body = op
                    .pointer("/requestBody/content/application~1json/schema")
                    .cloned();
                let responses = op
                    .get("responses")
                    .and_then(Value::as_object)
                    .map(|rs| {
                        rs.iter()
                            .map(|(code, r)| {
                                (
                                    code.clone(),
                                    r.pointer("/content/application~1json/schema").cloned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let scopes = scopes_of(op.get("description").and_then(Value::as_str).unwrap_or(""));
                ops.push(Op {
                    method,
                    path: path.clone(),
                    scopes,
                    query,
                    body,
                    responses,
                });
            }
        }
        let by_template = ops
            .iter()
            .enumerate()
            .map(|(i, o)| ((o.method.clone(), o.path.clone()), i))
            .collect();
        Ok(Spec {
            root,
            ops,
            by_template,
        })
    }

    /// All operations.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// The operation with exactly this method and path template (e.g. `GET`, `/relaties/{id}`).
    pub fn op(&self, method: &str, template: &str) -> Option<&Op> {
        self.by_template
            .get(&(method.to_ascii_uppercase(), template.to_owned()))
            .map(|&i| &self.ops[i])
    }

    /// Matches a concrete path (relative to `/v2`) against the declared templates. Literal
    /// segments match case-insensitively (ASP.NET routing) and win over `{param}` segments.
    /// Returns the best-matching template and whether `method` is declared on it.
    pub fn match_path(&self, method: &str, path: &str) -> Option<(String, Option<&Op>)> {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut best: Option<(usize, &str)> = None;
        for op in &self.ops {
            let tsegs: Vec<&str> = op.path.trim_matches('/').split('/').collect();
            if tsegs.len() != segs.len() {
                continue;
            }
            let mut literal = 0;
            let ok = tsegs.iter().zip(&segs).all(|(t, s)| {
                if t.starts_with('{') && t.ends_with('}') {
                    !s.is_empty()
                } else if t.eq_ignore_ascii_case(s) {
                    literal += 1;
                    true
                } else {
                    false
                }
            });
            if ok && best.is_none_or(|(l, _)| literal > l) {
                best = Some((literal, op.path.as_str()));
            }
        }
        let (_, template) = best?;
        Some((template.to_owned(), self.op(method, template)))
    }

    /// Follows a `$ref` (repeatedly) to the schema it names.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut s = schema;
        for _ in 0..32 {
            match s.get("$ref").and_then(Value::as_str) {
                Some(r) => match r.strip_prefix('#') {
                    Some(ptr) => match self.root.pointer(ptr) {
                        Some(t) => s = t,
                        None => return s,
                    },
                    None => return s,
                },
                None => return s,
            }
        }
        s
    }

    /// A named component schema.
    pub fn schema(&self, name: &str) -> Option<&Value> {
        self.root.get("components")?.get("schemas")?.get(name)
    }

    /// The declared properties of an object schema (after resolving `$ref`).
    pub fn properties<'a>(&'a self, schema: &'a Value) -> Option<&'a serde_json::Map<String, Value>> {
        self.resolve(schema).get("properties").and_then(Value::as_object)
    }

    /// `value` with the properties `schema` does not declare removed (recursively): the
    /// answer of an operation whose response model has fewer fields than the stored record.
    pub fn project(&self, schema: &Value, value: &Value) -> Value {
        let s = self.resolve(schema);
        match value {
            Value::Object(obj) => match s.get("properties").and_then(Value::as_object) {
                Some(props) => Value::Object(
                    obj.iter()
                        .filter_map(|(k, v)| props.get(k).map(|ps| (k.clone(), self.project(ps, v))))
                        .collect(),
                ),
                None => value.clone(),
            },
            Value::Array(items) => match s.get("items") {
                Some(is) => Value::Array(items.iter().map(|i| self.project(is, i)).collect()),
                None => value.clone(),
            },
            _ => value.clone(),
        }
    }

    /// Validates `value` against `schema`.
    pub fn validate(&self, schema: &Value, value: &Value, mode: Mode) -> Vec<Violation> {
        let mut out = Vec::new();
        self.check(schema, value, "", mode, &mut out);
        out
    }

    /// Validates a response body of an operation (no schema declared for the status: valid).
    pub fn check_response(&self, method: &str, template: &str, status: u16, body: &Value) -> Vec<Violation> {
        let Some(op) = self.op(method, template) else {
            return vec![Violation {
                path: String::new(),
                kind: ViolationKind::Unknown,
                message: format!("{method} {template} is not declared"),
            }];
        };
        match op.responses.get(&status.to_string()) {
            None => vec![Violation {
                path: String::new(),
                kind: ViolationKind::Unknown,
                message: format!("status {status} is not declared for {method} {template}"),
            }],
            Some(None) => Vec::new(),
            Some(Some(schema)) => self.validate(schema, body, Mode::Response),
        }
    }

    fn check(&self, schema: &Value, v: &Value, path: &str, mode: Mode, out: &mut Vec<Violation>) {
        let s = self.resolve(schema);
        if v.is_null() {
            return;
        }
        let mut push = |kind, message: String| {
            out.push(Violation {
                path: path.to_owned(),
                kind,
                message,
            })
        };
        let ty = s.get("type").and_then(Value::as_str).unwrap_or("");
        let format = s.get("format").and_then(Value::as_str).unwrap_or("");
        match ty {
            "string" => {
                let Some(text) = v.as_str() else {
                    return push(
                        ViolationKind::Type,
                        format!("expected a string, got {}", kind_of(v)),
                    );
                };
                if format == "uuid" && uuid::Uuid::parse_str(text).is_err() {
                    return push(ViolationKind::Type, format!("'{text}' is not a GUID"));
                }
                if format == "date-time" && parse_datetime(text).is_none() {
                    return push(ViolationKind::Type, format!("'{text}' is not a date-time"));
                }
                if let Some(values) = s.get("enum").and_then(Value::as_array) {
                    if !values.iter().any(|e| e.as_str() == Some(text)) {
                        let allowed: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
                        return push(
                            ViolationKind::Enum,
                            format!("'{text}' is not one of {}", allowed.join(", ")),
                        );
                    }
                }
                if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
                    let n = text.chars().count() as u64;
                    if n > max {
                        push(
                            ViolationKind::MaxLength,
                            format!("length {n} exceeds the maximum of {max}"),
                        );
                    }
                }
            }
            "integer" | "number" => {
                let Some(n) = v.as_f64() else {
                    return push(
                        ViolationKind::Type,
                        format!("expected a {ty}, got {}", kind_of(v)),
                    );
                };
                if ty == "integer" {
                    let Some(i) = v.as_i64() else {
                        return push(ViolationKind::Type, format!("{v} is not an integer"));
                    };
                    if format == "int32" && i32::try_from(i).is_err() {
                        return push(ViolationKind::Range, format!("{i} does not fit in int32"));
                    }
                }
                if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
                    if n < min {
                        push(ViolationKind::Range, format!("{v} is below the minimum of {min}"));
                    }
                }
                if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
                    if n > max {
                        push(ViolationKind::Range, format!("{v} is above the maximum of {max}"));
                    }
                }
            }
            "boolean" if !v.is_boolean() => {
                push(
                    ViolationKind::Type,
                    format!("expected a boolean, got {}", kind_of(v)),
                );
            }
            "array" => {
                let Some(items) = v.as_array() else {
                    return push(
                        ViolationKind::Type,
                        format!("expected an array, got {}", kind_of(v)),
                    );
                };
                if let Some(item_schema) = s.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item_schema, item, &format!("{path}[{i}]"), mode, out);
                    }
                }
            }
            "object" | "" => {
                let Some(obj) = v.as_object() else {
                    if ty == "object" {
                        push(
                            ViolationKind::Type,
                            format!("expected an object, got {}", kind_of(v)),
                        );
                    }
                    return;
                };
                let Some(props) = s.get("properties").and_then(Value::as_object) else {
                    // `type: object` without properties: any object.
                    return;
                };
                if let Some(req) = s.get("required").and_then(Value::as_array) {
                    for r in req.iter().filter_map(Value::as_str) {
                        if obj.get(r).is_none_or(Value::is_null) {
                            out.push(Violation {
                                path: join(path, r),
                                kind: ViolationKind::Required,
                                message: format!("'{r}' is required"),
                            });
                        }
                    }
                }
                for (k, val) in obj {
                    match props.get(k) {
                        Some(ps) => self.check(ps, val, &join(path, k), mode, out),
                        None => out.push(Violation {
                            path: join(path, k),
                            kind: ViolationKind::Unknown,
                            message: format!(
                                "property '{k}' is not declared by the {} schema",
                                if mode == Mode::Request {
                                    "request"
                                } else {
                                    "response"
                                }
                            ),
                        }),
                    }
                }
            }
            _ => {}
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
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

/// Parses a date-time as SnelStart accepts it: `yyyy-MM-ddTHH:mm:ss[.fffffff]` with or
/// without an offset. With an offset the instant is converted to Dutch local time.
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&chrono_tz::Europe::Amsterdam).naive_local());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return Some(dt);
        }
        if f == "%Y-%m-%d" {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(s, f) {
                return d.and_hms_opt(0, 0, 0);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_definition() {
        let s = spec().unwrap();
        assert!(s.ops().len() >= 90, "{} ops", s.ops().len());
        let op = s.op("GET", "/artikelen").unwrap();
        assert_eq!(op.scopes, vec!["artikelen:read".to_owned()]);
        assert_eq!(op.query_param("$top").unwrap()["maximum"], 25);
        let (t, op) = s.match_path("get", "/artikelen/prijsafspraken").unwrap();
        assert_eq!(t, "/artikelen/prijsafspraken");
        assert!(op.is_some());
        let (t, _) = s.match_path("GET", "/verkooporders/abc/procesStatus").unwrap();
        assert_eq!(t, "/verkooporders/{id}/ProcesStatus");
        assert!(s.match_path("GET", "/nope").is_none());
    }

    #[test]
    fn validates_types_enums_lengths_and_unknown_properties() {
        let s = spec().unwrap();
        let schema = s
            .op("POST", "/verkooporders")
            .and_then(|o| o.body.clone())
            .unwrap();
        let ok = serde_json::json!({"relatie": {"id": "75b4d8f7-3c8e-4d0c-9d6b-5b2b7a6f1d11"},
            "datum": "2024-05-01T00:00:00", "procesStatus": "Order", "regels": []});
        assert!(s.validate(&schema, &ok, Mode::Request).is_empty());
        let bad = serde_json::json!({"relatie": {"id": "x"}, "procesStatus": "Nope",
            "regels": [{"omschrijving": "a".repeat(251), "kleur": 1}]});
        let v = s.validate(&schema, &bad, Mode::Request);
        let kinds: Vec<_> = v.iter().map(|v| (v.path.as_str(), v.kind)).collect();
        assert!(kinds.contains(&("datum", ViolationKind::Required)), "{v:?}");
        assert!(kinds.contains(&("relatie.id", ViolationKind::Type)));
        assert!(kinds.contains(&("procesStatus", ViolationKind::Enum)));
        assert!(kinds.contains(&("regels[0].omschrijving", ViolationKind::MaxLength)));
        assert!(kinds.contains(&("regels[0].kleur", ViolationKind::Unknown)));
    }
}
