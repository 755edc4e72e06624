//! The algorithms a client may sign its assertions with (BEHAVIOUR A.1, B.4): one type for the
//! credential that names one and the verifier that checks it.

use std::fmt;

use aws_lc_rs::signature::{self, RsaParameters};
use serde::{Deserialize, Serialize};

/// Signature algorithms a credential may use (BEHAVIOUR B.4). Nothing else ever reaches key lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AssertionAlg {
    RS256,
    RS384,
    PS256,
}

impl AssertionAlg {
    /// The JWS `alg` name (RFC 7518 §3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::PS256 => "PS256",
        }
    }

    /// Exact and case-sensitive, as RFC 7515 §4.1.1 compares `alg` values: `rs256` is not
    /// `RS256`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Self::RS256),
            "RS384" => Some(Self::RS384),
            "PS256" => Some(Self::PS256),
            _ => None,
        }
    }

    /// The aws-lc-rs verification algorithm for this alg, for building `ParsedPublicKey`s.
    /// PS256 is RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 7518 §3.5).
    pub fn verification_algorithm(self) -> &'static RsaParameters {
        match self {
            Self::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Self::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        }
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
        for alg in [
            AssertionAlg::RS256,
            AssertionAlg::RS384,
            AssertionAlg::PS256,
        ] {
            assert_eq!(AssertionAlg::parse(alg.as_str()), Some(alg));
            assert_eq!(alg.to_string(), alg.as_str());
            let json = serde_json::to_string(&alg).unwrap();
            assert_eq!(json, format!("\"{}\"", alg.as_str()));
            assert_eq!(serde_json::from_str::<AssertionAlg>(&json).unwrap(), alg);
        }
        for other in ["rs256", "RS512", "none", "HS256", ""] {
            assert_eq!(AssertionAlg::parse(other), None);
        }
    }
}
