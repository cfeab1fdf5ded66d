//! Evaluating a parsed `$filter` on JSON records.

use std::cmp::Ordering;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use super::{CmpOp, Expr, Filter, Func, Lit, Operand, Ty};
use crate::snelstart::spec::parse_datetime;

impl Filter {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::f;

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
}
