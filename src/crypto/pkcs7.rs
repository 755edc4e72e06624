//! A certificate as a PKCS#7 "certs-only" message (RFC 2315 §9.1: a degenerate SignedData with no
//! signers), the form Auth0's signing-key objects carry as `pkcs7` and Windows tools import.

use yasna::Tag;
use yasna::models::ObjectIdentifier;

const SIGNED_DATA: &[u64] = &[1, 2, 840, 113_549, 1, 7, 2];
const DATA: &[u64] = &[1, 2, 840, 113_549, 1, 7, 1];

/// `cert_der` wrapped in a certs-only PKCS#7 message, PEM-encoded (`-----BEGIN PKCS7-----`).
pub fn certs_only_pem(cert_der: &[u8]) -> String {
    let der = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next()
                .write_oid(&ObjectIdentifier::from_slice(SIGNED_DATA));
            w.next().write_tagged(Tag::context(0), |w| {
                w.write_sequence(|w| {
                    w.next().write_u8(1);
                    w.next().write_set_of(|_| {});
                    w.next().write_sequence(|w| {
                        w.next().write_oid(&ObjectIdentifier::from_slice(DATA));
                    });
                    w.next().write_tagged_implicit(Tag::context(0), |w| {
                        w.write_set_of(|w| w.next().write_der(cert_der));
                    });
                    w.next().write_set_of(|_| {});
                });
            });
        });
    });
    pem::encode(&pem::Pem::new("PKCS7", der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_the_certificate_in_a_signed_data_with_no_signers() {
        let cert = [0x30, 0x03, 0x02, 0x01, 0x07];
        let pem_text = certs_only_pem(&cert);
        let der = pem::parse(&pem_text).unwrap().into_contents();
        let expected = [
            0x30, 0x2a, // ContentInfo
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, // signedData
            0xa0, 0x1d, // [0] EXPLICIT
            0x30, 0x1b, // SignedData
            0x02, 0x01, 0x01, // version 1
            0x31, 0x00, // no digest algorithms
            0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07,
            0x01, // data
            0xa0, 0x05, 0x30, 0x03, 0x02, 0x01, 0x07, // [0] IMPLICIT certificates
            0x31, 0x00, // no signers
        ];
        assert_eq!(der, expected);
    }
}
