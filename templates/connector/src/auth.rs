//! Bearer-token auth: `Authorization: Bearer <token>` on every request.

use async_trait::async_trait;
use koppel_core::http::AuthProvider;
use koppel_core::{Result, Secret};

/// Adds the configured token.
pub struct BearerToken(pub Secret);

#[async_trait]
impl AuthProvider for BearerToken {
    async fn authorize(&self, request: &mut reqwest::Request) -> Result<u64> {
        let value = format!("Bearer {}", self.0.expose());
        let header = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
            koppel_core::Error::config("token", "contains characters not allowed in a header")
        })?;
        request
            .headers_mut()
            .insert(reqwest::header::AUTHORIZATION, header);
        Ok(0)
    }
}
