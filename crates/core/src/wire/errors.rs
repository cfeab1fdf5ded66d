//! The record-labelled error helper.

use crate::error::Error;

/// Names the record `label` in an error the remote did not name: a [`Error::Rejected`] gets
/// the label when its record is empty ([`crate::Rejection::for_record`]), an
/// [`Error::NotFound`] is prefixed with it (`"order 1001: product X"`); every other error
/// (transport, auth, throttling, protocol) stays as it is, since it concerns the whole batch.
pub fn on_record(e: Error, label: &str) -> Error {
    match e {
        Error::Rejected(r) => Error::Rejected(r.for_record(label)),
        Error::NotFound { what } => Error::NotFound {
            what: format!("{label}: {what}"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rejection;

    #[test]
    fn labels_rejections_and_not_found_only() {
        let e = on_record(
            Error::Rejected(Rejection::new("", Some("sku"), "bad")),
            "product A",
        );
        match e {
            Error::Rejected(r) => {
                assert_eq!(r.record, "product A");
                assert_eq!(r.field.as_deref(), Some("sku"));
            }
            other => panic!("{other:?}"),
        }
        // a rejection that names its record keeps it
        match on_record(Error::Rejected(Rejection::new("order 7", None, "x")), "other") {
            Error::Rejected(r) => assert_eq!(r.record, "order 7"),
            other => panic!("{other:?}"),
        }
        match on_record(
            Error::NotFound {
                what: "customer 3".into(),
            },
            "order 1",
        ) {
            Error::NotFound { what } => assert_eq!(what, "order 1: customer 3"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            on_record(Error::protocol("odd"), "order 1"),
            Error::Protocol { .. }
        ));
    }
}
