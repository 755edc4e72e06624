//! Parsing a token request from a form or JSON body and an optional HTTP Basic header.
//! Every parameter is length-capped before it is used; a parameter sent twice is an error
//! (RFC 6749 §3.2); unknown and `null` parameters are ignored (Auth0's SDKs send
//! `"organization": null`).

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::OAuthError;
use super::error::AuthFailure;
use crate::crypto::secret::Secret;

/// Largest accepted token request body. An assertion is at most 2048 bytes (BEHAVIOUR A.6).
pub const MAX_BODY: usize = 16 * 1024;
/// Cap for any single parameter value except `client_assertion`.
pub const MAX_PARAM: usize = 2048;
/// Cap for `client_assertion` at parse time. Deliberately above the 2048-byte assertion limit
/// (BEHAVIOUR A.6): the verifier refuses longer ones as a client authentication failure, which is
/// logged with its reason like every other.
pub const MAX_ASSERTION: usize = 8 * 1024;

/// The parameters of a token request. The secret and the assertion arrive straight in
/// redacting types, so this derives `Debug` without showing either.
#[derive(Debug, Default, Clone)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub audience: Option<String>,
    /// RFC 8707's resource indicator: the audience under another name (BEHAVIOUR A.5).
    pub resource: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub client_assertion: Option<Secret>,
    pub client_assertion_type: Option<String>,
}

/// A parameter sent twice is an error, and an empty one counts as absent (RFC 6749 §3.1).
fn put<T>(slot: &mut Option<T>, name: &str, value: T, empty: bool) -> Result<(), OAuthError> {
    if slot.is_some() {
        return Err(OAuthError::invalid_request(format!(
            "Parameter {name} must not be sent more than once"
        )));
    }
    if !empty {
        *slot = Some(value);
    }
    Ok(())
}

impl TokenParams {
    fn set(&mut self, name: &str, value: String) -> Result<(), OAuthError> {
        if !self.knows(name) {
            return Ok(());
        }
        let cap = if name == "client_assertion" {
            MAX_ASSERTION
        } else {
            MAX_PARAM
        };
        if value.len() > cap {
            return Err(OAuthError::invalid_request(format!(
                "Parameter {name} is longer than {cap} bytes"
            )));
        }
        // Parameters become lookup keys and audit fields (see `crate::domain::text`).
        if !crate::domain::text::is_storable(&value) {
            return Err(OAuthError::invalid_request(format!(
                "Parameter {name} must not contain NUL characters"
            )));
        }
        let empty = value.is_empty();
        match name {
            "client_secret" => put(&mut self.client_secret, name, Secret::new(value), empty),
            "client_assertion" => put(&mut self.client_assertion, name, Secret::new(value), empty),
            "grant_type" => put(&mut self.grant_type, name, value, empty),
            "audience" => put(&mut self.audience, name, value, empty),
            "resource" => put(&mut self.resource, name, value, empty),
            "scope" => put(&mut self.scope, name, value, empty),
            "client_id" => put(&mut self.client_id, name, value, empty),
            _ => put(&mut self.client_assertion_type, name, value, empty),
        }
    }

    pub fn from_form(body: &[u8]) -> Result<Self, OAuthError> {
        let mut p = Self::default();
        for (name, value) in form_fields(body) {
            p.set(&name, value.into_owned())?;
        }
        Ok(p)
    }

    pub fn from_json(body: &[u8]) -> Result<Self, OAuthError> {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
            .map_err(|_| OAuthError::invalid_request("The request body is not a JSON object"))?;
        let mut p = Self::default();
        for (name, value) in map {
            match value {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => p.set(&name, s)?,
                _ if p.knows(&name) => {
                    return Err(OAuthError::invalid_request(format!(
                        "Parameter {name} must be a string"
                    )));
                }
                _ => {}
            }
        }
        Ok(p)
    }

