//! `signet token`: one client credentials request with Private Key JWT, through the same
//! `signet-client` code Rust services use. Prints the server's JSON answer; on failure prints
//! the server's error and what usually causes it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use signet_client::{Alg, Client, ClientBuilder, Error, Kid, PlatformToken, Rejection};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

use super::client_args::ClientArgs;

/// The clock skew servers tolerate on assertion times (signet's BEHAVIOUR A.6; Auth0 alike).
const SKEW_TOLERANCE_SECS: i64 = 10;

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub client: ClientArgs,

    /// The API (resource server identifier) the token is for.
    #[arg(long)]
    pub audience: String,

    /// Scopes to ask for, space-separated. Default: every scope the application is granted.
    #[arg(long)]
    pub scope: Option<String>,

    /// Token endpoint URL; skips discovery. Needed when the issuer is `https://…` but the
    /// server is reached another way, e.g. over plain http behind a TLS proxy.
    #[arg(long, value_name = "URL")]
    pub token_endpoint: Option<String>,

    /// Also trust the CA certificates in this PEM file for the server's HTTPS certificate
    /// (e.g. a private CA), besides the system's.
    #[arg(long, env = "SIGNET_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Send a workload platform's token instead of signing with a key, for an application
    /// with a federated credential: `github` (the job's OIDC token, for the issuer as
    /// audience), `gitlab` (the SIGNET_ID_TOKEN variable), `kubernetes` (the token projected at
    /// /var/run/secrets/tokens/signet-token) or `file:PATH` (read again for each request).
    #[arg(long, value_name = "SOURCE", conflicts_with_all = ["key", "alg", "kid", "no_kid"])]
    pub federated: Option<String>,
}

/// The library's own timeout, kept when the HTTP client is built here for `--ca-cert`.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Larger files are not a CA bundle: refused before they are parsed.
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// An HTTP client that trusts the certificates of `path` besides the system's roots.
fn http_trusting(path: &Path) -> Result<reqwest::Client, String> {
    use std::io::Read;
    let name = path.display();
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut pem))
        .map_err(|e| format!("cannot read --ca-cert {name}: {e}"))?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(format!(
            "--ca-cert {name} is larger than {MAX_CA_FILE_BYTES} bytes: not a CA bundle"
        ));
    }
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("--ca-cert {name} is not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "--ca-cert {name} holds no certificate (expected PEM `BEGIN CERTIFICATE` blocks)"
        ));
    }
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .tls_certs_merge(certs)
        .build()
        .map_err(|e| format!("cannot use --ca-cert {name}: {}", with_causes(&e)))
}

