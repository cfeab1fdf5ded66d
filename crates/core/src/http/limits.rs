//! Rate limits per external account: calls per minute and per hour (sliding windows) and
//! calls in flight, shared by every client of the same account.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

/// Rate limits of one external account (a SnelStart administration, one shop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// Calls per minute; none = unlimited.
    pub per_minute: Option<u32>,
    /// Calls per hour; none = unlimited.
    pub per_hour: Option<u32>,
    /// Calls in flight at once; none = unlimited.
    pub concurrent: Option<u32>,
}

/// At most `limit` calls in any window of `period`: a sliding log of the last `limit` start
/// times. Unlike a token bucket (which smooths, or lets up to twice the limit through in one
/// window when its burst equals the limit), this lets exactly as many calls through as the
/// remote's window allows, as early as it allows them.
struct SlidingWindow {
    limit: usize,
    period: Duration,
    log: Mutex<VecDeque<Instant>>,
}

impl SlidingWindow {
    fn new(limit: u32, period: Duration) -> Self {
        // A small margin: our start time is earlier than the remote's arrival time, and
        // arrivals can bunch up on the way.
        SlidingWindow {
            limit: limit.max(1) as usize,
            period: period + period / 50,
            log: Mutex::new(VecDeque::new()),
        }
    }

    /// The wait before a call may start, recording the call when it may start now.
    fn try_take(&self, now: Instant) -> Option<Duration> {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        while log.front().is_some_and(|t| now.duration_since(*t) >= self.period) {
            log.pop_front();
        }
        if log.len() < self.limit {
            log.push_back(now);
            return None;
        }
        let oldest = *log.front()?;
        Some(
            (oldest + self.period)
                .saturating_duration_since(now)
                .max(Duration::from_millis(1)),
        )
    }

    async fn acquire(&self) {
        while let Some(wait) = self.try_take(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The limiter of one account, shared by every client that uses the same account key.
pub struct Limiter {
    minute: Option<SlidingWindow>,
    hour: Option<SlidingWindow>,
    concurrent: Option<Arc<Semaphore>>,
    waited: AtomicU64,
}

impl Limiter {
    /// A limiter for these limits.
    pub fn new(limits: &RateLimits) -> Self {
        Limiter {
            minute: limits
                .per_minute
                .map(|n| SlidingWindow::new(n, Duration::from_secs(60))),
            hour: limits
                .per_hour
                .map(|n| SlidingWindow::new(n, Duration::from_secs(3600))),
            concurrent: limits
                .concurrent
                .map(|n| Arc::new(Semaphore::new(n.max(1) as usize))),
            waited: AtomicU64::new(0),
        }
    }

    /// Waits for a slot; the permit ends the concurrent call when dropped.
    pub(super) async fn acquire(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let started = Instant::now();
        let permit = match &self.concurrent {
            Some(s) => s.clone().acquire_owned().await.ok(),
            None => None,
        };
        // The hour window first: a call must fit both, and taking a minute slot while waiting
        // for the hour would waste it.
        if let Some(h) = &self.hour {
            h.acquire().await;
        }
        if let Some(m) = &self.minute {
            m.acquire().await;
        }
        self.waited
            .fetch_add(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        permit
    }

    /// Milliseconds spent waiting for the limits so far (for reports and benchmarks).
    pub fn waited_ms(&self) -> u64 {
        self.waited.load(Ordering::Relaxed)
    }
}

/// The limiter for an external account: every client built for the same `account` key (e.g.
/// one SnelStart administration used by two pairs) shares one.
pub fn limiter_for(account: &str, limits: &RateLimits) -> Arc<Limiter> {
    type Limiters = Mutex<HashMap<(String, RateLimits), Arc<Limiter>>>;
    static LIMITERS: OnceLock<Limiters> = OnceLock::new();
    let map = LIMITERS.get_or_init(Default::default);
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    map.entry((account.to_owned(), *limits))
        .or_insert_with(|| Arc::new(Limiter::new(limits)))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_allows_exactly_the_limit_per_window() {
        let w = SlidingWindow::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..5 {
            assert_eq!(
                w.try_take(t0 + Duration::from_millis(i)),
                None,
                "call {i} may start at once"
            );
        }
        // the sixth waits until the first leaves the window (plus the 2 % margin)
        let wait = w
            .try_take(t0 + Duration::from_secs(1))
            .expect("sixth call must wait");
        assert_eq!(wait, Duration::from_millis(61_200 - 1_000));
        assert_eq!(w.try_take(t0 + Duration::from_millis(61_200)), None);
        // never more than 5 starts in any window
        let log = w.log.lock().unwrap();
        assert_eq!(log.len(), 5);
    }
}
