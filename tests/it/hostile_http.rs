//! The server under hostile traffic: silent and slow clients, endless bodies and floods of
//! connections from one source are cut off, while other clients are still served. The database
//! plays no part here, so these run on SQLite only, with short limits.
//!
//! Attackers connect from other loopback addresses (Linux routes all of 127/8 to loopback), so
//! the legitimate client on 127.0.0.1 is another source.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use signet::config::HttpLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout};

use crate::helpers::{Database, Db, TestApp};

/// A bound that only a missing protection reaches: each test's limits are a few seconds.
const NEVER: Duration = Duration::from_secs(30);

const SLOWLORIS_SOCKETS: usize = 2_000;

async fn start(limits: HttpLimits) -> TestApp {
    let db = Database::create(Db::Sqlite)
        .await
        .expect("SQLite needs no server");
    TestApp::start(db, move |mut settings| {
        settings.http = limits;
        settings
    })
    .await
}

fn address(app: &TestApp) -> SocketAddr {
    app.base.trim_start_matches("http://").parse().unwrap()
}

async fn connect_from(source: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// A request from 127.0.0.1 on a new connection: answered, and in under a second.
async fn assert_served_promptly(app: &TestApp) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let res = client.get(app.url("/healthz")).send().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        elapsed < Duration::from_secs(1),
        "a legitimate request took {elapsed:?}"
    );
}

/// Reads until the server closes the connection (end of stream or reset); returns what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = timeout(NEVER, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the connection open");
    received
}

/// An HTTP/1.1 response: status, head, body.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn parse(bytes: &[u8]) -> Option<Self> {
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
        let status = head.split(' ').nth(1)?.parse().ok()?;
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let body = bytes.get(end + 4..end + 4 + length)?.to_vec();
        Some(Self { status, head, body })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Reads one response off a connection kept open; `None` when the server closed it instead.
