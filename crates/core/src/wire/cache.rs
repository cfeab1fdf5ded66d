//! Time-to-live caches of reference data (VAT rates, countries, currencies, category trees,
//! articles by code): read once, reused until older than their TTL, read again after that (or
//! when asked). [`TtlCache`] holds one value; [`TtlMap`] one value per key.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;
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
        let max_age = if refresh { Duration::ZERO } else { self.ttl };
        self.get_or_load_within(max_age, load).await
    }

    /// As [`Self::get_or_load`], but the cached value counts as fresh only when younger than
    /// `max_age` (and the TTL): after a miss, "read again unless just read".
    pub async fn get_or_load_within<F, Fut>(&self, max_age: Duration, load: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut g = self.slot.lock().await;
        if let Some((at, v)) = g.as_ref() {
            if at.elapsed() < max_age.min(self.ttl) {
                return Ok(v.clone());
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

    /// Changes the cached value in place, keeping its age (e.g. adds a category the connector
    /// just created); nothing when the cache is empty.
    pub async fn update(&self, change: impl FnOnce(&mut T)) {
        if let Some((_, v)) = self.slot.lock().await.as_mut() {
            change(v);
        }
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

/// Values by key, each with the time it was stored; a value older than the TTL is not
/// returned. Synchronous (the lock is never held across a read of the remote): a caller that
/// misses reads the remote itself and [`TtlMap::insert`]s the answer.
pub struct TtlMap<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    /// An empty map whose values live for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The time-to-live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The value stored under `key` when younger than the TTL (a stale one is dropped).
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let mut entries = self.lock();
        match entries.get(key) {
            Some((at, v)) if at.elapsed() < self.ttl => Some(v.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `value` under `key`, fresh from now (replacing an older one).
    pub fn insert(&self, key: K, value: V) {
        self.lock().insert(key, (Instant::now(), value));
    }

    /// Forgets the value under `key`; the next get misses.
    pub fn invalidate<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.lock().remove(key);
    }

    /// Forgets every value.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        // a panic while holding the lock leaves the map consistent (single inserts/removes)
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<K, V> std::fmt::Debug for TtlMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlMap")
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

    #[tokio::test]
    async fn within_rereads_unless_just_read_and_update_keeps_the_age() {
        let loads = AtomicU32::new(0);
        let load = || async { Ok::<_, Error>(loads.fetch_add(1, Ordering::SeqCst) + 1) };
        let c = TtlCache::new(Duration::from_secs(3600));
        // update on an empty cache stores nothing
        c.update(|v| *v += 100).await;
        assert_eq!(
            c.get_or_load_within(Duration::from_secs(60), load).await.unwrap(),
            1
        );
        // read well within a minute: the cached value
        assert_eq!(
            c.get_or_load_within(Duration::from_secs(60), load).await.unwrap(),
            1
        );
        c.update(|v| *v += 100).await;
        assert_eq!(c.get_or_load(load).await.unwrap(), 101);
        std::thread::sleep(Duration::from_millis(20));
        // older than 10 ms: read again, even though the TTL is an hour
        assert_eq!(
            c.get_or_load_within(Duration::from_millis(10), load)
                .await
                .unwrap(),
            2
        );
        // the TTL caps max_age
        let short = TtlCache::new(Duration::from_millis(10));
        assert_eq!(short.get_or_load(load).await.unwrap(), 3);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            short
                .get_or_load_within(Duration::from_secs(3600), load)
                .await
                .unwrap(),
            4
        );
        // update does not refresh the age: read at 0, changed at 60 ms, stale at 120 ms
        let c = TtlCache::new(Duration::from_millis(100));
        assert_eq!(c.get_or_load(load).await.unwrap(), 5);
        std::thread::sleep(Duration::from_millis(60));
        c.update(|v| *v += 100).await;
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get_or_load(load).await.unwrap(), 6);
    }

    #[test]
    fn map_returns_fresh_values_and_forgets_on_invalidate() {
        let m: TtlMap<String, u32> = TtlMap::new(Duration::from_secs(3600));
        assert_eq!(m.get("a"), None);
        m.insert("a".into(), 1);
        m.insert("b".into(), 2);
        assert_eq!(m.get("a"), Some(1));
        m.insert("a".into(), 3);
        assert_eq!(m.get("a"), Some(3));
        m.invalidate("a");
        assert_eq!(m.get("a"), None);
        assert_eq!(m.get("b"), Some(2));
        m.clear();
        assert_eq!(m.get("b"), None);
    }

    #[test]
    fn map_values_expire_after_the_ttl() {
        let m: TtlMap<&str, u32> = TtlMap::new(Duration::from_millis(10));
        m.insert("a", 1);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(m.get("a"), None);
        let zero: TtlMap<&str, u32> = TtlMap::new(Duration::ZERO);
        zero.insert("a", 1);
        assert_eq!(zero.get("a"), None);
    }
}