    fn knows(&self, name: &str) -> bool {
        matches!(
            name,
            "grant_type"
                | "audience"
                | "resource"
                | "scope"
                | "client_id"
                | "client_secret"
                | "client_assertion"
                | "client_assertion_type"
        )
    }
}

/// The fields of a form body, exactly as `url::form_urlencoded::parse` reads them. The crate
/// decodes every byte of every field one at a time through iterators, about 45 instructions a
/// byte, which made reading the form about a sixth of the token endpoint's own work per token.
/// A field with nothing to decode (no `%`, no `+`) in valid UTF-8, as the assertion always is
/// (base64url and dots), reads as it stands; the others are decoded by [`form_decode`], which
/// copies the runs between escapes whole.
fn form_fields(body: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    let mut rest = body;
    std::iter::from_fn(move || {
        loop {
            if rest.is_empty() {
                return None;
            }
            let end = memchr::memchr(b'&', rest).unwrap_or(rest.len());
            let field = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or_default();
            if field.is_empty() {
                continue;
            }
            if memchr::memchr2(b'%', b'+', field).is_none()
                && let Ok(text) = std::str::from_utf8(field)
            {
                let (name, value) = text.split_once('=').unwrap_or((text, ""));
                return Some((Cow::Borrowed(name), Cow::Borrowed(value)));
            }
            let (name, value) = match memchr::memchr(b'=', field) {
                Some(at) => (&field[..at], &field[at + 1..]),
                None => (field, &b""[..]),
            };
            return Some((form_decode(name), form_decode(value)));
        }
    })
}

