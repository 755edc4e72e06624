//! Workload platform tokens as the client's proof (signet's federated credentials): the
//! application holds no key at all; it sends a token its platform issues — GitHub Actions'
//! OIDC token, a projected Kubernetes service-account token, a GitLab CI `id_token`, a SPIFFE
//! JWT-SVID — as the `client_assertion`, with its own `client_id`.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::Error;

/// Larger files or answers are not a token; reading stops there (signet refuses tokens over
/// 8 KiB anyway).
const MAX_TOKEN_BYTES: u64 = 16 * 1024;

/// The path where the README's Kubernetes pod spec projects a token for signet.
pub const KUBERNETES_TOKEN_PATH: &str = "/var/run/secrets/tokens/signet-token";
/// The variable the README's GitLab CI job names its `id_token`.
pub const GITLAB_TOKEN_VARIABLE: &str = "SIGNET_ID_TOKEN";

/// Where the platform token comes from. Read again for every token request, so a file the
/// platform rotates (Kubernetes renews projected tokens before they expire) is always current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformToken {
    /// A file holding the token (a projected service-account token, a JWT-SVID on disk).
    File(PathBuf),
    /// An environment variable holding the token (GitLab CI `id_tokens`).
    Env(String),
    /// The GitHub Actions runner's OIDC endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL` and
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, present in jobs with `permissions: id-token: write`),
    /// asked for a token with this audience.
    GithubActions { audience: String },
}

impl PlatformToken {
    /// `github`, `gitlab`, `kubernetes` or `file:PATH`, as `signet token --federated` takes
    /// them; `github` asks for a token whose audience is `issuer`.
    pub fn parse(text: &str, issuer: &str) -> Result<Self, Error> {
        match text {
            "github" => Ok(Self::GithubActions {
                audience: issuer.to_owned(),
            }),
            "gitlab" => Ok(Self::Env(GITLAB_TOKEN_VARIABLE.to_owned())),
            "kubernetes" => Ok(Self::File(KUBERNETES_TOKEN_PATH.into())),
            _ => match text.strip_prefix("file:") {
                Some(path) if !path.is_empty() => Ok(Self::File(path.into())),
                _ => Err(Error::PlatformToken {
                    origin: text.to_owned(),
                    reason: "use github, gitlab, kubernetes or file:PATH".into(),
                }),
            },
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::File(path) => format!("file {}", path.display()),
            Self::Env(name) => format!("environment variable {name}"),
            Self::GithubActions { .. } => "the GitHub Actions OIDC endpoint".into(),
        }
    }

    /// The token, read now.
    pub async fn read(&self, http: &reqwest::Client) -> Result<String, Error> {
        let fail = |reason: String| Error::PlatformToken {
            origin: self.describe(),
            reason,
        };
        let token = match self {
            Self::File(path) => {
                use std::io::Read;
                let mut text = String::new();
                std::fs::File::open(path)
                    .and_then(|f| f.take(MAX_TOKEN_BYTES + 1).read_to_string(&mut text))
                    .map_err(|e| fail(e.to_string()))?;
                if text.len() as u64 > MAX_TOKEN_BYTES {
                    return Err(fail(format!("larger than {MAX_TOKEN_BYTES} bytes")));
                }
                text
            }
            Self::Env(name) => std::env::var(name)
                .map_err(|_| fail("is not set (declare it under the job's id_tokens)".into()))?,
            Self::GithubActions { audience } => github_token(http, audience).await.map_err(fail)?,
        };
        let token = token.trim();
        if token.is_empty() || token.split('.').count() != 3 {
            return Err(fail("does not hold a JWT".into()));
        }
        Ok(token.to_owned())
    }
}

#[derive(Deserialize)]
struct GithubAnswer {
    value: String,
}

/// Asks the runner for an OIDC token for `audience` (the documented exchange: GET the request
/// URL with `audience` added, the request token as a bearer token, `{"value": …}` back).
async fn github_token(http: &reqwest::Client, audience: &str) -> Result<String, String> {
    let url = std::env::var("ACTIONS_ID_TOKEN_REQUEST_URL").map_err(|_| {
        "ACTIONS_ID_TOKEN_REQUEST_URL is not set: run in a GitHub Actions job with \
         `permissions: id-token: write`"
            .to_owned()
    })?;
    let bearer = std::env::var("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .map_err(|_| "ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set".to_owned())?;
    let mut url =
        url::Url::parse(&url).map_err(|e| format!("the request URL is not a URL: {e}"))?;
    url.query_pairs_mut().append_pair("audience", audience);
    let res = http
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .map_err(|e| format!("the request failed: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("the runner answered HTTP {}", res.status()));
    }
    let body = res
        .bytes()
        .await
        .map_err(|e| format!("the answer could not be read: {e}"))?;
    if body.len() as u64 > MAX_TOKEN_BYTES {
        return Err(format!("the answer is larger than {MAX_TOKEN_BYTES} bytes"));
    }
    let answer: GithubAnswer = serde_json::from_slice(&body)
        .map_err(|_| "the answer is not {\"value\": token}".to_owned())?;
    Ok(answer.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_names_map_to_sources() {
        let issuer = "https://signet.example/";
        assert_eq!(
            PlatformToken::parse("github", issuer).unwrap(),
            PlatformToken::GithubActions {
                audience: issuer.into()
            }
        );
        assert_eq!(
            PlatformToken::parse("file:/tmp/t", issuer).unwrap(),
            PlatformToken::File("/tmp/t".into())
        );
        assert_eq!(
            PlatformToken::parse("kubernetes", issuer).unwrap(),
            PlatformToken::File(KUBERNETES_TOKEN_PATH.into())
        );
        assert!(PlatformToken::parse("file:", issuer).is_err());
        assert!(PlatformToken::parse("azure", issuer).is_err());
    }

    #[tokio::test]
    async fn a_file_is_read_again_each_time_and_must_hold_a_jwt() {
        let dir = std::env::temp_dir().join(format!("signet-platform-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        let source = PlatformToken::File(path.clone());
        let http = reqwest::Client::new();
        assert!(source.read(&http).await.is_err());
        std::fs::write(&path, "a.b.c\n").unwrap();
        assert_eq!(source.read(&http).await.unwrap(), "a.b.c");
        std::fs::write(&path, "d.e.f").unwrap();
        assert_eq!(source.read(&http).await.unwrap(), "d.e.f");
        std::fs::write(&path, "not a token").unwrap();
        let e = source.read(&http).await.unwrap_err().to_string();
        assert!(e.contains("does not hold a JWT"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
