//! Every rule of the assertion, one test per refusal, through the public steps `inspect` and
//! `verify`, with keys made for the tests and the fixtures of `tests/fixtures/keys`.

use super::*;
use crate::crypto::jwt::b64url;
use crate::crypto::public_key::{PublicKeyInfo, parse_public_key_pem};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::{self, RsaEncoding};
use serde_json::{Value, json};
use std::sync::LazyLock;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/keys/", $name))
    };
}

const ISSUER: &str = "https://tenant.example/";
const TOKEN_ENDPOINT: &str = "https://tenant.example/oauth/token";
const CLIENT_ID: &str = "Xq3hT9vLmN2pR7sK4wY8zB1cD5fG6jH0";
const NOW: i64 = 1_800_000_000;
const CRED_A: &str = "cred_AAAAAAAAAAAAAAAAAAAAAA";
const CRED_B: &str = "cred_BBBBBBBBBBBBBBBBBBBBBB";
const CRED_C: &str = "cred_CCCCCCCCCCCCCCCCCCCCCC";
const KID_A: &str = "client-key-a-2048";
const KID_B: &str = "client-key-b-4096";
const KID_C: &str = "client-key-c-3072";
const ALL_ALGS: [AssertionAlg; 3] = [
    AssertionAlg::RS256,
    AssertionAlg::RS384,
    AssertionAlg::PS256,
];

/// A fixture key pair, with its public key parsed once per algorithm.
struct TestKey {
    pair: KeyPair,
    info: PublicKeyInfo,
    public_pem: &'static str,
    parsed: [ParsedPublicKey; 3],
}

impl TestKey {
    fn load(private_pem: &str, public_pem: &'static str) -> Self {
        let pair = KeyPair::from_pkcs8(pem::parse(private_pem).unwrap().contents()).unwrap();
        let info = parse_public_key_pem(public_pem).unwrap();
        let parsed = ALL_ALGS.map(|alg| {
            ParsedPublicKey::new(alg.verification_algorithm(), &info.verifier_bytes).unwrap()
        });
        Self {
            pair,
            info,
            public_pem,
            parsed,
        }
    }

    fn parsed(&self, alg: AssertionAlg) -> &ParsedPublicKey {
        let at = ALL_ALGS.iter().position(|&a| a == alg).unwrap();
        &self.parsed[at]
    }

    /// Signs `header.payload` (both given as JSON text) the way a client would.
    fn sign_json(&self, alg: AssertionAlg, header: &str, payload: &str) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.as_bytes()),
            b64url(payload.as_bytes())
        );
        let padding: &'static dyn RsaEncoding = match alg {
            AssertionAlg::RS256 => &signature::RSA_PKCS1_SHA256,
            AssertionAlg::RS384 => &signature::RSA_PKCS1_SHA384,
            AssertionAlg::PS256 => &signature::RSA_PSS_SHA256,
            // An RSA key makes RSA signatures; the EC algorithms have their own keys below.
            // Labelled ES256 or EdDSA, it is a genuine RSA signature under a wrong name.
            AssertionAlg::ES256 | AssertionAlg::ES384 | AssertionAlg::EdDSA => {
                &signature::RSA_PKCS1_SHA256
            }
        };
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(padding, &SystemRandom::new(), input.as_bytes(), &mut sig)
            .unwrap();
        format!("{input}.{}", b64url(&sig))
    }

    fn sign(&self, alg: AssertionAlg, header: &Value, claims: &Value) -> String {
        self.sign_json(alg, &header.to_string(), &claims.to_string())
    }
}

/// The client's key (2048), its rotation successor (4096), and an attacker's (3072, small
/// enough that its JWK fits in a header within the size limit).
static KEY_A: LazyLock<TestKey> = LazyLock::new(|| {
    TestKey::load(
        fixture!("rsa2048.key.pem"),
        fixture!("rsa2048.pkcs1.pub.pem"),
    )
});
static KEY_B: LazyLock<TestKey> = LazyLock::new(|| {
    TestKey::load(
        fixture!("rsa4096.key.pem"),
        fixture!("rsa4096.pkcs1.pub.pem"),
    )
});
static ATTACKER: LazyLock<TestKey> =
    LazyLock::new(|| TestKey::load(fixture!("rsa3072.key.pem"), fixture!("rsa3072.pub.pem")));

fn candidate(
    credential_id: &'static str,
    kid: &'static str,
    alg: AssertionAlg,
    key: &'static TestKey,
    expires_at: Option<i64>,
) -> CandidateKey<'static> {
    CandidateKey {
        credential_id,
        kid,
        alg,
        key: key.parsed(alg),
        expires_at,
        enabled: true,
    }
}

fn cand_a(alg: AssertionAlg) -> CandidateKey<'static> {
    candidate(CRED_A, KID_A, alg, &KEY_A, None)
}

fn cand_b(alg: AssertionAlg) -> CandidateKey<'static> {
    candidate(CRED_B, KID_B, alg, &KEY_B, None)
}

fn expect() -> Expectations<'static> {
    Expectations {
        client_id: CLIENT_ID,
        issuer: ISSUER,
        token_endpoint: TOKEN_ENDPOINT,
        accept_legacy_audience: false,
        now: NOW,
    }
}

fn legacy() -> Expectations<'static> {
    Expectations {
        accept_legacy_audience: true,
        ..expect()
    }
}

fn header(alg: AssertionAlg, kid: Option<&str>) -> Value {
    match kid {
        Some(kid) => json!({"alg": alg.as_str(), "typ": "JWT", "kid": kid}),
        None => json!({"alg": alg.as_str(), "typ": "JWT"}),
    }
}

fn claims() -> Value {
    json!({
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": ISSUER,
        "iat": NOW,
        "exp": NOW + 60,
        "jti": "0f8c6a1e-5b7d-4e2a-9c3b-1d2e3f405162",
    })
}

/// `claims()` with `changes` applied; a `null` in `changes` removes the claim.
fn claims_with(changes: Value) -> Value {
    let mut out = claims();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            out.as_object_mut().unwrap().remove(name);
        } else {
            out[name] = value.clone();
        }
    }
    out
}

/// `claims()` as JSON text with claim `name` set to the raw JSON `raw` (for values
/// `json!` cannot write, such as `1.0` or an integer past `i64`).
fn claims_raw(name: &str, raw: &str) -> String {
    let mut others = claims();
    others.as_object_mut().unwrap().remove(name);
    let others = others.to_string();
    format!("{{\"{name}\":{raw},{}", &others[1..])
}

/// An RS256 assertion by key A with the given claims, without kid.
fn assertion_with(claims: &Value) -> String {
    KEY_A.sign(
        AssertionAlg::RS256,
        &header(AssertionAlg::RS256, None),
        claims,
    )
}

fn run(
    assertion: &str,
    candidates: &[CandidateKey<'_>],
    expect: &Expectations<'_>,
) -> Result<Verified, Rejection> {
    let unverified = inspect(assertion)?;
    verify(&unverified, candidates, expect)
}

/// Runs the RS256 assertion for `claims` against credential A.
fn run_claims(claims: &Value, expect: &Expectations<'_>) -> Result<Verified, Rejection> {
    run(
        &assertion_with(claims),
        &[cand_a(AssertionAlg::RS256)],
        expect,
    )
}

fn accepted(result: Result<Verified, Rejection>) -> Verified {
    match result {
        Ok(verified) => verified,
        Err(rejection) => panic!("expected acceptance, got {rejection:?}"),
    }
}

fn refused(result: Result<Verified, Rejection>) -> Rejection {
    match result {
        Ok(verified) => panic!("expected a refusal, got {verified:?}"),
        Err(rejection) => rejection,
    }
}

fn reason(result: Result<Verified, Rejection>) -> Reason {
    refused(result).reason()
}

fn inspect_reason(assertion: &str) -> Reason {
    match inspect(assertion) {
        Ok(unverified) => panic!("expected inspect to refuse, got {unverified:?}"),
        Err(rejection) => rejection.reason(),
    }
}

/// An assertion with an arbitrary header and payload (JSON text) and a dummy signature,
/// for checks that happen before any signature is looked at.
fn unsigned(header: &str, payload: &str) -> String {
    format!(
        "{}.{}.{}",
        b64url(header.as_bytes()),
        b64url(payload.as_bytes()),
        b64url(&[7; 256])
    )
}

// ---- Happy paths -------------------------------------------------------------------

#[test]
fn rs256_rs384_and_ps256_assertions_verify_with_and_without_kid() {
    for alg in ALL_ALGS {
        for kid in [Some(KID_A), None] {
            let assertion = KEY_A.sign(alg, &header(alg, kid), &claims());
            let unverified = inspect(&assertion).unwrap();
            assert_eq!(unverified.alg(), alg);
            assert_eq!(unverified.kid(), kid);
            assert_eq!(unverified.issuer_claim(), CLIENT_ID);
            let verified = accepted(verify(&unverified, &[cand_a(alg)], &expect()));
            assert_eq!(
                verified,
                Verified {
                    credential_id: CRED_A.to_owned(),
                    jti: "0f8c6a1e-5b7d-4e2a-9c3b-1d2e3f405162".to_owned(),
                    exp: NOW + 60,
                    legacy_audience: false,
                },
                "{alg} kid={kid:?}"
            );
        }
    }
}

#[test]
fn assertions_signed_by_the_jsonwebtoken_crate_verify_for_every_algorithm() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    // An independent signer: jsonwebtoken's own header and claim encoding, key from the
    // PKCS#1 form of the fixture (its aws-lc signer takes RSAPrivateKey DER).
    let der = pem::parse(fixture!("rsa2048.pkcs1.key.pem")).unwrap();
    let key = EncodingKey::from_rsa_der(der.contents());
    for (alg, theirs) in [
        (AssertionAlg::RS256, Algorithm::RS256),
        (AssertionAlg::RS384, Algorithm::RS384),
        (AssertionAlg::PS256, Algorithm::PS256),
    ] {
        for kid in [Some(KID_A), None] {
            let mut jwt_header = Header::new(theirs);
            jwt_header.kid = kid.map(str::to_owned);
            let assertion = encode(&jwt_header, &claims(), &key).unwrap();
            let verified = accepted(run(&assertion, &[cand_a(alg)], &expect()));
            assert_eq!(verified.credential_id, CRED_A, "{alg} kid={kid:?}");
        }
    }
}

