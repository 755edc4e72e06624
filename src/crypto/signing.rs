//! The tenant's access-token signing keys (RSA-2048; RS256 or PS256) and HS256 for APIs that
//! sign with a shared secret. A key is parsed once and tokens are signed directly with it: the
//! RSA signature is the dominant cost of the token endpoint.

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
    RsaEncoding,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use super::jwt::b64url;
use super::public_key::rsa_jwk_thumbprint;

/// How an RSA-signed access token is signed: RSASSA-PKCS1-v1_5 or RSASSA-PSS, both with SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaScheme {
    Rs256,
    Ps256,
}

impl RsaScheme {
    fn alg(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
        }
    }

    fn encoding(self) -> &'static dyn RsaEncoding {
        match self {
            Self::Rs256 => &RSA_PKCS1_SHA256,
            Self::Ps256 => &RSA_PSS_SHA256,
        }
    }
}

/// The JOSE `typ` of an access token: plain `JWT`, or `at+jwt` for the RFC 9068 profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTyp {
    Jwt,
    AtJwt,
}

impl TokenTyp {
    fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "JWT",
            Self::AtJwt => "at+jwt",
        }
    }
}

const SCHEMES: [RsaScheme; 2] = [RsaScheme::Rs256, RsaScheme::Ps256];
const TYPS: [TokenTyp; 2] = [TokenTyp::Jwt, TokenTyp::AtJwt];

fn header_prefix(alg: &str, typ: TokenTyp, kid: Option<&str>) -> String {
    let header = match kid {
        Some(kid) => serde_json::json!({"alg": alg, "typ": typ.as_str(), "kid": kid}),
        None => serde_json::json!({"alg": alg, "typ": typ.as_str()}),
    };
    format!("{}.", b64url(header.to_string().as_bytes()))
}

fn payload_of<C: Serialize>(claims: &C) -> Vec<u8> {
    serde_json::to_vec(claims).expect("claims serialise to JSON")
}

/// Signs `claims` with HMAC-SHA-256 under an API's signing secret. The header carries no `kid`:
/// the secret is the API's own, and naming it would say nothing a verifier can use.
pub fn sign_hs256<C: Serialize>(key: &hmac::Key, typ: TokenTyp, claims: &C) -> String {
    let mut token = header_prefix("HS256", typ, None);
    token.push_str(&b64url(&payload_of(claims)));
    let tag = hmac::sign(key, token.as_bytes());
    token.push('.');
    token.push_str(&b64url(tag.as_ref()));
    token
}

/// The HMAC key an API's `signing_secret` stands for: its UTF-8 bytes, as verifiers use it.
pub fn hs256_key(secret: &str) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes())
}

/// The key's self-signed certificate, as a JWKS and Auth0's key objects show it.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub der: Vec<u8>,
    pub pem: String,
}

impl Certificate {
    pub fn from_pem(pem_text: &str) -> Option<Self> {
        let block = pem::parse(pem_text).ok()?;
        (block.tag() == "CERTIFICATE").then(|| Self {
            der: block.contents().to_vec(),
            pem: pem_text.to_owned(),
        })
    }

    /// SHA-1 of the DER, upper-case hex with colons, as Auth0's `fingerprint`.
    pub fn fingerprint(&self) -> String {
        self.sha1_hex(":")
    }

    /// SHA-1 of the DER, upper-case hex, as Auth0's `thumbprint`.
    pub fn thumbprint(&self) -> String {
        self.sha1_hex("")
    }

    fn sha1_hex(&self, separator: &str) -> String {
        digest(&SHA1_FOR_LEGACY_USE_ONLY, &self.der)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(separator)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("RSA key generation failed")]
    Generate,
    #[error("the stored signing key is not a valid RSA PKCS#8 key")]
    Invalid,
    #[error("the signing key's certificate could not be made")]
    Certificate,
}

