//! The application's private key: reading it from PEM, signing with it, and its public half as a
//! JWK with its RFC 7638 thumbprint.
//!
//! Accepts what `openssl genrsa`, `openssl genpkey`, `openssl ecparam -genkey` and
//! `signet keygen` write, unencrypted: PKCS#8 (`BEGIN PRIVATE KEY`) RSA, EC P-256 / P-384 and
//! Ed25519 keys, PKCS#1 (`BEGIN RSA PRIVATE KEY`) and SEC1 (`BEGIN EC PRIVATE KEY`, RFC 5915).
//! Everything else is refused with a message that says what was found and what to do instead; no
//! message contains key material.

use std::fmt;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::alg::{Alg, KeyType};

/// Largest PEM file read: a 4096-bit PKCS#1 key with a certificate beside it is under 8 KiB; the
/// cap keeps a wrong `--key` path (a log file, a binary) from being scanned in full.
pub const MAX_PEM_LEN: usize = 64 * 1024;

const EXPECTED: &str = "-----BEGIN PRIVATE KEY-----, -----BEGIN RSA PRIVATE KEY----- or \
                        -----BEGIN EC PRIVATE KEY-----";

/// Why a private key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key file is {len} bytes long; a PEM private key is at most {MAX_PEM_LEN} bytes")]
    TooLarge { len: usize },

    #[error("the key is empty")]
    Empty,

    #[error("no PEM block found; expected a private key ({EXPECTED})")]
    NoPemBlock,

    #[error("malformed PEM: {reason}")]
    MalformedPem { reason: String },

    #[error("this is a public key ({label}); signing needs the private key ({EXPECTED})")]
    PublicKey { label: String },

    #[error("this is a certificate; signing needs the private key that belongs to it ({EXPECTED})")]
    Certificate,

    #[error(
        "the private key is encrypted with a passphrase; write an unencrypted copy for the \
         service (openssl pkey -in KEY -out key.plain.pem) and protect the file instead"
    )]
    Encrypted,

    /// A private key of a kind no assertion algorithm here signs with (DSA, Ed448, X25519, EC on
    /// P-521 or secp256k1, RSASSA-PSS-restricted RSA).
    #[error(
        "this key is {key_type}; assertions are signed with RSA (RS256, RS384, PS256), EC P-256 \
         (ES256), EC P-384 (ES384) or Ed25519 (EdDSA) keys"
    )]
    UnsupportedKeyType { key_type: &'static str },

    #[error("found {count} private keys; the file must hold exactly one")]
    SeveralKeys { count: usize },

    #[error(
        "unsupported PEM block \"{label}\"; expected PRIVATE KEY (PKCS#8), RSA PRIVATE KEY \
         (PKCS#1) or EC PRIVATE KEY (SEC1)"
    )]
    UnsupportedBlock { label: String },

    #[error(
        "the RSA private key cannot be used ({reason}); keys of 2048 to 4096 bits made by \
         `signet keygen` or `openssl genrsa` work"
    )]
    Rejected { reason: &'static str },

    #[error(
        "the {key_type} private key cannot be used ({reason}); keys made by `signet keygen` or \
         `openssl genpkey` work"
    )]
    RejectedKey {
        key_type: KeyType,
        reason: &'static str,
    },
}

/// A private key ready to sign: RSA, EC P-256, EC P-384 or Ed25519. `Debug` shows only its type
/// and size.
pub struct PrivateKey {
    pair: Pair,
}

