//! Private Key JWT credentials: an application's uploaded public keys (RSA, P-256, P-384,
//! Ed25519) or the URL where it publishes them, and the rules for accepting them (BEHAVIOUR A.1,
//! B.8, B.11, B.12). Problems are found here, at upload time, never at token time.

use super::{Invalid, check_len};
pub use crate::crypto::alg::AssertionAlg;
use crate::crypto::public_key::{PublicKeyInfo, parse_public_key_pem};
use crate::time_util::{Millis, from_datetime, parse_iso8601};

/// At most this many credentials per application, associated or not, expired or not.
pub const MAX_PER_CLIENT: usize = 2;
pub const CREDENTIAL_TYPE: &str = "public_key";
/// A signet extension: the application publishes its keys at a URL (BEHAVIOUR B.12).
pub const JWKS_URI_TYPE: &str = "jwks_uri";
pub use super::federated::FEDERATED_TYPE;
use super::federated::{FederatedRule, FederatedUpload};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub client_id: String,
    pub name: String,
    pub key: CredentialKey,
    pub expires_at: Option<Millis>,
    pub associated: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_used_at: Option<Millis>,
}

/// Where a credential's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialKey {
    /// An uploaded public key: Auth0's `public_key` credential.
    Uploaded(UploadedKey),
    /// A JWK Set fetched from this URL (checked against the key-URL rules when accepted).
    JwksUri(String),
    /// Tokens a workload platform issues (BEHAVIOUR B.13).
    Federated(Box<FederatedRule>),
}

impl CredentialKey {
    pub fn credential_type(&self) -> &'static str {
        match self {
            Self::Uploaded(_) => CREDENTIAL_TYPE,
            Self::JwksUri(_) => JWKS_URI_TYPE,
            Self::Federated(_) => FEDERATED_TYPE,
        }
    }

    pub fn uploaded(&self) -> Option<&UploadedKey> {
        match self {
            Self::Uploaded(key) => Some(key),
            Self::JwksUri(_) | Self::Federated(_) => None,
        }
    }

    pub fn jwks_uri(&self) -> Option<&str> {
        match self {
            Self::JwksUri(uri) => Some(uri),
            Self::Uploaded(_) | Self::Federated(_) => None,
        }
    }

    pub fn federated(&self) -> Option<&FederatedRule> {
        match self {
            Self::Federated(rule) => Some(rule),
            Self::Uploaded(_) | Self::JwksUri(_) => None,
        }
    }

    /// Which `client_authentication_methods` entry lists the credential when it is enabled.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Uploaded(_) | Self::JwksUri(_) => "private_key_jwt",
            Self::Federated(_) => "federated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedKey {
    pub kid: String,
    pub alg: AssertionAlg,
    /// The bytes the verifier of `alg` takes (`PublicKeyInfo::verifier_bytes`): PKCS#1
    /// RSAPublicKey DER for RSA, the uncompressed point for P-256 and P-384, the raw 32 bytes
    /// for Ed25519.
    pub public_key: Vec<u8>,
    /// RFC 7638; the same key twice on one application is refused.
    pub thumbprint: String,
}

impl Credential {
    pub fn is_expired(&self, now: Millis) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

/// A credential to upload, as the Management API builds it from Auth0's JSON (alone, or inside
/// a new application) and the dashboard from its form.
#[derive(Debug, Clone)]
pub struct CredentialUpload {
    /// Auth0's `credential_type`: `public_key`, or signet's `jwks_uri`.
    pub credential_type: String,
    pub name: Option<String>,
    /// Empty when the body had none.
    pub pem: String,
    /// With `credential_type: jwks_uri`, or a `federated` credential's key URL.
    pub jwks_uri: Option<String>,
    /// The fields of a `federated` credential, when any was sent.
    pub federated: Option<FederatedUpload>,
    pub alg: Option<AssertionAlg>,
    pub expires_at: Option<ExpiresAt>,
    /// Take `expires_at` from the certificate's `notAfter`.
    pub parse_expiry_from_cert: bool,
    pub kid: Option<String>,
}

impl CredentialUpload {
    /// An upload of `pem` with every other field left to its default.
    pub fn of_pem(pem: String) -> Self {
        Self {
            credential_type: CREDENTIAL_TYPE.into(),
            name: None,
            pem,
            jwks_uri: None,
            federated: None,
            alg: None,
            expires_at: None,
            parse_expiry_from_cert: false,
            kid: None,
        }
    }
}

/// An expiry as it arrives: the text a caller wrote (checked where the other upload rules are),
/// or an instant a form has already read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpiresAt {
    Written(String),
    At(Millis),
}

