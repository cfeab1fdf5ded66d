//! The `$filter` tokenizer.

use super::QueryError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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

pub(super) fn tokenize(s: &str) -> Result<Vec<Tok>, QueryError> {
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
