//! HTTP long-polling: GET waits for what the session has to send, POST
//! carries what the client sends.

use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::BytesMut;
use confab_engine::DisconnectReason;
use confab_engine::Engine;
use confab_engine::handshake::Handshake;
use confab_engine::protocol::engineio::{PayloadError, decode_payload};
use confab_engine::session::{
    Inbound, NewTransport, Packets, Poll, PollError, Session, SessionRequest, TransportKind,
};
use futures_util::StreamExt;
use tracing::debug;

use super::EngineIoError;

/// Static: a header value built from a `&str` would be copied on each answer.
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=UTF-8");
const HTML: HeaderValue = HeaderValue::from_static("text/html");

/// The handshake over polling: the open packet is the first GET's answer.
pub async fn open(engine: &Engine, handshake: Handshake) -> Result<HttpResponse, EngineIoError> {
    poll(engine, engine.open(handshake, NewTransport::Polling)).await
}

pub async fn poll(
    engine: &Engine,
    session: actix::Addr<Session>,
) -> Result<HttpResponse, EngineIoError> {
    // A GET the client abandons (the connection drops while it is parked)
    // ends the session, as in the Node server; the guard notices the drop.
    let guard = AbandonGuard(Some(session.clone()));
    let answer = session.send(Poll).await;
    guard.defuse();
    match answer {
        Ok(Ok(payload)) => {
            confab_engine::Stats::add(&engine.stats().bytes_out, payload.len() as u64);
            Ok(HttpResponse::Ok().content_type(TEXT).body(payload))
        }
        Ok(Err(PollError::Overlap | PollError::NotPolling)) => Err(EngineIoError::BadRequest),
        Err(_) => Err(EngineIoError::UnknownSid),
    }
}

/// Closes the session if a parked GET is dropped before its answer.
struct AbandonGuard(Option<actix::Addr<Session>>);

impl AbandonGuard {
    fn defuse(mut self) {
        self.0 = None;
    }
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if let Some(session) = self.0.take() {
            debug!("polling GET abandoned by the client, closing its session");
            session.do_send(SessionRequest::Close(DisconnectReason::TransportClose));
        }
    }
}

pub async fn post(
    req: &HttpRequest,
    mut body: web::Payload,
    engine: &Engine,
    session: actix::Addr<Session>,
) -> Result<HttpResponse, EngineIoError> {
    // Engine.IO v4 polling carries text only (binary as base64).
    let binary = req
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/octet-stream"));
    if binary {
        confab_engine::Stats::bump(&engine.stats().malformed_packets);
        session.do_send(SessionRequest::Close(DisconnectReason::ParseError));
        return Err(EngineIoError::BadRequest);
    }
    let max = engine.config().max_payload;
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| EngineIoError::BadRequest)?;
        if bytes.len() + chunk.len() > max {
            debug!(max, "polling body over maxPayload");
            return Err(EngineIoError::PayloadTooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    confab_engine::Stats::add(&engine.stats().bytes_in, bytes.len() as u64);
    match decode_payload(bytes.freeze(), max) {
        Ok(packets) => match session
            .send(Inbound {
                packets: Packets::Batch(packets),
                via: TransportKind::Polling,
            })
            .await
        {
            Ok(Ok(())) => Ok(HttpResponse::Ok().content_type(HTML).body("ok")),
            Ok(Err(_)) => Err(EngineIoError::BadRequest),
            Err(_) => Err(EngineIoError::UnknownSid),
        },
        Err(PayloadError::TooLarge { .. }) => Err(EngineIoError::PayloadTooLarge),
        Err(err) => {
            debug!(%err, "malformed polling payload, closing the session");
            confab_engine::Stats::bump(&engine.stats().malformed_packets);
            session.do_send(SessionRequest::Close(DisconnectReason::ParseError));
            Err(EngineIoError::BadRequest)
        }
    }
}
