//! Dashboard sessions: a random token in the cookie, only its SHA-256 in the database, and a
//! fixed lifetime after sign-in.

use aws_lc_rs::digest::{SHA256, digest};

use crate::crypto::random;
use crate::crypto::secret::Secret;
use crate::time_util::Millis;

/// A session ends this long after sign-in, whatever happens in between.
pub const LIFETIME: Millis = 8 * 3600 * 1000;
/// Session tokens are 32 random bytes, base64url: 43 characters. Longer cookies are not looked
/// up at all.
pub const TOKEN_LEN: usize = 43;

pub fn new_token() -> Secret {
    Secret::new(random::base64url(32))
}

/// What the database keeps: a stolen copy of the table cannot be replayed as a cookie.
pub fn token_hash(token: &str) -> String {
    digest(&SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn expires_at(signed_in_at: Millis) -> Millis {
    signed_in_at + LIFETIME
}

pub fn is_active(expires_at: Millis, now: Millis) -> bool {
    now < expires_at
}

/// Cheap shape check before any database work.
pub fn plausible_token(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    #[test]
    fn sessions_expire_after_their_lifetime() {
        let exp = expires_at(NOW);
        assert!(is_active(exp, NOW));
        assert!(is_active(exp, exp - 1));
        assert!(!is_active(exp, exp));
        assert!(!is_active(exp, exp + 1));
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a.expose(), b.expose());
        assert!(plausible_token(a.expose()));
        let h = token_hash(a.expose());
        assert_eq!(h.len(), 64);
        assert!(!h.contains(a.expose()));
        assert_eq!(h, token_hash(a.expose()));
    }

    #[test]
    fn malformed_cookies_are_not_plausible() {
        assert!(!plausible_token(""));
        assert!(!plausible_token(&"a".repeat(44)));
        assert!(!plausible_token(&format!("{};", "a".repeat(42))));
    }
}
