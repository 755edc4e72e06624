//! Client assertions (RFC 7523 §3, RFC 7521 §4.2): the short JWT an application signs with its
//! private key to authenticate at the token endpoint instead of sending a secret.
//!
//! Claims: `iss` = `sub` = the client id, `aud` = the issuer exactly as given (Auth0 and signet
//! compare it byte for byte, trailing slash included), `iat`, `exp` (at most 300 s later, the
//! limit Auth0 and signet enforce), and a fresh random `jti` (servers accept each one once).
//!
//! Header: `alg` (the key's own unless another it signs is asked for), `typ` (`JWT`, or
//! `client-authentication+jwt` on request), and `kid`: by default the key's RFC 7638 thumbprint,
//! which is the kid signet (and Auth0) give a credential uploaded without one, so the server
//! goes straight to the right credential.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

pub use crate::alg::{Alg, Typ};
use crate::error::Error;
use crate::key::PrivateKey;

/// Longest accepted `exp - iat`: servers refuse longer-lived assertions (signet's BEHAVIOUR A.6).
pub const MAX_LIFETIME: Duration = Duration::from_secs(300);
/// Long enough to survive a slow network, short enough that a leaked assertion is soon useless.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// What the assertion header's `kid` says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Kid {
    /// The key's RFC 7638 thumbprint ([`PrivateKey::thumbprint`]): the kid signet (and Auth0)
    /// give a credential uploaded without its own.
    #[default]
    Thumbprint,
    /// This kid, for a credential uploaded with its own.
    Explicit(String),
    /// No `kid`: the server tries each of the application's credentials in turn.
    Omit,
}

/// Signs client assertions for one application at one server. Cheap to clone; the key is shared.
#[derive(Clone)]
pub struct AssertionSigner {
    key: Arc<PrivateKey>,
    client_id: String,
    audience: String,
    alg: Alg,
    typ: Typ,
    /// The `kid` header as it will be sent (the thumbprint is computed once, here).
    kid: Option<String>,
    lifetime: Duration,
}

impl fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .field("alg", &self.alg)
            .field("typ", &self.typ)
            .field("kid", &self.kid)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
}

impl AssertionSigner {
    /// A signer with the key's default algorithm ([`PrivateKey::default_alg`]: RS256 for RSA
    /// keys), `typ: JWT`, the key's thumbprint as `kid` and a 60 s lifetime. `issuer` becomes the
    /// `aud` claim verbatim; it must be an absolute `http(s)` URL.
    pub fn new(key: PrivateKey, client_id: &str, issuer: &str) -> Result<Self, Error> {
        if client_id.is_empty() || client_id.chars().any(char::is_control) {
            return Err(Error::InvalidClientId);
        }
        check_issuer(issuer)?;
        Ok(Self {
            alg: key.default_alg(),
            kid: Some(key.thumbprint()),
            key: Arc::new(key),
            client_id: client_id.to_owned(),
            audience: issuer.to_owned(),
            typ: Typ::Jwt,
            lifetime: DEFAULT_LIFETIME,
        })
    }

    /// The algorithm; it must be the one the credential was registered with, and one the key
    /// signs ([`Error::AlgKeyMismatch`] otherwise: an RSA key cannot sign ES256, a P-256 key
    /// cannot sign ES384).
    pub fn with_alg(mut self, alg: Alg) -> Result<Self, Error> {
        if !self.key.signs(alg) {
            return Err(Error::AlgKeyMismatch {
                alg,
                key: self.key.key_type(),
            });
        }
        self.alg = alg;
        Ok(self)
    }

    /// The `kid` header: the key's thumbprint (the default), a credential's own kid, or none. An
    /// empty explicit kid means none.
    pub fn with_kid(mut self, kid: Kid) -> Self {
        self.kid = match kid {
            Kid::Thumbprint => Some(self.key.thumbprint()),
            Kid::Explicit(kid) if !kid.is_empty() => Some(kid),
            Kid::Explicit(_) | Kid::Omit => None,
        };
        self
    }

    /// The `typ` header (default `JWT`).
    pub fn with_typ(mut self, typ: Typ) -> Self {
        self.typ = typ;
        self
    }

