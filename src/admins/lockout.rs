//! Sign-in lockout: after `MAX_ATTEMPTS` sign-in attempts for one email without a success,
//! every sign-in for it is refused for `LOCKOUT`, even with the right password. Emails no
//! administrator has are counted and locked the same way, so the answers do not tell which
//! emails exist. The count lives in the database (`store::signin_attempts`), shared by every
//! server instance, and an attempt is counted before its password is checked: however many
//! arrive at once, exactly `MAX_ATTEMPTS` are checked.

use crate::time_util::Millis;

pub const MAX_ATTEMPTS: i64 = 5;
pub const LOCKOUT: Millis = 5 * 60 * 1000;

/// Whole seconds until `locked_until`, at least one.
pub fn seconds_left(locked_until: Millis, now: Millis) -> i64 {
    ((locked_until - now).max(1) + 999) / 1000
}

/// The key attempts are counted under: the same email however it is typed.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    #[test]
    fn the_wait_counts_seconds_up() {
        assert_eq!(seconds_left(NOW + LOCKOUT, NOW), 300);
        assert_eq!(seconds_left(NOW + 1, NOW), 1);
        assert_eq!(seconds_left(NOW, NOW), 1);
    }

    #[test]
    fn emails_are_counted_whatever_their_case() {
        assert_eq!(email_key(" Admin@Example.COM "), "admin@example.com");
    }
}