enum Pair {
    Rsa(rsa::KeyPair),
    Ec(EcdsaKeyPair, KeyType),
    Ed25519(Ed25519KeyPair),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PrivateKey");
        if self.key_type() != KeyType::Rsa {
            d.field("key_type", &self.key_type());
        }
        d.field("bits", &self.bits()).finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Reads a private key from PEM text. A file that also holds certificates, EC parameters or a
    /// public key is fine as long as it holds exactly one private key.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        if text.len() > MAX_PEM_LEN {
            return Err(KeyError::TooLarge { len: text.len() });
        }
        if text.trim().is_empty() {
            return Err(KeyError::Empty);
        }
        // An encrypted PKCS#1 or SEC1 key looks like a plain one but for its headers; say so
        // before aws-lc reports it as merely "invalid".
        if text.contains("Proc-Type: 4,ENCRYPTED") {
            return Err(KeyError::Encrypted);
        }
        let blocks = pem::parse_many(text).map_err(|e| KeyError::MalformedPem {
            reason: e.to_string(),
        })?;
        if blocks.is_empty() {
            return Err(if text.contains("-----BEGIN") {
                KeyError::MalformedPem {
                    reason: "a -----BEGIN line without a matching, well-formed -----END block"
                        .into(),
                }
            } else {
                KeyError::NoPemBlock
            });
        }
        let private: Vec<&pem::Pem> = blocks
            .iter()
            .filter(|b| b.tag().ends_with("PRIVATE KEY"))
            .collect();
        match private.as_slice() {
            [one] => Self::from_block(one),
            [] => Err(explain_non_private(blocks[0].tag())),
            many => Err(KeyError::SeveralKeys { count: many.len() }),
        }
    }

    fn from_block(block: &pem::Pem) -> Result<Self, KeyError> {
        match block.tag() {
            "PRIVATE KEY" => Self::from_pkcs8_der(block.contents()),
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(block.contents()),
            "EC PRIVATE KEY" => Self::from_sec1_der(block.contents()),
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
            "DSA PRIVATE KEY" => Err(KeyError::UnsupportedKeyType { key_type: "DSA" }),
            "OPENSSH PRIVATE KEY" => Err(KeyError::UnsupportedBlock {
                label: "OPENSSH PRIVATE KEY (convert it: ssh-keygen -p -m PKCS8 -f KEY)".into(),
            }),
            other => Err(KeyError::UnsupportedBlock {
                label: printable(other),
            }),
        }
    }

    /// Reads an unencrypted PKCS#8 `PrivateKeyInfo` (DER, v1 or v2) of an RSA, EC P-256, EC P-384
    /// or Ed25519 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let (algorithm, parameters) =
            pkcs8_algorithm(der).ok_or_else(|| KeyError::MalformedPem {
                reason: "the PRIVATE KEY block is not a valid PKCS#8 structure".into(),
            })?;
        match algorithm {
            OID_RSA_ENCRYPTION => rsa::KeyPair::from_pkcs8(der)
                .map(|pair| Self {
                    pair: Pair::Rsa(pair),
                })
                .map_err(|e| KeyError::Rejected {
                    reason: e.description_(),
                }),
            OID_EC_PUBLIC_KEY => {
                let key_type = curve_of(der_element(parameters, 0x06).map(|(oid, _)| oid))?;
                ec_pair(key_type, EcdsaKeyPair::from_pkcs8(signing(key_type), der))
            }
            OID_ED25519 => Ed25519KeyPair::from_pkcs8(der)
                .map(|pair| Self {
                    pair: Pair::Ed25519(pair),
                })
                .map_err(|e| KeyError::RejectedKey {
                    key_type: KeyType::Ed25519,
                    reason: e.description_(),
                }),
            other => Err(KeyError::UnsupportedKeyType {
                key_type: key_type_of(other),
            }),
        }
    }

    /// Reads a PKCS#1 `RSAPrivateKey` (DER).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        rsa::KeyPair::from_der(der)
            .map(|pair| Self {
                pair: Pair::Rsa(pair),
            })
            .map_err(|e| KeyError::Rejected {
                reason: e.description_(),
            })
    }

    /// Reads a SEC1 `ECPrivateKey` (RFC 5915, DER) on P-256 or P-384, as `openssl ecparam
    /// -genkey` writes it. The curve is the one its parameters name, or, when they are left out,
    /// the one its private key's length fits.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self, KeyError> {
        let malformed = || KeyError::MalformedPem {
            reason: "the EC PRIVATE KEY block is not a valid SEC1 structure".into(),
        };
        let (key, _) = der_element(der, 0x30).ok_or_else(malformed)?;
        let (_version, rest) = der_element(key, 0x02).ok_or_else(malformed)?;
        let (scalar, rest) = der_element(rest, 0x04).ok_or_else(malformed)?;
        let key_type = match der_element(rest, 0xa0) {
            Some((parameters, _)) => curve_of(der_element(parameters, 0x06).map(|(oid, _)| oid))?,
            None => match scalar.len() {
                32 => KeyType::EcP256,
                48 => KeyType::EcP384,
                _ => return Err(unsupported_curve(None)),
            },
        };
        ec_pair(
            key_type,
            EcdsaKeyPair::from_private_key_der(signing(key_type), der),
        )
    }

    /// What kind of key this is, which decides the algorithms it signs.
    pub fn key_type(&self) -> KeyType {
        match &self.pair {
            Pair::Rsa(_) => KeyType::Rsa,
            Pair::Ec(_, key_type) => *key_type,
            Pair::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// The algorithm assertions are signed with unless another is asked for: RS256 for RSA keys,
    /// the only one there is for the others.
    pub fn default_alg(&self) -> Alg {
        self.key_type().default_alg()
    }

    /// Whether this key signs `alg`.
    pub fn signs(&self, alg: Alg) -> bool {
        alg.key_type() == self.key_type()
    }

    /// The key size in bits: the RSA modulus, or the curve's size.
    pub fn bits(&self) -> usize {
        match &self.pair {
            Pair::Rsa(pair) => pair.public_modulus_len() * 8,
            Pair::Ec(_, KeyType::EcP384) => 384,
            Pair::Ec(..) | Pair::Ed25519(_) => 256,
        }
    }

    /// The public key as a DER `SubjectPublicKeyInfo`, what a `BEGIN PUBLIC KEY` PEM holds.
    pub fn public_key_der(&self) -> Vec<u8> {
        // Encoding a public key that aws-lc already holds in memory cannot fail short of an
        // allocation failure.
        const MSG: &str = "encoding a parsed public key";
        match &self.pair {
            Pair::Rsa(pair) => pair.public_key().as_der().expect(MSG).as_ref().to_vec(),
            Pair::Ec(pair, _) => pair.public_key().as_der().expect(MSG).as_ref().to_vec(),
            Pair::Ed25519(pair) => pair.public_key().as_der().expect(MSG).as_ref().to_vec(),
        }
    }

    /// The public key as a JWK with only its required members (RFC 7518 §6, RFC 8037 §2): `kty`
    /// and `n`, `e` (RSA), `crv`, `x`, `y` (EC) or `crv`, `x` (OKP). Add `kid`, `alg` and `use`
    /// to publish it in a JWKS.
    pub fn public_jwk(&self) -> Value {
        match self.public_members() {
            PublicMembers::Rsa { n, e } => json!({"kty": "RSA", "n": b64(&n), "e": b64(&e)}),
            PublicMembers::Ec { crv, x, y } => {
                json!({"kty": "EC", "crv": crv, "x": b64(x), "y": b64(y)})
            }
            PublicMembers::Okp { crv, x } => json!({"kty": "OKP", "crv": crv, "x": b64(x)}),
        }
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key, base64url: the `kid` signet gives a
    /// credential uploaded without one.
    pub fn thumbprint(&self) -> String {
        match self.public_members() {
            PublicMembers::Rsa { n, e } => rsa_thumbprint(&n, &e),
            PublicMembers::Ec { crv, x, y } => ec_thumbprint(crv, x, y),
            PublicMembers::Okp { crv, x } => okp_thumbprint(crv, x),
        }
    }

    fn public_members(&self) -> PublicMembers<'_> {
        match &self.pair {
            Pair::Rsa(pair) => {
                let public = pair.public_key();
                PublicMembers::Rsa {
                    n: public.modulus().big_endian_without_leading_zero().to_vec(),
                    e: public.exponent().big_endian_without_leading_zero().to_vec(),
                }
            }
            Pair::Ec(pair, key_type) => {
                // SEC1 uncompressed point: 0x04 || x || y, each as long as the field.
                let point = &pair.public_key().as_ref()[1..];
                let (x, y) = point.split_at(point.len() / 2);
                let crv = if *key_type == KeyType::EcP384 {
                    "P-384"
                } else {
                    "P-256"
                };
                PublicMembers::Ec { crv, x, y }
            }
            Pair::Ed25519(pair) => PublicMembers::Okp {
                crv: "Ed25519",
                x: pair.public_key().as_ref(),
            },
        }
    }

    /// Signs `message` as `alg` says: RSA padding and digest, ECDSA's fixed-width `r || s`
    /// (RFC 7518 §3.4; JWS has no DER signatures), or Ed25519. `None` when `alg` is not this
    /// key's.
    pub(crate) fn sign(&self, alg: Alg, message: &[u8]) -> Option<Vec<u8>> {
        if !self.signs(alg) {
            return None;
        }
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    alg.rsa_encoding()?,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .ok()?;
                Some(signature)
            }
            Pair::Ec(pair, _) => pair
                .sign(&SystemRandom::new(), message)
                .ok()
                .map(|s| s.as_ref().to_vec()),
            Pair::Ed25519(pair) => pair.try_sign(message).ok().map(|s| s.as_ref().to_vec()),
        }
    }
}

