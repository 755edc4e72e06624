//! The signature algorithms a client assertion can be signed with, the key types that sign them,
//! and the assertion header's `typ`. Its own module, so that keys (which sign with an algorithm)
//! and assertions (which name it) both depend on it and not on each other.
//!
//! RS256, RS384 and PS256 are what Auth0 accepts (signet's BEHAVIOUR B.4); ES256, ES384 and EdDSA
//! are signet extensions beyond Auth0, which accepts only uploaded RSA keys.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PSS_SHA256, RsaEncoding};

use crate::error::Error;

/// A JWS algorithm for client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[allow(clippy::upper_case_acronyms)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256; the default for RSA keys.
    #[default]
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PSS with SHA-256 (RFC 7518 §3.5).
    PS256,
    /// ECDSA on P-256 with SHA-256 (RFC 7518 §3.4).
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519 (RFC 8037 §3.1).
    EdDSA,
}

impl Alg {
    /// Every algorithm, in the order error messages list them.
    pub const ALL: [Alg; 6] = [
        Self::RS256,
        Self::RS384,
        Self::PS256,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
    ];

    /// The JWS `alg` name (RFC 7518 §3.1, RFC 8037 §3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::PS256 => "PS256",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }

    /// The one key type that signs with this algorithm: an ES256 signature needs a P-256 key,
    /// not merely an EC key (RFC 7518 §3.4).
    pub fn key_type(self) -> KeyType {
        match self {
            Self::RS256 | Self::RS384 | Self::PS256 => KeyType::Rsa,
            Self::ES256 => KeyType::EcP256,
            Self::ES384 => KeyType::EcP384,
            Self::EdDSA => KeyType::Ed25519,
        }
    }

    /// The padding and digest of an RSA algorithm; `None` for the others.
    pub(crate) fn rsa_encoding(self) -> Option<&'static dyn RsaEncoding> {
        match self {
            Self::RS256 => Some(&RSA_PKCS1_SHA256),
            Self::RS384 => Some(&RSA_PKCS1_SHA384),
            Self::PS256 => Some(&RSA_PSS_SHA256),
            Self::ES256 | Self::ES384 | Self::EdDSA => None,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Alg {
    type Err = Error;

    /// The JWS name, in any letter case (`EdDSA`, `eddsa`, `es256`).
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnsupportedAlg {
                alg: s.chars().filter(|c| !c.is_control()).take(16).collect(),
            })
    }
}

/// The kinds of private key that sign assertions; each signs only its own algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// RSA, 2048 bits or more: RS256, RS384, PS256.
    Rsa,
    /// EC on NIST P-256 (secp256r1, prime256v1): ES256.
    EcP256,
    /// EC on NIST P-384 (secp384r1): ES384.
    EcP384,
    /// Ed25519: EdDSA.
    Ed25519,
}

impl KeyType {
    /// The algorithm used when none is asked for.
    pub fn default_alg(self) -> Alg {
        match self {
            Self::Rsa => Alg::RS256,
            Self::EcP256 => Alg::ES256,
            Self::EcP384 => Alg::ES384,
            Self::Ed25519 => Alg::EdDSA,
        }
    }

    /// The algorithms a key of this type signs.
    pub fn algs(self) -> &'static [Alg] {
        match self {
            Self::Rsa => &[Alg::RS256, Alg::RS384, Alg::PS256],
            Self::EcP256 => &[Alg::ES256],
            Self::EcP384 => &[Alg::ES384],
            Self::Ed25519 => &[Alg::EdDSA],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsa => "RSA",
            Self::EcP256 => "EC P-256",
            Self::EcP384 => "EC P-384",
            Self::Ed25519 => "Ed25519",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The assertion header's `typ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Typ {
    /// `JWT`: what Auth0 and most servers expect; the default.
    #[default]
    Jwt,
    /// `client-authentication+jwt`: the explicit type of draft-ietf-oauth-rfc7523bis, which keeps
    /// an assertion from being taken for another kind of JWT. signet accepts it; send it only to
    /// servers that do.
    ClientAuthentication,
}

impl Typ {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "JWT",
            Self::ClientAuthentication => "client-authentication+jwt",
        }
    }
}

impl fmt::Display for Typ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Typ {
    type Err = Error;

    /// `JWT` or `client-authentication+jwt`; media types compare case-insensitively
    /// (RFC 7515 §4.1.9).
    fn from_str(s: &str) -> Result<Self, Error> {
        [Self::Jwt, Self::ClientAuthentication]
            .into_iter()
            .find(|typ| typ.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnsupportedTyp {
                typ: s.chars().filter(|c| !c.is_control()).take(40).collect(),
            })
    }
}
