//! The two HTTP exchanges: OpenID discovery of the token endpoint, and the client credentials
//! request authenticated with a client assertion (RFC 7523 §2.2).

use serde::Deserialize;

use crate::error::{Error, Rejection};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Bodies larger than this are not token responses; reading stops there.
const MAX_BODY: usize = 64 * 1024;
const MAX_ERROR_BODY: usize = 4 * 1024;

/// A successful token response (RFC 6749 §5.1).
#[derive(Clone)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the token expires, when the server says.
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
    /// The body exactly as the server sent it.
    pub raw: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
    scope: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: Option<String>,
    token_endpoint: Option<String>,
}

/// `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery §4; a trailing slash
/// of the issuer is not doubled). Returns the token endpoint after checking that the document
/// names the same issuer, since an assertion for any other `aud` is refused.
pub(crate) async fn discover(http: &reqwest::Client, issuer: &str) -> Result<String, Error> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let res = http.get(&url).send().await.map_err(|source| Error::Http {
        url: url.clone(),
        source,
    })?;
    let status = res.status();
    let body = read_body(res, &url).await?;
    if !status.is_success() {
        return Err(Error::Discovery {
            url,
            reason: format!("HTTP {status}"),
        });
    }
    let doc: Discovery = serde_json::from_slice(&body).map_err(|e| Error::Discovery {
        url: url.clone(),
        reason: format!("not a discovery document ({e})"),
    })?;
    if let Some(found) = doc.issuer
        && found != issuer
    {
        return Err(Error::IssuerMismatch {
            configured: issuer.to_owned(),
            discovered: found,
        });
    }
    let endpoint = doc.token_endpoint.ok_or_else(|| Error::Discovery {
        url: url.clone(),
        reason: "it has no token_endpoint".into(),
    })?;
    url::Url::parse(&endpoint).map_err(|e| Error::Discovery {
        url,
        reason: format!("its token_endpoint is not a URL ({e})"),
    })?;
    Ok(endpoint)
}

/// One client credentials request with a client assertion: one freshly signed, or a
/// workload platform's token.
pub(crate) async fn request_token(
    http: &reqwest::Client,
    endpoint: &str,
    client_id: &str,
    assertion: &str,
    audience: &str,
    scope: Option<&str>,
) -> Result<TokenResponse, Error> {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
        ("audience", audience),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let res = http
        .post(endpoint)
        .form(&form)
        .send()
        .await
        .map_err(|source| Error::Http {
            url: endpoint.to_owned(),
            source,
        })?;
    let status = res.status();
    let server_date = res
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = read_body(res, endpoint).await?;
    if !status.is_success() {
        let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
        let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)]).into_owned();
        let (error, error_description) = match parsed {
            Some(b) => (b.error.unwrap_or_default(), b.error_description),
            None => (String::new(), None),
        };
        return Err(Error::Rejected(Rejection {
            status: status.as_u16(),
            error,
            error_description,
            body: text,
            server_date,
        }));
    }
    let parsed: TokenBody = serde_json::from_slice(&body).map_err(|e| Error::InvalidResponse {
        reason: e.to_string(),
    })?;
    if parsed.access_token.is_empty() {
        return Err(Error::InvalidResponse {
            reason: "access_token is empty".into(),
        });
    }
    Ok(TokenResponse {
        access_token: parsed.access_token,
        token_type: parsed.token_type,
        expires_in: parsed.expires_in,
        scope: parsed.scope,
        raw: String::from_utf8_lossy(&body).into_owned(),
    })
}

async fn read_body(mut res: reqwest::Response, url: &str) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|source| Error::Http {
        url: url.to_owned(),
        source,
    })? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(Error::InvalidResponse {
                reason: format!("the answer of {url} is larger than {MAX_BODY} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    /// An `https://` issuer is spoken to over TLS: the first bytes the server sees are a TLS
    /// handshake record (content type 22, version 3.x), not an HTTP request line.
    #[tokio::test]
    async fn speaks_tls_to_an_https_issuer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut first = [0u8; 3];
            conn.read_exact(&mut first).await.unwrap();
            first
        });
        let issuer = format!("https://127.0.0.1:{port}/");
        let result = discover(&reqwest::Client::new(), &issuer).await;
        assert!(matches!(result, Err(Error::Http { .. })), "{result:?}");
        let first = server.await.unwrap();
        assert_eq!(first[0], 0x16, "a TLS handshake record");
        assert_eq!(first[1], 0x03);
    }
}
