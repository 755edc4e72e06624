//! JSON Web Keys (RFC 7517) as credentials: reading a client's public key set into the same
//! [`PublicKeyInfo`] an uploaded PEM becomes, under the same rules (BEHAVIOUR B.8), and writing
//! a key back as a public JWK.
//!
//! A key set is judged as a whole: a private key anywhere in it, or a signature key that breaks
//! a rule, refuses the whole set, because a set that is partly wrong was not published with care
//! and a server that silently used the rest would hide that. Keys that are not for signature
//! verification (`use: "enc"`, `key_ops` without `verify`) are skipped, as RFC 7517 §4.2–4.3
//! intends.
//!
//! Error messages name the key by its place (`keys[2]`) and its `kid` (an identifier, not key
//! material); they never contain a key's members.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use super::alg::AssertionAlg;
use super::jwt::{b64url, b64url_decode};
use super::public_key::{
    KeyIntakeError, KeyKind, PublicKeyInfo, ec_from_coordinates, ed25519_from_raw,
    rsa_from_components,
};

/// Most keys a set may hold. A client rotating keys needs two or three; the cap bounds the work
/// one fetched document can cause (each key is checked by the verifier).
pub const MAX_JWKS_KEYS: usize = 16;

/// Largest key set parsed, in bytes: 16 RSA-4096 keys with a certificate chain (`x5c`) each
/// stay well under it. Checked before the JSON is read.
pub const MAX_JWKS_LEN: usize = 64 * 1024;

/// Longest `kid` accepted, in characters (printable ASCII only). The same bound the assertion
/// header's `kid` has (BEHAVIOUR A.6).
pub const MAX_KID_CHARS: usize = 128;

/// Members that only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4.1;
/// RFC 8037 §2 `d` for OKP).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A signature-verification key of a set, accepted under the upload rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwkKey {
    pub kid: Option<String>,
    /// The key's `alg`, if it names one; it fits the key.
    pub alg: Option<AssertionAlg>,
    pub key: PublicKeyInfo,
}

/// Where a refused key sits in the set: its index and, if it has a well-formed one, its `kid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    pub index: usize,
    pub kid: Option<String>,
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "keys[{}]", self.index)?;
        if let Some(kid) = &self.kid {
            write!(f, ", kid {kid:?}")?;
        }
        Ok(())
    }
}

/// Why a key set was refused. Messages are safe to show and to log.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum JwksError {
    #[error("the key set is {len} bytes long; at most {MAX_JWKS_LEN} bytes are accepted")]
    TooLarge { len: usize },

    #[error("the key set is not a JSON object with a \"keys\" array ({problem})")]
    NotAKeySet { problem: String },

    #[error("the key set holds {count} keys; at most {MAX_JWKS_KEYS} are accepted")]
    TooManyKeys { count: usize },

    /// A private or symmetric key: the set is refused whole, and the key is compromised.
    #[error(
        "the set holds a private key ({at}); it was not used; treat it as leaked: generate a new \
         key pair and publish only its public key"
    )]
    PrivateKey { at: KeyRef },

    /// A signature key that breaks an upload rule; the set is refused whole.
    #[error("{at}: {problem}")]
    InvalidKey { at: KeyRef, problem: String },

    /// Two used keys share a `kid`, so the `kid` of an assertion could not choose between them.
    #[error("{at}: the kid is also the kid of keys[{first}]; every kid in a set must differ")]
    DuplicateKid { at: KeyRef, first: usize },
}

