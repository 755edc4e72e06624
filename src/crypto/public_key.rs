//! Public-key intake for Private Key JWT credentials (BEHAVIOUR B.8).
//!
//! This module owns everything between "a user pasted something into the credential form" and
//! "we hold a public key the token endpoint can verify with": finding the one PEM block,
//! refusing private keys, certificate chains and keys of other types, enforcing the RSA modulus
//! size and the EC curves, proving aws-lc-rs accepts the key, and computing its RFC 7638
//! thumbprint. Everything the token endpoint needs later is extracted here, so no PEM or ASN.1
//! parsing happens on the hot path, and every problem surfaces at upload time with a message
//! that names it. Keys that arrive as JWKs (`super::jwk`) end in the same checks
//! ([`rsa_from_components`], [`ec_from_coordinates`], [`ed25519_from_raw`]).
//!
//! Accepted: RSA 2048–4096 bits, P-256, P-384 and Ed25519. EC and Ed25519 are a signet
//! extension: Auth0 accepts RSA only.
//!
//! Error messages are shown to the uploader and may be logged: they name the problem and never
//! contain key material (only fixed text, sizes, sanitised PEM labels and algorithm OIDs).

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use time::OffsetDateTime;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_DSA, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_PKCS1_RSASSAPSS, OID_SIG_ED448, OID_SIG_ED25519,
};
use x509_parser::prelude::{FromDer, parse_x509_certificate};
use x509_parser::public_key::RSAPublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

/// Largest accepted upload, in bytes. A 4096-bit certificate with a few extensions is well under
/// 4 KiB; the cap bounds the work an upload can cause before anything is parsed (BEHAVIOUR B.8).
pub const MAX_PEM_LEN: usize = 16 * 1024;

/// Smallest accepted modulus: below 2048 bits RSA is no longer considered safe (BEHAVIOUR B.8).
const MIN_BITS: usize = 2048;
/// Largest accepted modulus: bounds verification cost per token request (BEHAVIOUR B.8).
const MAX_BITS: usize = 4096;

/// The end of every "not accepted" message: what is.
const ACCEPTED_KINDS: &str = "accepted are RSA 2048–4096 bits, P-256, P-384 and Ed25519";

/// The kinds of key a credential may hold (BEHAVIOUR B.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// RSA, 2048 to 4096 bits ([`PublicKeyInfo::bits`] says which).
    Rsa,
    /// ECDSA on NIST P-256 (secp256r1).
    P256,
    /// ECDSA on NIST P-384 (secp384r1).
    P384,
    /// EdDSA on edwards25519 (RFC 8032).
    Ed25519,
}

impl KeyKind {
    /// The name used in messages: `RSA`, `P-256`, `P-384`, `Ed25519` (the curves by their JWK
    /// `crv` names, RFC 7518 §6.2.1.1, RFC 8037 §2).
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa => "RSA",
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::Ed25519 => "Ed25519",
        }
    }

    /// Length of one EC coordinate (x or y) in bytes, or of the Ed25519 public key.
    fn coordinate_len(self) -> usize {
        match self {
            Self::Rsa => 0,
            Self::P256 | Self::Ed25519 => 32,
            Self::P384 => 48,
        }
    }
}

/// What we keep of an accepted key, whatever its kind and whether it came as PEM or as a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyInfo {
    pub kind: KeyKind,
    /// The bytes aws-lc-rs verification takes, stored as the credential's `public_key`:
    /// DER `RSAPublicKey` (PKCS#1) for RSA; the uncompressed point `04 || x || y` (SEC 1
    /// §2.3.3) for P-256 and P-384; the raw 32 bytes (RFC 8032 §5.1.5) for Ed25519.
    pub verifier_bytes: Vec<u8>,
    /// Key size in bits: the RSA modulus size; 256 and 384 for P-256 and P-384; 256 for
    /// Ed25519.
    pub bits: usize,
    /// RFC 7638 JWK thumbprint: SHA-256, base64url without padding (43 characters).
    pub thumbprint: String,
    /// The certificate's notAfter, `Some` if and only if the upload was a certificate. Intake does
    /// not judge expiry (it has no clock); the caller decides what an expired certificate means.
    pub certificate_not_after: Option<OffsetDateTime>,
}

impl PublicKeyInfo {
    /// What the key is, for messages: `RSA 2048 bits`, `P-256`, `P-384`, `Ed25519`.
    pub fn description(&self) -> KeyDescription<'_> {
        KeyDescription(self)
    }

    /// RSA's modulus n and exponent e, big-endian without leading zero bytes.
    pub fn rsa_components(&self) -> Option<(&[u8], &[u8])> {
        if self.kind != KeyKind::Rsa {
            return None;
        }
        // Intake wrote these bytes after parsing them; they parse again.
        let (_, key) = RSAPublicKey::from_der(&self.verifier_bytes).ok()?;
        Some((
            strip_leading_zeros(key.modulus),
            strip_leading_zeros(key.exponent),
        ))
    }

    /// An EC key's affine coordinates x and y, each of the curve's full length.
    pub fn ec_coordinates(&self) -> Option<(&[u8], &[u8])> {
        let len = self.kind.coordinate_len();
        match self.kind {
            KeyKind::P256 | KeyKind::P384 => {
                let point = self.verifier_bytes.get(1..1 + 2 * len)?;
                Some(point.split_at(len))
            }
            KeyKind::Rsa | KeyKind::Ed25519 => None,
        }
    }
}

/// [`PublicKeyInfo::description`].
pub struct KeyDescription<'a>(&'a PublicKeyInfo);

impl fmt::Display for KeyDescription<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.kind {
            KeyKind::Rsa => write!(f, "RSA {} bits", self.0.bits),
            other => f.write_str(other.name()),
        }
    }
}

/// Why an upload was refused. Every message names the problem in plain words and never echoes
/// key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyIntakeError {
    /// The input exceeds [`MAX_PEM_LEN`]; nothing was parsed.
    #[error("the key is {len} bytes long; at most {MAX_PEM_LEN} bytes are accepted")]
    TooLarge { len: usize },

    /// The input is empty or only whitespace.
    #[error("no key was provided; paste a PEM public key or certificate")]
    Empty,

    /// A private key was uploaded. It is dropped unread, but it has been exposed.
    #[error(
        "a private key ({label}) was sent instead of a public key; it was not stored, but it has \
         left its owner's hands and must be treated as leaked (compromised): generate a new key \
         pair, replace this one wherever it is used, and upload only the public key \
         (-----BEGIN PUBLIC KEY-----)"
    )]
    PrivateKey { label: String },

    /// No `-----BEGIN …-----` line was found.
    #[error(
        "no PEM block found; paste the whole public key or certificate, including its \
         -----BEGIN ...----- and -----END ...----- lines"
    )]
    NoPemBlock,

    /// More than one PEM block, e.g. a certificate chain.
    #[error(
        "found {count} PEM blocks; upload exactly one public key or certificate, not a chain or \
         a bundle"
    )]
    MultiplePemBlocks { count: usize },

    /// A well-framed block with a label we do not take.
    #[error(
        "unsupported PEM block \"{label}\"; expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE"
    )]
    UnsupportedBlock { label: String },

    /// The PEM framing or its base64 is broken.
    #[error("malformed PEM: {reason}")]
    MalformedPem { reason: &'static str },

    /// The base64 decoded, but not into the DER structure the label promises.
    #[error("malformed {structure}: {problem}")]
    MalformedDer {
        structure: &'static str,
        problem: &'static str,
    },

    /// A well-formed key of a type or on a curve we do not take.
    #[error("{key_type} keys are not accepted; {ACCEPTED_KINDS}")]
    UnsupportedKeyType { key_type: String },

    /// An RSA key outside the accepted size range.
    #[error("RSA key is {bits} bits; {MIN_BITS} to {MAX_BITS} are accepted")]
    KeySize { bits: usize },

    /// A structurally valid RSA key that aws-lc-rs verification refuses.
    #[error(
        "this RSA key is one the signature verifier cannot use ({reason}); generate a standard \
         RSA key (public exponent 65537)"
    )]
    Unusable { reason: &'static str },

    /// An EC or Ed25519 public key that is not a valid point of its curve, as the verifier
    /// checks it.
    #[error("this {kind} public key is not a valid point of its curve ({reason})")]
    InvalidPoint {
        kind: &'static str,
        reason: &'static str,
    },
}

