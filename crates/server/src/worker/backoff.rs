//! Retry delays after failed runs: exponential, capped, with jitter.

use std::time::Duration;

/// Exponential backoff with "equal jitter": the `n`-th consecutive failure waits a random time in
/// `[d/2, d]` where `d = min(base · 2^(n-1), cap)`.
///
/// Jitter spreads the retries of many pairings that failed together (a CRM outage) so they do not all
/// come back in the same second; keeping the lower half fixed still guarantees a real pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Upper bound of the delay after the first failure.
    pub base: Duration,
    /// Upper bound of every delay.
    pub cap: Duration,
}

impl Default for Backoff {
    /// 10 s after the first failure, doubling up to 15 minutes: a broken pairing costs at most a few
    /// requests an hour, and a short outage heals within a poll period or two.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    /// The capped, un-jittered delay after `attempt` consecutive failures (`attempt` ≥ 1).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(32);
        let factor = 2u64.saturating_pow(exponent);
        let ceiling = self
            .base
            .checked_mul(u32::try_from(factor).unwrap_or(u32::MAX))
            .unwrap_or(self.cap);
        ceiling.min(self.cap)
    }

    /// The delay after `attempt` consecutive failures, jittered with a fresh random number.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, random_unit())
    }

    /// The delay after `attempt` consecutive failures for a given `unit` in `[0, 1)` (tests pass their own).
    pub fn delay_with(&self, attempt: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(attempt);
        let unit = unit.clamp(0.0, 1.0);
        ceiling / 2 + (ceiling / 2).mul_f64(unit)
    }
}

/// A uniformly distributed number in `[0, 1)`, from the operating system's random source (through
/// `uuid`'s v4 generator, which the server already depends on; jitter needs no stronger randomness).
fn random_unit() -> f64 {
    // The low 64 bits of a v4 UUID hold 62 random bits under the two variant bits; keep 53 of them.
    let (_, low) = uuid::Uuid::new_v4().as_u64_pair();
    (low & ((1u64 << 53) - 1)) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(60),
        }
    }

    #[test]
    fn ceiling_doubles_per_attempt_until_the_cap() {
        let b = backoff();
        let secs: Vec<u64> = (1..=6).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 60, 60, 60]);
        assert_eq!(b.ceiling(10_000), Duration::from_secs(60));
        assert_eq!(b.ceiling(0), Duration::from_secs(10));
    }

    #[test]
    fn jitter_stays_between_half_the_ceiling_and_the_ceiling() {
        let b = backoff();
        assert_eq!(b.delay_with(2, 0.0), Duration::from_secs(10));
        assert_eq!(b.delay_with(2, 1.0), Duration::from_secs(20));
        for _ in 0..1000 {
            let d = b.delay(3);
            assert!(
                d >= Duration::from_secs(20) && d <= Duration::from_secs(40),
                "{d:?}"
            );
        }
    }

    #[test]
    fn random_unit_is_in_the_unit_interval_and_varies() {
        let samples: Vec<f64> = (0..100).map(|_| random_unit()).collect();
        assert!(samples.iter().all(|u| (0.0..1.0).contains(u)));
        assert!(samples.iter().any(|u| *u < 0.5) && samples.iter().any(|u| *u >= 0.5));
    }
}
