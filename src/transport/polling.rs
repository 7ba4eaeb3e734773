//! HTTP long-polling: GET waits for what the session has to send, POST
//! carries what the client sends.

use actix_web::{HttpResponse, web};
use bytes::BytesMut;
use confab_actors::DisconnectReason;
use confab_actors::Engine;
use confab_actors::handshake::Handshake;
use confab_actors::protocol::engineio::{PayloadError, decode_payload};
use confab_actors::session::{
    CloseSession, Inbound, NewTransport, Poll, PollError, Session, TransportKind,
};
use futures_util::StreamExt;
use tracing::debug;

use super::EngineIoError;

const TEXT: &str = "text/plain; charset=UTF-8";

/// The handshake over polling: the open packet is the first GET's answer.
pub async fn open(engine: &Engine, handshake: Handshake) -> Result<HttpResponse, EngineIoError> {
    poll(engine.open(handshake, NewTransport::Polling)).await
}

pub async fn poll(session: actix::Addr<Session>) -> Result<HttpResponse, EngineIoError> {
    match session.send(Poll).await {
        Ok(Ok(payload)) => Ok(HttpResponse::Ok().content_type(TEXT).body(payload)),
        Ok(Err(PollError::Overlap | PollError::NotPolling)) => Err(EngineIoError::BadRequest),
        Err(_) => Err(EngineIoError::UnknownSid),
    }
}

pub async fn post(
    mut body: web::Payload,
    engine: &Engine,
    session: actix::Addr<Session>,
) -> Result<HttpResponse, EngineIoError> {
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
    match decode_payload(bytes.freeze(), max) {
        Ok(packets) => {
            session.do_send(Inbound {
                packets,
                via: TransportKind::Polling,
            });
            Ok(HttpResponse::Ok().content_type("text/html").body("ok"))
        }
        Err(PayloadError::TooLarge { .. }) => Err(EngineIoError::PayloadTooLarge),
        Err(err) => {
            debug!(%err, "malformed polling payload, closing the session");
            session.do_send(CloseSession(DisconnectReason::ParseError));
            Err(EngineIoError::BadRequest)
        }
    }
}
