//! What `signet keygen` makes: a key pair of the type the algorithm needs (RSA, EC P-256, EC P-384
//! or Ed25519), its PEM encodings, an optional self-signed certificate, the public key as a JWK
//! for a `jwks.json`, and the kid the server will compute for it. No file I/O here.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
};
use clap::ValueEnum;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    PKCS_ECDSA_P384_SHA384, PKCS_ED25519, PKCS_RSA_SHA256, SignatureAlgorithm,
};
use serde_json::{Value, json};
use signet_client::{Alg, KeyType, PrivateKey};
use time::{Duration, OffsetDateTime};

use crate::crypto::public_key::parse_public_key_pem;

/// The modulus sizes the server accepts (BEHAVIOUR A.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyBits {
    #[value(name = "2048")]
    B2048,
    #[value(name = "3072")]
    B3072,
    #[value(name = "4096")]
    B4096,
}

impl KeyBits {
    pub fn bits(self) -> usize {
        match self {
            Self::B2048 => 2048,
            Self::B3072 => 3072,
            Self::B4096 => 4096,
        }
    }

    fn size(self) -> KeySize {
        match self {
            Self::B2048 => KeySize::Rsa2048,
            Self::B3072 => KeySize::Rsa3072,
            Self::B4096 => KeySize::Rsa4096,
        }
    }
}

/// A self-signed certificate to make for the key.
#[derive(Debug, Clone)]
pub struct CertificateSpec {
    pub subject: DistinguishedName,
    pub days: u32,
}

pub struct KeyMaterial {
    pub key_type: KeyType,
    /// Modulus or curve size.
    pub bits: usize,
    /// PKCS#8 PEM. Secret: written once to a 0600 file, never printed.
    pub private_pem: String,
    /// SPKI PEM.
    pub public_pem: String,
    pub certificate_pem: Option<String>,
    pub not_after: Option<OffsetDateTime>,
    /// RFC 7638 thumbprint of the public key: the kid the server gives the credential.
    pub kid: String,
    /// The public key as a JWK with `kid`, `alg` and `use: sig`, for a JWKS.
    pub jwk: Value,
}

/// Makes a key pair for `alg`; `bits` is the RSA modulus size and is not read for other types.
pub fn generate(
    alg: Alg,
    bits: KeyBits,
    certificate: Option<&CertificateSpec>,
    now: OffsetDateTime,
) -> Result<KeyMaterial, String> {
    let key_type = alg.key_type();
    let failed = |_| format!("{key_type} key generation failed");
    // PKCS#8 v1 for every type: what OpenSSL writes, and what every PKCS#8 reader takes (v2
    // Ed25519 keys, with the public key inside, are refused by some).
    let pkcs8: Vec<u8> = match key_type {
        KeyType::Rsa => KeyPair::generate(bits.size())
            .map_err(failed)?
            .as_der()
            .map_err(failed)?
            .as_ref()
            .to_vec(),
        KeyType::EcP256 | KeyType::EcP384 => {
            let signing = if key_type == KeyType::EcP256 {
                &ECDSA_P256_SHA256_FIXED_SIGNING
            } else {
                &ECDSA_P384_SHA384_FIXED_SIGNING
            };
            EcdsaKeyPair::generate(signing)
                .map_err(failed)?
                .to_pkcs8v1()
                .map_err(failed)?
                .as_ref()
                .to_vec()
        }
        KeyType::Ed25519 => Ed25519KeyPair::generate()
            .map_err(failed)?
            .to_pkcs8v1()
            .map_err(failed)?
            .as_ref()
            .to_vec(),
    };
    // Read back with the library the application signs with: the key written is one it takes.
    let key = PrivateKey::from_pkcs8_der(&pkcs8)
        .map_err(|e| format!("the generated key cannot sign: {e}"))?;
    let private_pem = encode_pem("PRIVATE KEY", &pkcs8);
    let public_pem = encode_pem("PUBLIC KEY", &key.public_key_der());
    let (certificate_pem, not_after) = match certificate {
        Some(spec) => {
            let (pem, not_after) = self_signed(&private_pem, key_type, spec, now)?;
            (Some(pem), Some(not_after))
        }
        None => (None, None),
    };
    let kid = key.thumbprint();
    // Run what we are about to upload through the server's intake too: a key it would refuse
    // never leaves this command, and the kid printed is the one the server will show.
    let upload = certificate_pem.as_deref().unwrap_or(&public_pem);
    let info = parse_public_key_pem(upload)
        .map_err(|e| format!("the generated key is not accepted by signet: {e}"))?;
    if info.thumbprint != kid {
        return Err(format!(
            "the server computes kid {} for this key, the client {kid}",
            info.thumbprint
        ));
    }
    let mut jwk = key.public_jwk();
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(alg.as_str());
    jwk["use"] = json!("sig");
    Ok(KeyMaterial {
        key_type,
        bits: key.bits(),
        private_pem,
        public_pem,
        certificate_pem,
        not_after,
        kid,
        jwk,
    })
}

