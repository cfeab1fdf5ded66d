//! A time-to-live cache of reference data (VAT rates, countries, currencies, category trees):
//! read once, reused until it is older than its TTL, read again after that (or when asked).

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::Result;

/// One cached value with the time it was read. Async-safe: concurrent callers wait for the
/// one load in progress instead of each reading the remote. A failed load caches nothing.
pub struct TtlCache<T> {
    ttl: Duration,
    slot: tokio::sync::Mutex<Option<(Instant, T)>>,
}

impl<T: Clone> TtlCache<T> {
    /// An empty cache whose values live for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slot: tokio::sync::Mutex::new(None),
        }
    }

    /// The time-to-live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The cached value when it is younger than the TTL, else the result of `load` (stored).
    /// Wrap large values in an `Arc` so the clone is cheap.
    pub async fn get_or_load<F, Fut>(&self, load: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.get_or_load_if(false, load).await
    }

    /// As [`Self::get_or_load`], but `refresh` true reads again even when fresh (after a miss
    /// that a newer copy may settle, e.g. a category created meanwhile).
    pub async fn get_or_load_if<F, Fut>(&self, refresh: bool, load: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut g = self.slot.lock().await;
        if !refresh {
            if let Some((at, v)) = g.as_ref() {
                if at.elapsed() < self.ttl {
                    return Ok(v.clone());
                }
            }
        }
        let v = load().await?;
        *g = Some((Instant::now(), v.clone()));
        Ok(v)
    }

    /// Replaces the cached value (e.g. after the connector itself changed the remote list).
    pub async fn put(&self, value: T) {
        *self.slot.lock().await = Some((Instant::now(), value));
    }

    /// Forgets the cached value; the next get reads again.
    pub async fn invalidate(&self) {
        *self.slot.lock().await = None;
    }
}

impl<T> std::fmt::Debug for TtlCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn loads_once_per_ttl_and_on_refresh() {
        let loads = AtomicU32::new(0);
        let load = || async { Ok::<_, Error>(loads.fetch_add(1, Ordering::SeqCst) + 1) };
        let c = TtlCache::new(Duration::from_secs(3600));
        assert_eq!(c.get_or_load(load).await.unwrap(), 1);
        assert_eq!(c.get_or_load(load).await.unwrap(), 1);
        assert_eq!(c.get_or_load_if(true, load).await.unwrap(), 2);
        c.invalidate().await;
        assert_eq!(c.get_or_load(load).await.unwrap(), 3);
        c.put(10).await;
        assert_eq!(c.get_or_load(load).await.unwrap(), 10);
    }

    #[tokio::test]
    async fn zero_ttl_always_reloads_and_errors_are_not_cached() {
        let c = TtlCache::new(Duration::ZERO);
        let n = AtomicU32::new(0);
        for want in 1..=2 {
            let v = c
                .get_or_load(|| async { Ok::<_, Error>(n.fetch_add(1, Ordering::SeqCst) + 1) })
                .await;
            assert_eq!(v.unwrap(), want);
        }
        let c: TtlCache<u32> = TtlCache::new(Duration::from_secs(3600));
        assert!(c
            .get_or_load(|| async { Err(Error::protocol("down")) })
            .await
            .is_err());
        assert_eq!(c.get_or_load(|| async { Ok(5) }).await.unwrap(), 5);
    }
}
