//! The time every rule reads. Production runs on the system clock; tests move a
//! [`ManualClock`] forward instead of sleeping, so expiry and lifetimes are tested in an
//! instant.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crate::time_util::{Millis, now_millis};

pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the Unix epoch, UTC.
    fn now(&self) -> Millis;
}

/// The clock the application state holds.
pub type SharedClock = Arc<dyn Clock>;

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        now_millis()
    }
}

pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// The system clock plus an offset that only grows: time still passes as it does outside (a
/// test's own timestamps stay close to the server's), and [`ManualClock::advance`] jumps it.
#[derive(Debug, Default)]
pub struct ManualClock {
    offset: AtomicI64,
}

impl ManualClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset.fetch_add(ms, Ordering::AcqRel);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        now_millis().saturating_add(self.offset.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_follows_the_system_clock_and_jumps_when_told() {
        let clock = ManualClock::new();
        let before = now_millis();
        let read = clock.now();
        assert!(read >= before && read <= now_millis());
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now() >= before + 3_600_000);
    }
}
