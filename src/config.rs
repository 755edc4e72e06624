//! Server settings: flags and environment variables (CONTRACT.md), validated once at start.

pub mod http;
pub mod metrics;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::crypto::secret::Secret;
use crate::domain::issuer::Issuer;
use crate::jwks_uri::address::KeyUrlPolicy;
use crate::rate_limit::{Limits, Rate};
pub use http::{HttpArgs, HttpLimits};
pub use metrics::{MetricsArgs, MetricsSettings};

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

    /// Let `jwks_uri` credentials use plain http:// and loopback, private and link-local
    /// addresses. For tests and labs only: anyone who can manage an application could then make
    /// the server send requests into its own network.
    #[arg(long, env = "SIGNET_ALLOW_INSECURE_KEY_URLS")]
    pub allow_insecure_key_urls: bool,

    /// Ensure a bootstrap client with this id (needs the secret too).
    #[arg(long, env = "SIGNET_BOOTSTRAP_CLIENT_ID", hide = true)]
    pub bootstrap_client_id: Option<String>,

    #[arg(
        long,
        env = "SIGNET_BOOTSTRAP_CLIENT_SECRET",
        hide = true,
        hide_env_values = true
    )]
    pub bootstrap_client_secret: Option<Secret>,

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
    pub admin_password: Option<Secret>,

    /// Base64 of 32 bytes; encrypts secrets and signing keys at rest.
    #[arg(long, env = "SIGNET_MASTER_KEY", hide = true, hide_env_values = true)]
    pub master_key: Option<Secret>,

    /// Where the master key is kept when SIGNET_MASTER_KEY is not set. Default: `signet.key`
    /// beside the SQLite file (in the working directory for PostgreSQL).
    #[arg(long, env = "SIGNET_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub log_limits: LogLimitArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// Rate limits (`crate::rate_limit`): `COUNT/s`, `COUNT/min`, `COUNT/h`, or `off`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Rate limits (COUNT/s, COUNT/min, COUNT/h or off)")]
pub struct LimitArgs {
    /// Token requests from one source address (IPv6: one /64), successful or not.
    #[arg(long, env = "SIGNET_TOKEN_RATE_LIMIT_PER_ADDRESS", default_value_t = Limits::default().token_per_address)]
    pub token_rate_limit_per_address: Rate,
    /// Failed token requests from one source address; once spent, every request from it gets
    /// 429 until the budget refills.
    #[arg(long, env = "SIGNET_TOKEN_FAILURE_LIMIT_PER_ADDRESS", default_value_t = Limits::default().token_failures_per_address)]
    pub token_failure_limit_per_address: Rate,
    /// Token requests naming one client id.
    #[arg(long, env = "SIGNET_TOKEN_RATE_LIMIT_PER_CLIENT", default_value_t = Limits::default().token_per_client)]
    pub token_rate_limit_per_client: Rate,
    /// Management API requests per calling application.
    #[arg(long, env = "SIGNET_MANAGEMENT_RATE_LIMIT", default_value_t = Limits::default().management_per_client)]
    pub management_rate_limit: Rate,
    /// Dashboard sign-in attempts from one source address.
    #[arg(long, env = "SIGNET_SIGNIN_RATE_LIMIT_PER_ADDRESS", default_value_t = Limits::default().signin_per_address)]
    pub signin_rate_limit_per_address: Rate,
    /// Dashboard sign-in attempts for one email, whether an administrator has it or not.
    #[arg(long, env = "SIGNET_SIGNIN_RATE_LIMIT_PER_EMAIL", default_value_t = Limits::default().signin_per_email)]
    pub signin_rate_limit_per_email: Rate,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            token_per_address: self.token_rate_limit_per_address,
            token_failures_per_address: self.token_failure_limit_per_address,
            token_per_client: self.token_rate_limit_per_client,
            management_per_client: self.management_rate_limit,
            signin_per_address: self.signin_rate_limit_per_address,
            signin_per_email: self.signin_rate_limit_per_email,
        }
    }
}

