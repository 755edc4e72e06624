//! The application's RSA private key: reading it from PEM and signing with it.
//!
//! Accepts exactly what `openssl genrsa` and `signet keygen` write: an unencrypted PKCS#8
//! (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) RSA key. Everything else is refused
//! with a message that says what was found and what to do instead; no message contains key
//! material.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;

use crate::alg::Alg;

/// Largest PEM file read: a 4096-bit PKCS#1 key with a certificate beside it is under 8 KiB; the
/// cap keeps a wrong `--key` path (a log file, a binary) from being scanned in full.
pub const MAX_PEM_LEN: usize = 64 * 1024;

/// Why a private key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key file is {len} bytes long; a PEM private key is at most {MAX_PEM_LEN} bytes")]
    TooLarge { len: usize },

    #[error("the key is empty")]
    Empty,

    #[error(
        "no PEM block found; expected an RSA private key (-----BEGIN PRIVATE KEY----- or \
         -----BEGIN RSA PRIVATE KEY-----)"
    )]
    NoPemBlock,

    #[error("malformed PEM: {reason}")]
    MalformedPem { reason: String },

    #[error(
        "this is a public key ({label}); signing needs the private key \
         (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)"
    )]
    PublicKey { label: String },

    #[error(
        "this is a certificate; signing needs the private key that belongs to it \
         (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)"
    )]
    Certificate,

    #[error(
        "the private key is encrypted with a passphrase; write an unencrypted copy for the \
         service (openssl pkey -in KEY -out key.plain.pem) and protect the file instead"
    )]
    Encrypted,

    #[error("only RSA private keys can sign RS256/RS384/PS256 assertions; this key is {key_type}")]
    NotRsa { key_type: &'static str },

    #[error("found {count} private keys; the file must hold exactly one")]
    SeveralKeys { count: usize },

    #[error(
        "unsupported PEM block \"{label}\"; expected PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY \
         (PKCS#1)"
    )]
    UnsupportedBlock { label: String },

    #[error(
        "the RSA private key cannot be used ({reason}); keys of 2048 to 4096 bits made by \
         `signet keygen` or `openssl genrsa` work"
    )]
    Rejected { reason: &'static str },
}

/// An RSA private key ready to sign. `Debug` shows only the size.
pub struct PrivateKey {
    pair: KeyPair,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Reads a PKCS#8 or PKCS#1 RSA private key from PEM text. A file that also holds
    /// certificates or a public key is fine as long as it holds exactly one private key.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        if text.len() > MAX_PEM_LEN {
            return Err(KeyError::TooLarge { len: text.len() });
        }
        if text.trim().is_empty() {
            return Err(KeyError::Empty);
        }
        // An encrypted PKCS#1 key looks like a plain one but for its headers; say so before
        // aws-lc reports it as merely "invalid".
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
            "PRIVATE KEY" => {
                let algorithm =
                    pkcs8_algorithm(block.contents()).ok_or_else(|| KeyError::MalformedPem {
                        reason: "the PRIVATE KEY block is not a valid PKCS#8 structure".into(),
                    })?;
                if algorithm != OID_RSA_ENCRYPTION {
                    return Err(KeyError::NotRsa {
                        key_type: key_type_of(algorithm),
                    });
                }
                Self::from_pkcs8_der(block.contents())
            }
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(block.contents()),
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
            "EC PRIVATE KEY" => Err(KeyError::NotRsa { key_type: "EC" }),
            "DSA PRIVATE KEY" => Err(KeyError::NotRsa { key_type: "DSA" }),
            "OPENSSH PRIVATE KEY" => Err(KeyError::UnsupportedBlock {
                label: "OPENSSH PRIVATE KEY (convert it: ssh-keygen -p -m PKCS8 -f KEY)".into(),
            }),
            other => Err(KeyError::UnsupportedBlock {
                label: printable(other),
            }),
        }
    }

    /// Reads an unencrypted PKCS#8 `PrivateKeyInfo` (DER).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        KeyPair::from_pkcs8(der)
            .map(|pair| Self { pair })
            .map_err(|e| KeyError::Rejected {
                reason: e.description_(),
            })
    }

    /// Reads a PKCS#1 `RSAPrivateKey` (DER).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        KeyPair::from_der(der)
            .map(|pair| Self { pair })
            .map_err(|e| KeyError::Rejected {
                reason: e.description_(),
            })
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.pair.public_modulus_len() * 8
    }

    /// Signs `message` with `alg`'s padding and digest.
    pub(crate) fn sign(&self, alg: Alg, message: &[u8]) -> Option<Vec<u8>> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                alg.encoding(),
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .ok()?;
        Some(signature)
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

fn key_type_of(oid: &[u8]) -> &'static str {
    match oid {
        OID_RSASSA_PSS => {
            "an RSASSA-PSS-restricted RSA key (export it as a plain rsaEncryption key)"
        }
        OID_EC_PUBLIC_KEY => "EC",
        OID_DSA => "DSA",
        OID_X25519 => "X25519",
        OID_ED25519 => "Ed25519",
        OID_ED448 => "Ed448",
        _ => "of an unknown algorithm",
    }
}

/// The algorithm OID of a PKCS#8 `PrivateKeyInfo`:
/// `SEQUENCE { INTEGER version, SEQUENCE { OID algorithm, … }, OCTET STRING key, … }`.
/// Read here so an EC or Ed25519 key is named as such instead of being "invalid".
fn pkcs8_algorithm(der: &[u8]) -> Option<&[u8]> {
    let (info, _) = der_element(der, 0x30)?;
    let (_version, rest) = der_element(info, 0x02)?;
    let (algorithm, _) = der_element(rest, 0x30)?;
    let (oid, _) = der_element(algorithm, 0x06)?;
    Some(oid)
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
mod tests {
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

    #[test]
    fn refuses_ec_keys_in_both_encodings() {
        assert_eq!(
            PrivateKey::from_pem(EC_PKCS8).unwrap_err(),
            KeyError::NotRsa { key_type: "EC" }
        );
        assert_eq!(
            PrivateKey::from_pem(EC_SEC1).unwrap_err(),
            KeyError::NotRsa { key_type: "EC" }
        );
    }

    #[test]
    fn refuses_an_ed25519_key() {
        // RFC 8410 §10.3's example private key.
        let ed = "-----BEGIN PRIVATE KEY-----\n\
                  MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
                  -----END PRIVATE KEY-----\n";
        assert_eq!(
            PrivateKey::from_pem(ed).unwrap_err(),
            KeyError::NotRsa {
                key_type: "Ed25519"
            }
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
    }
}