impl ExpiresAt {
    /// The instant, which must lie in the future (BEHAVIOUR B.11).
    pub fn resolve(&self, now: Millis) -> Result<Millis, Invalid> {
        let at = match self {
            Self::Written(text) => parse_written_expiry(text)?,
            Self::At(at) => *at,
        };
        if at <= now {
            return Err(Invalid::field("expires_at", "must be in the future"));
        }
        Ok(at)
    }
}

/// A change to a credential: only its expiry can change (BEHAVIOUR A.1); `None` clears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialPatch {
    pub expires_at: Option<ExpiresAt>,
}

/// A credential that passed every upload rule, ready to store.
#[derive(Debug, Clone)]
pub struct AcceptedCredential {
    pub name: String,
    pub key: CredentialKey,
    pub expires_at: Option<Millis>,
}

/// A caller-chosen kid: `^[0-9a-zA-Z-_]{10,64}$` (BEHAVIOUR A.1).
pub fn validate_kid(kid: &str) -> Result<(), Invalid> {
    if !(10..=64).contains(&kid.len())
        || !kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Invalid::field(
            "kid",
            "must be 10 to 64 characters of A-Z, a-z, 0-9, '-' and '_'",
        ));
    }
    Ok(())
}

/// `expires_at` as written by a caller: an ISO 8601 instant with a time zone.
fn parse_written_expiry(text: &str) -> Result<Millis, Invalid> {
    parse_iso8601(text).ok_or_else(|| {
        Invalid::field(
            "expires_at",
            "must be an ISO 8601 date-time with a time zone, e.g. 2030-08-20T19:10:06.299Z",
        )
    })
}

impl CredentialUpload {
    /// Applies every upload rule (BEHAVIOUR A.1, B.8). `prefix` names where the credential sits in
    /// the request (e.g. `client_authentication_methods.private_key_jwt.credentials[1].`).
    pub fn accept(&self, now: Millis, prefix: &str) -> Result<AcceptedCredential, Invalid> {
        let named = |e: Invalid| e.within(prefix);
        let name = self.name.clone().unwrap_or_default();
        match self.credential_type.as_str() {
            CREDENTIAL_TYPE => {}
            JWKS_URI_TYPE => return self.accept_jwks_uri(name, now).map_err(named),
            FEDERATED_TYPE => return self.accept_federated(name, now).map_err(named),
            other => {
                return Err(named(Invalid::field(
                    "credential_type",
                    format!(
                        "must be \"{CREDENTIAL_TYPE}\", \"{JWKS_URI_TYPE}\" or \"{FEDERATED_TYPE}\" (got {other:?})"
                    ),
                )));
            }
        }
        if self.federated.is_some() {
            return Err(named(Invalid::new(format!(
                "issuer, subject, claims, audience, jwks, preset, max_token_lifetime and replay \
                 are only for credential_type \"{FEDERATED_TYPE}\""
            ))));
        }
        check_len("name", &name, 0, 128).map_err(named)?;
        if self.jwks_uri.is_some() {
            return Err(named(Invalid::field(
                "jwks_uri",
                format!("is only for credential_type \"{JWKS_URI_TYPE}\""),
            )));
        }
        let key: PublicKeyInfo = parse_public_key_pem(&self.pem)
            .map_err(|e| named(Invalid::found_in("pem", e.to_string())))?;
        // BEHAVIOUR B.8: the algorithm must be one the key can sign with; none given means the
        // key's own (RS256 for RSA, as Auth0).
        let alg = match self.alg {
            Some(alg) => {
                alg.check_fits(&key)
                    .map_err(|problem| named(Invalid::found_in("alg", problem)))?;
                alg
            }
            None => AssertionAlg::default_for(key.kind),
        };
        let expires_at = match (self.parse_expiry_from_cert, &self.expires_at) {
            (true, Some(_)) => {
                return Err(named(Invalid::field(
                    "parse_expiry_from_cert",
                    "and expires_at cannot be used together",
                )));
            }
            (true, None) => {
                let not_after = key.certificate_not_after.ok_or_else(|| {
                    named(Invalid::field(
                        "parse_expiry_from_cert",
                        "needs an X.509 certificate in pem, not a bare public key",
                    ))
                })?;
                let at = from_datetime(not_after);
                if at <= now {
                    return Err(named(Invalid::new(
                        "the certificate has already expired (notAfter is in the past)",
                    )));
                }
                Some(at)
            }
            (false, Some(at)) => Some(at.resolve(now).map_err(named)?),
            (false, None) => None,
        };
        let kid = match &self.kid {
            Some(kid) => {
                validate_kid(kid).map_err(named)?;
                kid.clone()
            }
            None => key.thumbprint.clone(),
        };
        Ok(AcceptedCredential {
            name,
            key: CredentialKey::Uploaded(UploadedKey {
                kid,
                alg,
                public_key: key.verifier_bytes,
                thumbprint: key.thumbprint,
            }),
            expires_at,
        })
    }