    /// `exp - iat`, 1 to 300 seconds; anything longer would be refused by the server, so it is
    /// refused here, where the cause is obvious.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Result<Self, Error> {
        if lifetime > MAX_LIFETIME || lifetime < Duration::from_secs(1) {
            return Err(Error::Lifetime {
                seconds: lifetime.as_secs(),
            });
        }
        self.lifetime = lifetime;
        Ok(self)
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The issuer, which is also the assertions' `aud`.
    pub fn issuer(&self) -> &str {
        &self.audience
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    pub fn typ(&self) -> Typ {
        self.typ
    }

    /// The `kid` header the assertions carry, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key the assertions are signed with.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// A fresh assertion, valid from now.
    pub fn sign(&self) -> Result<String, Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::Clock)?
            .as_secs();
        self.sign_at(now)
    }

    /// A fresh assertion issued at `now` (seconds since the Unix epoch).
    pub fn sign_at(&self, now: u64) -> Result<String, Error> {
        let header = Header {
            alg: self.alg.as_str(),
            typ: self.typ.as_str(),
            kid: self.kid.as_deref(),
        };
        let claims = Claims {
            iss: &self.client_id,
            sub: &self.client_id,
            aud: &self.audience,
            iat: now,
            exp: now + self.lifetime.as_secs(),
            jti: new_jti(),
        };
        let mut token = encode_json(&header)?;
        token.push('.');
        token.push_str(&encode_json(&claims)?);
        let signature = self
            .key
            .sign(self.alg, token.as_bytes())
            .ok_or(Error::Signing)?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }
}

