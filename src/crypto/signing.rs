//! The tenant's access-token signing key (RSA-2048, RS256). The key is parsed once and tokens are
//! signed directly with it: the RSA signature is the dominant cost of the token endpoint.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use serde::Serialize;

use super::jwt::b64url;
use super::public_key::rsa_jwk_thumbprint;

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("RSA key generation failed")]
    Generate,
    #[error("the stored signing key is not a valid RSA PKCS#8 key")]
    Invalid,
}

pub struct SigningKey {
    kid: String,
    pair: KeyPair,
    verifier: ParsedPublicKey,
    n: String,
    e: String,
    /// `base64url({"alg":"RS256","typ":"JWT","kid":…})` followed by `.`, computed once.
    header_prefix: String,
}

impl SigningKey {
    /// A fresh RSA-2048 key and its PKCS#8 DER encoding (to be sealed and stored).
    pub fn generate() -> Result<(Self, Vec<u8>), SigningKeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| SigningKeyError::Generate)?;
        let der = pair
            .as_der()
            .map_err(|_| SigningKeyError::Generate)?
            .as_ref()
            .to_vec();
        Ok((Self::from_pair(pair)?, der))
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Self, SigningKeyError> {
        let pair = KeyPair::from_pkcs8(der).map_err(|_| SigningKeyError::Invalid)?;
        Self::from_pair(pair)
    }

    fn from_pair(pair: KeyPair) -> Result<Self, SigningKeyError> {
        let public = pair.public_key();
        let n_raw = public.modulus().big_endian_without_leading_zero().to_vec();
        let e_raw = public.exponent().big_endian_without_leading_zero().to_vec();
        let kid = rsa_jwk_thumbprint(&n_raw, &e_raw);
        let verifier = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public.as_ref())
            .map_err(|_| SigningKeyError::Invalid)?;
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let header_prefix = format!("{}.", b64url(header.to_string().as_bytes()));
        Ok(Self {
            kid,
            pair,
            verifier,
            n: b64url(&n_raw),
            e: b64url(&e_raw),
            header_prefix,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `claims` as a compact RS256 JWT carrying this key's `kid`.
    pub fn sign_jwt<C: Serialize>(&self, claims: &C) -> String {
        let payload = serde_json::to_vec(claims).expect("claims serialise to JSON");
        let mut token = String::with_capacity(self.header_prefix.len() + payload.len() * 2 + 400);
        token.push_str(&self.header_prefix);
        token.push_str(&b64url(&payload));
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                token.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing with a valid key cannot fail");
        token.push('.');
        token.push_str(&b64url(&signature));
        token
    }

    /// Verifies an RS256 signature made by this key.
    pub fn verify(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify_sig(signing_input, signature).is_ok()
    }

    /// The public half as a JWK, for `/.well-known/jwks.json`.
    pub fn public_jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": self.n,
            "e": self.e,
        })
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The tenant's signing keys: the current one signs, every one verifies and is published.
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<SigningKey>,
}

impl KeyRing {
    /// `keys[0]` must be the current key.
    pub fn new(keys: Vec<SigningKey>) -> Option<Self> {
        if keys.is_empty() {
            None
        } else {
            Some(Self { keys })
        }
    }

    pub fn current(&self) -> &SigningKey {
        &self.keys[0]
    }

    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": self.keys.iter().map(SigningKey::public_jwk).collect::<Vec<_>>()})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::jwt::{Compact, b64url_decode};

    #[test]
    fn signed_token_verifies_and_round_trips_through_pkcs8() {
        let (key, der) = SigningKey::generate().unwrap();
        let token = key.sign_jwt(&serde_json::json!({"sub": "x"}));
        let reloaded = SigningKey::from_pkcs8(&der).unwrap();
        assert_eq!(reloaded.kid(), key.kid());
        let c = Compact::split(&token).unwrap();
        let sig = b64url_decode(c.signature).unwrap();
        assert!(reloaded.verify(c.signing_input.as_bytes(), &sig));
        assert!(!reloaded.verify(b"other", &sig));
        let header: serde_json::Value =
            serde_json::from_slice(&b64url_decode(c.header).unwrap()).unwrap();
        assert_eq!(header["kid"], key.kid());
        assert_eq!(header["alg"], "RS256");
    }
}
