//! The HTTP server: accepts connections and serves the router over HTTP/1.1 and HTTP/2 (h2c
//! with prior knowledge, or ALPN `h2` over TLS) within [`HttpLimits`], until shutdown, then lets
//! in-flight requests finish. `axum::serve` is not used because it has no timeouts and no
//! connection caps: idle and slowly-writing sockets were held for as long as their clients liked.
//!
//! Each request carries its [`ClientOrigin`] (the client's address and scheme, through trusted
//! proxies); HTTPS responses carry HSTS.

mod activity;
mod body_timeout;
mod caps;
mod fd_limit;
mod throttle;
pub mod tls;
mod watched_io;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Version, header};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tower::{Service, ServiceExt};

use crate::config::{HttpLimits, TrustedProxies};
use crate::http::client_origin::ClientOrigin;
use activity::{Activity, WaitLimits};
use body_timeout::BodyTimeouts;
use caps::{ConnectionCaps, Refusal, Slot};
use throttle::LogThrottle;
use tls::Tls;
use watched_io::WatchedIo;

pub use fd_limit::raise_open_files_limit;

/// How long to pause after `accept` fails for want of resources (descriptors, memory): the
/// pending connection stays in the backlog, so retrying at once would only spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Sent with every HTTPS response (RFC 6797): browsers then refuse plain http to this host for a
/// year. Never over plain HTTP (§7.2: an HSTS host must not send it over non-secure transport).
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

const CLOSE: HeaderValue = HeaderValue::from_static("close");

/// What the server serves: the application's router, or that router inside layers
/// (`http::build_app`).
pub trait App:
    Service<Request<Body>, Response = Response, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> App for S where
    S: Service<Request<Body>, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// How clients reach the server: over TLS or not, and through which proxies.
