//! Random secrets from aws-lc's DRBG, and random identifiers that are not secrets from the
//! thread's generator.

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

/// Fills `buf` for an identifier that is unique but no secret: an access token's `jti`, an
/// audit event's id. Each token needs two, and aws-lc's DRBG costs about 2,900 instructions a
/// call whatever its size (it sets up an AES key each time); the thread's generator (ChaCha12,
/// seeded and reseeded from the operating system, cryptographically secure) costs a tenth.
pub fn fill_for_id(buf: &mut [u8]) {
    rand::RngCore::fill_bytes(&mut rand::rng(), buf);
}

/// A uniformly random base62 string, for secrets.
pub fn base62(len: usize) -> String {
    base62_from(len, fill)
}

/// A uniformly random base62 string, for identifiers that are not secrets ([`fill_for_id`]).
pub fn id_base62(len: usize) -> String {
    base62_from(len, fill_for_id)
}

/// Rejection sampling keeps every character equally likely.
fn base62_from(len: usize, fill: fn(&mut [u8])) -> String {
    let mut out = String::with_capacity(len);
    // Bytes at or above 248 are rejected (3 %): a quarter more than needed nearly always does.
    let mut buf = [0u8; 80];
    while out.len() < len {
        let draw = (len - out.len() + (len - out.len()) / 4 + 4).min(buf.len());
        let buf = &mut buf[..draw];
        fill(buf);
        for &b in buf.iter() {
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

/// URL-safe base64 (no padding) of `n` random bytes, for secrets.
pub fn base64url(n: usize) -> String {
    base64url_from(n, fill)
}

/// URL-safe base64 (no padding) of `n` random bytes, for identifiers that are not secrets
/// ([`fill_for_id`]).
pub fn id_base64url(n: usize) -> String {
    base64url_from(n, fill_for_id)
}

fn base64url_from(n: usize, fill: fn(&mut [u8])) -> String {
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
    fn identifiers_have_the_requested_length_and_alphabet_and_differ() {
        for len in [1, 16, 22, 64, 200] {
            let s = id_base62(len);
            assert_eq!(s.len(), len);
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        assert_ne!(id_base62(16), id_base62(16));
        let jti = id_base64url(16);
        assert_eq!(jti.len(), 22);
        assert!(
            jti.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(jti, id_base64url(16));
    }

    #[test]
    fn base62_characters_are_all_used_about_equally() {
        let mut seen = [0u32; 62];
        for _ in 0..200 {
            for b in id_base62(62).bytes() {
                seen[BASE62.iter().position(|&c| c == b).unwrap()] += 1;
            }
        }
        // 200 draws of each character on average: every one within a wide margin of it.
        assert!(seen.iter().all(|&n| (100..=300).contains(&n)), "{seen:?}");
    }

    #[test]
    fn hex_has_requested_length() {
        let s = hex(24);
        assert_eq!(s.len(), 24);
        assert!(s.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
