//! Creating and changing an application, as commands the Management API builds from Auth0's
//! JSON and the dashboard builds from its forms, and the rules of a change of authentication
//! method (BEHAVIOUR A.2, B.9).

use std::collections::BTreeMap;

use super::Invalid;
use super::client::{
    AppType, JwtConfigAlg, JwtConfiguration, TokenEndpointAuthMethod, validate_client_secret,
    validate_description, validate_grant_types, validate_metadata, validate_name,
};
use super::credential::{CredentialUpload, MAX_PER_CLIENT};
use super::token_quota::TokenQuota;
use crate::crypto::secret::Secret;

/// Where a new application's credentials list sits in Auth0's request, for messages.
pub const CREDENTIALS_FIELD: &str = "client_authentication_methods.private_key_jwt.credentials";

/// A new application.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    pub description: Option<String>,
    pub app_type: Option<AppType>,
    pub is_first_party: Option<bool>,
    pub auth: NewClientAuth,
    pub grant_types: Option<Vec<String>>,
    pub jwt_configuration: JwtConfigurationPatch,
    pub client_metadata: Option<BTreeMap<String, String>>,
    /// A secret of the caller's choosing; generated when absent.
    pub client_secret: Option<Secret>,
    pub token_quota: Option<TokenQuota>,
}

/// How a new application authenticates.
#[derive(Debug, Clone, Default)]
pub enum NewClientAuth {
    /// Its type's default secret method.
    #[default]
    Default,
    Method(TokenEndpointAuthMethod),
    /// Private Key JWT (and federated) credentials, created and enabled with the application.
    PrivateKeyJwt(Box<ListedUploads>),
}

impl NewClientAuth {
    /// Private Key JWT with these key credentials only.
    pub fn with_keys(keys: Vec<CredentialUpload>) -> Self {
        Self::PrivateKeyJwt(Box::new(ListedUploads {
            private_key_jwt: keys,
            federated: Vec::new(),
        }))
    }
}

/// New credentials under the `client_authentication_methods` entry each was written in.
#[derive(Debug, Clone, Default)]
pub struct ListedUploads {
    pub private_key_jwt: Vec<CredentialUpload>,
    pub federated: Vec<CredentialUpload>,
}

impl ListedUploads {
    /// Each upload with where it sits in the request, for messages, and the method it must be
    /// for.
    pub fn placed(&self) -> impl Iterator<Item = (String, &'static str, &CredentialUpload)> {
        self.private_key_jwt
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    format!("client_authentication_methods.private_key_jwt.credentials[{i}]."),
                    "private_key_jwt",
                    c,
                )
            })
            .chain(self.federated.iter().enumerate().map(|(i, c)| {
                (
                    format!("client_authentication_methods.federated.credentials[{i}]."),
                    "federated",
                    c,
                )
            }))
    }

    pub fn len(&self) -> usize {
        self.private_key_jwt.len() + self.federated.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl NewClient {
    /// Whether the command creates credentials (which needs its own scope).
    pub fn carries_credentials(&self) -> bool {
        matches!(self.auth, NewClientAuth::PrivateKeyJwt(_))
    }

    /// The rules that need no stored data, in the order a caller reads about them.
    pub fn validate(&self) -> Result<(), Invalid> {
        validate_name(&self.name)?;
        validate_fields(
            self.description.as_deref(),
            self.grant_types.as_deref(),
            self.client_metadata.as_ref(),
            self.client_secret.as_ref(),
        )?;
        if let Some(q) = &self.token_quota {
            q.validate("token_quota.client_credentials")?;
        }
        Ok(())
    }
}

/// A change to an application: `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub app_type: Option<AppType>,
    pub is_first_party: Option<bool>,
    pub grant_types: Option<Vec<String>>,
    pub jwt_configuration: Option<JwtConfigurationPatch>,
    pub client_metadata: Option<BTreeMap<String, String>>,
    pub client_secret: Option<Secret>,
    /// `Some(None)` removes the application's own quota (the tenant's default applies again).
    pub token_quota: Option<Option<TokenQuota>>,
    pub auth: AuthMethodChange,
}

impl ClientPatch {
    /// Whether the change sets the secret (needs `update:client_keys`).
    pub fn changes_secret(&self) -> bool {
        self.client_secret.is_some()
    }

    /// Whether the change touches the authentication methods (needs
    /// `update:client_credentials`).
    pub fn changes_auth_methods(&self) -> bool {
        self.auth.touches_credentials()
    }