enum PublicMembers<'a> {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ec {
        crv: &'static str,
        x: &'a [u8],
        y: &'a [u8],
    },
    Okp {
        crv: &'static str,
        x: &'a [u8],
    },
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638 §3.2: the SHA-256 of the required members, in lexicographic order, without
/// whitespace. The members are base64url strings and fixed names, so nothing needs escaping.
fn thumbprint_of(canonical: &str) -> String {
    b64(digest(&SHA256, canonical.as_bytes()).as_ref())
}

/// `{"e","kty","n"}`; `n` and `e` without leading zero bytes (RFC 7518 §6.3.1.1).
pub(crate) fn rsa_thumbprint(n: &[u8], e: &[u8]) -> String {
    let strip = |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|&x| x == 0).collect() };
    thumbprint_of(&format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        b64(&strip(e)),
        b64(&strip(n))
    ))
}

/// `{"crv","kty","x","y"}`; coordinates at the full field length (RFC 7518 §6.2.1.2).
pub(crate) fn ec_thumbprint(crv: &str, x: &[u8], y: &[u8]) -> String {
    thumbprint_of(&format!(
        r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#,
        b64(x),
        b64(y)
    ))
}

/// `{"crv","kty","x"}` (RFC 8037 §2, appendix A.3).
pub(crate) fn okp_thumbprint(crv: &str, x: &[u8]) -> String {
    thumbprint_of(&format!(
        r#"{{"crv":"{crv}","kty":"OKP","x":"{}"}}"#,
        b64(x)
    ))
}

