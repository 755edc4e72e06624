//! signet: a self-hosted, Auth0-compatible OAuth 2.0 authorization server for machine-to-machine
//! applications.
//!
//! Dependency direction: `http` → `oauth`, `dashboard` → `management` → `domain`, `crypto`, `store`;
//! `store` → `domain`; `domain` and `crypto` depend on nothing of ours.

pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod dashboard;
pub mod domain;
pub mod http;
pub mod management;
pub mod oauth;
pub mod rate_limit;
pub mod store;
pub mod telemetry;
pub mod time_util;