    /// A `jwks_uri` credential names where the keys are, nothing about them: the key fields of
    /// an upload are refused rather than ignored. The URL's reachability rules need the
    /// server's settings and are checked by the caller (BEHAVIOUR B.12).
    fn accept_jwks_uri(&self, name: String, now: Millis) -> Result<AcceptedCredential, Invalid> {
        check_len("name", &name, 0, 128)?;
        self.refuse_key_fields(JWKS_URI_TYPE, ": the keys and their kids come from the set")?;
        if self.federated.is_some() {
            return Err(Invalid::new(format!(
                "issuer, subject, claims, audience, jwks, preset, max_token_lifetime and replay \
                 are only for credential_type \"{FEDERATED_TYPE}\""
            )));
        }
        let uri = self
            .jwks_uri
            .clone()
            .ok_or_else(|| Invalid::field("jwks_uri", "is required"))?;
        Ok(AcceptedCredential {
            name,
            key: CredentialKey::JwksUri(uri),
            expires_at: self.written_expiry(now)?,
        })
    }
}

impl CredentialUpload {
    /// A credential without an uploaded key takes none of a key's fields: refused, naming the
    /// field, rather than ignored.
    fn refuse_key_fields(&self, credential_type: &str, why: &str) -> Result<(), Invalid> {
        let refused = |field: &str| {
            Invalid::field(
                field,
                format!("is not used with credential_type \"{credential_type}\"{why}"),
            )
        };
        if !self.pem.is_empty() {
            return Err(refused("pem"));
        }
        if self.alg.is_some() {
            return Err(refused("alg"));
        }
        if self.kid.is_some() {
            return Err(refused("kid"));
        }
        if self.parse_expiry_from_cert {
            return Err(refused("parse_expiry_from_cert"));
        }
        Ok(())
    }

    /// The expiry a caller wrote, if any (a keyless credential has no certificate to read one
    /// from).
    fn written_expiry(&self, now: Millis) -> Result<Option<Millis>, Invalid> {
        self.expires_at
            .as_ref()
            .map(|at| at.resolve(now))
            .transpose()
    }

