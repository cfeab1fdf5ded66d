//! Authentication: the webservice key as the HTTP Basic user name with an empty password
//! (`Authorization: Basic base64("<KEY>:")`), never in the URL. PrestaShop's dispatcher reads the
//! Basic user before `ws_key` [PrestaShop docs: webservice/tutorials/testing-access;
//! classes/webservice/WebserviceRequest.php `authenticate`].

use async_trait::async_trait;
use base64::Engine;
use koppel_core::http::AuthProvider;
use koppel_core::{Error, Result, Secret};
use reqwest::header::{HeaderValue, AUTHORIZATION};

/// The `Authorization` value for a key.
pub fn basic_value(key: &Secret) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:", key.expose()));
    format!("Basic {token}")
}

/// Adds the key to every request.
pub struct KeyAuth {
    key: Secret,
}

impl KeyAuth {
    /// Auth with this webservice key.
    pub fn new(key: Secret) -> Self {
        KeyAuth { key }
    }
}

impl std::fmt::Debug for KeyAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyAuth(***)")
    }
}

#[async_trait]
impl AuthProvider for KeyAuth {
    async fn authorize(&self, request: &mut reqwest::Request) -> Result<u64> {
        let mut v = HeaderValue::from_str(&basic_value(&self.key))
            .map_err(|_| Error::config("key", "contains characters that cannot be sent in a header"))?;
        v.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, v);
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn key_is_the_basic_user_with_empty_password() {
        let key = Secret::new("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345");
        // base64("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345:")
        assert_eq!(
            basic_value(&key),
            "Basic QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU6"
        );
        let mut r = reqwest::Client::new()
            .get("http://127.0.0.1:9/api/products")
            .build()
            .unwrap();
        KeyAuth::new(key).authorize(&mut r).await.unwrap();
        assert!(r.headers()[AUTHORIZATION].is_sensitive());
        assert!(!r.url().as_str().contains("ws_key"));
    }
}