fn encode_pem(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

fn self_signed(
    private_pem: &str,
    key_type: KeyType,
    spec: &CertificateSpec,
    now: OffsetDateTime,
) -> Result<(String, OffsetDateTime), String> {
    // The certificate is signed by its own key, with that key type's usual algorithm.
    let algorithm: &'static SignatureAlgorithm = match key_type {
        KeyType::Rsa => &PKCS_RSA_SHA256,
        KeyType::EcP256 => &PKCS_ECDSA_P256_SHA256,
        KeyType::EcP384 => &PKCS_ECDSA_P384_SHA384,
        KeyType::Ed25519 => &PKCS_ED25519,
    };
    let signing_key = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(private_pem, algorithm)
        .map_err(|e| format!("loading the key for the certificate failed: {e}"))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = spec.subject.clone();
    // Backdated a little so a peer whose clock lags slightly does not see a "future" certificate.
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(i64::from(spec.days));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = params
        .self_signed(&signing_key)
        .map_err(|e| format!("making the certificate failed: {e}"))?;
    Ok((cert.pem(), params.not_after))
}

/// Parses a subject in either common spelling: `CN=app,O=Example` or OpenSSL's `/CN=app/O=Example`.
/// Attributes: CN, O, OU, C, L, ST.
pub fn parse_subject(text: &str) -> Result<DistinguishedName, String> {
    let text = text.trim();
    let parts: Vec<&str> = match text.strip_prefix('/') {
        Some(rest) => rest.split('/').collect(),
        None => text.split(',').collect(),
    };
    let mut name = DistinguishedName::new();
    for part in parts {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("subject part \"{}\" is not KEY=VALUE", part.trim()))?;
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("subject attribute {} has no value", key.trim()));
        }
        let ty = match key.trim().to_ascii_uppercase().as_str() {
            "CN" => DnType::CommonName,
            "O" => DnType::OrganizationName,
            "OU" => DnType::OrganizationalUnitName,
            "C" => DnType::CountryName,
            "L" => DnType::LocalityName,
            "ST" => DnType::StateOrProvinceName,
            other => {
                return Err(format!(
                    "subject attribute \"{other}\" is not supported; use CN, O, OU, C, L or ST"
                ));
            }
        };
        name.push(ty, value);
    }
    if name.get(&DnType::CommonName).is_none() {
        return Err("the subject needs a CN, e.g. CN=my-service".into());
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn makes_a_pkcs8_key_whose_kid_is_the_thumbprint_of_its_public_key() {
        let m = generate(Alg::RS256, KeyBits::B2048, None, OffsetDateTime::now_utc()).unwrap();
        assert!(m.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(m.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(!m.private_pem.contains('\r'));
        let info = parse_public_key_pem(&m.public_pem).unwrap();
        assert_eq!(info.bits, 2048);
        assert_eq!(m.kid, info.thumbprint);
        assert_eq!(m.kid.len(), 43);
        // The private half is the one signet-client signs with.
        assert_eq!(PrivateKey::from_pem(&m.private_pem).unwrap().bits(), 2048);
        assert!(m.certificate_pem.is_none());
    }

    #[test]
    fn makes_a_certificate_for_the_same_key_with_the_asked_validity() {
        let now = datetime!(2026-11-28 10:00:00 UTC);
        let spec = CertificateSpec {
            subject: parse_subject("CN=reports-job,O=Example").unwrap(),
            days: 30,
        };
        let m = generate(Alg::PS256, KeyBits::B2048, Some(&spec), now).unwrap();
        let cert = parse_public_key_pem(m.certificate_pem.as_deref().unwrap()).unwrap();
        let public = parse_public_key_pem(&m.public_pem).unwrap();
        assert_eq!(
            cert.thumbprint, public.thumbprint,
            "the certificate holds the same key"
        );
        assert_eq!(
            cert.certificate_not_after,
            Some(datetime!(2026-12-28 10:00:00 UTC))
        );
        assert_eq!(m.not_after, cert.certificate_not_after);
        assert_eq!(m.kid, public.thumbprint);
    }

    #[test]
    fn makes_the_key_type_each_algorithm_needs_with_its_jwk_and_certificate() {
        let now = datetime!(2026-11-28 10:00:00 UTC);
        let spec = CertificateSpec {
            subject: parse_subject("CN=svc").unwrap(),
            days: 30,
        };
        let cases = [
            (Alg::RS384, KeyType::Rsa, 3072, "RSA"),
            (Alg::ES256, KeyType::EcP256, 256, "EC"),
            (Alg::ES384, KeyType::EcP384, 384, "EC"),
            (Alg::EdDSA, KeyType::Ed25519, 256, "OKP"),
        ];
        for (alg, key_type, bits, kty) in cases {
            let m = generate(alg, KeyBits::B3072, Some(&spec), now).unwrap();
            assert_eq!(m.key_type, key_type, "{alg}");
            assert_eq!(m.bits, bits, "{alg}");
            assert!(m.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            assert!(m.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));

            let key = PrivateKey::from_pem(&m.private_pem).unwrap();
            assert_eq!(key.key_type(), key_type);
            assert!(key.signs(alg));
            assert_eq!(m.kid, key.thumbprint(), "{alg}");
            let public_der = pem::parse(&m.public_pem).unwrap().into_contents();
            assert_eq!(public_der, key.public_key_der(), "{alg}");

            assert_eq!(m.jwk["kty"], kty);
            assert_eq!(m.jwk["kid"], m.kid.as_str());
            assert_eq!(m.jwk["alg"], alg.as_str());
            assert_eq!(m.jwk["use"], "sig");
            let mut bare = m.jwk.clone();
            for member in ["kid", "alg", "use"] {
                bare.as_object_mut().unwrap().remove(member);
            }
            assert_eq!(bare, key.public_jwk(), "{alg}");

            // The certificate holds the same public key and the asked validity.
            let cert_pem = m.certificate_pem.as_deref().unwrap();
            let (_, cert_pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).unwrap();
            let cert = cert_pem.parse_x509().unwrap();
            assert_eq!(cert.public_key().raw, public_der.as_slice(), "{alg}");
            assert_eq!(
                cert.validity().not_after.to_datetime(),
                datetime!(2026-12-28 10:00:00 UTC)
            );
        }
    }

    #[test]
    fn parses_both_subject_spellings_and_refuses_nonsense() {
        for ok in [
            "CN=app",
            "/CN=app/O=Example",
            "CN=app, OU=ops, C=DE",
            "cn=app",
        ] {
            assert!(parse_subject(ok).is_ok(), "{ok}");
        }
        for bad in ["", "app", "CN=", "O=Example", "CN=app,XX=1", "/CN=app/"] {
            assert!(parse_subject(bad).is_err(), "{bad}");
        }
    }
}
