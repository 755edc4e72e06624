//! Why a workload platform's token was refused (BEHAVIOUR B.13): one stable code per rule, for
//! the audit log and the explain route; the caller only ever sees `invalid_client`.

/// The precise cause of a refused federated token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FederatedReason {
    /// Over [`super::MAX_TOKEN_LEN`] bytes; nothing was parsed.
    TooLarge,
    /// Not three base64url parts, a header or payload that is not a JSON object, a claim of
    /// the wrong JSON type.
    Malformed,
    /// Header `alg` missing or not RS256, RS384, PS256, ES256, ES384 or EdDSA.
    UnsupportedAlg,
    /// Header `typ` other than `JWT` or `JOSE`.
    BadTyp,
    /// A `crit` header.
    CritHeader,
    /// No enabled federated credential of the application trusts the token's `iss`.
    IssuerNotTrusted,
    /// The issuer's keys could not be fetched (or are past their age limit).
    KeysUnavailable,
    /// The header `kid` is in none of the issuer's keys, even after fetching them again.
    UnknownKid,
    /// No key of the issuer verifies the signature.
    BadSignature,
    /// `aud` does not contain the credential's audience.
    AudMismatch,
    MissingExp,
    Expired,
    NotYetValid,
    IatInFuture,
    /// `exp` further from `iat` (or from now) than the credential's `max_token_lifetime`.
    LifetimeTooLong,
    /// The subject or a pinned claim differs; the audit event names the claim.
    ClaimMismatch,
    /// A credential with `replay: once` needs the token's `jti`.
    MissingJti,
    /// A `jti` over 255 characters or holding a control character.
    InvalidJti,
    /// The credential that trusts the issuer has expired.
    CredentialExpired,
}

reason_codes! {
    FederatedReason {
        TooLarge => "federated_token_too_large",
        Malformed => "federated_token_malformed",
        UnsupportedAlg => "federated_unsupported_alg",
        BadTyp => "federated_bad_typ",
        CritHeader => "federated_crit_header",
        IssuerNotTrusted => "federated_issuer_not_trusted",
        KeysUnavailable => "federated_keys_unavailable",
        UnknownKid => "federated_unknown_kid",
        BadSignature => "federated_bad_signature",
        AudMismatch => "federated_aud_mismatch",
        MissingExp => "federated_missing_exp",
        Expired => "federated_expired",
        NotYetValid => "federated_not_yet_valid",
        IatInFuture => "federated_iat_in_future",
        LifetimeTooLong => "federated_lifetime_too_long",
        ClaimMismatch => "federated_claim_mismatch",
        MissingJti => "federated_missing_jti",
        InvalidJti => "federated_invalid_jti",
        CredentialExpired => "federated_credential_expired",
    }
}
