//! Secrets: a string that never shows in `Debug`, `Display`, logs or errors.

use std::fmt;

use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret config value (API key, koppelsleutel, token). `Debug` prints `Secret(***)`;
/// serialising writes `***`, so a config dump never leaks it.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// The secret itself: only for putting it on the wire.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "writeOnly": true,
            "description": "A secret. Write `${ENV_VAR}` to take it from the environment, or set `<key>_file` to a file holding it; never commit it inline."
        })
    }
}

/// Replaces known secret values in text with `***`. Every error message and log line that
/// could carry remote or request text goes through one.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

/// Query parameter names whose values are always redacted.
pub const SENSITIVE_PARAMS: &[&str] = &[
    "subscription-key",
    "clientkey",
    "client_secret",
    "access_token",
    "token",
    "password",
    "ws_key",
    "key",
    "api_key",
    "oauth_signature",
    "oauth_token",
    "oauth_consumer_key",
];

impl Redactor {
    /// A redactor for these secrets (values shorter than 4 characters are ignored: they
    /// would blank out ordinary text).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        let mut r = Redactor::default();
        for s in secrets {
            r.add(s.expose());
        }
        r
    }

    /// Adds a secret value (e.g. a fetched access token).
    pub fn add(&mut self, value: &str) {
        if value.len() >= 4 && !self.secrets.iter().any(|s| s == value) {
            self.secrets.push(value.to_owned());
            // longest first, so a secret containing another is replaced whole
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Text with every known secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }

    /// A URL with sensitive query values and known secrets replaced by `***`.
    pub fn redact_url(&self, url: &url::Url) -> String {
        let mut u = url.clone();
        if u.query().is_some() {
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let v = if SENSITIVE_PARAMS.iter().any(|p| k.eq_ignore_ascii_case(p)) {
                        "***".to_owned()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            u.query_pairs_mut().clear().extend_pairs(pairs);
        }
        let _ = u.set_password(None);
        self.redact(u.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_shows() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn redactor_replaces_values_and_params() {
        let r = Redactor::new([&Secret::new("abcd1234")]);
        assert_eq!(r.redact("key abcd1234 in text"), "key *** in text");
        let url = url::Url::parse("https://x.test/a?subscription-key=zzz&$top=25&q=abcd1234").unwrap();
        let red = r.redact_url(&url);
        assert!(!red.contains("zzz") && !red.contains("abcd1234"), "{red}");
        assert!(red.contains("%24top=25"), "{red}");
    }
}
