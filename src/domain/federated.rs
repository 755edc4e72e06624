//! Federated workload credentials (BEHAVIOUR B.13): trust in tokens a workload platform
//! already issues (GitHub Actions, GitLab CI, Kubernetes, SPIFFE, any OpenID Connect issuer),
//! so that nothing secret is created or stored for the application. A credential names the
//! issuer, what its tokens must say (a subject, named claims, an audience), where its keys
//! are, how long its tokens may live and whether one may be used more than once.
//!
//! Presets pin the platform's immutable identifiers (numeric ids, not names that can be
//! renamed and taken over) and refuse to be saved without them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Invalid, check_len};

pub const FEDERATED_TYPE: &str = "federated";
/// A token may live at most this long unless the credential says otherwise.
pub const DEFAULT_MAX_TOKEN_LIFETIME: i64 = 3600;
/// The most a credential may allow: a year and a day covers the legacy Kubernetes tokens the
/// API server extends to a year, which a credential has to allow by name.
pub const LONGEST_MAX_TOKEN_LIFETIME: i64 = 366 * 86_400;
/// Named claims a credential may pin.
pub const MAX_CLAIMS: usize = 16;
/// Longest issuer, subject, audience or claim value.
pub const MAX_VALUE_CHARS: usize = 255;
/// Longest static key set, as JSON.
pub const MAX_STATIC_JWKS: usize = 64 * 1024;
/// Claims the rules check themselves; pinning them as claims would hide that.
const RESERVED_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const GITLAB_ISSUER: &str = "https://gitlab.com";

/// A platform whose token shape signet knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    GithubActions,
    GitlabCi,
    Kubernetes,
    Spiffe,
}

impl Preset {
    pub const ALL: [Self; 4] = [
        Self::GithubActions,
        Self::GitlabCi,
        Self::Kubernetes,
        Self::Spiffe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GithubActions => "github_actions",
            Self::GitlabCi => "gitlab_ci",
            Self::Kubernetes => "kubernetes",
            Self::Spiffe => "spiffe",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    fn default_issuer(self) -> Option<&'static str> {
        match self {
            Self::GithubActions => Some(GITHUB_ISSUER),
            Self::GitlabCi => Some(GITLAB_ISSUER),
            Self::Kubernetes | Self::Spiffe => None,
        }
    }

    /// The platform's own token lifetime: GitHub Actions tokens live 6 hours, GitLab CI's as
    /// long as the job's timeout (1 hour by default), projected Kubernetes tokens commonly
    /// 3,607 s, SPIRE's JWT-SVIDs 5 minutes by default.
    fn max_token_lifetime(self) -> i64 {
        match self {
            Self::GithubActions => 6 * 3600,
            Self::GitlabCi => 3600,
            Self::Kubernetes => 3607,
            Self::Spiffe => 300,
        }
    }

    /// Kubernetes and SPIFFE workloads reuse one token until it expires, by design.
    fn replay(self) -> ReplayMode {
        match self {
            Self::GithubActions | Self::GitlabCi => ReplayMode::Once,
            Self::Kubernetes | Self::Spiffe => ReplayMode::ReuseUntilExpiry,
        }
    }
}

/// Whether one platform token may be exchanged more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplayMode {
    /// The token's `jti` (required) is consumed, as a Private Key JWT assertion's.
    Once,
    /// The same token is accepted until it expires.
    ReuseUntilExpiry,
}

impl ReplayMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Once => "once",
            Self::ReuseUntilExpiry => "reuse_until_expiry",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Once, Self::ReuseUntilExpiry]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// A pinned claim's value: exact text, or an exact integer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClaimValue {
    Text(String),
    Integer(i64),
}

impl ClaimValue {
    /// Whether a token's claim is exactly this value: same JSON type, same value.
    pub fn matches(&self, found: &serde_json::Value) -> bool {
        match (self, found) {
            (Self::Text(want), serde_json::Value::String(got)) => want == got,
            (Self::Integer(want), serde_json::Value::Number(got)) => got.as_i64() == Some(*want),
            _ => false,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Text(t) => t.clone().into(),
            Self::Integer(n) => (*n).into(),
        }
    }
}

impl std::fmt::Display for ClaimValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(t) => write!(f, "{t:?}"),
            Self::Integer(n) => write!(f, "{n}"),
        }
    }
}

/// Where the issuer's keys come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FederatedKeys {
    /// The `jwks_uri` of the issuer's OpenID discovery document.
    Discovery,
    JwksUri(String),
    /// A set given with the credential, for issuers the server cannot reach (air-gapped
    /// clusters, SPIFFE trust bundles distributed out of band).
    Static(String),
}