fn signing(key_type: KeyType) -> &'static EcdsaSigningAlgorithm {
    if key_type == KeyType::EcP384 {
        &ECDSA_P384_SHA384_FIXED_SIGNING
    } else {
        &ECDSA_P256_SHA256_FIXED_SIGNING
    }
}

fn ec_pair(
    key_type: KeyType,
    parsed: Result<EcdsaKeyPair, aws_lc_rs::error::KeyRejected>,
) -> Result<PrivateKey, KeyError> {
    parsed
        .map(|pair| PrivateKey {
            pair: Pair::Ec(pair, key_type),
        })
        .map_err(|e| KeyError::RejectedKey {
            key_type,
            reason: e.description_(),
        })
}

fn curve_of(oid: Option<&[u8]>) -> Result<KeyType, KeyError> {
    match oid {
        Some(OID_P256) => Ok(KeyType::EcP256),
        Some(OID_P384) => Ok(KeyType::EcP384),
        other => Err(unsupported_curve(other)),
    }
}

fn unsupported_curve(oid: Option<&[u8]>) -> KeyError {
    KeyError::UnsupportedKeyType {
        key_type: match oid {
            Some(OID_P521) => "EC on curve P-521",
            Some(OID_SECP256K1) => "EC on curve secp256k1",
            _ => "EC on a curve other than P-256 or P-384",
        },
    }
}

fn explain_non_private(label: &str) -> KeyError {
    match label {
        "PUBLIC KEY" | "RSA PUBLIC KEY" => KeyError::PublicKey {
            label: label.to_owned(),
        },
        "CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE" => KeyError::Certificate,
        other => KeyError::UnsupportedBlock {
            label: printable(other),
        },
    }
}

