//! Template structs (the pages in `templates/`) and the plain view models they show. Values are
//! formatted here so the templates stay simple; askama escapes everything they print.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::paging::Pager;
use super::{Admin, DashError};
use crate::domain::client::{AppType, Client, TokenEndpointAuthMethod};
use crate::domain::credential::Credential;
use crate::domain::resource_server::ResourceServer;
use crate::domain::signing_key::{KeyState, SigningKeyInfo};
use crate::http::dashboard::forms::FieldErrors;
use crate::store::key_sets::StoredKeySet;
use crate::tenant::auth_methods::AuthChoice;
use crate::time_util::Millis;

/// What every signed-in page shows around its content.
pub struct Ctx {
    pub email: String,
    pub csrf: String,
    pub nav: &'static str,
    pub notice: Option<Notice>,
}

impl Ctx {
    pub fn new(admin: &Admin, nav: &'static str, done: Option<&str>) -> Self {
        Self {
            email: admin.0.email.clone(),
            csrf: admin.0.csrf_token.clone(),
            nav,
            notice: done.and_then(notice),
        }
    }
}

/// A notice after a redirect. Its kind is also said in words (`label`), so colour is never the
/// only thing that tells a warning from a confirmation.
pub struct Notice {
    pub text: &'static str,
    /// `good`, `warn` or `info`: the stylesheet's class.
    pub kind: &'static str,
    pub label: &'static str,
}

/// Notices after a redirect come from this fixed list: nothing from the URL is echoed.
fn notice(key: &str) -> Option<Notice> {
    let (kind, label, text) = match key {
        "app-created" => ("good", "Done", "Application created."),
        "app-deleted" => ("good", "Done", "Application deleted."),
        "saved" => ("good", "Done", "Changes saved."),
        "method-saved" => ("good", "Done", "Authentication method saved."),
        "needs-credential" => (
            "warn",
            "Not switched yet",
            "Private Key JWT needs a credential: add one below with \"Enable it now\" ticked and \
             the application switches to it; until then it keeps its current method.",
        ),
        "credential-added" => ("good", "Done", "Credential added."),
        "credential-added-disabled" => (
            "info",
            "Added, not enabled",
            "Credential added but not enabled: assertions signed with it are refused until you \
             enable it.",
        ),
        "credential-updated" => ("good", "Done", "Credential updated."),
        "credential-deleted" => ("good", "Done", "Credential deleted."),
        "credential-enabled" => ("good", "Done", "Credential enabled for this application."),
        "credential-disabled" => ("good", "Done", "Credential disabled for this application."),
        "secret-rotated" => (
            "warn",
            "Secret replaced",
            "A new client secret was generated; the old one no longer works.",
        ),
        "api-created" => ("good", "Done", "API created."),
        "api-deleted" => ("good", "Done", "API deleted."),
        "grant-saved" => ("good", "Done", "Authorization saved."),
        "grant-saved-no-scopes" => (
            "warn",
            "Saved without scopes",
            "Authorization saved with no scopes: tokens for this API carry no scope, and a \
             request that asks for one is refused (403).",
        ),
        "grant-revoked" => ("good", "Done", "Authorization removed."),
        "keys-rotated" => (
            "good",
            "Done",
            "Signing keys rotated: the next key now signs new tokens; the previous key still \
             verifies the tokens it signed.",
        ),
        "keys-rotated-revoked" => (
            "good",
            "Done",
            "Signing keys rotated and the key that was current revoked: tokens it signed no \
             longer verify.",
        ),
        "key-revoked" => (
            "good",
            "Done",
            "Signing key revoked: it has left the key set, and tokens it signed no longer verify.",
        ),
        _ => return None,
    };
    Some(Notice { text, kind, label })
}

pub fn page(status: StatusCode, t: &impl Template) -> Result<Response, DashError> {
    let html = t
        .render()
        .map_err(|e| DashError::Internal(format!("template: {e}")))?;
    Ok((status, Html(html)).into_response())
}

pub fn date(ms: Millis) -> String {
    let full = crate::time_util::format_millis(ms);
    // `2027-03-01T23:59:59.999Z` → `2027-03-01 23:59 UTC`
    format!("{} {} UTC", &full[..10], &full[11..16])
}