/// Reads a JWK Set (RFC 7517 §5) and returns its signature-verification keys, in order.
/// Keys for encryption, or whose `key_ops` lack `verify`, are skipped; a set may so yield no
/// key at all, which the caller judges. Never panics, whatever the input.
pub fn parse_jwks(body: &[u8]) -> Result<Vec<JwkKey>, JwksError> {
    if body.len() > MAX_JWKS_LEN {
        return Err(JwksError::TooLarge { len: body.len() });
    }
    let not_a_set = |problem: &str| JwksError::NotAKeySet {
        problem: problem.to_owned(),
    };
    let StrictValue(set) =
        serde_json::from_slice(body).map_err(|e| not_a_set(&json_problem(&e)))?;
    let Value::Object(set) = set else {
        return Err(not_a_set("the document is not a JSON object"));
    };
    let keys = match set.get("keys") {
        Some(Value::Array(keys)) => keys,
        Some(_) => return Err(not_a_set("\"keys\" is not an array")),
        None => return Err(not_a_set("there is no \"keys\" member")),
    };
    if keys.len() > MAX_JWKS_KEYS {
        return Err(JwksError::TooManyKeys { count: keys.len() });
    }

    // Duplicate members anywhere were refused above: which of two `kty`s or `x`s counts is
    // exactly the kind of ambiguity a verifier must not resolve silently.
    let mut objects = Vec::with_capacity(keys.len());
    for (index, key) in keys.iter().enumerate() {
        let Value::Object(object) = key else {
            let at = KeyRef { index, kid: None };
            return Err(invalid(&at, "a key must be a JSON object".to_owned()));
        };
        objects.push(object);
    }

    // First pass: a private key anywhere refuses the set, whatever else is wrong with it,
    // so its owner hears the one thing that matters.
    for (index, jwk) in objects.iter().enumerate() {
        let symmetric = jwk.get("kty").and_then(Value::as_str) == Some("oct");
        if symmetric || PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
            return Err(JwksError::PrivateKey {
                at: key_ref(index, jwk),
            });
        }
    }

    let mut accepted: Vec<JwkKey> = Vec::new();
    // Each used kid and the index of the key that has it.
    let mut kids: HashMap<String, usize> = HashMap::new();
    for (index, jwk) in objects.iter().enumerate() {
        let at = key_ref(index, jwk);
        if !for_verification(&at, jwk)? {
            continue;
        }
        let kid = match jwk.get("kid") {
            None => None,
            Some(Value::String(kid)) if valid_kid(kid) => Some(kid.clone()),
            Some(_) => {
                return Err(invalid(
                    &at,
                    format!(
                        "kid must be a string of 1 to {MAX_KID_CHARS} printable ASCII characters"
                    ),
                ));
            }
        };
        let key = public_key_of(&at, jwk)?;
        let alg = match jwk.get("alg") {
            None => None,
            Some(Value::String(name)) => {
                let alg = AssertionAlg::parse(name).ok_or_else(|| {
                    invalid(
                        &at,
                        format!(
                            "alg {:?} is not accepted; accepted are {}",
                            printable_or_not(name),
                            accepted_algs()
                        ),
                    )
                })?;
                alg.check_fits(&key)
                    .map_err(|problem| invalid(&at, format!("alg: {problem}")))?;
                Some(alg)
            }
            Some(_) => return Err(invalid(&at, "alg must be a string".to_owned())),
        };
        if let Some(kid) = &kid {
            if let Some(&first) = kids.get(kid) {
                return Err(JwksError::DuplicateKid { at, first });
            }
            kids.insert(kid.clone(), index);
        }
        accepted.push(JwkKey { kid, alg, key });
    }
    Ok(accepted)
}

/// The public JWK of a key (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2): `kty` and its public
/// members only, integers and coordinates base64url without padding.
pub fn public_jwk(key: &PublicKeyInfo) -> Value {
    match key.kind {
        KeyKind::Rsa => {
            let (n, e) = key.rsa_components().unwrap_or_default();
            json!({"kty": "RSA", "n": b64url(n), "e": b64url(e)})
        }
        KeyKind::P256 | KeyKind::P384 => {
            let (x, y) = key.ec_coordinates().unwrap_or_default();
            json!({"kty": "EC", "crv": key.kind.name(), "x": b64url(x), "y": b64url(y)})
        }
        KeyKind::Ed25519 => {
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(&key.verifier_bytes)})
        }
    }
}