pub struct SigningKey {
    kid: String,
    pair: KeyPair,
    verifier: ParsedPublicKey,
    n: String,
    e: String,
    /// `base64url({"alg":…,"typ":…,"kid":…})` followed by `.`, computed once for each scheme
    /// (outer index, as [`SCHEMES`]) and `typ` (inner index, as [`TYPS`]).
    header_prefixes: [[String; 2]; 2],
    certificate: Option<Certificate>,
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
        let header_prefixes =
            SCHEMES.map(|scheme| TYPS.map(|typ| header_prefix(scheme.alg(), typ, Some(&kid))));
        Ok(Self {
            kid,
            pair,
            verifier,
            n: b64url(&n_raw),
            e: b64url(&e_raw),
            header_prefixes,
            certificate: None,
        })
    }

    /// This key with its certificate, which its JWK then carries as `x5c`, `x5t` and `x5t#S256`.
    pub fn with_certificate(mut self, certificate: Certificate) -> Self {
        self.certificate = Some(certificate);
        self
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn certificate(&self) -> Option<&Certificate> {
        self.certificate.as_ref()
    }

    /// A self-signed certificate for this key, valid for ten years from `now` (a little
    /// backdated), naming `subject` — like the certificates Auth0 publishes for its keys.
    pub fn self_signed_certificate(
        pkcs8_der: &[u8],
        subject: &str,
        now: time::OffsetDateTime,
    ) -> Result<Certificate, SigningKeyError> {
        let private_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8_der));
        let key =
            rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&private_pem, &rcgen::PKCS_RSA_SHA256)
                .map_err(|_| SigningKeyError::Certificate)?;
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, subject);
        params.not_before = now - time::Duration::minutes(5);
        params.not_after = now + time::Duration::days(3650);
        params.serial_number = Some(rcgen::SerialNumber::from_slice(
            &super::random::bytes::<16>(),
        ));
        let cert = params
            .self_signed(&key)
            .map_err(|_| SigningKeyError::Certificate)?;
        Ok(Certificate {
            der: cert.der().to_vec(),
            pem: cert.pem(),
        })
    }

    /// Signs `claims` as a compact RS256 JWT (`typ: JWT`) carrying this key's `kid`.
    pub fn sign_jwt<C: Serialize>(&self, claims: &C) -> String {
        self.sign(RsaScheme::Rs256, TokenTyp::Jwt, claims)
    }

    /// Signs `claims` as a compact JWT with `scheme` and `typ`, carrying this key's `kid`.
    pub fn sign<C: Serialize>(&self, scheme: RsaScheme, typ: TokenTyp, claims: &C) -> String {
        let prefix = &self.header_prefixes[scheme as usize][typ as usize];
        let payload = payload_of(claims);
        let mut token = String::with_capacity(prefix.len() + payload.len() * 2 + 400);
        token.push_str(prefix);
        token.push_str(&b64url(&payload));
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                scheme.encoding(),
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

    /// The public half as a JWK, for `/.well-known/jwks.json`. `alg` says RS256 as Auth0's
    /// does; an API set to PS256 signs with the same keys (BEHAVIOUR A.10).
    pub fn public_jwk(&self) -> serde_json::Value {
        let mut jwk = serde_json::json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": self.n,
            "e": self.e,
        });
        if let Some(cert) = &self.certificate {
            jwk["x5c"] = serde_json::json!([STANDARD.encode(&cert.der)]);
            jwk["x5t"] = b64url(digest(&SHA1_FOR_LEGACY_USE_ONLY, &cert.der).as_ref()).into();
            jwk["x5t#S256"] = b64url(digest(&SHA256, &cert.der).as_ref()).into();
        }
        jwk
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The tenant's published signing keys: the current one signs, every one verifies and is
/// published (current, next and un-revoked previous keys, in that order).
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: Vec<std::sync::Arc<SigningKey>>,
}

impl KeyRing {
    /// `keys[0]` must be the current key.
    pub fn new(keys: Vec<SigningKey>) -> Option<Self> {
        Self::from_shared(keys.into_iter().map(std::sync::Arc::new).collect())
    }

    /// As [`KeyRing::new`], for keys another ring already parsed.
    pub fn from_shared(keys: Vec<std::sync::Arc<SigningKey>>) -> Option<Self> {
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
        self.keys.iter().map(AsRef::as_ref).find(|k| k.kid == kid)
    }

    pub fn shared(&self, kid: &str) -> Option<std::sync::Arc<SigningKey>> {
        self.keys.iter().find(|k| k.kid == kid).cloned()
    }

    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": self.keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>()})
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
