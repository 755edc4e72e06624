//! The dashboard's administrators, free of HTTP: their accounts and passwords, signing in (with
//! its lockout and its turns at Argon2), sessions and CSRF tokens. The pages themselves are in
//! `crate::http::dashboard`; what they change in the tenant goes through `crate::tenant`.

pub mod admin;
pub mod csrf;
pub mod lockout;
pub mod password;
pub mod session;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("invalid administrator settings: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}