async fn read_response(stream: &mut TcpStream) -> Option<Answer> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    timeout(NEVER, async {
        loop {
            if let Some(answer) = Answer::parse(&received) {
                return Some(answer);
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server neither answered nor closed the connection")
}

const HEALTH_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: signet\r\n\r\n";

/// Sends a header line every so often until the server hangs up.
async fn drip_headers_until_closed(mut stream: TcpStream) {
    let (mut reader, mut writer) = stream.split();
    let mut buf = [0u8; 1024];
    let give_up = Instant::now() + NEVER;
    loop {
        tokio::select! {
            read = reader.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            () = tokio::time::sleep(Duration::from_millis(400)) => {
                let _ = writer.write_all(b"X-Slow: 1\r\n").await;
            }
            () = tokio::time::sleep_until(give_up) => panic!("a slowloris socket was never closed"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_sockets_are_closed_by_the_header_timeout_while_others_are_served() {
    // This test holds both ends of every socket.
    signet::http::server::raise_open_files_limit();
    let app = start(HttpLimits {
        header_timeout: Duration::from_secs(3),
        max_connections_per_ip: 2 * SLOWLORIS_SOCKETS,
        ..HttpLimits::default()
    })
    .await;
    let server = address(&app);
    let mut attackers = Vec::with_capacity(SLOWLORIS_SOCKETS);
    for _ in 0..SLOWLORIS_SOCKETS {
        let mut stream = connect_from("127.0.0.2", server).await;
        stream
            .write_all(b"POST /oauth/token HTTP/1.1\r\nHost: signet\r\n")
            .await
            .unwrap();
        attackers.push(stream);
    }

    assert_served_promptly(&app).await;

    let mut dripping = JoinSet::new();
    for stream in attackers {
        dripping.spawn(drip_headers_until_closed(stream));
    }
    while let Some(done) = dripping.join_next().await {
        done.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_complete_a_first_request_are_closed_by_the_header_timeout() {
    let app = start(HttpLimits {
        header_timeout: Duration::from_secs(1),
        ..HttpLimits::default()
    })
    .await;
    let server = address(&app);
    let mut silent = connect_from("127.0.0.2", server).await;
    // Half the HTTP/2 preface: the protocol is not even known yet.
    let mut half_preface = connect_from("127.0.0.2", server).await;
    half_preface.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    // A whole HTTP/2 handshake, then no request.
    let mut http2_without_request = connect_from("127.0.0.2", server).await;
    http2_without_request
        .write_all(&[HTTP2_PREFACE, EMPTY_SETTINGS].concat())
        .await
        .unwrap();

    assert_served_promptly(&app).await;

    read_until_closed(&mut silent).await;
    read_until_closed(&mut half_preface).await;
    read_until_closed(&mut http2_without_request).await;
}

/// `POST` headers announcing a chunked body, then one chunk of 2^64 - 1 bytes.
fn endless_chunked_post(path: &str, content_type: &str, authorization: Option<&str>) -> Vec<u8> {
    let authorization = authorization
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: signet\r\nContent-Type: {content_type}\r\n{authorization}\
         Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"
    )
    .into_bytes()
}

fn short_body_timeouts() -> HttpLimits {
    HttpLimits {
        body_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        ..HttpLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_never_ending_chunked_body_to_the_token_endpoint_is_answered_408_in_its_shape() {
    let app = start(short_body_timeouts()).await;
    let mut stream = connect_from("127.0.0.2", address(&app)).await;
    let request = endless_chunked_post("/oauth/token", "application/x-www-form-urlencoded", None);
    stream.write_all(&request).await.unwrap();

    assert_served_promptly(&app).await;

    let answer = Answer::parse(&read_until_closed(&mut stream).await).expect("an answer");
    assert_eq!(answer.status, 408);
    assert!(answer.head.contains("connection: close"), "{}", answer.head);
    assert!(
        answer.head.contains("cache-control: no-store"),
        "{}",
        answer.head
    );
    let body = answer.json();
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_never_ending_chunked_body_to_the_management_api_is_answered_408_in_its_shape() {
    let app = start(short_body_timeouts()).await;
    let token = app.management_token().await;
    let mut stream = connect_from("127.0.0.2", address(&app)).await;
    let request = endless_chunked_post("/api/v2/clients", "application/json", Some(&token));
    stream.write_all(&request).await.unwrap();

    assert_served_promptly(&app).await;

    let answer = Answer::parse(&read_until_closed(&mut stream).await).expect("an answer");
    assert_eq!(answer.status, 408);
    let body = answer.json();
    assert_eq!(body["statusCode"], 408, "{body}");
    assert_eq!(body["errorCode"], "request_timeout", "{body}");
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_dripping_a_byte_at_a_time_is_ended_by_the_request_deadline() {
    let app = start(short_body_timeouts()).await;
    let stream = connect_from("127.0.0.2", address(&app)).await;
    let (mut reader, mut writer) = stream.into_split();
    let request = endless_chunked_post("/oauth/token", "application/x-www-form-urlencoded", None);
    writer.write_all(&request).await.unwrap();
    // Well inside the stall timeout, so only the deadline can end it.
    let drip = tokio::spawn(async move {
        while writer.write_all(b"a").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });

    assert_served_promptly(&app).await;

    let mut received = Vec::new();
    timeout(NEVER, reader.read_to_end(&mut received))
        .await
        .expect("the dripping request was never ended")
        .ok();
    drip.abort();
    let answer = Answer::parse(&received).expect("an answer");
    assert_eq!(answer.status, 408);
    assert_eq!(answer.json()["error"], "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let app = start(HttpLimits {
        // Far beyond the test: only the idle timeout can close the connection.
        header_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(1),
        ..HttpLimits::default()
    })
    .await;
    let mut stream = connect_from("127.0.0.2", address(&app)).await;
    stream.write_all(HEALTH_REQUEST).await.unwrap();
    let answer = read_response(&mut stream).await.expect("an answer");
    assert_eq!(answer.status, 200);
    assert!(
        !answer.head.contains("connection: close"),
        "{}",
        answer.head
    );

    read_until_closed(&mut stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_whose_next_headers_stall_is_closed_by_the_header_timeout() {
    let app = start(HttpLimits {
        header_timeout: Duration::from_secs(1),
        // Far beyond the test: only the header timeout can close the connection.
        idle_timeout: Duration::from_secs(600),
        ..HttpLimits::default()
    })
    .await;
    let mut stream = connect_from("127.0.0.2", address(&app)).await;
    stream.write_all(HEALTH_REQUEST).await.unwrap();
    assert_eq!(
        read_response(&mut stream).await.map(|a| a.status),
        Some(200)
    );
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: signet\r\n")
        .await
        .unwrap();

    read_until_closed(&mut stream).await;
}

/// Opens `n` connections from `source` and asks each for `/healthz`: how many were answered,
/// and how many closed without an answer.
async fn answered_and_closed(server: SocketAddr, source: &str, n: usize) -> (usize, usize) {
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        streams.push(connect_from(source, server).await);
    }
    let (mut answered, mut closed) = (0, 0);
    for stream in &mut streams {
        // A refused connection may already be gone: the write can fail too.
        let _ = stream.write_all(HEALTH_REQUEST).await;
        match read_response(stream).await {
            Some(answer) if answer.status == 200 => answered += 1,
            Some(answer) => panic!("unexpected answer {}", answer.status),
            None => closed += 1,
        }
    }
    (answered, closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_per_source_cap_are_closed_at_once_while_other_sources_are_served() {
    const CAP: usize = 20;
    let app = start(HttpLimits {
        max_connections_per_ip: CAP,
        // The admitted connections must stay open for the whole test.
        header_timeout: Duration::from_secs(600),
        ..HttpLimits::default()
    })
    .await;
    let server = address(&app);
    let mut held = Vec::with_capacity(CAP);
    for _ in 0..CAP {
        held.push(connect_from("127.0.0.3", server).await);
    }

    assert_eq!(answered_and_closed(server, "127.0.0.3", 10).await, (0, 10));
    assert_served_promptly(&app).await;
    for stream in &mut held {
        stream.write_all(HEALTH_REQUEST).await.unwrap();
        assert_eq!(read_response(stream).await.map(|a| a.status), Some(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_total_cap_are_closed_at_once() {
    let app = start(HttpLimits {
        max_connections: 5,
        header_timeout: Duration::from_secs(600),
        ..HttpLimits::default()
    })
    .await;
    let server = address(&app);
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(connect_from("127.0.0.4", server).await);
    }
    // Another source is refused as well: the cap is the server's.
    assert_eq!(answered_and_closed(server, "127.0.0.5", 3).await, (0, 3));
    for stream in &mut held {
        stream.write_all(HEALTH_REQUEST).await.unwrap();
        assert_eq!(read_response(stream).await.map(|a| a.status), Some(200));
    }
}

const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// A SETTINGS frame with no settings: length 0, type 4, no flags, stream 0.
const EMPTY_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

/// Reads one HTTP/2 frame: (type, flags, stream, payload).
async fn read_frame(stream: &mut TcpStream) -> (u8, u8, u32, Vec<u8>) {
    let mut head = [0u8; 9];
    timeout(NEVER, stream.read_exact(&mut head))
        .await
        .expect("a frame in time")
        .unwrap();
    let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    let mut payload = vec![0; length];
    stream.read_exact(&mut payload).await.unwrap();
    (head[3], head[4], id, payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge_is_served_and_announces_its_limits() {
    let app = start(HttpLimits::default()).await;
    let mut stream = connect_from("127.0.0.2", address(&app)).await;
    // HEADERS on stream 1, END_STREAM | END_HEADERS, HPACK without Huffman coding:
    // :method GET, :scheme http, :path /healthz, :authority signet.
    let mut block = vec![0x82, 0x86, 0x44, 8];
    block.extend_from_slice(b"/healthz");
    block.extend_from_slice(&[0x41, 6]);
    block.extend_from_slice(b"signet");
    let mut headers = vec![0, 0, block.len() as u8, 1, 0x5, 0, 0, 0, 1];
    headers.extend_from_slice(&block);
    stream
        .write_all(&[HTTP2_PREFACE, EMPTY_SETTINGS, &headers].concat())
        .await
        .unwrap();

    let (kind, _, _, settings) = read_frame(&mut stream).await;
    assert_eq!(kind, 4, "the server's first frame is its SETTINGS");
    let announced: Vec<(u16, u32)> = settings
        .chunks_exact(6)
        .map(|s| {
            (
                u16::from_be_bytes([s[0], s[1]]),
                u32::from_be_bytes([s[2], s[3], s[4], s[5]]),
            )
        })
        .collect();
    // SETTINGS_MAX_CONCURRENT_STREAMS and SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2).
    assert!(announced.contains(&(0x3, 100)), "{announced:?}");
    assert!(announced.contains(&(0x6, 16 * 1024)), "{announced:?}");

    loop {
        let (kind, _, id, payload) = read_frame(&mut stream).await;
        if kind == 1 && id == 1 {
            // HPACK static table entry 8 is `:status 200`.
            assert_eq!(payload.first(), Some(&0x88), "{payload:?}");
            break;
        }
    }
}
