//! The WebSocket transport, on actix-web-actors. This is the only module
//! that touches that crate, so moving to its successor is one file.
//!
//! One actor per WebSocket: text and binary frames in become Engine.IO
//! packets for the session; frames the session writes go out unchanged.

use actix::prelude::*;
use actix_http::ws::Item;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws::{self, CloseCode, CloseReason, Message, ProtocolError};
use bytes::{Bytes, BytesMut};
use confab_actors::handshake::Handshake;
use confab_actors::protocol::engineio::{Frame, Packet, decode_text};
use confab_actors::session::{
    AttachProbe, CloseSession, Inbound, NewTransport, Packets, Session, TransportClosed,
    TransportKind, WsOut,
};
use confab_actors::{DisconnectReason, Engine};
use tracing::debug;

use super::EngineIoError;

/// A new connection that starts on WebSocket.
pub fn open(
    req: &HttpRequest,
    body: web::Payload,
    engine: &Engine,
    handshake: Handshake,
) -> Result<HttpResponse, EngineIoError> {
    start(req, body, engine, Role::Open(Box::new(handshake)))
}

/// A WebSocket joining a polling session: the upgrade probe.
pub fn upgrade(
    req: &HttpRequest,
    body: web::Payload,
    engine: &Engine,
    session: Addr<Session>,
) -> Result<HttpResponse, EngineIoError> {
    start(req, body, engine, Role::Probe(session))
}

fn start(
    req: &HttpRequest,
    body: web::Payload,
    engine: &Engine,
    role: Role,
) -> Result<HttpResponse, EngineIoError> {
    let actor = WsTransport {
        engine: engine.clone(),
        role: Some(role),
        session: None,
        fragments: None,
    };
    ws::WsResponseBuilder::new(actor, req, body)
        .frame_size(engine.config().max_payload)
        .start()
        .map_err(|_| EngineIoError::BadRequest)
}

enum Role {
    Open(Box<Handshake>),
    Probe(Addr<Session>),
}

struct WsTransport {
    engine: Engine,
    role: Option<Role>,
    session: Option<Addr<Session>>,
    /// A fragmented message being reassembled (text?, bytes so far).
    fragments: Option<(bool, BytesMut)>,
}

impl WsTransport {
    fn deliver(&mut self, packet: Packet) {
        if let Some(session) = &self.session {
            session.do_send(Inbound {
                packets: Packets::One(packet),
                via: TransportKind::WebSocket,
            });
        }
    }

    fn on_text(&mut self, text: bytestring::ByteString, ctx: &mut ws::WebsocketContext<Self>) {
        match decode_text(text) {
            Ok(packet) => self.deliver(packet),
            Err(err) => {
                debug!(%err, "malformed Engine.IO packet on websocket");
                if let Some(session) = &self.session {
                    session.do_send(CloseSession(DisconnectReason::ParseError));
                }
                self.close_quietly(ctx);
            }
        }
    }

    fn on_message(&mut self, text: bool, data: Bytes, ctx: &mut ws::WebsocketContext<Self>) {
        if !text {
            return self.deliver(Packet::Binary(data));
        }
        match bytestring::ByteString::try_from(data) {
            Ok(text) => self.on_text(text, ctx),
            Err(_) => self.close(ctx, CloseCode::Invalid),
        }
    }

    /// A close frame without a code, as the Node server sends.
    fn close_quietly(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        ctx.close(None);
        ctx.stop();
    }

    fn close(&mut self, ctx: &mut ws::WebsocketContext<Self>, code: CloseCode) {
        ctx.close(Some(CloseReason::from(code)));
        ctx.stop();
    }
}

impl Actor for WsTransport {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Bounds what the session may queue here (see `Session::write`).
        ctx.set_mailbox_capacity(self.engine.config().max_buffered_frames);
        let sink = ctx.address().recipient();
        match self.role.take() {
            Some(Role::Open(handshake)) => {
                self.session = Some(self.engine.open(*handshake, NewTransport::WebSocket(sink)));
            }
            Some(Role::Probe(session)) => {
                // Hold every frame until the session accepts the probe.
                ctx.wait(session.send(AttachProbe(sink)).into_actor(self).map(
                    move |accepted, act, ctx| match accepted {
                        Ok(Ok(())) => act.session = Some(session),
                        _ => act.close_quietly(ctx),
                    },
                ));
            }
            None => {}
        }
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(session) = &self.session {
            session.do_send(TransportClosed(TransportKind::WebSocket));
        }
    }
}

impl Handler<WsOut> for WsTransport {
    type Result = ();
    fn handle(&mut self, msg: WsOut, ctx: &mut Self::Context) {
        match msg {
            WsOut::Frames(frames) => {
                for frame in frames.iter() {
                    match frame {
                        Frame::Text(text) => ctx.text(text.clone()),
                        Frame::Binary(data) => ctx.binary(data.clone()),
                    }
                }
            }
            WsOut::Close => {
                self.session = None;
                self.close_quietly(ctx);
            }
        }
    }
}

impl StreamHandler<Result<Message, ProtocolError>> for WsTransport {
    fn handle(&mut self, msg: Result<Message, ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(Message::Text(text)) => self.on_text(text, ctx),
            Ok(Message::Binary(data)) => self.deliver(Packet::Binary(data)),
            Ok(Message::Continuation(item)) => self.on_fragment(item, ctx),
            Ok(Message::Ping(data)) => ctx.pong(&data),
            Ok(Message::Pong(_) | Message::Nop) => {}
            Ok(Message::Close(reason)) => {
                // Answer the client's close frame, as the protocol asks.
                ctx.close(reason);
                ctx.stop();
            }
            Err(ProtocolError::Overflow) => {
                debug!("websocket message over maxPayload");
                self.close(ctx, CloseCode::Size);
            }
            Err(err) => {
                debug!(%err, "websocket protocol error");
                self.close(ctx, CloseCode::Protocol);
            }
        }
    }
}

impl WsTransport {
    /// Reassembles a fragmented message, within maxPayload.
    fn on_fragment(&mut self, item: Item, ctx: &mut ws::WebsocketContext<Self>) {
        let max = self.engine.config().max_payload;
        let last = matches!(item, Item::Last(_));
        match item {
            Item::FirstText(data) => self.fragments = Some((true, BytesMut::from(&data[..]))),
            Item::FirstBinary(data) => self.fragments = Some((false, BytesMut::from(&data[..]))),
            Item::Continue(data) | Item::Last(data) => {
                let Some((text, buf)) = self.fragments.as_mut() else {
                    return self.close(ctx, CloseCode::Protocol);
                };
                buf.extend_from_slice(&data);
                let (text, too_big) = (*text, buf.len() > max);
                if too_big {
                    return self.close(ctx, CloseCode::Size);
                }
                if last {
                    let (_, buf) = self.fragments.take().expect("checked above");
                    self.on_message(text, buf.freeze(), ctx);
                }
            }
        }
    }
}
