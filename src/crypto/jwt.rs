//! Compact JWS serialisation (RFC 7515 §7.1): just enough to sign and split tokens without a
//! generic JWT library re-parsing keys on every call.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// The three parts of a compact JWS, borrowed from the token text.
#[derive(Debug, Clone, Copy)]
pub struct Compact<'a> {
    pub header: &'a str,
    pub payload: &'a str,
    pub signature: &'a str,
    /// `header.payload`: the bytes the signature covers.
    pub signing_input: &'a str,
}

impl<'a> Compact<'a> {
    /// Splits `token` into exactly three non-empty base64url parts; anything else is `None`.
    pub fn split(token: &'a str) -> Option<Self> {
        let mut parts = token.splitn(4, '.');
        let header = parts.next()?;
        let payload = parts.next()?;
        let signature = parts.next()?;
        if parts.next().is_some() || header.is_empty() || payload.is_empty() || signature.is_empty()
        {
            return None;
        }
        let is_b64url = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !(is_b64url(header) && is_b64url(payload) && is_b64url(signature)) {
            return None;
        }
        let signing_input = &token[..header.len() + 1 + payload.len()];
        Some(Self {
            header,
            payload,
            signature,
            signing_input,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_parts_and_keeps_the_signing_input() {
        let c = Compact::split("aGVh.cGF5.c2ln").unwrap();
        assert_eq!(c.header, "aGVh");
        assert_eq!(c.payload, "cGF5");
        assert_eq!(c.signature, "c2ln");
        assert_eq!(c.signing_input, "aGVh.cGF5");
    }

    #[test]
    fn refuses_wrong_part_counts_empty_parts_and_foreign_characters() {
        for bad in ["a.b", "a.b.c.d", "a..c", ".b.c", "a.b.", "a.b+.c", "a.b.c="] {
            assert!(Compact::split(bad).is_none(), "{bad}");
        }
    }
}
