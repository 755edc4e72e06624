//! Client assertions (RFC 7523 §3, RFC 7521 §4.2): the short JWT an application signs with its
//! private key to authenticate at the token endpoint instead of sending a secret.
//!
//! Claims: `iss` = `sub` = the client id, `aud` = the issuer exactly as given (Auth0 and signet
//! compare it byte for byte, trailing slash included), `iat`, `exp` (at most 300 s later, the
//! limit Auth0 and signet enforce), and a fresh random `jti` (servers accept each one once).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

pub use crate::alg::Alg;
use crate::error::Error;
use crate::key::PrivateKey;

/// Longest accepted `exp - iat`: servers refuse longer-lived assertions (signet's BEHAVIOUR A.6).
pub const MAX_LIFETIME: Duration = Duration::from_secs(300);
/// Long enough to survive a slow network, short enough that a leaked assertion is soon useless.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// Signs client assertions for one application at one server. Cheap to clone; the key is shared.
#[derive(Clone)]
pub struct AssertionSigner {
    key: Arc<PrivateKey>,
    client_id: String,
    audience: String,
    alg: Alg,
    kid: Option<String>,
    lifetime: Duration,
}

impl fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .field("alg", &self.alg)
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
    /// An RS256 signer without `kid` and a 60 s lifetime. `issuer` becomes the `aud` claim
    /// verbatim; it must be an absolute `http(s)` URL.
    pub fn new(key: PrivateKey, client_id: &str, issuer: &str) -> Result<Self, Error> {
        if client_id.is_empty() || client_id.chars().any(char::is_control) {
            return Err(Error::InvalidClientId);
        }
        check_issuer(issuer)?;
        Ok(Self {
            key: Arc::new(key),
            client_id: client_id.to_owned(),
            audience: issuer.to_owned(),
            alg: Alg::RS256,
            kid: None,
            lifetime: DEFAULT_LIFETIME,
        })
    }

    /// The algorithm; it must be the one the credential was registered with.
    pub fn with_alg(mut self, alg: Alg) -> Self {
        self.alg = alg;
        self
    }

    /// A `kid` header naming the credential. Without it the server tries each of the
    /// application's credentials (what Auth0's own SDKs rely on).
    pub fn with_kid(mut self, kid: Option<String>) -> Self {
        self.kid = kid.filter(|k| !k.is_empty());
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
            typ: "JWT",
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
        RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384, RSA_PSS_2048_8192_SHA256,
        UnparsedPublicKey, VerificationAlgorithm,
    };
    use serde_json::Value;

    use super::*;

    const KEY: &str = include_str!("../../tests/fixtures/keys/rsa2048.key.pem");
    const PUBLIC: &str = include_str!("../../tests/fixtures/keys/rsa2048.pub.pem");
    const ISSUER: &str = "https://tenant.example.com/";

    fn signer() -> AssertionSigner {
        AssertionSigner::new(PrivateKey::from_pem(KEY).unwrap(), "app-1", ISSUER).unwrap()
    }

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn verify(token: &str, alg: &'static dyn VerificationAlgorithm) -> bool {
        let spki = pem::parse(PUBLIC).unwrap();
        let (input, signature) = token.rsplit_once('.').unwrap();
        UnparsedPublicKey::new(alg, spki.contents())
            .verify(
                input.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
            .is_ok()
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
        let no_slash =
            AssertionSigner::new(PrivateKey::from_pem(KEY).unwrap(), "a", "https://x.example")
                .unwrap();
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
    fn header_names_the_algorithm_and_the_kid_only_when_given() {
        let token = signer().sign_at(1).unwrap();
        let header = decode(token.split('.').next().unwrap());
        assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT"}));

        let token = signer()
            .with_alg(Alg::PS256)
            .with_kid(Some("my-key-0001".into()))
            .sign_at(1)
            .unwrap();
        let header = decode(token.split('.').next().unwrap());
        assert_eq!(
            header,
            serde_json::json!({"alg": "PS256", "typ": "JWT", "kid": "my-key-0001"})
        );
    }

    #[test]
    fn signs_with_each_algorithm_so_the_public_key_verifies() {
        let cases: [(Alg, &'static dyn VerificationAlgorithm); 3] = [
            (Alg::RS256, &RSA_PKCS1_2048_8192_SHA256),
            (Alg::RS384, &RSA_PKCS1_2048_8192_SHA384),
            (Alg::PS256, &RSA_PSS_2048_8192_SHA256),
        ];
        for (alg, verifier) in cases {
            let token = signer().with_alg(alg).sign_at(1).unwrap();
            assert!(verify(&token, verifier), "{alg}");
            // The signature must be the algorithm's own, not merely some valid RSA signature.
            let other = if alg == Alg::RS256 {
                &RSA_PKCS1_2048_8192_SHA384 as &dyn VerificationAlgorithm
            } else {
                &RSA_PKCS1_2048_8192_SHA256
            };
            assert!(!verify(&token, other), "{alg}");
        }
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
        for bad in ["HS256", "none", "ES256", "RS512", ""] {
            assert!(bad.parse::<Alg>().is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_bad_issuers_and_client_ids() {
        let key = || PrivateKey::from_pem(KEY).unwrap();
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
