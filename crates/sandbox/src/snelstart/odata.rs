//! OData (v3 style, as ASP.NET Web API OData speaks it) query options on list GETs:
//! `$filter` (tokenizer + recursive-descent parser, type-checked against the entity schema
//! of the definition, evaluated on the JSON records), `$select`, `$skip`, `$top`. `$orderby`
//! is neither declared by the definition nor documented by the portal, so it is refused like
//! any undeclared option.
//!
//! Supported `$filter` grammar:
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | primary
//! primary := "(" expr ")" | path "/any(" var ":" expr ")" | operand [cmp operand]
//! cmp     := eq | ne | gt | ge | lt | le
//! operand := path | literal | startswith(operand, operand) | endswith(..) | substringof(..)
//! literal := 'text' ('' escapes a quote) | 123 | 1.5 | true | false | null
//!          | datetime'yyyy-MM-ddTHH:mm:ss[.fff]' | guid'…'
//! path    := Name ("/" Name)*    (UpperCamelCase, case-sensitive; a lambda variable first)
//! ```

use std::cmp::Ordering;
use std::str::FromStr;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use super::spec::{parse_datetime, Spec};

/// A parse or type error in a query option; becomes a 400 `ALG-0104`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Typed(String, String),
    LParen,
    RParen,
    Comma,
    Colon,
    Slash,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, QueryError> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let read_quoted = |i: &mut usize| -> Result<String, QueryError> {
        // chars[*i] == '\''
        *i += 1;
        let mut text = String::new();
        loop {
            match chars.get(*i) {
                None => return Err(QueryError("unterminated string literal".into())),
                Some('\'') if chars.get(*i + 1) == Some(&'\'') => {
                    text.push('\'');
                    *i += 2;
                }
                Some('\'') => {
                    *i += 1;
                    return Ok(text);
                }
                Some(c) => {
                    text.push(*c);
                    *i += 1;
                }
            }
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1
            }
            '/' => {
                out.push(Tok::Slash);
                i += 1
            }
            '\'' => out.push(Tok::Str(read_quoted(&mut i)?)),
            c if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                // OData type suffixes: 1.5m (decimal), 10L (long), 1.5d
                if i < chars.len() && matches!(chars[i], 'm' | 'M' | 'L' | 'l' | 'd' | 'D' | 'f' | 'F') {
                    i += 1;
                    let n: String = chars[start..i - 1].iter().collect();
                    out.push(Tok::Num(n));
                } else {
                    out.push(Tok::Num(chars[start..i].iter().collect()));
                }
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if chars.get(i) == Some(&'\'') {
                    let text = read_quoted(&mut i)?;
                    out.push(Tok::Typed(word, text));
                } else {
                    out.push(Tok::Ident(word));
                }
            }
            other => {
                return Err(QueryError(format!(
                    "unexpected character '{other}' at position {i}"
                )))
            }
        }
    }
    Ok(out)
}

/// The type of a property or literal, from the definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Str,
    Guid,
    DateTime,
    Int,
    Num,
    Bool,
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Int(i64),
    Num(Decimal),
    DateTime(NaiveDateTime),
    Guid(Uuid),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    StartsWith,
    EndsWith,
    SubstringOf,
}

#[derive(Debug, Clone)]
enum Operand {
    /// JSON keys from the record (or from the lambda variable when `var` is set).
    Path {
        var: bool,
        keys: Vec<String>,
        ty: Ty,
    },
    Lit(Lit),
    Call(Func, Box<Operand>, Box<Operand>),
}

/// A parsed, type-checked `$filter`.
#[derive(Debug, Clone)]
pub struct Filter(Expr);

#[derive(Debug, Clone)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, CmpOp, Operand),
    Bool(Operand),
    Any { keys: Vec<String>, body: Box<Expr> },
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    spec: &'a Spec,
    schema: &'a Value,
    /// Lambda variable and the schema of the collection's items.
    lambda: Option<(String, &'a Value)>,
}

fn ty_of(spec: &Spec, schema: &Value) -> Option<Ty> {
    let s = spec.resolve(schema);
    let ty = s.get("type").and_then(Value::as_str)?;
    let format = s.get("format").and_then(Value::as_str).unwrap_or("");
    Some(match (ty, format) {
        ("string", "uuid") => Ty::Guid,
        ("string", "date-time") => Ty::DateTime,
        ("string", _) => Ty::Str,
        ("integer", _) => Ty::Int,
        ("number", _) => Ty::Num,
        ("boolean", _) => Ty::Bool,
        _ => return None,
    })
}