pub fn app_type_label(t: AppType) -> &'static str {
    match t {
        AppType::NonInteractive => "Machine to Machine",
        AppType::RegularWeb => "Regular Web Application",
        AppType::Spa => "Single Page Application",
        AppType::Native => "Native",
    }
}

pub fn method_label(c: &Client) -> &'static str {
    match c.token_endpoint_auth_method {
        None => "Private Key JWT",
        Some(TokenEndpointAuthMethod::ClientSecretPost) => "Client Secret (Post)",
        Some(TokenEndpointAuthMethod::ClientSecretBasic) => "Client Secret (Basic)",
        Some(TokenEndpointAuthMethod::None) => "None",
    }
}

pub struct AppView {
    pub client_id: String,
    pub name: String,
    pub app_type: &'static str,
    pub method: &'static str,
    pub method_key: &'static str,
    pub uses_pkjwt: bool,
    /// Shown only while a secret method is on (BEHAVIOUR A.2).
    pub secret: Option<String>,
    pub created: String,
}

impl AppView {
    pub fn of(c: &Client) -> Self {
        let secret_on = c
            .token_endpoint_auth_method
            .is_some_and(|m| m.uses_secret());
        Self {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            app_type: app_type_label(c.app_type),
            method: method_label(c),
            method_key: AuthChoice::of(c).map_or("none", AuthChoice::as_str),
            uses_pkjwt: c.uses_private_key_jwt(),
            secret: secret_on.then(|| c.secret.expose().to_owned()),
            created: date(c.created_at),
        }
    }
}

pub struct CredentialRow {
    pub id: String,
    pub name: String,
    pub kid: String,
    pub alg: &'static str,
    /// For a `jwks_uri` credential: its URL and how the last fetch went.
    pub key_url: Option<KeyUrlView>,
    /// For a federated credential: the issuer it trusts and what tokens must match.
    pub federated: Option<String>,
    pub expires: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub last_used: String,
    pub enabled: bool,
}

/// A key URL and what its last fetch found.
pub struct KeyUrlView {
    pub uri: String,
    /// `key-a, key-b · fetched 2026-11-30 15:02 UTC`, or that none was fetched yet.
    pub fetched: String,
    pub last_error: Option<String>,
}

impl KeyUrlView {
    fn of(uri: &str, state: Option<&StoredKeySet>) -> Self {
        let fetched = match state.and_then(|s| s.fetched_at.map(|at| (s, at))) {
            Some((s, at)) if s.kids.is_empty() => format!("no signing key · fetched {}", date(at)),
            Some((s, at)) => format!("{} · fetched {}", s.kids.join(", "), date(at)),
            None => "no key set fetched yet".into(),
        };
        Self {
            uri: uri.to_owned(),
            fetched,
            last_error: state.and_then(|s| s.last_error.clone()),
        }
    }
}

/// A credential's state in words and as the stylesheet's class.
pub fn credential_state(c: &Credential, now: Millis) -> (&'static str, &'static str) {
    if c.is_expired(now) {
        ("expired", "bad")
    } else if c.associated {
        ("active", "good")
    } else {
        ("not enabled", "muted")
    }
}

impl CredentialRow {
    pub fn of(c: &Credential, now: Millis, key_sets: &[StoredKeySet]) -> Self {
        let (state, state_class) = credential_state(c, now);
        Self {
            id: c.id.clone(),
            name: if c.name.is_empty() {
                "(unnamed)".into()
            } else {
                c.name.clone()
            },
            kid: c.key.uploaded().map(|k| k.kid.clone()).unwrap_or_default(),
            alg: c.key.uploaded().map_or("from each key", |k| k.alg.as_str()),
            federated: c.key.federated().map(|rule| {
                format!(
                    "federated: {} · {}",
                    rule.issuer.as_deref().unwrap_or("any issuer"),
                    rule.match_summary()
                )
            }),
            key_url: c
                .key
                .jwks_uri()
                .map(|uri| KeyUrlView::of(uri, key_sets.iter().find(|s| s.credential_id == c.id))),
            expires: c.expires_at.map_or_else(|| "Never".into(), date),
            state,
            state_class,
            last_used: c.last_used_at.map_or_else(|| "Never".into(), date),
            enabled: c.associated,
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub csrf: String,
    pub email: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "applications.html")]
pub struct ApplicationsPage {
    pub ctx: Ctx,
    pub apps: Vec<AppView>,
    pub pager: Pager,
    pub form_name: String,
    pub form_type: String,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "app_settings.html")]
