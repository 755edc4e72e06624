//! Changes to how an application authenticates that are one click for a person but a
//! combination of operations: choosing the authentication method, enabling or disabling one
//! credential, adding a credential and enabling it (the dashboard's Credentials tab). Each goes
//! through the same operations as the Management API.

use crate::domain::Invalid;
use crate::domain::client::{Client, TokenEndpointAuthMethod};
use crate::domain::client_change::{AuthMethodChange, ClientPatch};
use crate::domain::credential::{Credential, CredentialUpload, MAX_PER_CLIENT};
use crate::tenant::clients;
use crate::tenant::{ManagementError, Tenant, credentials};
use crate::time_util::Millis;

/// The three choices of the Credentials tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthChoice {
    PrivateKeyJwt,
    Secret(TokenEndpointAuthMethod),
}

impl AuthChoice {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "private_key_jwt" => Self::PrivateKeyJwt,
            "client_secret_post" => Self::Secret(TokenEndpointAuthMethod::ClientSecretPost),
            "client_secret_basic" => Self::Secret(TokenEndpointAuthMethod::ClientSecretBasic),
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::Secret(m) => m.as_str(),
        }
    }

    pub fn of(client: &Client) -> Option<Self> {
        match client.token_endpoint_auth_method {
            None => Some(Self::PrivateKeyJwt),
            Some(TokenEndpointAuthMethod::None) => None,
            Some(m) => Some(Self::Secret(m)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodOutcome {
    Changed,
    Unchanged,
    /// Private Key JWT was chosen but the application has no usable credential yet: it switches
    /// when one is added.
    NeedsCredential,
}

fn change(auth: AuthMethodChange) -> ClientPatch {
    ClientPatch {
        auth,
        ..ClientPatch::default()
    }
}

pub async fn set_method(
    tenant: &Tenant,
    client_id: &str,
    choice: AuthChoice,
    now: Millis,
) -> Result<MethodOutcome, ManagementError> {
    let client = clients::get(tenant, client_id).await?;
    if AuthChoice::of(&client) == Some(choice) {
        return Ok(MethodOutcome::Unchanged);
    }
    let update = match choice {
        AuthChoice::Secret(method) if client.uses_private_key_jwt() => {
            change(AuthMethodChange::LeavePrivateKeyJwt(method))
        }
        AuthChoice::Secret(method) => change(AuthMethodChange::SetMethod(method)),
        AuthChoice::PrivateKeyJwt => {
            let usable: Vec<String> = credentials::list(tenant, client_id)
                .await?
                .into_iter()
                .filter(|c| !c.is_expired(now))
                .map(|c| c.id)
                .take(MAX_PER_CLIENT)
                .collect();
            if usable.is_empty() {
                return Ok(MethodOutcome::NeedsCredential);
            }
            change(AuthMethodChange::UsePrivateKeyJwt(usable))
        }
    };
    clients::update(tenant, client_id, update, now).await?;
    Ok(MethodOutcome::Changed)
}

/// Adds the credential to the application's enabled set; the application uses Private Key JWT
/// from then on. The set is read under the application's row lock, so two enables at once both
/// land.
pub async fn enable_credential(
    tenant: &Tenant,
    client_id: &str,
    credential_id: &str,
    now: Millis,
) -> Result<(), ManagementError> {
    let credential = credentials::get(tenant, client_id, credential_id).await?;
    if credential.is_expired(now) {
        return Err(Invalid::new(
            "This credential has expired and cannot be enabled; set a later expiry date first.",
        )
        .into());
    }
    clients::update(
        tenant,
        client_id,
        change(AuthMethodChange::Enable(credential_id.to_owned())),
        now,
    )
    .await?;
    Ok(())
}

pub async fn disable_credential(
    tenant: &Tenant,
    client_id: &str,
    credential_id: &str,
    now: Millis,
) -> Result<(), ManagementError> {
    credentials::get(tenant, client_id, credential_id).await?;
    clients::update(
        tenant,
        client_id,
        change(AuthMethodChange::Disable(credential_id.to_owned())),
        now,
    )
    .await?;
    Ok(())
}

/// Uploads a credential and, when asked, enables it at once (Auth0's dashboard does both on
/// "Add Credential").
pub async fn add_credential(
    tenant: &Tenant,
    client_id: &str,
    new: CredentialUpload,
    enable: bool,
    now: Millis,
) -> Result<Credential, ManagementError> {
    let created = credentials::create(tenant, client_id, new, now).await?;
    if enable {
        enable_credential(tenant, client_id, &created.id, now).await?;
    }
    Ok(created)
}
