//! Authentication: the `clientkey` token grant (`POST /b2b/token`, form-encoded) with a
//! single-flight [`TokenCache`], the bearer token and the subscription-key header on every API
//! request, and the classifier of the token endpoint's answers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use koppel_core::http::{default_classify, AuthProvider, HttpClient, RawResponse, Safety, TokenCache};
use koppel_core::{Error, Result, Secret};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use sha2::{Digest, Sha256};

use crate::client::body_message;
use crate::config::Config;
use crate::models::TokenResponse;

/// Renew the token this long before it expires.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// Header carrying the subscription key.
pub const SUBSCRIPTION_HEADER: &str = "Ocp-Apim-Subscription-Key";

/// The rate-limiter account of an administration: a hash of its koppelsleutel (never the key).
pub fn account_key(client_key: &Secret) -> String {
    let digest = Sha256::digest(client_key.expose().as_bytes());
    format!("snelstart:{}", &hex::encode(digest)[..16])
}

/// Fetches bearer tokens with the `clientkey` grant and adds them (and the subscription key)
/// to every API request.
pub struct TokenAuth {
    token_client: HttpClient,
    auth_url: String,
    client_key: Secret,
    subscription_key: Secret,
    cache: TokenCache,
    /// The API client, to register fetched tokens with its redactor. Set after the API client
    /// is built and cleared when the [`SnelStartClient`] is dropped (no reference cycle left).
    api: Mutex<Option<HttpClient>>,
}

impl TokenAuth {
    /// Builds the token endpoint's client and the provider (no I/O).
    pub(crate) fn new(config: &Config) -> Result<Self> {
        let token_client = HttpClient::builder("snelstart-auth")
            .policy(config.http.clone())
            .classifier(Arc::new(classify_token))
            .secret(&config.client_key)
            .secret(&config.subscription_key)
            .build()?;
        Ok(TokenAuth {
            token_client,
            auth_url: config.auth_url.clone(),
            client_key: config.client_key.clone(),
            subscription_key: config.subscription_key.clone(),
            cache: TokenCache::default(),
            api: Mutex::new(None),
        })
    }

    /// The token endpoint's client (for its request counts).
    pub(crate) fn token_client(&self) -> &HttpClient {
        &self.token_client
    }

    /// Registers the API client, so fetched tokens are redacted from its errors too.
    pub(crate) fn attach(&self, api: &HttpClient) {
        *self.api.lock().unwrap_or_else(|p| p.into_inner()) = Some(api.clone());
    }

    /// Forgets the API client (breaks the API client <-> token provider cycle).
    pub(crate) fn detach(&self) {
        self.api.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Makes sure a token can be had: the cached one, or a fresh fetch.
    pub(crate) async fn probe(&self) -> Result<()> {
        self.cache.get(TOKEN_MARGIN, || self.fetch()).await.map(|_| ())
    }

    /// Fetches a token from the token endpoint.
    async fn fetch(&self) -> Result<(Secret, Duration)> {
        let body = serde_urlencoded_form(&[
            ("grant_type", "clientkey"),
            ("clientkey", self.client_key.expose()),
        ]);
        let request = self
            .token_client
            .reqwest()
            .post(&self.auth_url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .build()
            .map_err(|e| Error::config("auth_url", format!("cannot build the token request: {e}")))?;
        let resp = self
            .token_client
            .send(request, "/b2b/token", Safety::Idempotent)
            .await?;
        let token: TokenResponse = resp.json()?;
        let access = token
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::protocol("the token endpoint answered without access_token"))?;
        let lifetime = token
            .expires_in
            .as_ref()
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .unwrap_or(3599);
        self.token_client.add_secret(&access);
        if let Some(api) = self.api.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            api.add_secret(&access);
        }
        Ok((Secret::new(access), Duration::from_secs(lifetime)))
    }

    /// How many tokens were fetched.
    pub fn fetches(&self) -> u64 {
        self.cache.fetches()
    }
}

/// `a=b&c=d`, form-encoded.
fn serde_urlencoded_form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[async_trait]
impl AuthProvider for TokenAuth {
    async fn authorize(&self, request: &mut reqwest::Request) -> Result<u64> {
        let (token, generation) = self.cache.get(TOKEN_MARGIN, || self.fetch()).await?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| Error::protocol("the access token is not a valid header value"))?;
        let key = HeaderValue::from_str(self.subscription_key.expose())
            .map_err(|_| Error::config("subscription_key", "is not a valid header value"))?;
        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, bearer);
        headers.insert(SUBSCRIPTION_HEADER, key);
        Ok(generation)
    }

    async fn refresh(&self, generation: u64) -> Result<bool> {
        Ok(self.cache.invalidate(generation).await)
    }
}

/// Classifies an answer of the token endpoint: 400/401 mean the koppelsleutel was refused.
pub fn classify_token(resp: &RawResponse) -> Error {
    match resp.status.as_u16() {
        400 | 401 | 403 => Error::Auth {
            message: format!(
                "the token endpoint refused the koppelsleutel (client_key), HTTP {}: {}; create a new koppelsleutel in SnelStart Web and check it belongs to this administration",
                resp.status.as_u16(),
                body_message(resp)
            ),
        },
        _ => default_classify(resp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_key_hides_the_client_key() {
        let k = account_key(&Secret::new("my-secret-koppelsleutel"));
        assert!(k.starts_with("snelstart:") && !k.contains("my-secret"));
        assert_eq!(k, account_key(&Secret::new("my-secret-koppelsleutel")));
        assert_ne!(k, account_key(&Secret::new("other")));
    }
}
