//! Administrator passwords: Argon2id PHC strings, and the generated first-start password.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::crypto::random;
use crate::crypto::secret::Secret;

pub const MIN_LEN: usize = 8;
/// Argon2 takes any length; the cap keeps one request from buying seconds of CPU.
pub const MAX_LEN: usize = 1024;

/// OWASP's Argon2id baseline (19 MiB, 2 passes, 1 lane): about 30 ms per hash here.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn validate(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LEN || password.len() > MAX_LEN {
        return Err(format!(
            "the administrator password must be {MIN_LEN} to {MAX_LEN} characters long"
        ));
    }
    Ok(())
}

/// Hashes with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = random::bytes::<16>();
    hasher()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h: PasswordHash| h.to_string())
        .map_err(|e| e.to_string())
}

/// `true` only when `password` matches `phc`; a malformed stored hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    if password.len() > MAX_LEN {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // The parameters come from the stored string, so old hashes keep verifying if the
    // defaults above are raised.
    hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A stored hash that no password matches, verified against when the email is unknown so that
/// a wrong email costs as long as a wrong password (no account discovery by timing).
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&random::base64url(24)).unwrap_or_default())
}

/// The first-start password: 24 URL-safe characters (144 bits).
pub fn generate() -> Secret {
    Secret::new(random::base64url(18))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify_only_the_same_password() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batter", &h));
        assert!(!verify("", &h));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        assert_ne!(
            hash("same password").unwrap(),
            hash("same password").unwrap()
        );
    }

    #[test]
    fn malformed_stored_hashes_never_match() {
        assert!(!verify("anything", "not a phc string"));
        assert!(!verify("anything", ""));
    }

    #[test]
    fn the_decoy_matches_nothing_usual() {
        assert!(!verify("", decoy_hash()));
        assert!(!verify("admin", decoy_hash()));
    }

    #[test]
    fn password_length_is_checked() {
        assert!(validate("short").is_err());
        assert!(validate("long enough").is_ok());
        assert!(validate(&"x".repeat(MAX_LEN + 1)).is_err());
        assert_eq!(generate().expose().len(), 24);
    }
}