const STRUCT_SPKI: &str = "SubjectPublicKeyInfo (PUBLIC KEY)";
const STRUCT_PKCS1: &str = "PKCS#1 RSAPublicKey (RSA PUBLIC KEY)";
const STRUCT_CERT: &str = "X.509 certificate (CERTIFICATE)";
const NOT_DER: &str = "the base64 decodes, but not to valid DER (truncated or corrupted?)";
const TRAILING: &str = "there are extra bytes after the end of the structure";

/// Validates an uploaded public key or certificate and extracts what the token endpoint needs
/// (BEHAVIOUR B.8).
///
/// Accepts exactly one PEM block labelled `PUBLIC KEY` (SPKI: RSA, P-256, P-384 or Ed25519),
/// `RSA PUBLIC KEY` (PKCS#1) or `CERTIFICATE` (X.509, holding one of those), pasted with LF or
/// CRLF line endings, indented, JSON-escaped (`\n`) or on one line. Never panics, whatever the
/// input.
pub fn parse_public_key_pem(input: &str) -> Result<PublicKeyInfo, KeyIntakeError> {
    // Bound the work first: nothing, not even the private-key scan, looks at an oversize input.
    if input.len() > MAX_PEM_LEN {
        return Err(KeyIntakeError::TooLarge { len: input.len() });
    }
    let text = unescape_paste(input);

    // A private key must be recognised from its label alone, before any decoding, so that even
    // a truncated or encrypted one is reported as leaked rather than as "malformed". This
    // covers every type: `PRIVATE KEY` (PKCS#8 of RSA, EC, Ed25519, …), `RSA PRIVATE KEY`,
    // `EC PRIVATE KEY` (SEC 1), `ENCRYPTED PRIVATE KEY`, `OPENSSH PRIVATE KEY`.
    if let Some(label) = private_key_label(&text) {
        return Err(KeyIntakeError::PrivateKey { label });
    }
    if text.trim().is_empty() {
        return Err(KeyIntakeError::Empty);
    }

    let blocks = find_blocks(&text)?;
    let block = match blocks.as_slice() {
        [] => return Err(KeyIntakeError::NoPemBlock),
        [one] => one,
        many => {
            return Err(KeyIntakeError::MultiplePemBlocks { count: many.len() });
        }
    };

    let kind = match block.label {
        "PUBLIC KEY" => BlockKind::Spki,
        "RSA PUBLIC KEY" => BlockKind::Pkcs1,
        "CERTIFICATE" => BlockKind::Certificate,
        other => {
            return Err(KeyIntakeError::UnsupportedBlock {
                label: display_label(other),
            });
        }
    };
    let der = decode_body(block.body)?;

    match kind {
        BlockKind::Pkcs1 => analyse_pkcs1(&der, STRUCT_PKCS1),
        BlockKind::Spki => {
            let (rest, spki) = SubjectPublicKeyInfo::from_der(&der)
                .map_err(|_| malformed(STRUCT_SPKI, NOT_DER))?;
            if !rest.is_empty() {
                return Err(malformed(STRUCT_SPKI, TRAILING));
            }
            analyse_spki(&spki, STRUCT_SPKI)
        }
        BlockKind::Certificate => {
            let (rest, cert) =
                parse_x509_certificate(&der).map_err(|_| malformed(STRUCT_CERT, NOT_DER))?;
            if !rest.is_empty() {
                return Err(malformed(STRUCT_CERT, TRAILING));
            }
            let mut info = analyse_spki(cert.public_key(), STRUCT_CERT)?;
            info.certificate_not_after = Some(cert.validity().not_after.to_datetime());
            Ok(info)
        }
    }
}

/// RFC 7638 §3 JWK thumbprint of an RSA public key: SHA-256 over
/// `{"e":"…","kty":"RSA","n":"…"}` (members in lexicographic order, no whitespace, values
/// base64url without padding of the big-endian integers without leading zero bytes, per
/// RFC 7518 §6.3.1), itself encoded base64url without padding.
pub fn rsa_jwk_thumbprint(modulus: &[u8], exponent: &[u8]) -> String {
    let n = URL_SAFE_NO_PAD.encode(strip_leading_zeros(modulus));
    let e = URL_SAFE_NO_PAD.encode(strip_leading_zeros(exponent));
    thumbprint_of(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#))
}

/// RFC 7638 §3.2 thumbprint of an EC public key: `{"crv":"…","kty":"EC","x":"…","y":"…"}`,
/// the coordinates at the curve's full length (RFC 7518 §6.2.1.2 keeps leading zeros).
pub fn ec_jwk_thumbprint(crv: &str, x: &[u8], y: &[u8]) -> String {
    let x = URL_SAFE_NO_PAD.encode(x);
    let y = URL_SAFE_NO_PAD.encode(y);
    thumbprint_of(&format!(
        r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#
    ))
}

/// RFC 8037 §2 thumbprint of an OKP public key: `{"crv":"…","kty":"OKP","x":"…"}`.
pub fn okp_jwk_thumbprint(crv: &str, x: &[u8]) -> String {
    let x = URL_SAFE_NO_PAD.encode(x);
    thumbprint_of(&format!(r#"{{"crv":"{crv}","kty":"OKP","x":"{x}"}}"#))
}

fn thumbprint_of(canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
}

/// An RSA key given as its modulus and exponent (a JWK's `n` and `e`, big-endian), checked
/// exactly as an uploaded PEM is: the same size range, the same verifier acceptance, and the
/// same stored PKCS#1 bytes and thumbprint as that key in PEM.
pub fn rsa_from_components(
    modulus: &[u8],
    exponent: &[u8],
) -> Result<PublicKeyInfo, KeyIntakeError> {
    let modulus = strip_leading_zeros(modulus);
    let exponent = strip_leading_zeros(exponent);
    check_rsa(modulus, exponent, &pkcs1_der(modulus, exponent))
}

/// A P-256 or P-384 key given as its affine coordinates (a JWK's `x` and `y`), each of the
/// curve's full length, checked by the verifier as an uploaded PEM is.
pub fn ec_from_coordinates(
    kind: KeyKind,
    x: &[u8],
    y: &[u8],
) -> Result<PublicKeyInfo, KeyIntakeError> {
    let len = kind.coordinate_len();
    if !matches!(kind, KeyKind::P256 | KeyKind::P384) || x.len() != len || y.len() != len {
        return Err(KeyIntakeError::InvalidPoint {
            kind: kind.name(),
            reason: "a coordinate does not have the curve's length",
        });
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    check_ec(kind, point)
}

/// An Ed25519 key given as its 32 raw bytes (a JWK's `x`), checked by the verifier.
pub fn ed25519_from_raw(raw: &[u8]) -> Result<PublicKeyInfo, KeyIntakeError> {
    if raw.len() != KeyKind::Ed25519.coordinate_len() {
        return Err(KeyIntakeError::InvalidPoint {
            kind: KeyKind::Ed25519.name(),
            reason: "an Ed25519 public key is 32 bytes",
        });
    }
    if ParsedPublicKey::new(&signature::ED25519, raw).is_err() {
        return Err(KeyIntakeError::InvalidPoint {
            kind: KeyKind::Ed25519.name(),
            reason: "the verifier rejected it",
        });
    }
    Ok(PublicKeyInfo {
        kind: KeyKind::Ed25519,
        verifier_bytes: raw.to_vec(),
        bits: 256,
        thumbprint: okp_jwk_thumbprint("Ed25519", raw),
        certificate_not_after: None,
    })
}

#[derive(Clone, Copy)]
enum BlockKind {
    Spki,
    Pkcs1,
    Certificate,
}

fn malformed(structure: &'static str, problem: &'static str) -> KeyIntakeError {
    KeyIntakeError::MalformedDer { structure, problem }
}

/// Undoes the ways a paste arrives mangled (BEHAVIOUR B.8): JSON string escapes (`\n`, `\r\n`, `\t`,
/// `\/`) and CR line endings. Neither PEM armour nor base64 ever contains a backslash, so every
/// backslash is an escape and rewriting it cannot change a valid key.
fn unescape_paste(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('n' | 'r') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push(' ');
                }
                Some('/') => {
                    chars.next();
                    out.push('/');
                }
                // Left alone: base64 decoding will refuse it with a "malformed" error.
                _ => out.push('\\'),
            },
            '\r' => out.push('\n'),
            _ => out.push(c),
        }
    }
    out
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// Finds a private-key label on any BEGIN or END line, even if the framing around it is broken
/// (a truncated paste of a private key is still a leaked private key). Also catches PuTTY's
/// `.ppk` format, which is not PEM but is a common thing to paste by mistake.
fn private_key_label(text: &str) -> Option<String> {
    for marker in [BEGIN, END] {
        for (at, _) in text.match_indices(marker) {
            let after = &text[at + marker.len()..];
            let line_end = after.find(['\n', '-']).unwrap_or(after.len());
            let label = after[..line_end].trim();
            if label.to_ascii_uppercase().contains("PRIVATE") {
                return Some(display_label(label));
            }
        }
    }
    if text.contains("PuTTY-User-Key-File") {
        return Some("PuTTY private key".to_owned());
    }
    None
}

/// A label safe to put in a message: PEM labels are short upper-case words (RFC 7468 §2), and
/// anything else is replaced rather than echoed, because it could be pasted key material.
fn display_label(label: &str) -> String {
    let plausible = !label.is_empty()
        && label.len() <= 40
        && label
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == ' ' || c == '-');
    if plausible {
        label.to_owned()
    } else {
        "unrecognised label".to_owned()
    }
}

