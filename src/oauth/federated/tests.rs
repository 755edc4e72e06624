//! Each rule of a federated token, one refusal per test, through `inspect` and `verify`.

use std::collections::BTreeMap;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature;
use serde_json::{Value, json};

use super::*;
use crate::crypto::jwt::b64url;
use crate::crypto::public_key::parse_public_key_pem;
use crate::domain::federated::{ClaimValue, FederatedKeys, Preset};

const KEY: &str = include_str!("../../../tests/fixtures/keys/rsa2048.key.pem");
const PUB: &str = include_str!("../../../tests/fixtures/keys/rsa2048.pub.pem");
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const SERVER: &str = "https://tenant.example/";
const NOW: i64 = 1_800_000_000;

fn sign(header: &Value, claims: &Value) -> String {
    let pair = KeyPair::from_pkcs8(pem::parse(KEY).unwrap().contents()).unwrap();
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", b64url(&sig))
}

fn github_claims() -> Value {
    json!({
        "iss": ISSUER, "aud": SERVER, "sub": "repo:octo-org/api:ref:refs/heads/main",
        "jti": "4a576b35-ff09-41c5-af2c-ca62dd89b76a", "iat": NOW - 60, "nbf": NOW - 360,
        "exp": NOW + 21_540, "ref": "refs/heads/main", "repository": "octo-org/api",
        "repository_id": "123456", "repository_owner": "octo-org", "repository_owner_id": "654321",
        "runner_environment": "github-hosted"
    })
}

fn rule() -> FederatedRule {
    FederatedRule {
        issuer: Some(ISSUER.into()),
        subject: None,
        claims: BTreeMap::from([
            ("ref".into(), ClaimValue::Text("refs/heads/main".into())),
            ("repository_id".into(), ClaimValue::Text("123456".into())),
            (
                "repository_owner_id".into(),
                ClaimValue::Text("654321".into()),
            ),
        ]),
        audience: None,
        keys: FederatedKeys::Discovery,
        preset: Some(Preset::GithubActions),
        max_token_lifetime: 21_600,
        replay: ReplayMode::Once,
    }
}

fn check(token: &str, rule: &FederatedRule) -> Result<Verified, Refusal> {
    let info = parse_public_key_pem(PUB).unwrap();
    let key = ParsedPublicKey::new(
        AssertionAlg::RS256.verification_algorithm(),
        &info.verifier_bytes,
    )
    .unwrap();
    let keys = [IssuerKey {
        kid: "gh-key-1",
        alg: AssertionAlg::RS256,
        key: &key,
    }];
    let unverified = inspect(token).map_err(Refusal::from)?;
    verify(
        &unverified,
        &keys,
        rule,
        &Expectations {
            default_audience: SERVER,
            now: NOW,
        },
        &mut Report::default(),
    )
}

fn header() -> Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": "gh-key-1"})
}

fn reason_of(claims: &Value, rule: &FederatedRule) -> FederatedReason {
    check(&sign(&header(), claims), rule).unwrap_err().reason
}

#[test]
fn a_github_token_with_every_pinned_claim_is_accepted_with_its_jti() {
    let verified = check(&sign(&header(), &github_claims()), &rule()).unwrap();
    assert_eq!(
        verified.jti.as_deref(),
        Some("4a576b35-ff09-41c5-af2c-ca62dd89b76a")
    );
    let mut reuse = rule();
    reuse.replay = ReplayMode::ReuseUntilExpiry;
    assert_eq!(
        check(&sign(&header(), &github_claims()), &reuse)
            .unwrap()
            .jti,
        None
    );
}

#[test]
fn a_pinned_claim_changed_by_one_character_is_named() {
    for (claim, value) in [
        ("repository_id", "123457"),
        ("repository_owner_id", "654320"),
        ("ref", "refs/heads/maim"),
    ] {
        let mut claims = github_claims();
        claims[claim] = json!(value);
        let refusal = check(&sign(&header(), &claims), &rule()).unwrap_err();
        assert_eq!(refusal.reason, FederatedReason::ClaimMismatch);
        assert_eq!(refusal.claim.unwrap().0, claim);
    }
}

