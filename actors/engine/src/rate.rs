//! The per-connection event rate limit: a token bucket, and strikes for a
//! client that keeps going past it.
//!
//! Each event a client sends takes a token; the bucket holds `burst` and
//! refills at `per_second`. An event that finds it empty is refused. A
//! connection refused `strikes` times within [`STRIKE_WINDOW`] is not
//! an honest client that had a burst: it is disconnected.

use std::time::{Duration, Instant};

/// The limits, from the engine configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRate {
    /// Events a connection may send at once.
    pub burst: u32,
    /// Events per second a connection may keep sending; `0` turns the
    /// limit off.
    pub per_second: u32,
    /// Refusals within [`STRIKE_WINDOW`] that disconnect the connection.
    pub strikes: u32,
}

impl Default for EventRate {
    fn default() -> Self {
        EventRate {
            burst: 1000,
            per_second: 500,
            strikes: 100,
        }
    }
}

/// How long refusals are remembered towards the strikes.
pub const STRIKE_WINDOW: Duration = Duration::from_secs(10);

/// What becomes of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Refused; `first` for the first refusal of this connection (the one
    /// to log).
    Refused {
        first: bool,
    },
    /// Refused, and the connection has had its strikes.
    Disconnect,
}

/// One connection's bucket.
#[derive(Debug)]
pub struct RateLimit {
    rate: EventRate,
    tokens: f64,
    last: Instant,
    strikes: u32,
    window_start: Instant,
    refused_before: bool,
}

impl RateLimit {
    pub fn new(rate: EventRate, now: Instant) -> RateLimit {
        RateLimit {
            rate,
            tokens: f64::from(rate.burst),
            last: now,
            strikes: 0,
            window_start: now,
            refused_before: false,
        }
    }

    /// Takes a token for one event arriving at `now`.
    pub fn check(&mut self, now: Instant) -> Verdict {
        if self.rate.per_second == 0 {
            return Verdict::Allowed;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * f64::from(self.rate.per_second))
            .min(f64::from(self.rate.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Allowed;
        }
        if now.saturating_duration_since(self.window_start) > STRIKE_WINDOW {
            self.window_start = now;
            self.strikes = 0;
        }
        self.strikes += 1;
        if self.strikes >= self.rate.strikes {
            return Verdict::Disconnect;
        }
        let first = !self.refused_before;
        self.refused_before = true;
        Verdict::Refused { first }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: EventRate = EventRate {
        burst: 3,
        per_second: 10,
        strikes: 4,
    };

    /// Checks `n` events at `now`, expecting each to be `expected`.
    fn expect_n(limit: &mut RateLimit, now: Instant, n: usize, expected: fn(Verdict) -> bool) {
        for i in 0..n {
            let verdict = limit.check(now);
            assert!(expected(verdict), "event {i}: {verdict:?}");
        }
    }

    fn allowed(v: Verdict) -> bool {
        v == Verdict::Allowed
    }

    fn refused(v: Verdict) -> bool {
        matches!(v, Verdict::Refused { .. })
    }

    #[test]
    fn a_burst_passes_then_events_are_refused() {
        let t0 = Instant::now();
        let mut limit = RateLimit::new(RATE, t0);
        expect_n(&mut limit, t0, 3, allowed);
        assert_eq!(limit.check(t0), Verdict::Refused { first: true });
        assert_eq!(limit.check(t0), Verdict::Refused { first: false });
    }

    #[test]
    fn the_bucket_refills_at_the_sustained_rate_up_to_the_burst() {
        let t0 = Instant::now();
        let mut limit = RateLimit::new(RATE, t0);
        expect_n(&mut limit, t0, 3, allowed);
        // 100 ms at 10/s: one token.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(limit.check(t1), Verdict::Allowed);
        assert_eq!(limit.check(t1), Verdict::Refused { first: true });
        // A long pause refills to the burst, no more.
        let t2 = t1 + Duration::from_secs(60);
        expect_n(&mut limit, t2, 3, allowed);
        expect_n(&mut limit, t2, 1, refused);
    }

    /// Three strikes at t0 and three a window later: no disconnect until
    /// the fourth within one window.
    #[test]
    fn strikes_within_the_window_disconnect_older_ones_are_forgotten() {
        let t0 = Instant::now();
        let mut limit = RateLimit::new(RATE, t0);
        expect_n(&mut limit, t0, 3, allowed);
        expect_n(&mut limit, t0, 3, refused);
        // Past the window, with the bucket drained again: a fresh count.
        let later = t0 + STRIKE_WINDOW + Duration::from_secs(1);
        expect_n(&mut limit, later, 3, allowed);
        expect_n(&mut limit, later, 3, refused);
        assert_eq!(limit.check(later), Verdict::Disconnect);
    }

    #[test]
    fn a_zero_rate_is_no_limit() {
        let t0 = Instant::now();
        let mut limit = RateLimit::new(
            EventRate {
                per_second: 0,
                ..RATE
            },
            t0,
        );
        expect_n(&mut limit, t0, 100, allowed);
    }
}
