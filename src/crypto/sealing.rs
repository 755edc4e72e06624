//! At-rest encryption of secrets and signing keys under the master key (BEHAVIOUR B.10):
//! AES-256-GCM with a random nonce; the associated data binds each ciphertext to the record it
//! belongs to, so a sealed value copied into another row does not open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the master key must be base64 of exactly 32 bytes")]
    BadMasterKey,
    #[error(
        "a sealed value could not be opened: the master key is not the one this database was created with, or the value was altered"
    )]
    Open,
}

pub struct MasterKey(RandomizedNonceKey);

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        if bytes.len() != 32 {
            return Err(SealError::BadMasterKey);
        }
        RandomizedNonceKey::new(&AES_256_GCM, bytes)
            .map(Self)
            .map_err(|_| SealError::BadMasterKey)
    }

    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SealError::BadMasterKey)?;
        Self::from_bytes(&bytes)
    }

    /// Base64 of a fresh random 32-byte key, the form kept in the key file.
    pub fn generate_base64() -> String {
        STANDARD.encode(super::random::bytes::<32>())
    }

    /// Encrypts `plaintext`; the result is `base64(nonce || ciphertext || tag)`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let mut buf = plaintext.to_vec();
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(context.as_bytes()), &mut buf)
            .expect("AES-GCM sealing of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&buf);
        STANDARD.encode(out)
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, SealError> {
        let raw = STANDARD.decode(sealed).map_err(|_| SealError::Open)?;
        if raw.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut buf = ciphertext.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_base64(&MasterKey::generate_base64()).unwrap()
    }

    #[test]
    fn sealed_value_opens_with_the_same_key_and_context() {
        let k = key();
        let sealed = k.seal(b"s3cret", "client_secret:abc");
        assert!(!sealed.contains("s3cret"));
        assert_eq!(k.open(&sealed, "client_secret:abc").unwrap(), b"s3cret");
    }

    #[test]
    fn sealed_value_does_not_open_under_another_context_or_key() {
        let k = key();
        let sealed = k.seal(b"s3cret", "client_secret:abc");
        assert!(k.open(&sealed, "client_secret:xyz").is_err());
        assert!(key().open(&sealed, "client_secret:abc").is_err());
    }

    #[test]
    fn master_key_must_be_32_bytes() {
        assert!(MasterKey::from_base64(&STANDARD.encode([0u8; 16])).is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
    }
}