fn encode_json(value: &impl Serialize) -> Result<String, Error> {
    let json = serde_json::to_vec(value).map_err(|_| Error::Signing)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// 192 random bits, 32 characters: unique without coordination, well under the 64-character
/// limit servers put on `jti`.
fn new_jti() -> String {
    let mut bytes = [0u8; 24];
    // aws-lc's RNG fails only when the OS has no entropy left; an assertion then cannot be
    // unique, so this is one of the rare places a panic is the honest answer.
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn check_issuer(issuer: &str) -> Result<(), Error> {
    let url = url::Url::parse(issuer).map_err(|e| Error::InvalidIssuer {
        issuer: issuer.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(Error::InvalidIssuer {
            issuer: issuer.to_owned(),
            reason: "it must be an http:// or https:// URL".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256,
        RSA_PKCS1_2048_8192_SHA384, RSA_PSS_2048_8192_SHA256, UnparsedPublicKey,
        VerificationAlgorithm,
    };
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use serde_json::{Value, json};

    use super::*;
    use crate::alg::KeyType;
    use crate::key::tests::{p384_pems, rfc8037_pem};

    const KEY: &str = include_str!("../../tests/fixtures/keys/rsa2048.key.pem");
    const EC_KEY: &str = include_str!("../../tests/fixtures/keys/ec-p256.key.pem");
    const EC_SEC1: &str = include_str!("../../tests/fixtures/keys/ec-p256.sec1.key.pem");
    const ISSUER: &str = "https://tenant.example.com/";

    fn key(pem: &str) -> PrivateKey {
        PrivateKey::from_pem(pem).unwrap()
    }

    fn signer() -> AssertionSigner {
        AssertionSigner::new(key(KEY), "app-1", ISSUER).unwrap()
    }

    /// One private key PEM of each type, with the PEM of its public half.
    fn keys() -> Vec<(String, String)> {
        let (p384, _) = p384_pems();
        [KEY.to_owned(), EC_KEY.to_owned(), p384, rfc8037_pem()]
            .into_iter()
            .map(|pem| {
                let public = pem::encode(&pem::Pem::new("PUBLIC KEY", key(&pem).public_key_der()));
                (pem, public)
            })
            .collect()
    }

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn header_of(token: &str) -> Value {
        decode(token.split('.').next().unwrap())
    }

    fn verify(token: &str, spki: &[u8], alg: &'static dyn VerificationAlgorithm) -> bool {
        let (input, signature) = token.rsplit_once('.').unwrap();
        UnparsedPublicKey::new(alg, spki)
            .verify(
                input.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
            .is_ok()
    }

    /// The public key in the form aws-lc's verifiers take: SPKI for RSA, the SEC1 point for
    /// ECDSA, the raw 32 bytes for Ed25519.
    fn verifier_key(key: &PrivateKey) -> Vec<u8> {
        let jwk = key.public_jwk();
        let b = |m: &str| URL_SAFE_NO_PAD.decode(jwk[m].as_str().unwrap()).unwrap();
        match key.key_type() {
            KeyType::Rsa => key.public_key_der(),
            KeyType::EcP256 | KeyType::EcP384 => [vec![4], b("x"), b("y")].concat(),
            KeyType::Ed25519 => b("x"),
        }
    }

    #[test]
    fn carries_the_claims_rfc_7523_requires() {
        let token = signer().sign_at(1_800_000_000).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims = decode(parts[1]);
        assert_eq!(claims["iss"], "app-1");
        assert_eq!(claims["sub"], "app-1");
        assert_eq!(
            claims["aud"], ISSUER,
            "aud is the issuer, as a single string"
        );
        assert_eq!(claims["iat"], 1_800_000_000u64);
        assert_eq!(claims["exp"], 1_800_000_060u64);
        let jti = claims["jti"].as_str().unwrap();
        assert!(jti.len() >= 16 && jti.len() <= 64, "{jti}");
        assert_eq!(
            claims.as_object().unwrap().len(),
            6,
            "no other claims: {claims}"
        );
    }

    #[test]
    fn keeps_the_issuer_byte_for_byte() {
        let no_slash = AssertionSigner::new(key(KEY), "a", "https://x.example").unwrap();
        let token = no_slash.sign_at(1).unwrap();
        assert_eq!(
            decode(token.split('.').nth(1).unwrap())["aud"],
            "https://x.example"
        );
    }

    #[test]
    fn every_assertion_has_a_new_jti() {
        let s = signer();
        let a = decode(s.sign_at(1).unwrap().split('.').nth(1).unwrap());
        let b = decode(s.sign_at(1).unwrap().split('.').nth(1).unwrap());
        assert_ne!(a["jti"], b["jti"]);
    }

    #[test]
    fn header_carries_the_key_thumbprint_as_kid_by_default() {
        for (pem, _) in keys() {
            let k = key(&pem);
            let thumbprint = k.thumbprint();
            let alg = k.default_alg();
            let s = AssertionSigner::new(k, "app-1", ISSUER).unwrap();
            assert_eq!(s.kid(), Some(thumbprint.as_str()));
            assert_eq!(
                header_of(&s.sign_at(1).unwrap()),
                json!({"alg": alg.as_str(), "typ": "JWT", "kid": thumbprint})
            );
        }
    }

    #[test]
    fn header_carries_an_explicit_kid_or_none_when_asked() {
        let token = signer()
            .with_alg(Alg::PS256)
            .unwrap()
            .with_kid(Kid::Explicit("my-key-0001".into()))
            .sign_at(1)
            .unwrap();
        assert_eq!(
            header_of(&token),
            json!({"alg": "PS256", "typ": "JWT", "kid": "my-key-0001"})
        );

        for omitted in [Kid::Omit, Kid::Explicit(String::new())] {
            let s = signer().with_kid(omitted);
            assert_eq!(s.kid(), None);
            assert_eq!(
                header_of(&s.sign_at(1).unwrap()),
                json!({"alg": "RS256", "typ": "JWT"})
            );
        }
        // And back to the default.
        let s = signer().with_kid(Kid::Omit).with_kid(Kid::Thumbprint);
        assert_eq!(s.kid(), Some(key(KEY).thumbprint().as_str()));
    }

    #[test]
    fn typ_is_jwt_unless_the_explicit_type_is_asked_for() {
        assert_eq!(header_of(&signer().sign_at(1).unwrap())["typ"], "JWT");
        let s = signer().with_typ(Typ::ClientAuthentication);
        assert_eq!(s.typ(), Typ::ClientAuthentication);
        assert_eq!(
            header_of(&s.sign_at(1).unwrap())["typ"],
            "client-authentication+jwt"
        );
        assert_eq!(
            "client-authentication+jwt".parse::<Typ>().unwrap(),
            Typ::ClientAuthentication
        );
        assert_eq!("jwt".parse::<Typ>().unwrap(), Typ::Jwt);
        for bad in ["", "at+jwt", "JOSE"] {
            assert!(bad.parse::<Typ>().is_err(), "{bad}");
        }
    }

    #[test]
    fn signs_with_each_algorithm_so_the_public_key_verifies() {
        let (p384, _) = p384_pems();
        let cases: [(&str, Alg, &'static dyn VerificationAlgorithm); 6] = [
            (KEY, Alg::RS256, &RSA_PKCS1_2048_8192_SHA256),
            (KEY, Alg::RS384, &RSA_PKCS1_2048_8192_SHA384),
            (KEY, Alg::PS256, &RSA_PSS_2048_8192_SHA256),
            (EC_SEC1, Alg::ES256, &ECDSA_P256_SHA256_FIXED),
            (&p384, Alg::ES384, &ECDSA_P384_SHA384_FIXED),
            (&rfc8037_pem(), Alg::EdDSA, &ED25519),
        ];
        for (pem, alg, verifier) in cases {
            let k = key(pem);
            let public = verifier_key(&k);
            let token = AssertionSigner::new(k, "app-1", ISSUER)
                .unwrap()
                .with_alg(alg)
                .unwrap()
                .sign_at(1)
                .unwrap();
            assert_eq!(header_of(&token)["alg"], alg.as_str());
            assert!(verify(&token, &public, verifier), "{alg}");
            // The signature must be the algorithm's own, not merely some valid one for the key.
            let other = match alg {
                Alg::RS256 => &RSA_PKCS1_2048_8192_SHA384 as &dyn VerificationAlgorithm,
                Alg::RS384 | Alg::PS256 => &RSA_PKCS1_2048_8192_SHA256,
                Alg::ES256 => &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
                Alg::ES384 => &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1,
                Alg::EdDSA => &RSA_PKCS1_2048_8192_SHA256,
            };
            assert!(!verify(&token, &public, other), "{alg}");
        }
    }

    #[test]
    fn ecdsa_signatures_are_fixed_width_r_and_s_as_jws_requires() {
        let (p384, _) = p384_pems();
        for (pem, len) in [(EC_KEY, 64), (p384.as_str(), 96)] {
            let token = AssertionSigner::new(key(pem), "a", ISSUER)
                .unwrap()
                .sign_at(1)
                .unwrap();
            let signature = URL_SAFE_NO_PAD
                .decode(token.rsplit('.').next().unwrap())
                .unwrap();
            assert_eq!(signature.len(), len);
        }
    }

    #[test]
    fn every_algorithm_verifies_with_jsonwebtoken() {
        for (pem, public) in keys() {
            let k = key(&pem);
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(k.public_jwk()).unwrap();
            for &alg in k.key_type().algs() {
                let (decoding, algorithm) = match alg {
                    Alg::RS256 => (
                        DecodingKey::from_rsa_pem(public.as_bytes()),
                        Algorithm::RS256,
                    ),
                    Alg::RS384 => (
                        DecodingKey::from_rsa_pem(public.as_bytes()),
                        Algorithm::RS384,
                    ),
                    Alg::PS256 => (
                        DecodingKey::from_rsa_pem(public.as_bytes()),
                        Algorithm::PS256,
                    ),
                    Alg::ES256 => (
                        DecodingKey::from_ec_pem(public.as_bytes()),
                        Algorithm::ES256,
                    ),
                    Alg::ES384 => (
                        DecodingKey::from_ec_pem(public.as_bytes()),
                        Algorithm::ES384,
                    ),
                    Alg::EdDSA => (
                        DecodingKey::from_ed_pem(public.as_bytes()),
                        Algorithm::EdDSA,
                    ),
                };
                let token = AssertionSigner::new(key(&pem), "app-1", ISSUER)
                    .unwrap()
                    .with_alg(alg)
                    .unwrap()
                    .with_typ(Typ::ClientAuthentication)
                    .sign()
                    .unwrap();
                let mut validation = Validation::new(algorithm);
                validation.set_audience(&[ISSUER]);
                validation.set_issuer(&["app-1"]);
                validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub", "jti"]);
                for decoding in [decoding.unwrap(), DecodingKey::from_jwk(&jwk).unwrap()] {
                    let data = jsonwebtoken::decode::<Value>(&token, &decoding, &validation)
                        .unwrap_or_else(|e| panic!("{alg}: {e}"));
                    assert_eq!(data.claims["sub"], "app-1");
                    assert_eq!(data.header.kid.as_deref(), Some(k.thumbprint().as_str()));
                }
            }
        }
    }

    #[test]
    fn refuses_an_algorithm_the_key_does_not_sign() {
        let (p384, _) = p384_pems();
        let cases = [
            (KEY, Alg::ES256, KeyType::Rsa),
            (KEY, Alg::EdDSA, KeyType::Rsa),
            (EC_KEY, Alg::ES384, KeyType::EcP256),
            (EC_KEY, Alg::RS256, KeyType::EcP256),
            (&p384, Alg::ES256, KeyType::EcP384),
            (&rfc8037_pem(), Alg::PS256, KeyType::Ed25519),
        ];
        for (pem, alg, key_type) in cases {
            let err = AssertionSigner::new(key(pem), "a", ISSUER)
                .unwrap()
                .with_alg(alg)
                .unwrap_err();
            assert!(
                matches!(err, Error::AlgKeyMismatch { alg: a, key: k } if a == alg && k == key_type),
                "{alg}: {err:?}"
            );
        }
        let message = AssertionSigner::new(key(KEY), "a", ISSUER)
            .unwrap()
            .with_alg(Alg::ES256)
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "ES256 needs an EC P-256 key, but this key is RSA; with this key use RS256, RS384 or \
             PS256"
        );
        let message = AssertionSigner::new(key(EC_KEY), "a", ISSUER)
            .unwrap()
            .with_alg(Alg::ES384)
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "ES384 needs an EC P-384 key, but this key is EC P-256; with this key use ES256"
        );
    }

    #[test]
    fn lifetime_is_bounded_by_300_seconds() {
        let s = signer().with_lifetime(Duration::from_secs(300)).unwrap();
        let claims = decode(s.sign_at(1000).unwrap().split('.').nth(1).unwrap());
        assert_eq!(claims["exp"], 1300u64);

        for refused in [301, 3600, 0] {
            assert!(
                matches!(
                    signer().with_lifetime(Duration::from_secs(refused)),
                    Err(Error::Lifetime { seconds }) if seconds == refused
                ),
                "{refused}"
            );
        }
    }

    #[test]
    fn parses_algorithm_names_and_refuses_others() {
        assert_eq!("RS256".parse::<Alg>().unwrap(), Alg::RS256);
        assert_eq!("rs384".parse::<Alg>().unwrap(), Alg::RS384);
        assert_eq!("PS256".parse::<Alg>().unwrap(), Alg::PS256);
        assert_eq!("ES256".parse::<Alg>().unwrap(), Alg::ES256);
        assert_eq!("es384".parse::<Alg>().unwrap(), Alg::ES384);
        assert_eq!("EdDSA".parse::<Alg>().unwrap(), Alg::EdDSA);
        assert_eq!("EDDSA".parse::<Alg>().unwrap(), Alg::EdDSA);
        for alg in Alg::ALL {
            assert_eq!(alg.as_str().parse::<Alg>().unwrap(), alg);
        }
        for bad in ["HS256", "none", "ES512", "RS512", "Ed25519", ""] {
            assert!(bad.parse::<Alg>().is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_bad_issuers_and_client_ids() {
        let key = || key(KEY);
        for issuer in ["tenant.example.com", "ftp://x/", "", "https://"] {
            assert!(
                matches!(
                    AssertionSigner::new(key(), "a", issuer),
                    Err(Error::InvalidIssuer { .. })
                ),
                "{issuer}"
            );
        }
        assert!(matches!(
            AssertionSigner::new(key(), "", ISSUER),
            Err(Error::InvalidClientId)
        ));
        assert!(matches!(
            AssertionSigner::new(key(), "a\nb", ISSUER),
            Err(Error::InvalidClientId)
        ));
    }
}
