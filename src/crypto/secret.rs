//! Secrets as a type: redacted in `Debug`, compared in constant time, never `Display`ed.

use aws_lc_rs::digest::{SHA256, digest};

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// A fresh client secret: 48 random bytes, base64url (64 characters, like Auth0's).
    pub fn generate() -> Self {
        Self(super::random::base64url(48))
    }

    /// The secret itself, for the few places that must hand it out (API responses, sealing).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time equality. Both sides are hashed first so that neither the content nor the
    /// length of the stored secret leaks through timing.
    pub fn matches(&self, candidate: &str) -> bool {
        let a = digest(&SHA256, self.0.as_bytes());
        let b = digest(&SHA256, candidate.as_bytes());
        aws_lc_rs::constant_time::verify_slices_are_equal(a.as_ref(), b.as_ref()).is_ok()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_same_secret() {
        let s = Secret::new("correct horse".into());
        assert!(s.matches("correct horse"));
        assert!(!s.matches("correct hors"));
        assert!(!s.matches("correct horse "));
        assert!(!s.matches(""));
    }

    #[test]
    fn debug_output_hides_the_value() {
        let s = Secret::new("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let a = Secret::generate();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a, Secret::generate());
    }
}