    /// The rules that need no stored data.
    pub fn validate(&self) -> Result<(), Invalid> {
        if let Some(name) = &self.name {
            validate_name(name)?;
        }
        validate_fields(
            self.description.as_deref(),
            self.grant_types.as_deref(),
            self.client_metadata.as_ref(),
            self.client_secret.as_ref(),
        )?;
        if let Some(Some(q)) = &self.token_quota {
            q.validate("token_quota.client_credentials")?;
        }
        Ok(())
    }
}

fn validate_fields(
    description: Option<&str>,
    grant_types: Option<&[String]>,
    metadata: Option<&BTreeMap<String, String>>,
    secret: Option<&Secret>,
) -> Result<(), Invalid> {
    if let Some(d) = description {
        validate_description(d)?;
    }
    if let Some(g) = grant_types {
        validate_grant_types(g)?;
    }
    if let Some(m) = metadata {
        validate_metadata(m)?;
    }
    if let Some(s) = secret {
        validate_client_secret(s.expose())?;
    }
    Ok(())
}

/// `jwt_configuration` as a command carries it: every field optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct JwtConfigurationPatch {
    pub alg: Option<JwtConfigAlg>,
    pub lifetime_in_seconds: Option<i64>,
    /// Auth0 echoes this; only `false` is meaningful for asymmetric algorithms.
    pub secret_encoded: Option<bool>,
}

impl JwtConfigurationPatch {
    pub fn apply(&self, base: JwtConfiguration) -> Result<JwtConfiguration, Invalid> {
        if self.secret_encoded == Some(true) {
            return Err(Invalid::found_in(
                "jwt_configuration.secret_encoded",
                "true is not supported",
            ));
        }
        let merged = JwtConfiguration {
            alg: self.alg.unwrap_or(base.alg),
            lifetime_in_seconds: self.lifetime_in_seconds.unwrap_or(base.lifetime_in_seconds),
        };
        merged.validate()?;
        Ok(merged)
    }
}

/// Auth0 refuses HS256 as the application's JWT algorithm once Private Key JWT is on.
pub fn check_jwt_alg(jwt: &JwtConfiguration, private_key_jwt: bool) -> Result<(), Invalid> {
    if private_key_jwt && jwt.alg == JwtConfigAlg::HS256 {
        return Err(Invalid::field(
            "jwt_configuration.alg",
            "HS256 cannot be used with Private Key JWT; use RS256",
        ));
    }
    Ok(())
}

/// How many credentials a Private Key JWT list may hold.
pub fn check_credential_count(n: usize) -> Result<(), Invalid> {
    if n == 0 {
        return Err(Invalid::field(
            CREDENTIALS_FIELD,
            "must list at least one credential",
        ));
    }
    if n > MAX_PER_CLIENT {
        return Err(Invalid::field(
            CREDENTIALS_FIELD,
            format!("may list at most {MAX_PER_CLIENT} credentials"),
        ));
    }
    Ok(())
}

/// What a change does to the way an application authenticates (BEHAVIOUR A.2). Auth0 spells
/// these as pairs of `token_endpoint_auth_method` and `client_authentication_methods`; the
/// Management API turns each pair into one of these, refusing the pairs that mean nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AuthMethodChange {
    #[default]
    Keep,
    /// A secret method (or `none`) for an application not on Private Key JWT.
    SetMethod(TokenEndpointAuthMethod),
    /// Private Key JWT with exactly these of the application's credentials, enabled in this
    /// order (switching to it, or replacing the list: rotation).
    UsePrivateKeyJwt(Vec<String>),
    /// As `UsePrivateKeyJwt`, the credentials listed under the method each belongs to, as the
    /// Management API's `client_authentication_methods` lists them.
    UseListed(ListedCredentials),
    /// Back from Private Key JWT to this secret method.
    LeavePrivateKeyJwt(TokenEndpointAuthMethod),
    /// `client_authentication_methods: null` alone: nothing to undo unless the application is
    /// on Private Key JWT, which needs a method to go back to.
    ClearPrivateKeyJwt,
    /// One more of its credentials enabled (Private Key JWT switched on if it was not): the
    /// dashboard's Enable, decided against the list as it is when the change is applied, so
    /// that two at once both land.
    Enable(String),
    /// One credential disabled; the last enabled one cannot be (choose a secret method first).
    Disable(String),
}

