//! Deadlines for request bodies.
//!
//! actix-web cuts a request whose headers come slowly
//! (`HttpServer::client_request_timeout`, 5 s by default) and bounds how
//! long a connection lingers after its response
//! (`client_disconnect_timeout`), but neither covers the body: a POST
//! sending one byte every two seconds holds its connection, and a file
//! descriptor, for as long as it likes. [`BodyDeadline`], an actix-web
//! middleware wrapped around the whole app, gives every body one deadline,
//! whoever reads it (the polling POST, the `/api` JSON extractors, the
//! multipart upload, an application's own routes):
//!
//! - the body has `grace` from the end of its headers, extended by one
//!   second for every `min_rate` bytes received (Apache's mod_reqtimeout
//!   `body=20,MinRate=500`): a slow but honest link keeps going, a trickle
//!   does not;
//! - past the deadline the next read of the body fails, and the request is
//!   answered 408 and its connection closed, whatever the handler made of
//!   the failed read;
//! - a response to a request whose body was not read to its end closes the
//!   connection too: otherwise actix-http would drain a chunked body after
//!   the response for as long as it trickles.
//!
//! Requests without a body, and WebSocket upgrades (whose body is the
//! WebSocket), are left alone.

use std::cell::{Cell, RefCell};
use std::future::{Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::error::PayloadError;
use actix_web::http::{Method, StatusCode, header};
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, HttpResponse};
use futures_util::future::LocalBoxFuture;
use futures_util::{Stream, StreamExt};
use tokio::time::{Instant, Sleep, sleep_until};
use tracing::debug;

/// The deadline every request body gets: `App::new().wrap(BodyDeadline::new(..))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDeadline {
    grace: Duration,
    min_rate: u64,
}

impl BodyDeadline {
    /// `grace` for the body (zero: no deadline at all), plus a second per
    /// `min_rate` bytes received (zero: `grace` is the whole body's).
    pub fn new(grace: Duration, min_rate: u64) -> BodyDeadline {
        BodyDeadline { grace, min_rate }
    }

    /// From the configuration's `body_timeout_ms` and `body_min_rate`.
    pub fn from_config(config: &crate::Config) -> BodyDeadline {
        BodyDeadline::new(
            Duration::from_millis(config.body_timeout_ms),
            config.body_min_rate,
        )
    }

    /// When a body begun at `start` must have ended, `received` bytes in.
    fn deadline(&self, start: Instant, received: u64) -> Instant {
        let earned = match self.min_rate {
            0 => Duration::ZERO,
            rate => Duration::from_secs_f64(received as f64 / rate as f64),
        };
        start + self.grace + earned
    }

    fn applies(&self, req: &ServiceRequest) -> bool {
        let headers = req.headers();
        let websocket = req.method() == Method::GET
            && headers
                .get(header::UPGRADE)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
        let sized = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
        !self.grace.is_zero()
            && !websocket
            && (sized || headers.contains_key(header::TRANSFER_ENCODING))
    }
}

/// How far the body has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Reading,
    Ended,
    Expired,
}

/// The request body, shared by the stream the handler reads and the
/// middleware: after the handler, the middleware knows how far it got,
/// and can keep it from being dropped (and drained) until the response
/// is out.
struct Body {
    payload: RefCell<Payload>,
    progress: Cell<Progress>,
}

/// The body as the handler reads it: the original, failing once the
/// deadline has passed.
struct Timed {
    body: Rc<Body>,
    policy: BodyDeadline,
    start: Instant,
    received: u64,
    timer: Pin<Box<Sleep>>,
}

fn too_slow() -> PayloadError {
    PayloadError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the request body did not arrive in time",
    ))
}

impl Timed {
    fn expire(&self) -> Poll<Option<Result<Bytes, PayloadError>>> {
        debug!(received = self.received, "request body too slow: 408");
        self.body.progress.set(Progress::Expired);
        Poll::Ready(Some(Err(too_slow())))
    }
}

impl Stream for Timed {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match this.body.progress.get() {
            Progress::Ended => return Poll::Ready(None),
            Progress::Expired => return Poll::Ready(Some(Err(too_slow()))),
            Progress::Reading => {}
        }
        let next = this.body.payload.borrow_mut().poll_next_unpin(cx);
        match next {
            Poll::Ready(Some(Ok(chunk))) => {
                this.received += chunk.len() as u64;
                let deadline = this.policy.deadline(this.start, this.received);
                if Instant::now() >= deadline {
                    return this.expire();
                }
                this.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                this.body.progress.set(Progress::Ended);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err))),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => this.expire(),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// A response body that holds the request's body: while it is alive,
/// actix-http sees the request body unread and closes the connection after
/// the response, instead of draining what still trickles in.
struct Held {
    body: BoxBody,
    _request_body: Rc<Body>,
}

impl MessageBody for Held {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

impl<S, B> Transform<S, ServiceRequest> for BodyDeadline
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = BodyDeadlineService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BodyDeadlineService {
            service,
            policy: *self,
        }))
    }
}

/// [`BodyDeadline`] around a service.
pub struct BodyDeadlineService<S> {
    service: S,
    policy: BodyDeadline,
}

impl<S, B> Service<ServiceRequest> for BodyDeadlineService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<ServiceResponse<BoxBody>, Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        if !self.policy.applies(&req) {
            let response = self.service.call(req);
            return Box::pin(async move { Ok(response.await?.map_into_boxed_body()) });
        }
        let body = Rc::new(Body {
            payload: RefCell::new(req.take_payload()),
            progress: Cell::new(Progress::Reading),
        });
        let start = Instant::now();
        req.set_payload(Payload::Stream {
            payload: Box::pin(Timed {
                body: body.clone(),
                policy: self.policy,
                start,
                received: 0,
                timer: Box::pin(sleep_until(self.policy.deadline(start, 0))),
            }),
        });
        let response = self.service.call(req);
        Box::pin(async move {
            let response = response.await?;
            let progress = body.progress.get();
            let held = move |response: ServiceResponse<BoxBody>| {
                response.map_body(|head, inner| {
                    head.set_connection_type(actix_web::http::ConnectionType::Close);
                    BoxBody::new(Held {
                        body: inner,
                        _request_body: body,
                    })
                })
            };
            Ok(match progress {
                Progress::Ended => response.map_into_boxed_body(),
                Progress::Reading => held(response.map_into_boxed_body()),
                Progress::Expired => {
                    let (req, _) = response.into_parts();
                    let timeout = HttpResponse::build(StatusCode::REQUEST_TIMEOUT)
                        .force_close()
                        .content_type("text/plain; charset=utf-8")
                        .body("the request body did not arrive in time");
                    held(ServiceResponse::new(req, timeout))
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_min_rate_of_bytes_earns_a_second() {
        let start = Instant::now();
        let policy = BodyDeadline::new(Duration::from_secs(20), 500);
        assert_eq!(policy.deadline(start, 0), start + Duration::from_secs(20));
        assert_eq!(
            policy.deadline(start, 5_000),
            start + Duration::from_secs(30)
        );
        let whole = BodyDeadline::new(Duration::from_secs(20), 0);
        assert_eq!(
            whole.deadline(start, 1_000_000),
            start + Duration::from_secs(20)
        );
    }
}