#[test]
fn both_rotated_credentials_verify_without_kid_and_by_their_own_kid() {
    for alg in ALL_ALGS {
        let candidates = [cand_a(alg), cand_b(alg)];
        for (key, cred, kid) in [(&*KEY_A, CRED_A, KID_A), (&*KEY_B, CRED_B, KID_B)] {
            for kid in [None, Some(kid)] {
                let assertion = key.sign(alg, &header(alg, kid), &claims());
                let verified = accepted(run(&assertion, &candidates, &expect()));
                assert_eq!(verified.credential_id, cred, "{alg} kid={kid:?}");
            }
        }
    }
}

#[test]
fn typ_may_be_absent_jwt_or_client_authentication_jwt() {
    for typ in [None, Some("JWT"), Some("client-authentication+jwt")] {
        let mut h = json!({"alg": "RS256"});
        if let Some(typ) = typ {
            h["typ"] = json!(typ);
        }
        let assertion = KEY_A.sign(AssertionAlg::RS256, &h, &claims());
        accepted(run(&assertion, &[cand_a(AssertionAlg::RS256)], &expect()));
    }
}

#[test]
fn unknown_header_members_and_claims_are_ignored() {
    let h = json!({"alg": "RS256", "cty": "x", "x-custom": {"nested": [1, 2]}});
    let c = claims_with(json!({"scope": "a b", "extra": [1, {"k": null}], "amr": ["pwd"]}));
    let assertion = KEY_A.sign(AssertionAlg::RS256, &h, &c);
    accepted(run(&assertion, &[cand_a(AssertionAlg::RS256)], &expect()));
}