fn invalid(at: &KeyRef, problem: String) -> JwksError {
    JwksError::InvalidKey {
        at: at.clone(),
        problem,
    }
}

/// The key's place, with its `kid` only when it is one we would accept (anything else could be
/// pasted material, or a control character in a log line).
fn key_ref(index: usize, jwk: &Map<String, Value>) -> KeyRef {
    let kid = match jwk.get("kid") {
        Some(Value::String(kid)) if valid_kid(kid) => Some(kid.clone()),
        _ => None,
    };
    KeyRef { index, kid }
}

fn valid_kid(kid: &str) -> bool {
    !kid.is_empty() && kid.len() <= MAX_KID_CHARS && kid.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// A short identifier from the document (an `alg`, `kty` or `crv` value) fit for a message.
fn printable_or_not(value: &str) -> &str {
    let plausible = value.len() <= 32
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plausible { value } else { "(unprintable)" }
}

fn accepted_algs() -> String {
    AssertionAlg::ALL.map(AssertionAlg::as_str).join(", ")
}

/// Whether the key is for signature verification (RFC 7517 §4.2 `use`, §4.3 `key_ops`). Only
/// `use: "sig"` (or no `use`) and `key_ops` holding `verify` (or no `key_ops`) are, and the
/// JWT authorities of a SPIFFE trust bundle, whose `use` is `jwt-svid` (SPIFFE Trust Domain and
/// Bundle §4.2.1; its `x509-svid` keys are CA keys for certificates, not for JWTs); a member of
/// the wrong type is refused, not skipped.
fn for_verification(at: &KeyRef, jwk: &Map<String, Value>) -> Result<bool, JwksError> {
    let use_ok = match jwk.get("use") {
        None => true,
        Some(Value::String(key_use)) => key_use == "sig" || key_use == "jwt-svid",
        Some(_) => return Err(invalid(at, "use must be a string".to_owned())),
    };
    let ops_ok = match jwk.get("key_ops") {
        None => true,
        Some(Value::Array(ops)) => {
            let mut verify = false;
            for op in ops {
                match op {
                    Value::String(op) => verify |= op == "verify",
                    _ => {
                        return Err(invalid(
                            at,
                            "key_ops must be an array of strings".to_owned(),
                        ));
                    }
                }
            }
            verify
        }
        Some(_) => {
            return Err(invalid(
                at,
                "key_ops must be an array of strings".to_owned(),
            ));
        }
    };
    Ok(use_ok && ops_ok)
}

/// The key of one JWK, through the same checks as an uploaded PEM (BEHAVIOUR B.8).
fn public_key_of(at: &KeyRef, jwk: &Map<String, Value>) -> Result<PublicKeyInfo, JwksError> {
    let intake = |e: KeyIntakeError| invalid(at, e.to_string());
    let unsupported = |key_type: String| intake(KeyIntakeError::UnsupportedKeyType { key_type });
    let kty = string_member(at, jwk, "kty")?;
    match kty {
        "RSA" => {
            let n = bytes_member(at, jwk, "n")?;
            let e = bytes_member(at, jwk, "e")?;
            rsa_from_components(&n, &e).map_err(intake)
        }
        "EC" => {
            let kind = match string_member(at, jwk, "crv")? {
                "P-256" => KeyKind::P256,
                "P-384" => KeyKind::P384,
                "P-521" => return Err(unsupported("P-521".to_owned())),
                "secp256k1" => return Err(unsupported("secp256k1".to_owned())),
                other => {
                    return Err(unsupported(format!(
                        "EC (crv {:?})",
                        printable_or_not(other)
                    )));
                }
            };
            let x = bytes_member(at, jwk, "x")?;
            let y = bytes_member(at, jwk, "y")?;
            ec_from_coordinates(kind, &x, &y).map_err(intake)
        }
        "OKP" => match string_member(at, jwk, "crv")? {
            "Ed25519" => ed25519_from_raw(&bytes_member(at, jwk, "x")?).map_err(intake),
            "Ed448" => Err(unsupported("Ed448".to_owned())),
            "X25519" | "X448" => Err(unsupported(format!(
                "{} (key agreement, not signature)",
                jwk["crv"].as_str().unwrap_or_default()
            ))),
            other => Err(unsupported(format!(
                "OKP (crv {:?})",
                printable_or_not(other)
            ))),
        },
        other => Err(unsupported(format!("kty {:?}", printable_or_not(other)))),
    }
}

fn string_member<'j>(
    at: &KeyRef,
    jwk: &'j Map<String, Value>,
    name: &str,
) -> Result<&'j str, JwksError> {
    match jwk.get(name) {
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(invalid(at, format!("{name} must be a string"))),
        None => Err(invalid(at, format!("{name} is missing"))),
    }
}

