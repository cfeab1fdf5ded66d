//! Request bodies and success bodies that may be empty.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// Encodes a request body as JSON bytes; an unencodable body is an internal error (a bug in
/// the connector's wire types, never the remote's fault).
pub fn encode_json<T: Serialize + ?Sized>(body: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|e| Error::internal(format!("cannot encode body: {e}")))
}

/// Whether a success body is empty (no bytes or only whitespace), as a `200`/`204` without
/// content is.
pub fn is_empty(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// A success body that may be empty: `Ok(None)` when [`is_empty`], else the body parsed as `T`;
/// a body that is there but unreadable is a [`Error::Protocol`] naming `what` (the endpoint)
/// and the field path.
pub fn optional_json<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<Option<T>> {
    if is_empty(body) {
        return Ok(None);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map(Some).map_err(|e| {
        Error::protocol(format!(
            "{what}: unreadable answer at {}: {}",
            e.path(),
            e.inner()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn empty_and_present_bodies() {
        assert!(is_empty(b""));
        assert!(is_empty(b" \r\n"));
        assert!(!is_empty(b"{}"));
        assert_eq!(optional_json::<Value>(b"", "/x").unwrap(), None);
        assert_eq!(optional_json::<Value>(b"\n", "/x").unwrap(), None);
        assert_eq!(
            optional_json::<Value>(br#"{"id":1}"#, "/x").unwrap(),
            Some(serde_json::json!({"id": 1}))
        );
        let e = optional_json::<Vec<u32>>(br#"[1,"a"]"#, "/orders").unwrap_err();
        assert!(matches!(e, Error::Protocol { .. }));
        let text = e.to_string();
        assert!(text.contains("/orders") && text.contains("[1]"), "{text}");
    }

    #[test]
    fn encodes_bodies() {
        assert_eq!(
            encode_json(&serde_json::json!({"a": [1]})).unwrap(),
            br#"{"a":[1]}"#
        );
    }
}