#[test]
fn audience_time_and_replay_rules_each_have_their_reason() {
    use FederatedReason::*;
    let with = |name: &str, value: Value| {
        let mut c = github_claims();
        c[name] = value;
        c
    };
    assert_eq!(
        reason_of(&with("aud", json!("https://other.example/")), &rule()),
        AudMismatch
    );
    assert!(
        check(
            &sign(&header(), &with("aud", json!(["x", SERVER]))),
            &rule()
        )
        .is_ok()
    );
    assert_eq!(reason_of(&with("exp", json!(NOW - SKEW)), &rule()), Expired);
    assert_eq!(
        reason_of(&with("exp", json!(NOW + 21_541)), &rule()),
        LifetimeTooLong
    );
    assert_eq!(
        reason_of(&with("nbf", json!(NOW + SKEW + 1)), &rule()),
        NotYetValid
    );
    assert_eq!(
        reason_of(&with("iat", json!(NOW + SKEW + 1)), &rule()),
        IatInFuture
    );
    assert_eq!(
        reason_of(&with("iss", json!("https://gitlab.com")), &rule()),
        IssuerNotTrusted
    );
    let mut no_jti = github_claims();
    no_jti.as_object_mut().unwrap().remove("jti");
    assert_eq!(reason_of(&no_jti, &rule()), MissingJti);
    let mut no_exp = github_claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_eq!(reason_of(&no_exp, &rule()), MissingExp);
}

#[test]
fn header_and_signature_rules_come_before_any_claim() {
    use FederatedReason::*;
    let claims = github_claims();
    let token = sign(&header(), &claims);
    let (input, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", b64url(&[7u8; 256]));
    assert_eq!(check(&forged, &rule()).unwrap_err().reason, BadSignature);
    let other_kid = sign(&json!({"alg": "RS256", "kid": "rotated"}), &claims);
    assert_eq!(check(&other_kid, &rule()).unwrap_err().reason, UnknownKid);
    assert_eq!(
        check(&sign(&json!({"alg": "none"}), &claims), &rule())
            .unwrap_err()
            .reason,
        UnsupportedAlg
    );
    assert_eq!(
        check(&sign(&json!({"alg": "HS256"}), &claims), &rule())
            .unwrap_err()
            .reason,
        UnsupportedAlg
    );
    assert_eq!(
        check(
            &sign(&json!({"alg": "RS256", "crit": ["exp"]}), &claims),
            &rule()
        )
        .unwrap_err()
        .reason,
        CritHeader
    );
    assert_eq!(
        check(
            &sign(&json!({"alg": "RS256", "typ": "at+jwt"}), &claims),
            &rule()
        )
        .unwrap_err()
        .reason,
        BadTyp
    );
    let kidless = sign(&json!({"alg": "RS256"}), &claims);
    assert!(check(&kidless, &rule()).is_ok());
    assert_eq!(
        inspect(&"a".repeat(MAX_TOKEN_LEN + 1)).unwrap_err(),
        TooLarge
    );
    assert_eq!(inspect("a.b").unwrap_err(), Malformed);
    let mut text_exp = claims.clone();
    text_exp["exp"] = json!("soon");
    assert_eq!(inspect(&sign(&header(), &text_exp)).unwrap_err(), Malformed);
}

#[test]
fn a_spiffe_credential_without_issuer_accepts_any_iss_and_the_report_lists_each_check() {
    let mut spiffe = rule();
    spiffe.issuer = None;
    spiffe.claims.clear();
    spiffe.subject = Some("spiffe://prod.example/ns/a/sa/b".into());
    spiffe.replay = ReplayMode::ReuseUntilExpiry;
    let mut claims = github_claims();
    claims.as_object_mut().unwrap().remove("iss");
    claims["sub"] = json!("spiffe://prod.example/ns/a/sa/b");
    let token = sign(&header(), &claims);
    assert!(check(&token, &spiffe).is_ok());
    let info = parse_public_key_pem(PUB).unwrap();
    let key = ParsedPublicKey::new(
        AssertionAlg::RS256.verification_algorithm(),
        &info.verifier_bytes,
    )
    .unwrap();
    let mut report = Report::default();
    let keys = [IssuerKey {
        kid: "gh-key-1",
        alg: AssertionAlg::RS256,
        key: &key,
    }];
    let expect = Expectations {
        default_audience: SERVER,
        now: NOW,
    };
    verify(
        &inspect(&token).unwrap(),
        &keys,
        &spiffe,
        &expect,
        &mut report,
    )
    .unwrap();
    let checks: Vec<&str> = report.steps.iter().map(|s| s.0).collect();
    assert_eq!(
        checks,
        [
            "signature",
            "iss",
            "aud",
            "exp",
            "nbf/iat",
            "claims",
            "replay"
        ]
    );
    assert!(report.steps.iter().all(|s| s.1));
}
