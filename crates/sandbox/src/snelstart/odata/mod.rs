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

mod eval;
mod lex;
mod parse;
mod range;
mod select;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use uuid::Uuid;

pub use select::{parse_select, select};

/// A parse or type error in a query option; becomes a 400 `ALG-0104`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

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

#[cfg(test)]
mod test_support {
    use serde_json::Value;

    use super::{Filter, QueryError};
    use crate::snelstart::spec::spec;

    pub(super) fn relatie_schema() -> &'static Value {
        let s = spec().unwrap();
        s.schema("SnelStart.B2B.Api.V2.Models.Relaties.RelatieModel")
            .unwrap()
    }

    pub(super) fn f(text: &str) -> Result<Filter, QueryError> {
        Filter::parse(spec().unwrap(), relatie_schema(), text)
    }
}
