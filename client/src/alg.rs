//! The signature algorithms servers accept for client assertions (signet's BEHAVIOUR B.4). Its
//! own module, so that keys (which sign with it) and assertions (which name it) both depend on
//! it and not on each other.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PSS_SHA256, RsaEncoding};

use crate::error::Error;

/// The signature algorithms servers accept for client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[allow(clippy::upper_case_acronyms)]
pub enum Alg {
    #[default]
    RS256,
    RS384,
    PS256,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::PS256 => "PS256",
        }
    }

    pub(crate) fn encoding(self) -> &'static dyn RsaEncoding {
        match self {
            Self::RS256 => &RSA_PKCS1_SHA256,
            Self::RS384 => &RSA_PKCS1_SHA384,
            Self::PS256 => &RSA_PSS_SHA256,
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

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_uppercase().as_str() {
            "RS256" => Ok(Self::RS256),
            "RS384" => Ok(Self::RS384),
            "PS256" => Ok(Self::PS256),
            _ => Err(Error::UnsupportedAlg {
                alg: s.chars().take(16).collect(),
            }),
        }
    }
}
