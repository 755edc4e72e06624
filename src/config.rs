//! Server settings: flags and environment variables (CONTRACT.md), validated once at start.

pub mod http;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::crypto::secret::Secret;
use crate::domain::issuer::Issuer;
pub use http::{HttpArgs, HttpLimits};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to bind.
    #[arg(long, env = "SIGNET_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The tenant URL; must end with `/`. Default: `http://<listen>/`.
    #[arg(long, env = "SIGNET_ISSUER")]
    pub issuer: Option<String>,

    /// `sqlite://PATH` or `postgres://…`.
    #[arg(
        long = "database",
        env = "SIGNET_DATABASE_URL",
        default_value = "sqlite://signet.db"
    )]
    pub database_url: String,

    /// Also accept `<issuer>oauth/token` and arrays containing the issuer as assertion `aud`.
    #[arg(long, env = "SIGNET_ACCEPT_LEGACY_ASSERTION_AUDIENCE")]
    pub accept_legacy_assertion_audience: bool,

    #[arg(long, env = "SIGNET_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Ensure a bootstrap client with this id (needs the secret too).
    #[arg(long, env = "SIGNET_BOOTSTRAP_CLIENT_ID", hide = true)]
    pub bootstrap_client_id: Option<String>,

    #[arg(
        long,
        env = "SIGNET_BOOTSTRAP_CLIENT_SECRET",
        hide = true,
        hide_env_values = true
    )]
    pub bootstrap_client_secret: Option<String>,

    /// The dashboard administrator's email.
    #[arg(
        long,
        env = "SIGNET_ADMIN_EMAIL",
        default_value = "admin@localhost",
        hide = true
    )]
    pub admin_email: String,

    /// The dashboard administrator's password; generated (and printed once) when unset.
    #[arg(
        long,
        env = "SIGNET_ADMIN_PASSWORD",
        hide = true,
        hide_env_values = true
    )]
    pub admin_password: Option<String>,

    /// Base64 of 32 bytes; encrypts secrets and signing keys at rest.
    #[arg(long, env = "SIGNET_MASTER_KEY", hide = true, hide_env_values = true)]
    pub master_key: Option<String>,

    /// Where the master key is kept when SIGNET_MASTER_KEY is not set. Default: `signet.key`
    /// beside the SQLite file (in the working directory for PostgreSQL).
    #[arg(long, env = "SIGNET_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,

    #[command(flatten)]
    pub http: HttpArgs,
}

/// Where the master key comes from.
#[derive(Debug, Clone)]
pub enum MasterKeySource {
    Inline(Secret),
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// `None`: `http://<bound address>/`, known once the listener is bound.
    pub issuer: Option<Issuer>,
    pub database_url: String,
    pub accept_legacy_assertion_audience: bool,
    pub log_format: LogFormat,
    pub bootstrap: Option<(String, Secret)>,
    pub master_key: MasterKeySource,
    /// The dashboard administrator ensured at start.
    pub admin_email: String,
    /// `None`: generated on first start and printed once.
    pub admin_password: Option<Secret>,
    pub http: HttpLimits,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid --issuer: {0}")]
    Issuer(String),
    #[error("invalid --database: {0}")]
    Database(String),
    #[error("SIGNET_BOOTSTRAP_CLIENT_ID and SIGNET_BOOTSTRAP_CLIENT_SECRET must be set together")]
    BootstrapHalf,
    #[error("invalid SIGNET_BOOTSTRAP_CLIENT_ID: {0}")]
    BootstrapId(String),
    #[error("SIGNET_BOOTSTRAP_CLIENT_SECRET must be 16 to 256 printable ASCII characters")]
    BootstrapSecret,
    #[error("invalid SIGNET_ADMIN_EMAIL: {0}")]
    AdminEmail(String),
    #[error("invalid SIGNET_ADMIN_PASSWORD: {0}")]
    AdminPassword(String),
}

impl ServeArgs {
    pub fn into_settings(self) -> Result<Settings, ConfigError> {
        let issuer = self
            .issuer
            .as_deref()
            .map(Issuer::parse)
            .transpose()
            .map_err(ConfigError::Issuer)?;

        let sqlite_path = if let Some(rest) = self.database_url.strip_prefix("sqlite://") {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(ConfigError::Database("sqlite:// needs a file path".into()));
            }
            Some(PathBuf::from(path))
        } else if self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://")
        {
            None
        } else {
            return Err(ConfigError::Database(
                "expected sqlite://PATH or postgres://…".into(),
            ));
        };

        let bootstrap = match (self.bootstrap_client_id, self.bootstrap_client_secret) {
            (None, None) => None,
            (Some(id), Some(secret)) => {
                crate::domain::client::validate_client_id(&id).map_err(ConfigError::BootstrapId)?;
                if !(16..=256).contains(&secret.len())
                    || !secret.bytes().all(|b| b.is_ascii_graphic())
                {
                    return Err(ConfigError::BootstrapSecret);
                }
                Some((id, Secret::new(secret)))
            }
            _ => return Err(ConfigError::BootstrapHalf),
        };

        let master_key = match (self.master_key, self.master_key_file) {
            (Some(inline), _) => MasterKeySource::Inline(Secret::new(inline)),
            (None, Some(path)) => MasterKeySource::File(path),
            (None, None) => MasterKeySource::File(match &sqlite_path {
                Some(db) => db.with_file_name("signet.key"),
                None => PathBuf::from("signet.key"),
            }),
        };

        crate::dashboard::admin::validate_email(&self.admin_email)
            .map_err(ConfigError::AdminEmail)?;
        if let Some(p) = &self.admin_password {
            crate::dashboard::password::validate(p).map_err(ConfigError::AdminPassword)?;
        }

        Ok(Settings {
            listen: self.listen,
            issuer,
            database_url: self.database_url,
            accept_legacy_assertion_audience: self.accept_legacy_assertion_audience,
            log_format: self.log_format,
            bootstrap,
            master_key,
            admin_email: self.admin_email,
            admin_password: self.admin_password.map(Secret::new),
            http: self.http.into(),
        })
    }
}