/// The JSON key for an OData property name: case-sensitive UpperCamelCase, first letter
/// lowered (`ModifiedOn` -> `modifiedOn`).
fn json_key(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let first = chars.next()?;
    if !first.is_uppercase() {
        return None;
    }
    Some(first.to_lowercase().chain(chars).collect())
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, t: Tok) -> Result<(), QueryError> {
        match self.next() {
            Some(ref got) if *got == t => Ok(()),
            got => Err(QueryError(format!("expected {t:?}, found {got:?}"))),
        }
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w == kw)
    }

    fn expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.expr()?;
            self.expect(Tok::RParen)?;
            return Ok(e);
        }
        let left = self.operand()?;
        if let Operand::Path {
            var: false,
            keys,
            ty: _,
        } = &left
        {
            if self.peek() == Some(&Tok::Slash) {
                // collection/any(v: body)
                self.pos += 1;
                match self.next() {
                    Some(Tok::Ident(w)) if w == "any" => {}
                    other => return Err(QueryError(format!("expected any(...), found {other:?}"))),
                }
                return self.any(keys.clone());
            }
        }
        let op = match self.peek() {
            Some(Tok::Ident(w)) => match w.as_str() {
                "eq" => Some(CmpOp::Eq),
                "ne" => Some(CmpOp::Ne),
                "gt" => Some(CmpOp::Gt),
                "ge" => Some(CmpOp::Ge),
                "lt" => Some(CmpOp::Lt),
                "le" => Some(CmpOp::Le),
                _ => None,
            },
            _ => None,
        };
        let Some(op) = op else {
            if operand_ty(&left) == Ty::Bool {
                return Ok(Expr::Bool(left));
            }
            return Err(QueryError(format!(
                "expected a comparison operator, found {:?}",
                self.peek()
            )));
        };
        self.pos += 1;
        let right = self.operand()?;
        let (lt, rt) = (operand_ty(&left), operand_ty(&right));
        let compatible = lt == rt
            || lt == Ty::Null
            || rt == Ty::Null
            || matches!((lt, rt), (Ty::Int, Ty::Num) | (Ty::Num, Ty::Int));
        if !compatible {
            return Err(QueryError(format!(
                "a binary operator with incompatible types was detected: {lt:?} and {rt:?} for operator '{op:?}'"
            )));
        }
        if (lt == Ty::Null || rt == Ty::Null) && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
            return Err(QueryError("null can only be compared with eq or ne".into()));
        }
        Ok(Expr::Cmp(left, op, right))
    }

    fn any(&mut self, keys: Vec<String>) -> Result<Expr, QueryError> {
        let coll = self.schema_at(self.schema, &keys)?;
        let coll = self.spec.resolve(coll);
        if coll.get("type").and_then(Value::as_str) != Some("array") {
            return Err(QueryError("any() needs a collection property".into()));
        }
        let item = coll
            .get("items")
            .ok_or_else(|| QueryError("collection without items".into()))?;
        self.expect(Tok::LParen)?;
        let var = match self.next() {
            Some(Tok::Ident(v)) => v,
            other => return Err(QueryError(format!("expected a lambda variable, found {other:?}"))),
        };
        self.expect(Tok::Colon)?;
        let saved = self.lambda.replace((var, item));
        let body = self.expr();
        self.lambda = saved;
        let body = body?;
        self.expect(Tok::RParen)?;
        Ok(Expr::Any {
            keys,
            body: Box::new(body),
        })
    }

    fn schema_at(&self, start: &'a Value, keys: &[String]) -> Result<&'a Value, QueryError> {
        let mut s = start;
        for k in keys {
            let props = self
                .spec
                .properties(s)
                .ok_or_else(|| QueryError(format!("'{k}' is not a property of a complex type")))?;
            s = props
                .get(k)
                .ok_or_else(|| QueryError(format!("Could not find a property named '{}'", upper_first(k))))?;
        }
        Ok(s)
    }

    fn operand(&mut self) -> Result<Operand, QueryError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Operand::Lit(Lit::Str(s))),
            Some(Tok::Num(n)) => {
                if let Ok(i) = n.parse::<i64>() {
                    Ok(Operand::Lit(Lit::Int(i)))
                } else {
                    Decimal::from_str(&n)
                        .map(|d| Operand::Lit(Lit::Num(d)))
                        .map_err(|_| QueryError(format!("'{n}' is not a number")))
                }
            }
            Some(Tok::Typed(kind, text)) => match kind.as_str() {
                "datetime" => NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
                    .or_else(|_| NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M"))
                    .map(|d| Operand::Lit(Lit::DateTime(d)))
                    .map_err(|_| {
                        QueryError(format!("unrecognized 'Edm.DateTime' literal 'datetime'{text}''"))
                    }),
                "guid" => Uuid::parse_str(&text)
                    .map(|g| Operand::Lit(Lit::Guid(g)))
                    .map_err(|_| QueryError(format!("unrecognized 'Edm.Guid' literal 'guid'{text}''"))),
                other => Err(QueryError(format!("unsupported literal type '{other}'"))),
            },
            Some(Tok::Ident(w)) => match w.as_str() {
                "true" => Ok(Operand::Lit(Lit::Bool(true))),
                "false" => Ok(Operand::Lit(Lit::Bool(false))),
                "null" => Ok(Operand::Lit(Lit::Null)),
                "startswith" | "endswith" | "substringof" if self.peek() == Some(&Tok::LParen) => {
                    let f = match w.as_str() {
                        "startswith" => Func::StartsWith,
                        "endswith" => Func::EndsWith,
                        _ => Func::SubstringOf,
                    };
                    self.pos += 1;
                    let a = self.operand()?;
                    self.expect(Tok::Comma)?;
                    let b = self.operand()?;
                    self.expect(Tok::RParen)?;
                    if operand_ty(&a) != Ty::Str || operand_ty(&b) != Ty::Str {
                        return Err(QueryError(format!("{w}() takes two strings")));
                    }
                    Ok(Operand::Call(f, Box::new(a), Box::new(b)))
                }
                _ => self.path(w),
            },
            other => Err(QueryError(format!("expected an operand, found {other:?}"))),
        }
    }

    fn path(&mut self, first: String) -> Result<Operand, QueryError> {
        let mut names = vec![first];
        // Collect `/Name` segments, but stop before `/any`.
        while self.peek() == Some(&Tok::Slash) {
            match self.toks.get(self.pos + 1) {
                Some(Tok::Ident(w)) if w != "any" && w != "all" => {
                    names.push(w.clone());
                    self.pos += 2;
                }
                _ => break,
            }
        }
        let (var, start, names) = match &self.lambda {
            Some((v, item)) if *v == names[0] => (true, *item, &names[1..]),
            _ => (false, self.schema, &names[..]),
        };
        let mut keys = Vec::new();
        for n in names {
            if n == "Uri" {
                return Err(QueryError(
                    "The property 'Uri' cannot be used in the $filter query option".into(),
                ));
            }
            let k =
                json_key(n).ok_or_else(|| QueryError(format!("Could not find a property named '{n}'")))?;
            keys.push(k);
        }
        let s = self.schema_at(start, &keys)?;
        let resolved = self.spec.resolve(s);
        let ty = if resolved.get("type").and_then(Value::as_str) == Some("array") {
            // Only valid as the subject of any(); primary() checks that.
            Ty::Null
        } else {
            ty_of(self.spec, s).ok_or_else(|| {
                QueryError(format!(
                    "'{}' is a complex property and cannot be compared",
                    names.last().map(String::as_str).unwrap_or("")
                ))
            })?
        };
        if ty == Ty::Null && self.peek() != Some(&Tok::Slash) {
            return Err(QueryError(
                "a collection property can only be used with any()".into(),
            ));
        }
        Ok(Operand::Path { var, keys, ty })
    }
}

