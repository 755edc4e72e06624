//! The web dashboard's own rules, free of HTTP: administrators and their passwords, sessions,
//! CSRF tokens, sign-in lockout, and the few dashboard actions that combine Management
//! operations (switching authentication method, enabling a credential). Everything that changes
//! tenant data goes through `crate::management`, the same functions the Management API calls.

pub mod admin;
pub mod applications;
pub mod csrf;
pub mod forms;
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