pub fn run(args: TokenArgs) -> ExitCode {
    let client = match build_client(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("signet token: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("signet token: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sent = Sent {
        alg: client.alg(),
        kid: client.kid().map(str::to_owned),
    };
    let result = runtime.block_on(client.request_token(&args.audience, args.scope.as_deref()));
    match result {
        Ok(response) => {
            println!("{}", response.raw);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("signet token: {}", with_causes(&e));
            if let Error::Rejected(r) = &e
                && !r.body.is_empty()
            {
                eprintln!("server response: {}", r.body);
            }
            if let Some(hint) = hint(&e, &args, &sent, OffsetDateTime::now_utc()) {
                eprintln!("\nhint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// What the assertions carried, for the hint when the server refuses them; no `alg` for a
/// platform token.
struct Sent {
    alg: Option<Alg>,
    kid: Option<String>,
}

fn build_client(args: &TokenArgs) -> Result<Client, String> {
    let c = &args.client;
    let mut builder = match &args.federated {
        Some(source) => {
            let source =
                PlatformToken::parse(source, &c.issuer).map_err(|e| format!("--federated: {e}"))?;
            ClientBuilder::federated(c.issuer.as_str(), c.client_id.as_str(), source)
        }
        None => Client::builder(c.issuer.as_str(), c.client_id.as_str(), c.key_pem()?),
    }
    .typ(c.typ);
    if let Some(alg) = c.alg {
        builder = builder.alg(alg);
    }
    builder = match c.kid_choice() {
        Kid::Thumbprint => builder,
        Kid::Explicit(kid) => builder.kid(kid),
        Kid::Omit => builder.without_kid(),
    };
    if let Some(url) = &args.token_endpoint {
        builder = builder.token_endpoint(url.as_str());
    }
    if let Some(path) = &args.ca_cert {
        builder = builder.http_client(http_trusting(path)?);
    }
    // Only key problems need the file's name to make sense.
    builder.build().map_err(|e| match e {
        Error::Key(_) | Error::AlgKeyMismatch { .. } => format!("{}: {e}", c.key_label()),
        other => other.to_string(),
    })
}

/// The error and its underlying causes (e.g. "connection refused" under an HTTP error).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// What usually causes `error`, in the words of someone who has seen it before.
fn hint(error: &Error, args: &TokenArgs, sent: &Sent, now: OffsetDateTime) -> Option<String> {
    let issuer = &args.client.issuer;
    match error {
        Error::Rejected(r)
            if (r.status == 401 || r.error == "invalid_client") && args.federated.is_some() =>
        {
            Some(federated_hint(args))
        }
        Error::Rejected(r) if r.status == 401 || r.error == "invalid_client" => {
            Some(invalid_client_hint(r, args, sent, now))
        }
        Error::Rejected(r) if r.error == "access_denied" => Some(access_denied_hint(r, args)),
        Error::Rejected(r) if r.error == "unauthorized_client" => Some(
            "the application may not use the client_credentials grant: make it a \
             non_interactive application or add client_credentials to its grant_types"
                .into(),
        ),
        Error::Http { .. } => Some(format!(
            "is the server running and reachable at that address? When the issuer ({issuer}) \
             is not the address this machine reaches the server at (e.g. TLS ends at a proxy), \
             pass --token-endpoint with the URL that works from here"
        )),
        Error::Discovery { .. } => Some(format!(
            "check that --issuer ({issuer}) is the server's issuer, or pass --token-endpoint to \
             skip discovery"
        )),
        Error::IssuerMismatch { discovered, .. } => Some(format!(
            "use --issuer {discovered} (and, if that address is not reachable from here, \
             --token-endpoint)"
        )),
        _ => None,
    }
}

/// Why a token was refused with `access_denied`, read from the description, whose wording
/// signet shares with Auth0 (BEHAVIOUR A.5): each cause has another fix.
#[derive(Debug, PartialEq, Eq)]
enum Denial<'a> {
    /// "Service not found: AUDIENCE": no API has that identifier.
    NoApi,
    /// "Client is not authorized to access …": the API exists, the application has no grant.
    NoGrant,
    /// "Client has not been granted scopes: a, b": the grant exists but lacks these scopes.
    MissingScopes(&'a str),
    /// Another server's wording, or none.
    Unknown,
}

impl<'a> Denial<'a> {
    fn read(description: Option<&'a str>) -> Self {
        let Some(d) = description else {
            return Self::Unknown;
        };
        if let Some(scopes) = d.strip_prefix("Client has not been granted scopes:") {
            Self::MissingScopes(scopes.trim())
        } else if d.starts_with("Service not found") {
            Self::NoApi
        } else if d.starts_with("Client is not authorized to access") {
            Self::NoGrant
        } else {
            Self::Unknown
        }
    }
}

fn access_denied_hint(r: &Rejection, args: &TokenArgs) -> String {
    let issuer = &args.client.issuer;
    let audience = &args.audience;
    let client_id = &args.client.client_id;
    let create_grant = format!(
        "POST {issuer}api/v2/client-grants with \
         {{\"client_id\":\"{client_id}\",\"audience\":\"{audience}\",\"scope\":[…]}}"
    );
    match Denial::read(r.error_description.as_deref()) {
        Denial::MissingScopes(scopes) => format!(
            "the application's client grant for \"{audience}\" does not hold the scope(s) \
             {scopes}. Ask only for granted scopes (without --scope the token carries all of \
             them), or add these to the grant: find its id with GET \
             {issuer}api/v2/client-grants?client_id={client_id}&audience={audience}, then PATCH \
             {issuer}api/v2/client-grants/ID with {{\"scope\":[…]}} listing every scope it \
             should hold (the API must define them)"
        ),
        Denial::NoGrant => format!(
            "the application has no client grant for the API \"{audience}\". Grant it: \
             {create_grant}"
        ),
        Denial::NoApi => format!(
            "no API has the identifier \"{audience}\": --audience must be an API's identifier \
             character for character (trailing slash included). List them with GET \
             {issuer}api/v2/resource-servers; then the application needs a grant: {create_grant}"
        ),
        Denial::Unknown => format!(
            "the application has no client grant for the audience \"{audience}\", no API has \
             that identifier, or the grant lacks a scope asked for. Grant it: {create_grant}"
        ),
    }
}

fn invalid_client_hint(
    r: &Rejection,
    args: &TokenArgs,
    sent: &Sent,
    now: OffsetDateTime,
) -> String {
    // Causes that the evidence at hand rules out are still listed, last, so the reader knows
    // they were considered.
    let mut likely = Vec::new();
    let mut ruled_out = Vec::new();

    match r.server_date.as_deref().and_then(|d| clock_skew(d, now)) {
        Some(s) if s.abs() > SKEW_TOLERANCE_SECS => likely.insert(
            0,
            format!(
                "clock skew: this machine's clock is {} s {} the server's, more than the {} s \
                 servers tolerate, so the assertion looks {} to the server. Synchronise the \
                 clock (NTP)",
                s.abs(),
                if s > 0 { "ahead of" } else { "behind" },
                SKEW_TOLERANCE_SECS,
                if s > 0 {
                    "issued in the future"
                } else {
                    "expired"
                },
            ),
        ),
        Some(_) => ruled_out.push(
            "clock skew: ruled out (this machine's clock agrees with the server's Date header)"
                .to_owned(),
        ),
        None => likely.push(format!(
            "clock skew: this machine's clock must be within {SKEW_TOLERANCE_SECS} s of the \
             server's"
        )),
    }

    let issuer = &args.client.issuer;
    if args.token_endpoint.is_some() {
        likely.push(format!(
            "wrong issuer: --issuer must be the server's issuer character for character (it is \
             the assertion's aud): compare \"{issuer}\" with `issuer` in the server's \
             .well-known/openid-configuration"
        ));
    } else {
        ruled_out.push(format!(
            "wrong issuer: ruled out (the server's discovery document names \"{issuer}\" too)"
        ));
    }

    let kid = match (&sent.kid, &args.client.kid) {
        (None, _) => "no kid was sent".to_owned(),
        (Some(kid), Some(_)) => format!("the kid sent ({kid}, from --kid) must be its kid"),
        (Some(kid), None) => format!(
            "the kid sent ({kid}, the key's thumbprint) must be its kid: for a credential \
             uploaded with its own kid pass --kid KID, or --no-kid"
        ),
    };
    likely.insert(
        likely.len().min(1),
        format!(
            "key not enabled: the public half of {} must be uploaded as a credential of \
             application {} (check --client-id) AND listed in its \
             client_authentication_methods.private_key_jwt.credentials; the credential must \
             not have expired, the alg sent ({}{}) must be its alg, and {kid}",
            args.client.key_label(),
            args.client.client_id,
            sent.alg.map_or("none", Alg::as_str),
            if args.client.alg.is_some() {
                ", from --alg"
            } else {
                ", the key's; --alg sets another"
            },
        ),
    );

    let mut text = String::from("the server refused the client authentication. Usual causes:");
    for cause in likely.iter().chain(&ruled_out) {
        text.push_str("\n  - ");
        text.push_str(cause);
    }
    text.push_str(
        "\nThe server's log names the exact reason (signet: GET /api/v2/logs?type=feccft, \
         details.client_authentication_error).",
    );
    text
}

/// Why a platform token is refused: the credential's rules, which the server's explain route
/// checks one by one.
fn federated_hint(args: &TokenArgs) -> String {
    let issuer = &args.client.issuer;
    let client_id = &args.client.client_id;
    format!(
        "the server refused the platform token. Usual causes:\n  - no federated credential of \
         application {client_id} trusting the token's issuer is listed in its \
         client_authentication_methods.federated.credentials (or it has expired)\n  - the \
         token's subject or a pinned claim (repository, branch, environment, service account) \
         differs from the credential's\n  - the token's aud is not the credential's audience \
         (by default the issuer, {issuer})\n  - the token lives longer than the credential's \
         max_token_lifetime, or has expired\n  - replay once: this token was exchanged \
         before\nPOST {issuer}api/v2/clients/{client_id}/federated/explain with \
         {{\"token\": …}} runs every check and names the one that fails, without using the \
         token; the server's log names it too (GET /api/v2/logs?type=feccft)."
    )
}

/// Seconds this machine's clock is ahead of the server's (negative: behind), from the
/// response's `Date` header. HTTP dates have one-second resolution, so ±1 s is noise.
fn clock_skew(server_date: &str, now: OffsetDateTime) -> Option<i64> {
    let server = OffsetDateTime::parse(server_date, &Rfc2822).ok()?;
    Some((now - server).whole_seconds())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use time::macros::datetime;

    use super::*;
    use crate::cli::client_args::ClientArgs;

    fn args() -> TokenArgs {
        TokenArgs {
            client: ClientArgs {
                issuer: "https://tenant.example.com/".into(),
                client_id: "app-1".into(),
                key: Some(PathBuf::from("key.pem")),
                alg: None,
                kid: None,
                no_kid: false,
                typ: signet_client::Typ::Jwt,
            },
            audience: "https://api.example.com/".into(),
            scope: None,
            token_endpoint: None,
            ca_cert: None,
            federated: None,
        }
    }

    fn sent() -> Sent {
        Sent {
            alg: Some(Alg::RS256),
            kid: Some("thumbprint-of-the-key".into()),
        }
    }

    fn rejected(status: u16, error: &str, date: Option<&str>) -> Error {
        Error::Rejected(Rejection {
            status,
            error: error.into(),
            error_description: Some("Client authentication failed".into()),
            body: String::new(),
            server_date: date.map(str::to_owned),
        })
    }

    #[test]
    fn a_ca_file_that_is_missing_or_holds_no_certificate_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing-ca.pem");
        let error = http_trusting(&missing).unwrap_err();
        assert!(error.contains("missing-ca.pem"), "{error}");
        let empty = dir.path().join("empty-ca.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let error = http_trusting(&empty).unwrap_err();
        assert!(error.contains("empty-ca.pem"), "{error}");
    }

    #[test]
    fn reads_the_skew_from_an_http_date() {
        let now = datetime!(2026-11-28 10:37:51 UTC);
        assert_eq!(clock_skew("Sat, 28 Nov 2026 10:37:21 GMT", now), Some(30));
        assert_eq!(clock_skew("Sat, 28 Nov 2026 10:38:21 GMT", now), Some(-30));
        assert_eq!(clock_skew("yesterday", now), None);
    }

    #[test]
    fn invalid_client_hint_names_issuer_key_and_clock() {
        let now = datetime!(2026-11-28 10:37:21 UTC);
        let hint = hint(
            &rejected(401, "invalid_client", Some("Sat, 28 Nov 2026 10:37:21 GMT")),
            &args(),
            &sent(),
            now,
        )
        .unwrap();
        assert!(hint.contains("wrong issuer: ruled out"), "{hint}");
        assert!(hint.contains("https://tenant.example.com/"), "{hint}");
        assert!(hint.contains("key not enabled"), "{hint}");
        let first = hint.lines().nth(1).unwrap();
        assert!(first.contains("key not enabled"), "{hint}");
        assert!(hint.contains("client_authentication_methods"), "{hint}");
        assert!(hint.contains("clock skew: ruled out"), "{hint}");
    }

    #[test]
    fn invalid_client_hint_names_the_alg_and_kid_sent_and_where_they_came_from() {
        let refused = rejected(401, "invalid_client", None);
        let now = OffsetDateTime::now_utc();
        let hint_for = |args: &TokenArgs, sent: &Sent| hint(&refused, args, sent, now).unwrap();

        let default = hint_for(&args(), &sent());
        assert!(
            default.contains("(RS256, the key's; --alg sets another)"),
            "{default}"
        );
        assert!(
            default.contains("thumbprint-of-the-key, the key's thumbprint"),
            "{default}"
        );
        assert!(default.contains("--no-kid"), "{default}");

        let mut explicit = args();
        explicit.client.alg = Some(Alg::ES256);
        explicit.client.kid = Some("my-own-kid-01".into());
        let sent = Sent {
            alg: Some(Alg::ES256),
            kid: Some("my-own-kid-01".into()),
        };
        let hint = hint_for(&explicit, &sent);
        assert!(hint.contains("(ES256, from --alg)"), "{hint}");
        assert!(hint.contains("(my-own-kid-01, from --kid)"), "{hint}");

        let none = Sent {
            alg: Some(Alg::RS256),
            kid: None,
        };
        assert!(hint_for(&args(), &none).contains("no kid was sent"));
    }

    #[test]
    fn invalid_client_hint_puts_a_measured_skew_first() {
        let now = datetime!(2026-11-28 10:42:21 UTC);
        let hint = hint(
            &rejected(401, "invalid_client", Some("Sat, 28 Nov 2026 10:37:21 GMT")),
            &args(),
            &sent(),
            now,
        )
        .unwrap();
        let first = hint.lines().nth(1).unwrap();
        assert!(first.contains("300 s ahead of the server's"), "{hint}");
    }

    #[test]
    fn invalid_client_hint_suspects_the_issuer_when_discovery_was_skipped() {
        let mut args = args();
        args.token_endpoint = Some("http://127.0.0.1:8080/oauth/token".into());
        let hint = hint(
            &rejected(401, "invalid_client", None),
            &args,
            &sent(),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        assert!(hint.contains("wrong issuer: --issuer must be"), "{hint}");
        assert!(!hint.contains("ruled out"), "{hint}");
    }

    fn denied(description: &str) -> String {
        let error = Error::Rejected(Rejection {
            status: 403,
            error: "access_denied".into(),
            error_description: Some(description.into()),
            body: String::new(),
            server_date: None,
        });
        hint(&error, &args(), &sent(), OffsetDateTime::now_utc()).unwrap()
    }

    #[test]
    fn access_denied_is_read_from_the_servers_description() {
        assert_eq!(
            Denial::read(Some(
                "Client has not been granted scopes: write:reports, delete:reports"
            )),
            Denial::MissingScopes("write:reports, delete:reports")
        );
        assert_eq!(
            Denial::read(Some("Service not found: https://api.example.com/")),
            Denial::NoApi
        );
        assert_eq!(
            Denial::read(Some(
                "Client is not authorized to access \"https://api.example.com/\". You need to \
                 create a \"client-grant\" associated to this API."
            )),
            Denial::NoGrant
        );
        assert_eq!(Denial::read(Some("Forbidden")), Denial::Unknown);
        assert_eq!(Denial::read(None), Denial::Unknown);
    }

    #[test]
    fn access_denied_hint_for_a_missing_scope_names_the_scope_not_a_missing_grant() {
        let hint = denied("Client has not been granted scopes: write:reports");
        assert!(
            hint.contains("does not hold the scope(s) write:reports"),
            "{hint}"
        );
        assert!(
            hint.contains("PATCH https://tenant.example.com/api/v2/client-grants/"),
            "{hint}"
        );
        assert!(!hint.contains("no client grant"), "{hint}");
        assert!(!hint.contains("POST"), "{hint}");
    }

    #[test]
    fn access_denied_hint_without_a_grant_says_how_to_create_one() {
        let hint = denied(
            "Client is not authorized to access \"https://api.example.com/\". You need to \
             create a \"client-grant\" associated to this API.",
        );
        assert!(
            hint.starts_with(
                "the application has no client grant for the API \"https://api.example.com/\""
            ),
            "{hint}"
        );
        assert!(hint.contains("\"client_id\":\"app-1\""), "{hint}");
        assert!(!hint.contains("no API has"), "{hint}");
    }

    #[test]
    fn access_denied_hint_for_an_unknown_api_suspects_the_audience() {
        let hint = denied("Service not found: https://api.example.com/");
        assert!(
            hint.starts_with("no API has the identifier \"https://api.example.com/\""),
            "{hint}"
        );
        assert!(hint.contains("resource-servers"), "{hint}");
    }

    #[test]
    fn access_denied_hint_in_another_wording_lists_every_cause() {
        let hint = hint(
            &rejected(403, "access_denied", None),
            &args(),
            &sent(),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        assert!(hint.contains("no client grant"), "{hint}");
        assert!(hint.contains("no API has that identifier"), "{hint}");
        assert!(hint.contains("lacks a scope"), "{hint}");
        assert!(hint.contains("https://api.example.com/"), "{hint}");
    }

    #[test]
    fn no_hint_for_problems_the_message_already_explains() {
        assert!(
            hint(
                &Error::Lifetime { seconds: 301 },
                &args(),
                &sent(),
                OffsetDateTime::now_utc()
            )
            .is_none()
        );
    }
}
