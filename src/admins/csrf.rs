//! CSRF tokens. A signed-in form carries a token derived from the session token, which lives only
//! in an HttpOnly cookie, so another site can neither read nor forge it. The sign-in form, before
//! any session exists, uses a double-submit cookie instead.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const CONTEXT: &[u8] = b"signet dashboard csrf v1\0";

/// The token every form of this session must carry.
pub fn token_for_session(session_token: &str) -> String {
    let mut input = Vec::with_capacity(CONTEXT.len() + session_token.len());
    input.extend_from_slice(CONTEXT);
    input.extend_from_slice(session_token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest(&SHA256, &input))
}

/// Constant-time check of a submitted token. Both sides are hashed first so that neither the
/// expected token's content nor its length leaks through timing; an empty token never passes.
pub fn matches(expected: &str, submitted: &str) -> bool {
    if expected.is_empty() || submitted.is_empty() {
        return false;
    }
    let a = digest(&SHA256, expected.as_bytes());
    let b = digest(&SHA256, submitted.as_bytes());
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_ref(), b.as_ref()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_token_is_accepted_only_exactly() {
        let t = token_for_session("session-one");
        assert!(matches(&t, &t.clone()));
        assert!(!matches(&t, &t[..t.len() - 1]));
        assert!(!matches(&t, &format!("{t}x")));
        assert!(!matches(&t, ""));
    }

    #[test]
    fn tokens_differ_between_sessions_and_do_not_reveal_the_session() {
        let a = token_for_session("session-one");
        let b = token_for_session("session-two");
        assert_ne!(a, b);
        assert!(!matches(&a, &b));
        assert!(!a.contains("session-one"));
    }

    #[test]
    fn an_empty_expected_token_never_matches() {
        assert!(!matches("", ""));
    }
}
