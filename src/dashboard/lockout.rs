//! Sign-in lockout: after `MAX_FAILURES` consecutive wrong passwords for one administrator,
//! every sign-in for that account is refused for `LOCKOUT`, even with the right password.

use crate::time_util::Millis;

pub const MAX_FAILURES: i64 = 5;
pub const LOCKOUT: Millis = 5 * 60 * 1000;

/// Whether sign-ins are refused at `now`, and for how many more whole seconds.
pub fn locked_for(locked_until: Option<Millis>, now: Millis) -> Option<i64> {
    match locked_until {
        Some(until) if until > now => Some((until - now + 999) / 1000),
        _ => None,
    }
}

/// After a failure that brought the count to `failures`: the instant until which the account is
/// locked, or `None` when it is not locked yet.
pub fn lock_after_failure(failures: i64, now: Millis) -> Option<Millis> {
    (failures >= MAX_FAILURES).then_some(now + LOCKOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    #[test]
    fn the_fifth_consecutive_failure_locks_the_account() {
        for n in 1..MAX_FAILURES {
            assert_eq!(lock_after_failure(n, NOW), None, "failure {n}");
        }
        assert_eq!(lock_after_failure(MAX_FAILURES, NOW), Some(NOW + LOCKOUT));
    }

    #[test]
    fn a_lock_lasts_until_its_instant_and_counts_seconds_up() {
        let until = NOW + LOCKOUT;
        assert_eq!(locked_for(Some(until), NOW), Some(300));
        assert_eq!(locked_for(Some(until), until - 1), Some(1));
        assert_eq!(locked_for(Some(until), until), None);
        assert_eq!(locked_for(None, NOW), None);
    }
}
