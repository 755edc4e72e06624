//! The HTTP server's limits: timeouts, connection caps and protocol limits (`--http-*` flags),
//! with defaults safe to face the internet without a proxy in front.

use std::time::Duration;

use clap::Args;
use clap::builder::RangedU64ValueParser;

/// Fewer bytes than this cannot hold hyper's HTTP/1 read buffer (it panics below 8 KiB).
pub const MIN_HEADER_BYTES: usize = 8 * 1024;
/// More than this is no longer a header limit.
pub const MAX_HEADER_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP limits")]
pub struct HttpArgs {
    /// Seconds a client has to send complete request headers: from connecting, and from the
    /// first byte of each further request on a kept-alive connection.
    #[arg(
        long = "http-header-timeout",
        env = "SIGNET_HTTP_HEADER_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 10,
        value_parser = seconds(),
    )]
    pub header_timeout: u64,

    /// Seconds a kept-alive connection may wait, silent, for its next request.
    #[arg(
        long = "http-idle-timeout",
        env = "SIGNET_HTTP_IDLE_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 75,
        value_parser = seconds(),
    )]
    pub idle_timeout: u64,

    /// Seconds a request body may go without a byte before the request fails with 408.
    #[arg(
        long = "http-body-timeout",
        env = "SIGNET_HTTP_BODY_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 10,
        value_parser = seconds(),
    )]
    pub body_timeout: u64,

    /// Seconds from a request's headers to the end of its body, however steadily it drips.
    #[arg(
        long = "http-request-timeout",
        env = "SIGNET_HTTP_REQUEST_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 30,
        value_parser = seconds(),
    )]
    pub request_timeout: u64,

    /// Open connections at most; kept under the open-files limit less a reserve.
    #[arg(
        long = "http-max-connections",
        env = "SIGNET_HTTP_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 10_000,
        value_parser = at_least_one(),
    )]
    pub max_connections: usize,

    /// Open connections at most from one IPv4 address or one IPv6 /64.
    #[arg(
        long = "http-max-connections-per-ip",
        env = "SIGNET_HTTP_MAX_CONNECTIONS_PER_IP",
        value_name = "N",
        default_value_t = 256,
        value_parser = at_least_one(),
    )]
    pub max_connections_per_ip: usize,

    /// Largest request head: HTTP/1's read buffer and HTTP/2's header list.
    #[arg(
        long = "http-max-header-bytes",
        env = "SIGNET_HTTP_MAX_HEADER_BYTES",
        value_name = "BYTES",
        default_value_t = 16 * 1024,
        value_parser = header_bytes(),
    )]
    pub max_header_bytes: usize,

    /// Requests in progress at once on one HTTP/2 connection.
    #[arg(
        long = "http2-max-concurrent-streams",
        env = "SIGNET_HTTP2_MAX_CONCURRENT_STREAMS",
        value_name = "N",
        default_value_t = 100,
        value_parser = RangedU64ValueParser::<u32>::new().range(1..=10_000),
    )]
    pub http2_max_concurrent_streams: u32,

    /// Streams an HTTP/2 client may open and cancel faster than the server takes them up (the
    /// "rapid reset" attack, CVE-2023-44487); beyond it the connection is closed.
    #[arg(
        long = "http2-max-pending-resets",
        env = "SIGNET_HTTP2_MAX_PENDING_RESETS",
        value_name = "N",
        default_value_t = 20,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=10_000),
    )]
    pub http2_max_pending_resets: usize,

    /// Seconds between HTTP/2 pings that find peers gone without a word.
    #[arg(
        long = "http2-keepalive-interval",
        env = "SIGNET_HTTP2_KEEPALIVE_INTERVAL",
        value_name = "SECONDS",
        default_value_t = 30,
        value_parser = seconds(),
    )]
    pub http2_keepalive_interval: u64,

    /// Seconds an HTTP/2 ping may go unanswered before the connection is closed.
    #[arg(
        long = "http2-keepalive-timeout",
        env = "SIGNET_HTTP2_KEEPALIVE_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 10,
        value_parser = seconds(),
    )]
    pub http2_keepalive_timeout: u64,

    /// Seconds to keep serving after SIGTERM with `/readyz` answering 503, so that a load
    /// balancer polling it stops sending traffic before the listener closes.
    #[arg(
        long = "http-shutdown-drain",
        env = "SIGNET_HTTP_SHUTDOWN_DRAIN",
        value_name = "SECONDS",
        default_value_t = 0,
        value_parser = RangedU64ValueParser::<u64>::new().range(0..=600),
    )]
    pub shutdown_drain: u64,
}

/// 1 s to an hour: zero would switch a protection off.
fn seconds() -> RangedU64ValueParser<u64> {
    RangedU64ValueParser::new().range(1..=3600)
}

fn at_least_one() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..)
}

fn header_bytes() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(MIN_HEADER_BYTES as u64..=MAX_HEADER_BYTES as u64)
}