/// How much of the audit log is kept.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Audit log")]
pub struct LogLimitArgs {
    /// Audit events older than this many days are deleted.
    #[arg(long, env = "SIGNET_LOG_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub log_retention_days: u32,
    /// At most this many audit events are kept; the oldest go first.
    #[arg(long, env = "SIGNET_LOG_MAX_EVENTS", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1000..))]
    pub log_max_events: u64,
}

/// How much of the audit log is kept (see [`LogLimitArgs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRetention {
    pub max_age: Duration,
    pub max_events: u64,
}

impl Default for LogRetention {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_events: 1_000_000,
        }
    }
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
    pub key_urls: KeyUrlPolicy,
    pub bootstrap: Option<(String, Secret)>,
    pub master_key: MasterKeySource,
    /// The dashboard administrator ensured at start.
    pub admin_email: String,
    /// `None`: generated on first start and printed once.
    pub admin_password: Option<Secret>,
    pub limits: Limits,
    pub log_retention: LogRetention,
    pub http: HttpLimits,
    pub metrics: MetricsSettings,
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

/// Which database a `--database` URL names: `serve` and `backup` read it the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    /// The file of a `sqlite://PATH[?…]` URL.
    Sqlite(PathBuf),
    Postgres,
}

impl DatabaseKind {
    pub fn parse(database_url: &str) -> Result<Self, ConfigError> {
        if let Some(rest) = database_url.strip_prefix("sqlite://") {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(ConfigError::Database("sqlite:// needs a file path".into()));
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
        {
            Ok(Self::Postgres)
        } else {
            Err(ConfigError::Database(
                "expected sqlite://PATH or postgres://…".into(),
            ))
        }
    }
}

impl ServeArgs {
    pub fn into_settings(self) -> Result<Settings, ConfigError> {
        let issuer = self
            .issuer
            .as_deref()
            .map(Issuer::parse)
            .transpose()
            .map_err(ConfigError::Issuer)?;

        let sqlite_path = match DatabaseKind::parse(&self.database_url)? {
            DatabaseKind::Sqlite(path) => Some(path),
            DatabaseKind::Postgres => None,
        };

        let bootstrap = match (self.bootstrap_client_id, self.bootstrap_client_secret) {
            (None, None) => None,
            (Some(id), Some(secret)) => {
                crate::domain::client::validate_client_id(&id).map_err(ConfigError::BootstrapId)?;
                let text = secret.expose();
                if !(16..=256).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_graphic())
                {
                    return Err(ConfigError::BootstrapSecret);
                }
                Some((id, secret))
            }
            _ => return Err(ConfigError::BootstrapHalf),
        };

        let master_key = match (self.master_key, self.master_key_file) {
            (Some(inline), _) => MasterKeySource::Inline(inline),
            (None, Some(path)) => MasterKeySource::File(path),
            (None, None) => MasterKeySource::File(match &sqlite_path {
                Some(db) => db.with_file_name("signet.key"),
                None => PathBuf::from("signet.key"),
            }),
        };

        crate::admins::admin::validate_email(&self.admin_email).map_err(ConfigError::AdminEmail)?;
        if let Some(p) = &self.admin_password {
            crate::admins::password::validate(p.expose()).map_err(ConfigError::AdminPassword)?;
        }

        Ok(Settings {
            listen: self.listen,
            issuer,
            database_url: self.database_url,
            accept_legacy_assertion_audience: self.accept_legacy_assertion_audience,
            log_format: self.log_format,
            key_urls: KeyUrlPolicy {
                allow_insecure: self.allow_insecure_key_urls,
            },
            bootstrap,
            master_key,
            admin_email: self.admin_email,
            admin_password: self.admin_password,
            limits: self.limits.limits(),
            log_retention: LogRetention {
                max_age: Duration::from_secs(
                    u64::from(self.log_limits.log_retention_days) * 24 * 3600,
                ),
                max_events: self.log_limits.log_max_events,
            },
            http: self.http.into(),
            metrics: self.metrics.into(),
        })
    }
}