struct Block<'a> {
    label: &'a str,
    body: &'a str,
}

/// Splits the text into `-----BEGIN X-----` … `-----END X-----` blocks (RFC 7468 §2). Line
/// breaks are not required around the armour, which is what makes the one-line paste work; text
/// outside the blocks is ignored, as RFC 7468 §5.2 asks of parsers.
fn find_blocks(text: &str) -> Result<Vec<Block<'_>>, KeyIntakeError> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(BEGIN) {
        let after_begin = &rest[at + BEGIN.len()..];
        let label_len = after_begin
            .find(DASHES)
            .filter(|&len| !after_begin[..len].contains('\n'))
            .ok_or(KeyIntakeError::MalformedPem {
                reason: "a BEGIN line is not closed with -----",
            })?;
        let label = after_begin[..label_len].trim();
        let after_label = &after_begin[label_len + DASHES.len()..];

        let body_len = after_label.find(END).ok_or(KeyIntakeError::MalformedPem {
            reason: "the -----BEGIN line has no matching -----END line (truncated paste?)",
        })?;
        let body = &after_label[..body_len];
        if body.contains(BEGIN) {
            return Err(KeyIntakeError::MalformedPem {
                reason: "a -----BEGIN line has no matching -----END line",
            });
        }
        let after_end = &after_label[body_len + END.len()..];
        let end_label_len = after_end
            .find(DASHES)
            .filter(|&len| !after_end[..len].contains('\n'))
            .ok_or(KeyIntakeError::MalformedPem {
                reason: "the -----END line is not closed with -----",
            })?;
        if after_end[..end_label_len].trim() != label {
            return Err(KeyIntakeError::MalformedPem {
                reason: "the labels of the BEGIN and END lines differ",
            });
        }
        blocks.push(Block { label, body });
        rest = &after_end[end_label_len + DASHES.len()..];
    }
    Ok(blocks)
}

/// Strict base64 (standard alphabet, canonical padding) of the block body, whatever whitespace
/// the paste put inside it.
fn decode_body(body: &str) -> Result<Vec<u8>, KeyIntakeError> {
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(KeyIntakeError::MalformedPem {
            reason: "there is nothing between the BEGIN and END lines",
        });
    }
    STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| KeyIntakeError::MalformedPem {
            reason: "the base64 between the BEGIN and END lines is invalid or truncated",
        })
}

/// OIDs x509-parser's registry does not name: RFC 8410's X25519 and X448, SEC 2's secp256k1.
const OID_X25519: &str = "1.3.101.110";
const OID_X448: &str = "1.3.101.111";
const OID_SECP256K1: &str = "1.3.132.0.10";

/// Dispatches an SPKI on its algorithm (BEHAVIOUR B.8): rsaEncryption, id-ecPublicKey on
/// P-256 or P-384, Ed25519; every other type or curve is refused by name.
fn analyse_spki(
    spki: &SubjectPublicKeyInfo<'_>,
    structure: &'static str,
) -> Result<PublicKeyInfo, KeyIntakeError> {
    let algorithm = &spki.algorithm;
    let oid = &algorithm.algorithm;
    // A BIT STRING with unused bits is no DER key of any of our kinds.
    let whole_bytes = || {
        if spki.subject_public_key.unused_bits != 0 {
            return Err(malformed(
                structure,
                "the public key BIT STRING is not a whole number of bytes",
            ));
        }
        Ok(&*spki.subject_public_key.data)
    };
    if *oid == OID_PKCS1_RSAENCRYPTION {
        // RFC 3279 §2.3.1: the parameters of rsaEncryption are NULL. Absent is tolerated
        // because some encoders omit them; anything else is not a plain RSA key.
        if let Some(params) = &algorithm.parameters
            && params.as_null().is_err()
        {
            return Err(malformed(
                structure,
                "the rsaEncryption algorithm parameters are not NULL",
            ));
        }
        return analyse_pkcs1(whole_bytes()?, structure);
    }
    if *oid == OID_KEY_TYPE_EC_PUBLIC_KEY {
        // RFC 5480 §2.1.1: the parameters name the curve; implicit and explicit curves are
        // not allowed in PKIX, and we take only the two named ones the verifier knows.
        let curve = algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
        let kind = match curve {
            Some(c) if c == OID_EC_P256 => KeyKind::P256,
            Some(c) if c == OID_NIST_EC_P384 => KeyKind::P384,
            _ => {
                return Err(KeyIntakeError::UnsupportedKeyType {
                    key_type: key_type_name(spki),
                });
            }
        };
        let point = whole_bytes()?;
        let len = kind.coordinate_len();
        if point.first().is_some_and(|&b| b == 0x02 || b == 0x03) {
            return Err(KeyIntakeError::InvalidPoint {
                kind: kind.name(),
                reason: "the point is compressed; export the key with an uncompressed point \
                         (what openssl writes by default)",
            });
        }
        if point.len() != 1 + 2 * len || point[0] != 0x04 {
            return Err(KeyIntakeError::InvalidPoint {
                kind: kind.name(),
                reason: "the point is not an uncompressed point of the curve's length",
            });
        }
        return check_ec(kind, point.to_vec());
    }
    if *oid == OID_SIG_ED25519 {
        // RFC 8410 §3: the parameters MUST be absent.
        if algorithm.parameters.is_some() {
            return Err(malformed(
                structure,
                "the Ed25519 algorithm identifier has parameters (RFC 8410 says none)",
            ));
        }
        return ed25519_from_raw(whole_bytes()?);
    }
    Err(KeyIntakeError::UnsupportedKeyType {
        key_type: key_type_name(spki),
    })
}

/// Names a refused key for the message: a known type or curve by name, anything else by OID
/// (OIDs and curve names are public identifiers, not key material).
fn key_type_name(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let oid = &spki.algorithm.algorithm;
    if *oid == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        return match curve {
            Some(c) if c == OID_NIST_EC_P521 => "P-521".to_owned(),
            Some(c) if c.to_id_string() == OID_SECP256K1 => "secp256k1".to_owned(),
            Some(c) => format!("EC (curve OID {})", c.to_id_string()),
            None => "EC (explicit curve parameters)".to_owned(),
        };
    }
    let name = if *oid == OID_SIG_ED448 {
        "Ed448"
    } else if *oid == OID_KEY_TYPE_DSA {
        "DSA"
    } else if *oid == OID_PKCS1_RSASSAPSS {
        "RSASSA-PSS (OID 1.2.840.113549.1.1.10)"
    } else if oid.to_id_string() == OID_X25519 {
        "X25519 (key agreement, not signature)"
    } else if oid.to_id_string() == OID_X448 {
        "X448 (key agreement, not signature)"
    } else {
        return format!("algorithm OID {}", oid.to_id_string());
    };
    name.to_owned()
}