pub struct AppSettingsPage {
    pub ctx: Ctx,
    pub app: AppView,
    pub tab: &'static str,
    pub form_name: String,
    pub form_description: String,
    pub errors: FieldErrors,
}

pub struct CredentialFormView {
    pub name: String,
    pub pem: String,
    pub jwks_uri: String,
    pub alg: String,
    pub expiry_date: String,
    /// Off unless the person ticked it, or chose Private Key JWT and is adding its first key.
    pub enable: bool,
    pub errors: FieldErrors,
}

impl Default for CredentialFormView {
    fn default() -> Self {
        Self {
            name: String::new(),
            pem: String::new(),
            jwks_uri: String::new(),
            alg: "RS256".into(),
            expiry_date: String::new(),
            enable: false,
            errors: FieldErrors::default(),
        }
    }
}

#[derive(Template)]
#[template(path = "app_credentials.html")]
pub struct AppCredentialsPage {
    pub ctx: Ctx,
    pub app: AppView,
    pub tab: &'static str,
    /// The method shown as chosen (Private Key JWT while waiting for a first credential).
    pub chosen: &'static str,
    pub credentials: Vec<CredentialRow>,
    /// On Private Key JWT with no enabled credential that has not expired: every token
    /// request of the application fails.
    pub no_usable_credential: bool,
    pub can_add: bool,
    pub form: CredentialFormView,
    pub method_error: Option<String>,
    pub row_error: Option<String>,
    /// Tomorrow (`YYYY-MM-DD`, UTC): the earliest expiry the date picker offers.
    pub min_date: String,
}

#[derive(Template)]
#[template(path = "credential_edit.html")]
pub struct CredentialEditPage {
    pub ctx: Ctx,
    pub app: AppView,
    pub tab: &'static str,
    pub credential: CredentialRow,
    pub expiry_date: String,
    pub errors: FieldErrors,
    pub min_date: String,
}

/// A question before a change that breaks callers: what will break, and a button that makes
/// the same request again with `confirm=yes`. Without JavaScript, and nothing changes until
/// the button is pressed.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub ctx: Ctx,
    pub app: AppView,
    pub tab: &'static str,
    pub title: String,
    /// What stops working, one sentence each.
    pub consequences: Vec<String>,
    pub action: String,
    /// Fields the confirmed request carries again (the chosen method).
    pub fields: Vec<(&'static str, String)>,
    pub button: &'static str,
    pub cancel: String,
}

pub struct ScopeChoice {
    pub value: String,
    pub description: String,
    pub granted: bool,
}

pub struct ApiGrantView {
    pub id: String,
    pub name: String,
    pub identifier: String,
    pub authorised: bool,
    pub scopes: Vec<ScopeChoice>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "app_apis.html")]
pub struct AppApisPage {
    pub ctx: Ctx,
    pub app: AppView,
    pub tab: &'static str,
    pub apis: Vec<ApiGrantView>,
}

pub struct ApiView {
    pub id: String,
    pub name: String,
    pub identifier: String,
    pub scopes: String,
    pub system: bool,
    pub token_lifetime: i64,
    pub signing_alg: &'static str,
    pub token_dialect: &'static str,
    /// Shown only for an HS256 API: its resource servers need it to verify tokens.
    pub signing_secret: Option<String>,
}

impl ApiView {
    pub fn of(a: &ResourceServer) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            identifier: a.identifier.clone(),
            scopes: a
                .scopes
                .iter()
                .map(|s| s.value.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            system: a.is_system,
            token_lifetime: a.token_lifetime,
            signing_alg: a.signing_alg.as_str(),
            token_dialect: a.token_dialect.as_str(),
            signing_secret: (a.signing_alg
                == crate::domain::resource_server::AccessTokenAlg::HS256)
                .then(|| a.signing_secret.as_ref().map(|s| s.expose().to_owned()))
                .flatten(),
        }
    }
}