/// What a federated credential trusts. Stored as JSON in the credential's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederatedRule {
    /// The token's `iss`, exactly; `None` only for a SPIFFE credential, whose JWT-SVIDs may
    /// carry no `iss`.
    pub issuer: Option<String>,
    pub subject: Option<String>,
    #[serde(default)]
    pub claims: BTreeMap<String, ClaimValue>,
    /// `None`: the server's issuer URL, as it is when the token arrives.
    pub audience: Option<String>,
    pub keys: FederatedKeys,
    pub preset: Option<Preset>,
    /// Seconds from `iat` (or from now without one) to `exp`.
    pub max_token_lifetime: i64,
    pub replay: ReplayMode,
}

/// A claim the token does not carry as the credential pins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMismatch {
    pub claim: String,
    pub expected: String,
}

impl FederatedRule {
    /// Subject first, then each pinned claim in name order: the first that differs.
    pub fn check_claims(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), ClaimMismatch> {
        if let Some(subject) = &self.subject
            && claims.get("sub").and_then(|s| s.as_str()) != Some(subject.as_str())
        {
            return Err(ClaimMismatch {
                claim: "sub".into(),
                expected: format!("{subject:?}"),
            });
        }
        for (name, want) in &self.claims {
            if !claims.get(name).is_some_and(|got| want.matches(got)) {
                return Err(ClaimMismatch {
                    claim: name.clone(),
                    expected: want.to_string(),
                });
            }
        }
        Ok(())
    }

    /// The rule in one line, for lists: `sub = "…", repository_id = "…"`.
    pub fn match_summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(s) = &self.subject {
            parts.push(format!("sub = {s:?}"));
        }
        parts.extend(self.claims.iter().map(|(k, v)| format!("{k} = {v}")));
        parts.join(", ")
    }

    /// What makes two rules the same trust, for refusing a duplicate on one application.
    pub fn identity(&self) -> String {
        serde_json::json!([self.issuer, self.subject, self.claims, self.audience]).to_string()
    }
}

/// A federated credential as a request writes it.
#[derive(Debug, Clone, Default)]
pub struct FederatedUpload {
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub claims: Option<BTreeMap<String, serde_json::Value>>,
    pub audience: Option<String>,
    pub jwks: Option<serde_json::Value>,
    pub preset: Option<String>,
    pub max_token_lifetime: Option<i64>,
    pub replay: Option<String>,
}

impl FederatedUpload {
    /// Every rule that needs no network (BEHAVIOUR B.13). A `jwks_uri` or the issuer's
    /// discovery URL is checked against the key-URL rules by the caller.
    pub fn accept(&self, jwks_uri: Option<&str>) -> Result<FederatedRule, Invalid> {
        let preset = self
            .preset
            .as_deref()
            .map(|p| {
                Preset::parse(p).ok_or_else(|| {
                    Invalid::field(
                        "preset",
                        format!(
                            "must be one of github_actions, gitlab_ci, kubernetes, spiffe (got {p:?})"
                        ),
                    )
                })
            })
            .transpose()?;
        let issuer = match (&self.issuer, preset.and_then(Preset::default_issuer)) {
            (Some(given), _) => Some(given.clone()),
            (None, Some(default)) => Some(default.to_owned()),
            (None, None) if preset == Some(Preset::Spiffe) => None,
            (None, None) => return Err(Invalid::field("issuer", "is required")),
        };
        if let Some(issuer) = &issuer {
            check_issuer(issuer)?;
        }
        if let Some(subject) = &self.subject {
            check_value("subject", subject)?;
        }
        let claims = self
            .claims
            .iter()
            .flatten()
            .map(|(name, value)| Ok((name.clone(), claim_value(name, value)?)))
            .collect::<Result<BTreeMap<_, _>, Invalid>>()?;
        if claims.len() > MAX_CLAIMS {
            return Err(Invalid::field(
                "claims",
                format!("may pin at most {MAX_CLAIMS} claims"),
            ));
        }
        if let Some(audience) = &self.audience {
            check_value("audience", audience)?;
        }
        let keys = match (&self.jwks, jwks_uri) {
            (Some(_), Some(_)) => {
                return Err(Invalid::new(
                    "jwks and jwks_uri cannot be used together: give the keys or where they are",
                ));
            }
            (Some(set), None) => FederatedKeys::Static(static_set(set)?),
            (None, Some(uri)) => FederatedKeys::JwksUri(uri.to_owned()),
            (None, None) => FederatedKeys::Discovery,
        };
        let max_token_lifetime = match self.max_token_lifetime {
            Some(s) if (1..=LONGEST_MAX_TOKEN_LIFETIME).contains(&s) => s,
            Some(_) => {
                return Err(Invalid::field(
                    "max_token_lifetime",
                    format!("must be 1 to {LONGEST_MAX_TOKEN_LIFETIME} seconds"),
                ));
            }
            None => preset.map_or(DEFAULT_MAX_TOKEN_LIFETIME, Preset::max_token_lifetime),
        };
        let replay = match self.replay.as_deref() {
            Some(text) => ReplayMode::parse(text).ok_or_else(|| {
                Invalid::field(
                    "replay",
                    format!("must be \"once\" or \"reuse_until_expiry\" (got {text:?})"),
                )
            })?,
            None => preset.map_or(ReplayMode::Once, Preset::replay),
        };
        let mut rule = FederatedRule {
            issuer,
            subject: self.subject.clone(),
            claims,
            audience: self.audience.clone(),
            keys,
            preset,
            max_token_lifetime,
            replay,
        };
        match preset {
            Some(p) => apply_preset(p, &mut rule)?,
            None if rule.subject.is_none() && rule.claims.is_empty() => {
                return Err(Invalid::new(
                    "a federated credential must pin subject or at least one claim: otherwise \
                     every token of the issuer would authenticate",
                ));
            }
            None => {}
        }
        Ok(rule)
    }
}