/// A label as found, cut short and stripped of control characters, safe to print.
fn printable(label: &str) -> String {
    label.chars().filter(|c| !c.is_control()).take(40).collect()
}

const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
const OID_X25519: &[u8] = &[0x2b, 0x65, 0x6e];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_ED448: &[u8] = &[0x2b, 0x65, 0x71];
/// prime256v1 / secp256r1, 1.2.840.10045.3.1.7
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// secp384r1, 1.3.132.0.34
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// secp521r1, 1.3.132.0.35
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
/// secp256k1, 1.3.132.0.10
const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];

fn key_type_of(oid: &[u8]) -> &'static str {
    match oid {
        OID_RSASSA_PSS => {
            "an RSASSA-PSS-restricted RSA key (export it as a plain rsaEncryption key)"
        }
        OID_DSA => "DSA",
        OID_X25519 => "X25519 (a key-agreement key, which cannot sign)",
        OID_ED448 => "Ed448",
        _ => "of an unknown algorithm",
    }
}

/// The algorithm OID of a PKCS#8 `PrivateKeyInfo`, and what follows it in the
/// `AlgorithmIdentifier` (an EC key's named curve):
/// `SEQUENCE { INTEGER version, SEQUENCE { OID algorithm, parameters }, OCTET STRING key, … }`.
/// Read here so a key is named by its type instead of being "invalid".
fn pkcs8_algorithm(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (info, _) = der_element(der, 0x30)?;
    let (_version, rest) = der_element(info, 0x02)?;
    let (algorithm, _) = der_element(rest, 0x30)?;
    der_element(algorithm, 0x06)
}

