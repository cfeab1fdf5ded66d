//! The `$filter` recursive-descent parser, type-checked against the entity schema.

use std::str::FromStr;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use super::lex::{tokenize, Tok};
use super::{CmpOp, Expr, Filter, Func, Lit, Operand, QueryError, Ty};
use crate::snelstart::spec::Spec;

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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::f;

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