/// `client_authentication_methods` as references: the ids under `private_key_jwt` and under
/// `federated` (BEHAVIOUR B.13).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedCredentials {
    pub private_key_jwt: Vec<String>,
    pub federated: Vec<String>,
}

/// What applying an [`AuthMethodChange`] to an application comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthEffect {
    Nothing,
    SetMethod(TokenEndpointAuthMethod),
    /// Private Key JWT on, exactly these credentials enabled.
    Enable(Vec<String>),
    /// Private Key JWT off (every credential disabled), this secret method on.
    Disable(TokenEndpointAuthMethod),
}

impl AuthMethodChange {
    fn touches_credentials(&self) -> bool {
        !matches!(self, Self::Keep | Self::SetMethod(_))
    }

    /// Whether applying the change needs the list of credentials the application owns.
    pub fn needs_owned_credentials(&self) -> bool {
        matches!(
            self,
            Self::UsePrivateKeyJwt(_) | Self::UseListed(_) | Self::Enable(_)
        )
    }

    /// The change applied to an application that is (or is not) on Private Key JWT, owns the
    /// credentials `owned` (each with the method that lists it) and has `enabled` enabled: an
    /// application is never left without a way to authenticate by accident, and it only
    /// enables its own credentials, each under its own method (BEHAVIOUR B.9, B.13).
    pub fn effect(
        self,
        on_private_key_jwt: bool,
        owned: &[(&str, &str)],
        enabled: &[String],
    ) -> Result<AuthEffect, Invalid> {
        match self {
            Self::UseListed(listed) => {
                for (method, ids) in [
                    ("private_key_jwt", &listed.private_key_jwt),
                    ("federated", &listed.federated),
                ] {
                    for id in ids {
                        if let Some((_, actual)) = owned.iter().find(|(o, _)| o == id)
                            && *actual != method
                        {
                            return Err(Invalid::new(format!(
                                "credential {id} is a {actual} credential: list it under \
                                 client_authentication_methods.{actual}.credentials"
                            )));
                        }
                    }
                }
                let mut ids = listed.private_key_jwt;
                ids.extend(listed.federated);
                Self::UsePrivateKeyJwt(ids).effect(on_private_key_jwt, owned, enabled)
            }
            Self::Keep => Ok(AuthEffect::Nothing),
            Self::Enable(id) if enabled.contains(&id) => Ok(AuthEffect::Nothing),
            Self::Enable(id) => {
                let mut ids = enabled.to_vec();
                ids.push(id);
                Self::UsePrivateKeyJwt(ids).effect(on_private_key_jwt, owned, enabled)
            }
            Self::Disable(id) if !enabled.contains(&id) => Ok(AuthEffect::Nothing),
            Self::Disable(id) => {
                let rest: Vec<String> = enabled.iter().filter(|e| **e != id).cloned().collect();
                if rest.is_empty() {
                    return Err(Invalid::new(
                        "This is the application's only enabled credential. Choose Client Secret \
                         (Post) or Client Secret (Basic) first, or enable another credential.",
                    ));
                }
                Ok(AuthEffect::Enable(rest))
            }
            Self::UsePrivateKeyJwt(ids) => {
                check_credential_count(ids.len())?;
                for (i, id) in ids.iter().enumerate() {
                    if ids[..i].contains(id) {
                        return Err(Invalid::new(format!(
                            "credential {id} is listed more than once"
                        )));
                    }
                    if !owned.iter().any(|(o, _)| o == id) {
                        return Err(Invalid::new(format!(
                            "credential {id} does not exist or does not belong to this application"
                        )));
                    }
                }
                Ok(AuthEffect::Enable(ids))
            }
            Self::LeavePrivateKeyJwt(method) => Ok(AuthEffect::Disable(method)),
            Self::ClearPrivateKeyJwt if !on_private_key_jwt => Ok(AuthEffect::Nothing),
            Self::ClearPrivateKeyJwt => Err(Invalid::new(
                "client_authentication_methods: null needs token_endpoint_auth_method set to the method \
                 to use instead (e.g. client_secret_post)",
            )),
            Self::SetMethod(_) if on_private_key_jwt => Err(Invalid::new(
                "the application uses Private Key JWT: send client_authentication_methods: null \
                 together with token_endpoint_auth_method to switch back",
            )),
            Self::SetMethod(method) => Ok(AuthEffect::SetMethod(method)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TokenEndpointAuthMethod::ClientSecretPost;

    const OWNED: &[(&str, &str)] = &[
        ("cred_a", "private_key_jwt"),
        ("cred_b", "private_key_jwt"),
        ("cred_f", "federated"),
    ];

    #[test]
    fn listed_credentials_sit_under_their_own_method() {
        let listed = |pkj: &[&str], fed: &[&str]| {
            AuthMethodChange::UseListed(ListedCredentials {
                private_key_jwt: pkj.iter().map(|s| (*s).to_owned()).collect(),
                federated: fed.iter().map(|s| (*s).to_owned()).collect(),
            })
        };
        assert_eq!(
            listed(&["cred_a"], &["cred_f"]).effect(false, OWNED, &[]),
            Ok(AuthEffect::Enable(vec!["cred_a".into(), "cred_f".into()]))
        );
        let wrong = listed(&["cred_f"], &[])
            .effect(false, OWNED, &[])
            .unwrap_err();
        assert!(
            wrong
                .to_string()
                .contains("client_authentication_methods.federated.credentials"),
            "{wrong}"
        );
        assert!(listed(&[], &["cred_a"]).effect(false, OWNED, &[]).is_err());
        assert!(listed(&[], &[]).effect(false, OWNED, &[]).is_err());
    }

    #[test]
    fn switching_to_private_key_jwt_enables_exactly_the_listed_own_credentials() {
        let list = |ids: &[&str]| {
            AuthMethodChange::UsePrivateKeyJwt(ids.iter().map(|s| (*s).to_owned()).collect())
        };
        assert_eq!(
            list(&["cred_b", "cred_a"]).effect(false, OWNED, &[]),
            Ok(AuthEffect::Enable(vec!["cred_b".into(), "cred_a".into()]))
        );
        for bad in [
            &[][..],
            &["cred_a", "cred_a"],
            &["cred_x"],
            &["cred_a", "cred_b", "cred_c"],
        ] {
            assert!(list(bad).effect(false, OWNED, &[]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_application_is_never_left_without_a_method_by_accident() {
        use AuthMethodChange::*;
        assert_eq!(
            ClearPrivateKeyJwt.effect(false, OWNED, &[]),
            Ok(AuthEffect::Nothing)
        );
        assert!(ClearPrivateKeyJwt.effect(true, OWNED, &[]).is_err());
        assert!(
            SetMethod(ClientSecretPost)
                .effect(true, OWNED, &[])
                .is_err()
        );
        assert_eq!(
            SetMethod(ClientSecretPost).effect(false, OWNED, &[]),
            Ok(AuthEffect::SetMethod(ClientSecretPost))
        );
        assert_eq!(
            LeavePrivateKeyJwt(ClientSecretPost).effect(true, OWNED, &[]),
            Ok(AuthEffect::Disable(ClientSecretPost))
        );
        assert_eq!(Keep.effect(true, OWNED, &[]), Ok(AuthEffect::Nothing));
    }

    #[test]
    fn enabling_and_disabling_one_credential_works_on_the_list_as_it_is() {
        use AuthMethodChange::*;
        let on = vec!["cred_a".to_owned()];
        assert_eq!(
            Enable("cred_b".into()).effect(true, OWNED, &on),
            Ok(AuthEffect::Enable(vec!["cred_a".into(), "cred_b".into()]))
        );
        assert_eq!(
            Enable("cred_a".into()).effect(true, OWNED, &on),
            Ok(AuthEffect::Nothing)
        );
        assert!(Enable("cred_x".into()).effect(true, OWNED, &on).is_err());
        assert!(
            Disable("cred_a".into()).effect(true, OWNED, &on).is_err(),
            "the last one"
        );
        let both = vec!["cred_a".to_owned(), "cred_b".to_owned()];
        assert_eq!(
            Disable("cred_a".into()).effect(true, OWNED, &both),
            Ok(AuthEffect::Enable(vec!["cred_b".into()]))
        );
        assert_eq!(
            Disable("cred_x".into()).effect(true, OWNED, &both),
            Ok(AuthEffect::Nothing)
        );
    }

    #[test]
    fn hs256_is_refused_only_with_private_key_jwt() {
        let hs = JwtConfiguration {
            alg: JwtConfigAlg::HS256,
            ..JwtConfiguration::default()
        };
        assert!(check_jwt_alg(&hs, true).is_err());
        assert!(check_jwt_alg(&hs, false).is_ok());
        let patch = JwtConfigurationPatch {
            secret_encoded: Some(true),
            ..JwtConfigurationPatch::default()
        };
        assert!(patch.apply(JwtConfiguration::default()).is_err());
    }
}
