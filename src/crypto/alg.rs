//! The algorithms a client may sign its assertions with (BEHAVIOUR A.1, B.4): one type for the
//! credential that names one, the verifier that checks it, and the kind of key it needs.

use std::fmt;

use aws_lc_rs::signature::{self, VerificationAlgorithm};
use serde::{Deserialize, Serialize};

use super::public_key::{KeyKind, PublicKeyInfo};

/// Signature algorithms a credential may use (BEHAVIOUR B.4). Nothing else ever reaches key lookup.
/// ES256, ES384 and EdDSA are a signet extension: Auth0 takes the RSA ones only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum AssertionAlg {
    RS256,
    RS384,
    PS256,
    ES256,
    ES384,
    EdDSA,
}

impl AssertionAlg {
    /// Every algorithm, in the order they are listed (discovery, forms, messages).
    pub const ALL: [Self; 6] = [
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

    /// Exact and case-sensitive, as RFC 7515 §4.1.1 compares `alg` values: `rs256` is not
    /// `RS256`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == s)
    }

    /// The aws-lc-rs verification algorithm for this alg, for building `ParsedPublicKey`s from
    /// the credential's stored bytes ([`PublicKeyInfo::verifier_bytes`]).
    /// PS256 is RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 7518 §3.5).
    /// JWS ECDSA signatures are the fixed-width `r || s`, not DER (RFC 7518 §3.4), hence the
    /// `_FIXED` verifiers; each is bound to its curve, so a P-384 key never verifies as ES256.
    pub fn verification_algorithm(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Self::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Self::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            Self::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            Self::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
            Self::EdDSA => &signature::ED25519,
        }
    }

    /// The one kind of key this algorithm signs with.
    pub fn key_kind(self) -> KeyKind {
        match self {
            Self::RS256 | Self::RS384 | Self::PS256 => KeyKind::Rsa,
            Self::ES256 => KeyKind::P256,
            Self::ES384 => KeyKind::P384,
            Self::EdDSA => KeyKind::Ed25519,
        }
    }

    /// Whether a credential may hold this key with this algorithm (BEHAVIOUR B.8).
    pub fn fits(self, kind: KeyKind) -> bool {
        self.key_kind() == kind
    }

    /// The algorithm a credential gets when its upload names none: RS256 for RSA (Auth0's
    /// default), the one algorithm of each curve otherwise.
    pub fn default_for(kind: KeyKind) -> Self {
        match kind {
            KeyKind::Rsa => Self::RS256,
            KeyKind::P256 => Self::ES256,
            KeyKind::P384 => Self::ES384,
            KeyKind::Ed25519 => Self::EdDSA,
        }
    }

    /// The algorithms that fit a kind of key, in [`AssertionAlg::ALL`]'s order.
    pub fn for_kind(kind: KeyKind) -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(move |alg| alg.fits(kind))
    }

    /// Checks the fit of an algorithm and a key, with a message naming both, e.g.
    /// `ES256 needs a P-256 key; this key is RSA 2048 bits`.
    pub fn check_fits(self, key: &PublicKeyInfo) -> Result<(), String> {
        if self.fits(key.kind) {
            return Ok(());
        }
        let needs = match self.key_kind() {
            KeyKind::Rsa => "an RSA",
            KeyKind::P256 => "a P-256",
            KeyKind::P384 => "a P-384",
            KeyKind::Ed25519 => "an Ed25519",
        };
        Err(format!(
            "{self} needs {needs} key; this key is {}",
            key.description()
        ))
    }
}

impl fmt::Display for AssertionAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assertion_alg_parses_exactly_and_serializes_as_its_name() {
        for alg in AssertionAlg::ALL {
            assert_eq!(AssertionAlg::parse(alg.as_str()), Some(alg));
            assert_eq!(alg.to_string(), alg.as_str());
            let json = serde_json::to_string(&alg).unwrap();
            assert_eq!(json, format!("\"{}\"", alg.as_str()));
            assert_eq!(serde_json::from_str::<AssertionAlg>(&json).unwrap(), alg);
        }
        for other in [
            "rs256", "RS512", "none", "HS256", "", "ES512", "es256", "EDDSA", "Ed25519", "ES256K",
        ] {
            assert_eq!(AssertionAlg::parse(other), None);
        }
    }

    #[test]
    fn each_alg_fits_exactly_one_kind_of_key_and_each_kind_defaults_to_a_fitting_alg() {
        let fits = |kind| AssertionAlg::for_kind(kind).collect::<Vec<_>>();
        use AssertionAlg::*;
        assert_eq!(fits(KeyKind::Rsa), [RS256, RS384, PS256]);
        assert_eq!(fits(KeyKind::P256), [ES256]);
        assert_eq!(fits(KeyKind::P384), [ES384]);
        assert_eq!(fits(KeyKind::Ed25519), [EdDSA]);
        for kind in [KeyKind::Rsa, KeyKind::P256, KeyKind::P384, KeyKind::Ed25519] {
            assert!(AssertionAlg::default_for(kind).fits(kind));
        }
        assert_eq!(AssertionAlg::default_for(KeyKind::Rsa), RS256);
    }
}
