//! Random identifiers and secrets from the operating system's CSPRNG (via aws-lc).

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Fills `buf` with cryptographically secure random bytes.
pub fn fill(buf: &mut [u8]) {
    // aws-lc's RNG only fails when the OS entropy source is gone; nothing can continue safely then.
    aws_lc_rs::rand::fill(buf).expect("the system random number generator failed");
}

pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    fill(&mut out);
    out
}

/// A uniformly random base62 string (rejection sampling keeps every character equally likely).
pub fn base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill(&mut buf);
        for &b in &buf {
            // 248 = 4 * 62: bytes above it would bias the low characters.
            if b < 248 && out.len() < len {
                out.push(BASE62[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// Lower-case hex of `len / 2` random bytes.
pub fn hex(len: usize) -> String {
    let mut buf = vec![0u8; len.div_ceil(2)];
    fill(&mut buf);
    let mut s: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    s.truncate(len);
    s
}

/// URL-safe base64 (no padding) of `n` random bytes.
pub fn base64url(n: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; n];
    fill(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_has_requested_length_and_alphabet() {
        let s = base62(32);
        assert_eq!(s.len(), 32);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(s, base62(32));
    }

    #[test]
    fn hex_has_requested_length() {
        let s = hex(24);
        assert_eq!(s.len(), 24);
        assert!(s.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