/// The limits the server runs with. `Default` is what `signet serve` uses without flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub max_header_bytes: usize,
    pub http2_max_concurrent_streams: u32,
    pub http2_max_pending_resets: usize,
    pub http2_keepalive_interval: Duration,
    pub http2_keepalive_timeout: Duration,
    /// After the shutdown signal: how long new requests are still accepted while `/readyz`
    /// already answers 503. Zero (the default) stops accepting at once, as before.
    pub shutdown_drain: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            // Ten seconds is long for a client that has its request ready, short for one that
            // holds a socket hostage.
            header_timeout: Duration::from_secs(10),
            // Longer than the 60 s idle timeout of common load balancers, so that they, not
            // signet, close pooled connections: a request racing signet's close would fail.
            idle_timeout: Duration::from_secs(75),
            body_timeout: Duration::from_secs(10),
            // Bodies here are at most 1 MiB (Management API) and a few KiB (token endpoint).
            request_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            // Generous for one machine's connection pool; a reverse proxy in front gathers all
            // clients behind one address, so raise it there.
            max_connections_per_ip: 256,
            max_header_bytes: 16 * 1024,
            http2_max_concurrent_streams: 100,
            // h2's own default, set explicitly so that it stays on.
            http2_max_pending_resets: 20,
            http2_keepalive_interval: Duration::from_secs(30),
            http2_keepalive_timeout: Duration::from_secs(10),
            shutdown_drain: Duration::ZERO,
        }
    }
}

/// A limit that would switch a protection off or make the server unable to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidHttpLimit {
    #[error("the HTTP limit {0} must be more than zero")]
    Zero(&'static str),
    #[error("the HTTP header limit must be {MIN_HEADER_BYTES} to {MAX_HEADER_BYTES} bytes")]
    HeaderBytes,
}

impl HttpLimits {
    /// The flags' ranges already hold; this guards limits built in code.
    pub fn validate(&self) -> Result<(), InvalidHttpLimit> {
        let durations = [
            ("header_timeout", self.header_timeout),
            ("idle_timeout", self.idle_timeout),
            ("body_timeout", self.body_timeout),
            ("request_timeout", self.request_timeout),
            ("http2_keepalive_interval", self.http2_keepalive_interval),
            ("http2_keepalive_timeout", self.http2_keepalive_timeout),
        ];
        if let Some((name, _)) = durations.iter().find(|(_, d)| d.is_zero()) {
            return Err(InvalidHttpLimit::Zero(name));
        }
        let counts = [
            ("max_connections", self.max_connections),
            ("max_connections_per_ip", self.max_connections_per_ip),
            (
                "http2_max_concurrent_streams",
                self.http2_max_concurrent_streams as usize,
            ),
            ("http2_max_pending_resets", self.http2_max_pending_resets),
        ];
        if let Some((name, _)) = counts.iter().find(|(_, n)| *n == 0) {
            return Err(InvalidHttpLimit::Zero(name));
        }
        if !(MIN_HEADER_BYTES..=MAX_HEADER_BYTES).contains(&self.max_header_bytes) {
            return Err(InvalidHttpLimit::HeaderBytes);
        }
        Ok(())
    }
}

impl From<HttpArgs> for HttpLimits {
    fn from(args: HttpArgs) -> Self {
        Self {
            header_timeout: Duration::from_secs(args.header_timeout),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            body_timeout: Duration::from_secs(args.body_timeout),
            request_timeout: Duration::from_secs(args.request_timeout),
            max_connections: args.max_connections,
            max_connections_per_ip: args.max_connections_per_ip,
            max_header_bytes: args.max_header_bytes,
            http2_max_concurrent_streams: args.http2_max_concurrent_streams,
            http2_max_pending_resets: args.http2_max_pending_resets,
            http2_keepalive_interval: Duration::from_secs(args.http2_keepalive_interval),
            http2_keepalive_timeout: Duration::from_secs(args.http2_keepalive_timeout),
            shutdown_drain: Duration::from_secs(args.shutdown_drain),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        http: HttpArgs,
    }

    fn parse(args: &[&str]) -> Result<HttpLimits, clap::Error> {
        let argv = std::iter::once("signet").chain(args.iter().copied());
        Cli::try_parse_from(argv).map(|cli| cli.http.into())
    }

    #[test]
    fn flags_left_unset_give_the_default_limits() {
        assert_eq!(parse(&[]).unwrap(), HttpLimits::default());
        assert_eq!(HttpLimits::default().validate(), Ok(()));
    }

    #[test]
    fn flags_set_the_limits_in_seconds_and_counts() {
        let limits = parse(&[
            "--http-header-timeout",
            "3",
            "--http-idle-timeout",
            "120",
            "--http-max-connections-per-ip",
            "1000",
        ])
        .unwrap();
        assert_eq!(limits.header_timeout, Duration::from_secs(3));
        assert_eq!(limits.idle_timeout, Duration::from_secs(120));
        assert_eq!(limits.max_connections_per_ip, 1000);
    }

    #[test]
    fn flags_refuse_a_zero_timeout_or_cap() {
        assert!(parse(&["--http-header-timeout", "0"]).is_err());
        assert!(parse(&["--http-body-timeout", "0"]).is_err());
        assert!(parse(&["--http-max-connections", "0"]).is_err());
        assert!(parse(&["--http-max-connections-per-ip", "0"]).is_err());
    }

    #[test]
    fn flags_refuse_a_header_limit_hyper_cannot_run_with() {
        assert!(parse(&["--http-max-header-bytes", "4096"]).is_err());
        assert!(parse(&["--http-max-header-bytes", "8192"]).is_ok());
    }

    #[test]
    fn limits_built_in_code_are_checked_too() {
        let zero_idle = HttpLimits {
            idle_timeout: Duration::ZERO,
            ..HttpLimits::default()
        };
        assert_eq!(
            zero_idle.validate(),
            Err(InvalidHttpLimit::Zero("idle_timeout"))
        );
        let tiny_headers = HttpLimits {
            max_header_bytes: 1024,
            ..HttpLimits::default()
        };
        assert_eq!(tiny_headers.validate(), Err(InvalidHttpLimit::HeaderBytes));
    }
}