fn upper_first(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn operand_ty(o: &Operand) -> Ty {
    match o {
        Operand::Path { ty, .. } => *ty,
        Operand::Lit(l) => match l {
            Lit::Str(_) => Ty::Str,
            Lit::Int(_) => Ty::Int,
            Lit::Num(_) => Ty::Num,
            Lit::DateTime(_) => Ty::DateTime,
            Lit::Guid(_) => Ty::Guid,
            Lit::Bool(_) => Ty::Bool,
            Lit::Null => Ty::Null,
        },
        Operand::Call(..) => Ty::Bool,
    }
}

impl Filter {
    /// Parses and type-checks a `$filter` against the entity schema (e.g. `RelatieModel`).
    pub fn parse(spec: &Spec, schema: &Value, text: &str) -> Result<Filter, QueryError> {
        let toks = tokenize(text)?;
        if toks.is_empty() {
            return Err(QueryError("empty $filter".into()));
        }
        let mut p = Parser {
            toks,
            pos: 0,
            spec,
            schema,
            lambda: None,
        };
        let e = p.expr()?;
        if p.pos != p.toks.len() {
            return Err(QueryError(format!(
                "syntax error at token {:?}",
                p.toks.get(p.pos)
            )));
        }
        Ok(Filter(e))
    }

    /// Whether a record matches.
    pub fn matches(&self, record: &Value) -> bool {
        eval(&self.0, record, None)
    }
}

fn eval(e: &Expr, rec: &Value, var: Option<&Value>) -> bool {
    match e {
        Expr::And(a, b) => eval(a, rec, var) && eval(b, rec, var),
        Expr::Or(a, b) => eval(a, rec, var) || eval(b, rec, var),
        Expr::Not(a) => !eval(a, rec, var),
        Expr::Bool(o) => matches!(value(o, rec, var), Lit::Bool(true)),
        Expr::Any { keys, body } => lookup(rec, keys)
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().any(|it| eval(body, rec, Some(it)))),
        Expr::Cmp(a, op, b) => {
            let (x, y) = (value(a, rec, var), value(b, rec, var));
            match (&x, &y) {
                (Lit::Null, Lit::Null) => matches!(op, CmpOp::Eq),
                (Lit::Null, _) | (_, Lit::Null) => matches!(op, CmpOp::Ne),
                _ => match compare(&x, &y) {
                    None => false,
                    Some(ord) => match op {
                        CmpOp::Eq => ord == Ordering::Equal,
                        CmpOp::Ne => ord != Ordering::Equal,
                        CmpOp::Gt => ord == Ordering::Greater,
                        CmpOp::Ge => ord != Ordering::Less,
                        CmpOp::Lt => ord == Ordering::Less,
                        CmpOp::Le => ord != Ordering::Greater,
                    },
                },
            }
        }
    }
}