/// The preset's pinned identifiers, checked (and GitHub's and GitLab's ids, which their
/// tokens carry as text, turned to text when given as numbers).
fn apply_preset(preset: Preset, rule: &mut FederatedRule) -> Result<(), Invalid> {
    let require = |rule: &FederatedRule, names: &[&str]| -> Result<(), Invalid> {
        for name in names {
            if !rule.claims.contains_key(*name) {
                return Err(Invalid::field(
                    format!("claims.{name}"),
                    format!(
                        "is required by the {} preset: it pins an identifier that cannot be \
                         renamed or reused",
                        preset.as_str()
                    ),
                ));
            }
        }
        Ok(())
    };
    let ref_or_environment = |rule: &FederatedRule| -> Result<(), Invalid> {
        if rule.claims.contains_key("ref") || rule.claims.contains_key("environment") {
            Ok(())
        } else {
            Err(Invalid::field(
                "claims",
                format!(
                    "must pin ref or environment with the {} preset: otherwise every branch \
                     of the project could authenticate",
                    preset.as_str()
                ),
            ))
        }
    };
    match preset {
        Preset::GithubActions => {
            texts(rule);
            require(rule, &["repository_id", "repository_owner_id"])?;
            ref_or_environment(rule)
        }
        Preset::GitlabCi => {
            texts(rule);
            require(rule, &["project_id", "namespace_id"])?;
            ref_or_environment(rule)
        }
        Preset::Kubernetes => {
            if rule.issuer.is_none() {
                return Err(Invalid::field(
                    "issuer",
                    "is required by the kubernetes preset: the cluster's service account issuer",
                ));
            }
            let subject = rule.subject.as_deref().unwrap_or_default();
            let account = subject
                .strip_prefix("system:serviceaccount:")
                .and_then(|rest| rest.split_once(':'));
            match account {
                Some((ns, name)) if dns_label(ns) && dns_subdomain(name) => Ok(()),
                _ => Err(Invalid::field(
                    "subject",
                    "must be system:serviceaccount:NAMESPACE:NAME with the kubernetes preset",
                )),
            }
        }
        Preset::Spiffe => {
            let subject = rule.subject.as_deref().unwrap_or_default();
            let id = subject.strip_prefix("spiffe://").unwrap_or_default();
            let (domain, path) = id.split_once('/').unwrap_or((id, ""));
            if domain.is_empty()
                || path.is_empty()
                || !domain
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
            {
                return Err(Invalid::field(
                    "subject",
                    "must be a SPIFFE ID (spiffe://TRUST-DOMAIN/PATH) with the spiffe preset",
                ));
            }
            if rule.keys == FederatedKeys::Discovery {
                return Err(Invalid::field(
                    "jwks",
                    "or jwks_uri (the trust bundle endpoint) is required with the spiffe preset",
                ));
            }
            Ok(())
        }
    }
}

