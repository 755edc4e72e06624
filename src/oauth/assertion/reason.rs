//! Why an assertion was refused: a typed reason for every rule, with a stable code for the audit
//! log (BEHAVIOUR B.7), and the credential the refusal concerns.

use std::fmt;

/// Why an assertion was refused. The caller answers every one of these with 401
/// `invalid_client` and writes [`Reason::code`] to the audit log (BEHAVIOUR B.7), with
/// [`Rejection::credential_id`] when a key had been chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    reason: Reason,
    credential_id: Option<String>,
}

impl Rejection {
    pub(super) fn new(reason: Reason) -> Self {
        Self {
            reason,
            credential_id: None,
        }
    }

    pub(super) fn for_credential(reason: Reason, credential_id: &str) -> Self {
        Self {
            reason,
            credential_id: Some(credential_id.to_owned()),
        }
    }

    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The credential the refusal concerns: the one the `kid` named, the only one tried, or the
    /// one whose signature verified before a claim failed.
    pub fn credential_id(&self) -> Option<&str> {
        self.credential_id.as_deref()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client assertion refused: {}", self.reason.code())
    }
}

impl std::error::Error for Rejection {}

impl From<Reason> for Rejection {
    fn from(reason: Reason) -> Self {
        Self::new(reason)
    }
}

/// The precise cause of a refusal, for the audit log only (BEHAVIOUR B.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Over [`MAX_ASSERTION_LEN`] bytes; nothing was parsed (BEHAVIOUR A.6).
    AssertionTooLarge,
    /// Not three base64url parts, header or payload not a UTF-8 JSON object, a duplicated
    /// member, or a value of the wrong JSON type (`aud` a number, `exp` a string or float,
    /// `kid` over 128 characters, any `null`).
    MalformedAssertion,
    /// Header `alg` missing or not one of RS256, RS384, PS256, ES256, ES384, EdDSA: `none`,
    /// HS*, ES512, … (BEHAVIOUR B.4).
    UnsupportedAlg,
    /// Header `typ` other than `JWT` or `client-authentication+jwt` (BEHAVIOUR B.4).
    BadTyp,
    /// A `crit` header, whatever its value (BEHAVIOUR B.4).
    CritHeader,
    /// No `iss`, or an empty one: there is no client to look up.
    MissingIss,
    /// `sub` missing or different from `iss` (BEHAVIOUR B.3, RFC 7523 §3 items 1–2).
    IssSubMismatch,
    /// `iss` is not the expected client (BEHAVIOUR B.3).
    ClientIdMismatch,
    /// The header `kid` names none of the client's credentials (BEHAVIOUR B.5).
    UnknownKid,
    /// The header `alg` differs from that of the credential the `kid` names (BEHAVIOUR B.4).
    /// A credential's `alg` always fits its key (BEHAVIOUR B.8), so this also covers a header
    /// naming another curve's or kind's algorithm (ES384 against a P-256 key, RS256 against an
    /// Ed25519 key): such a signature never reaches a verifier.
    AlgMismatch,
    /// No `kid`, and no enabled, unexpired credential of the header's `alg` whose key verifies
    /// (nor an expired or disabled one's); or no credential at all.
    NoUsableCredential,
    /// The `kid` names an expired credential, or, without a `kid`, an expired credential's key
    /// is the one that verifies the signature (BEHAVIOUR A.1, B.5).
    CredentialExpired,
    /// As [`Reason::CredentialExpired`], for a credential that is not enabled (not associated
    /// with the client, BEHAVIOUR A.1).
    CredentialDisabled,
    /// No candidate key verifies the signature.
    BadSignature,
    /// `aud` is not the issuer as a single string (BEHAVIOUR A.6, B.1).
    AudMismatch,
    /// No `exp` (RFC 7523 §3 item 4).
    MissingExp,
    /// `exp <= now - SKEW`.
    Expired,
    /// `nbf > now + SKEW`.
    NotYetValid,
    /// `iat > now + SKEW`.
    IatInFuture,
    /// `exp` more than [`MAX_LIFETIME`] after `iat` (or after now without `iat`).
    LifetimeTooLong,
    /// No `jti`, or an empty one (BEHAVIOUR A.6, OpenID Connect Core §9).
    MissingJti,
    /// `jti` over 64 characters (BEHAVIOUR A.6).
    JtiTooLong,
    /// `jti` holding a control character (NUL among them): it is stored by the replay check,
    /// and a value one database cannot store must not fail the batch it is written in.
    InvalidJti,
    /// `iss` or `sub` over 64 characters (BEHAVIOUR A.6).
    ClaimTooLong,
}

reason_codes! {
    Reason {
        AssertionTooLarge => "assertion_too_large",
        MalformedAssertion => "malformed_assertion",
        UnsupportedAlg => "unsupported_alg",
        BadTyp => "bad_typ",
        CritHeader => "crit_header",
        MissingIss => "missing_iss",
        IssSubMismatch => "iss_sub_mismatch",
        ClientIdMismatch => "client_id_mismatch",
        UnknownKid => "unknown_kid",
        AlgMismatch => "alg_mismatch",
        NoUsableCredential => "no_usable_credential",
        CredentialExpired => "credential_expired",
        CredentialDisabled => "credential_disabled",
        BadSignature => "bad_signature",
        AudMismatch => "aud_mismatch",
        MissingExp => "missing_exp",
        Expired => "expired",
        NotYetValid => "not_yet_valid",
        IatInFuture => "iat_in_future",
        LifetimeTooLong => "lifetime_too_long",
        MissingJti => "missing_jti",
        JtiTooLong => "jti_too_long",
        InvalidJti => "invalid_jti",
        ClaimTooLong => "claim_too_long",
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
