//! signet's integration tests: one binary (each extra test binary costs a link), a module per
//! area, every server-level test run against SQLite and PostgreSQL.

mod helpers;

mod audit_table;
mod backup;
mod bad_input;
mod client_side;
mod credentials;
mod dashboard;
mod dashboard_browser;
mod dashboard_logs;
mod deployment;
mod ec_keys;
mod explain;
mod federated;
mod hostile;
mod hostile_http;
mod jwks_uri;
mod list_filters;
mod management;
mod metrics;
mod openapi;
mod persistence;
pub mod private_key_jwt;
mod proxies;
mod readiness;
mod readme_blocks;
mod replay_table;
mod serve_process;
mod signing_keys;
mod startup;
mod tls;
mod token;
mod walkthrough;