/// GitHub and GitLab send ids as JSON strings; a number written for one means the same id.
fn texts(rule: &mut FederatedRule) {
    for value in rule.claims.values_mut() {
        if let ClaimValue::Integer(n) = value {
            *value = ClaimValue::Text(n.to_string());
        }
    }
}

fn dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn dns_subdomain(s: &str) -> bool {
    (1..=253).contains(&s.len()) && s.split('.').all(dns_label)
}

fn check_issuer(issuer: &str) -> Result<(), Invalid> {
    check_value("issuer", issuer)?;
    let url = url::Url::parse(issuer)
        .map_err(|_| Invalid::field("issuer", "must be a URL (https://…)"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(Invalid::field("issuer", "must be an https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Invalid::field(
            "issuer",
            "must not have a query or a fragment (OpenID Connect Discovery §2)",
        ));
    }
    Ok(())
}

fn check_value(field: &str, value: &str) -> Result<(), Invalid> {
    check_len(field, value, 1, MAX_VALUE_CHARS)
}

fn claim_value(name: &str, value: &serde_json::Value) -> Result<ClaimValue, Invalid> {
    let field = format!("claims.{name}");
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
    {
        return Err(Invalid::new(format!(
            "claims: {name:?} is not a claim name (1 to 64 of A-Z, a-z, 0-9, '_', '-', '.', ':')"
        )));
    }
    if RESERVED_CLAIMS.contains(&name) {
        return Err(Invalid::field(
            field,
            if name == "sub" {
                "cannot be pinned as a claim: use subject"
            } else {
                "is checked by the token rules and cannot be pinned"
            },
        ));
    }
    match value {
        serde_json::Value::String(s) => {
            check_value(&field, s)?;
            Ok(ClaimValue::Text(s.clone()))
        }
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(ClaimValue::Integer)
            .ok_or_else(|| Invalid::field(field, "must be a string or an integer (no fractions)")),
        _ => Err(Invalid::field(field, "must be a string or an integer")),
    }
}

/// A static key set, read under the same rules as a fetched one (BEHAVIOUR B.8, B.12).
fn static_set(set: &serde_json::Value) -> Result<String, Invalid> {
    let text = set.to_string();
    if text.len() > MAX_STATIC_JWKS {
        return Err(Invalid::field(
            "jwks",
            format!("must be at most {} KiB", MAX_STATIC_JWKS / 1024),
        ));
    }
    let keys = crate::crypto::jwk::parse_jwks(text.as_bytes())
        .map_err(|e| Invalid::found_in("jwks", e.to_string()))?;
    if keys.is_empty() {
        return Err(Invalid::field("jwks", "must hold at least one key"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn upload(v: serde_json::Value) -> FederatedUpload {
        FederatedUpload {
            issuer: v["issuer"].as_str().map(str::to_owned),
            subject: v["subject"].as_str().map(str::to_owned),
            claims: v["claims"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            audience: v["audience"].as_str().map(str::to_owned),
            jwks: v.get("jwks").cloned(),
            preset: v["preset"].as_str().map(str::to_owned),
            max_token_lifetime: v["max_token_lifetime"].as_i64(),
            replay: v["replay"].as_str().map(str::to_owned),
        }
    }

    #[test]
    fn github_preset_pins_ids_as_text_and_needs_ref_or_environment() {
        let rule = upload(json!({"preset": "github_actions",
            "claims": {"repository_id": 123, "repository_owner_id": "456", "ref": "refs/heads/main"}}))
        .accept(None)
        .unwrap();
        assert_eq!(rule.issuer.as_deref(), Some(GITHUB_ISSUER));
        assert_eq!(rule.claims["repository_id"], ClaimValue::Text("123".into()));
        assert_eq!(rule.replay, ReplayMode::Once);
        assert_eq!(rule.max_token_lifetime, 21_600);
        assert_eq!(rule.keys, FederatedKeys::Discovery);
        let no_owner = upload(json!({"preset": "github_actions",
            "claims": {"repository_id": "123", "ref": "refs/heads/main"}}))
        .accept(None)
        .unwrap_err();
        assert!(
            no_owner
                .to_string()
                .starts_with("claims.repository_owner_id is required"),
            "{no_owner}"
        );
        let no_ref = upload(json!({"preset": "github_actions",
            "claims": {"repository_id": "1", "repository_owner_id": "2"}}))
        .accept(None)
        .unwrap_err();
        assert!(
            no_ref.to_string().contains("ref or environment"),
            "{no_ref}"
        );
    }

    #[test]
    fn kubernetes_and_spiffe_presets_check_their_subjects_and_reuse_tokens() {
        let k8s = upload(
            json!({"preset": "kubernetes", "issuer": "https://k8s.example",
            "subject": "system:serviceaccount:payments:api"}),
        )
        .accept(None)
        .unwrap();
        assert_eq!(k8s.replay, ReplayMode::ReuseUntilExpiry);
        assert_eq!(k8s.max_token_lifetime, 3607);
        for bad in [
            "system:serviceaccount:payments",
            "payments:api",
            "system:serviceaccount:Pay:api",
        ] {
            assert!(
                upload(
                    json!({"preset": "kubernetes", "issuer": "https://k8s.example", "subject": bad})
                )
                .accept(None)
                .is_err(),
                "{bad}"
            );
        }
        let spiffe =
            upload(json!({"preset": "spiffe", "subject": "spiffe://prod.example/ns/a/sa/b"}))
                .accept(Some("https://bundle.example/keys"))
                .unwrap();
        assert_eq!(spiffe.issuer, None);
        assert!(
            upload(json!({"preset": "spiffe", "subject": "spiffe://prod.example/ns/a"}))
                .accept(None)
                .unwrap_err()
                .to_string()
                .starts_with("jwks")
        );
    }

    #[test]
    fn a_rule_must_pin_something_and_never_the_checked_claims() {
        let e = upload(json!({"issuer": "https://issuer.example"}))
            .accept(None)
            .unwrap_err();
        assert!(e.to_string().contains("must pin subject"), "{e}");
        for name in ["aud", "exp", "jti", "sub"] {
            let mut claims = serde_json::Map::new();
            claims.insert(name.into(), json!("x"));
            let e = upload(json!({"issuer": "https://issuer.example", "claims": claims}))
                .accept(None)
                .unwrap_err();
            assert!(e.to_string().starts_with(&format!("claims.{name}")), "{e}");
        }
        let e = upload(json!({"issuer": "https://issuer.example", "claims": {"x": 1.5}}))
            .accept(None)
            .unwrap_err();
        assert!(e.to_string().contains("integer"), "{e}");
        let e = upload(json!({"issuer": "https://issuer.example?x=1", "subject": "s"}))
            .accept(None)
            .unwrap_err();
        assert!(e.to_string().starts_with("issuer"), "{e}");
    }

    #[test]
    fn claims_match_exactly_by_type_and_the_first_difference_is_named() {
        let rule = upload(
            json!({"issuer": "https://issuer.example", "subject": "repo:a/b",
            "claims": {"n": 7, "ref": "refs/heads/main"}}),
        )
        .accept(None)
        .unwrap();
        let ok = json!({"sub": "repo:a/b", "n": 7, "ref": "refs/heads/main"});
        assert_eq!(rule.check_claims(ok.as_object().unwrap()), Ok(()));
        let text_seven = json!({"sub": "repo:a/b", "n": "7", "ref": "refs/heads/main"});
        assert_eq!(
            rule.check_claims(text_seven.as_object().unwrap())
                .unwrap_err(),
            ClaimMismatch {
                claim: "n".into(),
                expected: "7".into()
            }
        );
        let other_ref = json!({"sub": "repo:a/b", "n": 7, "ref": "refs/heads/maim"});
        assert_eq!(
            rule.check_claims(other_ref.as_object().unwrap())
                .unwrap_err()
                .claim,
            "ref"
        );
        let other_sub = json!({"sub": "repo:a/c", "n": 7, "ref": "refs/heads/main"});
        assert_eq!(
            rule.check_claims(other_sub.as_object().unwrap())
                .unwrap_err()
                .claim,
            "sub"
        );
    }

    #[test]
    fn lifetime_and_replay_are_bounded_and_named() {
        let base = json!({"issuer": "https://issuer.example", "subject": "s"});
        let mut v = base.clone();
        v["max_token_lifetime"] = json!(LONGEST_MAX_TOKEN_LIFETIME + 1);
        assert!(upload(v).accept(None).is_err());
        let mut v = base.clone();
        v["replay"] = json!("twice");
        assert!(
            upload(v)
                .accept(None)
                .unwrap_err()
                .to_string()
                .starts_with("replay")
        );
        let mut v = base;
        v["jwks"] = json!({"keys": []});
        assert!(
            upload(v.clone())
                .accept(None)
                .unwrap_err()
                .to_string()
                .starts_with("jwks")
        );
        assert!(upload(v).accept(Some("https://k.example/jwks")).is_err());
    }
}
