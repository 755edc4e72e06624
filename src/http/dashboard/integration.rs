//! An application's Integration tab: the exact values a Private Key JWT caller needs (issuer,
//! token endpoint, the assertion's `aud`, the enabled keys) and ready-to-run snippets filled
//! with them. A wrong `aud` is the most common Private Key JWT mistake, so it is spelled out.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::views::{AppView, Ctx, page};
use super::{Admin, DashError};
use crate::crypto::alg::AssertionAlg;
use crate::domain::credential::Credential;
use crate::domain::grant::ClientGrant;
use crate::http::AppState;
use crate::tenant::{clients, credentials};
use crate::time_util::Millis;

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard/applications/{id}/integration", get(tab))
}

/// A key the token endpoint accepts for this application right now.
pub struct KeyFact {
    pub credential_id: String,
    pub name: String,
    /// The `kid` to put in the header, or the key set URL for a `jwks_uri` credential.
    pub kid: Option<String>,
    pub jwks_uri: Option<String>,
    pub alg: Option<AssertionAlg>,
}

impl KeyFact {
    fn usable(c: &Credential, now: Millis) -> Option<Self> {
        (c.associated && !c.is_expired(now)).then(|| Self {
            credential_id: c.id.clone(),
            name: c.name.clone(),
            kid: c.key.uploaded().map(|k| k.kid.clone()),
            jwks_uri: c.key.jwks_uri().map(str::to_owned),
            alg: c.key.uploaded().map(|k| k.alg),
        })
    }
}

/// An API the application may get tokens for, and the scopes it was granted.
pub struct GrantFact {
    pub audience: String,
    pub scope: String,
}

/// What a caller must put in its request, all taken from this server and this application.
pub struct Values {
    pub issuer: String,
    pub token_endpoint: String,
    pub client_id: String,
    pub keys: Vec<KeyFact>,
    pub grants: Vec<GrantFact>,
}

pub struct Snippet {
    pub id: &'static str,
    pub title: &'static str,
    pub code: String,
    /// When the snippet only works under a condition this server does not meet, or needs a
    /// step first.
    pub note: Option<String>,
}