#[test]
fn json_escaped_strings_are_compared_after_unescaping() {
    // `\/` and `\u0041` are the same strings as `/` and `A` once decoded (RFC 8259 §7).
    let escaped_kid = KID_A.replace('c', "\\u0063");
    let escaped_issuer = ISSUER.replace('/', "\\/");
    let escaped_client = CLIENT_ID.replacen('X', "\\u0058", 1);
    let h = format!(r#"{{"alg":"RS256","kid":"{escaped_kid}"}}"#);
    let exp = NOW + 60;
    let c = format!(r#"{{"iss":"{escaped_client}","sub":"{CLIENT_ID}","aud":"{escaped_issuer}","#)
        + &format!(r#""exp":{exp},"jti":"j\u0031"}}"#);
    let assertion = KEY_A.sign_json(AssertionAlg::RS256, &h, &c);
    let unverified = inspect(&assertion).unwrap();
    assert_eq!(unverified.kid(), Some(KID_A));
    assert_eq!(unverified.issuer_claim(), CLIENT_ID);
    let verified = accepted(verify(
        &unverified,
        &[cand_a(AssertionAlg::RS256)],
        &expect(),
    ));
    assert_eq!(verified.jti, "j1");
}

// ---- Size and shape ------------------------------------------------------------------

/// A validly signed assertion of exactly `len` bytes, found by padding an ignored header
/// member and an extra claim (base64url lengths skip some values, two paddings reach all).
fn signed_assertion_of_len(len: usize) -> String {
    for h_pad in 0..8 {
        for c_pad in 0..1200 {
            let h = json!({"alg": "RS256", "x": "h".repeat(h_pad)});
            let c = claims_with(json!({"pad": "p".repeat(c_pad)}));
            let h_len = b64url(h.to_string().as_bytes()).len();
            let c_len = b64url(c.to_string().as_bytes()).len();
            // 2048-bit RSA signature: 256 bytes, 342 base64url characters.
            if h_len + c_len + 342 + 2 == len {
                let assertion = KEY_A.sign(AssertionAlg::RS256, &h, &c);
                assert_eq!(assertion.len(), len);
                return assertion;
            }
        }
    }
    panic!("no padding gives {len} bytes");
}

#[test]
fn assertion_of_2048_bytes_is_accepted_and_of_2049_refused_before_parsing() {
    let at_limit = signed_assertion_of_len(MAX_ASSERTION_LEN);
    accepted(run(&at_limit, &[cand_a(AssertionAlg::RS256)], &expect()));

    let over = signed_assertion_of_len(MAX_ASSERTION_LEN + 1);
    assert_eq!(inspect_reason(&over), Reason::AssertionTooLarge);
    // Checked before anything else: garbage of that size is "too large", not "malformed".
    assert_eq!(inspect_reason(&"!".repeat(2049)), Reason::AssertionTooLarge);
    assert_eq!(
        inspect_reason(&"!".repeat(100_000)),
        Reason::AssertionTooLarge
    );
}

#[test]
fn assertions_with_two_or_four_parts_or_empty_parts_are_malformed() {
    let good = assertion_with(&claims());
    let parts: Vec<&str> = good.split('.').collect();
    let cases = [
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[2]),
        format!("{}.{}.", parts[0], parts[1]),
        format!(".{}.{}", parts[1], parts[2]),
        format!("{}..{}", parts[0], parts[2]),
        String::new(),
        "..".to_owned(),
    ];
    for case in cases {
        assert_eq!(
            inspect_reason(&case),
            Reason::MalformedAssertion,
            "{case:?}"
        );
    }
}

#[test]
fn parts_that_are_not_base64url_json_objects_are_malformed() {
    let ok_header = r#"{"alg":"RS256"}"#;
    let ok_claims = claims().to_string();
    let sig = b64url(&[1; 256]);
    let cases = [
        // Not base64url: padding, the standard alphabet, a stray character.
        format!(
            "{}=.{}.{sig}",
            b64url(ok_header.as_bytes()),
            b64url(ok_claims.as_bytes())
        ),
        format!(
            "{}.{}+/.{sig}",
            b64url(ok_header.as_bytes()),
            b64url(ok_claims.as_bytes())
        ),
        format!(
            "{}.{}.{sig}!",
            b64url(ok_header.as_bytes()),
            b64url(ok_claims.as_bytes())
        ),
        // A base64url string of impossible length (1 mod 4).
        format!(
            "{}.{}A.{sig}",
            b64url(ok_header.as_bytes()),
            b64url(ok_claims.as_bytes())
        ),
        // Not JSON, not UTF-8, trailing garbage, not objects.
        unsigned("not json", &ok_claims),
        unsigned(ok_header, "{\"iss\":"),
        unsigned(ok_header, &format!("{ok_claims} x")),
        format!(
            "{}.{}.{sig}",
            b64url(ok_header.as_bytes()),
            b64url(&[0xff, 0xfe, b'{'])
        ),
        unsigned(r#"["RS256"]"#, &ok_claims),
        unsigned(r#""RS256""#, &ok_claims),
        unsigned(
            ok_header,
            &json!([CLIENT_ID, CLIENT_ID, ISSUER]).to_string(),
        ),
        unsigned(ok_header, "null"),
        unsigned(ok_header, "42"),
    ];
    for case in cases {
        assert_eq!(
            inspect_reason(&case),
            Reason::MalformedAssertion,
            "{case:?}"
        );
    }
}

#[test]
fn duplicated_header_members_and_claims_are_malformed() {
    // Two parsers could read `{"aud":"x","aud":"y"}` differently; we read neither.
    let c = claims().to_string();
    let dup_claim = c.replacen('{', r#"{"aud":"https://evil.example/","#, 1);
    let dup_alg = r#"{"alg":"HS256","alg":"RS256"}"#;
    for case in [
        unsigned(r#"{"alg":"RS256"}"#, &dup_claim),
        unsigned(dup_alg, &c),
    ] {
        assert_eq!(inspect_reason(&case), Reason::MalformedAssertion);
    }
}

#[test]
fn claims_of_the_wrong_json_type_are_malformed() {
    let cases = [
        json!({"aud": 42}),
        json!({"aud": {"issuer": ISSUER}}),
        json!({"aud": [ISSUER, 1]}),
        json!({"aud": [[ISSUER]]}),
        json!({"iss": 5}),
        json!({"sub": true}),
        json!({"jti": 12345}),
        json!({"exp": (NOW + 60).to_string()}),
        json!({"iat": [NOW]}),
    ];
    for case in cases {
        let c = claims_with(case.clone());
        assert_eq!(
            inspect_reason(&assertion_with(&c)),
            Reason::MalformedAssertion,
            "{case}"
        );
    }
    // `null` is not absence (`claims_with` removes on null, so write it by hand).
    for name in ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"] {
        let assertion = KEY_A.sign_json(
            AssertionAlg::RS256,
            r#"{"alg":"RS256"}"#,
            &claims_raw(name, "null"),
        );
        assert_eq!(
            inspect_reason(&assertion),
            Reason::MalformedAssertion,
            "{name}"
        );
    }
}

#[test]
fn timestamps_must_be_json_integers() {
    for raw in [
        format!("{}.0", NOW + 60),
        format!("{}.5", NOW + 60),
        "1.8e9".to_owned(),
        format!("\"{}\"", NOW + 60),
        "true".to_owned(),
        "9223372036854775808".to_owned(),
        "-9223372036854775809".to_owned(),
        "18446744073709551616".to_owned(),
    ] {
        for name in ["exp", "nbf", "iat"] {
            let assertion = KEY_A.sign_json(
                AssertionAlg::RS256,
                r#"{"alg":"RS256"}"#,
                &claims_raw(name, &raw),
            );
            assert_eq!(
                inspect_reason(&assertion),
                Reason::MalformedAssertion,
                "{name}: {raw}"
            );
        }
    }
}

// ---- Header: algorithm, typ, crit, kid ---------------------------------------------

#[test]
fn alg_none_is_refused_with_or_without_a_signature_part() {
    let c = claims().to_string();
    for alg in ["none", "None", "NONE"] {
        let h = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        // RFC 7519 §6.1: an unsecured JWT has an empty third part, which is not three
        // base64url parts.
        let empty_sig = format!("{}.{}.", b64url(h.as_bytes()), b64url(c.as_bytes()));
        assert_eq!(inspect_reason(&empty_sig), Reason::MalformedAssertion);
        // With something in the signature part, the allowlist refuses it.
        assert_eq!(inspect_reason(&unsigned(&h, &c)), Reason::UnsupportedAlg);
        let mut with_kid = h.clone();
        with_kid.insert_str(1, &format!(r#""kid":"{KID_A}","#));
        assert_eq!(
            inspect_reason(&unsigned(&with_kid, &c)),
            Reason::UnsupportedAlg
        );
    }
}

#[test]
fn hs256_keyed_with_the_public_key_is_refused_as_unsupported_alg() {
    // Algorithm confusion: an HMAC "signed" with the client's public key, which anyone
    // has, in each form it is known in.
    let c = claims().to_string();
    for kid in [None, Some(KID_A)] {
        let h = match kid {
            Some(kid) => format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#),
            None => r#"{"alg":"HS256","typ":"JWT"}"#.to_owned(),
        };
        let input = format!("{}.{}", b64url(h.as_bytes()), b64url(c.as_bytes()));
        for secret in [
            KEY_A.public_pem.as_bytes(),
            KEY_A.info.verifier_bytes.as_slice(),
        ] {
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
            let assertion = format!("{input}.{}", b64url(tag.as_ref()));
            assert_eq!(inspect_reason(&assertion), Reason::UnsupportedAlg);
        }
    }
}

#[test]
fn algorithms_outside_the_allowlist_are_refused_before_key_lookup() {
    let c = claims().to_string();
    for alg in [
        "HS256", "HS384", "HS512", "ES512", "ES256K", "Ed25519", "EDDSA", "es256", "RS512",
        "PS384", "PS512", "rs256", "Rs256", "RS256 ", " RS256", "RS 256", "", "RSA-OAEP",
    ] {
        let h = json!({"alg": alg}).to_string();
        assert_eq!(
            inspect_reason(&unsigned(&h, &c)),
            Reason::UnsupportedAlg,
            "{alg:?}"
        );
    }
    // A missing `alg` is no allowed algorithm either; a non-string one is malformed.
    assert_eq!(
        inspect_reason(&unsigned(r#"{"typ":"JWT"}"#, &c)),
        Reason::UnsupportedAlg
    );
    assert_eq!(
        inspect_reason(&unsigned(r#"{"alg":256}"#, &c)),
        Reason::MalformedAssertion
    );
}

#[test]
fn header_alg_other_than_the_credentials_alg_is_alg_mismatch() {
    // Signed correctly as RS384 by the credential's own key, but the credential is RS256.
    let credential = cand_a(AssertionAlg::RS256);
    let with_kid = KEY_A.sign(
        AssertionAlg::RS384,
        &header(AssertionAlg::RS384, Some(KID_A)),
        &claims(),
    );
    let rejection = refused(run(&with_kid, &[credential], &expect()));
    assert_eq!(rejection.reason(), Reason::AlgMismatch);
    assert_eq!(rejection.credential_id(), Some(CRED_A));

    // Without kid no credential of that alg exists to try.
    let without_kid = KEY_A.sign(
        AssertionAlg::RS384,
        &header(AssertionAlg::RS384, None),
        &claims(),
    );
    assert_eq!(
        reason(run(&without_kid, &[credential], &expect())),
        Reason::NoUsableCredential
    );
    // PS256 and RS256 share SHA-256 but are not interchangeable either.
    let pss = KEY_A.sign(
        AssertionAlg::PS256,
        &header(AssertionAlg::PS256, Some(KID_A)),
        &claims(),
    );
    assert_eq!(
        reason(run(&pss, &[credential], &expect())),
        Reason::AlgMismatch
    );
}

#[test]
fn jwk_jku_x5u_x5c_and_x5t_headers_are_ignored_and_never_trusted() {
    let attacker = &*ATTACKER;
    let jwk = json!({
        "kty": "RSA",
        "n": b64url(attacker.info.rsa_components().unwrap().0),
        "e": b64url(attacker.info.rsa_components().unwrap().1),
        "kid": attacker.info.thumbprint,
    });
    let poisoned = |kid: Option<&str>| {
        let mut h = json!({
            "alg": "RS256",
            "jwk": jwk,
            "jku": "https://attacker.example/jwks.json",
            "x5u": "https://attacker.example/cert.pem",
            "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
            "x5t": "bm90LWEtdGh1bWJwcmludA",
        });
        if let Some(kid) = kid {
            h["kid"] = json!(kid);
        }
        h
    };
    let candidates = [cand_a(AssertionAlg::RS256)];

    // Signed by the attacker's key, which the header carries: not trusted.
    let forged = attacker.sign(AssertionAlg::RS256, &poisoned(None), &claims());
    let rejection = refused(run(&forged, &candidates, &expect()));
    assert_eq!(rejection.reason(), Reason::BadSignature);
    assert_eq!(rejection.credential_id(), Some(CRED_A));
    // Naming the embedded key by its kid finds nothing.
    let named = attacker.sign(
        AssertionAlg::RS256,
        &poisoned(Some(&attacker.info.thumbprint)),
        &claims(),
    );
    assert_eq!(
        reason(run(&named, &candidates, &expect())),
        Reason::UnknownKid
    );
    // Naming the client's kid still needs the client's key.
    let borrowed_kid = attacker.sign(AssertionAlg::RS256, &poisoned(Some(KID_A)), &claims());
    assert_eq!(
        reason(run(&borrowed_kid, &candidates, &expect())),
        Reason::BadSignature
    );

    // The members are ignored, not refused: the client's own key still verifies.
    let genuine = KEY_A.sign(AssertionAlg::RS256, &poisoned(Some(KID_A)), &claims());
    accepted(run(&genuine, &candidates, &expect()));
}

#[test]
fn any_crit_header_is_refused() {
    for crit in [
        json!(["exp"]),
        json!([]),
        json!(["b64"]),
        json!("exp"),
        Value::Null,
    ] {
        let h = format!(r#"{{"alg":"RS256","b64":false,"crit":{crit}}}"#);
        let assertion = KEY_A.sign_json(AssertionAlg::RS256, &h, &claims().to_string());
        assert_eq!(inspect_reason(&assertion), Reason::CritHeader, "{crit}");
    }
}

#[test]
fn typ_other_than_jwt_or_client_authentication_jwt_is_bad_typ() {
    for typ in [
        "jwt",
        "JWS",
        "JOSE",
        "at+jwt",
        "application/jwt",
        "client-authentication+JWT",
        "application/client-authentication+jwt",
        "",
        "JWT ",
    ] {
        let h = json!({"alg": "RS256", "typ": typ});
        let assertion = KEY_A.sign(AssertionAlg::RS256, &h, &claims());
        assert_eq!(inspect_reason(&assertion), Reason::BadTyp, "{typ:?}");
    }
    for typ in [json!(1), json!(["JWT"]), Value::Null] {
        let h = json!({"alg": "RS256", "typ": typ}).to_string();
        assert_eq!(
            inspect_reason(&unsigned(&h, &claims().to_string())),
            Reason::MalformedAssertion,
            "{typ}"
        );
    }
}

#[test]
fn kid_naming_no_candidate_is_unknown_kid() {
    let candidates = [cand_a(AssertionAlg::RS256), cand_b(AssertionAlg::RS256)];
    for kid in [
        "someone-elses-kid",
        "",
        "client-key-a-2048 ",
        "CLIENT-KEY-A-2048",
    ] {
        let assertion = KEY_A.sign(
            AssertionAlg::RS256,
            &header(AssertionAlg::RS256, Some(kid)),
            &claims(),
        );
        let rejection = refused(run(&assertion, &candidates, &expect()));
        assert_eq!(rejection.reason(), Reason::UnknownKid, "{kid:?}");
        assert_eq!(rejection.credential_id(), None);
    }
}

#[test]
fn kid_of_128_characters_reaches_lookup_and_of_129_is_malformed() {
    let c = claims().to_string();
    let at_limit = json!({"alg": "RS256", "kid": "k".repeat(128)}).to_string();
    let assertion = unsigned(&at_limit, &c);
    let unverified = inspect(&assertion).unwrap();
    assert_eq!(unverified.kid().map(str::len), Some(128));
    assert_eq!(
        reason(verify(
            &unverified,
            &[cand_a(AssertionAlg::RS256)],
            &expect()
        )),
        Reason::UnknownKid
    );
    // Characters, not bytes: 128 two-byte characters are within the limit.
    let multibyte = json!({"alg": "RS256", "kid": "é".repeat(128)}).to_string();
    assert!(inspect(&unsigned(&multibyte, &c)).is_ok());

    for kid in [json!("k".repeat(129)), json!(42), json!(["k"])] {
        let h = json!({"alg": "RS256", "kid": kid}).to_string();
        assert_eq!(
            inspect_reason(&unsigned(&h, &c)),
            Reason::MalformedAssertion
        );
    }
}

// ---- Key choice (BEHAVIOUR B.5) ------------------------------------------------------------

#[test]
fn no_candidate_at_all_is_no_usable_credential() {
    let assertion = assertion_with(&claims());
    assert_eq!(
        reason(run(&assertion, &[], &expect())),
        Reason::NoUsableCredential
    );
    let with_kid = KEY_A.sign(
        AssertionAlg::RS256,
        &header(AssertionAlg::RS256, Some(KID_A)),
        &claims(),
    );
    assert_eq!(reason(run(&with_kid, &[], &expect())), Reason::UnknownKid);
}

#[test]
fn credential_expiring_at_now_is_refused_with_and_without_kid() {
    let alg = AssertionAlg::RS256;
    let with_kid = KEY_A.sign(alg, &header(alg, Some(KID_A)), &claims());
    let without_kid = KEY_A.sign(alg, &header(alg, None), &claims());

    // Boundary: usable while now < expires_at. Without a kid, the expired key is the one that
    // verifies, and the refusal names it.
    for expires_at in [NOW, NOW - 1, i64::MIN] {
        let expired = [candidate(CRED_A, KID_A, alg, &KEY_A, Some(expires_at))];
        for assertion in [&with_kid, &without_kid] {
            let rejection = refused(run(assertion, &expired, &expect()));
            assert_eq!(rejection.reason(), Reason::CredentialExpired);
            assert_eq!(rejection.credential_id(), Some(CRED_A));
        }
    }
    for expires_at in [Some(NOW + 1), Some(i64::MAX), None] {
        let usable = [candidate(CRED_A, KID_A, alg, &KEY_A, expires_at)];
        accepted(run(&with_kid, &usable, &expect()));
        accepted(run(&without_kid, &usable, &expect()));
    }
}

#[test]
fn expired_credential_is_skipped_without_kid_while_its_successor_verifies() {
    let alg = AssertionAlg::PS256;
    let candidates = [
        candidate(CRED_A, KID_A, alg, &KEY_A, Some(NOW - 100)),
        cand_b(alg),
    ];
    let by_b = KEY_B.sign(alg, &header(alg, None), &claims());
    assert_eq!(
        accepted(run(&by_b, &candidates, &expect())).credential_id,
        CRED_B
    );
    // The expired key's signature no longer counts; the refusal names the expired credential.
    let by_a = KEY_A.sign(alg, &header(alg, None), &claims());
    let rejection = refused(run(&by_a, &candidates, &expect()));
    assert_eq!(rejection.reason(), Reason::CredentialExpired);
    assert_eq!(rejection.credential_id(), Some(CRED_A));
}

fn disabled(mut c: CandidateKey<'static>) -> CandidateKey<'static> {
    c.enabled = false;
    c
}

#[test]
fn disabled_credential_never_authenticates_and_is_named_with_or_without_kid() {
    let alg = AssertionAlg::RS256;
    let with_kid = KEY_A.sign(alg, &header(alg, Some(KID_A)), &claims());
    let without_kid = KEY_A.sign(alg, &header(alg, None), &claims());
    let candidates = [disabled(cand_a(alg)), cand_b(alg)];
    for assertion in [&with_kid, &without_kid] {
        let rejection = refused(run(assertion, &candidates, &expect()));
        assert_eq!(rejection.reason(), Reason::CredentialDisabled);
        assert_eq!(rejection.credential_id(), Some(CRED_A));
    }
    // Alone, too.
    let rejection = refused(run(&without_kid, &[disabled(cand_a(alg))], &expect()));
    assert_eq!(rejection.reason(), Reason::CredentialDisabled);
    // Both expired and disabled: expired is what the owner must fix.
    let both = disabled(candidate(CRED_A, KID_A, alg, &KEY_A, Some(NOW)));
    assert_eq!(
        reason(run(&without_kid, &[both], &expect())),
        Reason::CredentialExpired
    );
    // The enabled successor still works beside it.
    let by_b = KEY_B.sign(alg, &header(alg, None), &claims());
    assert_eq!(
        accepted(run(&by_b, &candidates, &expect())).credential_id,
        CRED_B
    );
}

#[test]
fn without_kid_a_signature_no_known_key_verifies_stays_no_usable_credential_or_bad_signature() {
    let alg = AssertionAlg::RS256;
    let by_attacker = ATTACKER.sign(alg, &header(alg, None), &claims());
    // Only unusable credentials, none of whose keys verifies: nothing to name.
    let unusable = [
        candidate(CRED_A, KID_A, alg, &KEY_A, Some(NOW - 1)),
        disabled(cand_b(alg)),
    ];
    let rejection = refused(run(&by_attacker, &unusable, &expect()));
    assert_eq!(rejection.reason(), Reason::NoUsableCredential);
    assert_eq!(rejection.credential_id(), None);
    // A usable key tried and failing stays the refusal's subject.
    let rejection = refused(run(
        &by_attacker,
        &[
            candidate(CRED_A, KID_A, alg, &KEY_A, Some(NOW - 1)),
            cand_b(alg),
        ],
        &expect(),
    ));
    assert_eq!(rejection.reason(), Reason::BadSignature);
    assert_eq!(rejection.credential_id(), Some(CRED_B));
    // An expired key of another algorithm is not tried: it could not verify this signature.
    let other_alg = [candidate(
        CRED_A,
        KID_A,
        AssertionAlg::PS256,
        &KEY_A,
        Some(NOW - 1),
    )];
    let by_a = KEY_A.sign(alg, &header(alg, None), &claims());
    assert_eq!(
        reason(run(&by_a, &other_alg, &expect())),
        Reason::NoUsableCredential
    );
}

#[test]
fn naming_an_unusable_credential_costs_at_most_two_verifications_in_all() {
    // Two usable keys that fail, then the expired key that would verify: the budget of two is
    // spent, so the third is never tried (and the refusal is the usable keys' bad signature).
    let alg = AssertionAlg::RS256;
    let by_c = ATTACKER.sign(alg, &header(alg, None), &claims());
    let expired_c = candidate(CRED_C, KID_C, alg, &ATTACKER, Some(NOW - 1));
    let rejection = refused(run(
        &by_c,
        &[cand_a(alg), cand_b(alg), expired_c],
        &expect(),
    ));
    assert_eq!(rejection.reason(), Reason::BadSignature);
    // With one usable key, the expired one fits in the budget and is named.
    let rejection = refused(run(&by_c, &[cand_a(alg), expired_c], &expect()));
    assert_eq!(rejection.reason(), Reason::CredentialExpired);
    assert_eq!(rejection.credential_id(), Some(CRED_C));
}

#[test]
fn verification_without_kid_stops_after_two_attempts() {
    // Three candidates cannot happen with BEHAVIOUR A.1's limit of two, but the cost bound must
    // not depend on the caller: the third key, the right one, is never tried.
    let alg = AssertionAlg::RS256;
    let third = candidate(CRED_C, KID_C, alg, &ATTACKER, None);
    let by_third = ATTACKER.sign(alg, &header(alg, None), &claims());
    let rejection = refused(run(
        &by_third,
        &[cand_a(alg), cand_b(alg), third],
        &expect(),
    ));
    assert_eq!(rejection.reason(), Reason::BadSignature);
    assert_eq!(
        rejection.credential_id(),
        None,
        "two keys were tried, neither chosen"
    );
    // Placed within the first two, it verifies.
    let verified = accepted(run(
        &by_third,
        &[cand_a(alg), third, cand_b(alg)],
        &expect(),
    ));
    assert_eq!(verified.credential_id, CRED_C);
}

#[test]
fn tampered_payload_header_or_signature_is_bad_signature() {
    let alg = AssertionAlg::RS256;
    let good = KEY_A.sign(alg, &header(alg, Some(KID_A)), &claims());
    let parts: Vec<&str> = good.split('.').collect();

    let other_jti = claims_with(json!({"jti": "another-jti"})).to_string();
    let swapped_payload = format!("{}.{}.{}", parts[0], b64url(other_jti.as_bytes()), parts[2]);
    let other_header = header(alg, Some(KID_A))
        .to_string()
        .replace("JWT", "client-authentication+jwt");
    let swapped_header = format!(
        "{}.{}.{}",
        b64url(other_header.as_bytes()),
        parts[1],
        parts[2]
    );
    let mut sig = b64url_decode(parts[2]).unwrap();
    sig[100] ^= 1;
    let flipped_sig = format!("{}.{}.{}", parts[0], parts[1], b64url(&sig));
    let short_sig = format!("{}.{}.{}", parts[0], parts[1], b64url(&sig[..255]));

    for case in [swapped_payload, swapped_header, flipped_sig, short_sig] {
        let rejection = refused(run(&case, &[cand_a(alg)], &expect()));
        assert_eq!(rejection.reason(), Reason::BadSignature);
        assert_eq!(rejection.credential_id(), Some(CRED_A));
    }
    // Signed by key A but naming key B: B's key does not verify it.
    let misnamed = KEY_A.sign(alg, &header(alg, Some(KID_B)), &claims());
    let rejection = refused(run(&misnamed, &[cand_a(alg), cand_b(alg)], &expect()));
    assert_eq!(rejection.reason(), Reason::BadSignature);
    assert_eq!(rejection.credential_id(), Some(CRED_B));
}

#[test]
fn claims_are_judged_only_after_the_signature_verifies() {
    // A forged assertion with every claim wrong is reported as a bad signature, not as
    // whichever claim is wrong: nothing unsigned is judged.
    let bad = claims_with(json!({"sub": "x", "aud": "y", "exp": 1, "jti": null}));
    let forged = ATTACKER.sign(
        AssertionAlg::RS256,
        &header(AssertionAlg::RS256, None),
        &bad,
    );
    assert_eq!(
        reason(run(&forged, &[cand_a(AssertionAlg::RS256)], &expect())),
        Reason::BadSignature
    );
}

// ---- Identity (BEHAVIOUR A.6, B.3) --------------------------------------------------------

#[test]
fn missing_or_empty_iss_is_refused_at_inspection() {
    for change in [json!({"iss": null}), json!({"iss": ""})] {
        let c = claims_with(change);
        assert_eq!(inspect_reason(&assertion_with(&c)), Reason::MissingIss);
    }
}

#[test]
fn iss_different_from_sub_or_missing_sub_is_iss_sub_mismatch() {
    for change in [
        json!({"sub": "another-client-id-0123456789abcd"}),
        json!({"sub": format!("{CLIENT_ID}@clients")}),
        json!({"sub": CLIENT_ID.to_lowercase()}),
        json!({"sub": ""}),
        json!({"sub": null}),
    ] {
        let rejection = refused(run_claims(&claims_with(change.clone()), &expect()));
        assert_eq!(rejection.reason(), Reason::IssSubMismatch, "{change}");
        assert_eq!(rejection.credential_id(), Some(CRED_A));
    }
}

#[test]
fn iss_and_sub_other_than_the_loaded_client_id_are_client_id_mismatch() {
    let expect_other = Expectations {
        client_id: "a-different-client-id-0123456789",
        ..expect()
    };
    assert_eq!(
        reason(run_claims(&claims(), &expect_other)),
        Reason::ClientIdMismatch
    );
}

#[test]
fn iss_or_sub_of_65_characters_is_claim_too_long() {
    let id64 = "c".repeat(64);
    let expect64 = Expectations {
        client_id: &id64,
        ..expect()
    };
    accepted(run_claims(
        &claims_with(json!({"iss": id64, "sub": id64})),
        &expect64,
    ));

    let id65 = "c".repeat(65);
    let long_iss = assertion_with(&claims_with(json!({"iss": id65, "sub": id65})));
    assert_eq!(inspect_reason(&long_iss), Reason::ClaimTooLong);
    assert_eq!(
        reason(run_claims(
            &claims_with(json!({"iss": id64, "sub": id65})),
            &expect64
        )),
        Reason::ClaimTooLong
    );
}

// ---- Audience (BEHAVIOUR A.6, B.1) --------------------------------------------------------

#[test]
fn aud_must_be_the_issuer_exactly_as_a_single_string() {
    let refused_by_default = [
        json!("https://tenant.example"),
        json!("https://tenant.example//"),
        json!("HTTPS://TENANT.EXAMPLE/"),
        json!("https://Tenant.example/"),
        json!(" https://tenant.example/"),
        json!("https://tenant.example/ "),
        json!("http://tenant.example/"),
        json!("https://tenant.example:443/"),
        json!(TOKEN_ENDPOINT),
        json!(""),
        json!([ISSUER]),
        json!([ISSUER, "https://api.example/"]),
        json!([]),
    ];
    for aud in refused_by_default {
        let rejection = refused(run_claims(&claims_with(json!({"aud": aud})), &expect()));
        assert_eq!(rejection.reason(), Reason::AudMismatch, "{aud}");
        assert_eq!(rejection.credential_id(), Some(CRED_A));
    }
    assert_eq!(
        reason(run_claims(&claims_with(json!({"aud": null})), &expect())),
        Reason::AudMismatch
    );
}

#[test]
fn legacy_audience_option_accepts_the_token_endpoint_and_arrays_containing_the_issuer() {
    // The issuer itself is not a legacy use.
    let plain = accepted(run_claims(&claims(), &legacy()));
    assert!(!plain.legacy_audience);

    for aud in [
        json!(TOKEN_ENDPOINT),
        json!([ISSUER]),
        json!(["https://api.example/", ISSUER]),
        json!([TOKEN_ENDPOINT]),
        json!(["https://api.example/", TOKEN_ENDPOINT, "x"]),
    ] {
        let verified = accepted(run_claims(&claims_with(json!({"aud": aud})), &legacy()));
        assert!(verified.legacy_audience, "{aud}");
    }
    // Still exact: the option widens the set of strings, not the comparison.
    for aud in [
        json!("https://tenant.example"),
        json!("HTTPS://TENANT.EXAMPLE/"),
        json!("https://tenant.example/oauth/token/"),
        json!("https://tenant.example/OAuth/Token"),
        json!(["https://tenant.example"]),
        json!(["https://api.example/"]),
        json!([]),
    ] {
        assert_eq!(
            reason(run_claims(&claims_with(json!({"aud": aud})), &legacy())),
            Reason::AudMismatch,
            "{aud}"
        );
    }
}

// ---- Time limits (BEHAVIOUR A.6) -----------------------------------------------------------

fn time_reason(changes: Value) -> Option<Reason> {
    run_claims(&claims_with(changes), &expect())
        .err()
        .map(|r| r.reason())
}

#[test]
fn missing_exp_is_refused() {
    assert_eq!(time_reason(json!({"exp": null})), Some(Reason::MissingExp));
}

#[test]
fn exp_equal_to_now_minus_skew_is_expired_and_one_second_later_is_accepted() {
    for iat in [json!(null), json!(NOW - 30)] {
        assert_eq!(
            time_reason(json!({"exp": NOW - SKEW, "iat": iat})),
            Some(Reason::Expired)
        );
        assert_eq!(
            time_reason(json!({"exp": NOW - SKEW + 1, "iat": iat})),
            None
        );
    }
    assert_eq!(time_reason(json!({"exp": 0})), Some(Reason::Expired));
    assert_eq!(time_reason(json!({"exp": -1})), Some(Reason::Expired));
}

#[test]
fn nbf_up_to_now_plus_skew_is_accepted_and_one_second_later_is_not_yet_valid() {
    assert_eq!(time_reason(json!({"nbf": NOW + SKEW})), None);
    assert_eq!(
        time_reason(json!({"nbf": NOW + SKEW + 1})),
        Some(Reason::NotYetValid)
    );
    assert_eq!(time_reason(json!({"nbf": 0})), None);
}

#[test]
fn iat_up_to_now_plus_skew_is_accepted_and_one_second_later_is_in_the_future() {
    assert_eq!(time_reason(json!({"iat": NOW + SKEW})), None);
    assert_eq!(
        time_reason(json!({"iat": NOW + SKEW + 1})),
        Some(Reason::IatInFuture)
    );
}

#[test]
fn exp_at_most_300_seconds_after_iat_is_accepted_and_301_refused() {
    assert_eq!(
        time_reason(json!({"iat": NOW - 100, "exp": NOW + 200})),
        None
    );
    assert_eq!(
        time_reason(json!({"iat": NOW - 100, "exp": NOW + 201})),
        Some(Reason::LifetimeTooLong)
    );
    // iat in the (tolerated) future: the lifetime still counts from iat.
    assert_eq!(
        time_reason(json!({"iat": NOW + 10, "exp": NOW + 310})),
        None
    );
    assert_eq!(
        time_reason(json!({"iat": NOW + 10, "exp": NOW + 311})),
        Some(Reason::LifetimeTooLong)
    );
    // An old iat makes a long-lived assertion, even if exp is near.
    assert_eq!(
        time_reason(json!({"iat": NOW - 400, "exp": NOW + 5})),
        Some(Reason::LifetimeTooLong)
    );
}

#[test]
fn without_iat_exp_at_most_300_seconds_after_now_is_accepted_and_301_refused() {
    assert_eq!(time_reason(json!({"iat": null, "exp": NOW + 300})), None);
    assert_eq!(
        time_reason(json!({"iat": null, "exp": NOW + 301})),
        Some(Reason::LifetimeTooLong)
    );
}

#[test]
fn extreme_timestamps_are_refused_without_overflow() {
    let cases = [
        (
            json!({"exp": i64::MAX, "iat": i64::MIN}),
            Reason::LifetimeTooLong,
        ),
        (
            json!({"exp": i64::MAX, "iat": null}),
            Reason::LifetimeTooLong,
        ),
        (json!({"exp": i64::MIN}), Reason::Expired),
        (json!({"nbf": i64::MAX}), Reason::NotYetValid),
        (json!({"iat": i64::MAX}), Reason::IatInFuture),
    ];
    for (changes, expected) in cases {
        assert_eq!(time_reason(changes.clone()), Some(expected), "{changes}");
    }
    // And a clock at the ends of the range does not overflow either.
    for now in [i64::MIN, i64::MAX] {
        let at = Expectations { now, ..expect() };
        assert!(run_claims(&claims(), &at).is_err());
    }
}

// ---- jti (BEHAVIOUR A.6, B.6) ---------------------------------------------------------------

#[test]
fn missing_or_empty_jti_is_refused() {
    for change in [json!({"jti": null}), json!({"jti": ""})] {
        assert_eq!(time_reason(change), Some(Reason::MissingJti));
    }
}

#[test]
fn jti_of_64_characters_is_accepted_and_of_65_refused() {
    let verified = accepted(run_claims(
        &claims_with(json!({"jti": "j".repeat(64)})),
        &expect(),
    ));
    assert_eq!(verified.jti, "j".repeat(64));
    assert_eq!(time_reason(json!({"jti": "ü".repeat(64)})), None);
    assert_eq!(
        time_reason(json!({"jti": "j".repeat(65)})),
        Some(Reason::JtiTooLong)
    );
}

#[test]
fn jti_with_a_control_character_is_refused() {
    for jti in ["a\u{0}b", "\u{0}", "tab\there", "del\u{7f}"] {
        assert_eq!(
            time_reason(json!({ "jti": jti })),
            Some(Reason::InvalidJti),
            "{jti:?}"
        );
    }
    assert_eq!(
        time_reason(json!({"jti": "printable-\u{e9}-\u{1f600}"})),
        None
    );
}

// ---- Reporting -------------------------------------------------------------------------

#[test]
fn debug_output_never_contains_the_assertion_text() {
    let assertion = KEY_A.sign(
        AssertionAlg::PS256,
        &header(AssertionAlg::PS256, Some(KID_A)),
        &claims(),
    );
    let unverified = inspect(&assertion).unwrap();
    let debug = format!("{unverified:?}");
    assert!(debug.contains("PS256") && debug.contains(KID_A) && debug.contains(CLIENT_ID));
    for part in assertion.split('.') {
        for window in part.as_bytes().windows(16).step_by(8) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(!debug.contains(window), "{debug} shows {window}");
        }
    }
    assert!(!debug.contains("0f8c6a1e"), "the jti is not shown");

    let rejection = refused(verify(&unverified, &[], &expect()));
    let shown = format!("{rejection:?} {rejection}");
    assert!(!shown.contains(&assertion[..20]));
    assert_eq!(
        rejection.to_string(),
        "client assertion refused: unknown_kid"
    );
}

#[test]
fn reason_codes_are_stable_unique_snake_case() {
    let all = [
        (Reason::AssertionTooLarge, "assertion_too_large"),
        (Reason::MalformedAssertion, "malformed_assertion"),
        (Reason::UnsupportedAlg, "unsupported_alg"),
        (Reason::BadTyp, "bad_typ"),
        (Reason::CritHeader, "crit_header"),
        (Reason::MissingIss, "missing_iss"),
        (Reason::IssSubMismatch, "iss_sub_mismatch"),
        (Reason::ClientIdMismatch, "client_id_mismatch"),
        (Reason::UnknownKid, "unknown_kid"),
        (Reason::AlgMismatch, "alg_mismatch"),
        (Reason::NoUsableCredential, "no_usable_credential"),
        (Reason::CredentialExpired, "credential_expired"),
        (Reason::CredentialDisabled, "credential_disabled"),
        (Reason::BadSignature, "bad_signature"),
        (Reason::AudMismatch, "aud_mismatch"),
        (Reason::MissingExp, "missing_exp"),
        (Reason::Expired, "expired"),
        (Reason::NotYetValid, "not_yet_valid"),
        (Reason::IatInFuture, "iat_in_future"),
        (Reason::LifetimeTooLong, "lifetime_too_long"),
        (Reason::MissingJti, "missing_jti"),
        (Reason::JtiTooLong, "jti_too_long"),
        (Reason::InvalidJti, "invalid_jti"),
        (Reason::ClaimTooLong, "claim_too_long"),
    ];
    let mut codes = std::collections::HashSet::new();
    for (reason, code) in all {
        assert_eq!(reason.code(), code);
        assert_eq!(reason.to_string(), code);
        assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        assert!(codes.insert(code));
    }
}

#[test]
fn randomly_mangled_assertions_never_panic_and_are_never_accepted() {
    // Deterministic xorshift so a failure reproduces.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alg = AssertionAlg::RS256;
    let good = KEY_A.sign(alg, &header(alg, Some(KID_A)), &claims());
    let candidates = [cand_a(alg), cand_b(alg)];
    let alphabet = b"ABCxyz019-_.=+/ {}\"";
    for _ in 0..600 {
        let mut bytes = good.clone().into_bytes();
        for _ in 0..(next() % 3 + 1) {
            let at = (next() as usize) % bytes.len();
            match next() % 3 {
                0 => bytes[at] = alphabet[(next() as usize) % alphabet.len()],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, alphabet[(next() as usize) % alphabet.len()]),
            }
        }
        let text = String::from_utf8(bytes).unwrap();
        if text == good {
            continue;
        }
        // Decoding-equivalent edits (a changed trailing bit) are caught by the strict
        // decoder; nothing mangled may verify.
        assert!(run(&text, &candidates, &expect()).is_err(), "{text}");
    }
    // Mangled JSON, properly encoded and signed, reaches the parsers.
    let json_text = claims().to_string();
    let json_alphabet: Vec<char> = "{}[]\":,0123456789.eE-+ nultrfasi\\u".chars().collect();
    for _ in 0..600 {
        let mut chars: Vec<char> = json_text.chars().collect();
        for _ in 0..(next() % 3 + 1) {
            let at = (next() as usize) % chars.len();
            chars[at] = json_alphabet[(next() as usize) % json_alphabet.len()];
        }
        let payload: String = chars.into_iter().collect();
        let assertion = unsigned(r#"{"alg":"RS256"}"#, &payload);
        let _ = run(&assertion, &candidates, &expect());
    }
}

#[test]
fn the_claimed_issuer_is_read_for_the_log_only_when_short_and_plain() {
    let with = |payload: &str| {
        format!(
            "{}.{}.",
            b64url(br#"{"alg":"none"}"#),
            b64url(payload.as_bytes())
        )
    };
    assert_eq!(
        claimed_issuer_for_log(&with(r#"{"iss":"abc123"}"#)).as_deref(),
        Some("abc123")
    );
    assert_eq!(claimed_issuer_for_log(&with(r#"{"iss":""}"#)), None);
    assert_eq!(
        claimed_issuer_for_log(&with(&format!(r#"{{"iss":"{}"}}"#, "a".repeat(65)))),
        None
    );
    assert_eq!(claimed_issuer_for_log(&with(r#"{"iss":"a b"}"#)), None);
    assert_eq!(claimed_issuer_for_log(&with(r#"{"iss":7}"#)), None);
    assert_eq!(claimed_issuer_for_log("no-dots"), None);
    let huge = with(&format!(
        r#"{{"iss":"abc","pad":"{}"}}"#,
        "x".repeat(MAX_ASSERTION_LEN)
    ));
    assert_eq!(claimed_issuer_for_log(&huge), None);
}

/// The private half of an EC or Ed25519 fixture.
enum CurvePair {
    Ecdsa(signature::EcdsaKeyPair),
    Ed25519(signature::Ed25519KeyPair),
}

/// An EC or Ed25519 fixture key pair, its key parsed for its one algorithm.
struct CurveKey {
    alg: AssertionAlg,
    pair: CurvePair,
    parsed: ParsedPublicKey,
}

impl CurveKey {
    fn load(alg: AssertionAlg, private_pem: &str, public_pem: &str) -> Self {
        use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair};
        let pkcs8 = pem::parse(private_pem).unwrap().contents().to_vec();
        let pair = match alg {
            AssertionAlg::ES256 | AssertionAlg::ES384 => {
                let signing = if alg == AssertionAlg::ES256 {
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING
                } else {
                    &signature::ECDSA_P384_SHA384_FIXED_SIGNING
                };
                CurvePair::Ecdsa(EcdsaKeyPair::from_pkcs8(signing, &pkcs8).unwrap())
            }
            _ => CurvePair::Ed25519(Ed25519KeyPair::from_pkcs8(&pkcs8).unwrap()),
        };
        let info = parse_public_key_pem(public_pem).unwrap();
        let parsed =
            ParsedPublicKey::new(alg.verification_algorithm(), &info.verifier_bytes).unwrap();
        Self { alg, pair, parsed }
    }

    /// Signs as `header_alg` says, with this key's own algorithm.
    fn sign(&self, header_alg: &str, kid: Option<&str>) -> String {
        let mut h = json!({"alg": header_alg, "typ": "JWT"});
        if let Some(kid) = kid {
            h["kid"] = json!(kid);
        }
        let input = format!(
            "{}.{}",
            b64url(h.to_string().as_bytes()),
            b64url(claims().to_string().as_bytes())
        );
        let sig = match &self.pair {
            CurvePair::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
            CurvePair::Ed25519(pair) => pair.sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", b64url(&sig))
    }

    fn candidate(&self, alg: AssertionAlg) -> CandidateKey<'_> {
        CandidateKey {
            credential_id: CRED_C,
            kid: KID_C,
            alg,
            key: &self.parsed,
            expires_at: None,
            enabled: true,
        }
    }
}

static CURVE_KEYS: LazyLock<[CurveKey; 3]> = LazyLock::new(|| {
    [
        CurveKey::load(
            AssertionAlg::ES256,
            fixture!("ec-p256.key.pem"),
            fixture!("ec-p256.pub.pem"),
        ),
        CurveKey::load(
            AssertionAlg::ES384,
            fixture!("ec-p384.key.pem"),
            fixture!("ec-p384.pub.pem"),
        ),
        CurveKey::load(
            AssertionAlg::EdDSA,
            fixture!("ed25519.key.pem"),
            fixture!("ed25519.pub.pem"),
        ),
    ]
});

#[test]
fn es256_es384_and_eddsa_assertions_verify_with_and_without_kid() {
    for key in CURVE_KEYS.iter() {
        let candidates = [key.candidate(key.alg)];
        for kid in [Some(KID_C), None] {
            let assertion = key.sign(key.alg.as_str(), kid);
            let verified = accepted(run(&assertion, &candidates, &expect()));
            assert_eq!(verified.credential_id, CRED_C, "{}", key.alg);
        }
    }
}

#[test]
fn a_header_alg_of_another_curve_or_kind_never_reaches_the_verifier() {
    let [p256, p384, ed25519] = &*CURVE_KEYS;
    // ES384 named against a P-256 credential, and the other pairings: the credential's alg
    // decides, whatever the signature is.
    for (key, header_alg) in [
        (p256, "ES384"),
        (p256, "EdDSA"),
        (p384, "ES256"),
        (ed25519, "ES256"),
        (p256, "RS256"),
    ] {
        let candidates = [key.candidate(key.alg)];
        let assertion = key.sign(header_alg, Some(KID_C));
        let rejection = refused(run(&assertion, &candidates, &expect()));
        assert_eq!(rejection.reason(), Reason::AlgMismatch, "{header_alg}");
        let without_kid = key.sign(header_alg, None);
        assert_eq!(
            reason(run(&without_kid, &candidates, &expect())),
            Reason::NoUsableCredential
        );
    }
}

#[test]
fn an_rsa_signature_under_an_ec_alg_is_a_bad_signature() {
    let p256 = &CURVE_KEYS[0];
    let candidates = [p256.candidate(AssertionAlg::ES256)];
    // Signed RS256 by an RSA key, labelled ES256.
    let forged = KEY_A.sign(
        AssertionAlg::RS256,
        &header(AssertionAlg::ES256, Some(KID_C)),
        &claims(),
    );
    assert_eq!(
        reason(run(&forged, &candidates, &expect())),
        Reason::BadSignature
    );
    // Signed by another curve's key, labelled as this one's.
    let other = CURVE_KEYS[1].sign("ES256", Some(KID_C));
    assert_eq!(
        reason(run(&other, &candidates, &expect())),
        Reason::BadSignature
    );
    // A DER-encoded ECDSA signature is not the JWS form (RFC 7518 §3.4).
    let pkcs8 = pem::parse(fixture!("ec-p256.key.pem")).unwrap();
    let der_pair = signature::EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        pkcs8.contents(),
    )
    .unwrap();
    let h = header(AssertionAlg::ES256, Some(KID_C));
    let input = format!(
        "{}.{}",
        b64url(h.to_string().as_bytes()),
        b64url(claims().to_string().as_bytes())
    );
    let der_sig = der_pair
        .sign(&SystemRandom::new(), input.as_bytes())
        .unwrap();
    let der_assertion = format!("{input}.{}", b64url(der_sig.as_ref()));
    assert_eq!(
        reason(run(&der_assertion, &candidates, &expect())),
        Reason::BadSignature
    );
    // And the genuine one passes.
    accepted(run(
        &p256.sign("ES256", Some(KID_C)),
        &candidates,
        &expect(),
    ));
}

// ---- The explainer -------------------------------------------------------------------------

mod explainer {
    use super::*;
    use crate::oauth::assertion::explain::{Check, Explanation, Input, Verdict, explain};

    fn explained(assertion: &str, candidates: &[CandidateKey<'_>]) -> Explanation {
        let mut e = explain(Input::Compact(assertion), candidates, &expect(), true);
        if e.jti_to_look_up().is_some() {
            e.record_jti_use(false);
        }
        e
    }

    fn verdict(e: &Explanation, check: Check) -> Verdict {
        e.finding(check).verdict
    }

    /// Every check is reported once, in the token path's order, and the text of the assertion
    /// (any 16 characters of it) never shows.
    fn assert_complete_and_discreet(e: &Explanation, assertion: &str) {
        let checks: Vec<Check> = e.findings().iter().map(|f| f.check).collect();
        assert_eq!(checks, Check::ORDER);
        let shown: String = e
            .findings()
            .iter()
            .map(|f| format!("{} {} {:?}", f.found, f.expected, f.code))
            .collect();
        for part in assertion.split('.') {
            for window in part.as_bytes().windows(16).step_by(8) {
                let window = std::str::from_utf8(window).unwrap();
                assert!(!shown.contains(window), "the explanation shows {window}");
            }
        }
    }

    #[test]
    fn a_good_assertion_passes_every_check() {
        let alg = AssertionAlg::RS256;
        for kid in [Some(KID_A), None] {
            let assertion = KEY_A.sign(alg, &header(alg, kid), &claims());
            let e = explained(&assertion, &[cand_a(alg), cand_b(alg)]);
            assert_complete_and_discreet(&e, &assertion);
            assert_eq!(e.first_failure(), None, "{e:?}");
            for f in e.findings() {
                let optional =
                    matches!(f.check, Check::Nbf) || (kid.is_none() && f.check == Check::Kid);
                let expected = if optional {
                    Verdict::NotApplicable
                } else {
                    Verdict::Pass
                };
                assert_eq!(f.verdict, expected, "{f:?}");
                assert_eq!(f.code, None);
            }
            // The credential whose key verified is named, with its kid.
            let credential = e.finding(Check::Credential);
            assert!(credential.found.contains(CRED_A) && credential.found.contains(KID_A));
            assert!(e.finding(Check::Signature).found.contains(CRED_A));
            // The token path agrees.
            accepted(run(&assertion, &[cand_a(alg), cand_b(alg)], &expect()));
        }
    }

    #[test]
    fn an_expired_assertion_fails_exp_and_says_what_was_expected() {
        let assertion = assertion_with(&claims_with(json!({"exp": NOW - 60, "iat": NOW - 90})));
        let e = explained(&assertion, &[cand_a(AssertionAlg::RS256)]);
        assert_complete_and_discreet(&e, &assertion);
        let exp = e.finding(Check::Exp);
        assert_eq!(exp.verdict, Verdict::Fail);
        assert_eq!(exp.code, Some("expired"));
        assert!(exp.found.contains(&(NOW - 60).to_string()), "{exp:?}");
        assert!(exp.found.contains("60 s ago"), "{exp:?}");
        // Expected: later than now minus the skew, with that instant.
        assert!(exp.expected.contains(&(NOW - SKEW).to_string()), "{exp:?}");
        assert!(exp.expected.contains("10 s"), "{exp:?}");
        assert_eq!(e.first_failure().map(|f| f.check), Some(Check::Exp));
        // The explainer keeps going where the token path stops.
        assert_eq!(verdict(&e, Check::Lifetime), Verdict::Pass);
        assert_eq!(verdict(&e, Check::Jti), Verdict::Pass);
        assert_eq!(verdict(&e, Check::Replay), Verdict::Pass);
    }

    #[test]
    fn a_wrong_audience_fails_aud_naming_the_expected_issuer() {
        for aud in [
            json!(TOKEN_ENDPOINT),
            json!("https://tenant.example"),
            json!([ISSUER]),
        ] {
            let assertion = assertion_with(&claims_with(json!({ "aud": aud })));
            let e = explained(&assertion, &[cand_a(AssertionAlg::RS256)]);
            assert_complete_and_discreet(&e, &assertion);
            let f = e.finding(Check::Aud);
            assert_eq!(f.verdict, Verdict::Fail, "{aud}");
            assert_eq!(f.code, Some("aud_mismatch"));
            assert!(
                f.expected.contains(&format!("exactly \"{ISSUER}\"")),
                "{f:?}"
            );
            assert_eq!(e.first_failure().map(|f| f.check), Some(Check::Aud));
            assert_eq!(verdict(&e, Check::Exp), Verdict::Pass);
        }
    }

    #[test]
    fn a_pasted_header_and_claims_get_every_check_but_the_signature() {
        let h = header(AssertionAlg::RS256, Some(KID_A)).to_string();
        let c = claims().to_string();
        let mut e = explain(
            Input::Decoded {
                header: &h,
                claims: &c,
            },
            &[cand_a(AssertionAlg::RS256)],
            &expect(),
            true,
        );
        assert_eq!(
            e.jti_to_look_up(),
            Some("0f8c6a1e-5b7d-4e2a-9c3b-1d2e3f405162")
        );
        e.record_jti_use(false);
        let signature = e.finding(Check::Signature);
        assert_eq!(signature.verdict, Verdict::NotApplicable);
        assert!(signature.found.starts_with("not checked: no signature"));
        assert_eq!(verdict(&e, Check::Form), Verdict::NotApplicable);
        assert_eq!(verdict(&e, Check::Size), Verdict::NotApplicable);
        assert_eq!(verdict(&e, Check::Kid), Verdict::Pass);
        assert_eq!(verdict(&e, Check::Credential), Verdict::Pass);
        assert_eq!(e.first_failure(), None);

        // The key choice is still judged: an expired credential named by its kid.
        let expired = [candidate(
            CRED_A,
            KID_A,
            AssertionAlg::RS256,
            &KEY_A,
            Some(NOW),
        )];
        let e = explain(
            Input::Decoded {
                header: &h,
                claims: &c,
            },
            &expired,
            &expect(),
            true,
        );
        let f = e.finding(Check::Credential);
        assert_eq!(
            (f.verdict, f.code),
            (Verdict::Fail, Some("credential_expired"))
        );
        assert!(f.found.contains(CRED_A));

        // Not JSON objects: a verdict, not an error.
        let e = explain(
            Input::Decoded {
                header: "[1]",
                claims: "not json",
            },
            &[],
            &expect(),
            true,
        );
        assert_eq!(verdict(&e, Check::Header), Verdict::Fail);
        assert_eq!(verdict(&e, Check::Claims), Verdict::Fail);
        assert_eq!(verdict(&e, Check::Exp), Verdict::NotRun);
        assert_eq!(e.jti_to_look_up(), None);
    }

    #[test]
    fn a_used_jti_fails_the_replay_check() {
        let assertion = assertion_with(&claims());
        let mut e = explain(
            Input::Compact(&assertion),
            &[cand_a(AssertionAlg::RS256)],
            &expect(),
            true,
        );
        let replay = e.finding(Check::Replay);
        assert_eq!(replay.verdict, Verdict::NotRun, "not looked up yet");
        assert_eq!(
            e.jti_to_look_up(),
            Some("0f8c6a1e-5b7d-4e2a-9c3b-1d2e3f405162")
        );
        e.record_jti_use(true);
        let replay = e.finding(Check::Replay);
        assert_eq!(
            (replay.verdict, replay.code),
            (Verdict::Fail, Some("replayed"))
        );
        assert_eq!(e.first_failure().map(|f| f.check), Some(Check::Replay));
    }

    #[test]
    fn without_kid_the_credential_whose_key_verified_is_named_with_its_reason() {
        let alg = AssertionAlg::RS256;
        let assertion = assertion_with(&claims());
        let candidates = [
            candidate(CRED_A, KID_A, alg, &KEY_A, Some(NOW - 5)),
            cand_b(alg),
        ];
        let e = explained(&assertion, &candidates);
        let f = e.finding(Check::Credential);
        assert_eq!(
            (f.verdict, f.code),
            (Verdict::Fail, Some("credential_expired"))
        );
        assert!(
            f.found.contains(CRED_A) && f.found.contains("expired at"),
            "{f:?}"
        );
        let s = e.finding(Check::Signature);
        assert_eq!(s.verdict, Verdict::Pass);
        assert!(s.found.contains(CRED_A));

        let disabled_a = [disabled(cand_a(alg))];
        let f = explained(&assertion, &disabled_a);
        assert_eq!(
            f.finding(Check::Credential).code,
            Some("credential_disabled")
        );
    }

    #[test]
    fn a_used_jti_is_not_looked_up_when_the_jti_is_malformed() {
        let assertion = assertion_with(&claims_with(json!({"jti": "x".repeat(65)})));
        let e = explain(
            Input::Compact(&assertion),
            &[cand_a(AssertionAlg::RS256)],
            &expect(),
            true,
        );
        assert_eq!(e.jti_to_look_up(), None);
        assert_eq!(e.finding(Check::Jti).code, Some("jti_too_long"));
        assert_eq!(verdict(&e, Check::Replay), Verdict::NotRun);
    }

    #[test]
    fn the_first_failure_is_the_reason_the_token_path_logs() {
        let alg = AssertionAlg::RS256;
        let c = claims().to_string();
        let cases: Vec<String> = vec![
            "x".repeat(MAX_ASSERTION_LEN + 1),
            "a.b".into(),
            "a.b.c=".into(),
            unsigned("[]", &c),
            unsigned(r#"{"alg":"none"}"#, &c),
            unsigned(r#"{"alg":"HS256","crit":[]}"#, &c),
            unsigned(r#"{"alg":"RS256","crit":["exp"]}"#, &c),
            unsigned(r#"{"alg":"RS256","typ":"at+jwt"}"#, &c),
            unsigned(
                &json!({"alg": "RS256", "kid": "k".repeat(129)}).to_string(),
                &c,
            ),
            unsigned(r#"{"alg":"RS256"}"#, r#"{"iss":"x","exp":"soon"}"#),
            unsigned(r#"{"alg":"RS256"}"#, r#"{"sub":"x"}"#),
            unsigned(
                r#"{"alg":"RS256"}"#,
                &json!({"iss": "i".repeat(65)}).to_string(),
            ),
            KEY_A.sign(alg, &header(alg, Some("nobody")), &claims()),
            KEY_A.sign(
                AssertionAlg::PS256,
                &header(AssertionAlg::PS256, Some(KID_A)),
                &claims(),
            ),
            ATTACKER.sign(alg, &header(alg, None), &claims()),
            ATTACKER.sign(alg, &header(alg, Some(KID_A)), &claims()),
            assertion_with(&claims_with(json!({"sub": "someone-else"}))),
            assertion_with(&claims_with(json!({"sub": "s".repeat(65)}))),
            assertion_with(&claims_with(json!({"iss": "other", "sub": "other"}))),
            assertion_with(&claims_with(json!({"aud": TOKEN_ENDPOINT}))),
            assertion_with(&claims_with(json!({"exp": null}))),
            assertion_with(&claims_with(json!({"exp": NOW - SKEW}))),
            assertion_with(&claims_with(json!({"nbf": NOW + SKEW + 1}))),
            assertion_with(&claims_with(
                json!({"iat": NOW + SKEW + 1, "exp": NOW + 60}),
            )),
            assertion_with(&claims_with(json!({"exp": NOW + 301}))),
            assertion_with(&claims_with(json!({"jti": null}))),
            assertion_with(&claims_with(json!({"jti": "j".repeat(65)}))),
            assertion_with(&claims_with(json!({"jti": "a\u{0}b"}))),
            assertion_with(&claims_with(json!({"sub": "x", "aud": "y", "exp": 1}))),
        ];
        let candidates = [
            cand_a(alg),
            candidate(CRED_B, KID_B, alg, &KEY_B, Some(NOW)),
        ];
        for assertion in &cases {
            let logged = reason(run(assertion, &candidates, &expect())).code();
            let e = explained(assertion, &candidates);
            assert_complete_and_discreet(&e, assertion);
            let first = e.first_failure().expect("a failure");
            assert_eq!(first.code, Some(logged), "{first:?}");
        }
    }

    #[test]
    fn garbage_gets_a_verdict_for_every_check_and_never_a_panic() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let good = assertion_with(&claims());
        for round in 0..300 {
            let mut bytes = good.clone().into_bytes();
            for _ in 0..(next() % 8 + 1) {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = b"AZaz09-_.{}\"x\0"[(next() % 14) as usize];
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let text = if round % 3 == 0 {
                &text[..text.len() / 2]
            } else {
                &text[..]
            };
            let e = explained(text, &[cand_a(AssertionAlg::RS256)]);
            assert_eq!(e.findings().len(), Check::ORDER.len());
            let d = explain(
                Input::Decoded {
                    header: text,
                    claims: text,
                },
                &[],
                &expect(),
                false,
            );
            assert_eq!(d.findings().len(), Check::ORDER.len());
        }
        for text in ["", ".", "..", "...", "a.b.c", "é.é.é", "{}.{}.{}"] {
            let e = explained(text, &[]);
            assert_eq!(e.findings().len(), Check::ORDER.len());
            assert!(e.first_failure().is_some(), "{text:?}");
        }
    }

    #[test]
    fn an_application_not_on_private_key_jwt_fails_the_method_check() {
        let assertion = assertion_with(&claims());
        let e = explain(
            Input::Compact(&assertion),
            &[cand_a(AssertionAlg::RS256)],
            &expect(),
            false,
        );
        let f = e.finding(Check::Method);
        assert_eq!(
            (f.verdict, f.code),
            (Verdict::Fail, Some("private_key_jwt_not_enabled"))
        );
        assert_eq!(verdict(&e, Check::Signature), Verdict::Pass);
    }

    #[test]
    fn a_key_not_found_is_blamed_on_the_published_set_as_the_token_endpoint_logs_it() {
        let alg = AssertionAlg::RS256;
        let unknown = KEY_A.sign(alg, &header(alg, Some("kid-nobody-has")), &claims());
        let code = |set_unavailable: bool, candidates: &[CandidateKey<'_>]| {
            let mut e = explained(&unknown, candidates);
            e.blame_key_source(set_unavailable);
            e.first_failure().and_then(|f| f.code)
        };
        assert_eq!(code(false, &[cand_a(alg)]), Some("kid_not_in_jwks"));
        assert_eq!(code(true, &[cand_a(alg)]), Some("jwks_unavailable"));
        // Without a kid and no key for its alg: only an unavailable set is to blame.
        let no_kid = KEY_A.sign(alg, &header(alg, None), &claims());
        let mut e = explained(&no_kid, &[]);
        e.blame_key_source(false);
        assert_eq!(
            e.first_failure().and_then(|f| f.code),
            Some("no_usable_credential")
        );
        let mut e = explained(&no_kid, &[]);
        e.blame_key_source(true);
        assert_eq!(
            e.first_failure().and_then(|f| f.code),
            Some("jwks_unavailable")
        );
        // Any other failure keeps its reason.
        let expired = assertion_with(&claims_with(json!({"exp": NOW - 60, "iat": NOW - 90})));
        let mut e = explained(&expired, &[cand_a(alg)]);
        e.blame_key_source(true);
        assert_eq!(e.first_failure().and_then(|f| f.code), Some("expired"));
    }

    #[test]
    fn the_key_hints_are_the_headers_kid_and_allowed_alg() {
        use crate::oauth::assertion::explain::key_hints;
        let alg = AssertionAlg::ES256;
        let signed = KEY_A.sign(
            AssertionAlg::RS256,
            &header(AssertionAlg::RS256, Some(KID_A)),
            &claims(),
        );
        assert_eq!(
            key_hints(Input::Compact(&signed)),
            Some((Some(KID_A.to_owned()), AssertionAlg::RS256))
        );
        let decoded = Input::Decoded {
            header: r#"{"alg":"ES256"}"#,
            claims: "{}",
        };
        assert_eq!(key_hints(decoded), Some((None, alg)));
        for header in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"HS256","kid":"a"}"#,
            "[]",
            "{",
        ] {
            assert_eq!(
                key_hints(Input::Decoded {
                    header,
                    claims: "{}"
                }),
                None,
                "{header}"
            );
        }
        assert_eq!(key_hints(Input::Compact("not.an.assertion")), None);
    }
}
