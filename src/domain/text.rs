//! Text the databases can store. PostgreSQL's `text` cannot hold U+0000: the statement fails,
//! and with a batched insert every other row of the batch fails with it. SQLite stores it, but
//! its own string functions stop at it. So every text input is checked for NUL at the edge
//! (request bodies, query strings, path segments, forms, token parameters), the same on both
//! databases, and nothing that reaches a store function can carry one.

use super::Invalid;

/// `true` when both databases store `value` unchanged.
pub fn is_storable(value: &str) -> bool {
    !value.contains('\0')
}

/// A field-named refusal for text the databases cannot store.
pub fn check_storable(field: &str, value: &str) -> Result<(), Invalid> {
    if is_storable(value) {
        Ok(())
    } else {
        Err(Invalid::field(field, "must not contain NUL characters"))
    }
}

/// `true` when percent-decoding `encoded` (a path or a query string) yields no NUL byte.
pub fn percent_decoded_is_storable(encoded: &str) -> bool {
    // A NUL can only arrive percent-encoded: a raw one is refused by the HTTP parser.
    !encoded.contains("%00") && !encoded.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_the_one_character_refused() {
        assert!(is_storable("caf\u{e9} \u{1f600} \t\n"));
        assert!(!is_storable("a\0b"));
        let e = check_storable("name", "\0").unwrap_err();
        assert_eq!(e.to_string(), "name must not contain NUL characters");
    }

    #[test]
    fn an_encoded_nul_anywhere_in_a_uri_part_is_found() {
        assert!(percent_decoded_is_storable("/api/v2/clients/abc%20d"));
        assert!(!percent_decoded_is_storable("/api/v2/clients/a%00b"));
        assert!(!percent_decoded_is_storable("type=%00"));
        // `%2500` decodes to the three characters `%00`, not to a NUL.
        assert!(percent_decoded_is_storable("q=%2500"));
    }
}
