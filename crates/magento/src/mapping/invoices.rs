//! Open amounts and payments: the order comment text.

/// Fills `{name}` placeholders of a comment template; unknown names stay as written.
pub fn fill_template(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_placeholders() {
        assert_eq!(
            fill_template(
                "inv {invoice}: {amount} {x}",
                &[("invoice", "F1".into()), ("amount", "EUR 3".into())]
            ),
            "inv F1: EUR 3 {x}"
        );
    }
}
