//! Where `GET /metrics` is served (`--metrics-listen`): on the public listener by default, or on
//! an address of its own, kept off the public port.

use std::net::SocketAddr;

use clap::Args;

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Metrics")]
pub struct MetricsArgs {
    /// Serve `/metrics` (Prometheus text format) on this address instead of on `--listen`,
    /// which then answers 404 for it. E.g. `127.0.0.1:9090`, or an internal interface.
    #[arg(long, env = "SIGNET_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSettings {
    /// `None`: `/metrics` is served on the public listener.
    pub listen: Option<SocketAddr>,
}

impl From<MetricsArgs> for MetricsSettings {
    fn from(args: MetricsArgs) -> Self {
        Self {
            listen: args.metrics_listen,
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
        metrics: MetricsArgs,
    }

    fn parse(args: &[&str]) -> Result<MetricsSettings, clap::Error> {
        let argv = std::iter::once("signet").chain(args.iter().copied());
        Cli::try_parse_from(argv).map(|cli| cli.metrics.into())
    }

    #[test]
    fn metrics_are_on_the_public_listener_unless_an_address_is_given() {
        assert_eq!(parse(&[]).unwrap().listen, None);
        let apart = parse(&["--metrics-listen", "127.0.0.1:9090"]).unwrap();
        assert_eq!(apart.listen, Some("127.0.0.1:9090".parse().unwrap()));
    }

    #[test]
    fn a_metrics_address_must_be_an_ip_and_port() {
        assert!(parse(&["--metrics-listen", "9090"]).is_err());
        assert!(parse(&["--metrics-listen", "not an address"]).is_err());
    }
}