/// Splits one DER element with tag `tag` off the front of `input`: (contents, rest).
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, input) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, mut input) = input.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        // Four length bytes already describe 4 GiB: anything longer is not a key.
        if count == 0 || count > 4 || input.len() < count {
            return None;
        }
        let (bytes, rest) = input.split_at(count);
        input = rest;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if input.len() < len {
        return None;
    }
    Some(input.split_at(len))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const PKCS8: &str = include_str!("../../tests/fixtures/keys/rsa2048.key.pem");
    const PKCS1: &str = include_str!("../../tests/fixtures/keys/rsa2048.pkcs1.key.pem");
    const ENCRYPTED: &str = include_str!("../../tests/fixtures/keys/rsa2048.encrypted.key.pem");
    const PUBLIC: &str = include_str!("../../tests/fixtures/keys/rsa2048.pub.pem");
    const PKCS1_PUBLIC: &str = include_str!("../../tests/fixtures/keys/rsa2048.pkcs1.pub.pem");
    const CERT: &str = include_str!("../../tests/fixtures/keys/rsa2048.cert.pem");
    const EC_PKCS8: &str = include_str!("../../tests/fixtures/keys/ec-p256.key.pem");
    const EC_SEC1: &str = include_str!("../../tests/fixtures/keys/ec-p256.sec1.key.pem");

    #[test]
    fn reads_pkcs8_and_pkcs1_rsa_keys() {
        assert_eq!(PrivateKey::from_pem(PKCS8).unwrap().bits(), 2048);
        assert_eq!(PrivateKey::from_pem(PKCS1).unwrap().bits(), 2048);
    }

    #[test]
    fn reads_a_key_stored_beside_its_certificate() {
        let bundle = format!("{CERT}\n{PKCS8}");
        assert_eq!(PrivateKey::from_pem(&bundle).unwrap().bits(), 2048);
    }

    #[test]
    fn reads_a_key_with_crlf_line_endings() {
        let crlf = PKCS8.replace('\n', "\r\n");
        assert!(PrivateKey::from_pem(&crlf).is_ok());
    }

    #[test]
    fn refuses_public_keys_naming_them() {
        assert_eq!(
            PrivateKey::from_pem(PUBLIC).unwrap_err(),
            KeyError::PublicKey {
                label: "PUBLIC KEY".into()
            }
        );
        assert_eq!(
            PrivateKey::from_pem(PKCS1_PUBLIC).unwrap_err(),
            KeyError::PublicKey {
                label: "RSA PUBLIC KEY".into()
            }
        );
    }

    #[test]
    fn refuses_a_certificate_alone() {
        assert_eq!(
            PrivateKey::from_pem(CERT).unwrap_err(),
            KeyError::Certificate
        );
    }

    #[test]
    fn refuses_encrypted_keys() {
        assert_eq!(
            PrivateKey::from_pem(ENCRYPTED).unwrap_err(),
            KeyError::Encrypted
        );
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: \
                      AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE \
                      KEY-----\n";
        assert_eq!(
            PrivateKey::from_pem(legacy).unwrap_err(),
            KeyError::Encrypted
        );
    }

    /// RFC 8037 appendix A.1's Ed25519 private key (the seed `d`) as PKCS#8 v1, the form
    /// `openssl genpkey -algorithm ed25519` writes: a fixed prefix and the 32-byte seed.
    pub(crate) fn rfc8037_pem() -> String {
        let seed = URL_SAFE_NO_PAD
            .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap();
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&seed);
        pem::encode(&pem::Pem::new("PRIVATE KEY", der))
    }

    /// A fresh P-384 key as PKCS#8 and as SEC1, the same key.
    pub(crate) fn p384_pems() -> (String, String) {
        let pair = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        let pkcs8 = pair.to_pkcs8v1().unwrap();
        let sec1 = pair.private_key().as_der().unwrap();
        (
            pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref())),
            pem::encode(&pem::Pem::new("EC PRIVATE KEY", sec1.as_ref())),
        )
    }

    #[test]
    fn reads_p256_keys_in_both_encodings_as_the_same_key() {
        let pkcs8 = PrivateKey::from_pem(EC_PKCS8).unwrap();
        let sec1 = PrivateKey::from_pem(EC_SEC1).unwrap();
        for key in [&pkcs8, &sec1] {
            assert_eq!(key.key_type(), KeyType::EcP256);
            assert_eq!(key.default_alg(), Alg::ES256);
            assert_eq!(key.bits(), 256);
        }
        assert_eq!(pkcs8.thumbprint(), sec1.thumbprint());
        assert_eq!(pkcs8.public_key_der(), sec1.public_key_der());
        // The SPKI is the one OpenSSL wrote beside the key.
        let public = pem::parse(include_str!("../../tests/fixtures/keys/ec-p256.pub.pem")).unwrap();
        assert_eq!(pkcs8.public_key_der(), public.contents());
    }

    #[test]
    fn reads_p384_keys_in_both_encodings_as_the_same_key() {
        let (pkcs8, sec1) = p384_pems();
        let pkcs8 = PrivateKey::from_pem(&pkcs8).unwrap();
        let sec1 = PrivateKey::from_pem(&sec1).unwrap();
        for key in [&pkcs8, &sec1] {
            assert_eq!(key.key_type(), KeyType::EcP384);
            assert_eq!(key.default_alg(), Alg::ES384);
            assert_eq!(key.bits(), 384);
        }
        assert_eq!(pkcs8.thumbprint(), sec1.thumbprint());
    }

    #[test]
    fn reads_a_sec1_key_with_its_ec_parameters_block_before_it() {
        // `openssl ecparam -genkey` writes the curve as a block of its own first.
        let params =
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
        let key = PrivateKey::from_pem(&format!("{params}{EC_SEC1}")).unwrap();
        assert_eq!(key.key_type(), KeyType::EcP256);
    }

    #[test]
    fn reads_a_sec1_key_without_its_curve_by_the_length_of_its_scalar() {
        // RFC 5915 makes the parameters optional; drop them from the fixture's key.
        let der = pem::parse(EC_SEC1).unwrap().into_contents();
        let (body, _) = der_element(&der, 0x30).unwrap();
        let (_, after_version) = der_element(body, 0x02).unwrap();
        let (_, after_scalar) = der_element(after_version, 0x04).unwrap();
        let (_, public) = der_element(after_scalar, 0xa0).unwrap();
        let head = body.len() - after_scalar.len();
        let inner = [&body[..head], public].concat();
        assert!(inner.len() < 128);
        let stripped = [&[0x30, inner.len() as u8][..], &inner].concat();
        let stripped = pem::encode(&pem::Pem::new("EC PRIVATE KEY", stripped));
        let key = PrivateKey::from_pem(&stripped).unwrap();
        assert_eq!(key.key_type(), KeyType::EcP256);
        assert_eq!(
            key.thumbprint(),
            PrivateKey::from_pem(EC_SEC1).unwrap().thumbprint()
        );
    }

    #[test]
    fn reads_ed25519_keys() {
        // RFC 8410 §10.3's example private key.
        let ed = "-----BEGIN PRIVATE KEY-----\n\
                  MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
                  -----END PRIVATE KEY-----\n";
        let key = PrivateKey::from_pem(ed).unwrap();
        assert_eq!(key.key_type(), KeyType::Ed25519);
        assert_eq!(key.default_alg(), Alg::EdDSA);
        // A PKCS#8 v2 key (with its public key) as aws-lc writes it, too.
        let v2 = Ed25519KeyPair::generate().unwrap().to_pkcs8().unwrap();
        let v2 = pem::encode(&pem::Pem::new("PRIVATE KEY", v2.as_ref()));
        assert_eq!(
            PrivateKey::from_pem(&v2).unwrap().key_type(),
            KeyType::Ed25519
        );
    }

    #[test]
    fn rsa_thumbprint_matches_rfc_7638_section_3_1() {
        let n = URL_SAFE_NO_PAD
            .decode(
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS\
                 oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65Y\
                 GjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdk\
                 t-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqD\
                 Kgw",
            )
            .unwrap();
        let e = [0x01, 0x00, 0x01];
        let expected = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        assert_eq!(rsa_thumbprint(&n, &e), expected);
        // A leading zero byte (as DER integers carry) is not part of the JWK's n.
        let mut padded = vec![0];
        padded.extend_from_slice(&n);
        assert_eq!(rsa_thumbprint(&padded, &e), expected);
    }

    #[test]
    fn ed25519_thumbprint_matches_rfc_8037_appendix_a() {
        let key = PrivateKey::from_pem(&rfc8037_pem()).unwrap();
        // A.2: the public key; A.3: its thumbprint.
        assert_eq!(
            key.public_jwk(),
            json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
        );
        assert_eq!(
            key.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn ec_thumbprint_hashes_crv_kty_x_y_in_that_order() {
        // The P-256 example of the `jose` library's calculateJwkThumbprint documentation.
        let x = URL_SAFE_NO_PAD
            .decode("jJ6Flys3zK9jUhnOHf6G49Dyp5hah6CNP84-gY-n9eo")
            .unwrap();
        let y = URL_SAFE_NO_PAD
            .decode("nhI6iD5eFXgBTLt_1p3aip-5VbZeMhxeFSpjfEAf7Ww")
            .unwrap();
        assert_eq!(
            ec_thumbprint("P-256", &x, &y),
            "w9eYdC6_s_tLQ8lH6PUpc0mddazaqtPgeC2IgWDiqY8"
        );
    }

    #[test]
    fn thumbprints_agree_with_jsonwebtoken_for_ec_and_okp_keys() {
        use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
        let (p384, _) = p384_pems();
        for pem in [EC_PKCS8.to_owned(), p384, rfc8037_pem()] {
            let key = PrivateKey::from_pem(&pem).unwrap();
            let jwk: Jwk = serde_json::from_value(key.public_jwk()).unwrap();
            assert_eq!(
                key.thumbprint(),
                jwk.thumbprint(ThumbprintHash::SHA256).unwrap(),
                "{:?}",
                key.key_type()
            );
        }
    }

    #[test]
    fn rsa_jwk_has_n_and_e_without_leading_zeros_and_its_thumbprint() {
        let key = PrivateKey::from_pem(PKCS8).unwrap();
        let jwk = key.public_jwk();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["e"], "AQAB");
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256);
        assert_ne!(n[0], 0);
        assert_eq!(key.thumbprint(), rsa_thumbprint(&n, &[1, 0, 1]));
        assert_eq!(
            PrivateKey::from_pem(PKCS1).unwrap().thumbprint(),
            key.thumbprint()
        );
    }

    #[test]
    fn ec_jwk_has_full_length_coordinates() {
        let (p384, _) = p384_pems();
        for (pem, crv, len) in [(EC_PKCS8.to_owned(), "P-256", 32), (p384, "P-384", 48)] {
            let jwk = PrivateKey::from_pem(&pem).unwrap().public_jwk();
            assert_eq!(jwk["kty"], "EC");
            assert_eq!(jwk["crv"], crv);
            for c in ["x", "y"] {
                let bytes = URL_SAFE_NO_PAD.decode(jwk[c].as_str().unwrap()).unwrap();
                assert_eq!(bytes.len(), len, "{crv} {c}");
            }
            assert_eq!(jwk.as_object().unwrap().len(), 4);
        }
    }

    #[test]
    fn refuses_keys_no_assertion_algorithm_signs_naming_them() {
        let p521 = EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P521_SHA512_FIXED_SIGNING)
            .unwrap()
            .to_pkcs8v1()
            .unwrap();
        let p521 = pem::encode(&pem::Pem::new("PRIVATE KEY", p521.as_ref()));
        assert_eq!(
            PrivateKey::from_pem(&p521).unwrap_err(),
            KeyError::UnsupportedKeyType {
                key_type: "EC on curve P-521"
            }
        );
        // An X25519 key: the Ed25519 layout under X25519's OID.
        let mut der = pem::parse(rfc8037_pem()).unwrap().into_contents();
        assert_eq!(der[11], 0x70);
        der[11] = 0x6e;
        let x25519 = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
        assert!(matches!(
            PrivateKey::from_pem(&x25519).unwrap_err(),
            KeyError::UnsupportedKeyType { key_type } if key_type.starts_with("X25519")
        ));
        let message = PrivateKey::from_pem(&p521).unwrap_err().to_string();
        assert!(
            message.contains("P-521") && message.contains("ES256"),
            "{message}"
        );
    }

    #[test]
    fn refuses_garbage_empty_truncated_and_oversize_input() {
        assert_eq!(PrivateKey::from_pem("").unwrap_err(), KeyError::Empty);
        assert_eq!(PrivateKey::from_pem(" \n\t").unwrap_err(), KeyError::Empty);
        assert_eq!(
            PrivateKey::from_pem("not a key at all").unwrap_err(),
            KeyError::NoPemBlock
        );
        let truncated = &PKCS8[..PKCS8.len() / 2];
        assert!(matches!(
            PrivateKey::from_pem(truncated).unwrap_err(),
            KeyError::MalformedPem { .. }
        ));
        let corrupted = PKCS8.replacen("MII", "MIX", 1);
        assert!(PrivateKey::from_pem(&corrupted).is_err());
        let huge = "A".repeat(MAX_PEM_LEN + 1);
        assert_eq!(
            PrivateKey::from_pem(&huge).unwrap_err(),
            KeyError::TooLarge {
                len: MAX_PEM_LEN + 1
            }
        );
    }

    #[test]
    fn refuses_a_pkcs8_block_that_is_not_der() {
        let bogus = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            PrivateKey::from_pem(bogus).unwrap_err(),
            KeyError::MalformedPem { .. }
        ));
    }

    #[test]
    fn refuses_two_private_keys_in_one_file() {
        let two = format!("{PKCS8}\n{PKCS1}");
        assert_eq!(
            PrivateKey::from_pem(&two).unwrap_err(),
            KeyError::SeveralKeys { count: 2 }
        );
    }

    #[test]
    fn refuses_unknown_blocks_without_echoing_control_characters() {
        let odd = "-----BEGIN FOO\u{7}BAR-----\nAAAA\n-----END FOO\u{7}BAR-----\n";
        match PrivateKey::from_pem(odd) {
            Err(KeyError::UnsupportedBlock { label }) => assert!(!label.contains('\u{7}')),
            Err(KeyError::MalformedPem { .. }) | Err(KeyError::NoPemBlock) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        let key = PrivateKey::from_pem(PKCS8).unwrap();
        assert_eq!(format!("{key:?}"), "PrivateKey { bits: 2048, .. }");
        let key = PrivateKey::from_pem(EC_PKCS8).unwrap();
        assert_eq!(
            format!("{key:?}"),
            "PrivateKey { key_type: EcP256, bits: 256, .. }"
        );
    }
}
