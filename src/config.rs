//! Server settings: flags and environment variables (CONTRACT.md), validated once at start.

pub mod http;
pub mod metrics;
pub mod proxies;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::crypto::secret::Secret;
use crate::domain::issuer::Issuer;
use crate::jwks_uri::address::KeyUrlPolicy;
use crate::rate_limit::{Limits, Rate};
pub use http::{HttpArgs, HttpLimits};
pub use metrics::{MetricsArgs, MetricsSettings};
pub use proxies::TrustedProxies;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to bind: `HOST:PORT`, the host an IP address or a name (`localhost:8080`).
    #[arg(long, env = "SIGNET_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: ListenAddr,

    /// The tenant URL; must end with `/`. Default: `http://<listen>/`, or `https://<listen>/`
    /// with --tls-cert.
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
    pub network: NetworkArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub log_limits: LogLimitArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// How clients reach the server: TLS, and the proxies in front of it.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "TLS and proxies")]
pub struct NetworkArgs {
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key. Reloaded on
    /// SIGHUP and when the file changes.
    #[arg(long, env = "SIGNET_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1); needs --tls-cert.
    #[arg(long, env = "SIGNET_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Reverse proxies whose `Forwarded` or `X-Forwarded-For`/`X-Forwarded-Proto` headers are
    /// believed: comma-separated IP addresses and CIDR ranges. Default: none.
    #[arg(long, env = "SIGNET_TRUSTED_PROXIES", value_name = "CIDR,…")]
    pub trusted_proxies: Option<String>,
}

/// The certificate and key files of `--tls-cert` and `--tls-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
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

/// `--listen`: a host (IP address or name) and a port. A name is resolved when the server binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddr {
    host: String,
    port: u16,
}

impl ListenAddr {
    /// The host as written, without the brackets of an IPv6 address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the host is a name rather than an IP address.
    pub fn is_name(&self) -> bool {
        self.host.parse::<IpAddr>().is_err()
    }

    /// Binds the first address the host resolves to that can be bound, IPv4 first: for
    /// `localhost`, clients that try IPv4 first then find the server without a detour.
    pub async fn bind(&self) -> std::io::Result<tokio::net::TcpListener> {
        let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await?
            .collect();
        addrs.sort_by_key(|a| !a.is_ipv4());
        let mut last_error = None;
        for addr in addrs {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => return Ok(listener),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                format!("{} resolves to no address", self.host),
            )
        }))
    }
}

impl std::str::FromStr for ListenAddr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(addr.into());
        }
        let (host, port) = text
            .rsplit_once(':')
            .ok_or("expected HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080")?;
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("invalid port `{port}`"))?;
        let valid_name = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !valid_name {
            return Err(format!(
                "invalid host `{host}`: an IP address (IPv6 in brackets) or a host name"
            ));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl From<SocketAddr> for ListenAddr {
    fn from(addr: SocketAddr) -> Self {
        Self {
            host: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

impl std::fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
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
    pub listen: ListenAddr,
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
    /// `None`: plain HTTP.
    pub tls: Option<TlsFiles>,
    pub trusted_proxies: TrustedProxies,
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
    #[error("--tls-cert and --tls-key (SIGNET_TLS_CERT, SIGNET_TLS_KEY) must be set together")]
    TlsHalf,
    #[error("invalid --trusted-proxies: {0}")]
    TrustedProxies(String),
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

        let tls = match (self.network.tls_cert, self.network.tls_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            _ => return Err(ConfigError::TlsHalf),
        };
        let trusted_proxies =
            TrustedProxies::parse(self.network.trusted_proxies.as_deref().unwrap_or_default())
                .map_err(ConfigError::TrustedProxies)?;

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
            tls,
            trusted_proxies,
            metrics: self.metrics.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn settings(args: &[&str]) -> Result<Settings, ConfigError> {
        let argv = ["signet", "--master-key-file", "unused.key"]
            .into_iter()
            .chain(args.iter().copied());
        Cli::try_parse_from(argv)
            .expect("the flags parse")
            .serve
            .into_settings()
    }

    #[test]
    fn tls_is_off_and_no_proxy_trusted_by_default() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.tls, None);
        assert!(s.trusted_proxies.is_empty());
    }

    #[test]
    fn a_certificate_and_its_key_turn_tls_on() {
        let s = settings(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap();
        assert_eq!(
            s.tls,
            Some(TlsFiles {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
    }

    #[test]
    fn a_certificate_without_its_key_or_a_key_alone_is_refused() {
        for args in [&["--tls-cert", "c.pem"], &["--tls-key", "k.pem"]] {
            let error = settings(args).unwrap_err();
            assert!(matches!(error, ConfigError::TlsHalf), "{args:?}: {error}");
            assert!(error.to_string().contains("--tls-cert and --tls-key"));
        }
    }

    #[test]
    fn trusted_proxies_are_parsed_once_at_start() {
        let s = settings(&["--trusted-proxies", "10.0.0.0/8, ::1"]).unwrap();
        assert!(s.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
        assert!(s.trusted_proxies.contains("::1".parse().unwrap()));
        assert!(!s.trusted_proxies.contains("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn a_bad_trusted_proxy_range_is_refused_with_the_flag_and_item_named() {
        let error = settings(&["--trusted-proxies", "10.0.0.0/8,10.0.0.0/40"]).unwrap_err();
        assert!(matches!(error, ConfigError::TrustedProxies(_)), "{error}");
        let text = error.to_string();
        assert!(
            text.contains("--trusted-proxies") && text.contains("10.0.0.0/40"),
            "{text}"
        );
    }

    #[test]
    fn listen_takes_addresses_and_host_names() {
        let v4: ListenAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(v4.to_string(), "127.0.0.1:8080");
        assert!(!v4.is_name());
        let v6: ListenAddr = "[::1]:8443".parse().unwrap();
        assert_eq!((v6.host(), v6.to_string().as_str()), ("::1", "[::1]:8443"));
        let name: ListenAddr = "localhost:8080".parse().unwrap();
        assert_eq!(name.to_string(), "localhost:8080");
        assert!(name.is_name());
        for bad in [
            "localhost",
            "localhost:http",
            ":8080",
            "a b:80",
            "host:70000",
        ] {
            assert!(bad.parse::<ListenAddr>().is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_host_name_binds_to_what_it_resolves_to() {
        let listener = "localhost:0".parse::<ListenAddr>().unwrap().bind().await;
        assert!(listener.unwrap().local_addr().unwrap().ip().is_loopback());
    }
}
