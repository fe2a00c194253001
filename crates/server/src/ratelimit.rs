//! Per-connection token bucket. Owned by the connection task, so it needs no synchronisation;
//! it uses tokio's clock so tests can pause time.

use tokio::time::Instant;

use crate::config::RateLimit;

#[derive(Debug)]
pub(crate) struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(limit: RateLimit) -> TokenBucket {
        TokenBucket {
            limit,
            tokens: limit.burst,
            last: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn allow(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.limit.per_sec;
        self.tokens = (self.tokens + refill).min(self.limit.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_refills() {
        let mut b = TokenBucket::new(RateLimit {
            per_sec: 10.0,
            burst: 3.0,
        });
        assert!((0..3).all(|_| b.allow()));
        assert!(!b.allow());
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(b.allow());
        assert!(!b.allow());
    }
}
