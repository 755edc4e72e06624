//! The tenant URL (BEHAVIOUR B.2: always ends with `/`; configuration, never derived from a request).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{text:?} must be an http:// or https:// URL"));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(format!(
                "{text:?} must not carry a query, a fragment or credentials"
            ));
        }
        if !text.ends_with('/') {
            return Err(format!("{text:?} must end with '/'"));
        }
        // Kept exactly as configured: assertion `aud` is compared byte for byte (BEHAVIOUR B.1).
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// The Management API's audience: `<issuer>api/v2/`.
    pub fn management_audience(&self) -> String {
        format!("{}api/v2/", self.0)
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}oauth/token", self.0)
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_must_end_with_a_slash_and_be_http() {
        assert!(Issuer::parse("https://auth.example.com/").is_ok());
        assert!(Issuer::parse("http://127.0.0.1:8080/tenant/").is_ok());
        assert!(Issuer::parse("https://auth.example.com").is_err());
        assert!(Issuer::parse("ftp://auth.example.com/").is_err());
        assert!(Issuer::parse("https://auth.example.com/?a=b/").is_err());
        assert!(Issuer::parse("not a url/").is_err());
    }

    #[test]
    fn derived_urls_append_to_the_issuer() {
        let i = Issuer::parse("https://a.example/").unwrap();
        assert_eq!(i.management_audience(), "https://a.example/api/v2/");
        assert_eq!(i.token_endpoint(), "https://a.example/oauth/token");
    }
}