/// The verifier is the authority (BEHAVIOUR B.8): parsing the exact point we store runs
/// aws-lc's checks (on the curve, not the point at infinity).
fn check_ec(kind: KeyKind, point: Vec<u8>) -> Result<PublicKeyInfo, KeyIntakeError> {
    let (alg, crv, bits): (&'static signature::EcdsaVerificationAlgorithm, _, _) = match kind {
        KeyKind::P256 => (&signature::ECDSA_P256_SHA256_FIXED, "P-256", 256),
        KeyKind::P384 => (&signature::ECDSA_P384_SHA384_FIXED, "P-384", 384),
        KeyKind::Rsa | KeyKind::Ed25519 => {
            return Err(KeyIntakeError::InvalidPoint {
                kind: kind.name(),
                reason: "this is not an EC key",
            });
        }
    };
    if ParsedPublicKey::new(alg, &point).is_err() {
        return Err(KeyIntakeError::InvalidPoint {
            kind: kind.name(),
            reason: "the point is not on the curve",
        });
    }
    let len = kind.coordinate_len();
    let (x, y) = point[1..].split_at(len);
    Ok(PublicKeyInfo {
        kind,
        thumbprint: ec_jwk_thumbprint(crv, x, y),
        verifier_bytes: point,
        bits,
        certificate_not_after: None,
    })
}

/// Checks a PKCS#1 `RSAPublicKey` the way the token endpoint will use it and builds the record.
fn analyse_pkcs1(pkcs1: &[u8], structure: &'static str) -> Result<PublicKeyInfo, KeyIntakeError> {
    let (rest, key) = RSAPublicKey::from_der(pkcs1).map_err(|_| malformed(structure, NOT_DER))?;
    if !rest.is_empty() {
        return Err(malformed(structure, TRAILING));
    }
    // DER INTEGERs are two's complement: a set top bit with no 0x00 in front is negative.
    let negative = |raw: &[u8]| raw.first().is_some_and(|b| b & 0x80 != 0);
    if negative(key.modulus) || negative(key.exponent) {
        return Err(malformed(
            structure,
            "the RSA modulus or exponent is negative",
        ));
    }
    check_rsa(
        strip_leading_zeros(key.modulus),
        strip_leading_zeros(key.exponent),
        pkcs1,
    )
}

/// The size range and the verifier's acceptance of an RSA key, whatever form it came in;
/// `pkcs1` is what is stored and must be the DER of `modulus` and `exponent`.
fn check_rsa(
    modulus: &[u8],
    exponent: &[u8],
    pkcs1: &[u8],
) -> Result<PublicKeyInfo, KeyIntakeError> {
    let bits = bit_length(modulus);
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(KeyIntakeError::KeySize { bits });
    }

    // The verifier is the authority (BEHAVIOUR B.8: problems surface at upload, never at token
    // time). Parsing the exact bytes we store runs aws-lc's RSA_check_key: odd modulus, odd
    // exponent of at least 3 and at most 33 bits, strict DER. The algorithm only selects the
    // parser; the size range was enforced above.
    if ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, pkcs1).is_err() {
        return Err(KeyIntakeError::Unusable {
            reason: unusable_reason(modulus, exponent),
        });
    }

    Ok(PublicKeyInfo {
        kind: KeyKind::Rsa,
        verifier_bytes: pkcs1.to_vec(),
        thumbprint: rsa_jwk_thumbprint(modulus, exponent),
        bits,
        certificate_not_after: None,
    })
}

/// DER `RSAPublicKey` (RFC 8017 A.1.1) of a modulus and exponent given without leading zeros:
/// the bytes openssl writes for the same key, so a JWK and a PEM of one key store the same.
fn pkcs1_der(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_bigint_bytes(modulus, true);
            w.next().write_bigint_bytes(exponent, true);
        });
    })
}