/// A base64url member without padding (RFC 7518 §2 Base64urlUInt and coordinates).
fn bytes_member(at: &KeyRef, jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, JwksError> {
    let text = string_member(at, jwk, name)?;
    b64url_decode(text).ok_or_else(|| {
        invalid(
            at,
            format!("{name} is not base64url without padding (RFC 7515 §2)"),
        )
    })
}

const DUPLICATE_MEMBER: &str = "duplicate member";

/// serde_json's message without the input: its "invalid type" messages can quote a string.
fn json_problem(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Io | serde_json::error::Category::Syntax => {
            format!("invalid JSON at line {} column {}", e.line(), e.column())
        }
        serde_json::error::Category::Eof => "the JSON ends too early".to_owned(),
        serde_json::error::Category::Data => {
            if e.to_string().starts_with(DUPLICATE_MEMBER) {
                "a member appears twice".to_owned()
            } else {
                "the document is not a JSON object".to_owned()
            }
        }
    }
}

/// A JSON value in which every object's members are unique, at any depth (RFC 7517 §4:
/// "member names within a JWK MUST be unique"; serde_json would keep the last one silently).
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = access.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(name) = access.next_key::<String>()? {
            if map.contains_key(&name) {
                return Err(de::Error::custom(DUPLICATE_MEMBER));
            }
            let StrictValue(value) = access.next_value()?;
            map.insert(name, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::public_key::parse_public_key_pem;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use x509_parser::prelude::FromDer;
    use x509_parser::public_key::RSAPublicKey;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/keys/", $name))
        };
    }

    const RSA_FIXTURES: [(&str, &str); 3] = [
        (
            fixture!("rsa2048.pub.pem"),
            fixture!("rsa2048.pkcs1.pub.pem"),
        ),
        (
            fixture!("rsa3072.pub.pem"),
            fixture!("rsa3072.pkcs1.pub.pem"),
        ),
        (
            fixture!("rsa4096.pub.pem"),
            fixture!("rsa4096.pkcs1.pub.pem"),
        ),
    ];
    const P256: &str = fixture!("ec-p256.pub.pem");
    const P384: &str = fixture!("ec-p384.pub.pem");
    const ED25519: &str = fixture!("ed25519.pub.pem");

    fn pem_key(pem: &str) -> PublicKeyInfo {
        parse_public_key_pem(pem).unwrap()
    }

    /// The public JWK of a PEM fixture, with extra members.
    fn jwk(pem: &str, extra: Value) -> Value {
        let mut jwk = public_jwk(&pem_key(pem));
        jwk.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        jwk
    }

    fn set(keys: Vec<Value>) -> Vec<u8> {
        json!({ "keys": keys }).to_string().into_bytes()
    }

    fn parse(keys: Vec<Value>) -> Result<Vec<JwkKey>, JwksError> {
        parse_jwks(&set(keys))
    }

    fn refused(keys: Vec<Value>) -> JwksError {
        match parse(keys) {
            Ok(keys) => panic!("expected a refusal, got {} keys", keys.len()),
            Err(e) => e,
        }
    }

    fn invalid_at(keys: Vec<Value>, index: usize) -> String {
        match refused(keys) {
            JwksError::InvalidKey { at, problem } => {
                assert_eq!(at.index, index, "{problem}");
                problem
            }
            other => panic!("expected keys[{index}] to be invalid, got: {other}"),
        }
    }

    /// n and e read from openssl's PKCS#1 output with x509-parser, base64url by hand.
    fn rsa_jwk_from_pkcs1(pkcs1_pem: &str) -> Value {
        let body: String = pkcs1_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = STANDARD.decode(body).unwrap();
        let (_, key) = RSAPublicKey::from_der(&der).unwrap();
        let n = key.modulus.strip_prefix(&[0u8]).unwrap_or(key.modulus);
        json!({"kty": "RSA", "n": b64url(n), "e": b64url(key.exponent)})
    }

    #[test]
    fn rsa_jwks_give_the_same_stored_bytes_and_thumbprint_as_the_pem() {
        for (spki, pkcs1) in RSA_FIXTURES {
            let keys = parse(vec![rsa_jwk_from_pkcs1(pkcs1)]).unwrap();
            assert_eq!(keys.len(), 1);
            assert_eq!(keys[0].key, pem_key(spki));
            assert_eq!(keys[0].key, pem_key(pkcs1));
            assert_eq!(keys[0].kid, None);
            assert_eq!(keys[0].alg, None);
        }
    }

    #[test]
    fn ec_and_ed25519_jwks_give_the_same_key_as_the_pem() {
        for (pem, kind) in [
            (P256, KeyKind::P256),
            (P384, KeyKind::P384),
            (ED25519, KeyKind::Ed25519),
        ] {
            let keys = parse(vec![jwk(pem, json!({}))]).unwrap();
            assert_eq!(keys[0].key, pem_key(pem));
            assert_eq!(keys[0].key.kind, kind);
        }
        // RFC 8037 §A.2's example key, with its §A.3 thumbprint.
        let rfc = json!({"kty": "OKP", "crv": "Ed25519",
                         "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let keys = parse(vec![rfc.clone()]).unwrap();
        assert_eq!(
            keys[0].key.thumbprint,
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        assert_eq!(public_jwk(&keys[0].key), rfc);
    }

    #[test]
    fn public_jwk_writes_only_public_members() {
        let rsa = public_jwk(&pem_key(RSA_FIXTURES[0].0));
        assert_eq!(rsa, rsa_jwk_from_pkcs1(RSA_FIXTURES[0].1));
        let ec = public_jwk(&pem_key(P384));
        let members: Vec<&str> = ec.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(members, ["crv", "kty", "x", "y"]);
        assert_eq!(ec["crv"], "P-384");
        assert_eq!(ec["x"].as_str().unwrap().len(), 64);
    }

    #[test]
    fn kid_and_alg_are_kept_and_order_is_preserved() {
        let keys = parse(vec![
            jwk(P256, json!({"kid": "ec-1", "alg": "ES256", "use": "sig"})),
            jwk(
                RSA_FIXTURES[1].0,
                json!({"kid": "rsa-1", "alg": "PS256",
                                          "key_ops": ["verify"], "x5t": "ignored"}),
            ),
            jwk(ED25519, json!({"alg": "EdDSA"})),
        ])
        .unwrap();
        let summary: Vec<_> = keys
            .iter()
            .map(|k| (k.kid.as_deref(), k.alg, k.key.kind))
            .collect();
        assert_eq!(
            summary,
            [
                (Some("ec-1"), Some(AssertionAlg::ES256), KeyKind::P256),
                (Some("rsa-1"), Some(AssertionAlg::PS256), KeyKind::Rsa),
                (None, Some(AssertionAlg::EdDSA), KeyKind::Ed25519),
            ]
        );
    }

    #[test]
    fn a_private_member_anywhere_refuses_the_whole_set_as_leaked() {
        for member in PRIVATE_MEMBERS {
            let err = refused(vec![
                jwk(P256, json!({"kid": "fine"})),
                jwk(RSA_FIXTURES[0].0, json!({})),
                jwk(P384, json!({"kid": "leaky", member: "AAAA"})),
            ]);
            assert_eq!(
                err,
                JwksError::PrivateKey {
                    at: KeyRef {
                        index: 2,
                        kid: Some("leaky".into())
                    }
                }
            );
            assert!(err.to_string().starts_with(
                "the set holds a private key (keys[2], kid \"leaky\"); it was not used; treat \
                 it as leaked"
            ));
        }
        // A symmetric key is a secret too, and the leak outranks other problems before it.
        let err = refused(vec![
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
            json!({"kty": "oct", "k": "c2VjcmV0"}),
        ]);
        assert!(matches!(err, JwksError::PrivateKey { at } if at.index == 1));
        let err = refused(vec![json!({"kty": "oct"})]);
        assert!(matches!(err, JwksError::PrivateKey { .. }));
        // Even inside a key that would be skipped.
        let err = refused(vec![jwk(P256, json!({"use": "enc", "d": "AAAA"}))]);
        assert!(matches!(err, JwksError::PrivateKey { .. }));
    }

    #[test]
    fn encryption_keys_and_keys_not_for_verify_are_skipped() {
        let keys = parse(vec![
            jwk(P256, json!({"kid": "enc", "use": "enc"})),
            jwk(P384, json!({"kid": "sign-only", "key_ops": ["sign"]})),
            jwk(ED25519, json!({"kid": "none", "key_ops": []})),
            jwk(
                RSA_FIXTURES[0].0,
                json!({"kid": "used", "key_ops": ["sign", "verify"]}),
            ),
            // Skipped keys are not judged: a broken one does not refuse the set.
            json!({"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}),
        ])
        .unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("used"));
        // A set of nothing usable parses to nothing; the caller decides what that means.
        assert_eq!(parse(vec![jwk(P256, json!({"use": "enc"}))]).unwrap(), []);
        assert_eq!(
            parse(vec![jwk(P256, json!({"use": "x509-svid"}))]).unwrap(),
            []
        );
        assert_eq!(
            parse(vec![jwk(P256, json!({"use": "jwt-svid", "kid": "spire"}))])
                .unwrap()
                .len(),
            1,
            "a SPIFFE bundle's JWT authority verifies"
        );
        assert_eq!(parse(vec![]).unwrap(), []);
        // Wrongly typed use or key_ops is refused, not skipped.
        invalid_at(vec![jwk(P256, json!({"use": ["sig"]}))], 0);
        invalid_at(vec![jwk(P256, json!({"key_ops": "verify"}))], 0);
        invalid_at(vec![jwk(P256, json!({"key_ops": [1]}))], 0);
    }

    #[test]
    fn keys_breaking_the_upload_rules_refuse_the_set_naming_the_key() {
        let good = || jwk(P256, json!({"kid": "good"}));
        let key_2048 = pem_key(RSA_FIXTURES[0].0);
        let (n, _) = key_2048.rsa_components().unwrap();
        // Refused at intake, so read with x509-parser.
        let small_der: String = fixture!("rsa1024.pub.pem")
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let small_der = STANDARD.decode(small_der).unwrap();
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&small_der).unwrap();
        let (_, small) = RSAPublicKey::from_der(&spki.subject_public_key.data).unwrap();
        let n1024 = small.modulus.strip_prefix(&[0u8]).unwrap_or(small.modulus);
        let e1024 = small.exponent;
        let p256 = public_jwk(&pem_key(P256));
        let mut off_curve = p256.clone();
        off_curve["y"] = json!(p256["x"]);
        let mut short_x = p256.clone();
        short_x["x"] = json!(b64url(&[1; 31]));
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"kty": "RSA", "n": b64url(n1024), "e": b64url(e1024)}),
                "RSA key is 1024 bits; 2048 to 4096 are accepted",
            ),
            (
                json!({"kty": "RSA", "n": b64url(n), "e": "AQ"}),
                "smaller than 3",
            ),
            (json!({"kty": "RSA", "n": b64url(n)}), "e is missing"),
            (
                json!({"kty": "RSA", "n": b64url(n), "e": 65537}),
                "e must be a string",
            ),
            (
                json!({"kty": "RSA", "n": b64url(n), "e": "AQAB=="}),
                "e is not base64url",
            ),
            (
                json!({"kty": "RSA", "n": "a+b/", "e": "AQAB"}),
                "n is not base64url",
            ),
            (off_curve, "not on the curve"),
            (short_x, "the curve's length"),
            (
                json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"}),
                "P-521 keys are not accepted; accepted are RSA 2048–4096 bits, P-256, P-384 and \
                 Ed25519",
            ),
            (
                json!({"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"}),
                "secp256k1 keys are not accepted",
            ),
            (
                json!({"kty": "OKP", "crv": "Ed448", "x": "AA"}),
                "Ed448 keys are not accepted",
            ),
            (
                json!({"kty": "OKP", "crv": "X25519", "x": "AA"}),
                "X25519 (key agreement",
            ),
            (
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(&[7; 33])}),
                "32 bytes",
            ),
            (json!({"kty": "DSA"}), "kty \"DSA\" keys are not accepted"),
            (json!({"n": "AQAB"}), "kty is missing"),
            (
                jwk(P256, json!({"alg": "ES512"})),
                "alg \"ES512\" is not accepted",
            ),
            (
                jwk(P256, json!({"alg": "none"})),
                "alg \"none\" is not accepted",
            ),
            (
                jwk(P256, json!({"alg": "HS256"})),
                "alg \"HS256\" is not accepted",
            ),
            (
                jwk(P256, json!({"alg": "ES384"})),
                "alg: ES384 needs a P-384 key; this key is P-256",
            ),
            (
                jwk(RSA_FIXTURES[0].0, json!({"alg": "ES256"})),
                "alg: ES256 needs a P-256 key; this key is RSA 2048 bits",
            ),
            (
                jwk(ED25519, json!({"alg": "RS256"})),
                "alg: RS256 needs an RSA key; this key is Ed25519",
            ),
            (jwk(P256, json!({"alg": 7})), "alg must be a string"),
            (jwk(P256, json!({"kid": ""})), "kid must be"),
            (jwk(P256, json!({"kid": "k".repeat(129)})), "kid must be"),
            (jwk(P256, json!({"kid": "tab\there"})), "kid must be"),
            (jwk(P256, json!({"kid": "café"})), "kid must be"),
            (jwk(P256, json!({"kid": 5})), "kid must be"),
            (json!("not an object"), "a key must be a JSON object"),
        ];
        for (key, words) in cases {
            let problem = invalid_at(vec![good(), key.clone()], 1);
            assert!(problem.contains(words), "{key}: {problem}");
            let message = refused(vec![good(), key]).to_string();
            assert!(message.starts_with("keys[1]"), "{message}");
        }
        // A kid of 128 printable characters, spaces included, is fine.
        let long = "k ".repeat(64);
        assert_eq!(
            parse(vec![jwk(P256, json!({"kid": long}))]).unwrap()[0].kid,
            Some(long)
        );
    }

    #[test]
    fn duplicate_kids_are_refused_but_kidless_keys_may_be_many() {
        let err = refused(vec![
            jwk(P256, json!({"kid": "same"})),
            jwk(P384, json!({"kid": "other"})),
            jwk(ED25519, json!({"kid": "same"})),
        ]);
        assert_eq!(
            err,
            JwksError::DuplicateKid {
                at: KeyRef {
                    index: 2,
                    kid: Some("same".into())
                },
                first: 0
            }
        );
        assert!(err.to_string().contains("keys[0]"));
        // A skipped key's kid does not count.
        let keys = parse(vec![
            jwk(P256, json!({"kid": "same", "use": "enc"})),
            jwk(P384, json!({"kid": "same"})),
            jwk(ED25519, json!({})),
            jwk(RSA_FIXTURES[0].0, json!({})),
        ])
        .unwrap();
        assert_eq!(keys.len(), 3);
    }

    #[test]
    fn the_set_itself_must_be_an_object_with_a_keys_array_of_bounded_size() {
        for (body, words) in [
            (&b"[]"[..], "not a JSON object"),
            (b"{}", "no \"keys\" member"),
            (b"{\"keys\": {}}", "not an array"),
            (b"{\"keys\": [}", "invalid JSON"),
            (b"{\"keys\": [", "ends too early"),
            (b"", "ends too early"),
            (b"\xff\xfe", "invalid JSON"),
            (b"{\"keys\": [], \"keys\": []}", "a member appears twice"),
            (
                b"{\"keys\": [{\"kty\": \"EC\", \"kty\": \"RSA\"}]}",
                "a member appears twice",
            ),
        ] {
            let err = parse_jwks(body).unwrap_err();
            assert!(matches!(err, JwksError::NotAKeySet { .. }), "{err}");
            assert!(err.to_string().contains(words), "{err}");
        }
        let sixteen = vec![jwk(P256, json!({})); MAX_JWKS_KEYS];
        assert_eq!(parse(sixteen).unwrap().len(), MAX_JWKS_KEYS);
        let seventeen = vec![jwk(P256, json!({})); MAX_JWKS_KEYS + 1];
        assert_eq!(refused(seventeen), JwksError::TooManyKeys { count: 17 });
        let huge = vec![b' '; MAX_JWKS_LEN + 1];
        assert_eq!(
            parse_jwks(&huge),
            Err(JwksError::TooLarge {
                len: MAX_JWKS_LEN + 1
            })
        );
    }

    #[test]
    fn messages_never_echo_key_material() {
        let p256 = public_jwk(&pem_key(P256));
        let x = p256["x"].as_str().unwrap().to_owned();
        let mut off_curve = p256.clone();
        off_curve["y"] = json!(x);
        let bodies = [
            set(vec![off_curve]),
            set(vec![jwk(P256, json!({"d": x}))]),
            set(vec![jwk(P256, json!({"alg": x}))]),
            set(vec![jwk(P256, json!({"kid": format!("{x}\n")}))]),
            set(vec![json!({"kty": x})]),
            set(vec![json!({"kty": "EC", "crv": x})]),
            format!("{{\"keys\": [\"{x}\" x]}}").into_bytes(),
            format!("{{\"keys\": \"{x}\"}}").into_bytes(),
        ];
        for body in bodies {
            let message = parse_jwks(&body).unwrap_err().to_string();
            assert!(!message.contains(&x[..12]), "{message}");
        }
    }

    #[test]
    fn mangled_sets_never_panic() {
        let body = set(vec![
            jwk(P256, json!({"kid": "a"})),
            jwk(RSA_FIXTURES[0].0, json!({"kid": "b", "alg": "RS256"})),
            jwk(ED25519, json!({"kid": "c"})),
        ]);
        assert_eq!(parse_jwks(&body).unwrap().len(), 3);
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3000 {
            let mut mangled = body.clone();
            for _ in 0..3 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state as usize) % mangled.len();
                mangled[at] = (state >> 32) as u8;
            }
            let _ = parse_jwks(&mangled);
        }
    }
}
