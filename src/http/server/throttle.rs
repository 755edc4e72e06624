//! At most one log line a second per kind of event: under attack or out of descriptors the same
//! warning would otherwise be written thousands of times a second.

use std::time::Duration;

use tokio::time::Instant;

pub struct LogThrottle {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl Default for LogThrottle {
    fn default() -> Self {
        Self::per_second()
    }
}

impl LogThrottle {
    pub const fn per_second() -> Self {
        Self {
            every: Duration::from_secs(1),
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(n)` when a line may be written now, `n` being how many were left out since the
    /// last one.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now < last + self.every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_is_written_and_the_rest_are_counted() {
        let t0 = Instant::now();
        let mut throttle = LogThrottle::per_second();
        assert_eq!(throttle.allow(t0), Some(0));
        assert_eq!(throttle.allow(t0 + Duration::from_millis(10)), None);
        assert_eq!(throttle.allow(t0 + Duration::from_millis(999)), None);
        assert_eq!(throttle.allow(t0 + Duration::from_secs(1)), Some(2));
        assert_eq!(throttle.allow(t0 + Duration::from_millis(1500)), None);
    }
}