/// One side of a form field, decoded as `form_urlencoded` decodes it: `+` is a space, `%` and two
/// hex digits the byte they spell (a `%` without them stays as it is), and the bytes read as
/// UTF-8 with each invalid sequence replaced by U+FFFD.
fn form_decode(part: &[u8]) -> Cow<'static, str> {
    fn hex_digit(b: Option<&u8>) -> Option<u8> {
        match *b? {
            b @ b'0'..=b'9' => Some(b - b'0'),
            b @ b'a'..=b'f' => Some(b - b'a' + 10),
            b @ b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(part.len());
    let mut rest = part;
    while let Some(at) = memchr::memchr2(b'%', b'+', rest) {
        out.extend_from_slice(&rest[..at]);
        if rest[at] == b'+' {
            out.push(b' ');
            rest = &rest[at + 1..];
            continue;
        }
        match (hex_digit(rest.get(at + 1)), hex_digit(rest.get(at + 2))) {
            (Some(high), Some(low)) => {
                out.push((high << 4) | low);
                rest = &rest[at + 3..];
            }
            _ => {
                out.push(b'%');
                rest = &rest[at + 1..];
            }
        }
    }
    out.extend_from_slice(rest);
    Cow::Owned(match String::from_utf8(out) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
pub fn parse_basic(header: &str) -> Result<(String, Secret), OAuthError> {
    let bad = || OAuthError::unauthenticated(AuthFailure::MalformedBasicHeader, true);
    if header.len() > 2 * MAX_PARAM {
        return Err(bad());
    }
    let (scheme, rest) = header.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| -> Result<String, OAuthError> {
        let plus_as_space = s.replace('+', " ");
        url::form_urlencoded::parse(format!("x={plus_as_space}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .ok_or_else(bad)
    };
    let (id, secret) = (unescape(id)?, unescape(secret)?);
    if id.is_empty()
        || !crate::domain::text::is_storable(&id)
        || !crate::domain::text::is_storable(&secret)
    {
        return Err(bad());
    }
    Ok((id, Secret::new(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_read_as_the_form_urlencoded_crate_reads_them() {
        let bodies: [&[u8]; 20] = [
            b"",
            b"&&",
            b"grant_type=client_credentials&client_assertion=eyJh.eyJz.c2ln",
            b"audience=https%3A%2F%2Fapi.example%2F&scope=read+write",
            b"a=1&&b=2&",
            b"flag&=empty-name&name=",
            b"k=v=w&k2==",
            b"x=%zz&y=%4&z=%41%42",
            b"caf\xc3\xa9=cr\xc3\xa8me",
            b"bad=\xff\xfe&ok=1",
            b"bad%FF=1&also=\xff%20",
            b"plus+name=a+b+c",
            b"nul=%00&raw=a\x00b",
            b"=&==&=x",
            b"p=%2B+%2b&q=%&r=%4g%41&s=%%41%",
            b"u=a%C3%A9b&v=%E9&w=%c3&x=%C3%A9%C3",
            b"audience=https%3A%2F%2Fapi.example%2F&client_assertion_type=urn%3Aietf%3Aparams",
            b"%3D=%3D&a%26b=c%26d",
            b"mixed=%41\xc3\xa9%42\xff+",
            b"trail=%4",
        ];
        for body in bodies {
            let ours: Vec<(String, String)> = form_fields(body)
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect();
            let crate_reading: Vec<(String, String)> = url::form_urlencoded::parse(body)
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(ours, crate_reading, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn resource_is_read_like_audience_and_only_once() {
        let p = TokenParams::from_form(b"resource=https%3A%2F%2Fapi%2F").unwrap();
        assert_eq!(p.resource.as_deref(), Some("https://api/"));
        let p = TokenParams::from_json(br#"{"resource":"https://api/"}"#).unwrap();
        assert_eq!(p.resource.as_deref(), Some("https://api/"));
        let e = TokenParams::from_form(b"resource=a&resource=b").unwrap_err();
        assert!(matches!(e, OAuthError::InvalidRequest(m) if m.contains("resource")));
    }

    #[test]
    fn form_parameters_are_read_and_unknown_ones_ignored() {
        let p = TokenParams::from_form(
            b"grant_type=client_credentials&audience=https%3A%2F%2Fapi%2F&foo=bar",
        )
        .unwrap();
        assert_eq!(p.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(p.audience.as_deref(), Some("https://api/"));
    }

    #[test]
    fn duplicated_parameters_are_refused() {
        let e = TokenParams::from_form(b"audience=a&audience=b").unwrap_err();
        assert!(matches!(e, OAuthError::InvalidRequest(m) if m.contains("audience")));
    }

    #[test]
    fn json_nulls_and_unknown_fields_are_ignored_but_wrong_types_refused() {
        let p = TokenParams::from_json(
            br#"{"grant_type":"client_credentials","organization":null,"extra":5}"#,
        )
        .unwrap();
        assert_eq!(p.grant_type.as_deref(), Some("client_credentials"));
        assert!(TokenParams::from_json(br#"{"audience":5}"#).is_err());
        assert!(TokenParams::from_json(br#"[1]"#).is_err());
    }

    #[test]
    fn parameters_and_basic_credentials_with_nul_are_refused() {
        let e = TokenParams::from_form(b"grant_type=client_credentials&audience=%00").unwrap_err();
        assert!(matches!(e, OAuthError::InvalidRequest(m) if m.contains("audience")));
        assert!(TokenParams::from_json(br#"{"client_id":"a\u0000b"}"#).is_err());
        let h = format!("Basic {}", STANDARD.encode("id%00:secret"));
        assert!(parse_basic(&h).is_err());
        let h = format!("Basic {}", STANDARD.encode("id:sec%00ret"));
        assert!(parse_basic(&h).is_err());
    }

    #[test]
    fn overlong_parameters_are_refused() {
        let body = format!("client_id={}", "a".repeat(MAX_PARAM + 1));
        assert!(TokenParams::from_form(body.as_bytes()).is_err());
    }

    #[test]
    fn basic_credentials_are_url_decoded() {
        let h = format!("Basic {}", STANDARD.encode("my%20id:p%3Ass"));
        let (id, secret) = parse_basic(&h).unwrap();
        assert_eq!(id, "my id");
        assert!(secret.matches("p:ss"));
        assert!(parse_basic("Bearer abc").is_err());
        assert!(parse_basic("Basic !!!").is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let p = TokenParams::from_form(b"client_secret=hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
