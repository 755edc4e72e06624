//! The tenant's data and how it changes — applications, their credentials and authentication
//! methods, APIs, client grants, logs, tenant settings and start-up bootstrapping — as plain
//! functions over the store, taking the domain's commands. The Management API and the
//! dashboard both call these; neither talks SQL.

pub mod auth_methods;
pub mod bootstrap;
pub mod clients;
pub mod credentials;
pub mod explain;
pub mod grants;
pub mod logs;
pub mod resource_servers;
pub mod signing_keys;
pub mod tenant_settings;

use std::sync::Arc;

use crate::crypto::sealing::MasterKey;
use crate::domain::Invalid;
use crate::domain::issuer::Issuer;
use crate::jwks_uri::KeySets;
use crate::store::{Store, StoreError};

/// What every operation needs: the store and the key that seals secrets in it.
#[derive(Clone)]
pub struct Tenant {
    pub store: Store,
    pub master_key: Arc<MasterKey>,
    pub issuer: Issuer,
    /// The key sets of `jwks_uri` credentials, shared with the token endpoint.
    pub key_sets: Arc<KeySets>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("{message}")]
    NotFound {
        error_code: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    /// A well-formed request for something the tenant does not allow (e.g. deleting the
    /// Management API).
    #[error("{0}")]
    NotAllowed(String),
    #[error(transparent)]
    Internal(StoreError),
}

impl From<StoreError> for ManagementError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => Self::Conflict(message),
            other => Self::Internal(other),
        }
    }
}

impl ManagementError {
    pub fn client_not_found() -> Self {
        Self::NotFound {
            error_code: "inexistent_client",
            message: "The client does not exist".into(),
        }
    }

    pub fn resource_server_not_found() -> Self {
        Self::NotFound {
            error_code: "inexistent_resource_server",
            message: "The resource server does not exist".into(),
        }
    }

    pub fn credential_not_found() -> Self {
        Self::NotFound {
            error_code: "inexistent_credential",
            message: "The credential does not exist".into(),
        }
    }

    pub fn client_grant_not_found() -> Self {
        Self::NotFound {
            error_code: "inexistent_client_grant",
            message: "The client grant does not exist".into(),
        }
    }
}

/// A list page, with the total when the caller asked for it.
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: Option<i64>,
}

/// Every item of a paged listing, fetched in pages of the largest size (for screens that show
/// whole lists).
pub async fn every_page<T, F, Fut>(mut list: F) -> Result<Vec<T>, ManagementError>
where
    F: FnMut(crate::domain::paging::Page) -> Fut,
    Fut: std::future::Future<Output = Result<Listing<T>, ManagementError>>,
{
    use crate::domain::paging::{MAX_PER_PAGE, Page};
    let mut out = Vec::new();
    for page in 0.. {
        let listing = list(Page {
            page,
            per_page: MAX_PER_PAGE,
        })
        .await?;
        let last = listing.items.len() < MAX_PER_PAGE as usize;
        out.extend(listing.items);
        if last {
            break;
        }
    }
    Ok(out)
}
