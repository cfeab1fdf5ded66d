//! The `ModifiedOn` range a parsed `$filter` allows.

use chrono::NaiveDateTime;

use super::{CmpOp, Expr, Filter, Lit, Operand, Ty};

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

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;

    use super::super::test_support::f;

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
}
