//! Request bodies that stall or drip are cut off, and the request is answered 408 in the shape
//! of the endpoint it was for (the token endpoint's, or the Management API's elsewhere).
//!
//! Two clocks run on every body: a stall timer, reset by every piece of data (tower-http's
//! `TimeoutBody`), and a deadline counted from the complete headers (`DeadlineBody`), so that a
//! byte every few seconds cannot hold a connection either.
//!
//! Chunked bodies need no cap on the announced chunk size: hyper parses the size into a `u64`
//! (refusing overflow) and hands on data as it arrives, never reserving what was announced. A
//! chunk of `ffffffffffffffff` bytes is thus a body like any other: the body limits
//! (`DefaultBodyLimit`) count the bytes actually received, and these clocks end it when they stop
//! coming.
//!
//! Applied by the connection's service rather than as router middleware: that service already
//! holds each request's future, and a middleware layer would add its own boxed future and
//! service clone to every token request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tower_http::timeout::{DeadlineBody, TimeoutBody, TimeoutError};

use crate::http::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct BodyTimeouts {
    /// The longest wait for the next piece of a body.
    pub stall: Duration,
    /// The longest wait from the headers to the end of the body.
    pub deadline: Duration,
}

/// Tells, once the request is answered, whether its body ran out of time.
pub struct BodyWatch {
    timed_out: Arc<AtomicBool>,
    token_endpoint: bool,
}

impl BodyTimeouts {
    /// The request with its body under both clocks, and the watch over them; no watch for a
    /// request that has no body to wait for.
    pub fn watch(self, req: Request<Incoming>) -> (Request<Body>, Option<BodyWatch>) {
        if req.body().is_end_stream() {
            return (req.map(Body::new), None);
        }
        let watch = BodyWatch {
            timed_out: Arc::new(AtomicBool::new(false)),
            token_endpoint: req.uri().path() == "/oauth/token",
        };
        let flag = Arc::clone(&watch.timed_out);
        let req = req.map(|body| {
            let timed = DeadlineBody::new(self.deadline, TimeoutBody::new(self.stall, body))
                .map_err(move |e| {
                    if e.is::<TimeoutError>() {
                        flag.store(true, Ordering::Release);
                    }
                    e
                });
            Body::new(timed)
        });
        (req, Some(watch))
    }
}

impl BodyWatch {
    /// The answer to send: the handler's, or 408 when the body ran out of time (the handler saw
    /// an unreadable body and answered 400; the cause was the client's pace).
    pub fn answer(self, res: Response) -> Response {
        if !self.timed_out.load(Ordering::Acquire) {
            return res;
        }
        if self.token_endpoint {
            crate::http::token::request_timeout()
        } else {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "The request body was not received in time.",
            )
            .into_response()
        }
    }
}

/// The answer leaves part of the request's body unread (refused as too large, or cut off by a
/// clock): the connection cannot carry another HTTP/1.1 request, and saying `Connection: close`
/// lets the client know before it reuses it (RFC 9112 §9.6), instead of finding out from a reset.
pub fn leaves_body_unread(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT
    )
}
