//! signet: a self-hosted, Auth0-compatible OAuth 2.0 authorization server for machine-to-machine
//! applications.
//!
//! Layers, each depending only on those below it (`docs/ARCHITECTURE.md`): `cli` → `app` →
//! `http` → `oauth`, `admins`, `tenant`, `audit`, `rate_limit`, `config` → `store` → `domain`
//! → `crypto`, `clock`, `time_util`, `metrics`.

pub mod admins;
pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod http;
pub mod jwks_uri;
pub mod metrics;
pub mod oauth;
pub mod private_file;
pub mod rate_limit;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod time_util;
