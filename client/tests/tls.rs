//! The client over real TLS: an issuer whose certificate comes from a private CA is reached once
//! that CA is trusted through `http_client`, for discovery and the token request alike, and
//! refused with a certificate error when it is not.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use signet_client::{Client, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const KEY: &str = include_str!("../../tests/fixtures/keys/rsa2048.key.pem");

/// A CA, and a certificate it issued for `localhost`.
struct Pki {
    ca_pem: String,
    server_cert: CertificateDer<'static>,
    server_key: PrivateKeyDer<'static>,
}

fn private_ca() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_cert: server_cert.der().clone(),
        server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
    }
}

/// One HTTP/1.1 request: its request line and body.
async fn read_request(conn: &mut (impl AsyncReadExt + Unpin)) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = head.lines().next().unwrap_or_default().to_owned();
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    Some((line, body))
}

/// Serves discovery and the token endpoint over TLS until the test ends; every token request's
/// form body goes to `seen`.
async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    issuer: String,
    seen: tokio::sync::mpsc::UnboundedSender<String>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let (acceptor, issuer, seen) = (acceptor.clone(), issuer.clone(), seen.clone());
        tokio::spawn(async move {
            // A client that does not trust the certificate ends the handshake: nothing to serve.
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                return;
            };
            while let Some((line, body)) = read_request(&mut tls).await {
                let answer = if line.starts_with("GET /.well-known/openid-configuration ") {
                    serde_json::json!({
                        "issuer": issuer,
                        "token_endpoint": format!("{issuer}oauth/token"),
                    })
                } else if line.starts_with("POST /oauth/token ") {
                    let _ = seen.send(body);
                    serde_json::json!({
                        "access_token": "issued-over-tls",
                        "token_type": "Bearer",
                        "expires_in": 3600,
                    })
                } else {
                    serde_json::json!({"error": "not_found"})
                };
                let text = answer.to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
                    text.len()
                );
                if tls.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[tokio::test]
async fn gets_a_token_from_an_issuer_with_a_private_ca_only_when_that_ca_is_trusted() {
    let pki = private_ca();
    let config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.server_cert], pki.server_key)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!(
        "https://localhost:{}/",
        listener.local_addr().unwrap().port()
    );
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(serve(
        listener,
        TlsAcceptor::from(Arc::new(config)),
        issuer.clone(),
        seen_tx,
    ));

    let untrusting = Client::builder(&issuer, "app", KEY).build().unwrap();
    let refused = untrusting.token("https://api.example/").await.unwrap_err();
    assert!(matches!(refused, Error::Http { .. }), "{refused:?}");
    assert!(
        format!("{refused:?}")
            .to_lowercase()
            .contains("certificate"),
        "the error names the certificate: {refused:?}"
    );

    let http = reqwest::Client::builder()
        .tls_certs_merge([reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let trusting = Client::builder(&issuer, "app", KEY)
        .http_client(http)
        .build()
        .unwrap();
    let token = trusting.token("https://api.example/").await.unwrap();
    assert_eq!(token.as_str(), "issued-over-tls");

    // What reached the token endpoint over TLS: a Private Key JWT for that issuer.
    let body = seen.recv().await.unwrap();
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(form["audience"], "https://api.example/");
    let payload = form["client_assertion"].split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["aud"], issuer.as_str());
    assert_eq!(claims["iss"], "app");
}
