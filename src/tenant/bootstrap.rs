//! What must exist before the server takes requests: the Management API resource server, the
//! tenant signing keys and the bootstrap client. Every step is safe when several servers start
//! against one database at once.

use crate::crypto::random;
use crate::crypto::secret::Secret;
use crate::domain::client::{AppType, Client, JwtConfiguration, TokenEndpointAuthMethod};
use crate::store::{self, StoreError};
use crate::time_util::Millis;

use super::{ManagementError, Tenant, grants, resource_servers};

const BOOTSTRAP_SETTING: &str = "bootstrap_client_id";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Management(#[from] ManagementError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Credentials of a bootstrap client this start created (to print once).
pub struct CreatedBootstrapClient {
    pub client_id: String,
    pub client_secret: Secret,
}

pub struct Bootstrapped {
    pub keys: super::signing_keys::LiveKeys,
    pub created_client: Option<CreatedBootstrapClient>,
}

pub async fn run(
    tenant: &Tenant,
    configured_client: Option<&(String, Secret)>,
    now: Millis,
) -> Result<Bootstrapped, BootstrapError> {
    let mut tx = tenant.store.begin().await?;
    store::resource_servers::ensure_system(&mut tx, &resource_servers::management_api(tenant, now))
        .await?;
    tenant.store.commit(tx).await?;
    super::signing_keys::ensure(tenant, now).await?;
    let keys = super::signing_keys::LiveKeys::load(tenant).await?;
    let created_client = match configured_client {
        Some((id, secret)) => {
            ensure_configured_client(tenant, id, secret, now).await?;
            None
        }
        None => ensure_generated_client(tenant, now).await?,
    };
    Ok(Bootstrapped {
        keys,
        created_client,
    })
}

fn new_bootstrap_client(client_id: String, secret: Secret, now: Millis) -> Client {
    Client {
        client_id,
        name: "signet bootstrap client".into(),
        description: "Holds every scope of the Management API".into(),
        app_type: AppType::NonInteractive,
        is_first_party: true,
        token_endpoint_auth_method: Some(TokenEndpointAuthMethod::ClientSecretPost),
        grant_types: AppType::NonInteractive.default_grant_types(),
        jwt_configuration: JwtConfiguration::default(),
        client_metadata: Default::default(),
        secret,
        credential_ids: Vec::new(),
        federated_credential_ids: Vec::new(),
        token_quota: None,
        created_at: now,
        updated_at: now,
    }
}

async fn management_api_for(
    conn: &mut store::Conn,
    key: &crate::crypto::sealing::MasterKey,
) -> Result<crate::domain::resource_server::ResourceServer, BootstrapError> {
    store::resource_servers::get_system(conn, key)
        .await?
        .ok_or_else(|| {
            StoreError::Corrupt("the Management API resource server is missing".into()).into()
        })
}

/// SIGNET_BOOTSTRAP_CLIENT_ID/SECRET: that client exists with exactly that secret, may use
/// `client_credentials` with a secret, and holds every Management API scope.
async fn ensure_configured_client(
    tenant: &Tenant,
    client_id: &str,
    secret: &Secret,
    now: Millis,
) -> Result<(), BootstrapError> {
    let mut tx = tenant.store.begin().await?;
    // Insert-or-verify: servers starting together all insert; the ones that find it there
    // (whoever inserted it) bring it to the configured state under its row lock.
    let fresh = new_bootstrap_client(client_id.to_owned(), secret.clone(), now);
    let created = store::clients::insert_if_absent(&mut tx, &tenant.master_key, &fresh).await?;
    let existing = if created {
        None
    } else {
        store::clients::lock_for_update(&mut tx, client_id, now).await?;
        store::clients::get(&mut tx, &tenant.master_key, client_id).await?
    };
    match existing {
        Some(mut c) => {
            c.secret = secret.clone();
            if !c
                .token_endpoint_auth_method
                .is_some_and(|m| m.uses_secret())
            {
                c.token_endpoint_auth_method = Some(TokenEndpointAuthMethod::ClientSecretPost);
            }
            if !c.may_use_client_credentials() {
                c.grant_types.push("client_credentials".into());
            }
            c.updated_at = now;
            store::clients::update(&mut tx, &tenant.master_key, &c).await?;
        }
        None if created => {}
        None => {
            return Err(StoreError::Corrupt(format!(
                "the bootstrap client {client_id} was neither inserted nor found"
            ))
            .into());
        }
    }
    let api = management_api_for(&mut tx, &tenant.master_key).await?;
    grants::ensure_full_grant(&mut tx, client_id, &api, now).await?;
    store::tenant_settings::set(&mut tx, BOOTSTRAP_SETTING, client_id).await?;
    tenant.store.commit(tx).await?;
    Ok(())
}

/// Without configuration: create a bootstrap client on first start (or when it was deleted),
/// and keep its grant complete on every start.
async fn ensure_generated_client(
    tenant: &Tenant,
    now: Millis,
) -> Result<Option<CreatedBootstrapClient>, BootstrapError> {
    let mut tx = tenant.store.begin().await?;
    let api = management_api_for(&mut tx, &tenant.master_key).await?;
    let recorded = store::tenant_settings::get(&mut tx, BOOTSTRAP_SETTING).await?;
    if let Some(id) = &recorded
        && store::clients::get(&mut tx, &tenant.master_key, id)
            .await?
            .is_some()
    {
        grants::ensure_full_grant(&mut tx, id, &api, now).await?;
        tenant.store.commit(tx).await?;
        return Ok(None);
    }
    let c = new_bootstrap_client(random::base62(32), Secret::generate(), now);
    store::clients::insert(&mut tx, &tenant.master_key, &c).await?;
    grants::ensure_full_grant(&mut tx, &c.client_id, &api, now).await?;
    let won = match recorded {
        None => {
            store::tenant_settings::insert_if_absent(&mut tx, BOOTSTRAP_SETTING, &c.client_id)
                .await?
        }
        Some(_) => {
            store::tenant_settings::set(&mut tx, BOOTSTRAP_SETTING, &c.client_id).await?;
            true
        }
    };
    if !won {
        // Another server created the bootstrap client at the same moment; keep theirs.
        tx.rollback().await.map_err(StoreError::from)?;
        return Ok(None);
    }
    tenant.store.commit(tx).await?;
    Ok(Some(CreatedBootstrapClient {
        client_id: c.client_id,
        client_secret: c.secret,
    }))
}
