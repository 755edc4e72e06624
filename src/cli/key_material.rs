//! What `signet keygen` makes: an RSA key pair, its PEM encodings, an optional self-signed
//! certificate, and the kid the server will compute for it. No file I/O here.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use clap::ValueEnum;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyUsagePurpose, PKCS_RSA_SHA256};
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
    /// PKCS#8 PEM. Secret: written once to a 0600 file, never printed.
    pub private_pem: String,
    /// SPKI PEM.
    pub public_pem: String,
    pub certificate_pem: Option<String>,
    pub not_after: Option<OffsetDateTime>,
    /// RFC 7638 thumbprint, computed by the server's own intake code from what will be uploaded.
    pub kid: String,
}

pub fn generate(
    bits: KeyBits,
    certificate: Option<&CertificateSpec>,
    now: OffsetDateTime,
) -> Result<KeyMaterial, String> {
    let pair = KeyPair::generate(bits.size()).map_err(|_| "RSA key generation failed")?;
    let pkcs8 = pair
        .as_der()
        .map_err(|_| "encoding the private key failed")?;
    let spki = pair
        .public_key()
        .as_der()
        .map_err(|_| "encoding the public key failed")?;
    let private_pem = encode_pem("PRIVATE KEY", pkcs8.as_ref());
    let public_pem = encode_pem("PUBLIC KEY", spki.as_ref());

    let (certificate_pem, not_after) = match certificate {
        Some(spec) => {
            let (pem, not_after) = self_signed(&private_pem, spec, now)?;
            (Some(pem), Some(not_after))
        }
        None => (None, None),
    };

    // Run what we are about to upload through the server's intake: the kid printed is then
    // the one the server will show, and a key it would refuse never leaves this command.
    let upload = certificate_pem.as_deref().unwrap_or(&public_pem);
    let info = parse_public_key_pem(upload)
        .map_err(|e| format!("the generated key is not accepted by signet: {e}"))?;

    Ok(KeyMaterial {
        private_pem,
        public_pem,
        certificate_pem,
        not_after,
        kid: info.thumbprint,
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
    spec: &CertificateSpec,
    now: OffsetDateTime,
) -> Result<(String, OffsetDateTime), String> {
    let signing_key = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(private_pem, &PKCS_RSA_SHA256)
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
    use signet_client::PrivateKey;
    use time::macros::datetime;

    use super::*;
    use crate::crypto::public_key::parse_public_key_pem;

    #[test]
    fn makes_a_pkcs8_key_whose_kid_is_the_thumbprint_of_its_public_key() {
        let m = generate(KeyBits::B2048, None, OffsetDateTime::now_utc()).unwrap();
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
        let m = generate(KeyBits::B2048, Some(&spec), now).unwrap();
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