fn lookup<'v>(v: &'v Value, keys: &[String]) -> Option<&'v Value> {
    keys.iter().try_fold(v, |cur, k| cur.get(k))
}

fn value(o: &Operand, rec: &Value, var: Option<&Value>) -> Lit {
    match o {
        Operand::Lit(l) => l.clone(),
        Operand::Call(f, a, b) => {
            let (Lit::Str(x), Lit::Str(y)) = (value(a, rec, var), value(b, rec, var)) else {
                return Lit::Null;
            };
            let (x, y) = (x.to_lowercase(), y.to_lowercase());
            Lit::Bool(match f {
                Func::StartsWith => x.starts_with(&y),
                Func::EndsWith => x.ends_with(&y),
                Func::SubstringOf => y.contains(&x),
            })
        }
        Operand::Path {
            var: is_var,
            keys,
            ty,
        } => {
            let base = if *is_var { var.unwrap_or(&Value::Null) } else { rec };
            let Some(v) = lookup(base, keys) else {
                return Lit::Null;
            };
            from_json(v, *ty)
        }
    }
}

fn from_json(v: &Value, ty: Ty) -> Lit {
    match (ty, v) {
        (_, Value::Null) => Lit::Null,
        (Ty::Str, Value::String(s)) => Lit::Str(s.clone()),
        (Ty::Guid, Value::String(s)) => Uuid::parse_str(s).map(Lit::Guid).unwrap_or(Lit::Null),
        (Ty::DateTime, Value::String(s)) => parse_datetime(s).map(Lit::DateTime).unwrap_or(Lit::Null),
        (Ty::Int, Value::Number(n)) => n.as_i64().map(Lit::Int).unwrap_or(Lit::Null),
        (Ty::Num, Value::Number(n)) => Decimal::from_str(&n.to_string())
            .map(Lit::Num)
            .unwrap_or(Lit::Null),
        (Ty::Bool, Value::Bool(b)) => Lit::Bool(*b),
        _ => Lit::Null,
    }
}