/// A word the shell takes as it is, or the word in single quotes.
fn sh(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A text inside a JavaScript or Python double-quoted string literal.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// `host[:port]` when the issuer is `https://host[:port]/`: the form Auth0's SDKs need, as they
/// build the assertion's `aud` as `https://{domain}/`.
pub fn sdk_domain(issuer: &str) -> Option<&str> {
    let domain = issuer.strip_prefix("https://")?.strip_suffix('/')?;
    (!domain.is_empty() && !domain.contains('/')).then_some(domain)
}

impl Values {
    /// The API the snippets ask a token for: the first one granted, or a placeholder.
    fn audience(&self) -> (&str, &str) {
        self.grants
            .first()
            .map_or(("https://api.example.com/", ""), |g| {
                (g.audience.as_str(), g.scope.as_str())
            })
    }

    /// The algorithm the snippets sign with: the first enabled uploaded key's, else RS256.
    fn alg(&self) -> AssertionAlg {
        self.keys
            .iter()
            .find_map(|k| k.alg)
            .unwrap_or(AssertionAlg::RS256)
    }

    /// The `kid` to name, when exactly one uploaded key is enabled (with two, the caller picks
    /// the one it holds).
    fn kid(&self) -> Option<&str> {
        let mut kids = self.keys.iter().filter_map(|k| k.kid.as_deref());
        match (kids.next(), kids.next()) {
            (Some(kid), None) => Some(kid),
            _ => None,
        }
    }

    pub fn snippets(&self) -> Vec<Snippet> {
        let (audience, scope) = self.audience();
        let no_grant = self.grants.is_empty().then(|| {
            "No API is authorized for this application yet: authorize one on the APIs tab, then \
             use its identifier as the audience."
                .to_owned()
        });
        vec![
            self.signet_snippet(audience, scope, no_grant.clone()),
            self.curl_snippet(audience, scope, no_grant.clone()),
            self.node_snippet(audience),
            self.python_snippet(audience),
        ]
    }

    fn signet_snippet(&self, audience: &str, scope: &str, note: Option<String>) -> Snippet {
        let mut code = format!(
            "signet token --issuer {} --client-id {} --key private_key.pem \\\n  --audience {}",
            sh(&self.issuer),
            sh(&self.client_id),
            sh(audience)
        );
        if !scope.is_empty() {
            code.push_str(&format!(" --scope {}", sh(scope)));
        }
        if let Some(kid) = self.kid() {
            code.push_str(&format!(" --kid {}", sh(kid)));
        }
        Snippet {
            id: "snippet-signet",
            title: "signet token",
            code,
            note,
        }
    }

    fn curl_snippet(&self, audience: &str, scope: &str, note: Option<String>) -> Snippet {
        let alg = self.alg();
        let sign = match alg {
            AssertionAlg::RS256 => Some("openssl dgst -sha256 -sign private_key.pem"),
            AssertionAlg::RS384 => Some("openssl dgst -sha384 -sign private_key.pem"),
            AssertionAlg::PS256 => Some(
                "openssl dgst -sha256 -sigopt rsa_padding_mode:pss \\\n    -sigopt rsa_pss_saltlen:digest -sign private_key.pem",
            ),
            // ECDSA needs its DER signature turned into r || s, and Ed25519 a one-shot
            // signature: `signet assertion` does both.
            _ => None,
        };
        let scope_arg = if scope.is_empty() {
            String::new()
        } else {
            format!(" \\\n  --data-urlencode {}", sh(&format!("scope={scope}")))
        };
        let request = format!(
            "curl -s {} \\\n  -d grant_type=client_credentials -d audience={}{scope_arg} \\\n  \
             -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \\\n  \
             -d client_assertion=\"$ASSERTION\"",
            sh(&self.token_endpoint),
            sh(audience),
        );
        let code = match sign {
            Some(sign) => {
                let kid = self
                    .kid()
                    .map(|kid| format!(",\"kid\":\"{kid}\""))
                    .unwrap_or_default();
                format!(
                    "b64url() {{ openssl base64 -A | tr '+/' '-_' | tr -d '='; }}\n\
                     NOW=$(date +%s)\n\
                     HEADER=$(printf '%s' {} | b64url)\n\
                     CLAIMS=$(printf '{{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"iat\":%d,\"exp\":%d,\"jti\":\"%s\"}}' \\\n  \
                     {} {} {} \"$NOW\" \"$((NOW + 60))\" \"$(openssl rand -hex 16)\" | b64url)\n\
                     SIG=$(printf '%s.%s' \"$HEADER\" \"$CLAIMS\" | {sign} | b64url)\n\
                     ASSERTION=$HEADER.$CLAIMS.$SIG\n{request}",
                    sh(&format!(
                        "{{\"alg\":\"{}\",\"typ\":\"JWT\"{kid}}}",
                        alg.as_str()
                    )),
                    sh(&self.client_id),
                    sh(&self.client_id),
                    sh(&self.issuer),
                )
            }
            None => format!(
                "ASSERTION=$(signet assertion --issuer {} --client-id {} --key private_key.pem)\n{request}",
                sh(&self.issuer),
                sh(&self.client_id),
            ),
        };
        Snippet {
            id: "snippet-curl",
            title: "curl and openssl",
            code,
            note,
        }
    }

    fn sdk_note(&self) -> Option<String> {
        match sdk_domain(&self.issuer) {
            Some(_) => None,
            None => Some(format!(
                "Auth0's SDKs put https://DOMAIN/ in the assertion's aud, and this server's issuer \
                 is {}: serve signet at https://host/ (see TLS in the README), or use signet \
                 token or curl.",
                self.issuer
            )),
        }
    }

    fn domain(&self) -> &str {
        sdk_domain(&self.issuer).unwrap_or("signet.example.com")
    }

    fn node_snippet(&self, audience: &str) -> Snippet {
        let alg = self.alg().as_str();
        Snippet {
            id: "snippet-node",
            title: "node-auth0",
            code: format!(
                "import {{ readFileSync }} from \"node:fs\";\n\
                 import {{ AuthenticationClient }} from \"auth0\";\n\n\
                 const auth = new AuthenticationClient({{\n  \
                 domain: {},\n  \
                 clientId: {},\n  \
                 clientAssertionSigningKey: readFileSync(\"private_key.pem\", \"utf8\"),\n  \
                 clientAssertionSigningAlg: {},\n\
                 }});\n\
                 const {{ data }} = await auth.oauth.clientCredentialsGrant({{ audience: {} }});\n\
                 console.log(data.access_token);",
                quoted(self.domain()),
                quoted(&self.client_id),
                quoted(alg),
                quoted(audience),
            ),
            note: self.sdk_note(),
        }
    }

    fn python_snippet(&self, audience: &str) -> Snippet {
        let alg = self.alg().as_str();
        Snippet {
            id: "snippet-python",
            title: "auth0-python",
            code: format!(
                "from auth0.authentication import GetToken\n\n\
                 with open(\"private_key.pem\") as f:\n    \
                 key = f.read()\n\
                 token = GetToken(\n    \
                 {},\n    \
                 {},\n    \
                 client_assertion_signing_key=key,\n    \
                 client_assertion_signing_alg={},\n\
                 ).client_credentials({})\n\
                 print(token[\"access_token\"])",
                quoted(self.domain()),
                quoted(&self.client_id),
                quoted(alg),
                quoted(audience),
            ),
            note: self.sdk_note(),
        }
    }
}

#[derive(Template)]
#[template(path = "app_integration.html")]
struct IntegrationPage {
    ctx: Ctx,
    app: AppView,
    tab: &'static str,
    values: Values,
    snippets: Vec<Snippet>,
}

async fn tab(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, DashError> {
    let c = clients::get(&state.tenant, &id).await?;
    let now = state.clock.now();
    let keys = credentials::list(&state.tenant, &id)
        .await?
        .iter()
        .filter_map(|cr| KeyFact::usable(cr, now))
        .collect();
    let grants = super::apis::grants_of(&state, &id)
        .await?
        .into_iter()
        .map(
            |ClientGrant {
                 audience, scope, ..
             }| GrantFact {
                audience,
                scope: scope.join(" "),
            },
        )
        .collect();
    let discovery = &state.discovery_document;
    let text = |field: &str| discovery[field].as_str().unwrap_or_default().to_owned();
    let values = Values {
        issuer: text("issuer"),
        token_endpoint: text("token_endpoint"),
        client_id: c.client_id.clone(),
        keys,
        grants,
    };
    page(
        StatusCode::OK,
        &IntegrationPage {
            ctx: Ctx::new(&admin, "applications", None),
            app: AppView::of(&c),
            tab: "integration",
            snippets: values.snippets(),
            values,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(issuer: &str, alg: AssertionAlg) -> Values {
        Values {
            issuer: issuer.into(),
            token_endpoint: format!("{issuer}oauth/token"),
            client_id: "abc123".into(),
            keys: vec![KeyFact {
                credential_id: "cred_1".into(),
                name: "key".into(),
                kid: Some("kid-1".into()),
                jwks_uri: None,
                alg: Some(alg),
            }],
            grants: vec![GrantFact {
                audience: "https://reports.example.com/".into(),
                scope: "read:reports write:reports".into(),
            }],
        }
    }

    fn snippet(v: &Values, id: &str) -> Snippet {
        v.snippets().into_iter().find(|s| s.id == id).unwrap()
    }

    #[test]
    fn snippets_carry_the_exact_issuer_as_aud_and_the_application_s_values() {
        let v = values("https://auth.example.com/", AssertionAlg::RS256);
        let signet = snippet(&v, "snippet-signet").code;
        assert!(signet.contains("--issuer https://auth.example.com/ --client-id abc123"));
        assert!(signet.contains("--audience https://reports.example.com/"));
        assert!(signet.contains("--scope 'read:reports write:reports'"));
        assert!(signet.contains("--kid kid-1"));
        let curl = snippet(&v, "snippet-curl").code;
        assert!(curl.contains("abc123 abc123 https://auth.example.com/ \"$NOW\""));
        assert!(curl.contains("curl -s https://auth.example.com/oauth/token"));
        assert!(curl.contains("openssl dgst -sha256 -sign"));
        assert!(curl.contains(r#"'{"alg":"RS256","typ":"JWT","kid":"kid-1"}'"#));
        let node = snippet(&v, "snippet-node");
        assert!(node.code.contains("domain: \"auth.example.com\""));
        assert!(node.note.is_none());
    }

    #[test]
    fn each_rsa_algorithm_signs_its_own_way_and_others_use_signet_assertion() {
        let pss = snippet(&values("https://a/", AssertionAlg::PS256), "snippet-curl").code;
        assert!(pss.contains("rsa_padding_mode:pss"));
        let rs384 = snippet(&values("https://a/", AssertionAlg::RS384), "snippet-curl").code;
        assert!(rs384.contains("-sha384"));
        let es = snippet(&values("https://a/", AssertionAlg::ES256), "snippet-curl").code;
        assert!(es.contains("signet assertion --issuer https://a/"));
        assert!(!es.contains("openssl dgst"));
    }

    #[test]
    fn sdks_are_flagged_when_the_issuer_is_not_https_host() {
        assert_eq!(
            sdk_domain("https://auth.example.com/"),
            Some("auth.example.com")
        );
        assert_eq!(
            sdk_domain("https://auth.example.com:8443/"),
            Some("auth.example.com:8443")
        );
        assert_eq!(sdk_domain("http://localhost:3000/"), None);
        assert_eq!(sdk_domain("https://example.com/tenant/"), None);
        let v = values("http://localhost:3000/", AssertionAlg::RS256);
        let python = snippet(&v, "snippet-python");
        assert!(python.note.unwrap().contains("http://localhost:3000/"));
    }

    #[test]
    fn shell_words_are_quoted_when_they_need_it() {
        assert_eq!(sh("https://a.example/x"), "https://a.example/x");
        assert_eq!(sh("a b"), "'a b'");
        assert_eq!(sh("it's"), r"'it'\''s'");
        assert_eq!(sh(""), "''");
        assert_eq!(sh("$(rm -rf /)"), "'$(rm -rf /)'");
    }

    #[test]
    fn without_a_grant_the_snippets_say_what_to_do_first() {
        let mut v = values("https://a/", AssertionAlg::RS256);
        v.grants.clear();
        let s = snippet(&v, "snippet-signet");
        assert!(s.note.unwrap().contains("APIs tab"));
        assert!(s.code.contains("https://api.example.com/"));
        assert!(!s.code.contains("--scope"));
    }
}
