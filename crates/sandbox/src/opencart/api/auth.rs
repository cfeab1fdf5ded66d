//! The bridge's request signature (PROTOCOL.md): HMAC-SHA256 over method, request target,
//! timestamp, nonce and the body's SHA-256, ±300 s, nonces refused when seen again; 401 for
//! all of it.

use axum::extract::Request;
use axum::http::StatusCode;
use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::App;
use crate::opencart::SECRET;

/// Why a request is refused: status, error kind, message.
pub(super) type Refusal = (StatusCode, &'static str, &'static str);

/// The signature headers of a request, read before its body.
pub(super) struct Signature {
    ts: String,
    nonce: String,
    sig: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn header<'a>(req: &'a Request, name: &str) -> &'a str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

impl Signature {
    /// The `x-koppel-timestamp`, `x-koppel-nonce` and `x-koppel-signature` headers.
    pub(super) fn of(req: &Request) -> Self {
        Signature {
            ts: header(req, "x-koppel-timestamp").to_owned(),
            nonce: header(req, "x-koppel-nonce").to_owned(),
            sig: header(req, "x-koppel-signature").to_ascii_lowercase(),
        }
    }

    /// Checks the signature, the time window and the nonce (remembered once accepted); when one
    /// fails, the answer's status, error kind and message.
    pub(super) fn verify(self, app: &App, method: &str, target: &str, body: &[u8]) -> Result<(), Refusal> {
        let Signature { ts, nonce, sig } = self;
        let ts_ok = ts.len() <= 12 && !ts.is_empty() && ts.chars().all(|c| c.is_ascii_digit());
        let nonce_ok = (16..=128).contains(&nonce.len())
            && nonce
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ts_ok || !nonce_ok || sig.len() != 64 {
            return Err((
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or malformed signature headers",
            ));
        }
        let canonical = format!(
            "{method}\n{target}\n{ts}\n{nonce}\n{}",
            hex(&Sha256::digest(body))
        );
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()) else {
            return Err((StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error"));
        };
        mac.update(canonical.as_bytes());
        let Ok(given) = (0..32)
            .map(|i| u8::from_str_radix(sig.get(i * 2..i * 2 + 2).unwrap_or("zz"), 16))
            .collect::<Result<Vec<u8>, _>>()
        else {
            return Err((
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "signature does not match",
            ));
        };
        // constant-time comparison (hmac's verify_slice)
        if mac.verify_slice(&given).is_err() {
            return Err((
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "signature does not match",
            ));
        }
        let t: i64 = ts.parse().unwrap_or(0);
        if (Utc::now().timestamp() - t).abs() > 300 {
            return Err((
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "timestamp outside the allowed window of 300 seconds",
            ));
        }
        if !app.nonces.lock().unwrap_or_else(|p| p.into_inner()).insert(nonce) {
            return Err((StatusCode::UNAUTHORIZED, "unauthorized", "nonce already used"));
        }
        Ok(())
    }
}