#[derive(Debug, Clone, Default)]
pub struct Front {
    /// `None`: plain HTTP.
    pub tls: Option<Arc<Tls>>,
    pub trusted_proxies: TrustedProxies,
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and waits for
/// the open connections to finish their requests (idle ones close at once; the timeouts bound
/// the others).
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: &HttpLimits,
    front: Front,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()>
where
    S: App,
{
    limits
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let open_files = raise_open_files_limit();
    let max_connections = fd_limit::connection_ceiling(limits.max_connections, open_files);
    if max_connections < limits.max_connections {
        tracing::warn!(
            asked = limits.max_connections,
            max_connections,
            open_files_limit = open_files,
            "the connection cap is lowered to fit the open-files limit"
        );
    }
    let caps = ConnectionCaps::new(max_connections, limits.max_connections_per_ip);
    let builder = Arc::new(protocols(limits));
    let wait = WaitLimits {
        header: limits.header_timeout,
        idle: limits.idle_timeout,
    };
    let body_timeouts = BodyTimeouts {
        stall: limits.body_timeout,
        deadline: limits.request_timeout,
    };
    // Certificate reloads run while the server does, and stop with it.
    let _reloads = front
        .tls
        .clone()
        .map(|tls| AbortOnDrop(tokio::spawn(tls::watch(tls))));
    let proxies = Arc::new(front.trusted_proxies);
    let graceful = GracefulShutdown::new();
    let mut refused = Refused::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                accept_failed(error, &mut refused.accept_errors).await;
                continue;
            }
        };
        match caps.admit(peer.ip()) {
            Ok(slot) => {
                let connection = Connection {
                    peer,
                    app: app.clone(),
                    body_timeouts,
                    wait,
                    tls: front.tls.clone(),
                    proxies: Arc::clone(&proxies),
                    _slot: slot,
                };
                tokio::spawn(connection.serve(stream, Arc::clone(&builder), graceful.watcher()));
            }
            Err(refusal) => {
                // Accepted only to be closed: the client sees a failure at once instead of
                // waiting in the backlog, and the server spends one descriptor for a moment.
                drop(stream);
                refused.log(refusal, &caps, limits);
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// HTTP/1.1 and HTTP/2, told apart by the HTTP/2 preface.
fn protocols(limits: &HttpLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    // No hyper header timeout for HTTP/1: it restarts whenever a connection goes idle, so it
    // would cut kept-alive connections at the header timeout. `activity` applies both.
    builder
        .http1()
        .header_read_timeout(None)
        .max_buf_size(limits.max_header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_pending_accept_reset_streams(limits.http2_max_pending_resets)
        .keep_alive_interval(limits.http2_keepalive_interval)
        .keep_alive_timeout(limits.http2_keepalive_timeout);
    builder
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Connection<S> {
    peer: SocketAddr,
    app: S,
    body_timeouts: BodyTimeouts,
    wait: WaitLimits,
    tls: Option<Arc<Tls>>,
    proxies: Arc<TrustedProxies>,
    /// Holds the connection's place under the caps until the connection is gone.
    _slot: Slot,
}

impl<S: App> Connection<S> {
    async fn serve(
        self,
        stream: TcpStream,
        builder: Arc<Builder<TokioExecutor>>,
        graceful: Watcher,
    ) {
        let activity = Activity::new(self.wait);
        let service = ConnectionService {
            app: self.app,
            body_timeouts: self.body_timeouts,
            peer: self.peer,
            tls: self.tls.is_some(),
            proxies: self.proxies,
            activity: Arc::clone(&activity),
        };
        let peer = self.peer;
        // The TLS handshake happens here, in the connection's own task and under its header
        // deadline: a client that connects and never says hello is closed like one that never
        // sends its request.
        let served = async {
            match &self.tls {
                None => serve_io(stream, &builder, service, &activity, graceful).await,
                Some(tls) => match tls.acceptor().accept(stream).await {
                    Ok(stream) => serve_io(stream, &builder, service, &activity, graceful).await,
                    Err(error) => {
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                    }
                },
            }
        };
        tokio::select! {
            () = served => {}
            // Dropped, the connection closes its socket without a word, as hyper's own header
            // timeout does: no request is in progress to answer or to announce (HTTP/2 GOAWAY).
            () = activity.expired() => {
                tracing::debug!(%peer, "closed a connection that kept signet waiting");
            }
        }
    }
}

/// HTTP over `stream` (a TCP socket, or the TLS session on one) until it ends.
async fn serve_io<I, S>(
    stream: I,
    builder: &Builder<TokioExecutor>,
    service: ConnectionService<S>,
    activity: &Arc<Activity>,
    graceful: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: App,
{
    let peer = service.peer;
    let io = TokioIo::new(WatchedIo::new(stream, Arc::clone(activity)));
    if let Err(error) = graceful.watch(builder.serve_connection(io, service)).await {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// The router, as seen from one connection: each request learns where it comes from (its
/// peer's address as `ConnectInfo`, its client as [`ClientOrigin`]), counts as activity on the
/// connection, and has its body under the body clocks.
#[derive(Clone)]
struct ConnectionService<S> {
    app: S,
    body_timeouts: BodyTimeouts,
    peer: SocketAddr,
    /// The connection is TLS: every response carries HSTS.
    tls: bool,
    proxies: Arc<TrustedProxies>,
    activity: Arc<Activity>,
}

impl<S: App> hyper::service::Service<Request<Incoming>> for ConnectionService<S> {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        let in_progress = self.activity.request_started(req.version());
        let origin = ClientOrigin::of(self.peer.ip(), self.tls, req.headers(), &self.proxies);
        req.extensions_mut().insert(ConnectInfo(self.peer));
        req.extensions_mut().insert(origin);
        let http1 = req.version() <= Version::HTTP_11;
        let (req, body_watch) = self.body_timeouts.watch(req);
        let app = self.app.clone();
        let tls = self.tls;
        Box::pin(async move {
            let Ok(mut res) = app.oneshot(req).await;
            drop(in_progress);
            if let Some(watch) = body_watch {
                res = watch.answer(res);
            }
            if http1 && body_timeout::leaves_body_unread(res.status()) {
                res.headers_mut().insert(header::CONNECTION, CLOSE);
            }
            if tls {
                res.headers_mut()
                    .insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
            }
            Ok(res)
        })
    }
}

async fn accept_failed(error: io::Error, throttle: &mut LogThrottle) {
    // A connection reset before it was accepted says nothing about the server.
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    ) {
        return;
    }
    if let Some(suppressed) = throttle.allow(Instant::now()) {
        tracing::warn!(%error, suppressed, "cannot accept connections; retrying");
    }
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

/// Throttled warnings about refused connections, one kind apart from the other.
#[derive(Default)]
struct Refused {
    accept_errors: LogThrottle,
    over_total: LogThrottle,
    over_source: LogThrottle,
}

impl Refused {
    fn log(&mut self, refusal: Refusal, caps: &ConnectionCaps, limits: &HttpLimits) {
        let now = Instant::now();
        match refusal {
            Refusal::Total => {
                if let Some(suppressed) = self.over_total.allow(now) {
                    tracing::warn!(
                        open = caps.open_connections(),
                        suppressed,
                        "connection refused: the server holds as many connections as it may"
                    );
                }
            }
            Refusal::PerSource(source) => {
                if let Some(suppressed) = self.over_source.allow(now) {
                    tracing::warn!(
                        %source,
                        max = limits.max_connections_per_ip,
                        suppressed,
                        "connection refused: too many connections from one source"
                    );
                }
            }
        }
    }
}