fn compare(x: &Lit, y: &Lit) -> Option<Ordering> {
    let num = |l: &Lit| match l {
        Lit::Int(i) => Some(Decimal::from(*i)),
        Lit::Num(d) => Some(*d),
        _ => None,
    };
    match (x, y) {
        // SQL Server's default collation is case-insensitive (inferred for SnelStart).
        (Lit::Str(a), Lit::Str(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        (Lit::Guid(a), Lit::Guid(b)) => Some(a.cmp(b)),
        (Lit::DateTime(a), Lit::DateTime(b)) => Some(a.cmp(b)),
        (Lit::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
        _ => Some(num(x)?.cmp(&num(y)?)),
    }
}

impl Filter {
    /// The range of `ModifiedOn` the filter allows, from its top-level `and` terms of the form
    /// `ModifiedOn gt|ge|lt|le|eq datetime'…'` (anything under `or`/`not` is ignored, so the
    /// range may be wider than the filter, never narrower).
    pub fn modified_range(&self) -> (std::ops::Bound<NaiveDateTime>, std::ops::Bound<NaiveDateTime>) {
        use std::ops::Bound;
        fn tighter_lo(a: Bound<NaiveDateTime>, b: Bound<NaiveDateTime>) -> Bound<NaiveDateTime> {
            match (a, b) {
                (Bound::Unbounded, x) | (x, Bound::Unbounded) => x,
                (Bound::Included(x), Bound::Included(y)) => Bound::Included(x.max(y)),
                (Bound::Excluded(x), Bound::Excluded(y)) => Bound::Excluded(x.max(y)),
                (Bound::Included(x), Bound::Excluded(y)) | (Bound::Excluded(y), Bound::Included(x)) => {
                    if x > y {
                        Bound::Included(x)
                    } else {
                        Bound::Excluded(y)
                    }
                }
            }
        }
        fn tighter_hi(a: Bound<NaiveDateTime>, b: Bound<NaiveDateTime>) -> Bound<NaiveDateTime> {
            match (a, b) {
                (Bound::Unbounded, x) | (x, Bound::Unbounded) => x,
                (Bound::Included(x), Bound::Included(y)) => Bound::Included(x.min(y)),
                (Bound::Excluded(x), Bound::Excluded(y)) => Bound::Excluded(x.min(y)),
                (Bound::Included(x), Bound::Excluded(y)) | (Bound::Excluded(y), Bound::Included(x)) => {
                    if x < y {
                        Bound::Included(x)
                    } else {
                        Bound::Excluded(y)
                    }
                }
            }
        }
        fn walk(e: &Expr, lo: &mut Bound<NaiveDateTime>, hi: &mut Bound<NaiveDateTime>) {
            match e {
                Expr::And(a, b) => {
                    walk(a, lo, hi);
                    walk(b, lo, hi);
                }
                Expr::Cmp(a, op, b) => {
                    let is_mod = |o: &Operand| matches!(o, Operand::Path { var: false, keys, ty: Ty::DateTime } if keys.len() == 1 && keys[0] == "modifiedOn");
                    let (op, t) = match (a, b) {
                        (p, Operand::Lit(Lit::DateTime(t))) if is_mod(p) => (*op, *t),
                        (Operand::Lit(Lit::DateTime(t)), p) if is_mod(p) => (
                            match op {
                                CmpOp::Gt => CmpOp::Lt,
                                CmpOp::Ge => CmpOp::Le,
                                CmpOp::Lt => CmpOp::Gt,
                                CmpOp::Le => CmpOp::Ge,
                                o => *o,
                            },
                            *t,
                        ),
                        _ => return,
                    };
                    match op {
                        CmpOp::Gt => *lo = tighter_lo(*lo, Bound::Excluded(t)),
                        CmpOp::Ge => *lo = tighter_lo(*lo, Bound::Included(t)),
                        CmpOp::Lt => *hi = tighter_hi(*hi, Bound::Excluded(t)),
                        CmpOp::Le => *hi = tighter_hi(*hi, Bound::Included(t)),
                        CmpOp::Eq => {
                            *lo = tighter_lo(*lo, Bound::Included(t));
                            *hi = tighter_hi(*hi, Bound::Included(t));
                        }
                        CmpOp::Ne => {}
                    }
                }
                _ => {}
            }
        }
        let (mut lo, mut hi) = (Bound::Unbounded, Bound::Unbounded);
        walk(&self.0, &mut lo, &mut hi);
        (lo, hi)
    }
}

/// Parses `$select` into the JSON keys to keep. Names may be UpperCamelCase or camelCase;
/// each must be a property of the entity schema.
pub fn parse_select(spec: &Spec, schema: &Value, text: &str) -> Result<Vec<String>, QueryError> {
    let props = spec
        .properties(schema)
        .ok_or_else(|| QueryError("$select is not supported here".into()))?;
    let mut keys = Vec::new();
    for name in text.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(QueryError("empty name in $select".into()));
        }
        let mut c = name.chars();
        let key: String = match c.next() {
            Some(f) => f.to_lowercase().chain(c).collect(),
            None => String::new(),
        };
        if !props.contains_key(&key) {
            return Err(QueryError(format!("Could not find a property named '{name}'")));
        }
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// Keeps only `keys` of a record.
pub fn select(record: &Value, keys: &[String]) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(obj) = record.as_object() {
        for (k, v) in obj {
            if keys.contains(k) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn relatie_schema() -> &'static Value {
        let s = super::super::spec::spec().unwrap();
        s.schema("SnelStart.B2B.Api.V2.Models.Relaties.RelatieModel")
            .unwrap()
    }

    fn f(text: &str) -> Result<Filter, QueryError> {
        Filter::parse(super::super::spec::spec().unwrap(), relatie_schema(), text)
    }

    #[test]
    fn parses_and_evaluates_integration_filters() {
        let r = json!({"email": "O'Brien@example.nl", "relatiecode": 1042, "naam": "Jan",
            "relatiesoort": ["Klant"], "modifiedOn": "2024-03-01T10:00:00.5",
            "id": "75b4d8f7-3c8e-4d0c-9d6b-5b2b7a6f1d11",
            "vestigingsAdres": {"land": {"id": "75b4d8f7-3c8e-4d0c-9d6b-5b2b7a6f1d11"}}});
        let yes = [
            "Email eq 'o''brien@example.nl'",
            "Relatiecode eq 1042",
            "Relatiecode ge 1000 and Relatiecode lt 2000",
            "Relatiesoort/any(r:r eq 'Klant')",
            "ModifiedOn gt datetime'2024-03-01T10:00:00.499'",
            "Id eq guid'75b4d8f7-3c8e-4d0c-9d6b-5b2b7a6f1d11'",
            "VestigingsAdres/Land/Id eq guid'75b4d8f7-3c8e-4d0c-9d6b-5b2b7a6f1d11'",
            "startswith(Naam,'ja') eq true",
            "not (Naam eq 'Piet') and (Naam eq 'x' or KvkNummer eq null)",
        ];
        for t in yes {
            assert!(f(t).unwrap().matches(&r), "{t}");
        }
        let no = [
            "Relatiesoort/any(r:r eq 'Leverancier')",
            "ModifiedOn gt datetime'2024-03-01T10:00:00.5'",
            "Naam eq 'Jan' and Relatiecode eq 1",
        ];
        for t in no {
            assert!(!f(t).unwrap().matches(&r), "{t}");
        }
    }

    #[test]
    fn filters_give_modified_on_ranges() {
        use std::ops::Bound;
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap();
        let r = f("ModifiedOn gt datetime'2024-01-01T00:00:00' and ModifiedOn le datetime'2024-02-01T00:00:00' and ModifiedOn ge datetime'2024-01-05T00:00:00' and (ModifiedOn gt datetime'2024-01-06T00:00:00' or Naam gt 'x')").unwrap().modified_range();
        assert_eq!(
            r,
            (
                Bound::Included(t("2024-01-05T00:00:00")),
                Bound::Included(t("2024-02-01T00:00:00"))
            )
        );
        let r = f("Naam eq 'x' or ModifiedOn gt datetime'2024-01-01T00:00:00'")
            .unwrap()
            .modified_range();
        assert_eq!(r, (Bound::Unbounded, Bound::Unbounded));
    }

    #[test]
    fn rejects_what_odata_rejects() {
        for t in [
            "email eq 'x'",
            "Emial eq 'x'",
            "Relatiecode eq '1042'",
            "Email eq 'x",
            "Email eq",
            "Email like 'x'",
            "ModifiedOn gt '2024-01-01'",
            "Uri eq 'x'",
            "VestigingsAdres eq 'x'",
            "Relatiesoort eq 'Klant'",
            "Email eq 'x' and",
        ] {
            assert!(f(t).is_err(), "{t}");
        }
    }
}