/// Explains, as far as we can tell, why aws-lc refused a key (its error carries no detail).
fn unusable_reason(modulus: &[u8], exponent: &[u8]) -> &'static str {
    let odd = |v: &[u8]| v.last().is_some_and(|b| b & 1 == 1);
    if !odd(modulus) {
        "the modulus is even"
    } else if bit_length(exponent) < 2 {
        "the public exponent is smaller than 3"
    } else if !odd(exponent) {
        "the public exponent is even"
    } else if bit_length(exponent) > 33 {
        "the public exponent is larger than 2^33"
    } else {
        "the RSA verifier rejected it"
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Bit length of a big-endian integer given without leading zero bytes.
fn bit_length(be: &[u8]) -> usize {
    match be.first() {
        None => 0,
        Some(&top) => (be.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::KeyPair;
    use aws_lc_rs::signature::UnparsedPublicKey;
    use time::{Date, Month, Time};

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/keys/", $name))
        };
    }

    const RSA2048_PUB: &str = fixture!("rsa2048.pub.pem");
    const RSA2048_PKCS1_PUB: &str = fixture!("rsa2048.pkcs1.pub.pem");
    const RSA2048_CERT: &str = fixture!("rsa2048.cert.pem");
    const RSA2048_EXPIRED_CERT: &str = fixture!("rsa2048.expired.cert.pem");
    const RSA2048_KEY: &str = fixture!("rsa2048.key.pem");
    const RSA3072_CERT: &str = fixture!("rsa3072.cert.pem");
    const RSA3072_PUB: &str = fixture!("rsa3072.pub.pem");

    /// Every accepted-size fixture: (bits, SPKI, PKCS#1, certificate).
    const ACCEPTED: [(usize, &str, &str, &str); 3] = [
        (
            2048,
            fixture!("rsa2048.pub.pem"),
            fixture!("rsa2048.pkcs1.pub.pem"),
            fixture!("rsa2048.cert.pem"),
        ),
        (
            3072,
            fixture!("rsa3072.pub.pem"),
            fixture!("rsa3072.pkcs1.pub.pem"),
            fixture!("rsa3072.cert.pem"),
        ),
        (
            4096,
            fixture!("rsa4096.pub.pem"),
            fixture!("rsa4096.pkcs1.pub.pem"),
            fixture!("rsa4096.cert.pem"),
        ),
    ];

    fn accept(input: &str) -> PublicKeyInfo {
        match parse_public_key_pem(input) {
            Ok(info) => info,
            Err(e) => panic!("expected the key to be accepted, got: {e}"),
        }
    }

    fn modulus_of(input: &str) -> Vec<u8> {
        accept(input).rsa_components().unwrap().0.to_vec()
    }

    fn refuse(input: &str) -> KeyIntakeError {
        match parse_public_key_pem(input) {
            Ok(info) => panic!("expected a refusal, got a {} key", info.description()),
            Err(e) => e,
        }
    }

    /// The base64 body of a (well-formed, one-block) PEM fixture, whitespace removed.
    fn body_of(pem_text: &str) -> String {
        pem_text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    }

    fn pem_wrap(label: &str, der: &[u8]) -> String {
        let b64 = STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    /// Minimal DER writer for the hand-made keys below (independent of the code under test).
    fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let len_bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|&b| b == 0)
                .collect();
            out.push(0x80 | len_bytes.len() as u8);
            out.extend(len_bytes);
        }
        out.extend_from_slice(content);
        out
    }

    fn der_uint(be: &[u8]) -> Vec<u8> {
        let be = strip_leading_zeros(be);
        let mut content = Vec::new();
        if be.first().is_none_or(|b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend_from_slice(be);
        der_tlv(0x02, &content)
    }

    fn pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
        let mut seq = der_uint(n);
        seq.extend(der_uint(e));
        der_tlv(0x30, &seq)
    }

    fn rfc7638_example_n() -> Vec<u8> {
        // RFC 7638 §3.1's example modulus, split only to keep lines short.
        let n = concat!(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbb",
            "fAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3okn",
            "jhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-6",
            "5YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qM",
            "QvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4l",
            "Fd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJz",
            "KnqDKgw",
        );
        URL_SAFE_NO_PAD.decode(n).unwrap()
    }

    #[test]
    fn rfc_7638_example_key_has_the_published_thumbprint() {
        let n = rfc7638_example_n();
        let e = URL_SAFE_NO_PAD.decode("AQAB").unwrap();
        assert_eq!(
            rsa_jwk_thumbprint(&n, &e),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn thumbprint_ignores_leading_zero_bytes_of_modulus_and_exponent() {
        let n = rfc7638_example_n();
        let mut padded_n = vec![0, 0];
        padded_n.extend_from_slice(&n);
        assert_eq!(
            rsa_jwk_thumbprint(&padded_n, &[0, 1, 0, 1]),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn thumbprint_of_a_fresh_key_equals_one_computed_independently() {
        // n and e straight from openssl's PKCS#1 output, JSON assembled by hand.
        let der = STANDARD.decode(body_of(RSA2048_PKCS1_PUB)).unwrap();
        let (_, key) = RSAPublicKey::from_der(&der).unwrap();
        let n = key.modulus.strip_prefix(&[0u8]).unwrap_or(key.modulus);
        let e = key.exponent;
        let json = String::from("{\"e\":\"")
            + &URL_SAFE_NO_PAD.encode(e)
            + "\",\"kty\":\"RSA\",\"n\":\""
            + &URL_SAFE_NO_PAD.encode(n)
            + "\"}";
        let expected = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, json.as_bytes()));

        let info = accept(RSA2048_PUB);
        assert_eq!(info.thumbprint, expected);
        assert_eq!(info.thumbprint.len(), 43);
        assert_eq!(info.rsa_components(), Some((n, e)));
        // The SPKI's inner key is byte-for-byte what openssl writes as PKCS#1.
        assert_eq!(info.verifier_bytes, der);
    }

    #[test]
    fn rsa_keys_of_2048_3072_and_4096_bits_are_accepted_as_spki_pkcs1_and_certificate() {
        for (bits, spki, pkcs1, cert) in ACCEPTED {
            let from_spki = accept(spki);
            let from_pkcs1 = accept(pkcs1);
            let from_cert = accept(cert);
            for info in [&from_spki, &from_pkcs1, &from_cert] {
                assert_eq!(info.bits, bits);
                let (modulus, exponent) = info.rsa_components().unwrap();
                assert_eq!(info.kind, KeyKind::Rsa);
                assert_eq!(modulus.len(), bits / 8);
                assert_ne!(modulus[0], 0, "modulus keeps a leading zero");
                assert_eq!(exponent, [1, 0, 1]);
            }
            assert_eq!(from_spki.thumbprint, from_pkcs1.thumbprint);
            assert_eq!(from_spki.thumbprint, from_cert.thumbprint);
            assert_eq!(from_spki.verifier_bytes, from_pkcs1.verifier_bytes);
            assert_eq!(from_spki.verifier_bytes, from_cert.verifier_bytes);
            assert_eq!(from_spki.certificate_not_after, None);
            assert_eq!(from_pkcs1.certificate_not_after, None);
            assert!(from_cert.certificate_not_after.is_some());
        }
    }

    #[test]
    fn accepted_key_verifies_a_signature_made_with_its_private_key() {
        let private = pem::parse(RSA2048_KEY).unwrap();
        let key_pair = KeyPair::from_pkcs8(private.contents()).unwrap();
        let message = b"header.payload";
        let mut sig = vec![0u8; key_pair.public_modulus_len()];
        key_pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut sig,
            )
            .unwrap();

        for input in [RSA2048_PUB, RSA2048_PKCS1_PUB, RSA2048_CERT] {
            let info = accept(input);
            let verifier = UnparsedPublicKey::new(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                &info.verifier_bytes,
            );
            assert!(verifier.verify(message, &sig).is_ok());
            assert!(verifier.verify(b"header.tampered", &sig).is_err());
        }
    }

    #[test]
    fn rsa_keys_outside_2048_to_4096_bits_are_refused_with_their_size() {
        let cases = [
            (1024, fixture!("rsa1024.pub.pem")),
            (2047, fixture!("rsa2047.pub.pem")),
            (4098, fixture!("rsa4098.pub.pem")),
            (8192, fixture!("rsa8192.pub.pem")),
        ];
        for (bits, input) in cases {
            let err = refuse(input);
            assert_eq!(err, KeyIntakeError::KeySize { bits });
            assert_eq!(
                err.to_string(),
                format!("RSA key is {bits} bits; 2048 to 4096 are accepted")
            );
        }
    }

    #[test]
    fn other_key_types_and_curves_are_refused_naming_them() {
        let cases = [
            (fixture!("ec-p521.pub.pem"), "P-521"),
            (fixture!("ec-secp256k1.pub.pem"), "secp256k1"),
            (fixture!("ed448.pub.pem"), "Ed448"),
            (
                fixture!("x25519.pub.pem"),
                "X25519 (key agreement, not signature)",
            ),
            (
                fixture!("rsa-pss2048.pub.pem"),
                "RSASSA-PSS (OID 1.2.840.113549.1.1.10)",
            ),
        ];
        for (input, key_type) in cases {
            let err = refuse(input);
            assert_eq!(
                err,
                KeyIntakeError::UnsupportedKeyType {
                    key_type: key_type.to_owned()
                }
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "{key_type} keys are not accepted; accepted are RSA 2048–4096 bits, P-256, \
                     P-384 and Ed25519"
                )
            );
        }
    }

    /// (kind, bits, public key, certificate, private key): the EC and Ed25519 fixtures.
    const CURVES: [(KeyKind, usize, &str, &str, &str); 3] = [
        (
            KeyKind::P256,
            256,
            fixture!("ec-p256.pub.pem"),
            fixture!("ec-p256.cert.pem"),
            fixture!("ec-p256.key.pem"),
        ),
        (
            KeyKind::P384,
            384,
            fixture!("ec-p384.pub.pem"),
            fixture!("ec-p384.cert.pem"),
            fixture!("ec-p384.key.pem"),
        ),
        (
            KeyKind::Ed25519,
            256,
            fixture!("ed25519.pub.pem"),
            fixture!("ed25519.cert.pem"),
            fixture!("ed25519.key.pem"),
        ),
    ];

    /// The raw public key inside an SPKI fixture, read with x509-parser (not the code under
    /// test): the point for EC, the 32 bytes for Ed25519.
    fn spki_key_bits(pem_text: &str) -> Vec<u8> {
        let der = STANDARD.decode(body_of(pem_text)).unwrap();
        let (_, spki) = SubjectPublicKeyInfo::from_der(&der).unwrap();
        spki.subject_public_key.data.to_vec()
    }

    #[test]
    fn p256_p384_and_ed25519_keys_are_accepted_as_spki_and_certificate() {
        for (kind, bits, public, cert, _) in CURVES {
            let from_spki = accept(public);
            let from_cert = accept(cert);
            assert_eq!(from_spki.kind, kind);
            assert_eq!(from_spki.bits, bits);
            assert_eq!(from_spki.description().to_string(), kind.name());
            assert_eq!(from_spki.verifier_bytes, spki_key_bits(public));
            let expected_len = match kind {
                KeyKind::P256 => 65,
                KeyKind::P384 => 97,
                _ => 32,
            };
            assert_eq!(from_spki.verifier_bytes.len(), expected_len, "{kind:?}");
            assert_eq!(from_spki.certificate_not_after, None);
            assert_eq!(from_cert.verifier_bytes, from_spki.verifier_bytes);
            assert_eq!(from_cert.thumbprint, from_spki.thumbprint);
            assert!(from_cert.certificate_not_after.is_some());
            assert_eq!(from_spki.thumbprint.len(), 43);
        }
    }

    #[test]
    fn accepted_ec_and_ed25519_keys_verify_signatures_made_with_their_private_keys() {
        use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
        let message = b"header.payload";
        let rng = SystemRandom::new();
        for (kind, _, public, cert, private) in CURVES {
            let pkcs8 = pem::parse(private).unwrap();
            let (verify_alg, sig): (&'static dyn signature::VerificationAlgorithm, Vec<u8>) =
                match kind {
                    KeyKind::P256 | KeyKind::P384 => {
                        let (sign_alg, verify_alg) = if kind == KeyKind::P256 {
                            (
                                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                                &signature::ECDSA_P256_SHA256_FIXED,
                            )
                        } else {
                            (
                                &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                                &signature::ECDSA_P384_SHA384_FIXED,
                            )
                        };
                        let pair = EcdsaKeyPair::from_pkcs8(sign_alg, pkcs8.contents()).unwrap();
                        let sig = pair.sign(&rng, message).unwrap();
                        (verify_alg, sig.as_ref().to_vec())
                    }
                    _ => {
                        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.contents()).unwrap();
                        assert_eq!(pair.public_key().as_ref(), accept(public).verifier_bytes);
                        (&signature::ED25519, pair.sign(message).as_ref().to_vec())
                    }
                };
            for input in [public, cert] {
                let info = accept(input);
                let key = ParsedPublicKey::new(verify_alg, &info.verifier_bytes).unwrap();
                assert!(key.verify_sig(message, &sig).is_ok(), "{kind:?}");
                assert!(key.verify_sig(b"header.tampered", &sig).is_err());
            }
        }
    }

    #[test]
    fn rfc_8037_ed25519_example_key_has_the_published_thumbprint() {
        // RFC 8037 §A.2 and §A.3.
        let x = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap();
        assert_eq!(
            okp_jwk_thumbprint("Ed25519", &x),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        assert_eq!(
            ed25519_from_raw(&x).unwrap().thumbprint,
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn ec_thumbprints_equal_ones_computed_independently() {
        // The JSON assembled by hand from the point x509-parser reads, hashed here.
        for (kind, _, public, _, _) in &CURVES[..2] {
            let point = spki_key_bits(public);
            let len = (point.len() - 1) / 2;
            let json = String::from("{\"crv\":\"")
                + kind.name()
                + "\",\"kty\":\"EC\",\"x\":\""
                + &URL_SAFE_NO_PAD.encode(&point[1..1 + len])
                + "\",\"y\":\""
                + &URL_SAFE_NO_PAD.encode(&point[1 + len..])
                + "\"}";
            let expected = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, json.as_bytes()));
            assert_eq!(accept(public).thumbprint, expected, "{kind:?}");
        }
        // Pinned for the P-256 fixture, computed with Python's hashlib over the same JSON.
        assert_eq!(
            accept(fixture!("ec-p256.pub.pem")).thumbprint,
            P256_FIXTURE_THUMBPRINT
        );
    }

    const P256_FIXTURE_THUMBPRINT: &str = "brYk5ypgQuDI9AB_hLf6F24H86XLrJMaPzdRmmBUpPY";

    #[test]
    fn ec_points_off_the_curve_compressed_or_of_the_wrong_length_are_refused() {
        let public = fixture!("ec-p256.pub.pem");
        let der = STANDARD.decode(body_of(public)).unwrap();
        // The point is the last 65 bytes of the SPKI.
        let at = der.len() - 65;
        let mut off_curve = der.clone();
        *off_curve.last_mut().unwrap() ^= 1;
        assert_eq!(
            refuse(&pem_wrap("PUBLIC KEY", &off_curve)),
            KeyIntakeError::InvalidPoint {
                kind: "P-256",
                reason: "the point is not on the curve"
            }
        );
        let mut compressed = der.clone();
        compressed[at] = 0x02;
        let err = refuse(&pem_wrap("PUBLIC KEY", &compressed));
        assert!(err.to_string().contains("compressed"), "{err}");
        // A P-384-sized point under the P-256 OID.
        let p384_point = spki_key_bits(fixture!("ec-p384.pub.pem"));
        assert_eq!(
            ec_from_coordinates(KeyKind::P256, &p384_point[1..49], &p384_point[49..]),
            Err(KeyIntakeError::InvalidPoint {
                kind: "P-256",
                reason: "a coordinate does not have the curve's length"
            })
        );
        // The point at infinity and all-zero coordinates are not points of the curve.
        assert!(ec_from_coordinates(KeyKind::P256, &[0; 32], &[0; 32]).is_err());
        assert!(ed25519_from_raw(&[0; 31]).is_err());
    }

    #[test]
    fn ec_and_ed25519_private_keys_are_refused_as_leaked() {
        for (input, label) in [
            (fixture!("ec-p256.key.pem"), "PRIVATE KEY"),
            (fixture!("ec-p384.key.pem"), "PRIVATE KEY"),
            (fixture!("ed25519.key.pem"), "PRIVATE KEY"),
            (fixture!("ec-p256.sec1.key.pem"), "EC PRIVATE KEY"),
        ] {
            let err = refuse(input);
            assert_eq!(
                err,
                KeyIntakeError::PrivateKey {
                    label: label.to_owned()
                }
            );
            assert!(err.to_string().contains("leaked"));
        }
    }

    #[test]
    fn jwk_components_give_the_same_key_as_the_pem() {
        for (_, spki, _, _) in ACCEPTED {
            let from_pem = accept(spki);
            let (n, e) = from_pem.rsa_components().unwrap();
            let mut padded_n = vec![0];
            padded_n.extend_from_slice(n);
            assert_eq!(rsa_from_components(n, e).unwrap(), from_pem);
            assert_eq!(rsa_from_components(&padded_n, e).unwrap(), from_pem);
        }
        for (kind, _, public, _, _) in &CURVES[..2] {
            let from_pem = accept(public);
            let (x, y) = from_pem.ec_coordinates().unwrap();
            assert_eq!(ec_from_coordinates(*kind, x, y).unwrap(), from_pem);
        }
        let ed = accept(fixture!("ed25519.pub.pem"));
        assert_eq!(ed25519_from_raw(&ed.verifier_bytes).unwrap(), ed);
    }

    #[test]
    fn private_keys_of_any_kind_are_refused_as_leaked() {
        let cases = [
            (RSA2048_KEY, "PRIVATE KEY"),
            (fixture!("rsa2048.pkcs1.key.pem"), "RSA PRIVATE KEY"),
            (
                fixture!("rsa2048.encrypted.key.pem"),
                "ENCRYPTED PRIVATE KEY",
            ),
            (fixture!("ec-p256.key.pem"), "PRIVATE KEY"),
            (fixture!("ec-p256.sec1.key.pem"), "EC PRIVATE KEY"),
            // Detected from the label alone: the body here is not even base64.
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nnot base64 at all\n\
                 -----END OPENSSH PRIVATE KEY-----\n",
                "OPENSSH PRIVATE KEY",
            ),
            // Truncated paste: no END line, still a leaked private key.
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA",
                "RSA PRIVATE KEY",
            ),
            ("PuTTY-User-Key-File-3: ssh-rsa\n", "PuTTY private key"),
        ];
        for (input, label) in cases {
            let err = refuse(input);
            assert_eq!(
                err,
                KeyIntakeError::PrivateKey {
                    label: label.to_owned()
                }
            );
            let msg = err.to_string();
            for words in ["private key", "not stored", "leaked", "new key pair"] {
                assert!(msg.contains(words), "{msg:?} lacks {words:?}");
            }
        }

        // A certificate bundled with its private key: the private key wins over "two blocks".
        let bundle = format!("{RSA2048_CERT}{RSA2048_KEY}");
        assert!(matches!(refuse(&bundle), KeyIntakeError::PrivateKey { .. }));
        // A JSON-escaped private key is recognised too.
        let escaped = RSA2048_KEY.replace('\n', "\\n");
        assert!(matches!(
            refuse(&escaped),
            KeyIntakeError::PrivateKey { .. }
        ));
    }

    #[test]
    fn malformed_truncated_and_garbage_pem_is_refused_as_malformed() {
        let body = body_of(RSA2048_PUB);
        let wrap = |b: &str| format!("-----BEGIN PUBLIC KEY-----\n{b}\n-----END PUBLIC KEY-----\n");

        // Characters outside the base64 alphabet.
        let garbage = wrap(&format!("{}!!!{}", &body[..40], &body[40..]));
        assert!(matches!(
            refuse(&garbage),
            KeyIntakeError::MalformedPem { .. }
        ));
        // Truncated mid-quantum: the base64 itself is incomplete.
        let cut_b64 = wrap(&body[..body.len() - 3]);
        assert!(matches!(
            refuse(&cut_b64),
            KeyIntakeError::MalformedPem { .. }
        ));
        // Truncated at a 4-character boundary: base64 is fine, the DER is not.
        let cut_der = wrap(&body[..body.len() - 64]);
        assert_eq!(
            refuse(&cut_der),
            KeyIntakeError::MalformedDer {
                structure: STRUCT_SPKI,
                problem: NOT_DER
            }
        );
        // A truncated certificate and a truncated PKCS#1 key.
        let cert_body = body_of(RSA2048_CERT);
        let cut_cert = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
            &cert_body[..cert_body.len() / 2 / 4 * 4]
        );
        assert!(matches!(
            refuse(&cut_cert),
            KeyIntakeError::MalformedDer {
                structure: STRUCT_CERT,
                ..
            }
        ));
        let pkcs1_body = body_of(RSA2048_PKCS1_PUB);
        let cut_pkcs1 = format!(
            "-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----",
            &pkcs1_body[..200]
        );
        assert!(matches!(
            refuse(&cut_pkcs1),
            KeyIntakeError::MalformedDer {
                structure: STRUCT_PKCS1,
                ..
            }
        ));
        // Valid base64 of something that is not DER at all.
        let not_der = wrap(&STANDARD.encode(b"this is not a public key, just text"));
        assert!(matches!(
            refuse(&not_der),
            KeyIntakeError::MalformedDer { .. }
        ));
        // Trailing bytes after a valid SPKI.
        let mut der = STANDARD.decode(&body).unwrap();
        der.extend_from_slice(&[0, 0]);
        assert_eq!(
            refuse(&pem_wrap("PUBLIC KEY", &der)),
            KeyIntakeError::MalformedDer {
                structure: STRUCT_SPKI,
                problem: TRAILING
            }
        );
        // Non-zero padding bits: strict decoding refuses what lenient decoders accept.
        assert!(matches!(
            refuse(&wrap("AQF=")),
            KeyIntakeError::MalformedPem { .. }
        ));
        // Trailing bytes after a valid PKCS#1 key.
        let mut pkcs1 = STANDARD.decode(body_of(RSA2048_PKCS1_PUB)).unwrap();
        pkcs1.push(0);
        assert_eq!(
            refuse(&pem_wrap("RSA PUBLIC KEY", &pkcs1)),
            KeyIntakeError::MalformedDer {
                structure: STRUCT_PKCS1,
                problem: TRAILING
            }
        );
        // Broken framing, each named.
        let framing = [
            (
                format!("-----BEGIN PUBLIC KEY-----\n{body}\n"),
                "the -----BEGIN line has no matching -----END line (truncated paste?)",
            ),
            (
                format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END RSA PUBLIC KEY-----\n"),
                "the labels of the BEGIN and END lines differ",
            ),
            (
                format!("-----BEGIN PUBLIC KEY\n{body}\n-----END PUBLIC KEY-----\n"),
                "a BEGIN line is not closed with -----",
            ),
            (
                format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY\n"),
                "the -----END line is not closed with -----",
            ),
            (
                "-----BEGIN PUBLIC KEY-----\n\n-----END PUBLIC KEY-----\n".to_owned(),
                "there is nothing between the BEGIN and END lines",
            ),
            (
                format!(
                    "-----BEGIN PUBLIC KEY-----\n-----BEGIN PUBLIC KEY-----\n{body}\n\
                     -----END PUBLIC KEY-----\n"
                ),
                "a -----BEGIN line has no matching -----END line",
            ),
        ];
        for (input, reason) in framing {
            assert_eq!(
                refuse(&input),
                KeyIntakeError::MalformedPem { reason },
                "{input}"
            );
        }
    }

    #[test]
    fn input_without_a_pem_block_is_refused() {
        assert_eq!(refuse(""), KeyIntakeError::Empty);
        assert_eq!(refuse(" \n\t\r\n "), KeyIntakeError::Empty);
        assert_eq!(refuse("hello"), KeyIntakeError::NoPemBlock);
        // Bare base64 without the armour lines.
        assert_eq!(refuse(&body_of(RSA2048_PUB)), KeyIntakeError::NoPemBlock);
        // An SSH public key is a different format.
        assert_eq!(
            refuse("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ user@host"),
            KeyIntakeError::NoPemBlock
        );
    }

    #[test]
    fn two_pem_blocks_are_refused() {
        let chain = format!("{RSA2048_CERT}{RSA3072_CERT}");
        let err = refuse(&chain);
        assert_eq!(err, KeyIntakeError::MultiplePemBlocks { count: 2 });
        assert!(err.to_string().contains("found 2 PEM blocks"));

        let two_keys = format!("{RSA2048_PUB}\n{RSA3072_PUB}");
        assert_eq!(
            refuse(&two_keys),
            KeyIntakeError::MultiplePemBlocks { count: 2 }
        );
        let same_twice = format!("{RSA2048_PUB}{RSA2048_PUB}{RSA2048_PUB}");
        assert_eq!(
            refuse(&same_twice),
            KeyIntakeError::MultiplePemBlocks { count: 3 }
        );
    }

    #[test]
    fn other_pem_labels_are_refused_by_name() {
        let body = body_of(RSA2048_PUB);
        for label in ["CERTIFICATE REQUEST", "X509 CRL", "TRUSTED CERTIFICATE"] {
            let input = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
            let err = refuse(&input);
            assert_eq!(
                err,
                KeyIntakeError::UnsupportedBlock {
                    label: label.to_owned()
                }
            );
            assert!(err.to_string().contains(label));
        }
        // A label that could be pasted material is not echoed.
        let sneaky = format!(
            "-----BEGIN {}-----\n{body}\n-----END {}-----\n",
            &body[..30],
            &body[..30]
        );
        assert_eq!(
            refuse(&sneaky),
            KeyIntakeError::UnsupportedBlock {
                label: "unrecognised label".to_owned()
            }
        );
    }

    #[test]
    fn pasted_variants_are_accepted_and_give_the_same_thumbprint() {
        let reference = accept(RSA2048_PUB);
        let body = body_of(RSA2048_PUB);
        let one_line_body: Vec<&str> = RSA2048_PUB.lines().collect();
        let variants = [
            ("CRLF", RSA2048_PUB.replace('\n', "\r\n")),
            ("JSON-escaped \\n", RSA2048_PUB.replace('\n', "\\n")),
            ("JSON-escaped \\r\\n", RSA2048_PUB.replace('\n', "\\r\\n")),
            (
                "JSON-escaped \\n and \\/",
                RSA2048_PUB.replace('\n', "\\n").replace('/', "\\/"),
            ),
            (
                "JSON string with quotes",
                format!("\"{}\"", RSA2048_PUB.replace('\n', "\\n")),
            ),
            (
                "indented",
                RSA2048_PUB
                    .lines()
                    .map(|l| format!("    {l}\n"))
                    .collect::<String>(),
            ),
            ("tab-indented", RSA2048_PUB.replace('\n', "\n\t")),
            ("one line with spaces", one_line_body.join(" ")),
            (
                "one line, body unbroken",
                format!("-----BEGIN PUBLIC KEY-----{body}-----END PUBLIC KEY-----"),
            ),
            (
                "surrounding whitespace",
                format!("\n\n   {RSA2048_PUB}  \n\n"),
            ),
            (
                "explanatory text around",
                format!("Here is my key:\n{RSA2048_PUB}\nThanks!"),
            ),
            ("no final newline", RSA2048_PUB.trim_end().to_owned()),
        ];
        for (what, input) in variants {
            match parse_public_key_pem(&input) {
                Ok(info) => assert_eq!(info, reference, "{what}"),
                Err(e) => panic!("{what}: refused with {e}"),
            }
        }
        let cert_crlf = accept(&RSA2048_CERT.replace('\n', "\r\n"));
        assert_eq!(cert_crlf.thumbprint, reference.thumbprint);
    }

    #[test]
    fn certificate_not_after_is_extracted_exactly() {
        // `openssl x509 -noout -enddate`: notAfter=Nov 25 05:16:21 2036 GMT
        let expected = Date::from_calendar_date(2036, Month::November, 25)
            .unwrap()
            .with_time(Time::from_hms(5, 16, 21).unwrap())
            .assume_utc();
        assert_eq!(accept(RSA2048_CERT).certificate_not_after, Some(expected));

        // An expired certificate is accepted (expiry is the caller's policy) with its real date.
        let expired = accept(RSA2048_EXPIRED_CERT);
        let jan_2020 = Date::from_calendar_date(2020, Month::January, 1)
            .unwrap()
            .midnight()
            .assume_utc();
        assert_eq!(expired.certificate_not_after, Some(jan_2020));
        assert_eq!(expired.thumbprint, accept(RSA2048_PUB).thumbprint);
    }

    #[test]
    fn input_over_max_pem_len_is_refused_before_parsing() {
        let pad = |input: &str, total: usize| format!("{input}{}", " ".repeat(total - input.len()));
        assert!(parse_public_key_pem(&pad(RSA2048_PUB, MAX_PEM_LEN)).is_ok());

        let err = refuse(&pad(RSA2048_PUB, MAX_PEM_LEN + 1));
        assert_eq!(
            err,
            KeyIntakeError::TooLarge {
                len: MAX_PEM_LEN + 1
            }
        );
        assert_eq!(
            err.to_string(),
            "the key is 16385 bytes long; at most 16384 bytes are accepted"
        );
        // Not even the private-key scan runs on an oversize input.
        assert!(matches!(
            refuse(&pad(RSA2048_KEY, MAX_PEM_LEN + 1)),
            KeyIntakeError::TooLarge { .. }
        ));
    }

    #[test]
    fn keys_the_verifier_cannot_use_are_refused_at_upload() {
        let spki = accept(RSA2048_PUB);
        let n = &spki.rsa_components().unwrap().0.to_vec();
        let mut even_n = n.clone();
        *even_n.last_mut().unwrap() &= 0xfe;
        let cases: [(&[u8], &[u8], &str); 5] = [
            (n, &[1], "the public exponent is smaller than 3"),
            (n, &[1, 0, 0], "the public exponent is even"),
            (n, &[2], "the public exponent is even"),
            (
                n,
                &[1, 0, 0, 0, 0, 1],
                "the public exponent is larger than 2^33",
            ),
            (&even_n, &[1, 0, 1], "the modulus is even"),
        ];
        for (n, e, reason) in cases {
            let input = pem_wrap("RSA PUBLIC KEY", &pkcs1_der(n, e));
            let err = refuse(&input);
            assert_eq!(err, KeyIntakeError::Unusable { reason });
            assert!(err.to_string().contains("verifier cannot use"));
        }
        // The hand-made encoder itself round-trips a good key, so the refusals above are about
        // the values, not the encoding.
        let good = pem_wrap("RSA PUBLIC KEY", &pkcs1_der(n, &[1, 0, 1]));
        assert_eq!(accept(&good), spki);
    }

    #[test]
    fn negative_der_integers_are_refused_as_malformed() {
        let n = modulus_of(RSA2048_PUB);
        // Top bit set and no 0x00 in front: DER reads this modulus as negative.
        let mut seq = der_tlv(0x02, &n);
        seq.extend(der_uint(&[1, 0, 1]));
        let input = pem_wrap("RSA PUBLIC KEY", &der_tlv(0x30, &seq));
        assert_eq!(
            refuse(&input),
            KeyIntakeError::MalformedDer {
                structure: STRUCT_PKCS1,
                problem: "the RSA modulus or exponent is negative"
            }
        );
    }

    #[test]
    fn spki_algorithm_parameters_and_bit_string_are_checked() {
        let pkcs1 = accept(RSA2048_PKCS1_PUB).verifier_bytes;
        // 1.2.840.113549.1.1.1
        let rsa_oid = der_tlv(
            0x06,
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
        );
        let spki = |params: &[u8], unused_bits: u8| {
            let mut alg = rsa_oid.clone();
            alg.extend_from_slice(params);
            let mut bits = vec![unused_bits];
            bits.extend_from_slice(&pkcs1);
            let mut seq = der_tlv(0x30, &alg);
            seq.extend(der_tlv(0x03, &bits));
            pem_wrap("PUBLIC KEY", &der_tlv(0x30, &seq))
        };
        let null = der_tlv(0x05, &[]);
        // The canonical form (NULL parameters) is what openssl writes.
        assert_eq!(
            spki(&null, 0),
            pem_wrap(
                "PUBLIC KEY",
                &STANDARD.decode(body_of(RSA2048_PUB)).unwrap()
            )
        );
        // Absent parameters are tolerated (some encoders omit them).
        assert_eq!(accept(&spki(&[], 0)).verifier_bytes, pkcs1);
        // Anything but NULL is not plain rsaEncryption.
        let err = refuse(&spki(&rsa_oid, 0));
        assert_eq!(
            err,
            KeyIntakeError::MalformedDer {
                structure: STRUCT_SPKI,
                problem: "the rsaEncryption algorithm parameters are not NULL"
            }
        );
        // A BIT STRING with unused bits is not a DER RSAPublicKey. (The key must end in an even
        // byte here, or the DER parser refuses the set padding bit before our check is reached.)
        let even_tail = pkcs1_der(&modulus_of(RSA2048_PUB), &[1, 0, 2]);
        let mut bits = vec![1];
        bits.extend_from_slice(&even_tail);
        let mut alg = rsa_oid.clone();
        alg.extend_from_slice(&null);
        let mut seq = der_tlv(0x30, &alg);
        seq.extend(der_tlv(0x03, &bits));
        assert_eq!(
            refuse(&pem_wrap("PUBLIC KEY", &der_tlv(0x30, &seq))),
            KeyIntakeError::MalformedDer {
                structure: STRUCT_SPKI,
                problem: "the public key BIT STRING is not a whole number of bytes"
            }
        );
        assert!(matches!(
            refuse(&spki(&null, 1)),
            KeyIntakeError::MalformedDer {
                structure: STRUCT_SPKI,
                ..
            }
        ));
    }

    #[test]
    fn error_messages_never_echo_key_material() {
        let body = body_of(RSA2048_PUB);
        let key_body = body_of(RSA2048_KEY);
        let inputs = [
            format!("-----BEGIN PUBLIC KEY-----\n{body}!\n-----END PUBLIC KEY-----"),
            format!(
                "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
                &body[..300]
            ),
            format!("-----BEGIN {body}-----\n{body}\n-----END {body}-----"),
            format!("-----BEGIN X-----\n{body}\n-----END Y-----"),
            RSA2048_KEY.to_owned(),
            format!("-----BEGIN {key_body} PRIVATE KEY-----"),
            body.clone(),
        ];
        for input in inputs {
            let msg = refuse(&input).to_string();
            for secret in [&body, &key_body] {
                for window in secret.as_bytes().windows(12).step_by(7) {
                    let window = std::str::from_utf8(window).unwrap();
                    assert!(!msg.contains(window), "{msg:?} echoes {window:?}");
                }
            }
        }
    }

    #[test]
    fn mangled_input_of_any_shape_never_panics() {
        // Deterministic xorshift so a failure reproduces.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: Vec<char> = "-\\ \n\r\tAZaz09+/=éB€GINEDPUBLICKY".chars().collect();

        // Every prefix of a certificate, as text.
        for cut in 0..=RSA2048_CERT.len() {
            let _ = parse_public_key_pem(&RSA2048_CERT[..cut]);
        }
        // Random character edits of the PEM text.
        for _ in 0..1500 {
            let mut chars: Vec<char> = RSA2048_PUB.chars().collect();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % (chars.len() + 1);
                let c = alphabet[(next() as usize) % alphabet.len()];
                match next() % 3 {
                    0 if at < chars.len() => chars[at] = c,
                    1 if at < chars.len() => {
                        chars.remove(at);
                    }
                    _ => chars.insert(at, c),
                }
            }
            let _ = parse_public_key_pem(&chars.into_iter().collect::<String>());
        }
        // Random byte flips inside the DER, re-armoured so they reach the ASN.1 parsers.
        let cert_der = STANDARD.decode(body_of(RSA2048_CERT)).unwrap();
        let spki_der = STANDARD.decode(body_of(RSA2048_PUB)).unwrap();
        for _ in 0..1500 {
            for (label, der) in [("CERTIFICATE", &cert_der), ("PUBLIC KEY", &spki_der)] {
                let mut der = der.clone();
                for _ in 0..(next() % 3 + 1) {
                    let at = (next() as usize) % der.len();
                    der[at] ^= 1 << (next() % 8);
                }
                let _ = parse_public_key_pem(&pem_wrap(label, &der));
            }
        }
    }
}
