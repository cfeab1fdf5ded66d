//! Request signing for the koppel bridge (bridge/PROTOCOL.md): every request carries
//! `X-Koppel-Timestamp`, `X-Koppel-Nonce` and `X-Koppel-Signature` =
//! hex(HMAC-SHA256(secret, METHOD \n PATH?QUERY \n TIMESTAMP \n NONCE \n hex(SHA-256(body)))).
//! A fresh timestamp and nonce are made for every attempt, so a retry is never a replay.

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use koppel_core::http::AuthProvider;
use koppel_core::{Error, Result, Secret};
use rand::Rng;
use reqwest::header::HeaderValue;
use sha2::{Digest, Sha256};

/// Header with the Unix time in seconds.
pub const TIMESTAMP_HEADER: &str = "X-Koppel-Timestamp";
/// Header with the one-time nonce.
pub const NONCE_HEADER: &str = "X-Koppel-Nonce";
/// Header with the hex signature.
pub const SIGNATURE_HEADER: &str = "X-Koppel-Signature";

/// The text that is signed.
pub fn canonical(method: &str, path_and_query: &str, timestamp: i64, nonce: &str, body: &[u8]) -> String {
    format!(
        "{method}\n{path_and_query}\n{timestamp}\n{nonce}\n{}",
        hex::encode(Sha256::digest(body))
    )
}

/// hex(HMAC-SHA256(secret, canonical)).
pub fn sign(
    secret: &Secret,
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> String {
    // HMAC accepts keys of any length; new_from_slice cannot fail for Hmac<Sha256>.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(canonical(method, path_and_query, timestamp, nonce, body).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A new random nonce (32 hex characters).
pub fn nonce() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// The path and query of a URL as the bridge sees it in `REQUEST_URI`.
pub fn path_and_query(url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Signs each request with the shared secret.
pub struct BridgeAuth {
    secret: Secret,
}

impl BridgeAuth {
    /// A signer with this secret.
    pub fn new(secret: Secret) -> Self {
        BridgeAuth { secret }
    }
}

impl std::fmt::Debug for BridgeAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BridgeAuth(***)")
    }
}

#[async_trait]
impl AuthProvider for BridgeAuth {
    async fn authorize(&self, request: &mut reqwest::Request) -> Result<u64> {
        let body: Vec<u8> = match request.body() {
            Some(b) => b
                .as_bytes()
                .ok_or_else(|| Error::internal("bridge request body is a stream"))?
                .to_vec(),
            None => Vec::new(),
        };
        let ts = chrono::Utc::now().timestamp();
        let n = nonce();
        let sig = sign(
            &self.secret,
            request.method().as_str(),
            &path_and_query(request.url()),
            ts,
            &n,
            &body,
        );
        let h = request.headers_mut();
        let value =
            |s: String| HeaderValue::from_str(&s).map_err(|e| Error::internal(format!("header: {e}")));
        h.insert(TIMESTAMP_HEADER, value(ts.to_string())?);
        h.insert(NONCE_HEADER, value(n)?);
        h.insert(SIGNATURE_HEADER, value(sig)?);
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_an_independent_computation() {
        // computed with: printf 'POST\n/koppel-bridge.php?op=ping\n1700000000\nabcdefabcdefabcd\n<sha256 of {}>'
        //   | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
        let s = Secret::new("0123456789abcdef0123456789abcdef");
        let c = canonical(
            "POST",
            "/koppel-bridge.php?op=ping",
            1_700_000_000,
            "abcdefabcdefabcd",
            b"{}",
        );
        assert_eq!(
            c,
            "POST\n/koppel-bridge.php?op=ping\n1700000000\nabcdefabcdefabcd\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let sig = sign(
            &s,
            "POST",
            "/koppel-bridge.php?op=ping",
            1_700_000_000,
            "abcdefabcdefabcd",
            b"{}",
        );
        assert_eq!(
            sig,
            "cd803d4fe15046ecf4b4982dce03ee94af4a12c03c9afa2c0decbf27b870fded"
        );
        assert_ne!(
            sig,
            sign(
                &s,
                "POST",
                "/koppel-bridge.php?op=ping",
                1_700_000_001,
                "abcdefabcdefabcd",
                b"{}"
            )
        );
        assert_eq!(nonce().len(), 32);
        assert_ne!(nonce(), nonce());
    }
}