    /// A federated credential names an issuer and what its tokens must say, nothing about
    /// uploaded keys (BEHAVIOUR B.13).
    fn accept_federated(&self, name: String, now: Millis) -> Result<AcceptedCredential, Invalid> {
        check_len("name", &name, 0, 128)?;
        self.refuse_key_fields(FEDERATED_TYPE, "")?;
        let rule = self
            .federated
            .clone()
            .unwrap_or_default()
            .accept(self.jwks_uri.as_deref())?;
        Ok(AcceptedCredential {
            name,
            key: CredentialKey::Federated(Box::new(rule)),
            expires_at: self.written_expiry(now)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUB: &str = include_str!("../../tests/fixtures/keys/rsa2048.pub.pem");
    const CERT: &str = include_str!("../../tests/fixtures/keys/rsa2048.cert.pem");
    const NOW: Millis = 1_800_000_000_000;

    fn new(pem: &str) -> CredentialUpload {
        CredentialUpload::of_pem(pem.into())
    }

    #[test]
    fn defaults_are_rs256_thumbprint_kid_and_no_expiry() {
        let c = new(PUB).accept(NOW, "").unwrap();
        assert_eq!(c.expires_at, None);
        let key = c.key.uploaded().unwrap();
        assert_eq!(key.alg, AssertionAlg::RS256);
        assert_eq!(key.kid, key.thumbprint);
        assert_eq!(key.kid.len(), 43);
    }

    #[test]
    fn an_ec_or_ed25519_key_defaults_to_its_alg_and_stores_its_verifier_bytes() {
        for (pem, alg, len) in [
            (
                include_str!("../../tests/fixtures/keys/ec-p256.pub.pem"),
                AssertionAlg::ES256,
                65,
            ),
            (
                include_str!("../../tests/fixtures/keys/ec-p384.cert.pem"),
                AssertionAlg::ES384,
                97,
            ),
            (
                include_str!("../../tests/fixtures/keys/ed25519.pub.pem"),
                AssertionAlg::EdDSA,
                32,
            ),
        ] {
            let c = new(pem).accept(NOW, "").unwrap();
            let key = c.key.uploaded().unwrap();
            assert_eq!(key.alg, alg);
            assert_eq!(key.public_key.len(), len);
            assert_eq!(key.kid, key.thumbprint);
            let mut named = new(pem);
            named.alg = Some(alg);
            let accepted = named.accept(NOW, "").unwrap();
            assert_eq!(accepted.key.uploaded().unwrap().alg, alg);
        }
    }

    #[test]
    fn an_alg_that_does_not_fit_the_key_is_refused_naming_both() {
        let mut c = new(PUB);
        for alg in [
            AssertionAlg::RS256,
            AssertionAlg::RS384,
            AssertionAlg::PS256,
        ] {
            c.alg = Some(alg);
            let accepted = c.accept(NOW, "").unwrap();
            assert_eq!(accepted.key.uploaded().unwrap().alg, alg);
        }
        c.alg = Some(AssertionAlg::ES256);
        assert_eq!(
            c.accept(NOW, "credentials[0].").unwrap_err().to_string(),
            "credentials[0].alg: ES256 needs a P-256 key; this key is RSA 2048 bits"
        );
        let mut ec = new(include_str!("../../tests/fixtures/keys/ec-p256.pub.pem"));
        for (alg, message) in [
            (
                AssertionAlg::ES384,
                "alg: ES384 needs a P-384 key; this key is P-256",
            ),
            (
                AssertionAlg::RS256,
                "alg: RS256 needs an RSA key; this key is P-256",
            ),
            (
                AssertionAlg::EdDSA,
                "alg: EdDSA needs an Ed25519 key; this key is P-256",
            ),
        ] {
            ec.alg = Some(alg);
            assert_eq!(ec.accept(NOW, "").unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn expiry_comes_from_the_certificate_only_when_asked_and_possible() {
        let mut c = new(CERT);
        c.parse_expiry_from_cert = true;
        assert!(c.accept(NOW, "").unwrap().expires_at.is_some());
        let mut bare = new(PUB);
        bare.parse_expiry_from_cert = true;
        assert!(
            bare.accept(NOW, "")
                .unwrap_err()
                .to_string()
                .contains("certificate")
        );
        c.expires_at = Some(ExpiresAt::Written("2031-01-01T00:00:00Z".into()));
        assert!(
            c.accept(NOW, "")
                .unwrap_err()
                .to_string()
                .contains("together")
        );
    }

    #[test]
    fn expires_at_must_parse_and_lie_in_the_future() {
        let mut c = new(PUB);
        c.expires_at = Some(ExpiresAt::Written("2020-08-20T19:10:06.299Z".into()));
        assert!(
            c.accept(NOW, "")
                .unwrap_err()
                .to_string()
                .contains("future")
        );
        c.expires_at = Some(ExpiresAt::Written("next tuesday".into()));
        assert!(
            c.accept(NOW, "")
                .unwrap_err()
                .to_string()
                .contains("ISO 8601")
        );
        c.expires_at = Some(ExpiresAt::Written("2030-08-20T19:10:06.299Z".into()));
        assert_eq!(
            c.accept(NOW, "").unwrap().expires_at,
            Some(1_913_483_406_299)
        );
    }

    #[test]
    fn caller_kids_are_checked_and_errors_name_their_place() {
        let mut c = new(PUB);
        c.kid = Some("short".into());
        assert!(
            c.accept(NOW, "credentials[0].")
                .unwrap_err()
                .to_string()
                .starts_with("credentials[0].kid")
        );
        c.kid = Some("my-own-kid_2026".into());
        assert_eq!(
            c.accept(NOW, "").unwrap().key.uploaded().unwrap().kid,
            "my-own-kid_2026"
        );
        c.credential_type = "x509_cert".into();
        assert!(c.accept(NOW, "").is_err());
    }

    #[test]
    fn jwks_uri_credentials_name_a_url_and_nothing_about_keys() {
        let mut c = CredentialUpload::of_pem(String::new());
        c.credential_type = JWKS_URI_TYPE.into();
        assert!(
            c.accept(NOW, "")
                .unwrap_err()
                .to_string()
                .starts_with("jwks_uri")
        );
        c.jwks_uri = Some("https://keys.example.com/jwks.json".into());
        let accepted = c.accept(NOW, "").unwrap();
        assert_eq!(
            accepted.key.jwks_uri(),
            Some("https://keys.example.com/jwks.json")
        );
        c.kid = Some("my-own-kid_2026".into());
        assert!(
            c.accept(NOW, "x.")
                .unwrap_err()
                .to_string()
                .starts_with("x.kid")
        );
        c.kid = None;
        c.pem = PUB.into();
        assert!(
            c.accept(NOW, "")
                .unwrap_err()
                .to_string()
                .starts_with("pem")
        );
        let mut key = new(PUB);
        key.jwks_uri = Some("https://keys.example.com/jwks.json".into());
        assert!(
            key.accept(NOW, "")
                .unwrap_err()
                .to_string()
                .starts_with("jwks_uri")
        );
    }
}
