//! Secrets as a type: redacted in `Debug`, compared in constant time, never `Display`ed, wiped
//! from memory when dropped (`secrecy`), and without `PartialEq`, so that no comparison but the
//! constant-time one exists.

use std::convert::Infallible;
use std::str::FromStr;

use aws_lc_rs::digest::{SHA256, digest};
use secrecy::{ExposeSecret, SecretString};

#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(SecretString::from(value))
    }

    /// A fresh client secret: 48 random bytes, base64url (64 characters, like Auth0's).
    pub fn generate() -> Self {
        Self::new(super::random::base64url(48))
    }

    /// The secret itself, for the few places that must hand it out (API responses, sealing,
    /// the comparison below).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Constant-time equality. Both sides are hashed first so that neither the content nor the
    /// length of the stored secret leaks through timing.
    pub fn matches(&self, candidate: &str) -> bool {
        let a = digest(&SHA256, self.expose().as_bytes());
        let b = digest(&SHA256, candidate.as_bytes());
        aws_lc_rs::constant_time::verify_slices_are_equal(a.as_ref(), b.as_ref()).is_ok()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// For settings read by clap: the value goes straight into the redacting type.
impl FromStr for Secret {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s.to_owned()))
    }
}

/// For request bodies: the value goes straight into the redacting type.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
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
        let parsed: Secret = serde_json::from_str("\"hunter2\"").unwrap();
        assert!(parsed.matches("hunter2"));
        assert!(!format!("{parsed:?}").contains("hunter2"));
    }

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let a = Secret::generate();
        assert_eq!(a.expose().len(), 64);
        assert!(!a.matches(Secret::generate().expose()));
    }
}