#[derive(Template)]
#[template(path = "api.html")]
pub struct ApiPage {
    pub ctx: Ctx,
    pub id: String,
    pub api: ApiView,
    pub form_name: String,
    pub form_scopes: String,
    pub form_lifetime: String,
    pub form_alg: String,
    pub form_dialect: String,
    pub algs: &'static [(&'static str, &'static str)],
    pub dialects: &'static [(&'static str, &'static str)],
    pub errors: FieldErrors,
}

/// The choices of the API page's selects, as (value, label).
pub const SIGNING_ALGS: [(&str, &str); 3] = [
    (
        "RS256",
        "RS256 — the tenant's signing keys (published in the JWKS)",
    ),
    ("PS256", "PS256 — the tenant's signing keys, RSASSA-PSS"),
    (
        "HS256",
        "HS256 — a secret shared with this API's resource servers",
    ),
];

pub const TOKEN_DIALECTS: [(&str, &str); 4] = [
    ("access_token", "access_token — Auth0's claims"),
    (
        "access_token_authz",
        "access_token_authz — plus permissions",
    ),
    (
        "rfc9068_profile",
        "rfc9068_profile — RFC 9068 (typ at+jwt, client_id)",
    ),
    (
        "rfc9068_profile_authz",
        "rfc9068_profile_authz — RFC 9068 plus permissions",
    ),
];

#[derive(Template)]
#[template(path = "apis.html")]
pub struct ApisPage {
    pub ctx: Ctx,
    pub apis: Vec<ApiView>,
    pub pager: Pager,
    pub form_name: String,
    pub form_identifier: String,
    pub form_scopes: String,
    pub errors: FieldErrors,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::credential::{AssertionAlg, CredentialKey, UploadedKey};

    fn credential(expires_at: Option<Millis>, associated: bool) -> Credential {
        Credential {
            id: "cred_1".into(),
            client_id: "c".into(),
            name: "key".into(),
            key: CredentialKey::Uploaded(UploadedKey {
                kid: "kid".into(),
                alg: AssertionAlg::RS256,
                public_key: Vec::new(),
                thumbprint: "t".into(),
            }),
            expires_at,
            associated,
            created_at: 0,
            updated_at: 0,
            last_used_at: None,
        }
    }

    #[test]
    fn a_credential_is_active_expired_or_not_enabled() {
        let now = 1_000_000;
        assert_eq!(
            CredentialRow::of(&credential(None, true), now, &[]).state,
            "active"
        );
        assert_eq!(
            CredentialRow::of(&credential(Some(now + 1), true), now, &[]).state,
            "active"
        );
        assert_eq!(
            CredentialRow::of(&credential(Some(now), true), now, &[]).state,
            "expired"
        );
        assert_eq!(
            CredentialRow::of(&credential(Some(now), false), now, &[]).state,
            "expired"
        );
        assert_eq!(
            CredentialRow::of(&credential(None, false), now, &[]).state,
            "not enabled"
        );
        assert_eq!(
            CredentialRow::of(&credential(None, false), now, &[]).last_used,
            "Never"
        );
    }

    #[test]
    fn notices_come_only_from_the_fixed_list() {
        assert!(notice("credential-added").is_some());
        assert!(notice("<script>alert(1)</script>").is_none());
    }
}

pub struct SigningKeyView {
    pub kid: String,
    pub state: &'static str,
    pub revocable: bool,
    pub current_since: String,
    pub current_until: String,
    pub revoked_at: String,
}

impl SigningKeyView {
    pub fn of(k: &SigningKeyInfo) -> Self {
        let when = |at: Option<Millis>| at.map(date).unwrap_or_else(|| "—".into());
        Self {
            kid: k.kid.clone(),
            state: match k.state {
                KeyState::Current => "Current",
                KeyState::Next => "Next",
                KeyState::Previous => "Previous",
                KeyState::Revoked => "Revoked",
            },
            revocable: k.state == KeyState::Previous,
            current_since: when(k.current_since),
            current_until: when(k.current_until),
            revoked_at: when(k.revoked_at),
        }
    }
}

#[derive(Template)]
#[template(path = "signing_keys.html")]
pub struct SigningKeysPage {
    pub ctx: Ctx,
    pub current_kid: String,
    pub valid: Vec<SigningKeyView>,
    pub revoked: Vec<SigningKeyView>,
    pub errors: FieldErrors,
    pub refused_kid: String,
}
