//! Credentials: the [`AuthProvider`] hook (authorise, refresh once after a 401) and the
//! single-flight bearer [`TokenCache`].

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::Result;
use crate::secret::Secret;

/// Adds credentials to requests and refreshes them after a 401.
#[async_trait]
pub trait AuthProvider: Send + Sync {
    /// Adds credentials to `request`; returns the generation of the credential used, which
    /// [`AuthProvider::refresh`] gets back after a 401.
    async fn authorize(&self, request: &mut reqwest::Request) -> Result<u64>;

    /// The remote answered 401 to a request authorised with `generation`. Refresh the
    /// credential (unless another request already did) and return true if a retry may help.
    async fn refresh(&self, generation: u64) -> Result<bool> {
        let _ = generation;
        Ok(false)
    }
}

struct CachedToken {
    token: Secret,
    expires_at: Instant,
    generation: u64,
}

/// A bearer-token cache with single-flight fetching: concurrent callers wait for one fetch,
/// and a 401 seen by many requests causes one refresh, not a stampede.
#[derive(Default)]
pub struct TokenCache {
    inner: tokio::sync::Mutex<Option<CachedToken>>,
    generation: AtomicU64,
    fetches: AtomicU64,
}

impl TokenCache {
    /// The current token, fetching one with `fetch` (token, lifetime) when there is none or it
    /// expires within `margin`. Returns the token and its generation.
    pub async fn get<F, Fut>(&self, margin: Duration, fetch: F) -> Result<(Secret, u64)>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Secret, Duration)>>,
    {
        let mut guard = self.inner.lock().await;
        if let Some(t) = guard.as_ref() {
            if t.expires_at > Instant::now() + margin {
                return Ok((t.token.clone(), t.generation));
            }
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let (token, lifetime) = fetch().await?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        *guard = Some(CachedToken {
            token: token.clone(),
            expires_at: Instant::now() + lifetime,
            generation,
        });
        Ok((token, generation))
    }

    /// Drops the token of `generation` (a newer one is kept). Returns whether it was dropped.
    pub async fn invalidate(&self, generation: u64) -> bool {
        let mut guard = self.inner.lock().await;
        match guard.as_ref() {
            Some(t) if t.generation == generation => {
                *guard = None;
                true
            }
            Some(_) => true, // already refreshed by another request: retrying helps
            None => true,
        }
    }

    /// How many tokens were fetched (for tests and reports).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }
}
